"""Monthly payroll benchmark (issue 15): 3,300,000 pensioners in payment (about 70% paid into a verified bank
account, the rest in cash at a post office's paying point), in a fresh PostgreSQL database; then ``run_payroll`` of
one month for the whole country timed end to end — a payment per pensioner written with one ``INSERT … SELECT`` per
chunk and its ledger postings (per chunk, province and fund) — target: under 60 s. Also timed: the same run again
(writes nothing) and the reconciliation of payments with the ledger.

The data is written directly in bulk (``bulk_insert``: COPY): people, bank accounts, paying points and entitlements;
its build time is reported apart.

Environment: ``ANSINH_BENCH_POSTGRES_URL`` (default ``postgresql+psycopg://127.0.0.1:5432/test``: the server whose
database ``ansinh_bench_payroll`` is dropped and created), ``ANSINH_BENCH_PENSIONERS`` (3,300,000),
``ANSINH_BENCH_CHUNKS`` (8), ``ANSINH_BENCH_WORKERS_AT_ONCE`` (chunks run at the same time, default 2),
``ANSINH_BENCH_KEEP=1`` keeps the database."""

from __future__ import annotations

import json
import os
import time
from datetime import date

import polars as pl
from sqlalchemy import func, select, text

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel
from ansinh.benefits.payments.models import BankAccount, BenefitPayment, Entitlement, PayingPoint
from ansinh.benefits.payments.service import reconcile_payments, run_payroll
from ansinh.bulk import bulk_insert
from ansinh.collection.models import LedgerEntry
from ansinh.db import Database, allow_waiting, utcnow
from ansinh.registry.models import Person
from bench.postgres import drop_database_unless_kept, fresh_database

DB_NAME = "ansinh_bench_payroll"
PENSIONERS = int(os.environ.get("ANSINH_BENCH_PENSIONERS", "3300000"))
CHUNKS = int(os.environ.get("ANSINH_BENCH_CHUNKS", "8"))
AT_ONCE = int(os.environ.get("ANSINH_BENCH_WORKERS_AT_ONCE", "2"))
PROVINCES = ("01", "79", "31", "48", "19", "14", "22", "92")
BINS = ("970436", "970405", "970415", "970418")
MONTH = date(2026, 1, 1)
TARGET_SECONDS = 60.0
SEED = 2026


def load(database: Database) -> dict:
    """Org units, pensioners, their bank accounts, paying points and entitlements, in bulk."""
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
        allow_waiting(session, statement_timeout_ms=0)
        national = auth_service.create_org_unit(session, code="VSS", name="VSS", level=OrgLevel.national,
                                                place_code="VN")
        offices = {code: auth_service.create_org_unit(session, code=f"BHXH-{code}", name=f"BHXH {code}",
                                                      level=OrgLevel.province, place_code=code, parent=national).id
                   for code in PROVINCES}
        office = pl.DataFrame({"province_2025": list(offices), "org_unit_id": list(offices.values())})
        now = utcnow()
        people = pl.DataFrame({"id": pl.int_range(1, PENSIONERS + 1, eager=True, dtype=pl.Int64)}).with_columns(
            si_number=(pl.col("id") + 7_900_000_000).cast(pl.String),
            full_name=pl.lit("Người hưởng ") + pl.col("id").cast(pl.String),
            name_search=pl.lit("nguoi huong ") + pl.col("id").cast(pl.String),
            date_of_birth=pl.lit(date(1940, 1, 1)) + pl.duration(days=pl.col("id") % 8000),
            sex=pl.when(pl.col("id") % 2 == 0).then(pl.lit("male")).otherwise(pl.lit("female")),
            province_2025=(pl.col("id").hash(SEED) % len(PROVINCES)).replace_strict(
                dict(enumerate(PROVINCES)), return_dtype=pl.String),
            created_at=pl.lit(now), updated_at=pl.lit(now),
        ).join(office, on="province_2025")
        bulk_insert(session, Person.__table__, people)
        points = pl.DataFrame({"id": pl.int_range(1, len(PROVINCES) * 5 + 1, eager=True, dtype=pl.Int64)}) \
            .with_columns(province_2025=((pl.col("id") - 1) // 5).replace_strict(dict(enumerate(PROVINCES)),
                                                                             return_dtype=pl.String)) \
            .with_columns(code=pl.lit("BD-") + pl.col("province_2025") + pl.lit("-") + pl.col("id").cast(pl.String),
                          name=pl.lit("Bưu điện ") + pl.col("id").cast(pl.String), active=pl.lit(True))
        bulk_insert(session, PayingPoint.__table__, points)
        banked = people.filter(pl.col("id").hash(SEED + 1) % 10 < 7)
        accounts = banked.select(
            id=pl.int_range(1, banked.height + 1, dtype=pl.Int64), person_id="id",
            bank_bin=(pl.col("id") % len(BINS)).replace_strict(dict(enumerate(BINS)), return_dtype=pl.String),
            account_number=pl.lit("10") + pl.col("id").cast(pl.String).str.zfill(10),
            holder_name=pl.col("full_name").str.to_uppercase(), verified=pl.lit(True), opened_on=pl.lit(MONTH),
            org_unit_id="org_unit_id", created_by=pl.lit("bench"), created_at=pl.lit(now))
        bulk_insert(session, BankAccount.__table__, accounts)
        amount = (pl.col("id").hash(SEED + 2) % 12_000).cast(pl.Int64) * 1_000 + 2_340_000
        entitlements = people.select(
            id="id", claim_type=pl.lit("pension"), fund=pl.lit("retirement"), person_id="id",
            payee_person_id="id", monthly_amount=amount, first_month=pl.lit(date(2010, 1, 1)),
            org_unit_id="org_unit_id", province_2025="province_2025", created_at=pl.lit(now),
        ).join(accounts.select(id="person_id", bank_account_id="id"), on="id", how="left").join(
            points.group_by("province_2025").agg(pl.col("id").min().alias("point")), on="province_2025")
        entitlements = entitlements.with_columns(
            method=pl.when(pl.col("bank_account_id").is_not_null()).then(pl.lit("bank")).otherwise(pl.lit("cash")),
            paying_point_id=pl.when(pl.col("bank_account_id").is_null()).then(pl.col("point"))).drop("point")
        bulk_insert(session, Entitlement.__table__, entitlements)
        session.execute(text("SELECT setval(pg_get_serial_sequence('benefit_entitlement', 'id'), "
                             f"{PENSIONERS})"))
        session.execute(text("SELECT setval(pg_get_serial_sequence('person', 'id'), "
                             f"{PENSIONERS})"))
        session.execute(text("SELECT setval(pg_get_serial_sequence('beneficiary_bank_account', 'id'), "
                             f"{accounts.height})"))
        total = int(entitlements["monthly_amount"].sum())
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return {"pensioners": PENSIONERS, "bank_accounts": accounts.height, "paying_points": points.height,
            "monthly_total": total}


def run() -> dict:
    url = fresh_database(DB_NAME)
    database = Database(url)
    try:
        start = time.perf_counter()
        data = load(database)
        build_seconds = round(time.perf_counter() - start, 1)
        chunk_times, last = [], [time.perf_counter()]

        def progress(chunk: int, total: int, payments: int) -> None:
            now = time.perf_counter()
            chunk_times.append(round(now - last[0], 2))
            last[0] = now

        start = time.perf_counter()
        with audit_context(channel="job", actor_username="bench"):
            summary = run_payroll(database, month=MONTH, by="bench", chunks=CHUNKS, workers=AT_ONCE,
                                  progress=progress)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        with audit_context(channel="job", actor_username="bench"):
            again = run_payroll(database, month=MONTH, by="bench")
        again_seconds = time.perf_counter() - start
        with database.unit_of_work() as session:
            payments = session.scalar(select(func.count()).select_from(BenefitPayment))
            entries = session.scalar(select(func.count()).select_from(LedgerEntry))
            balance = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)))
            start = time.perf_counter()
            counts = reconcile_payments(session, date(2026, 1, 31))
            reconcile_seconds = time.perf_counter() - start
        return {
            "data": data, "build_seconds": build_seconds, "chunks": summary["chunks_total"],
            "workers_at_once": AT_ONCE, "seconds": round(seconds, 2), "chunk_seconds": chunk_times,
            "target_seconds": TARGET_SECONDS, "within_target": seconds < TARGET_SECONDS,
            "payments": payments, "total_paid": summary["total"], "total_matches": summary["total"] == data[
                "monthly_total"], "ledger_entries": entries, "ledger_sum": int(balance),
            "second_run_seconds": round(again_seconds, 2), "second_run_writes_nothing": again["payments"] == payments,
            "reconcile_seconds": round(reconcile_seconds, 2),
            "reconciled": not any(counts.values()), "cores": os.cpu_count(),
        }
    finally:
        database.dispose()
        drop_database_unless_kept(DB_NAME)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
