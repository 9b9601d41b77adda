from datetime import date

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.cards import facilities


@pytest.fixture
def contracted_facility(db, org):
    """Register a facility of Hà Nội (code ``01xxx``; of another office with ``org_unit=org.sonla``) with a
    contract, through the services: ``contracted_facility("01001", valid_from=..., valid_until=...)`` → the code."""

    def factory(code: str = "01001", *, name: str = "Bệnh viện Đa khoa Hà Đông", level: str = "provincial",
                valid_from: date = date(2026, 1, 1), valid_until: date = date(2099, 12, 31),
                place_id: int | None = None, primary_care: bool = True, org_unit=None) -> str:
        with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
            hanoi = s.get(OrgUnit, (org_unit or org.hanoi).id)
            facility = facilities.create_facility(s, facilities.FacilityData(
                code=code, name=name, level=level, place_id=place_id, primary_care=primary_care), hanoi)
            facilities.sign_contract(s, facility=facility, contract_number=f"HD-{code}-{valid_from.year}",
                                     valid_from=valid_from, valid_until=valid_until, org_unit=hanoi)
        return code

    return factory
