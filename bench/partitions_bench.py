"""Monthly partitions benchmark (issue 17): ledger entries and card lookups spread over 24 months, in a fresh
PostgreSQL database (migration 0030: the tables partitioned by month), each written twice: into the partitioned table
(COPY, rows routed to their month) and into an ordinary table of the same columns and indexes (``*_flat``). Then the
same queries on both, warm, the median of 5 runs, with the partitions each plan reads (EXPLAIN):

- a month's ledger by province and account (the month's entries: one partition against an index or full scan);
- a month's card lookups by province (the lookup KPI of a month, Vietnam's month);
- one payer's receivable over every month (no month given: every partition's index is probed, the cost of
  partitioning for a query that does not name the month);
- dropping the oldest month (retention: ``DROP TABLE`` of a partition against ``DELETE`` of its rows).

Environment: ``ANSINH_BENCH_POSTGRES_URL`` (the server; database ``ansinh_bench_partitions`` is dropped and created),
``ANSINH_BENCH_LEDGER_ROWS`` (3,000,000), ``ANSINH_BENCH_LOOKUP_ROWS`` (2,000,000), ``ANSINH_BENCH_KEEP=1`` keeps
the database."""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import MetaData, text

from ansinh.bulk import bulk_insert
from ansinh.cards.models import CardLookup
from ansinh.collection.models import LedgerEntry
from ansinh.db import Database, allow_waiting
from ansinh.ops.partitions import ensure_partitions, list_partitions
from bench.postgres import drop_database_unless_kept, fresh_database

DB_NAME = "ansinh_bench_partitions"
LEDGER_ROWS = int(os.environ.get("ANSINH_BENCH_LEDGER_ROWS", "3000000"))
LOOKUP_ROWS = int(os.environ.get("ANSINH_BENCH_LOOKUP_ROWS", "2000000"))
FIRST, LAST, MONTHS = date(2025, 1, 1), date(2026, 12, 1), 24
MONTH = date(2026, 6, 1)  # the month queried
PROVINCES = [f"{n:02d}" for n in range(1, 35)]
SEED = 2026


def _ledger(rows: int) -> pl.DataFrame:
    index = pl.int_range(0, rows, eager=True, dtype=pl.Int64)
    frame = pl.DataFrame({"i": index})
    return frame.select(
        id=pl.col("i") + 1,
        txn=pl.lit("bill-") + (pl.col("i") // 2).cast(pl.String),
        account=pl.when(pl.col("i") % 2 == 0).then(pl.lit("receivable")).otherwise(pl.lit("contributions_income")),
        payer_key=pl.lit("E:") + ((pl.col("i") * 7919) % 200_000).cast(pl.String),
        fund=pl.when(pl.col("i") % 2 == 0).then(None).otherwise(pl.lit("retirement")),
        amount=pl.when(pl.col("i") % 2 == 0).then(1_000_000 + pl.col("i") % 977).otherwise(-1_000_000),
        posted_on=pl.lit(FIRST).dt.offset_by(((pl.col("i") * 31) % MONTHS).cast(pl.String) + "mo")
        .dt.offset_by(((pl.col("i") * 13) % 28).cast(pl.String) + "d"),
        source_type=pl.lit("bill"),
        source_id=pl.col("i") // 2,
        period=pl.lit(None, pl.Date),
        province_2025=pl.lit(pl.Series(PROVINCES)).get((pl.col("i") * 17) % len(PROVINCES)),
    )


def _lookups(rows: int) -> pl.DataFrame:
    frame = pl.DataFrame({"i": pl.int_range(0, rows, eager=True, dtype=pl.Int64)})
    start = datetime(2024, 12, 31, 17, 0, tzinfo=UTC)  # 1 January 2025 in Vietnam
    return frame.select(
        id=pl.col("i") + 1,
        looked_up_at=pl.lit(start).dt.offset_by(((pl.col("i") * 31) % MONTHS).cast(pl.String) + "mo")
        .dt.offset_by(((pl.col("i") * 7) % (27 * 86_400)).cast(pl.String) + "s"),
        user_id=pl.lit(None, pl.Int32),
        facility_code=((pl.col("i") * 101) % 3_000).cast(pl.String).str.zfill(5),
        province_2025=pl.lit(pl.Series(PROVINCES)).get((pl.col("i") * 17) % len(PROVINCES)),
        key_type=pl.lit("citizen_id"),
        on=pl.lit(FIRST),
        result=pl.when(pl.col("i") % 10 == 0).then(pl.lit("not_covered")).otherwise(pl.lit("covered")),
        reason=pl.lit(None, pl.String),
        person_id=(pl.col("i") * 7919) % 5_000_000,
    )


def _flat(session, table: str) -> None:
    """An ordinary table of the same columns, primary key and indexes as the partitioned one."""
    session.execute(text(f'CREATE TABLE "{table}_flat" (LIKE "{table}" INCLUDING DEFAULTS)'))
    session.execute(text(f'ALTER TABLE "{table}_flat" ADD PRIMARY KEY (id)'))
    for (definition,) in session.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :t "
            "AND indexname <> :pk"), {"t": table, "pk": f"pk_{table}"}).all():
        name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
        session.execute(text(definition.replace(f" INDEX {name} ON ONLY ", f" INDEX {name}_flat ON ")
                             .replace(f" INDEX {name} ON ", f" INDEX {name}_flat ON ")
                             .replace(f".{table} ", f".{table}_flat ")))


def _timed(database: Database, sql: str, runs: int = 5) -> dict:
    with database.unit_of_work() as session:
        allow_waiting(session, statement_timeout_ms=0)
        plan = session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
        relations: set[str] = set()
        scans: set[str] = set()

        def walk(node):
            if "Relation Name" in node:
                relations.add(node["Relation Name"])
                scans.add(node["Node Type"])
            for child in node.get("Plans", []):
                walk(child)

        walk(plan[0]["Plan"])
        session.execute(text(sql)).all()  # warm
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            session.execute(text(sql)).all()
            times.append(time.perf_counter() - started)
    return {"ms": round(statistics.median(times) * 1000, 1), "relations_read": len(relations), "scans": sorted(scans),
            "relations": sorted(relations)[:3] + (["…"] if len(relations) > 3 else [])}


def _size(database: Database, table: str) -> int:
    with database.unit_of_work() as session:
        return int(session.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) + pg_total_relation_size(to_regclass(:t)) "
            "FROM pg_inherits i WHERE i.inhparent = to_regclass(:t)"), {"t": table}).scalar_one())


def run() -> dict:
    url = fresh_database(DB_NAME)
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            ensure_partitions(session, since=FIRST, through=LAST)  # (fresh_database makes them already)
            partitions = sum(1 for p in list_partitions(session) if p.table == "ledger_entry")
            _flat(session, "ledger_entry")
            _flat(session, "card_lookup")
        ledger, lookups = _ledger(LEDGER_ROWS), _lookups(LOOKUP_ROWS)
        loads = {}
        for name, frame, model in (("ledger_entry", ledger, LedgerEntry), ("card_lookup", lookups, CardLookup)):
            flat = model.__table__.to_metadata(MetaData(), name=f"{name}_flat")
            for label, table in (("partitioned", model.__table__), ("flat", flat)):
                started = time.perf_counter()
                with database.unit_of_work() as session:
                    allow_waiting(session, statement_timeout_ms=0)
                    bulk_insert(session, table, frame)
                loads[f"{name}_{label}_copy_s"] = round(time.perf_counter() - started, 1)
        with database.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE ledger_entry, ledger_entry_flat, card_lookup, card_lookup_flat"))
        with database.unit_of_work() as session:
            defaults = {t: session.execute(text(f"SELECT count(*) FROM {t}_default")).scalar_one()
                        for t in ("ledger_entry", "card_lookup")}
        month_end = date(MONTH.year, MONTH.month + 1, 1)
        queries = {
            "ledger_month_by_province": "SELECT province_2025, account, sum(amount) FROM {t} WHERE posted_on >= "
                                        f"'{MONTH}' AND posted_on < '{month_end}' GROUP BY 1, 2",
            "lookups_month_by_province": "SELECT province_2025, count(*) FILTER (WHERE result = 'covered'), count(*) "
                                         f"FROM {{t}} WHERE looked_up_at >= '{MONTH} 00:00+07' AND looked_up_at < "
                                         f"'{month_end} 00:00+07' GROUP BY 1",
            "payer_receivable_all_months": "SELECT sum(amount) FROM {t} WHERE payer_key = 'E:4242' "
                                           "AND account = 'receivable'",
        }
        tables = {"ledger_month_by_province": "ledger_entry", "lookups_month_by_province": "card_lookup",
                  "payer_receivable_all_months": "ledger_entry"}
        results = {}
        for name, sql in queries.items():
            table = tables[name]
            results[name] = {"partitioned": _timed(database, sql.format(t=table)),
                             "flat": _timed(database, sql.format(t=f"{table}_flat"))}
        # retention: the oldest month, dropped as a partition against deleted from the ordinary table
        with database.unit_of_work() as session:
            started = time.perf_counter()
            session.execute(text(f'ALTER TABLE ledger_entry DETACH PARTITION ledger_entry_p{FIRST:%Y%m}'))
            session.execute(text(f'DROP TABLE ledger_entry_p{FIRST:%Y%m}'))
            drop_s = time.perf_counter() - started
            started = time.perf_counter()
            deleted = session.execute(text(f"DELETE FROM ledger_entry_flat WHERE posted_on < '{date(2025, 2, 1)}'"
                                           )).rowcount
            delete_s = time.perf_counter() - started
        report = {
            "rows": {"ledger_entry": LEDGER_ROWS, "card_lookup": LOOKUP_ROWS, "months": MONTHS,
                     "ledger_entry_partitions": partitions, "rows_left_in_default": defaults},
            "bytes": {t: _size(database, t) for t in ("ledger_entry", "ledger_entry_flat", "card_lookup",
                                                      "card_lookup_flat")},
            "load": loads,
            "queries": results,
            "retention_oldest_month": {"rows": deleted, "detach_drop_ms": round(drop_s * 1000, 1),
                                       "delete_ms": round(delete_s * 1000, 1)},
        }
    finally:
        database.dispose()
        drop_database_unless_kept(DB_NAME)
    return report


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
