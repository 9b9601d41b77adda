"""A real browser against a real server: an officer finds a worker by citizen ID, reads their contribution record,
files a sickness claim (only the chosen benefit's fields are shown), lands on the claim's page with its legal clock
and timeline, marks the file incomplete and then complete; on a phone's width and a desk's (Debian's chromium through
Playwright)."""

import re
from datetime import date

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.db import Database
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from tests.web.conftest import ARTIFACTS, served

pytestmark = pytest.mark.browser

WORKER_ID = "001090054321"


def _worker(database: Database) -> None:
    """A Hà Nội worker insured by An Bình from January 2020 to December 2025 (72 months)."""
    from sqlalchemy import select

    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        hanoi = s.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty Cổ phần An Bình", ownership=Ownership.private, region="I"), hanoi)
        person = registry.create_person(s, registry.PersonData(full_name="Vũ Văn Hải", date_of_birth=date(1990, 4, 2),
                                                               sex=Sex.male, citizen_id=WORKER_ID), hanoi)
        participation.apply_declaration(s, employer=employer, person=person, kind="join",
                                        effective_month=date(2020, 1, 1), insured_salary=9_000_000,
                                        submitted_by="test", today=date(2026, 1, 5))
        participation.apply_declaration(s, employer=employer, person=person, kind="leave",
                                        effective_month=date(2026, 1, 1), submitted_by="test",
                                        today=date(2026, 1, 5))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served(tmp_path_factory.mktemp("browser-benefits") / "var",
                lambda database, _plan: _worker(database)) as (base, passwords, _):
        yield base, passwords


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 900)])
def test_intake_files_a_claim_and_its_page_takes_the_next_steps(server, browser, width, height):
    base, passwords = server
    page = browser.new_page(locale="vi-VN", viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{base}/login")
    page.fill("input[name=username]", "hanoi.canbo")
    page.fill("input[name=password]", passwords["hanoi.canbo"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/lang/vi?next=/benefits/new")
    page.wait_for_url(re.compile(r".*/benefits/new"))

    # The person and their record: 72 months of compulsory insurance, 6 years 0 months.
    page.get_by_test_id("pick-citizen-id").fill(WORKER_ID)
    page.get_by_test_id("pick-person").click()
    page.wait_for_url(re.compile(r".*/benefits/new\?citizen_id=" + WORKER_ID))
    assert page.get_by_test_id("intake-person").inner_text().startswith("Vũ Văn Hải")
    assert page.locator('[data-figure="si-total"]').get_attribute("data-months") == "72"
    assert "6 năm 0 tháng" in page.locator('[data-figure="si-total"]').inner_text()
    assert "9.000.000" in page.get_by_test_id("record-periods").inner_text()

    # Only the chosen benefit's fields are shown.
    page.get_by_test_id("claim-type").select_option("sickness")
    assert page.locator('fieldset[data-type="sickness"]').is_visible()
    assert not page.locator('fieldset[data-type="lump_sum"]').is_visible()
    filed_on = page.get_by_test_id("claim-filed-on").input_value()
    page.get_by_test_id("detail-sickness-leave-from").fill(filed_on)
    page.get_by_test_id("detail-sickness-days").fill("3")
    no_overflow = "document.documentElement.scrollWidth <= window.innerWidth + 1"
    assert page.evaluate(no_overflow), "the intake page scrolls sideways"
    page.screenshot(path=str(ARTIFACTS / f"benefits-intake-{width}.png"))  # not full_page: it resizes the view
    page.get_by_test_id("file-claim").click()

    # The claim's page: accepted at once, its deadline, the timeline, the next steps.
    page.wait_for_url(re.compile(r".*/benefits/claims/\d+\?notice=filed"))
    assert page.get_by_test_id("notice").is_visible()
    assert page.locator('[data-testid="claim-status"] [data-status]').get_attribute("data-status") == "accepted"
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", page.get_by_test_id("claim-deadline").inner_text().strip())
    assert page.locator(".timeline > li").count() == 2
    assert page.evaluate(no_overflow), "the claim's page scrolls sideways"

    # The file lacks a document: incomplete, the clock paused; then complete again.
    page.get_by_test_id("incomplete-missing").fill("Giấy ra viện")
    page.get_by_test_id("do-incomplete").click()
    page.wait_for_url(re.compile(r".*\?notice=incomplete"))
    assert page.locator('[data-testid="claim-status"] [data-status]').get_attribute("data-status") == "incomplete"
    assert "Giấy ra viện" in page.get_by_test_id("claim-missing").inner_text()
    page.get_by_test_id("do-complete").click()
    page.wait_for_url(re.compile(r".*\?notice=complete"))
    assert page.locator('[data-testid="claim-status"] [data-status]').get_attribute("data-status") == "accepted"
    assert page.locator(".timeline > li").count() == 4
    page.screenshot(path=str(ARTIFACTS / f"benefits-claim-{width}.png"), full_page=True)

    # The claim is in the queue's list.
    page.goto(f"{base}/benefits")
    assert page.locator("[data-testid=claims] tr[data-claim]").count() >= 1
    assert problems == []
    page.close()
