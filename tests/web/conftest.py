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
    with cheap_password_hashing():
        with database.unit_of_work() as session:
            load_demo(session, plan)
        prepared = prepare(database, plan) if prepare else None
    database.dispose()
    port = _free_port()
    env = {**os.environ, "ANSINH_VAR_DIR": str(var), "ANSINH_DATABASE_URL": url}
    process = subprocess.Popen([str(Path(sys.executable).with_name("ansinh")), "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded machine (parallel test workers) starts it slowly
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


#: One user of each kind the demo has (every role, the administrator at both levels), for the crawl and the
#: accessibility checks: the national and a provincial administrator, national officer, supervisor, provincial
#: and local officers, and the employer, citizen and facility of Hà Nội.
DEMO_ROLE_USERS = ("admin", "tw.canbo", "giamsat", "hanoi.quantri", "hanoi.canbo", "hanoi.coso1", "hanoi.donvi",
                   "hanoi.nguoidan", "hanoi.benhvien")


@contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with small costs while the demo's users are created and sign in (the hash carries its costs, so a
    server verifies them cheaply too): the demo has some thirty users, and default costs take seconds apiece
    on a loaded machine."""
    from argon2 import PasswordHasher

    from ansinh.auth import service as auth_service

    saved = auth_service._hasher
    auth_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        yield
    finally:
        auth_service._hasher = saved


def load_full_demo(database: Database, plan: DemoPlan, *, people: int = 300, months: int = 3) -> None:
    """What `ansinh demo load` writes after the users (see ``ansinh.cli.demo_load``), smaller: a synthetic
    population of ``people``, ``months`` of bills and payments, facilities, cards and lookups. Keep the steps
    in line with the command."""
    from ansinh import clock
    from ansinh.audit.service import audit_context
    from ansinh.synth.collection import load_collection_year
    from ansinh.synth.demo import load_demo_registry
    from ansinh.synth.citizen import load_demo_citizens
    from ansinh.synth.claims import load_demo_claims
    from ansinh.synth.employer_portal import load_demo_employer_portal
    from ansinh.synth.outreach import load_demo_outreach
    from ansinh.synth.facilities import load_demo_health_insurance

    today = clock.today()
    with audit_context(channel="cli", actor_username="demo-loader"):
        with database.unit_of_work() as session:
            load_demo_registry(session, plan, people=people, today=today)
        load_collection_year(database, seed=plan.seed, today=today, months=months)
        with database.unit_of_work() as session:
            load_demo_health_insurance(session, plan, today=today)
        with database.unit_of_work() as session:
            load_demo_claims(session, plan, today=today)
        with database.unit_of_work() as session:
            load_demo_citizens(session, plan, today=today)
        with database.unit_of_work() as session:
            load_demo_employer_portal(session, plan, today=today)
        load_demo_outreach(database, today=today, seed=plan.seed)


def full_demo(database: Database, plan: DemoPlan) -> dict:
    """A ``prepare`` for :func:`served`: the demo's population, bills, payments and cards. Returns a Hà Nội person
    whose name no one else has (``person_id``, ``full_name``, ``citizen_id``), for searches."""
    from sqlalchemy import func, select

    from ansinh.auth.models import OrgUnit
    from ansinh.registry.models import Person

    load_full_demo(database, plan)
    with database.unit_of_work() as session:
        hanoi = session.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
        unique_names = select(Person.full_name).group_by(Person.full_name).having(func.count() == 1)
        person = session.scalars(
            select(Person).join(OrgUnit, Person.org_unit_id == OrgUnit.id)
            .where(OrgUnit.path.startswith(hanoi.path), Person.citizen_id.is_not(None),
                   Person.full_name.in_(unique_names))
            .order_by(Person.id).limit(1)).one()
        return {"person_id": person.id, "full_name": person.full_name, "citizen_id": person.citizen_id}


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[tuple[str, dict[str, str], dict]]:
    """The full demo (smaller) served by `ansinh serve`, shared by the browser tests of a run: the base URL, the
    passwords by username, and a Hà Nội person (see :func:`full_demo`)."""
    with served(tmp_path_factory.mktemp("demo") / "var", prepare=full_demo) as server:
        yield server


def sign_in(page, base: str, username: str, password: str, locale: str = "vi") -> None:
    """Sign in through the form, then choose the language."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/lang/{locale}?next=/")


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
