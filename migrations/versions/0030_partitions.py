"""PostgreSQL: the tables that grow without end partitioned by month (declarative range partitioning). SQLite: nothing
(its tables stay ordinary; the models are the same on both).

Partitioned, each by the month of one column that every insert gives:

- ``bill_line`` by ``for_period`` (the month a line is for: a month's billing writes its lines in the month's
  partition, an adjustment line in the earlier month it corrects);
- ``ledger_entry`` by ``posted_on``;
- ``card_lookup`` by ``looked_up_at`` and ``audit_event`` by ``occurred_at``, Vietnam's months (bounds at midnight
  UTC+7, the agency's day: a month's report reads one partition). The audit log's append-only trigger is put on
  the partitioned table and on every partition (a statement trigger of a partitioned table does not fire for a
  statement naming a partition);
- ``benefit_payment`` by ``pay_month``, a new column (on both databases): the month a payment belongs to, fixed by
  its idempotency key (a month of an entitlement: that month; a one-off benefit: the month its claim was decided; a
  re-issue: the failed payment's). A unique key of a partitioned table must include the partition key:
  ``idem_key`` becomes unique with ``pay_month`` (the payroll's ``ON CONFLICT (idem_key, pay_month)``) and the
  re-issue's ``reissue_of_id`` too - the same guarantees, as ``pay_month`` is a function of the key. The column
  ``month`` keeps its meaning (None for a one-off).

Each table is rebuilt: a new table ``PARTITION BY RANGE``, a partition for every month present and the next
:data:`MONTHS_AHEAD` months, a ``DEFAULT`` partition, the rows copied, the old table dropped (its id sequence moved
to the new one first), the new one renamed, then the primary key ``(id, <month column>)`` (PostgreSQL requires the
partition key in it; ids still come from one sequence) and the table's unique constraints and indexes (read from the
old table) recreated. No foreign key references these tables. Later months' partitions are created ahead by
``ansinh partitions ensure`` (:mod:`ansinh.ops.partitions`), a monthly job. Copying is done in one statement per
table: on a database of billions of rows, run this migration in a maintenance window.

Not partitioned, and why: ``claim`` (and so ``claim_line``). Three foreign keys reference ``claim.id``
(``claim_line``, ``claim_attachment``, ``appraisal_finding``) and would need the claim's month copied into each of
them (composite foreign keys); and the unique index that keeps one current version per episode (facility, MA_LK)
would have to include the month, so two versions of an episode whose arrival or settlement month was corrected
could both be current - the guarantee migration 0017 added against races would be lost. ``claim_line`` has no
month column of its own (it would need its claim's, written by the intake's COPY, with the appraisal's reads and
updates given the month to prune). Left for a migration that adds the settlement month to the lines and keeps the
current-version guard in the intake service.

Revision ID: 0030_partitions
Revises: 0029_jobs
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0030_partitions"
down_revision = "0029_jobs"
branch_labels = None
depends_on = None

#: Each table partitioned and its month column (``ansinh.ops.partitions.PARTITIONED`` as of this migration).
TABLES = {"bill_line": "for_period", "ledger_entry": "posted_on", "card_lookup": "looked_up_at",
          "audit_event": "occurred_at", "benefit_payment": "pay_month"}
MOMENTS = {"looked_up_at", "occurred_at"}  # timestamptz: Vietnam's months
MONTHS_AHEAD = 3
APPEND_ONLY = {"audit_event": "audit_event_append_only"}


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _bound(column: str, month: date) -> str:
    return f"'{month.isoformat()} 00:00:00+07'" if column in MOMENTS else f"'{month.isoformat()}'"


def _month_of(column: str) -> str:
    if column in MOMENTS:
        return f"date_trunc('month', ({column} AT TIME ZONE 'UTC') + interval '7 hours')::date"
    return f"date_trunc('month', {column})::date"


def _append_only(table: str, name: str) -> None:
    if table in APPEND_ONLY:
        function = APPEND_ONLY[table]
        op.execute(f'CREATE TRIGGER {function} BEFORE UPDATE OR DELETE OR TRUNCATE ON "{name}" '
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")


def _indexes(bind, table: str) -> list[str]:
    """The statements recreating the table's unique constraints and indexes (but its primary key)."""
    constraints = bind.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(:t) "
        "AND contype = 'u' ORDER BY conname"), {"t": table}).all()
    indexes = bind.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :t "
        "AND indexname <> :pk ORDER BY indexname"), {"t": table, "pk": f"pk_{table}"}).all()
    owned = {name for name, _ in constraints}
    return ([f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]
            + [definition.replace(" ON ONLY ", " ON ") for name, definition in indexes if name not in owned])


def _sequence(bind, table: str) -> str:
    return bind.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar_one()


def _rebuild(table: str, column: str, partitioned: bool) -> None:
    bind = op.get_bind()
    indexes = _indexes(bind, table)
    sequence = _sequence(bind, table)
    new = f"{table}__rebuilt"
    like = f'(LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)'
    if partitioned:
        present = set(bind.execute(sa.text(f'SELECT DISTINCT {_month_of(column)} FROM "{table}"')).scalars())
        this_month = datetime.now(UTC).date().replace(day=1)
        ahead = {_add_months(this_month, n) for n in range(MONTHS_AHEAD + 1)}
        op.execute(f'CREATE TABLE "{new}" {like} PARTITION BY RANGE ({column})')
        for month in sorted(present | ahead):
            name = f"{table}_p{month.year:04d}{month.month:02d}"
            op.execute(f'CREATE TABLE "{name}" PARTITION OF "{new}" FOR VALUES FROM ({_bound(column, month)}) '
                       f"TO ({_bound(column, _add_months(month, 1))})")
            _append_only(table, name)
        op.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{new}" DEFAULT')
        _append_only(table, f"{table}_default")
    else:
        op.execute(f'CREATE TABLE "{new}" {like}')
    op.execute(f'INSERT INTO "{new}" SELECT * FROM "{table}"')
    op.execute(f'ALTER SEQUENCE {sequence} OWNED BY "{new}".id')
    op.execute(f'DROP TABLE "{table}"')
    op.execute(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    key = f"id, {column}" if partitioned else "id"
    op.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "pk_{table}" PRIMARY KEY ({key})')
    for definition in indexes:
        op.execute(definition)
    _append_only(table, table)


def _pay_month() -> None:
    """Both databases: ``benefit_payment.pay_month``, the month a payment belongs to, fixed by its idempotency key (a
    month of an entitlement: that month; a one-off: the month its claim was decided (filed when no decision date); a
    re-issue: the failed payment's), and the unique keys that include it."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"

    def month_start(column: str) -> str:
        return f"date_trunc('month', {column})::date" if postgres else f"date({column}, 'start of month')"

    with op.batch_alter_table("benefit_payment") as batch:
        batch.add_column(sa.Column("pay_month", sa.Date(), nullable=True))
    op.execute("UPDATE benefit_payment SET pay_month = month WHERE month IS NOT NULL")
    op.execute(f"UPDATE benefit_payment SET pay_month = (SELECT {month_start('coalesce(c.decided_on, c.filed_on)')} "
               "FROM benefit_claim c WHERE c.id = benefit_payment.claim_id) "
               "WHERE pay_month IS NULL AND reissue_of_id IS NULL AND claim_id IS NOT NULL")
    op.execute(f"UPDATE benefit_payment SET pay_month = {month_start('ordered_on')} "  # a claim not found
               "WHERE pay_month IS NULL AND reissue_of_id IS NULL")
    for _ in range(20):  # re-issues take the failed payment's month (a re-issue may itself be re-issued)
        done = bind.execute(sa.text(
            "UPDATE benefit_payment SET pay_month = (SELECT f.pay_month FROM benefit_payment f "
            "WHERE f.id = benefit_payment.reissue_of_id) WHERE pay_month IS NULL AND reissue_of_id IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM benefit_payment f WHERE f.id = benefit_payment.reissue_of_id "
            "AND f.pay_month IS NOT NULL)")).rowcount
        if not done:
            break
    op.execute(f"UPDATE benefit_payment SET pay_month = {month_start('ordered_on')} WHERE pay_month IS NULL")  # none
    with op.batch_alter_table("benefit_payment") as batch:
        batch.alter_column("pay_month", existing_type=sa.Date(), nullable=False)
        batch.drop_constraint("uq_benefit_payment_idem_key", type_="unique")
        batch.create_unique_constraint("uq_benefit_payment_idem_key_pay_month", ["idem_key", "pay_month"])
        batch.drop_index("uq_benefit_payment_reissue_of_id")
        batch.create_index("uq_benefit_payment_reissue_of_id", ["reissue_of_id", "pay_month"], unique=True,
                           postgresql_where=sa.text("reissue_of_id IS NOT NULL"),
                           sqlite_where=sa.text("reissue_of_id IS NOT NULL"))


def _drop_pay_month() -> None:
    with op.batch_alter_table("benefit_payment") as batch:
        batch.drop_index("uq_benefit_payment_reissue_of_id")
        batch.drop_constraint("uq_benefit_payment_idem_key_pay_month", type_="unique")
        batch.create_unique_constraint("uq_benefit_payment_idem_key", ["idem_key"])
        batch.create_index("uq_benefit_payment_reissue_of_id", ["reissue_of_id"], unique=True,
                           postgresql_where=sa.text("reissue_of_id IS NOT NULL"),
                           sqlite_where=sa.text("reissue_of_id IS NOT NULL"))
        batch.drop_column("pay_month")


def upgrade() -> None:
    _pay_month()
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in TABLES.items():
        _rebuild(table, column, partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in TABLES.items():
            _rebuild(table, column, partitioned=False)
    _drop_pay_month()
