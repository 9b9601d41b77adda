"""Monthly partitions of the tables that grow without end (PostgreSQL only; SQLite keeps ordinary tables).

Migration 0030 turns each table of :data:`PARTITIONED` into a table partitioned by range of one month column, with
one partition a month (``<table>_pYYYYMM``) and a ``<table>_default`` partition that takes a row of a month that
has none yet. :func:`ensure_partitions` is the monthly job: it creates the partitions of the months ahead (and of
any month whose rows landed in the default partition, which it then moves into them), so that the default partition
stays empty and a month's query reads one partition. It is idempotent: run it again and nothing changes.

Months of a moment (``timestamptz``: the lookup log, the audit log) are Vietnam's months (UTC+7, the agency's day),
so that a month's report, which counts from midnight in Vietnam, reads exactly one partition.

The primary key and every unique key of a partitioned table include its partition key (PostgreSQL's rule): the
primary key is ``(id, <month column>)`` (``id`` stays unique: it comes from the table's sequence); a benefit
payment's idempotency key is unique with its ``pay_month``, which the key fixes; a claim line's (claim, table, row)
with its ``claim_month``, which all the lines of a claim share. No foreign key references these tables.

The claims' lines (``claim_line``) are partitioned by their claim's settlement month (migration 0031), each
partition with the table's fillfactor (:data:`STORAGE`: a partitioned table has no storage of its own); the claims
(``claim``) are not, for the reasons migration 0030 gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

#: Each partitioned table and the column its month is taken from.
PARTITIONED: dict[str, str] = {
    "bill_line": "for_period",  # the month a line is for (an adjustment line: the earlier month it corrects)
    "ledger_entry": "posted_on",
    "card_lookup": "looked_up_at",
    "audit_event": "occurred_at",
    "benefit_payment": "pay_month",  # the month a payment belongs to, fixed by its idempotency key
    "claim_line": "claim_month",  # its claim's settlement month (THANG_QT/NAM_QT)
}
#: The columns that are moments (``timestamptz``), partitioned by Vietnam's months.
MOMENTS = frozenset({"looked_up_at", "occurred_at"})
#: Vietnam's offset from UTC (no daylight saving), for the bounds of the months of a moment.
VIETNAM_OFFSET = "+07"
DEFAULT_SUFFIX = "_default"
#: A table whose rows may never be changed or deleted: its append-only trigger is on every partition too (a statement
#: trigger of a partitioned table does not fire for a statement that names a partition).
APPEND_ONLY = {"audit_event": "audit_event_append_only"}
#: The storage parameters of each partition of a table (migration 0020's room for the appraisal's updates).
STORAGE = {"claim_line": "fillfactor = 90"}

_MONTH_NAME = re.compile(r"^(?P<table>[a-z_]+)_p(?P<ym>\d{6})$")


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month.year:04d}{month.month:02d}"


def is_partition_name(name: str) -> bool:
    """Whether a table name is one of a partitioned table's partitions (the schema comparison leaves them out: the
    models describe the partitioned tables only)."""
    if name.endswith(DEFAULT_SUFFIX):
        return name[: -len(DEFAULT_SUFFIX)] in PARTITIONED
    match = _MONTH_NAME.match(name)
    return bool(match) and match["table"] in PARTITIONED


def bound(column: str, month: date) -> str:
    """The SQL literal of a month's lower bound for the column (a date, or midnight of its first day in Vietnam)."""
    if column in MOMENTS:
        return f"'{month.isoformat()} 00:00:00{VIETNAM_OFFSET}'"
    return f"'{month.isoformat()}'"


def month_of(column: str) -> str:
    """SQL: the first day of the month (a date) of the column's value."""
    if column in MOMENTS:
        return f"date_trunc('month', ({column} AT TIME ZONE 'UTC') + interval '7 hours')::date"
    return f"date_trunc('month', {column})::date"


def create_partition_sql(table: str, column: str, month: date | None) -> list[str]:
    """The statements creating one partition of ``table`` (the month's, or the default one when ``month`` is
    None), with the table's storage parameters and append-only trigger when it has them."""
    storage = f" WITH ({STORAGE[table]})" if table in STORAGE else ""
    if month is None:
        name = table + DEFAULT_SUFFIX
        statements = [f'CREATE TABLE "{name}" PARTITION OF "{table}" DEFAULT{storage}']
    else:
        name = partition_name(table, month)
        statements = [f'CREATE TABLE "{name}" PARTITION OF "{table}" FOR VALUES FROM ({bound(column, month)}) '
                      f'TO ({bound(column, add_months(month, 1))}){storage}']
    if table in APPEND_ONLY:
        function = APPEND_ONLY[table]
        statements.append(f'CREATE TRIGGER {function} BEFORE UPDATE OR DELETE OR TRUNCATE ON "{name}" '
                          f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    return statements


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    month: date | None  # None: the default partition
    rows: int  # exact for the default partition, the planner's estimate for a month's
    bytes: int


@dataclass
class EnsureResult:
    supported: bool  # False on SQLite: nothing to do
    created: list[str]
    moved: dict[str, int]  # rows moved out of each table's default partition

    @property
    def changed(self) -> bool:
        return bool(self.created or self.moved)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def is_partitioned(session: Session, table: str) -> bool:
    return bool(session.execute(text(
        "SELECT 1 FROM pg_partitioned_table p WHERE p.partrelid = to_regclass(:t)"), {"t": table}).first())


def list_partitions(session: Session) -> list[Partition]:
    """The partitions of every partitioned table, by table and month (the default one last). Empty on SQLite."""
    if not _postgres(session):
        return []
    return [partition for table in PARTITIONED for partition in _partitions(session, table)]


def _partitions(session: Session, table: str) -> list[Partition]:
    if not is_partitioned(session, table):
        return []
    rows = session.execute(text(
        "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:t) ORDER BY c.relname"),
        {"t": table}).all()
    months, default = [], []
    for name, estimate, size in rows:
        if name == table + DEFAULT_SUFFIX:
            exact = session.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            default.append(Partition(table, name, None, int(exact), int(size)))
            continue
        match = _MONTH_NAME.match(name)
        month = date(int(match["ym"][:4]), int(match["ym"][4:]), 1) if match else None
        months.append(Partition(table, name, month, max(int(estimate), 0), int(size)))
    return months + default


def ensure_partitions(session: Session, *, through: date, since: date | None = None,
                      tables: list[str] | None = None) -> EnsureResult:
    """Create the monthly partitions missing up to the month of ``through`` (from the month after the latest one up to
    then, or the month of ``through`` when there is none; from the month of ``since`` when given, to load past
    months), and those of the months whose rows landed in the default partition, whose rows are then moved into them.
    Idempotent; in the caller's transaction. On SQLite (no partitions) nothing is done and ``supported`` is False.

    A table with work to do is locked (exclusively) until the caller commits; creating a partition locks it anyway.
    Rows are moved out of the default partition this way: the default partition is detached, a new empty one
    attached, the months' partitions created and the rows inserted again through the table (so they land in their
    month), then the detached one is dropped. No row is updated or deleted: the audit log's append-only trigger is
    respected."""
    if not _postgres(session):
        return EnsureResult(False, [], {})
    last_wanted = through.replace(day=1)
    created: list[str] = []
    moved: dict[str, int] = {}
    for table in tables or list(PARTITIONED):
        column = PARTITIONED[table]
        if not is_partitioned(session, table):
            continue
        existing = {p.month for p in _partitions(session, table) if p.month is not None}
        # from the month after the latest one up to ``through`` (a partition made later for a stray row of a far
        # month does not stop the months before it from being made)
        before = [month for month in existing if month <= last_wanted]
        start = add_months(max(before), 1) if before else last_wanted
        if since is not None:
            start = min(start, since.replace(day=1))
        wanted = set()
        month = start
        while month <= last_wanted:
            wanted.add(month)
            month = add_months(month, 1)
        default = table + DEFAULT_SUFFIX
        stray_sql = text(f'SELECT DISTINCT {month_of(column)} FROM "{default}"')
        if not (wanted - existing) and not session.execute(stray_sql).first():
            continue
        # creating a partition locks the table anyway; locked first, no row can land in the default partition
        # between reading its months and making them
        session.execute(text(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE'))
        stray = set(session.execute(stray_sql).scalars())
        missing = sorted((wanted | stray) - existing)
        if stray:
            old = f"{table}_default_moving"
            session.execute(text(f'ALTER TABLE "{table}" DETACH PARTITION "{default}"'))
            session.execute(text(f'ALTER TABLE "{default}" RENAME TO "{old}"'))
            for statement in create_partition_sql(table, column, None):
                session.execute(text(statement))
        for month in missing:
            for statement in create_partition_sql(table, column, month):
                session.execute(text(statement))
            created.append(partition_name(table, month))
        if stray:
            count = session.execute(text(f'INSERT INTO "{table}" SELECT * FROM "{old}"')).rowcount
            session.execute(text(f'DROP TABLE "{old}"'))
            moved[table] = count
    return EnsureResult(True, created, moved)

