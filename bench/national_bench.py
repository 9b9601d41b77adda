"""National benchmark (issue 17): 10,000,000 synthetic people over the 34 provinces of 2025, 2,000,000 of them
employers' workers (three coverage periods each: compulsory SI, HI, UI) across 100,000 employers, in a fresh
PostgreSQL database with its monthly partitions; then a month's billing of the whole country as a job of province ×
chunk tasks on Celery workers (RabbitMQ), by **one** worker process and then by **two**, and the indicator set of
every province.

The two runs bill two months with the same coverage (January by one worker, February by two), so each writes the
same bills, lines and ledger entries: the figures compare like with like, and the benchmark checks that both months
have the same count of bills and the same total. Each worker is ``ansinh worker --concurrency 1`` (a process of its
own, prefork pool of one), against the benchmark's database, on a queue of its own.

The people are written directly in bulk (``bulk_insert``: COPY), as ``bench/billing_bench.py`` does: the synthetic
population generator (``ansinh.synth.population``) makes households, families and places realistic but takes some
four minutes per million people, which does not fit a benchmark run. 8,000,000 of the people are registered only
(the people the agency knows who are not employed); they make the registry's size, not the billing's work.

Environment: ``ANSINH_BENCH_POSTGRES_URL`` (the server), ``ANSINH_BENCH_PEOPLE`` (10,000,000),
``ANSINH_BENCH_NATIONAL_WORKERS`` (2,000,000 workers), ``ANSINH_BENCH_NATIONAL_EMPLOYERS`` (100,000),
``ANSINH_BENCH_CHUNKS`` (chunks per province run, default 4), ``ANSINH_BENCH_BROKER_URL`` (default
``amqp://guest:guest@127.0.0.1:5672//``), ``ANSINH_BENCH_KEEP=1`` keeps the database, ``ANSINH_BENCH_REUSE=1`` bills
again on a kept one (with ``ANSINH_BENCH_MONTHS=2026-03,2026-04``: two months not billed yet)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import func, select, text

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel
from ansinh.bulk import bulk_insert
from ansinh.collection.models import Bill, BillLine, LedgerEntry
from ansinh.db import Database, allow_waiting, utcnow
from ansinh.participation.models import CoveragePeriod
from ansinh.registry.models import Employer, Person
from bench.billing_bench import _tax_codes
from bench.postgres import drop_database_unless_kept, fresh_database

DB_NAME = "ansinh_bench_national"
PEOPLE = int(os.environ.get("ANSINH_BENCH_PEOPLE", "10000000"))
WORKERS = int(os.environ.get("ANSINH_BENCH_NATIONAL_WORKERS", "2000000"))
EMPLOYERS = int(os.environ.get("ANSINH_BENCH_NATIONAL_EMPLOYERS", "100000"))
CHUNKS = int(os.environ.get("ANSINH_BENCH_CHUNKS", "4"))
BROKER = os.environ.get("ANSINH_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
#: worker processes → the month they bill (``ANSINH_BENCH_MONTHS``: two months, for another run on a kept database)
MONTHS = dict(zip((1, 2), (date.fromisoformat(f"{m}-01") for m in
                           os.environ.get("ANSINH_BENCH_MONTHS", "2026-01,2026-02").split(","))))
#: ``ANSINH_BENCH_REUSE=1``: bill again on the database a run kept (``ANSINH_BENCH_KEEP=1``), without loading it
REUSE = os.environ.get("ANSINH_BENCH_REUSE") == "1"
SEED = 2026
WRITE_ROWS = 1_000_000  # rows per COPY (the frames are built whole, written in slices)


def _write(session, table, frame: pl.DataFrame) -> None:
    for offset in range(0, frame.height, WRITE_ROWS):
        bulk_insert(session, table, frame.slice(offset, WRITE_ROWS))


def load(database: Database) -> dict:
    """Places, org units (the country and 34 province offices), employers, people and coverage, in bulk."""
    from ansinh.registry.places import load_places, province_names

    started = time.perf_counter()
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
        allow_waiting(session, statement_timeout_ms=0)
        load_places(session)
        provinces = sorted(province_names(session))
        national = auth_service.create_org_unit(session, code="VSS", name="Bảo hiểm xã hội Việt Nam",
                                                level=OrgLevel.national, place_code="VN")
        offices = {code: auth_service.create_org_unit(session, code=f"BHXH-{code}", name=f"BHXH {code}",
                                                      level=OrgLevel.province, place_code=code, parent=national).id
                   for code in provinces}
    office = pl.DataFrame({"province_2025": list(offices), "org_unit_id": list(offices.values())})
    province_of = dict(enumerate(provinces))
    now = utcnow()
    with database.unit_of_work() as session:
        allow_waiting(session, statement_timeout_ms=0)
        ids = pl.int_range(1, EMPLOYERS + 1, eager=True, dtype=pl.Int64)
        employers = pl.DataFrame({"id": ids}).with_columns(
            tax_code=_tax_codes(EMPLOYERS), name=pl.lit("Công ty ") + pl.col("id").cast(pl.String),
            name_search=pl.lit("cong ty ") + pl.col("id").cast(pl.String), ownership=pl.lit("private"),
            region=(pl.col("id") % 4).replace_strict(dict(enumerate(("I", "II", "III", "IV"))), return_dtype=pl.String),
            sector=pl.lit("private"),
            province_2025=(pl.col("id") % len(provinces)).replace_strict(province_of, return_dtype=pl.String),
            e_transactions=pl.lit(True), created_at=pl.lit(now)).join(office, on="province_2025")
        bulk_insert(session, Employer.__table__, employers)
        people = pl.DataFrame({"id": pl.int_range(1, PEOPLE + 1, eager=True, dtype=pl.Int64)}).with_columns(
            si_number=(pl.col("id") + 7_900_000_000).cast(pl.String),
            full_name=pl.lit("Người tham gia ") + pl.col("id").cast(pl.String),
            name_search=pl.lit("nguoi tham gia ") + pl.col("id").cast(pl.String),
            date_of_birth=pl.lit(date(1960, 1, 1)) + pl.duration(days=pl.col("id") % 20_000),
            sex=pl.when(pl.col("id") % 2 == 0).then(pl.lit("male")).otherwise(pl.lit("female")),
            # workers: the first WORKERS people, at employers of very different sizes (many small, a few large)
            employer_id=pl.when(pl.col("id") <= WORKERS).then(
                ((pl.col("id").hash(SEED) % 1_000_000).cast(pl.Float64) / 1_000_000).pow(2)
                .mul(EMPLOYERS).cast(pl.Int64) + 1),
            created_at=pl.lit(now), updated_at=pl.lit(now))
        people = people.with_columns(province_2025=pl.coalesce(
            pl.col("employer_id").replace_strict(employers["id"], employers["province_2025"], default=None),
            (pl.col("id").hash(SEED + 2) % len(provinces)).replace_strict(province_of, return_dtype=pl.String)))
        people = people.join(office, on="province_2025")
        _write(session, Person.__table__, people.drop("employer_id"))
        salary = (pl.col("id").hash(SEED + 1) % 34_500).cast(pl.Int64) * 1_000 + 5_500_000
        base = people.filter(pl.col("employer_id").is_not_null()).select(
            person_id="id", employer_id="employer_id", insured_salary=salary, org_unit_id="org_unit_id",
            province_2025="province_2025")
        coverage = pl.concat([base.with_columns(scheme=pl.lit(scheme), hi_group=pl.lit(group, pl.String))
                              for scheme, group in (("si_compulsory", None), ("hi", "DN"), ("ui", None))])
        coverage = coverage.with_columns(valid_from=pl.lit(date(2025, 1, 1)), valid_to=pl.lit(None, pl.Date),
                                         payer=pl.lit("employer"), overlapping=pl.lit(False), recorded_at=pl.lit(now))
        _write(session, CoveragePeriod.__table__, coverage)
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return {"provinces": len(provinces), "people": PEOPLE, "workers": base.height, "employers": EMPLOYERS,
            "coverage_periods": coverage.height, "seconds": round(time.perf_counter() - started, 1)}


def _workers(count: int, url: str, queue: str, log_dir: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "ANSINH_DATABASE_URL": url, "ANSINH_BROKER_URL": BROKER, "ANSINH_JOB_QUEUE": queue,
           "ANSINH_VAR_DIR": str(log_dir), "ANSINH_LOG_LEVEL": "warning"}
    command = [sys.executable, "-m", "ansinh.cli", "worker", "--concurrency", "1", "--loglevel", "warning"]
    return [subprocess.Popen([*command, "--name", f"bench-{queue}-{i}@localhost"], env=env,
                             stdout=(log_dir / f"worker-{i}.log").open("w"), stderr=subprocess.STDOUT,
                             start_new_session=True) for i in range(count)]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def bill_with_workers(database: Database, url: str, workers: int, month: date, log_dir: Path) -> dict:
    """A national billing job of ``month`` done by ``workers`` worker processes; its time from the job's start to
    its end (the workers are started, and idle, before)."""
    from ansinh.jobs import service

    queue = f"bench-national-{uuid.uuid4().hex[:8]}"
    processes = _workers(workers, url, queue, log_dir)
    try:
        time.sleep(8)  # the workers connect to the broker and wait
        started = time.perf_counter()
        with audit_context(channel="cli", actor_username="bench"):
            job_id = service.start_job(database, "billing", {"period": month.strftime("%Y-%m"), "chunks": CHUNKS,
                                                             "today": month.replace(day=20).isoformat()},
                                       actor="bench", broker_url=BROKER, queue=queue)
        job = service.wait_for_job(database, job_id, timeout=3600, poll=0.5)
        seconds = time.perf_counter() - started
    finally:
        _stop(processes)
    with database.unit_of_work() as session:
        bills, total = session.execute(select(func.count(), func.coalesce(func.sum(Bill.total), 0))
                                       .where(Bill.period == month)).one()
        lines = session.scalar(select(func.count()).select_from(BillLine).where(BillLine.for_period == month))
    return {"worker_processes": workers, "month": month.isoformat(), "status": job.status,
            "chunks": job.chunks_total, "seconds": round(seconds, 1), "bills": int(bills), "total": int(total),
            "lines": int(lines), "lines_per_second": round(lines / seconds)}


def indicators_for_every_province(database: Database) -> dict:
    from ansinh.targets.indicators.service import ranking
    from ansinh.targets.periods import parse_period
    from bench.targets_bench import measurable

    period = parse_period("2026-Q1")
    with database.unit_of_work() as session:
        timed, missing = measurable(session, period)
        started = time.perf_counter()
        provinces = {code: len(ranking(session, None, code=code, period=period)) for code in timed}
        seconds = time.perf_counter() - started
    return {"period": "2026-Q1", "indicators": len(timed), "seconds": round(seconds, 2),
            "provinces_ranked": max(provinces.values(), default=0), "not_measurable": missing}


def sizes(database: Database) -> dict:
    with database.unit_of_work() as session:
        total = session.scalar(text("SELECT pg_database_size(current_database())"))
        tables = session.execute(text(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
            "AND c.relname IN ('person', 'employer', 'coverage_period', 'bill', 'bill_line', 'ledger_entry', "
            "'audit_event')")).all()
        partitioned = session.execute(text(
            "SELECT parent.relname, sum(pg_total_relation_size(child.oid)) FROM pg_inherits i "
            "JOIN pg_class parent ON parent.oid = i.inhparent JOIN pg_class child ON child.oid = i.inhrelid "
            "WHERE parent.relkind = 'p' GROUP BY parent.relname")).all()
    by_table = {name: int(size) for name, size in tables}
    by_table.update({name: int(size) for name, size in partitioned})
    return {"database_mb": round(int(total) / 2**20), "tables_mb": {k: round(v / 2**20) for k, v in by_table.items()}}


def _counts(database: Database) -> dict:
    with database.unit_of_work() as session:
        workers = session.scalar(select(func.count(func.distinct(CoveragePeriod.person_id))))
        return {"people": session.scalar(select(func.count()).select_from(Person)), "workers": workers,
                "employers": session.scalar(select(func.count()).select_from(Employer)), "reused": True}


def run() -> dict:
    from bench.postgres import database_url

    url = database_url(DB_NAME) if REUSE else fresh_database(DB_NAME)
    database = Database(url)
    log_dir = Path(os.environ.get("ANSINH_BENCH_LOG_DIR", "/tmp/ansinh-bench-national"))
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        data = _counts(database) if REUSE else load(database)
        one = bill_with_workers(database, url, 1, MONTHS[1], log_dir)
        two = bill_with_workers(database, url, 2, MONTHS[2], log_dir)
        same = (one["bills"], one["total"], one["lines"]) == (two["bills"], two["total"], two["lines"])
        with database.unit_of_work() as session:
            ledger_sum = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)))
        indicators = indicators_for_every_province(database)
        return {"data": data, "one_worker": one, "two_workers": two,
                "speed_up": round(one["seconds"] / two["seconds"], 2), "same_bills_both_months": same,
                "ledger_sum": int(ledger_sum),
                "seconds_per_million_workers": {"one": round(one["seconds"] / data["workers"] * 1e6, 1),
                                                "two": round(two["seconds"] / data["workers"] * 1e6, 1)},
                "indicators": indicators, "sizes": sizes(database), "cores": os.cpu_count(),
                "load_average": os.getloadavg()}
    finally:
        database.dispose()
        drop_database_unless_kept(DB_NAME)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
