"""The monthly partitions of the tables that grow without end: on PostgreSQL each table is partitioned by month
(migrations 0030 and 0031), a month made ahead takes its rows, a row of a month without a partition waits in the default
partition until :func:`ensure_partitions` makes its month and moves it there; on SQLite nothing changes."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text

from ansinh.audit.models import AuditEvent
from ansinh.cards.models import CardLookup
from ansinh.collection.models import BillLine, LedgerEntry
from ansinh.ops.partitions import PARTITIONED, ensure_partitions, is_partition_name, list_partitions


def _postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _where(session, model, row_id) -> str:
    """The partition that holds a row."""
    return session.execute(select(text("tableoid::regclass::text")).select_from(model)
                           .where(model.id == row_id)).scalar_one()


def _entry(session, posted_on: date) -> int:
    entry = LedgerEntry(txn="test-partition", account="bank", amount=1, posted_on=posted_on, source_type="payment")
    session.add(entry)
    session.flush()
    return entry.id


def test_every_table_is_partitioned_by_its_month_on_postgresql(session):
    if not _postgres(session):
        assert list_partitions(session) == []
        return
    keys = dict(session.execute(text(
        "SELECT c.relname, a.attname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
        "WHERE p.partstrat = 'r' AND c.relnamespace = current_schema()::regnamespace")).all())
    assert {table: keys.get(table) for table in PARTITIONED} == PARTITIONED
    for table, column in PARTITIONED.items():
        primary = session.execute(text(
            "SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(:t) "
            "AND i.indisprimary"), {"t": table}).scalar_one()
        assert sorted(primary) == sorted(["id", column])
    names = {p.name for p in list_partitions(session)}
    assert {f"{table}_default" for table in PARTITIONED} <= names
    assert all(is_partition_name(name) for name in names)


def test_a_month_made_ahead_takes_its_rows_and_making_it_again_changes_nothing(session):
    if not _postgres(session):
        result = ensure_partitions(session, through=date(2045, 3, 1))
        assert not result.supported and result.created == [] and not result.changed
        return
    result = ensure_partitions(session, through=date(2045, 3, 1), tables=["ledger_entry", "bill_line"])
    assert result.supported and {"ledger_entry_p204503", "bill_line_p204503", "ledger_entry_p204412"} \
        <= set(result.created) and result.moved == {}
    assert _where(session, LedgerEntry, _entry(session, date(2045, 3, 31))) == "ledger_entry_p204503"
    line = BillLine(bill_id=1, fund="health", side="employer", amount=5, for_period=date(2045, 3, 1))
    session.add(line)
    session.flush()
    assert _where(session, BillLine, line.id) == "bill_line_p204503"
    # the next month has no partition yet: its row waits in the default one
    waiting = _entry(session, date(2045, 4, 1))
    assert _where(session, LedgerEntry, waiting) == "ledger_entry_default"

    again = ensure_partitions(session, through=date(2045, 3, 1), tables=["ledger_entry", "bill_line"])
    assert again.created == ["ledger_entry_p204504"] and again.moved == {"ledger_entry": 1}
    assert _where(session, LedgerEntry, waiting) == "ledger_entry_p204504"
    assert not ensure_partitions(session, through=date(2045, 4, 1), tables=["ledger_entry"]).changed
    assert not ensure_partitions(session, through=date(2045, 3, 1), tables=["bill_line"]).changed  # idempotent


def test_rows_of_a_month_without_partition_are_moved_out_of_the_default_one(session):
    if not _postgres(session):
        return
    entry = _entry(session, date(1999, 6, 30))
    # a moment's month is Vietnam's: 1999-06-30 17:30 UTC is 1 July in Vietnam
    lookup = CardLookup(looked_up_at=datetime(1999, 6, 30, 17, 30, tzinfo=UTC), key_type="citizen_id",
                        on=date(1999, 7, 1), result="covered")
    event = AuditEvent(occurred_at=datetime(1999, 6, 15, 8, 0, tzinfo=UTC), actor_username="test", action="read",
                       entity_type="person", channel="job")
    session.add_all([lookup, event])
    session.flush()
    assert _where(session, LedgerEntry, entry) == "ledger_entry_default"
    assert _where(session, CardLookup, lookup.id) == "card_lookup_default"
    assert _where(session, AuditEvent, event.id) == "audit_event_default"

    result = ensure_partitions(session, through=date(1999, 6, 1))
    assert {"ledger_entry_p199906", "card_lookup_p199907", "audit_event_p199906"} <= set(result.created)
    assert result.moved == {"ledger_entry": 1, "card_lookup": 1, "audit_event": 1}
    assert _where(session, LedgerEntry, entry) == "ledger_entry_p199906"
    assert _where(session, CardLookup, lookup.id) == "card_lookup_p199907"
    assert _where(session, AuditEvent, event.id) == "audit_event_p199906"
    assert session.get(AuditEvent, event.id).actor_username == "test"  # the same row, its id kept
    defaults = {p.table: p.rows for p in list_partitions(session) if p.month is None}
    assert defaults == {table: 0 for table in PARTITIONED}

    assert not ensure_partitions(session, through=date(1999, 6, 1)).changed


def test_the_claims_lines_partitions_have_room_for_the_appraisals_updates(session):
    if not _postgres(session):
        return
    result = ensure_partitions(session, through=date(2045, 3, 1), tables=["claim_line"])
    assert "claim_line_p204503" in result.created
    options = dict(session.execute(text(
        "SELECT c.relname, array_to_string(c.reloptions, ',') FROM pg_inherits i JOIN pg_class c "
        "ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass('claim_line')")).all())
    assert options["claim_line_p204503"] == options["claim_line_default"] == "fillfactor=90"
    assert set(options.values()) == {"fillfactor=90"}  # those of the migration too


def test_the_audit_log_stays_append_only_in_its_partitions(session):
    if not _postgres(session):
        return
    ensure_partitions(session, through=date(1998, 1, 1), tables=["audit_event"])
    session.add(AuditEvent(occurred_at=datetime(1998, 1, 10, tzinfo=UTC), actor_username="test", action="read",
                           entity_type="person", channel="job"))
    session.flush()
    with pytest.raises(Exception, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM audit_event_p199801"))
    with pytest.raises(Exception, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE audit_event_default SET action = 'x'"))


def test_the_commands_make_and_list_the_months(db):
    from typer.testing import CliRunner

    from ansinh.cli import app
    from ansinh.db import set_database

    set_database(db)
    try:
        runner = CliRunner()
        made = runner.invoke(app, ["partitions", "ensure", "--through", "1997-03"])
        assert made.exit_code == 0, made.output
        listed = runner.invoke(app, ["partitions", "list", "--all"])
        assert listed.exit_code == 0, listed.output
        again = runner.invoke(app, ["partitions", "ensure", "--through", "1997-03"])
        if db.engine.dialect.name == "sqlite":
            assert "no partitions" in made.stderr and "no partitions" in listed.stderr and made.stdout == ""
            return
        assert made.stdout.splitlines() == [f"created {table}_p199703" for table in PARTITIONED]
        assert "ledger_entry_p199703" in listed.stdout and "DEFAULT" in listed.stdout
        assert again.stdout == "" and "nothing to do" in again.stderr
        assert runner.invoke(app, ["partitions", "ensure", "--through", "March"]).exit_code == 2
    finally:
        set_database(None)
