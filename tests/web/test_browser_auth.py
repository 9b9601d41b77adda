"""A citizen's account through the office and a second factor, in a real browser on a phone (390×844): the Hà Nội
officer issues a reset code for a registered person who has no account yet; the citizen sets a password at
/login/reset with it, signs in by citizen ID, sets up the second factor (the secret read from the page, the code
computed with pyotp), signs out, and signs in again with the password and a code."""

from __future__ import annotations

from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import select

from ansinh import clock
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from tests.web.conftest import ARTIFACTS, served

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
OFFICER = "hanoi.canbo"
CID = "001199000777"  # a woman born in 1999, registered in Hà Nội
NEW_PASSWORD = "violet tractor humming quietly"


def _person(database, _plan) -> None:
    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        hanoi = s.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
        registry.create_person(s, registry.PersonData(full_name="Phạm Thị Thu", date_of_birth=date(1999, 4, 2),
                                                      sex=Sex.female, citizen_id=CID), hanoi)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served(tmp_path_factory.mktemp("browser-auth") / "var", _person) as (base, passwords, _):
        yield base, passwords


def _no_wider_than_the_screen(page, problems: list[str]) -> None:
    width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width > inner:
        problems.append(f"{page.url}: {width} px in {inner} px")


def _sign_out(page) -> None:
    page.click("[data-testid=user-menu]")
    page.click("[data-testid=logout]")
    page.wait_for_url("**/login")


def test_reset_at_the_office_then_sign_in_with_a_second_factor(server, browser):
    base, passwords = server
    problems: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)

    # the officer, at the counter
    officer = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    officer.on("pageerror", lambda e: problems.append(str(e)))
    officer.goto(f"{base}/login")
    officer.fill("input[name=username]", OFFICER)
    officer.fill("input[name=password]", passwords[OFFICER])
    officer.click("button[type=submit]")
    officer.wait_for_url(f"{base}/")
    officer.goto(f"{base}/accounts/reset-codes")
    officer.fill("input[name=citizen_id]", CID)
    officer.click("[data-testid=issue-reset-code]")
    officer.wait_for_selector("[data-testid=reset-code]")
    code = officer.inner_text("[data-testid=reset-code]").strip()
    assert len(code) == 9 and code[4] == "-"
    assert officer.is_visible("[data-testid=account-created]")
    _no_wider_than_the_screen(officer, problems)
    officer.screenshot(path=str(ARTIFACTS / "auth-reset-code-390.png"), full_page=True)
    officer.context.close()

    # the citizen, on their phone
    page = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{base}/login")
    page.click("[data-testid=forgot-password]")
    page.wait_for_url(f"{base}/login/reset")
    page.fill("input[name=citizen_id]", CID)
    page.fill("input[name=code]", code.lower())
    page.fill("input[name=password]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    _no_wider_than_the_screen(page, problems)
    page.click("[data-testid=reset-submit]")
    page.wait_for_url(f"{base}/login?reset=1")
    assert page.is_visible("[data-testid=reset-done]")

    page.fill("input[name=username]", CID)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/me")

    page.goto(f"{base}/account/second-factor")
    secret = page.get_attribute("[data-testid=second-factor-secret]", "data-secret")
    assert page.is_visible("[data-testid=second-factor-qr] svg")
    _no_wider_than_the_screen(page, problems)
    page.screenshot(path=str(ARTIFACTS / "auth-second-factor-390.png"), full_page=True)
    totp = pyotp.TOTP(secret)
    page.fill("input[name=code]", totp.at(clock.utcnow()))
    page.click("[data-testid=second-factor-confirm]")
    page.wait_for_selector("[data-testid=second-factor-on]")
    assert secret not in page.content()
    _sign_out(page)

    page.fill("input[name=username]", CID)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login/code")
    _no_wider_than_the_screen(page, problems)
    # the next step's code: this step's was taken when the factor was switched on (a code is accepted once)
    page.fill("input[name=code]", totp.at(clock.utcnow() + timedelta(seconds=30)))
    page.click("[data-testid=submit-code]")
    page.wait_for_url(f"{base}/me")
    assert problems == []


def test_the_pages_have_no_serious_accessibility_violation(server, browser):
    from tests.web.test_accessibility import AXE, RUN_AXE

    base, passwords = server
    context = browser.new_context(bypass_csp=True, viewport=PHONE)  # the CSP would refuse the injected axe script
    page = context.new_page()
    found = []

    def check(address: str) -> None:
        response = page.goto(f"{base}{address}")
        assert response.status < 400, (address, response.status)
        page.add_script_tag(path=str(AXE))
        found.extend(f"{address} {v['impact']} {v['id']}: {v['help']} — {'; '.join(v['nodes'])}"
                     for v in page.evaluate(RUN_AXE))

    try:
        check("/login/reset")
        page.goto(f"{base}/login")
        page.fill("input[name=username]", OFFICER)
        page.fill("input[name=password]", passwords[OFFICER])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        check("/accounts/reset-codes")
        check("/account/second-factor")
    finally:
        context.close()
    assert not found, "\n".join(found)
