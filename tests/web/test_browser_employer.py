"""The employer's pages in a real browser at a desk (1366×768), and a phone check (390×844): the demo's Hà Nội
employer (two workers, January's bill) signs in, lands on /employer, registers for electronic transactions,
declares a join (the live check first refuses a worker already declared, then accepts another), sends a file of
declarations and reads the report of its rows, opens the statement and a bill with its VietQR code, and adds an
accounting user; nothing is wider than the screen and the console shows no error."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from ansinh import clock
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, User
from ansinh.collection.billing import run_billing
from ansinh.db import Database
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from tests.web.conftest import ARTIFACTS, served

pytestmark = pytest.mark.browser
EMPLOYER = "hanoi.donvi"
PHONE, DESK = {"width": 390, "height": 844}, {"width": 1366, "height": 768}
LAN_CID, MINH_CID, HOA_CID = "001190011111", "001092022222", "001195033333"


def _staff(database: Database, _plan) -> dict:
    """The employer of the demo's Hà Nội employer account, with Lan (10,000,000) and Minh (8,000,000) from
    January 2026, billed for January; Hoa, registered, not yet declared."""
    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        hanoi = s.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
        tax = s.scalar(select(User.subject_ref).where(User.username == EMPLOYER))
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code=tax, name="Công ty Sao Mai", ownership=Ownership.private, region="I"), hanoi)
        people = {}
        for name, born, sex, cid in (("Nguyễn Thị Lan", date(1990, 3, 4), Sex.female, LAN_CID),
                                     ("Trần Văn Minh", date(1992, 8, 9), Sex.male, MINH_CID),
                                     ("Lê Thị Hoa", date(1995, 1, 2), Sex.female, HOA_CID)):
            people[cid] = registry.create_person(s, registry.PersonData(
                full_name=name, date_of_birth=born, sex=sex, citizen_id=cid), hanoi)
        for cid, salary in ((LAN_CID, 10_000_000), (MINH_CID, 8_000_000)):
            participation.apply_declaration(s, employer=employer, person=people[cid], kind="join",
                                            effective_month=date(2026, 1, 1), insured_salary=salary,
                                            submitted_by="test", today=date(2026, 1, 10))
        tax_code = employer.tax_code
    with audit_context(channel="job", actor_username="test-fixture"):
        run_billing(database, period=date(2026, 1, 1), province="01", actor="test", today=date(2026, 1, 20))
    return {"tax_code": tax_code}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served(tmp_path_factory.mktemp("browser-employer") / "var", _staff) as (base, passwords, prepared):
        yield base, passwords, prepared


def _watch(page) -> tuple[list[str], list[str], callable]:
    problems: list[str] = []
    too_wide: list[str] = []
    # A refused file answers its report with 422 (as the registry's imports do): the browser logs that status, which
    # is the page's answer, not an error of the page.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "status of 422" not in m.text
            else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def check_width(address: str) -> None:
        width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            too_wide.append(f"{address}: {width} px in {inner} px")

    return problems, too_wide, check_width


def _sign_in(page, base: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", EMPLOYER)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/employer")  # the employer's landing
    page.goto(f"{base}/lang/vi?next=/employer")
    page.wait_for_url(f"{base}/employer")


def test_the_employer_works_online_at_a_desk(server, browser):
    base, passwords, prepared = server
    context = browser.new_context(viewport=DESK, locale="vi-VN")
    page = context.new_page()
    problems, too_wide, check_width = _watch(page)
    _sign_in(page, base, passwords[EMPLOYER])
    assert "Công ty Sao Mai" in page.get_by_test_id("employer-name").inner_text()
    assert re.search(r"\d{1,3}(\.\d{3})+\s₫", page.get_by_test_id("employer-to-pay").inner_text())
    check_width("/employer")

    # registration for electronic transactions
    page.goto(f"{base}/employer/e-transactions")
    page.fill("input[name=email]", "nhansu@saomai.vn")
    page.fill("input[name=phone]", "0243 123 4567")
    page.get_by_test_id("registration-submit").click()
    page.wait_for_url(re.compile(r".*/employer/e-transactions\?notice=registered$"))
    assert clock.today().strftime("%d/%m/%Y") in page.get_by_test_id("registration-since").inner_text()
    check_width("/employer/e-transactions")

    # a join: the live check refuses a worker already declared, then accepts another
    page.goto(f"{base}/employer/declarations/new")
    page.fill("[data-testid=declaration-person]", LAN_CID)
    page.fill("[data-testid=declaration-salary]", "9000000")
    page.press("[data-testid=declaration-salary]", "Tab")
    page.wait_for_selector('[data-testid=declaration-errors] li[data-field="person"]')
    assert page.get_attribute("[data-testid=declaration-person]", "aria-invalid") == "true"
    page.fill("[data-testid=declaration-person]", HOA_CID)
    page.fill("[data-testid=declaration-name]", "Lê Thị Hoa")
    page.press("[data-testid=declaration-name]", "Tab")
    page.wait_for_selector("[data-testid=declaration-ok]")
    check_width("/employer/declarations/new")
    page.get_by_test_id("declaration-submit").click()
    page.wait_for_url(re.compile(r".*/employer/declarations/new\?declared=\d+$"))
    assert page.get_by_test_id("declared").is_visible()

    # a file of declarations with a bad row: the report names the row and the column
    page.goto(f"{base}/employer/declarations/upload")
    month = clock.today().strftime("%Y-%m")
    rows = ("employer_tax_code,citizen_id,kind,effective_month,insured_salary\n"
            f"{prepared['tax_code']},{MINH_CID},salary_change,{month},9500000\n"
            f"{prepared['tax_code']},001199999999,join,{month},9000000\n")
    page.set_input_files("[data-testid=upload-file]", files=[{"name": "khai-bao.csv", "mimeType": "text/csv",
                                                                "buffer": rows.encode()}])
    page.get_by_test_id("upload-submit").click()
    page.wait_for_selector("[data-testid=upload-errors]")
    report = page.get_by_test_id("upload-errors").inner_text()
    assert "3" in page.locator('[data-testid=upload-errors] tr[data-row="3"]').inner_text() and "citizen_id" in report
    check_width("/employer/declarations/upload")

    # the statement, then January's bill with its VietQR code
    page.goto(f"{base}/employer/statement")
    assert page.get_by_test_id("statement-billed").inner_text().startswith("5.760.000")
    check_width("/employer/statement")
    page.get_by_test_id("statement-bill-2026-01").click()
    page.wait_for_url(re.compile(r".*/employer/bills/\d+$"))
    assert page.get_by_test_id("bill-qr").is_visible()
    assert page.get_by_test_id("bill-total").inner_text().startswith("5.760.000")
    check_width("/employer/bills")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "employer-bill-1366.png"), full_page=True)

    # an accounting user
    page.goto(f"{base}/employer/users")
    page.fill("input[name=username]", "hanoi.ketoan")
    page.fill("input[name=full_name]", "Phạm Thu Kế")
    page.fill("input[name=password]", "ngựa vằn ăn cỏ ba lá buổi sáng")
    page.select_option("select[name=duty]", "accounting")
    page.get_by_test_id("user-submit").click()
    page.wait_for_url(re.compile(r".*/employer/users\?notice=added$"))
    assert "Kế toán" in page.locator('tr[data-user="hanoi.ketoan"]').inner_text()
    check_width("/employer/users")
    assert too_wide == [] and problems == []
    context.close()


def test_the_employer_pages_fit_a_phone(server, browser):
    base, passwords, _ = server
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    problems, too_wide, check_width = _watch(page)
    _sign_in(page, base, passwords[EMPLOYER])
    check_width("/employer")
    for path in ("/employer/statement", "/employer/declarations/new", "/employer/declarations/upload",
                 "/employer/workers", "/employer/payments", "/employer/benefits", "/employer/e-transactions",
                 "/employer/users"):
        page.goto(f"{base}{path}")
        check_width(path)
    page.goto(f"{base}/employer/statement")
    page.get_by_test_id("statement-bill-2026-01").click()
    page.wait_for_url(re.compile(r".*/employer/bills/\d+$"))
    assert page.get_by_test_id("bill-qr").is_visible()
    check_width("/employer/bills")
    page.screenshot(path=str(ARTIFACTS / "employer-bill-390.png"), full_page=True)
    assert too_wide == [] and problems == []
    context.close()


def test_the_employer_pages_have_no_serious_accessibility_violation(server, browser):
    """axe-core (as tests/web/test_accessibility.py runs it) on each page of the employer, in Vietnamese."""
    from tests.web.test_accessibility import AXE, RUN_AXE

    base, passwords, _ = server
    context = browser.new_context(bypass_csp=True, viewport=DESK)  # the page's CSP would refuse the injected axe
    page = context.new_page()
    _sign_in(page, base, passwords[EMPLOYER])
    found = []
    for path in ("/employer", "/employer/e-transactions", "/employer/users", "/employer/declarations/new",
                 "/employer/declarations/upload", "/employer/statement", "/employer/payments", "/employer/workers",
                 "/employer/benefits", "/employer/statement/notice?month=2026-01"):
        response = page.goto(f"{base}{path}")
        assert response.status < 400, (path, response.status)
        page.add_script_tag(path=str(AXE))
        for violation in page.evaluate(RUN_AXE):
            found.append(f"{path} {violation['impact']} {violation['id']}: {violation['help']} — "
                         + "; ".join(violation["nodes"]))
    context.close()
    assert not found, "\n".join(found)
