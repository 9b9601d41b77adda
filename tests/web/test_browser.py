"""A real browser (Debian's chromium through Playwright) against a real server process."""

import pytest

from tests.web.conftest import ARTIFACTS, served

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served(tmp_path_factory.mktemp("browser") / "var") as (base, passwords, _):
        yield base, passwords


def test_sign_in_switch_language_and_see_the_dashboard(server, browser):
    base, passwords = server
    page = browser.new_page(locale="en-US")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/login")
    assert page.locator("h1").inner_text() == "Đăng nhập"  # Vietnamese first, whatever the browser says

    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.get_by_test_id("login-error").inner_text() == "Sai tên đăng nhập hoặc mật khẩu."

    problems.clear()  # the refused sign-in above answers 401 on purpose
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", passwords["admin"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.get_by_test_id("dashboard-title").inner_text() == "Bảng điều khiển"
    assert page.locator('[data-tile="users"] .tile-value').inner_text() == str(len(passwords))
    # Chart.js (vendored) drew the activity chart.
    page.wait_for_function("() => window.Chart && Chart.getChart('activity-chart') !== undefined")

    page.get_by_test_id("language-menu").click()
    page.click("a[data-lang=en]")
    page.wait_for_url(f"{base}/")
    assert page.get_by_test_id("dashboard-title").inner_text() == "Dashboard"
    assert page.locator('a[data-nav="audit"]').inner_text() == "Audit log"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)

    page.click('a[data-nav="audit"]')
    assert page.locator("h1").inner_text().startswith("Audit log")
    assert page.locator('tr[data-action="login"]').count() >= 1

    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    page.wait_for_url(f"{base}/login")
    assert not problems, problems  # no script errors, no Content-Security-Policy violations


def test_api_docs_render_offline(server, browser):
    base, _ = server
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{base}/docs")
    page.wait_for_selector("[data-path=\"/health\"]", timeout=15000)
    # Swagger UI renders a spec this size lazily, only the operations in view: scroll down to them.
    me = page.locator("[data-path=\"/api/v1/me\"]")
    for _ in range(100):
        if me.count():
            break
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(100)
    assert me.count() == 1
    assert all(url.startswith(base) for url in requests), [u for u in requests if not u.startswith(base)]
