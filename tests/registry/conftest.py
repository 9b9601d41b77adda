"""Fixtures of the registry's page tests: the pages mounted, a small world of Hà Nội and Sơn La records, and a
signed-in Hà Nội provincial officer (in English)."""

from datetime import date

import pytest

from ansinh.api import PAGE_ROUTERS
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.participation import service as participation
from ansinh.participation.pages import router as participation_pages
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from ansinh.registry.pages import router as registry_pages
from tests.conftest import web_login


@pytest.fixture
def app(app):
    # Until the application assembles these pages itself (ansinh.api.PAGE_ROUTERS).
    for router in (registry_pages, participation_pages):
        if router not in PAGE_ROUTERS:
            app.include_router(router)
    return app


@pytest.fixture
def data(db, org):
    """A Hà Nội employer with one worker, a household of two, and a Sơn La person and employer."""
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I",
            e_transactions=True, contact_name="Trần Thị Hoa", phone="0912345678", email="hoa@anbinh.vn"), hanoi)
        worker = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id="001090012345",
            ethnicity="Kinh", phone="0987654321"), hanoi)
        spouse = registry.create_person(s, registry.PersonData(
            full_name="Lê Thị Bích", date_of_birth=date(1992, 3, 4), sex=Sex.female, citizen_id="001192000001"), hanoi)
        registry.create_household(s, head=worker, members=[spouse], org_unit=hanoi)
        participation.apply_declaration(s, employer=employer, person=worker, kind="join",
                                        effective_month=date(2026, 1, 1), insured_salary=10_000_000,
                                        submitted_by="test", today=date(2026, 1, 10))
        participation.apply_declaration(s, employer=employer, person=worker, kind="salary_change",
                                        effective_month=date(2026, 6, 1), insured_salary=12_000_000,
                                        submitted_by="test", today=date(2026, 6, 10))
        other = registry.create_person(s, registry.PersonData(
            full_name="Lò Văn Pấng", date_of_birth=date(1985, 1, 2), sex=Sex.male, citizen_id="014085000002"), sonla)
        other_employer = registry.create_employer(s, registry.EmployerData(
            tax_code="5500001000", name="Hợp tác xã Mộc Châu", ownership=Ownership.cooperative, region="III"), sonla)
        return {"employer": employer.id, "worker": worker.id, "spouse": spouse.id, "other": other.id,
                "other_employer": other_employer.id, "worker_si": worker.si_number}


@pytest.fixture
def officer(client, org, make_user):
    make_user("canbo", org.hanoi, Role.provincial_officer)
    assert web_login(client, "canbo").status_code == 303
    client.get("/lang/en")
    return client
