"""The batch writer's insert (audit.writer.insert_rows): the rows it stores are those SQLAlchemy's insert stores."""

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from ansinh.audit import writer as batch_writer
from ansinh.audit.models import AuditEvent
from ansinh.audit.writer import insert_rows
from ansinh.cards.models import CardLookup

MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-5))]))
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


def _event(moment: datetime, text: str, number: int | None, changes: dict | None) -> dict:
    return {"occurred_at": moment, "actor_user_id": number, "actor_username": text or "x", "actor_org_unit_id": None,
            "action": "read", "entity_type": "person", "entity_id": str(number), "org_unit_id": number,
            "person_ref": text or None, "changes": changes, "channel": "api", "ip": None, "user_agent": text,
            "request_id": None}


def _lookup(moment: datetime, on: date, number: int | None) -> dict:
    return {"looked_up_at": moment, "user_id": None if number is None else number % 2**31, "facility_code": "01001", "province_2025": "01",
            "key_type": "citizen_id", "on": on, "result": "covered", "reason": None, "person_id": number}


def _stored(session, model, ids) -> list[tuple]:
    """The rows as the database keeps them (the driver's values, not the types' conversions back: SQLite compares
    the text it keeps)."""
    columns = ", ".join(f'"{column.name}"' for column in model.__table__.columns if column.name != "id")
    listed = ", ".join(str(int(i)) for i in sorted(ids)) or "NULL"
    return [tuple(row) for row in session.connection().exec_driver_sql(
        f"SELECT {columns} FROM {model.__tablename__} WHERE id IN ({listed}) ORDER BY id")]


def _ids(session, model) -> set[int]:
    return set(session.scalars(select(model.id)))


def _both_ways(session, model, rows: list[dict]) -> tuple[list[tuple], list[tuple]]:
    """What SQLAlchemy's insert stores, then what insert_rows stores, of the same rows (in a savepoint rolled back
    afterwards: the audit log refuses deletes)."""
    savepoint = session.begin_nested()
    try:
        connection = session.connection()
        before = _ids(session, model)
        connection.execute(insert(model.__table__), rows)
        by_sqlalchemy = _ids(session, model) - before
        insert_rows(connection, model.__table__, rows)
        by_insert_rows = _ids(session, model) - before - by_sqlalchemy
        return _stored(session, model, by_sqlalchemy), _stored(session, model, by_insert_rows)
    finally:
        savepoint.rollback()


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(MOMENTS, TEXT, st.one_of(st.none(), st.integers(0, 2**31 - 1)),
                          st.one_of(st.none(), st.dictionaries(TEXT, TEXT, max_size=3))), min_size=1, max_size=30))
def test_audit_rows_are_stored_as_sqlalchemy_stores_them(session, values):
    rows = [_event(*value) for value in values]
    by_sqlalchemy, by_insert_rows = _both_ways(session, AuditEvent, rows)
    assert by_insert_rows == by_sqlalchemy and len(by_insert_rows) == len(rows)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(MOMENTS, st.dates(date(2000, 1, 1), date(2099, 12, 31)),
                          st.one_of(st.none(), st.integers(0, 2**40))), min_size=1, max_size=30))
def test_lookup_rows_are_stored_as_sqlalchemy_stores_them(session, values):
    rows = [_lookup(*value) for value in values]
    by_sqlalchemy, by_insert_rows = _both_ways(session, CardLookup, rows)
    assert by_insert_rows == by_sqlalchemy and len(by_insert_rows) == len(rows)


def test_a_batch_larger_than_one_statement_is_stored_whole(session, monkeypatch):
    monkeypatch.setattr(batch_writer, "SQLITE_MAX_PARAMETERS", 25)  # two rows of ten columns a statement
    moment = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)
    rows = [_lookup(moment, date(2026, 11, 22), number) for number in range(7)]
    insert_rows(session.connection(), CardLookup.__table__, rows)
    assert sorted(session.scalars(select(CardLookup.person_id))) == list(range(7))


def test_a_column_left_to_its_default_goes_through_sqlalchemy(session):
    row = {key: value for key, value in _lookup(datetime(2026, 1, 1, tzinfo=UTC), date(2026, 1, 1), 3).items()
           if key != "looked_up_at"}  # looked_up_at: SQLAlchemy's default (utcnow)
    insert_rows(session.connection(), CardLookup.__table__, [row])
    stored = session.execute(select(CardLookup.person_id, CardLookup.looked_up_at)).one()
    assert stored.person_id == 3 and stored.looked_up_at is not None
