"""A real browser (Debian's chromium through Playwright) against a real server process."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from ansinh.db import Database
from ansinh.migrate import upgrade_database
from ansinh.synth.demo import load_demo, plan_demo

CHROMIUM = os.environ.get("ANSINH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        raise RuntimeError(f"CI needs chromium at {CHROMIUM} (.ci/run installs it)")
    pytest.skip(f"no chromium at {CHROMIUM}", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var = tmp_path_factory.mktemp("browser") / "var"
    url = f"sqlite:///{var / 'ansinh.db'}"
    upgrade_database(url)
    plan = plan_demo(5)
    database = Database(url)
    with database.unit_of_work() as session:
        load_demo(session, plan)
    database.dispose()
    port = _free_port()
    env = {**os.environ, "ANSINH_VAR_DIR": str(var), "ANSINH_DATABASE_URL": url}
    process = subprocess.Popen([str(Path(sys.executable).with_name("ansinh")), "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(process.stdout.read().decode())
    yield base, {u.username: u.password for u in plan.users}
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield instance
        instance.close()


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
    page.wait_for_selector("[data-path=\"/api/v1/me\"]", timeout=15000)
    assert all(url.startswith(base) for url in requests), [u for u in requests if not u.startswith(base)]
