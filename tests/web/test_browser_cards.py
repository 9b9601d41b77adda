"""A real browser against a real server: a facility's desk looks up patients by citizen ID, the answer swapped in
by htmx (Debian's chromium through Playwright)."""

import time
from datetime import date

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.cards import facilities
from ansinh.cards import service as cards
from ansinh import clock
from ansinh.db import Database
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from ansinh.synth.demo import DemoPlan
from tests.web.conftest import ARTIFACTS, served

pytestmark = pytest.mark.browser

DESK = "hanoi.benhvien"
COVERED_ID, SUSPENDED_ID, UNKNOWN_ID = "001323012347", "001090012346", "001090099999"


def _cards_data(database: Database, plan: DemoPlan) -> dict:
    """The demo's Hà Nội facility user's facility, with a contract in force; a child with a card, and a person
    whose card is suspended."""
    desk = next(user for user in plan.users if user.username == DESK)
    today = clock.today()  # the server's day (moved with ANSINH_CLOCK_OFFSET_DAYS too)
    later = date(today.year + 3, 1, 1)  # coverage still running on the day of the test, whatever that day is
    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        from sqlalchemy import select

        hanoi = s.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
        facility = facilities.create_facility(s, facilities.FacilityData(
            code=desk.subject_ref, name="Bệnh viện Đa khoa Đống Đa", level="provincial"), hanoi)
        facilities.sign_contract(s, facility=facility, contract_number="HD-2026-001", valid_from=date(2026, 1, 1),
                                 valid_until=date(2099, 12, 31), org_unit=hanoi)
        child = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Minh Châu", date_of_birth=date(2023, 8, 1), sex=Sex.female, citizen_id=COVERED_ID),
            hanoi)
        lender = registry.create_person(s, registry.PersonData(
            full_name="Phạm Văn Hùng", date_of_birth=date(1990, 3, 3), sex=Sex.male, citizen_id=SUSPENDED_ID), hanoi)
        participation.enrol_state_budget(s, group="HN", people=[child], start=date(2023, 8, 1), end=later,
                                         org_unit=hanoi, today=today)
        participation.enrol_state_budget(s, group="HN", people=[lender], start=date(2024, 1, 1), end=later,
                                         org_unit=hanoi, today=today)
        cards.issue_cards(s, on=today)
        cards.suspend_card(s, lender.id, reason="Thẻ cho người khác mượn")
        return {"code": cards.current_card(s, child.id).card_code}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served(tmp_path_factory.mktemp("browser-cards") / "var", _cards_data) as (base, passwords, data):
        yield base, passwords, data


def test_a_facility_desk_looks_up_patients_by_citizen_id(server, browser):
    base, passwords, data = server
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    results: list[str] = []
    page.on("request", lambda r: results.append(r.url) if "/cards/lookup/result" in r.url else None)
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{base}/login")
    page.fill("input[name=username]", DESK)
    page.fill("input[name=password]", passwords[DESK])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/lang/en?next=/")
    assert page.locator('[data-tile="card_lookups"] .tile-value').inner_text() == "0"
    page.click('a[data-nav="cards_lookup"]')
    page.wait_for_url(f"{base}/cards/lookup")

    # Covered: the answer is swapped in by htmx, the page stays.
    page.get_by_test_id("lookup-citizen-id").fill(COVERED_ID)
    page.get_by_test_id("lookup-full-name").fill("nguyen minh chau")  # as typed without Vietnamese input
    page.get_by_test_id("lookup-submit").click()
    answer = page.locator('[data-testid="lookup-result"][data-covered="true"]')
    answer.wait_for()
    assert page.url == f"{base}/cards/lookup" and results  # no page load: the fragment came through htmx
    assert page.get_by_test_id("lookup-banner").inner_text().startswith("Covered")
    assert page.get_by_test_id("answer-card-code").inner_text() == data["code"]
    assert "Nguyễn Minh Châu" in page.get_by_test_id("lookup-identity").inner_text()
    page.screenshot(path=str(ARTIFACTS / "cards-lookup-covered.png"), full_page=True)

    # Not covered: an unknown person, then a suspended card, each with the reason in words.
    page.get_by_test_id("lookup-citizen-id").fill(UNKNOWN_ID)
    page.get_by_test_id("lookup-submit").click()
    page.locator('[data-testid="lookup-result"][data-reason="unknown_person"]').wait_for()
    assert page.get_by_test_id("lookup-banner").inner_text().startswith("Not covered")
    assert "No person is registered" in page.get_by_test_id("lookup-reason").inner_text()
    page.get_by_test_id("lookup-citizen-id").fill(SUSPENDED_ID)
    page.get_by_test_id("lookup-full-name").fill("")
    page.get_by_test_id("lookup-date-of-birth").fill("1990-03-03")
    page.get_by_test_id("lookup-submit").click()
    page.locator('[data-testid="lookup-result"][data-reason="suspended"]').wait_for()
    assert "The card is suspended." in page.get_by_test_id("lookup-reason").inner_text()
    assert "Phạm Văn Hùng" in page.get_by_test_id("lookup-identity").inner_text()
    page.screenshot(path=str(ARTIFACTS / "cards-lookup-not-covered.png"), full_page=True)

    # A malformed citizen ID: the message next to the field, the field marked; fixed, the mark goes.
    page.get_by_test_id("lookup-citizen-id").fill("12ab")
    page.get_by_test_id("lookup-submit").click()
    page.locator('[data-testid="error-citizen-id"]', has_text="12 digits").wait_for()
    assert page.get_by_test_id("lookup-citizen-id").get_attribute("aria-invalid") == "true"
    assert page.locator('[data-testid="lookup-result"]').count() == 0
    page.screenshot(path=str(ARTIFACTS / "cards-lookup-error.png"), full_page=True)
    page.get_by_test_id("lookup-citizen-id").fill(COVERED_ID)
    page.get_by_test_id("lookup-date-of-birth").fill("2023-08-01")
    page.get_by_test_id("lookup-submit").click()
    page.locator('[data-testid="lookup-result"][data-covered="true"]').wait_for()
    assert page.get_by_test_id("lookup-citizen-id").get_attribute("aria-invalid") is None
    assert page.get_by_test_id("error-citizen-id").inner_text() == ""

    # The server commits the lookup log in batches (every 100 ms): the tile counts them once written.
    deadline = time.monotonic() + 10
    while True:
        page.goto(f"{base}/")
        count = page.locator('[data-tile="card_lookups"] .tile-value').inner_text()
        if count == "4" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert count == "4"  # the refused one is not logged
    assert not problems, problems  # no script errors, no Content-Security-Policy violations


def test_an_officer_sees_the_lookup_figures_and_the_card_on_the_person_page(server, browser):
    base, passwords, data = server
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

    # Without JavaScript's help too: the lookup page answers a plain GET.
    page.goto(f"{base}/cards/lookup?citizen_id={COVERED_ID}&date_of_birth=2023-08-01")
    assert page.locator('[data-testid="lookup-result"]').get_attribute("data-covered") == "true"

    page.click('a[data-nav="cards_kpis"]')
    page.wait_for_function("() => window.Chart && Chart.getChart('kpi-month-chart') !== undefined"
                           " && Chart.getChart('kpi-key-chart') !== undefined")
    assert int(page.locator('[data-total="lookups"] .tile-value').inner_text()) >= 1
    page.screenshot(path=str(ARTIFACTS / "cards-kpis.png"), full_page=True)

    page.goto(f"{base}/registry/people?q={COVERED_ID}")
    page.locator('[data-testid="people-results"] tbody tr[data-person] a').first.click()
    assert page.get_by_test_id("hi-card-code").inner_text() == data["code"]
    assert page.get_by_test_id("hi-card-pdf").get_attribute("href").endswith("/card.pdf")
    pdf = page.request.get(base + page.get_by_test_id("hi-card-pdf").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:4] == b"%PDF"
    page.screenshot(path=str(ARTIFACTS / "cards-person.png"), full_page=True)
    assert not problems, problems
