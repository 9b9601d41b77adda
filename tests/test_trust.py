"""What every route gets from the foundation: a declared scope, bounded input, no caching of personal data, refusals
in the audit log, clean answers to database contention, idempotent creation, sign-in throttling that holds under
parallel guesses, and passwords that cannot be guessed."""

from __future__ import annotations

import re
from pathlib import Path

import httpx2 as httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from ansinh.api import all_routes
from ansinh.audit.models import AuditEvent
from ansinh.audit.refusals import RefusalLimiter
from ansinh.auth import service as auth_service
from ansinh.auth.deps import declared_scopes
from ansinh.auth.models import OrgLevel, Role, User
from ansinh.errors import Conflict, ServiceBusy, ValidationFailed, database_error
from tests.conftest import PASSWORD, api_token, web_login
from tests.live import fire, fresh_postgres, live_server, live_settings

SRC = Path(__file__).resolve().parents[1] / "src" / "ansinh"


# --- scope ---------------------------------------------------------------------------------------------------

def test_every_route_declares_its_scope(app):
    routes = all_routes(app)
    assert len(routes) > 100
    missing = [f"{sorted(r.methods)} {r.path}" for r in routes if not declared_scopes(r)]
    assert missing == [], f"routes without a declared scope (require(..., scope=...) or Public): {missing}"


def test_the_scope_of_each_operation_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert paths["/api/v1/people/{person_id}"]["get"]["x-ansinh-scope"] == ["org_subtree"]
    assert paths["/api/v1/cards/lookup"]["get"]["x-ansinh-scope"] == ["desk_lookup"]
    assert paths["/api/v1/auth/token"]["post"]["x-ansinh-scope"] == ["public"]
    undeclared = [(path, method) for path, item in paths.items() for method, op in item.items()
                  if not op.get("x-ansinh-scope")]
    assert undeclared == []


# --- bounded input -------------------------------------------------------------------------------------------

@pytest.fixture
def officer(client, org, make_user):
    make_user("hn.canbo", org.hanoi, Role.provincial_officer)
    return api_token(client, "hn.canbo")


@pytest.fixture
def admin(client, org, make_user):
    make_user("quantri", org.national, Role.administrator)
    return api_token(client, "quantri")


@pytest.mark.parametrize("url, field", [
    ("/api/v1/people?q=a%00b", "q"),
    ("/api/v1/people?q=a%01b", "q"),
    ("/api/v1/people%00", "path"),
    ("/api/v1/people?q=%ff", "query"),  # not UTF-8
])
def test_control_characters_in_the_address_are_refused_naming_the_field(client, officer, url, field):
    response = client.get(url, headers=officer)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


@given(st.binary(max_size=40) | st.text(max_size=30).map(lambda text: text.encode()))
def test_a_query_passed_unparsed_decodes_to_text_without_control_characters(query):
    """The control character check skips parsing a query of printable ASCII without escapes: such a query never
    decodes to a control character or to bytes that are not UTF-8 (which the parsed check refuses)."""
    from urllib.parse import parse_qsl

    from ansinh.bounds import has_control_characters
    from ansinh.middleware import _PLAIN_QUERY

    if _PLAIN_QUERY.fullmatch(query):
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
        assert not any(has_control_characters(name) or has_control_characters(value) for name, value in pairs)


def test_control_characters_in_a_json_body_are_refused_and_nothing_is_written(client, admin, session):
    before = session.scalar(select(func.count()).select_from(User))
    response = client.post("/api/v1/users", headers=admin, json={
        "username": "ok.name", "password": "a long and uncommon passphrase", "full_name": "Nguyễn\x00Văn An",
        "org_unit_code": "BHXH-01", "roles": ["provincial_officer"]})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "full_name"
    assert session.scalar(select(func.count()).select_from(User)) == before


def test_line_breaks_and_tabs_in_free_text_are_text_not_control_characters(client, admin):
    response = client.post("/api/v1/users", headers=admin, json={
        "username": "tab.name", "password": "a long and uncommon passphrase", "full_name": "Nguyễn\tVăn\nAn",
        "org_unit_code": "BHXH-01", "roles": ["provincial_officer"]})
    assert response.status_code != 422 or response.json()["error"].get("field") != "full_name"


def test_control_characters_in_a_form_are_refused(client):
    client.get("/login")
    response = client.post("/login", data={"username": "a\x00b", "password": "x", "csrf_token": "y"})
    assert response.status_code == 422


@pytest.mark.parametrize("url", ["/api/v1/people/9223372036854775808", "/api/v1/people/0",
                                 "/api/v1/payments/99999999999999999999999/reverse",
                                 "/api/v1/billing/runs/-1", "/registry/people/9223372036854775808"])
def test_ids_outside_the_database_range_are_422_not_500(client, officer, url):
    method = client.post if url.endswith("reverse") else client.get
    kwargs = {"json": {"reason": "x"}} if url.endswith("reverse") else {}
    response = method(url, headers=officer, **kwargs)
    assert response.status_code == 422, response.text


def test_dates_far_outside_the_range_of_an_office_are_refused(client, officer):
    response = client.get("/api/v1/arrears/report", params={"on": "0001-01-01"}, headers=officer)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"].endswith("on")


# --- caching ---------------------------------------------------------------------------------------------------

def test_answers_carrying_personal_data_are_not_stored_by_any_cache(client, officer):
    assert client.get("/api/v1/me", headers=officer).headers["cache-control"] == "no-store"
    assert client.get("/api/v1/people", headers=officer).headers["cache-control"] == "no-store"
    assert client.get("/api/v1/people/1", headers=officer).headers["cache-control"] == "no-store"  # even a 404
    assert client.get("/login").headers["cache-control"] == "no-store"
    static = client.get("/static/favicon.svg")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


# --- refusals are audited ----------------------------------------------------------------------------------------

def _refusals(db) -> list[AuditEvent]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "refused").order_by(AuditEvent.id)))


def test_refused_accesses_are_recorded_with_who_what_and_why(db, client, org, make_user):
    make_user("sl.canbo", org.sonla, Role.provincial_officer)
    make_user("dn", org.hanoi, Role.employer, subject_ref="0100109106")
    sonla = api_token(client, "sl.canbo")
    assert client.get(f"/api/v1/org-units/{org.hanoi.id}", headers=sonla).status_code == 403
    assert client.get("/api/v1/people").status_code == 401
    employer = api_token(client, "dn")
    assert client.get("/api/v1/audit", headers=employer).status_code == 403
    events = _refusals(db)
    assert [(e.actor_username, e.entity_id, e.changes["status"]) for e in events] == [
        ("sl.canbo", "GET /api/v1/org-units/{org_unit_id}", 403),
        ("anonymous", "GET /api/v1/people", 401),
        ("dn", "GET /api/v1/audit", 403),
    ]
    assert events[0].changes["path"] == f"/api/v1/org-units/{org.hanoi.id}"
    assert "another org unit" in events[0].changes["reason"]
    assert events[2].changes["permission"] == "audit.read"
    assert events[1].ip is not None and events[0].channel == "api"


def test_a_flood_of_refusals_is_capped_per_actor_and_counted():
    now = [0.0]
    limiter = RefusalLimiter(per_key=3, total=5, window=60, clock=lambda: now[0])
    assert [limiter.admit("ip:1")[0] for _ in range(5)] == [True, True, True, False, False]
    assert [limiter.admit("ip:2")[0] for _ in range(3)] == [True, True, False]  # the total cap of 5 is reached
    now[0] = 61.0
    assert limiter.admit("ip:1") == (True, 2)  # the next one recorded says how many were left out
    assert limiter.admit("ip:2") == (True, 1)


# --- database contention ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("error, expected", [
    (sa_exc.OperationalError("s", {}, Exception("canceling statement due to lock timeout")), None),
    (sa_exc.OperationalError("s", {}, Exception("database is locked")), ServiceBusy),
    (sa_exc.IntegrityError("s", {}, Exception("duplicate key value")), Conflict),
    (sa_exc.DataError("s", {}, Exception("value out of range")), ValidationFailed),
    (ValueError("a bug"), None),
])
def test_database_errors_become_clean_answers_and_bugs_stay_bugs(error, expected):
    answer = database_error(error)
    assert (type(answer) if answer is not None else None) is expected


def test_lock_and_statement_timeouts_of_postgresql_are_retryable():
    class PgError(Exception):
        def __init__(self, sqlstate):
            super().__init__("timeout")
            self.sqlstate = sqlstate

    for sqlstate in ("55P03", "57014", "40P01", "40001"):
        assert isinstance(database_error(sa_exc.OperationalError("s", {}, PgError(sqlstate))), ServiceBusy)


# --- passwords --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["aaaaaaaaaa", "aaaaaaaaaaaa", "password1234", "qwertyuiop12", "short pass",
                                      "nguyenvanan1990", "hanoi.canbo2026"])
def test_short_common_or_guessable_passwords_are_refused(password):
    with pytest.raises(ValidationFailed) as refused:
        auth_service.check_password_strength(password, user_inputs=["hanoi.canbo", "Nguyễn Văn An"])
    assert refused.value.field == "password"


@pytest.mark.parametrize("password", [PASSWORD, "Tr4n-Th1-M4i#ban", "bảo hiểm xã hội cho mọi người"])
def test_long_unusual_passphrases_are_accepted(password):
    auth_service.check_password_strength(password, user_inputs=["hanoi.canbo"])


def test_a_password_made_of_the_users_own_name_is_refused(session, org):
    from ansinh.auth.models import OrgUnit

    with pytest.raises(ValidationFailed, match="too easy"):
        auth_service.create_user(session, username="tranthimai", password="tranthimai1985",
                                 full_name="Trần Thị Mai", org_unit=session.get(OrgUnit, org.hanoi.id),
                                 roles=[Role.provincial_officer])


# --- idempotency ------------------------------------------------------------------------------------------------

NEW_USER = {"username": "moi.canbo", "password": "a long and uncommon passphrase", "full_name": "Cán bộ Mới",
            "org_unit_code": "BHXH-01", "roles": ["provincial_officer"]}


def test_the_same_creating_request_with_the_same_key_has_one_effect(client, admin, session):
    key = {"Idempotency-Key": "3f2b8f8e-1d7c-4a57-9a38-0d8e3f7f6b11"}
    first = client.post("/api/v1/users", json=NEW_USER, headers={**admin, **key})
    again = client.post("/api/v1/users", json=NEW_USER, headers={**admin, **key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert session.scalar(select(func.count()).select_from(User).where(User.username == "moi.canbo")) == 1
    other = client.post("/api/v1/users", json={**NEW_USER, "username": "khac.canbo"}, headers={**admin, **key})
    assert other.status_code == 422 and other.json()["error"]["field"] == "Idempotency-Key"
    without = client.post("/api/v1/users", json=NEW_USER, headers=admin)
    assert without.status_code == 422  # without a key it is a new request: the username is taken


def test_a_malformed_idempotency_key_is_refused(client, admin):
    response = client.post("/api/v1/users", json=NEW_USER, headers={**admin, "Idempotency-Key": "x"})
    assert response.status_code == 422


# --- races on PostgreSQL with real commits -----------------------------------------------------------------------

def _agency(database):
    from ansinh.audit.service import audit_context

    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        national = auth_service.create_org_unit(s, code="VSS", name="VSS", level=OrgLevel.national, place_code="VN")
        hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                             place_code="01", parent=national)
        auth_service.create_user(s, username="hn.canbo", password=PASSWORD, full_name="Cán bộ Hà Nội",
                                 org_unit=hanoi, roles=[Role.provincial_officer])
        auth_service.create_user(s, username="quantri", password=PASSWORD, full_name="Quản trị",
                                 org_unit=national, roles=[Role.administrator])


@pytest.mark.postgres
def test_parallel_guesses_get_no_more_tries_than_sequential_ones(tmp_path):
    with fresh_postgres() as database:
        _agency(database)
        with live_server(database, live_settings(tmp_path, login_max_failures=5)) as base, httpx.Client() as http:
            answers = fire(40, lambda i: http.post(f"{base}/api/v1/auth/token", timeout=60,
                                                   json={"username": "hn.canbo", "password": f"guess number {i}"}))
            codes = sorted(a.status_code for a in answers)
            assert codes.count(401) == 5 and codes.count(429) == 35, codes
            # the right password waits too, and so do the next guesses
            assert http.post(f"{base}/api/v1/auth/token", json={"username": "hn.canbo", "password": PASSWORD}
                             ).status_code == 429
        with database.unit_of_work() as s:
            from ansinh.auth.models import LoginAttempt

            assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 5  # only checked attempts recorded


@pytest.mark.postgres
def test_twenty_identical_creating_requests_with_one_key_create_one_record(tmp_path):
    with fresh_postgres() as database:
        _agency(database)
        with live_server(database, live_settings(tmp_path)) as base, httpx.Client() as http:
            token = http.post(f"{base}/api/v1/auth/token", json={"username": "quantri", "password": PASSWORD}
                              ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "race-0001-aaaa-bbbb"}
            answers = fire(20, lambda i: http.post(f"{base}/api/v1/users", json=NEW_USER, headers=headers,
                                                   timeout=60))
            assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers if a.status_code != 201]
            assert len({a.json()["id"] for a in answers}) == 1
        with database.unit_of_work() as s:
            assert s.scalar(select(func.count()).select_from(User).where(User.username == "moi.canbo")) == 1


# --- the clock ----------------------------------------------------------------------------------------------------

def test_the_application_reads_the_clock_in_one_place():
    """``ansinh.clock`` is the only reader of the wall clock (so that ``ANSINH_CLOCK_OFFSET_DAYS`` moves the whole
    application, and tests can pass dates in)."""
    pattern = re.compile(r"\b(date\.today\(\)|datetime\.now\(|datetime\.utcnow\()")  # file ages use time.time()
    offenders = [f"{path.relative_to(SRC)}:{number}" for path in SRC.rglob("*.py") if path.name != "clock.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_pages_signed_in_through_the_form_get_no_store_too(client, org, make_user):
    make_user("hn.web", org.hanoi, Role.provincial_officer)
    web_login(client, "hn.web")
    assert client.get("/").headers["cache-control"] == "no-store"


@pytest.mark.postgres
def test_a_request_that_waits_too_long_for_a_lock_fails_cleanly_while_the_server_keeps_answering(tmp_path):
    """A row held by another transaction (a long import, a stuck process): the request waiting for it gives up after
    the lock timeout with 503 and Retry-After, changing nothing, and /health answers quickly all the while."""
    import threading
    import time

    from sqlalchemy import text as sql

    with fresh_postgres(lock_timeout_ms=500) as database:
        _agency(database)
        with live_server(database, live_settings(tmp_path)) as base, httpx.Client() as http:
            holder = database.engine.connect()
            holder.execute(sql("SELECT id FROM app_user WHERE username = 'hn.canbo' FOR UPDATE"))
            health: list[float] = []
            done = threading.Event()

            def poll() -> None:
                while not done.is_set():
                    started = time.monotonic()
                    assert http.get(f"{base}/health", timeout=5).status_code == 200
                    health.append(time.monotonic() - started)
                    time.sleep(0.05)

            poller = threading.Thread(target=poll)
            poller.start()
            try:
                answer = http.post(f"{base}/api/v1/auth/token", timeout=30,
                                   json={"username": "hn.canbo", "password": PASSWORD})
            finally:
                done.set()
                poller.join()
                holder.rollback()
                holder.close()
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "busy" and answer.headers["retry-after"] == "2"
            assert health and max(health) < 1.0
            # the lock released, the same request succeeds
            assert http.post(f"{base}/api/v1/auth/token", json={"username": "hn.canbo", "password": PASSWORD}
                             ).status_code == 201
        with database.unit_of_work() as s:
            from ansinh.auth.models import ApiToken

            assert s.scalar(select(func.count()).select_from(ApiToken)) == 1  # the refused one wrote nothing
