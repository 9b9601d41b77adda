"""A real browser against a real server: find a person, open their page, enter a declaration with live
validation, and see the participation charts (Debian's chromium through Playwright)."""

import re
from datetime import date

import pytest

from ansinh import clock
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.db import Database
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from tests.web.conftest import ARTIFACTS, served

pytestmark = pytest.mark.browser

NEWCOMER_ID = "001195000123"
def _registry_data(database: Database) -> int:
    """An employer of Hà Nội with two workers, a person about to join it, and a child insured by the State."""
    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        from sqlalchemy import select

        hanoi = s.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty Cổ phần An Bình", ownership=Ownership.private, region="I",
            e_transactions=True, contact_name="Trần Thị Hoa", phone="0912345678"), hanoi)
        for name, citizen_id, born, sex, salary in (
                ("Nguyễn Văn Thành", "001090012345", date(1990, 5, 1), Sex.male, 12_000_000),
                ("Phạm Thị Lan", "001188004321", date(1988, 9, 9), Sex.female, 9_500_000)):
            person = registry.create_person(s, registry.PersonData(full_name=name, date_of_birth=born, sex=sex,
                                                                   citizen_id=citizen_id, ethnicity="Kinh"), hanoi)
            participation.apply_declaration(s, employer=employer, person=person, kind="join",
                                            effective_month=date(2025, 1, 1), insured_salary=salary,
                                            submitted_by="test", today=date(2025, 1, 5))
            participation.apply_declaration(s, employer=employer, person=person, kind="salary_change",
                                            effective_month=date(2026, 1, 1), insured_salary=salary + 500_000,
                                            submitted_by="test", today=date(2026, 1, 5))
        registry.create_person(s, registry.PersonData(full_name="Đỗ Thị Hồng", date_of_birth=date(1995, 2, 3),
                                                      sex=Sex.female, citizen_id=NEWCOMER_ID), hanoi)
        # The child is under 6 whatever the day the suite runs (the server counts today's coverage): born on
        # 4 April three years before this year, insured by the State from birth to their sixth birthday.
        born = date(clock.today().year - 3, 4, 4)
        child = registry.create_person(s, registry.PersonData(full_name="Nguyễn Minh Khôi",
                                                              date_of_birth=born, sex=Sex.male), hanoi)
        participation.enrol_state_budget(s, group="TE", people=[child], start=born,
                                         end=born.replace(year=born.year + 6), org_unit=hanoi)
        return employer.id


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served(tmp_path_factory.mktemp("browser-registry") / "var",
                lambda database, _plan: _registry_data(database)) as (base, passwords, employer_id):
        yield base, passwords, employer_id


def test_find_a_person_declare_a_worker_and_see_the_charts(server, browser):
    base, passwords, employer_id = server
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{base}/login")
    page.fill("input[name=username]", "hanoi.canbo")
    page.fill("input[name=password]", passwords["hanoi.canbo"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/lang/en?next=/")
    assert page.locator('[data-tile="people"] .tile-value').inner_text() == "4"

    # Search a person by name without accents, open their page.
    page.click('a[data-nav="people"]')
    page.get_by_test_id("people-q").fill("nguyen van thanh")
    page.get_by_test_id("people-search").click()
    page.wait_for_url(re.compile(r".*/registry/people\?q=nguyen"))
    results = page.locator('[data-testid="people-results"] tbody tr[data-person]')
    assert results.count() == 1
    results.locator("a").click()
    assert page.get_by_test_id("person-name").inner_text() == "Nguyễn Văn Thành"
    assert page.locator('[data-scheme="si_compulsory"] tr.current').count() == 1
    assert "Công ty Cổ phần An Bình" in page.get_by_test_id("coverage").inner_text()
    replaced = page.locator('[data-scheme="si_compulsory"] tr.superseded')
    assert replaced.count() == 1 and not replaced.is_visible()  # replaced periods: hidden until asked for
    page.get_by_test_id("show-superseded").check()
    assert replaced.is_visible()
    page.screenshot(path=str(ARTIFACTS / "registry-person.png"), full_page=True)

    # Enter a declaration: the live check shows the floor, then the fixed form goes through.
    page.goto(f"{base}/registry/employers/{employer_id}")
    assert page.locator("tr[data-worker]").count() == 2
    page.get_by_test_id("new-declaration").click()
    # htmx (a deferred script) must have taken the form before the fields change, or the live check never runs:
    # wait for the form page's load event, not only its fields (a loaded machine runs the scripts late).
    page.wait_for_url(re.compile(r".*/participation/declarations/new\?employer_id=\d+"), wait_until="load")
    page.get_by_test_id("declaration-person").fill(NEWCOMER_ID)
    page.get_by_test_id("declaration-salary").fill("1000000")
    page.get_by_test_id("declaration-salary").blur()
    page.locator('[data-testid="declaration-errors"] li[data-field="insured_salary"]', has_text="floor").wait_for()
    assert page.get_by_test_id("declaration-found").inner_text().find("Đỗ Thị Hồng") >= 0
    assert page.get_by_test_id("declaration-salary").get_attribute("aria-invalid") == "true"
    page.screenshot(path=str(ARTIFACTS / "registry-declaration-error.png"), full_page=True)
    page.get_by_test_id("declaration-salary").fill("11500000")
    page.get_by_test_id("declaration-salary").blur()
    page.get_by_test_id("declaration-ok").wait_for()
    assert page.get_by_test_id("declaration-salary").get_attribute("aria-invalid") is None
    page.get_by_test_id("declaration-submit").click()
    page.wait_for_url(re.compile(rf".*/registry/employers/{employer_id}\?declared=\d+"))
    assert "Đỗ Thị Hồng" in page.get_by_test_id("declaration-notice").inner_text()
    assert page.locator("tr[data-worker]").count() == 3
    page.screenshot(path=str(ARTIFACTS / "registry-employer.png"), full_page=True)

    # The import page: the column layout follows the kind chosen.
    page.click('a[data-nav="imports"]')
    page.locator('.import-columns[data-kind="people"]').wait_for(state="visible")
    page.get_by_test_id("import-kind").select_option("employers")
    # the page's script shows the kind's columns on the change: wait for it (a loaded machine is slower)
    page.locator('.import-columns[data-kind="employers"]').wait_for(state="visible", timeout=10_000)
    page.locator('.import-columns[data-kind="people"]').wait_for(state="hidden", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "registry-imports.png"), full_page=True)

    # The participation summary draws its charts.
    page.click('a[data-nav="participation"]')
    page.wait_for_function("() => window.Chart && Chart.getChart('province-chart') !== undefined"
                           " && Chart.getChart('group-chart') !== undefined")
    assert page.locator('[data-count="si_compulsory"] .tile-value').inner_text() == "3"
    assert page.locator('[data-count="hi"] .tile-value').inner_text() == "4"
    page.screenshot(path=str(ARTIFACTS / "participation-summary.png"), full_page=True)
    assert not problems, problems  # no script errors, no Content-Security-Policy violations
