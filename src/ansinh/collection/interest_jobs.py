"""Late interest as a job (kind ``interest``): the interest accrued to a date posted to the ledger
(:func:`~ansinh.collection.arrears.accrue_interest`), for one province or the whole country, one chunk per province
(``"19"``); a whole-country job whose payers include some without a province ends with a chunk ``"*"``, the
country's accrual, which posts what the provinces' chunks left (those payers).

A chunk is idempotent as the accrual is: delivered again, it posts only the interest accrued to the date and not yet
posted, that is nothing. Chunks take turns behind the collection lock (:func:`~ansinh.collection.payments
.lock_allocations`), which they wait for as batch work. Started by participation managers (a province: its office),
as the other collection jobs: the accrual posts to the collection's books."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.auth.permissions import Permission
from ansinh.collection import billing
from ansinh.collection.models import INTEREST_RECEIVABLE, Bill, LedgerEntry
from ansinh.db import Database, allow_waiting
from ansinh.errors import ValidationFailed
from ansinh.i18n import N_
from ansinh.jobs.models import Job
from ansinh.jobs.registry import JobKind, parse_province, register_job_kind

#: The chunk of a whole-country job that accrues the payers without a province (the country's accrual).
REST = "*"


def parse_interest(params: dict[str, Any]) -> dict[str, Any]:
    """``on`` (the date the interest is accrued to and posted on, ISO; default today), ``province`` (a 2025
    code; none: the country)."""
    from ansinh import clock
    from ansinh.bounds import check_day

    today = clock.today()
    on = params.get("on") or today.isoformat()
    try:
        day = check_day(date.fromisoformat(str(on)))
    except ValueError:
        raise ValidationFailed("on", "{value} is not a date.", value=on) from None
    if day > today:  # interest runs for the days that have passed: none is posted ahead
        raise ValidationFailed("on", "Late interest is accrued up to today at the latest; {value} is after today.",
                               value=day)
    on = day.isoformat()
    province = parse_province(params)
    return {"on": on, "province": province}


def plan_interest(session: Session, job: Job) -> list[str]:
    """One chunk per province (the job's, or every one of the country's), and the country's rest when some bill
    has no province."""
    from ansinh.collection.billing_jobs import billing_provinces

    province = job.params.get("province")
    if province:
        return [province]
    chunks = billing_provinces(session)
    if session.scalar(select(Bill.id).where(Bill.province_2025.is_(None)).limit(1)) is not None:
        chunks.append(REST)
    return chunks


def accrue_chunk(session: Session, job: Job, chunk: str) -> None:
    from ansinh.collection.arrears import accrue_interest

    allow_waiting(session, lock_timeout_ms=billing.CHUNK_LOCK_WAIT_MS,
                  statement_timeout_ms=billing.CHUNK_STATEMENT_TIMEOUT_MS)
    accrue_interest(session, on=date.fromisoformat(job.params["on"]), province=None if chunk == REST else chunk)


def interest_totals(session: Session, on: date, province: str | None = None) -> list[dict]:
    """The interest posted on ``on`` by province (of one province, or all): its ledger rows (one a payer) and
    their amount; payers without a province under ``province`` None."""
    stmt = (select(LedgerEntry.province_2025, func.count(), func.coalesce(func.sum(LedgerEntry.amount), 0))
            .where(LedgerEntry.account == INTEREST_RECEIVABLE, LedgerEntry.source_type == "interest",
                   LedgerEntry.posted_on == on)
            .group_by(LedgerEntry.province_2025))
    if province is not None:
        stmt = stmt.where(LedgerEntry.province_2025 == province)
    rows = session.execute(stmt).all()
    return [{"province": code, "rows": int(count), "amount": int(amount)}
            for code, count, amount in sorted(rows, key=lambda row: row[0] or "")]


def finish_interest(database: Database, job: Job) -> dict:
    """The interest posted on the date, by province, and the sums."""
    with database.unit_of_work() as session:
        provinces = interest_totals(session, date.fromisoformat(job.params["on"]), job.params.get("province"))
    return {"on": job.params["on"], "rows": sum(p["rows"] for p in provinces),
            "amount": sum(p["amount"] for p in provinces), "by_province": provinces}


INTEREST_JOB = register_job_kind(JobKind(
    "interest", N_("Late interest"),
    N_("Posts to the ledger the late interest accrued to a date and not yet posted: a province, or the whole "
       "country province by province."),
    Permission.participation_manage, params=("on", "province"), parse=parse_interest, plan=plan_interest,
    run_chunk=accrue_chunk, finish=finish_interest))
