"""A small world for settlement: facilities of Hà Nội (01001, 01003) and Sơn La (14001) with contracts, officers of
each province and of the nation, a facility user of 01001, and claims written through the models (intake and
appraisal are tested elsewhere) with the amounts a test chooses."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.cards import facilities
from ansinh.claims.models import Claim, ClaimFile
from ansinh.clock import VIETNAM

HANOI, HANOI_2, SONLA = "01001", "01003", "14001"
MONTH = date(2026, 10, 1)
ON = date(2026, 11, 15)


@pytest.fixture
def settlement_world(db, org, make_user):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        for code, name, unit in ((HANOI, "Bệnh viện Đa khoa Hà Đông", hanoi), (HANOI_2, "Bệnh viện Thanh Nhàn", hanoi),
                                 (SONLA, "Bệnh viện Đa khoa tỉnh Sơn La", sonla)):
            facility = facilities.create_facility(s, facilities.FacilityData(code=code, name=name,
                                                                             level="provincial"), unit)
            facilities.sign_contract(s, facility=facility, contract_number=f"HD-{code}", valid_from=date(2020, 1, 1),
                                     valid_until=date(2099, 12, 31), org_unit=unit)
    make_user("qt_hanoi", org.hanoi, Role.provincial_officer)
    make_user("qt_sonla", org.sonla, Role.provincial_officer)
    make_user("qt_vn", org.national, Role.national_officer)
    make_user("qt_district", org.hanoi_office, Role.district_officer)
    make_user("bv_hadong", org.hanoi, Role.facility, subject_ref=HANOI)
    make_user("bv_sonla", org.sonla, Role.facility, subject_ref=SONLA)
    return org


def principal(session, username: str):
    return auth_service.principal_for(session.scalar(select(User).where(User.username == username)))


def add_claims(session, facility_code: str, month: date, amounts: list[tuple[int, int]], *, status: str = "appraised",
               prefix: str = "LK") -> list[int]:
    """Claims of a facility's settlement month: (claimed T_BHTT, disallowed) each, in the given status."""
    facility = facilities.get_facility(session, facility_code)
    file = ClaimFile(facility_code=facility_code, org_unit_id=facility.org_unit_id,
                     sha256=f"{facility_code}{month:%Y%m}{prefix}".ljust(64, "0"), file_name="test.xml", size_bytes=1,
                     status="accepted", received_by="test")
    session.add(file)
    session.flush()
    arrived = datetime(month.year, month.month, 5, 8, tzinfo=VIETNAM)
    rows = [Claim(file_id=file.id, facility_code=facility_code, episode_key=f"{prefix}-{month:%Y%m}-{n}",
                  full_name=f"Bệnh nhân {n}", card_code="DN4010123456789", care_type="01", arrived_at=arrived,
                  discharged_at=arrived, total_hospital=claimed, total_insured=claimed, patient_copay=0,
                  patient_pays=0, fund_claimed=claimed, settlement_year=month.year, settlement_month=month.month,
                  province_2025=facility.province_2025, org_unit_id=facility.org_unit_id, status=status,
                  outcome_status="accepted" if not disallowed else "partly_accepted", disallowed=disallowed)
            for n, (claimed, disallowed) in enumerate(amounts)]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]
