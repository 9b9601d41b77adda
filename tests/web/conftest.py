"""Browser tests: Debian's chromium driven by Playwright, against a real `ansinh serve` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from ansinh.db import Database
from ansinh.migrate import upgrade_database
from ansinh.synth.demo import DemoPlan, load_demo, plan_demo

CHROMIUM = os.environ.get("ANSINH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(var: Path, prepare: Callable[[Database, DemoPlan], object] | None = None, seed: int = 5
           ) -> Iterator[tuple[str, dict[str, str], object]]:
    """A fresh SQLite database with the demo users (and whatever ``prepare`` adds), served by `ansinh serve` on a
    free port. Yields the base URL, the demo passwords by username, and what ``prepare`` returned."""
    url = f"sqlite:///{var / 'ansinh.db'}"
    upgrade_database(url)
    plan = plan_demo(seed)
    database = Database(url)
    with database.unit_of_work() as session:
        load_demo(session, plan)
    prepared = prepare(database, plan) if prepare else None
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
    try:
        yield base, {u.username: u.password for u in plan.users}, prepared
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"CI needs chromium at {CHROMIUM} (.ci/run installs it)")
        pytest.skip(f"no chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield instance
        instance.close()
