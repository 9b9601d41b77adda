"""The citizen's pages in a real browser, on a phone (390×844) and a desk (1366×768): the demo's Hà Nội citizen is
given a history (two years with an employer, then voluntary social insurance), a card and a voluntary bill; they sign
in, land on /me, and read their contributions, card (QR code as SVG) and bill (VietQR), in Vietnamese formats, with
nothing wider than the screen. On the phone they then act: file a lump-sum claim after its preview, register a bank
account, enrol in voluntary social insurance and see the bill's QR code, send a correction request, read a notice."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, User
from ansinh.collection.billing import run_billing
from ansinh.db import Database
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Person, Sex
from tests.web.conftest import ARTIFACTS, served

pytestmark = pytest.mark.browser
CITIZEN = "hanoi.nguoidan"
PHONE, DESK = {"width": 390, "height": 844}, {"width": 1366, "height": 768}


def _history(database: Database, _plan) -> None:
    """Compulsory SI with Công ty Bình Minh 2023-01 .. 2024-12 at 9,000,000 (24 months), voluntary SI from 2026-01
    to 2026-03 on 2,500,000 (3 months): 27 months = 2 years 3 months; a gap 2025-01 .. 2025-12."""
    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        hanoi = s.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
        cid = s.scalar(select(User.subject_ref).where(User.username == CITIZEN))
        person = s.scalar(select(Person).where(Person.citizen_id == cid))
        if person is None:  # the demo's users come without their person: the citizen's, born as the ID says
            century, year = int(cid[3]), int(cid[4:6])
            person = registry.create_person(s, registry.PersonData(
                full_name="Lê Thị Mai" if century % 2 else "Lê Văn Minh",
                date_of_birth=date(1900 + 100 * (century // 2) + year, 3, 15),
                sex=Sex.female if century % 2 else Sex.male, citizen_id=cid), hanoi)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0106713804", name="Công ty Bình Minh", ownership=Ownership.private, region="I"), hanoi)
        for kind, month, salary in (("join", date(2023, 1, 1), 9_000_000), ("leave", date(2025, 1, 1), None)):
            participation.apply_declaration(s, employer=employer, person=person, kind=kind, effective_month=month,
                                            insured_salary=salary, submitted_by="test", today=date(2026, 1, 5))
        participation.enrol_voluntary(s, person=person, income=2_500_000, months=1, group="other",
                                      start=date(2026, 1, 1), org_unit=hanoi, today=date(2026, 1, 5))
        participation.end_voluntary(s, person=person, end=date(2026, 4, 1), today=date(2026, 3, 5))
        from ansinh.cards import service as cards

        cards.issue_cards(s, on=date(2024, 6, 1), person_ids=[person.id])
        from ansinh.notices.service import send_notice

        send_notice(s, kind="general", key="browser:welcome", on=date(2026, 3, 1), person_id=person.id,
                    person_ref=person.citizen_id, params={"message": "Chào mừng bạn đến với cổng dịch vụ công."})
    with audit_context(channel="job", actor_username="test-fixture"):
        run_billing(database, period=date(2026, 3, 1), province="01", actor="test", today=date(2026, 3, 20))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served(tmp_path_factory.mktemp("browser-portal") / "var", _history) as (base, passwords, _):
        yield base, passwords


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["390", "1366"])
def test_the_citizen_reads_their_records_on_a_phone_and_a_desk(server, browser, viewport):
    base, passwords = server
    context = browser.new_context(viewport=viewport, locale="vi-VN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("input[name=username]", CITIZEN)
    page.fill("input[name=password]", passwords[CITIZEN])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/me")  # the citizen's landing
    page.goto(f"{base}/lang/vi?next=/me")
    page.wait_for_url(f"{base}/me")
    too_wide = []

    def check_width(address):
        width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            too_wide.append(f"{address}: {width} px in {inner} px")

    assert "2 năm 3 tháng" in page.get_by_test_id("me-si-total").inner_text()
    check_width("/me")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portal-me-{viewport['width']}.png"), full_page=True)

    page.get_by_test_id("me-link-contributions").click()
    page.wait_for_url(re.compile(r".*/me/contributions$"))
    compulsory = page.get_by_test_id("scheme-si_compulsory").inner_text()
    assert "9.000.000" in compulsory and "Công ty Bình Minh" in compulsory and "01/2023" in compulsory
    assert "01/2025 – 12/2025" in page.get_by_test_id("contrib-gaps").inner_text()
    check_width("/me/contributions")

    page.goto(f"{base}/me/card")
    assert page.locator('[data-testid="hi-card-qr"] svg').count() == 1
    assert page.get_by_test_id("hi-card-until").inner_text() == "31/12/2024"
    check_width("/me/card")
    page.screenshot(path=str(ARTIFACTS / f"portal-card-{viewport['width']}.png"), full_page=True)

    page.goto(f"{base}/me/bills")
    assert page.locator('[data-testid="bill-qr"] svg').count() >= 1
    assert re.search(r"\d{1,3}(\.\d{3})+\s₫", page.get_by_test_id("bills-total").inner_text())
    check_width("/me/bills")
    assert too_wide == [] and problems == []
    context.close()


def test_the_citizen_acts_on_a_phone(server, browser):
    base, passwords = server
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("input[name=username]", CITIZEN)
    page.fill("input[name=password]", passwords[CITIZEN])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/me")
    page.goto(f"{base}/lang/vi?next=/me")
    page.wait_for_url(f"{base}/me")
    too_wide = []

    def check_width(address):
        width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            too_wide.append(f"{address}: {width} px in {inner} px")

    # a lump-sum claim, after the preview of what the record supports
    page.get_by_test_id("me-link-claim-new").click()
    page.wait_for_url(re.compile(r".*/me/claims/new$"))
    assert page.get_by_test_id("preview-lump_sum").is_visible()
    check_width("/me/claims/new")
    page.screenshot(path=str(ARTIFACTS / "portal-claim-new-390.png"), full_page=True)
    page.select_option('[data-testid="field-type"]', "lump_sum")
    page.select_option('[data-testid="field-ground"]', "abroad")
    page.get_by_test_id("claim-file").click()
    page.wait_for_url(re.compile(r".*/me/claims\?notice=filed$"))
    claim = page.locator('[data-testid^="claim-"]').filter(has=page.get_by_test_id("claim-status")).first
    assert re.search(r"\d{2}/\d{2}/\d{4}", claim.get_by_test_id("claim-deadline").inner_text())
    check_width("/me/claims")

    # the bank account benefits are paid into: in one's own name, shown masked
    page.goto(f"{base}/me/bank-account")
    name = page.input_value('[data-testid="field-holder-name"]')  # filled with the record's name
    assert name
    page.fill('[data-testid="field-bank-bin"]', "970436")
    page.fill('[data-testid="field-account-number"]', "0011000099")
    page.get_by_test_id("bank-save").click()
    page.wait_for_url(re.compile(r".*/me/bank-account\?notice=account$"))
    assert page.get_by_test_id("account-number").first.inner_text() == "•••• 0099"
    check_width("/me/bank-account")

    # voluntary social insurance from next month: the quote, then the bill with its VietQR code
    page.goto(f"{base}/me/enrol")
    page.fill('[data-testid="field-income"]', "3000000")
    page.select_option('[data-testid="field-months"]', "3")
    page.get_by_test_id("voluntary-quote-button").click()
    payable = page.get_by_test_id("voluntary-payable").inner_text()
    assert re.search(r"\d{1,3}(\.\d{3})+\s₫", payable)
    check_width("/me/enrol")
    page.screenshot(path=str(ARTIFACTS / "portal-enrol-390.png"), full_page=True)
    page.get_by_test_id("voluntary-confirm").click()
    page.wait_for_url(re.compile(r".*/me/bills\?notice=enrolled$"))
    assert page.locator('[data-testid="bill-qr"] svg').count() >= 1
    assert any(payable in text for text in page.locator('[data-testid^="bill-due-"]').all_inner_texts())
    check_width("/me/bills")

    # a correction of the phone number: a request, not an edit
    page.goto(f"{base}/me/corrections")
    page.fill('[data-testid="field-phone"]', "0912345678")
    page.get_by_test_id("correction-send").click()
    page.wait_for_url(re.compile(r".*/me/corrections\?notice=filed$"))
    assert page.get_by_test_id("correction-status").first.inner_text() == "Đang xử lý"
    check_width("/me/corrections")

    # the notice: unread on /me, read on /me/notices
    page.goto(f"{base}/me")
    assert page.get_by_test_id("me-unread").inner_text() == "1"
    page.get_by_test_id("me-link-notices").click()
    page.wait_for_url(re.compile(r".*/me/notices$"))
    assert "Chào mừng" in page.get_by_test_id("notice-text").first.inner_text()
    page.locator('[data-testid^="notice-read-"]').first.click()
    page.wait_for_url(re.compile(r".*/me/notices$"))
    assert page.locator('[data-testid^="notice-read-"]').count() == 0
    check_width("/me/notices")
    page.goto(f"{base}/me/visits")
    check_width("/me/visits")
    page.screenshot(path=str(ARTIFACTS / "portal-actions-390.png"), full_page=True)
    assert too_wide == [] and problems == []
    context.close()
