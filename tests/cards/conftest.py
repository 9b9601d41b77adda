from datetime import date

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.cards import facilities, service
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from tests.conftest import web_login


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


HTML = {"Accept": "text/html"}
HTMX = {"Accept": "text/html", "HX-Request": "true"}
ON = "2026-11-22"
WORKER_ID, CHILD_ID, UNKNOWN_ID = "001090012345", "001323012347", "001090099999"


@pytest.fixture
def world(db, org, contracted_facility):
    """A contracted facility of Hà Nội; a worker (DN) and a child (TE) of Hà Nội with cards; a Sơn La person
    with a card."""
    contracted_facility("01001")
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        worker = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id=WORKER_ID), hanoi)
        child = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Minh Châu", date_of_birth=date(2023, 8, 1), sex=Sex.female, citizen_id=CHILD_ID),
            hanoi)
        other = registry.create_person(s, registry.PersonData(
            full_name="Lò Văn Pấng", date_of_birth=date(1985, 1, 2), sex=Sex.male, citizen_id="014085000002"), sonla)
        bare = registry.create_person(s, registry.PersonData(
            full_name="Trần Văn Bình", date_of_birth=date(1980, 2, 2), sex=Sex.male, citizen_id="001080000003"),
            hanoi)
        participation.apply_declaration(s, employer=employer, person=worker, kind="join",
                                        effective_month=date(2021, 1, 1), insured_salary=10_000_000,
                                        submitted_by="test", today=date(2021, 1, 5))
        participation.enrol_state_budget(s, group="TE", people=[child], start=date(2023, 8, 1),
                                         end=date(2029, 8, 1), org_unit=hanoi)
        participation.enrol_state_budget(s, group="TE", people=[other], start=date(2020, 1, 1),
                                         end=date(2030, 1, 1), org_unit=sonla)
        service.issue_cards(s, on=date.fromisoformat(ON))
        return {"worker": worker.id, "child": child.id, "other": other.id, "bare": bare.id,
                "worker_si": worker.si_number, "child_si": child.si_number}


@pytest.fixture
def desk(client, org, make_user, world):
    """A facility user of the contracted facility, signed in, in English."""
    make_user("benhvien", org.hanoi, Role.facility, subject_ref="01001")
    assert web_login(client, "benhvien").status_code == 303
    client.get("/lang/en")
    return client


@pytest.fixture
def officer(client, org, make_user, world):
    make_user("canbo", org.hanoi, Role.provincial_officer)
    assert web_login(client, "canbo").status_code == 303
    client.get("/lang/en")
    return client
