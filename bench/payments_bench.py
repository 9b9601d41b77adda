"""Payments benchmark (issue 5): a bank statement of 100,000 lines imported, matched and allocated on PostgreSQL
(target: under 20 s, end to end including the writes and the commit).

Setup (not timed): a fresh database ``ansinh_bench_payments``, bills of two months (January and February) for
100,000 payers with their ledger postings (``ledger.post_frame``). The statement quotes the February bill
reference in 90% of its lines (paying both months, one month, part of one, or more than owed), a tax code of
nobody in 5% and nothing usable in 5% (those go to suspense). Allocation is oldest month first.

Environment: ``ANSINH_BENCH_POSTGRES_URL`` (default ``postgresql+psycopg://127.0.0.1:5432/test``: the server
whose database ``ansinh_bench_payments`` is dropped and created), ``ANSINH_BENCH_PAYERS`` (default 100,000),
``ANSINH_BENCH_KEEP=1`` keeps the database afterwards."""

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
from ansinh.collection import ledger
from ansinh.collection.billing import bill_reference
from ansinh.collection.models import INCOME, RECEIVABLE, Allocation, Bill, Payment
from ansinh.collection.payments import collection_accounts, import_statement
from ansinh.db import Database

DB_NAME = "ansinh_bench_payments"
PAYERS = int(os.environ.get("ANSINH_BENCH_PAYERS", "100000"))
TARGET_SECONDS = 20.0
MONTHS = (date(2025, 1, 1), date(2025, 2, 1))
TODAY = date(2025, 3, 20)








def create_bills(session, unit_id: int, payers: int) -> pl.DataFrame:
    """Bills of every month for ``payers`` payers (E:1...), with their postings; returns payer, amounts."""
    rng_amount = (pl.int_range(1, payers + 1, eager=True) * 7_919 % 40 + 5) * 100_000  # 0.5 to 4.4 million
    payer = pl.DataFrame({"n": pl.int_range(1, payers + 1, eager=True, dtype=pl.Int64), "amount": rng_amount})
    payer = payer.with_columns(payer_key=pl.lit("E:") + pl.col("n").cast(pl.String))
    bills = []
    for index, month in enumerate(MONTHS):
        frame = payer.with_columns(
            id=pl.col("n") + index * payers, period=pl.lit(month), payer_type=pl.lit("employer"),
            reference=pl.col("payer_key").map_elements(lambda key, m=month: bill_reference(key, m),
                                                       return_dtype=pl.String),
            due_date=pl.lit(month.replace(day=28)), employer_amount=pl.col("amount"), total=pl.col("amount"),
            org_unit_id=pl.lit(unit_id, dtype=pl.Int64), province_2025=pl.lit("01"))
        bills.append(frame)
    bills_frame = pl.concat(bills)
    bulk_insert(session, Bill.__table__, bills_frame.select(
        "id", "period", "payer_type", "payer_key", "reference", "due_date", "employer_amount", "total",
        "org_unit_id", "province_2025"))
    session.execute(text("SELECT setval(pg_get_serial_sequence('bill', 'id'), (SELECT max(id) FROM bill))"))
    txn = pl.Series("txn", ledger.new_txn_ids(bills_frame.height))
    base = bills_frame.select(pl.lit(txn).alias("txn"), "payer_key", "period", "province_2025",
                              pl.col("period").alias("posted_on"), pl.col("id").alias("source_id"), "total")
    entries = pl.concat([
        base.select("txn", "payer_key", "period", "province_2025", "posted_on", "source_id",
                    account=pl.lit(RECEIVABLE), amount=pl.col("total"), fund=pl.lit(None, pl.String)),
        base.select("txn", "payer_key", "period", "province_2025", "posted_on", "source_id",
                    account=pl.lit(INCOME), amount=-pl.col("total"), fund=pl.lit("retirement")),
    ]).with_columns(source_type=pl.lit("bill"))
    ledger.post_frame(session, entries)
    session.execute(text("ANALYZE bill"))
    session.execute(text("ANALYZE ledger_entry"))
    return payer


def statement_csv(payer: pl.DataFrame) -> bytes:
    account = collection_accounts()[0].account
    n = payer.height
    kind = pl.col("n") % 20  # 0 → nothing usable, 1 → unknown tax code, else a reference
    share = pl.col("n") % 4  # 0: both months, 1: one month, 2: part, 3: more than owed
    amount = (pl.when(share == 0).then(pl.col("amount") * 2).when(share == 1).then(pl.col("amount"))
              .when(share == 2).then(pl.col("amount") // 3).otherwise(pl.col("amount") * 2 + 250_000))
    reference = (pl.lit("CT NOP BHXH ") + pl.col("payer_key").map_elements(
        lambda key: bill_reference(key, MONTHS[-1]), return_dtype=pl.String) + pl.lit(" THANG 2"))
    frame = payer.select(
        date=pl.lit("2025-03-") + (pl.col("n") % 19 + 1).cast(pl.String).str.zfill(2),
        amount=amount,
        payer_account=pl.lit("0451000") + pl.col("n").cast(pl.String).str.zfill(6),
        reference=pl.when(kind == 0).then(pl.lit("chuyen tien bao hiem"))
        .when(kind == 1).then(pl.lit("MST 9999999999 nop tien")).otherwise(reference),
        bank_transaction_id=pl.lit("FT25") + pl.col("n").cast(pl.String).str.zfill(9),
        receiving_account=pl.lit(account),
    )
    assert frame.height == n
    return frame.write_csv().encode()


def run() -> dict:
    url = fresh_database(DB_NAME)
    database = Database(url)
    try:
        with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
            unit = auth_service.create_org_unit(session, code="VSS", name="Bảo hiểm xã hội Việt Nam",
                                                level=OrgLevel.national, place_code="VN")
            start = time.perf_counter()
            payer = create_bills(session, unit.id, PAYERS)
            setup_seconds = round(time.perf_counter() - start, 2)
        content = statement_csv(payer)
        start = time.perf_counter()
        with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
            report = import_statement(session, content=content, file_name="statement.csv", actor="bench",
                                      today=TODAY)
            import_seconds = round(time.perf_counter() - start, 2)
        seconds = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
            again = import_statement(session, content=content, file_name="statement.csv", actor="bench", today=TODAY)
        again_seconds = round(time.perf_counter() - start, 3)
        with database.unit_of_work() as session:
            payments_written = session.scalar(select(func.count(Payment.id)))
            allocations = session.scalar(select(func.count(Allocation.id)))
            trial = ledger.trial_balance(session)
        assert report.status == "applied", report.errors[:5]
        assert again.status == "unchanged"
        assert sum(trial.values()) == 0
        return {"lines": report.rows, "payments": payments_written, "matched": report.matched,
                "suspense": report.suspense, "allocations": allocations, "amount": report.amount,
                "allocated": report.allocated, "bills": 2 * PAYERS, "setup_seconds": setup_seconds,
                "import_and_allocate_seconds": seconds, "of_which_commit_seconds": round(seconds - import_seconds, 2),
                "same_file_again_seconds": again_seconds,
                "target_seconds": TARGET_SECONDS, "within_target": seconds < TARGET_SECONDS,
                "statement_bytes": len(content)}
    finally:
        database.dispose()
        drop_database_unless_kept(DB_NAME)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
