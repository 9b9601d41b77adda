"""Billing as a job (kind ``billing``): a month for one province, or for the country as province × chunk — one
billing run per province, each split in chunks (``"19:3"``: province 19, chunk 3; ``"19:retry"``: the payers a
finished run could not bill, again). A chunk is :func:`~ansinh.collection.billing.bill_run_chunk`, the unit of
work of an in-process run too; the job's chunk row is its lock (no lease is taken on the run).

A payer without a province is billed (or refused, as an exception) by a run of the whole country ``*`` only:
``ansinh billing run`` without ``--province``."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Permission
from ansinh.collection import billing
from ansinh.collection.models import BillingChunk, BillingRun
from ansinh.db import Database, utcnow
from ansinh.errors import Conflict, ValidationFailed
from ansinh.i18n import N_
from ansinh.jobs.models import Job
from ansinh.jobs.registry import JobKind, parse_province, register_job_kind

RETRY = "retry"


def parse_billing(params: dict[str, Any]) -> dict[str, Any]:
    """``period`` (YYYY-MM), ``province`` (a 2025 code; none: the country), ``chunks`` per province run (1–1024),
    ``today`` (the day the ledger entries are posted, ISO; the same for every chunk)."""
    from ansinh import clock
    from ansinh.collection.billing_api import parse_period

    period = parse_period(str(params.get("period") or ""))
    province = parse_province(params)
    chunks = params.get("chunks")
    chunks = int(chunks) if chunks not in (None, "") else billing.DEFAULT_CHUNKS
    if not 1 <= chunks <= 1024:
        raise ValidationFailed("chunks", "The number of chunks is between 1 and 1024; got {value}.", value=chunks)
    today = params.get("today") or clock.today().isoformat()
    try:
        today = date.fromisoformat(str(today)).isoformat()
    except ValueError:
        raise ValidationFailed("today", "{value} is not a date.", value=today) from None
    billing.due_date(period)  # fails early (naming ``period``) when no due-date rule is in force
    return {"period": period.strftime("%Y-%m"), "province": province, "chunks": chunks, "today": today}


def billing_provinces(session: Session) -> list[str]:
    """The provinces of a national job: every 2025 province (the places), and any province office's code."""
    from ansinh.registry.places import province_names

    offices = session.scalars(select(OrgUnit.place_code).where(OrgUnit.level == OrgLevel.province))
    return sorted(set(province_names(session)) | {code for code in offices if code and code != "VN"})


def _month(job: Job) -> date:
    return date(int(job.params["period"][:4]), int(job.params["period"][5:7]), 1)


def _provinces(session: Session, job: Job) -> list[str]:
    province = job.params.get("province")
    return [province] if province else billing_provinces(session)


def _open_run(session: Session, month: date, province: str, chunks: int, actor: str) -> BillingRun:
    find = select(BillingRun).where(BillingRun.period == month, BillingRun.province == province)
    run = session.scalar(find)
    if run is None:
        try:
            with session.begin_nested():
                run = BillingRun(period=month, province=province, status=billing.RUNNING, chunks_total=chunks,
                                 created_by=actor, started_at=utcnow())
                session.add(run)
                session.flush()
        except IntegrityError:
            run = session.scalar(find)
    return run


def _lease_live(run: BillingRun) -> bool:
    """An in-process run (``ansinh billing run``) holds the run now."""
    lease = run.lease_until
    if lease is None:
        return False
    return (lease.replace(tzinfo=UTC) if lease.tzinfo is None else lease) > utcnow()


def plan_billing(session: Session, job: Job) -> list[str]:
    """Open (or find) the billing run of each province and list its chunks not yet billed; a run another process
    is billing in-process (a live lease) is a conflict."""
    month, keys = _month(job), []
    for province in _provinces(session, job):
        run = _open_run(session, month, province, int(job.params["chunks"]), job.created_by)
        if run.status == billing.COMPLETED:
            continue
        if _lease_live(run):
            raise billing._busy(run)
        if run.status == billing.WITH_EXCEPTIONS:
            keys.append(f"{province}:{RETRY}")
            continue
        done = set(session.scalars(select(BillingChunk.chunk).where(BillingChunk.run_id == run.id)))
        keys += [f"{province}:{chunk}" for chunk in range(run.chunks_total) if chunk not in done]
    return keys


def bill_job_chunk(session: Session, job: Job, chunk: str) -> None:
    province, part = chunk.rsplit(":", 1)
    month = _month(job)
    run = session.scalar(select(BillingRun).where(BillingRun.period == month, BillingRun.province == province))
    if run is None:  # pragma: no cover - planned with the job
        raise ValidationFailed("chunk", "No billing run of {province} for the month.", province=province)
    today = date.fromisoformat(job.params["today"])
    if part == RETRY:
        if run.status == billing.WITH_EXCEPTIONS:
            billing.bill_exceptions_again(session, run.id, month, None if province == "*" else province, today,
                                          billing.get_parameters())
        return
    billing.bill_run_chunk(session, run.id, int(part), today=today)


def finish_billing(database: Database, job: Job) -> dict:
    """Close each run whose chunks are all billed (its status, totals, audit event); the job's result: each
    run's figures and the sums."""
    month, runs = _month(job), []
    with database.unit_of_work() as session:
        provinces = _provinces(session, job)
        for province in provinces:
            run = session.scalar(select(BillingRun).where(BillingRun.period == month,
                                                          BillingRun.province == province))
            if run is None:
                continue
            done = len(set(session.scalars(select(BillingChunk.chunk).where(BillingChunk.run_id == run.id))))
            if (run.status == billing.RUNNING and done >= run.chunks_total) or run.status == billing.WITH_EXCEPTIONS:
                run = billing.close_run(session, run.id, actor=job.created_by, retry=run.status != billing.RUNNING)
            open_, _ = billing._exception_counts(session, run.id)
            runs.append({"province": province, "run_id": run.id, "status": run.status, "bills": int(run.bills or 0),
                         "total": int(run.total or 0), "exceptions": open_})
    return {"period": job.params["period"], "runs": len(runs), "bills": sum(r["bills"] for r in runs),
            "total": sum(r["total"] for r in runs), "exceptions": sum(r["exceptions"] for r in runs),
            "by_run": [r for r in runs if r["bills"] or r["exceptions"] or r["status"] != billing.COMPLETED]}


BILLING_JOB = register_job_kind(JobKind(
    "billing", N_("Billing of a month"),
    N_("Bills every payer of a month: a province, or the whole country province by province."),
    Permission.participation_manage, params=("period", "province"), parse=parse_billing, plan=plan_billing,
    run_chunk=bill_job_chunk, finish=finish_billing, transient=(Conflict,)))
