"""Billing benchmark (issue 5): 1,000,000 workers across 50,000 employers with compulsory coverage (SI, HI,
UI) for one month, in a fresh PostgreSQL database, then ``run_billing`` for the whole country timed end to end,
writes included (target: under 60 s on 2 cores).

The data is written directly in bulk (``bulk_insert``: COPY): employers with valid tax codes, people, three
coverage periods per worker (salaries from 5.5 to 40 million dong, regions I–IV).

Environment: ``ANSINH_BENCH_POSTGRES_URL`` (default ``postgresql+psycopg://127.0.0.1:5432/test``: the server
whose database ``ansinh_bench_billing`` is dropped and created), ``ANSINH_BENCH_WORKERS`` (1,000,000),
``ANSINH_BENCH_EMPLOYERS`` (50,000), ``ANSINH_BENCH_CHUNKS`` (8), ``ANSINH_BENCH_WORKERS_AT_ONCE`` (chunks billed
at the same time; default that of ``run_billing``: 2 on PostgreSQL), ``ANSINH_BENCH_KEEP=1`` keeps the database. (``bill_line`` has no foreign keys since migration 0005: checking them
row by row cost 138 s of a run that takes 34.5 s without.)"""

from __future__ import annotations

import json
import os
import time
from datetime import date

import polars as pl
from sqlalchemy import func, select, text

from bench.postgres import drop_database_unless_kept, fresh_database
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel
from ansinh.bulk import bulk_insert
from ansinh.collection.billing import run_billing
from ansinh.collection.models import Bill, BillLine, LedgerEntry
from ansinh.db import Database, allow_waiting, utcnow
from ansinh.participation.models import CoveragePeriod
from ansinh.registry.identifiers import TAX_CODE_WEIGHTS
from ansinh.registry.models import Employer, Person

DB_NAME = "ansinh_bench_billing"
WORKERS = int(os.environ.get("ANSINH_BENCH_WORKERS", "1000000"))
EMPLOYERS = int(os.environ.get("ANSINH_BENCH_EMPLOYERS", "50000"))
CHUNKS = int(os.environ.get("ANSINH_BENCH_CHUNKS", "8"))
AT_ONCE = int(os.environ["ANSINH_BENCH_WORKERS_AT_ONCE"]) if os.environ.get("ANSINH_BENCH_WORKERS_AT_ONCE") else None
PROVINCES = ("01", "79", "31", "48", "19")
PERIOD = date(2026, 1, 1)
TARGET_SECONDS = 60.0
SEED = 2026








def _tax_codes(count: int) -> pl.Series:
    """``count`` valid 10-digit tax codes (check digit: 10 − Σ weights × digits mod 11, never 10)."""
    nine = pl.int_range(100_000_000, 100_000_000 + count * 2, eager=True).cast(pl.String).alias("nine")
    frame = pl.DataFrame(nine).with_columns(
        check=10 - sum(pl.col("nine").str.slice(i, 1).cast(pl.Int64) * w for i, w in enumerate(TAX_CODE_WEIGHTS)) % 11)
    frame = frame.filter(pl.col("check") < 10).head(count)
    assert frame.height == count
    return frame.select(pl.col("nine") + pl.col("check").cast(pl.String)).to_series()


def load(database: Database) -> dict:
    """Org units, employers, people and coverage periods, in bulk."""
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
        allow_waiting(session, statement_timeout_ms=0)  # 3,000,000 rows in one COPY: beyond a request's limit
        national = auth_service.create_org_unit(session, code="VSS", name="VSS", level=OrgLevel.national,
                                                place_code="VN")
        offices = {code: auth_service.create_org_unit(session, code=f"BHXH-{code}", name=f"BHXH {code}",
                                                      level=OrgLevel.province, place_code=code, parent=national).id
                   for code in PROVINCES}
        office = pl.DataFrame({"province_2025": list(offices), "org_unit_id": list(offices.values())})
        now = utcnow()
        ids = pl.int_range(1, EMPLOYERS + 1, eager=True, dtype=pl.Int64)
        employers = pl.DataFrame({"id": ids}).with_columns(
            tax_code=_tax_codes(EMPLOYERS),
            name=pl.lit("Công ty ") + pl.col("id").cast(pl.String),
            name_search=pl.lit("cong ty ") + pl.col("id").cast(pl.String),
            ownership=pl.lit("private"),
            region=(pl.col("id") % 4).replace_strict(dict(enumerate(("I", "II", "III", "IV"))), return_dtype=pl.String),
            sector=pl.lit("private"),
            province_2025=(pl.col("id") % len(PROVINCES)).replace_strict(dict(enumerate(PROVINCES)),
                                                                         return_dtype=pl.String),
            e_transactions=pl.lit(True), created_at=pl.lit(now),
        ).join(office, on="province_2025")
        bulk_insert(session, Employer.__table__, employers)
        people = pl.DataFrame({"id": pl.int_range(1, WORKERS + 1, eager=True, dtype=pl.Int64)}).with_columns(
            si_number=(pl.col("id") + 7_900_000_000).cast(pl.String),
            full_name=pl.lit("Người lao động ") + pl.col("id").cast(pl.String),
            name_search=pl.lit("nguoi lao dong ") + pl.col("id").cast(pl.String),
            date_of_birth=pl.lit(date(1985, 1, 1)) + pl.duration(days=pl.col("id") % 7000),
            sex=pl.when(pl.col("id") % 2 == 0).then(pl.lit("male")).otherwise(pl.lit("female")),
            # a skewed spread: employers of very different sizes (many small, a few large)
            employer_id=((pl.col("id").hash(SEED) % 1_000_000).cast(pl.Float64) / 1_000_000).pow(2)
            .mul(EMPLOYERS).cast(pl.Int64) + 1,
            created_at=pl.lit(now), updated_at=pl.lit(now),
        ).join(employers.select(employer_id="id", province_2025="province_2025", org_unit_id="org_unit_id"),
               on="employer_id")
        bulk_insert(session, Person.__table__, people.drop("employer_id"))
        salary = (pl.col("id").hash(SEED + 1) % 34_500).cast(pl.Int64) * 1_000 + 5_500_000
        base = people.select(person_id="id", employer_id="employer_id", insured_salary=salary,
                             org_unit_id="org_unit_id", province_2025="province_2025")
        coverage = pl.concat([base.with_columns(scheme=pl.lit(scheme), hi_group=pl.lit(group, pl.String))
                              for scheme, group in (("si_compulsory", None), ("hi", "DN"), ("ui", None))])
        coverage = coverage.with_columns(valid_from=pl.lit(date(2025, 1, 1)), valid_to=pl.lit(None, pl.Date),
                                         payer=pl.lit("employer"), overlapping=pl.lit(False), recorded_at=pl.lit(now))
        bulk_insert(session, CoveragePeriod.__table__, coverage)
        used = people["employer_id"].n_unique()
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return {"employers": EMPLOYERS, "employers_with_workers": used, "workers": WORKERS,
            "coverage_periods": coverage.height}


def run() -> dict:
    url = fresh_database(DB_NAME)
    database = Database(url)
    try:
        start = time.perf_counter()
        data = load(database)
        load_seconds = round(time.perf_counter() - start, 1)
        chunk_times = []
        last = [time.perf_counter()]

        def progress(chunk: int, total: int, bills: int) -> None:
            now = time.perf_counter()
            chunk_times.append(round(now - last[0], 2))
            last[0] = now

        start = time.perf_counter()
        with audit_context(channel="job", actor_username="bench"):
            summary = run_billing(database, period=PERIOD, province=None, actor="bench", today=date(2026, 1, 20),
                                  chunks=CHUNKS, progress=progress, workers=AT_ONCE)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        with audit_context(channel="job", actor_username="bench"):
            again = run_billing(database, period=PERIOD, province=None, actor="bench", today=date(2026, 1, 20))
        again_seconds = time.perf_counter() - start
        with database.unit_of_work() as session:
            ledger = session.scalar(select(func.count()).select_from(LedgerEntry))
            lines = session.scalar(select(func.count()).select_from(BillLine))
            bills = session.scalar(select(func.count()).select_from(Bill))
            balance = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)))
        return {
            "data": data, "load_seconds": load_seconds, "chunks": summary["chunks_total"],
            "seconds": round(seconds, 2), "chunk_seconds": chunk_times, "target_seconds": TARGET_SECONDS,
            "within_target": seconds < TARGET_SECONDS, "bills": bills, "lines": lines, "ledger_entries": ledger,
            "ledger_sum": int(balance), "total_billed": summary["total"],
            "second_run_seconds": round(again_seconds, 2), "second_run_writes_nothing": again["bills"] == bills,
            "cores": os.cpu_count(), "workers_at_once": AT_ONCE or "default",
        }
    finally:
        database.dispose()
        drop_database_unless_kept(DB_NAME)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
