"""The card lookup's fast path (issue 17): the row read on the desk's own connection (``cards.desk_reader``) and the
route answering a remembered caller without FastAPI's dependency resolution (``cards.api.DeskLookupRoute``): the
same answers, the same refusals, the same log and audit as the declared route."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

import ansinh.cards.api as cards_api
from ansinh.api import create_app
from ansinh.audit.models import AuditEvent
from ansinh.auth.models import Role
from ansinh.cards import service
from ansinh.cards.desk_reader import DeskReader
from ansinh.cards.models import CardLookup
from tests.cards.conftest import CHILD_ID, UNKNOWN_ID, WORKER_ID
from tests.conftest import api_token

LOOKUP = "/api/v1/cards/lookup"


def test_the_desk_reader_reads_the_row_the_session_reads(db, world):
    with db.unit_of_work() as s:
        connection = s.connection()
        # the reader on the test's own connection (its data is not committed), as the server's on one of its own
        reader = DeskReader(db.engine, service._FIND, connect=lambda: connection.connection.dbapi_connection)
        for column, key in (("citizen_id", WORKER_ID), ("citizen_id", CHILD_ID), ("citizen_id", UNKNOWN_ID),
                            ("si_number", world["child_si"])):
            through_session = connection.execute(service._FIND[column], {"key": key}).first()
            read = reader.first(column, {"key": key})
            assert read == (tuple(through_session) if through_session is not None else None)
        found = reader.first("citizen_id", {"key": CHILD_ID})
        assert found[0] == world["child"] and found[2] == date(2023, 8, 1)  # a date, also on SQLite
        reader.close()  # the test's connection is not the reader's to close
        assert connection.execute(service._FIND["citizen_id"], {"key": CHILD_ID}).first() is not None


@pytest.fixture
def facility(client, org, make_user, world):
    make_user("benhvien", org.hanoi, Role.facility, subject_ref="01001")
    return api_token(client, "benhvien")


def _spy_fast_path(monkeypatch) -> list:
    """The queries the fast path read (None: it left the request to the declared route)."""
    seen: list = []
    real = cards_api._desk_query

    def spy(request):
        seen.append(real(request))
        return seen[-1]

    monkeypatch.setattr(cards_api, "_desk_query", spy)
    return seen


def test_a_remembered_caller_is_answered_by_the_fast_path_as_by_the_declared_route(client, db, facility, world,
                                                                                   monkeypatch):
    seen = _spy_fast_path(monkeypatch)
    query = {"citizen_id": CHILD_ID, "date_of_birth": "2023-08-01", "on": "2026-11-22"}
    monkeypatch.setattr(cards_api, "remembered_principal", lambda request: None)  # as a caller not seen lately
    declared = client.get(LOOKUP, params=query, headers=facility)
    monkeypatch.undo()
    seen = _spy_fast_path(monkeypatch)
    fast = client.get(LOOKUP, params=query, headers=facility)
    assert seen and seen[-1] is not None  # answered by the fast path
    assert declared.status_code == fast.status_code == 200
    assert declared.json() == fast.json() and fast.json()["covered"] and fast.json()["person_id"] == world["child"]
    assert fast.headers["cache-control"] == "no-store" and fast.headers["x-request-id"]
    with db.unit_of_work() as s:  # each lookup logged, each read of the person audited, by the facility user
        assert s.scalar(select(func.count()).select_from(CardLookup).where(CardLookup.person_id == world["child"])) == 2
        actors = s.scalars(select(AuditEvent.actor_username).where(
            AuditEvent.action == "read", AuditEvent.entity_id == str(world["child"]))).all()
        assert actors == ["benhvien", "benhvien"]


@pytest.mark.parametrize("query, status, field", [
    ({"citizen_id": CHILD_ID, "date_of_birth": "2023-13-01"}, 422, "date_of_birth"),  # not a date
    ({"citizen_id": CHILD_ID, "full_name": "A" * 101}, 422, "full_name"),  # too long
    ({"citizen_id": CHILD_ID, "on": "1890-01-01", "date_of_birth": "2023-08-01"}, 422, "on"),  # out of bounds
    ({"citizen_id": "12ab", "date_of_birth": "2023-08-01"}, 400, "citizen_id"),  # the service refuses it
    ({"citizen_id": CHILD_ID}, 400, "full_name"),  # the key alone
])
def test_what_is_not_plainly_valid_gets_the_declared_answer(client, facility, world, monkeypatch, query, status,
                                                             field):
    client.get(LOOKUP, params={"citizen_id": CHILD_ID, "date_of_birth": "2023-08-01"}, headers=facility)  # remembered
    seen = _spy_fast_path(monkeypatch)
    answer = client.get(LOOKUP, params=query, headers=facility)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert field in (error.get("field") or "") or any(d["field"].endswith(field) for d in error.get("details", []))
    assert seen  # the remembered caller went through the fast path's checks first


def test_the_fast_path_refuses_as_the_declared_route(client, org, make_user, world):
    make_user("dan", org.hanoi, Role.citizen, subject_ref="001090012345")
    citizen = api_token(client, "dan")
    query = {"citizen_id": CHILD_ID, "date_of_birth": "2023-08-01"}
    assert client.get(LOOKUP, params=query, headers=citizen).status_code == 403  # resolved, remembered, refused
    again = client.get(LOOKUP, params=query, headers=citizen)
    assert again.status_code == 403 and again.json()["error"]["code"] == "forbidden"
    assert client.get(LOOKUP, params=query, headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_the_web_server_reads_on_its_own_connection_and_logs_in_batches(db, settings, facility, world):
    """As ``ansinh serve`` runs: the batch writer and the desk's reader installed at start, the lookup on the event
    loop; the log written when the server stops."""
    server = create_app(settings.model_copy(update={"lookup_log_flush_ms": 60_000}), database=db)
    from fastapi.testclient import TestClient

    with db.unit_of_work() as s:
        dbapi = s.connection().connection.dbapi_connection
    real = service.desk_reader_for
    # the server's reader, on the test's connection (its data is not committed: another connection would not see it)
    service_reader = lambda engine: DeskReader(engine, service._FIND, connect=lambda: dbapi)  # noqa: E731
    import ansinh.api as api_module

    api_module.desk_reader_for, before = service_reader, None
    try:
        with db.unit_of_work() as s:
            before = s.scalar(select(func.count()).select_from(CardLookup))
        with TestClient(server, base_url="http://testserver") as desk:
            assert service.reads_apart() and service.log_is_batched()
            for _ in range(2):  # the first resolves the token, the second is the fast path's
                answer = desk.get(LOOKUP, params={"citizen_id": WORKER_ID, "date_of_birth": "1990-05-01"},
                                  headers=facility)
                assert answer.status_code == 200 and answer.json()["person_id"] == world["worker"], answer.text
            with db.unit_of_work() as s:
                assert s.scalar(select(func.count()).select_from(CardLookup)) == before  # not yet: batched
        assert not service.reads_apart() and not service.log_is_batched()
        with db.unit_of_work() as s:
            assert s.scalar(select(func.count()).select_from(CardLookup)) == before + 2
    finally:
        api_module.desk_reader_for = real


def test_lookups_run_on_the_event_loop_on_sqlite_and_on_a_lane_of_threads_on_postgresql(app, db):
    from types import SimpleNamespace

    request = SimpleNamespace(app=app)
    assert cards_api.desk_threads(request) == (2 if db.engine.dialect.name == "postgresql" else 0)
    app.state.settings = app.state.settings.model_copy(update={"lookup_threads": 1})  # ANSINH_LOOKUP_THREADS=1
    assert cards_api.desk_threads(request) == 1


def test_lookups_after_the_first_are_answered_past_the_router_with_the_same_answers_headers_and_errors(
        client, db, facility, world, monkeypatch):
    """``cards.api.DeskLookupMiddleware``: once the router has answered a lookup, the next ones go from the innermost
    middleware to the desk. The route's wrapper (FastAPI's exit stacks) is not in their request; what they answer,
    the headers, the error answers, the metrics' route and the log are those of the route."""
    from ansinh.ops import metrics

    through: list[bool] = []
    real = cards_api._fast_answer

    async def spy(request):
        through.append("fastapi_inner_astack" in request.scope)  # set by the route's wrapper, not by the middleware
        return await real(request)

    monkeypatch.setattr(cards_api, "_fast_answer", spy)
    query = {"citizen_id": CHILD_ID, "date_of_birth": "2023-08-01", "on": "2026-11-22"}
    first = client.get(LOOKUP, params=query, headers=facility)
    label = ("GET", "/api/v1/cards/lookup", "200")
    counted = metrics.REQUESTS.labels(*label)._value.get()
    second = client.get(LOOKUP, params=query, headers=facility)
    assert through[-1] is False  # past the router
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert second.json()["person_id"] == world["child"] and second.headers["cache-control"] == "no-store"
    assert second.headers["content-security-policy"] == first.headers["content-security-policy"]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert metrics.REQUESTS.labels(*label)._value.get() == counted + 1  # named by the route's template
    refused = client.get(LOOKUP, params={"citizen_id": "12ab", "date_of_birth": "2023-08-01"}, headers=facility)
    assert through[-1] is False and refused.status_code == 400  # the service's refusal, by the same handler
    assert refused.json()["error"]["field"] == "citizen_id" and refused.json()["error"]["request_id"]
    monkeypatch.setattr(cards_api, "remembered_principal", lambda request: None)  # the declared route's answer
    declared = client.get(LOOKUP, params={"citizen_id": "12ab", "date_of_birth": "2023-08-01"}, headers=facility)
    assert declared.status_code == 400
    assert {k: v for k, v in declared.json()["error"].items() if k != "request_id"} == {
        k: v for k, v in refused.json()["error"].items() if k != "request_id"}
    with db.unit_of_work() as s:  # both lookups of the child logged and audited
        assert s.scalar(select(func.count()).select_from(CardLookup).where(CardLookup.person_id == world["child"])) == 2


@pytest.mark.postgres
def test_on_postgresql_the_server_reads_the_row_on_the_event_loops_own_connection(tmp_path):
    """``ansinh serve`` on PostgreSQL (``ANSINH_LOOKUP_THREADS`` unset): the lookup's row is read on an asynchronous
    connection of the event loop (``DeskReader.first_async``) and the rest of the lookup runs on the loop; the
    answer, the log and the audit are the lane's. A card not valid on the day asked goes to the lane (it reads the
    card of that day)."""
    from fastapi.testclient import TestClient

    from ansinh.audit.service import audit_context
    from ansinh.auth import service as auth_service
    from ansinh.auth.models import OrgUnit
    from ansinh.config import Settings
    from ansinh.participation import service as participation
    from tests.cards.conftest import ON
    from tests.live import fresh_postgres, hanoi_facility

    with fresh_postgres() as database:
        hanoi_id, _ = hanoi_facility(database, name="Bệnh viện Bạch Mai", level="central",
                                     contract_from=date(2020, 1, 1))
        with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
            hanoi = s.get(OrgUnit, hanoi_id)
            child = registry_person(s, hanoi)
            participation.enrol_state_budget(s, group="TE", people=[child], start=date(2023, 8, 1),
                                             end=date(2029, 8, 1), org_unit=hanoi)
            service.issue_cards(s, on=date.fromisoformat(ON))
            user = auth_service.create_user(s, username="benhvien", password="bench-password-1",
                                            full_name="Bàn đón", org_unit=hanoi, roles=[Role.facility],
                                            subject_ref="01001")
            token, _ = auth_service.issue_api_token(s, user, lifetime=timedelta(hours=1), name="test")
            child_id = child.id
        settings = Settings(env="test", var_dir=tmp_path / "var", secret_key="t" * 48, database_url="sqlite://",
                            lookup_log_flush_ms=50, lookup_rate_per_minute=10_000)
        server = create_app(settings, database=database)
        reads: list[str] = []
        real = DeskReader.first_async

        async def spy(self, name, values):
            reads.append(name)
            return await real(self, name, values)

        headers = {"Authorization": f"Bearer {token}"}
        query = {"citizen_id": CHILD_ID, "date_of_birth": "2023-08-01", "on": ON}
        with pytest.MonkeyPatch.context() as patch, TestClient(server, base_url="http://testserver") as desk:
            patch.setattr(DeskReader, "first_async", spy)
            answers = [desk.get(LOOKUP, params=query, headers=headers) for _ in range(3)]
            assert all(a.status_code == 200 for a in answers), answers[-1].text
            assert reads, "no lookup read on the event loop's connection"
            assert answers[-1].json() == answers[0].json() and answers[-1].json()["person_id"] == child_id
            assert answers[-1].json()["covered"] is True
            before = len(reads)
            earlier = desk.get(LOOKUP, params={**query, "on": "2023-01-02"}, headers=headers)  # before the card
            assert earlier.status_code == 200 and earlier.json()["covered"] is False
            unknown = desk.get(LOOKUP, params={"citizen_id": UNKNOWN_ID, "date_of_birth": "2023-08-01"},
                               headers=headers)
            assert unknown.json()["reason"] == "unknown_person" and len(reads) > before
        with database.unit_of_work() as s:  # written by the batch writer when the server stopped
            logged = s.scalar(select(func.count()).select_from(CardLookup))
            audited = s.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "read", AuditEvent.entity_id == str(child_id)))
        assert logged == 5 and audited == 4


def registry_person(s, unit):
    from ansinh.registry import service as registry
    from ansinh.registry.models import Sex

    return registry.create_person(s, registry.PersonData(
        full_name="Nguyễn Minh Châu", date_of_birth=date(2023, 8, 1), sex=Sex.female, citizen_id=CHILD_ID), unit)
