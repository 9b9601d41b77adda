"""Test fixtures. Every test that touches the database runs on SQLite and on PostgreSQL.

PostgreSQL: ``ANSINH_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://127.0.0.1:5432/test``). Each run
works in a schema of its own, created and dropped here. When PostgreSQL does not answer its tests
are skipped, except under ``CI=true``, where that is an error.

Each test runs inside a transaction that is rolled back afterwards; the application's own commits
become savepoints (``Database.bound_to``). Data is built through the services, never raw inserts.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from ansinh.api import create_app
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel, OrgUnit, Role, User
from ansinh.config import Settings
from ansinh.db import Database, make_engine
from ansinh.migrate import upgrade_database

# Property tests check results, not speed: no per-example deadline (a loaded CI machine must not fail them).
hypothesis_settings.register_profile("ansinh", deadline=None, print_blob=True)
hypothesis_settings.load_profile("ansinh")

POSTGRES_URL = os.environ.get("ANSINH_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "correct horse battery"


def _postgres_answers() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        engine = make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


_PG_PROBLEM = _postgres_answers()


def pytest_report_header(config) -> str:
    return f"PostgreSQL: {'available at ' + POSTGRES_URL if _PG_PROBLEM is None else 'unavailable (' + _PG_PROBLEM + ')'}"


def pytest_collection_modifyitems(config, items) -> None:
    """Some tests run on SQLite only: a module that touches no database of its own but signs in
    (``ONE_DATABASE = True``, e.g. the calculators' pages), a module of pages (their HTML is the same on both
    databases; what their queries do is tested on both by the services' tests), and a test marked ``one_database``.
    Running them on PostgreSQL too would test the same code twice."""

    def one_database(item) -> bool:
        return bool(getattr(getattr(item, "module", None), "ONE_DATABASE", False)
                    or item.get_closest_marker("one_database"))

    dropped = [item for item in items if one_database(item)
               and "postgresql" in getattr(getattr(item, "callspec", None), "params", {}).get("migrated_database", "")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def pytest_sessionstart(session) -> None:
    if IN_CI and _PG_PROBLEM is not None:
        raise pytest.UsageError(f"CI requires PostgreSQL at {POSTGRES_URL}: {_PG_PROBLEM}")


def _migrated_sqlite(tmp_path_factory) -> Database:
    path = tmp_path_factory.mktemp("sqlite") / "ansinh-test.db"
    url = f"sqlite:///{path}"
    upgrade_database(url)
    return Database(url)


def _migrated_postgres() -> tuple[Database, str]:
    schema = f"ansinh_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    with engine.connect() as connection:
        upgrade_database(POSTGRES_URL, connection=connection)
        connection.commit()
    return Database(POSTGRES_URL, engine=engine), schema


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_database(request, tmp_path_factory) -> Iterator[Database]:
    """A migrated database per backend for the whole run."""
    if request.param == "sqlite":
        database = _migrated_sqlite(tmp_path_factory)
        yield database
        database.dispose()
        return
    if _PG_PROBLEM is not None:
        pytest.skip(f"PostgreSQL unavailable: {_PG_PROBLEM}")
    database, schema = _migrated_postgres()
    yield database
    database.dispose()
    admin = make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def db(migrated_database: Database) -> Iterator[Database]:
    """The database for one test: everything it does is rolled back afterwards (and the process caches of what
    was in it are cleared)."""
    from ansinh.auth.service import clear_token_cache
    from ansinh.cards.facilities import clear_contract_cache

    clear_token_cache()
    clear_contract_cache()
    connection = migrated_database.engine.connect()
    outer = connection.begin()
    try:
        yield migrated_database.bound_to(connection)
    finally:
        outer.rollback()
        connection.close()


@contextmanager
def job_unit(database: Database, actor: str = "test-fixture"):
    """A unit of work as a background job's (audited as ``actor``), for a test that commits several in turn."""
    with audit_context(channel="job", actor_username=actor), database.unit_of_work() as s:
        yield s


@pytest.fixture
def session(db: Database):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        yield s


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(env="test", var_dir=tmp_path / "var", secret_key="t" * 48, database_url="sqlite://",
                    login_max_failures=3, login_window_minutes=15, lookup_log_flush_ms=0)


@pytest.fixture
def app(db: Database, settings: Settings):
    return create_app(settings, database=db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@dataclass
class Org:
    """A small agency: national HQ, two provinces, a local office under the first."""

    national: OrgUnit
    hanoi: OrgUnit
    sonla: OrgUnit
    hanoi_office: OrgUnit


@pytest.fixture
def org(db: Database) -> Org:
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        national = auth_service.create_org_unit(s, code="VSS", name="Bảo hiểm xã hội Việt Nam",
                                                level=OrgLevel.national, place_code="VN")
        hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Bảo hiểm xã hội Thành phố Hà Nội",
                                             level=OrgLevel.province, place_code="01", parent=national)
        sonla = auth_service.create_org_unit(s, code="BHXH-14", name="Bảo hiểm xã hội tỉnh Sơn La",
                                             level=OrgLevel.province, place_code="14", parent=national)
        office = auth_service.create_org_unit(s, code="BHXH-01-01", name="Bảo hiểm xã hội cơ sở Ba Đình",
                                              level=OrgLevel.district, place_code="00004", parent=hanoi)
    return Org(national, hanoi, sonla, office)


@pytest.fixture
def make_user(db: Database):
    """Create a user through the service: ``make_user("an", org.hanoi, Role.provincial_officer)``."""

    def factory(username: str, unit: OrgUnit, *roles: Role, password: str = PASSWORD, **fields) -> User:
        with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
            return auth_service.create_user(s, username=username, password=password,
                                            full_name=fields.pop("full_name", f"Người dùng {username}"),
                                            org_unit=s.get(OrgUnit, unit.id), roles=list(roles), **fields)

    return factory


def api_token(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in through the API and return the Authorization header."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def web_login(client: TestClient, username: str, password: str = PASSWORD, next_url: str = "/"):
    """Sign in through the login form, as a browser does (the form's CSRF cookie included)."""
    client.get("/login")
    csrf = client.cookies.get("ansinh_login_csrf")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf,
                                       "next": next_url}, follow_redirects=False)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing_in_tests() -> Iterator[None]:
    """Argon2id with small costs in the tests: a hash at the production costs takes a quarter of a second on a loaded
    2-core machine, and most tests create users and sign in. The hash still is Argon2id; what the tests check is who
    may sign in, not the cost of guessing. The server processes of the browser tests keep the production costs."""
    from argon2 import PasswordHasher

    saved = auth_service._hasher
    auth_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        yield
    finally:
        auth_service._hasher = saved
