"""Real commits and a real server, for the tests of what happens when requests race.

The ordinary fixtures run every test inside one transaction rolled back at the end (``tests/conftest.py``): right for
almost everything, but two requests racing for the same row need separate connections and real commits. Here:

- :func:`fresh_postgres` — a migrated PostgreSQL schema of its own, committed to, dropped afterwards;
- :func:`hanoi_facility` — the Hà Nội office under the national one, with facility 01001, committed;
- :func:`live_server` — the application served by uvicorn on a free port in a thread of this process, so that
  requests sent from many client threads at once really overlap;
- :func:`fire` — send the same request from N threads released at the same instant.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from typing import TypeVar

import httpx2 as httpx
import pytest
from sqlalchemy import text

from ansinh.config import Settings
from ansinh.db import Database, make_engine
from ansinh.migrate import upgrade_database
from tests.conftest import _PG_PROBLEM, POSTGRES_URL

T = TypeVar("T")


@contextmanager
def fresh_postgres(**engine_options) -> Iterator[Database]:
    """A migrated schema of its own on the test PostgreSQL (skips the test when PostgreSQL is unavailable)."""
    if _PG_PROBLEM is not None:
        pytest.skip(f"PostgreSQL unavailable: {_PG_PROBLEM}")
    schema = f"ansinh_live_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=30,
                         max_overflow=30, **engine_options)
    with engine.connect() as connection:
        upgrade_database(POSTGRES_URL, connection=connection)
        connection.commit()
    database = Database(POSTGRES_URL, engine=engine)
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def hanoi_facility(database: Database, *, name: str, level: str, contract_from: date | None = None):
    """Commit the national office, the Hà Nội office under it and facility 01001 of that office (with an HI
    contract from ``contract_from`` on, when given); returns the session-less ids as ``(hanoi_id, facility_id)``
    (the setup the race tests of facilities and claims share)."""
    from ansinh.audit.service import audit_context
    from ansinh.auth import service as auth_service
    from ansinh.auth.models import OrgLevel
    from ansinh.cards import facilities

    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        national = auth_service.create_org_unit(s, code="VSS", name="VSS", level=OrgLevel.national, place_code="VN")
        hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                             place_code="01", parent=national)
        facility = facilities.create_facility(s, facilities.FacilityData(code="01001", name=name, level=level), hanoi)
        if contract_from is not None:
            facilities.sign_contract(s, facility=facility, contract_number="HD-1", valid_from=contract_from,
                                     valid_until=date(2099, 12, 31), org_unit=hanoi)
        return hanoi.id, facility.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_settings(tmp_path, **overrides) -> Settings:
    values = dict(env="test", var_dir=tmp_path / "var", secret_key="t" * 48, database_url="sqlite://",
                  login_max_failures=5, login_window_minutes=15, lookup_log_flush_ms=0)
    values.update(overrides)
    return Settings(**values)


@contextmanager
def live_server(database: Database, settings: Settings) -> Iterator[str]:
    """The application on ``database``, served by uvicorn in a thread; yields its base URL."""
    import uvicorn

    from ansinh.api import create_app

    app = create_app(settings, database=database)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code in (200, 503):
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:  # pragma: no cover
        raise RuntimeError("the live server did not start")
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def fire(count: int, send: Callable[[int], T]) -> list[T]:
    """Call ``send(i)`` from ``count`` threads released together (a request, or any work racing); the results in
    order of ``i`` (an exception in any thread is raised)."""
    barrier = threading.Barrier(count)

    def one(index: int) -> T:
        barrier.wait()
        return send(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))
