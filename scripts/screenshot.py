"""Take the README's screenshot: the demo on a fresh SQLite database, a provincial officer's dashboard at a desk
screen's size (1366 × 768), in Vietnamese, with Debian's chromium.

    .venv/bin/python scripts/screenshot.py [docs/screenshot.png]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's bench package

from playwright.sync_api import sync_playwright  # noqa: E402

from ansinh.db import Database  # noqa: E402
from ansinh.migrate import upgrade_database  # noqa: E402
from ansinh.synth.demo import load_demo, plan_demo  # noqa: E402
from bench.served import served  # noqa: E402

CHROMIUM = os.environ.get("ANSINH_CHROMIUM", "/usr/bin/chromium")


def main(target: str = "docs/screenshot.png") -> None:
    with tempfile.TemporaryDirectory() as var:
        url = f"sqlite:///{var}/ansinh.db"
        upgrade_database(url)
        plan = plan_demo()
        database = Database(url)
        with database.unit_of_work() as session:
            load_demo(session, plan)
        database.dispose()
        officer = next(u for u in plan.users if u.username.endswith(".canbo") and not u.username.startswith("tw."))
        with served({**os.environ, "ANSINH_DATABASE_URL": url, "ANSINH_VAR_DIR": var}) as base, \
                sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="vi-VN")
            page.goto(f"{base}/login")
            page.fill("input[name=username]", officer.username)
            page.fill("input[name=password]", officer.password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            page.wait_for_timeout(500)
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=target)
            browser.close()
    print(target)


if __name__ == "__main__":
    main(*sys.argv[1:])
