"""A small world for cost monitoring: facilities of Hà Nội (01001 and 01002 provincial general hospitals, 01003 a
district obstetrics hospital) and of Sơn La (14001, provincial general), each with a contract, and claim files of
October 2026 and October 2025 sent through the intake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.cards import facilities
from ansinh.claims.intake.service import receive_claim_file
from ansinh.claims.models import Claim
from ansinh.synth.claims import EpisodeSpec, Patient, claim_file

MONTH, LAST_YEAR = date(2026, 10, 1), date(2025, 10, 1)
FACILITIES = (("01001", "Bệnh viện Đa khoa Hà Đông", "provincial", "general", "hanoi"),
              ("01002", "Bệnh viện Đa khoa Xanh Pôn", "provincial", "general", "hanoi"),
              ("01003", "Bệnh viện Phụ sản Hà Đông", "district", "obstetrics", "hanoi"),
              ("14001", "Bệnh viện Đa khoa tỉnh Sơn La", "provincial", "general", "sonla"))


def episodes(outpatient: int, inpatient: int = 0, *, month: date = MONTH, card: str | None = None,
             days: int = 3) -> list[EpisodeSpec]:
    """Visits early in the month (settled in it): outpatient examinations and inpatient stays of ``days`` days."""
    patient = Patient(full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 17), sex=1, card_code=card) \
        if card else None
    specs = [EpisodeSpec(care_type="01", patient=patient, arrived_at=datetime(month.year, month.month, 2 + i % 20, 8))
             for i in range(outpatient)]
    specs += [EpisodeSpec(care_type="03", days=days, patient=patient,
                          arrived_at=datetime(month.year, month.month, 2 + i % 10, 9)) for i in range(inpatient)]
    return specs


def send(db, code: str, specs: list[EpisodeSpec], *, month: date = MONTH, seed: int = 1) -> None:
    on = date(month.year, month.month, 28)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        report = receive_claim_file(s, content=claim_file(code, specs, seed=seed, on=on), file_name=f"{code}.xml",
                                    principal=None, facility_code=code, today=on, threads=False)
        assert report.accepted, report.to_json()


def sums(db, code: str, month: date = MONTH) -> dict:
    """The truth, straight from the claims: visits, inpatient visits, costs and inpatient days of a facility-month."""
    with db.unit_of_work() as s:
        base = select(func.count(), func.coalesce(func.sum(Claim.total_insured), 0),
                      func.coalesce(func.sum(Claim.fund_claimed), 0)).where(
            Claim.facility_code == code, Claim.superseded_at.is_(None), Claim.settlement_year == month.year,
            Claim.settlement_month == month.month)
        visits, cost, fund = s.execute(base).one()
        inpatient, inpatient_cost, days = s.execute(select(
            func.count(), func.coalesce(func.sum(Claim.total_insured), 0),
            func.coalesce(func.sum(Claim.treatment_days), 0)).where(
            Claim.facility_code == code, Claim.superseded_at.is_(None), Claim.settlement_year == month.year,
            Claim.settlement_month == month.month, Claim.care_type == "03")).one()
    return {"visits": visits, "cost": int(cost), "fund": int(fund), "inpatient_visits": inpatient,
            "inpatient_cost": int(inpatient_cost), "inpatient_days": int(days)}


@dataclass
class MonitoringWorld:
    codes: tuple[str, ...]


@pytest.fixture
def monitoring_world(db, org) -> MonitoringWorld:
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        for code, name, level, specialty, unit in FACILITIES:
            office = s.get(OrgUnit, getattr(org, unit).id)
            facility = facilities.create_facility(s, facilities.FacilityData(
                code=code, name=name, level=level, specialty=specialty), office)
            facilities.sign_contract(s, facility=facility, contract_number=f"HD-{code}", valid_from=date(2020, 1, 1),
                                     valid_until=date(2099, 12, 31), org_unit=office)
    send(db, "01001", episodes(4, 2))
    send(db, "01001", episodes(3, month=LAST_YEAR), month=LAST_YEAR)
    send(db, "01002", episodes(2), seed=2)
    send(db, "01003", episodes(2, 1), seed=3)
    send(db, "14001", episodes(3), seed=4)
    return MonitoringWorld(tuple(code for code, *_ in FACILITIES))
