"""Take the README's screenshot: the demo (`ansinh demo load`, as `make run` loads it) on a fresh SQLite database, a
provincial officer's dashboard at a desk screen's size (1366 × 768), in Vietnamese, with Debian's chromium.

    .venv/bin/python scripts/screenshot.py [docs/screenshot.png]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's bench package

from playwright.sync_api import sync_playwright  # noqa: E402

from ansinh.synth.demo import plan_demo  # noqa: E402
from bench.served import served  # noqa: E402

CHROMIUM = os.environ.get("ANSINH_CHROMIUM", "/usr/bin/chromium")


def main(target: str = "docs/screenshot.png") -> None:
    with tempfile.TemporaryDirectory() as var:
        url = f"sqlite:///{var}/ansinh.db"
        env = {**os.environ, "ANSINH_DATABASE_URL": url, "ANSINH_VAR_DIR": var}
        command = str(Path(sys.executable).with_name("ansinh"))
        subprocess.run([command, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([command, "demo", "load"], env=env, check=True, stdout=subprocess.DEVNULL)
        plan = plan_demo()  # the same seed as `ansinh demo load`: the same users and passwords
        officer = next(u for u in plan.users if u.username.endswith(".canbo") and not u.username.startswith("tw."))
        with served(env) as base, \
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
