"""The claims' lines by month: ``claim_line.claim_month`` (both databases), and on PostgreSQL ``claim_line``
partitioned by it (declarative range partitioning, as migration 0030 did for the other tables that grow without end).

``claim_month`` is the first day of the line's claim's settlement month (NAM_QT, THANG_QT): the month by which the
agency appraises and settles a facility's claims (the appraisal of a month reads and writes the lines of that
month's claims; the settlement closes it). Every line of a claim has it, it is known when the file is received (the
intake refuses an episode without it), and it never changes: a claim is not edited, a correction is a new version
of the episode with lines of its own. Rows present get their claim's month.

PostgreSQL: the table is rebuilt as 0030 rebuilt its tables (a new table ``PARTITION BY RANGE (claim_month)``, a
partition for every month of the claims present and the next :data:`MONTHS_AHEAD` months, a ``DEFAULT``
partition, the rows copied, the id sequence moved, the old table dropped and the new one renamed, the primary key
``(id, claim_month)``, the foreign key to ``claim`` and the indexes recreated), but the month is computed while the
rows are copied (one pass: the column is added empty, which costs nothing, and filled by the copy's join with
``claim`` instead of an UPDATE of every row). A partitioned table has no storage parameters: each partition gets
the table's fillfactor 90 (migration 0020; :data:`ansinh.ops.partitions.STORAGE` for the partitions made later by
``ansinh partitions ensure``). On a database of billions of lines, run it in a maintenance window.

The unique key of a line, (claim, source table, row), becomes (claim, source table, row, claim_month) on both
databases (PostgreSQL wants the partition key in every unique key of a partitioned table): the same guarantee, as
all the lines of a claim have its month - two lines with the same claim, table and row have the same month, so
they collide as before.

``claim`` stays unpartitioned, for the reasons 0030 gives (the foreign keys of ``claim_line``,
``claim_attachment`` and ``appraisal_finding`` to it, and the unique index of one current version per episode,
which could not include a month without losing its guarantee). ``claim_line`` keeps its foreign key to
``claim``: a partitioned table may reference an ordinary one. Reads of the lines of one claim (a claim's page)
that do not give the month probe the index of each partition; the appraisal and the review give it.

Revision ID: 0031_claim_line_partitions
Revises: 0030_partitions
Create Date: 2026-12-06 11:00:00
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0031_claim_line_partitions"
down_revision = "0030_partitions"
branch_labels = None
depends_on = None

TABLE = "claim_line"
COLUMN = "claim_month"
MONTHS_AHEAD = 3
STORAGE = "fillfactor = 90"  # migration 0020's, on each partition (and on the table again when unpartitioned)
OLD_UNIQUE = ("uq_claim_line_claim_id_source_table_row_no", ["claim_id", "source_table", "row_no"])
NEW_UNIQUE = ("uq_claim_line_claim_id_source_table_row_no_claim_month",
              ["claim_id", "source_table", "row_no", "claim_month"])


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _indexes(bind) -> list[str]:
    """The statements recreating the table's unique and foreign key constraints and its indexes (but its primary
    key)."""
    constraints = bind.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(:t) "
        "AND contype IN ('u', 'f') ORDER BY conname"), {"t": TABLE}).all()
    indexes = bind.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :t "
        "AND indexname <> :pk ORDER BY indexname"), {"t": TABLE, "pk": f"pk_{TABLE}"}).all()
    owned = {name for name, _ in constraints}
    return ([f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]
            + [definition.replace(" ON ONLY ", " ON ") for name, definition in indexes if name not in owned])


def _columns(bind) -> list[str]:
    return list(bind.execute(sa.text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = :t ORDER BY ordinal_position"), {"t": TABLE}).scalars())


def _rebuild(*, partitioned: bool) -> None:
    """PostgreSQL: ``claim_line`` rebuilt, partitioned by ``claim_month`` (filled from the claims by the copy) or
    not (without ``claim_month``). Its unique key on the lines' rows is left to the caller."""
    bind = op.get_bind()
    indexes = _indexes(bind)
    sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": TABLE}).scalar_one()
    kept = [name for name in _columns(bind) if name != COLUMN]
    new = f"{TABLE}__rebuilt"
    like = f'(LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)'
    names = ", ".join(f'"{name}"' for name in kept)
    if partitioned:
        month = "make_date(c.settlement_year, c.settlement_month, 1)"
        present = set(bind.execute(sa.text(f"SELECT DISTINCT {month} FROM claim c")).scalars())
        this_month = datetime.now(UTC).date().replace(day=1)
        ahead = {_add_months(this_month, n) for n in range(MONTHS_AHEAD + 1)}
        op.execute(f'CREATE TABLE "{new}" {like} PARTITION BY RANGE ({COLUMN})')
        op.execute(f'ALTER TABLE "{new}" ALTER COLUMN {COLUMN} SET NOT NULL')
        for first in sorted(present | ahead):
            name = f"{TABLE}_p{first.year:04d}{first.month:02d}"
            op.execute(f'CREATE TABLE "{name}" PARTITION OF "{new}" FOR VALUES FROM (\'{first.isoformat()}\') '
                       f"TO ('{_add_months(first, 1).isoformat()}') WITH ({STORAGE})")
        op.execute(f'CREATE TABLE "{TABLE}_default" PARTITION OF "{new}" DEFAULT WITH ({STORAGE})')
        selected = ", ".join(f'l."{name}"' for name in kept)
        op.execute(f'INSERT INTO "{new}" ({names}, {COLUMN}) SELECT {selected}, {month} '
                   f'FROM "{TABLE}" l JOIN claim c ON c.id = l.claim_id')
    else:
        op.execute(f'CREATE TABLE "{new}" {like} WITH ({STORAGE})')
        op.execute(f'ALTER TABLE "{new}" DROP COLUMN {COLUMN}')
        op.execute(f'INSERT INTO "{new}" ({names}) SELECT {names} FROM "{TABLE}"')
    op.execute(f'ALTER SEQUENCE {sequence} OWNED BY "{new}".id')
    op.execute(f'DROP TABLE "{TABLE}"')
    op.execute(f'ALTER TABLE "{new}" RENAME TO "{TABLE}"')
    key = f"id, {COLUMN}" if partitioned else "id"
    op.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "pk_{TABLE}" PRIMARY KEY ({key})')
    for definition in indexes:
        op.execute(definition)


def _unique(name: str, columns: list[str]) -> str:
    return f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{name}" UNIQUE ({", ".join(columns)})'


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'ALTER TABLE "{TABLE}" ADD COLUMN {COLUMN} date')  # no default: nothing rewritten
        op.execute(f'ALTER TABLE "{TABLE}" DROP CONSTRAINT "{OLD_UNIQUE[0]}"')
        _rebuild(partitioned=True)
        op.execute(_unique(*NEW_UNIQUE))
        return
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column(COLUMN, sa.Date(), nullable=True))
    op.execute(f"UPDATE {TABLE} SET {COLUMN} = (SELECT printf('%04d-%02d-01', c.settlement_year, c.settlement_month) "
               f"FROM claim c WHERE c.id = {TABLE}.claim_id)")
    with op.batch_alter_table(TABLE) as batch:
        batch.alter_column(COLUMN, existing_type=sa.Date(), nullable=False)
        batch.drop_constraint(OLD_UNIQUE[0], type_="unique")
        batch.create_unique_constraint(*NEW_UNIQUE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'ALTER TABLE "{TABLE}" DROP CONSTRAINT "{NEW_UNIQUE[0]}"')
        _rebuild(partitioned=False)
        op.execute(_unique(*OLD_UNIQUE))
        return
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_constraint(NEW_UNIQUE[0], type_="unique")
        batch.create_unique_constraint(*OLD_UNIQUE)
        batch.drop_column(COLUMN)
