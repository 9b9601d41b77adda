"""The monthly payroll as a job (kind ``payroll``): the payroll run of a month for a province or the country, its
chunks (``"3"``: entitlements ``id % chunks == 3``) each :func:`~ansinh.benefits.payments.service.pay_run_chunk`,
the unit of work of an in-process run too; the job's chunk row is its lock (no lease is taken on the run)."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ansinh.auth.permissions import Permission
from ansinh.benefits.payments import service as payments
from ansinh.benefits.payments.models import PayrollChunk, PayrollRun
from ansinh.db import Database, utcnow
from ansinh.errors import Conflict, ValidationFailed
from ansinh.i18n import N_
from ansinh.jobs.models import Job
from ansinh.jobs.registry import JobKind, register_job_kind


def parse_payroll(params: dict[str, Any]) -> dict[str, Any]:
    """``period`` (the month, YYYY-MM), ``province`` (none: the country), ``chunks`` (1–1024), ``on`` (the day the
    payments are ordered, ISO; default the first of the month)."""
    from ansinh.collection.billing_api import parse_period

    month = parse_period(str(params.get("period") or ""))
    province = params.get("province") or None
    province = None if province == "*" else province
    if province is not None and not payments._PROVINCE.match(str(province)):
        raise ValidationFailed("province", "{value} is not a province code.", value=province)
    chunks = int(params.get("chunks") or payments.DEFAULT_CHUNKS)
    if not 1 <= chunks <= 1024:
        raise ValidationFailed("chunks", "The number of chunks is between 1 and 1024; got {value}.", value=chunks)
    try:
        on = date.fromisoformat(str(params.get("on") or month.isoformat()))
    except ValueError:
        raise ValidationFailed("on", "{value} is not a date.", value=params.get("on")) from None
    return {"period": month.strftime("%Y-%m"), "province": province, "chunks": chunks, "on": on.isoformat()}


def _run(session: Session, job: Job) -> PayrollRun | None:
    month = date(int(job.params["period"][:4]), int(job.params["period"][5:7]), 1)
    return session.scalar(select(PayrollRun).where(PayrollRun.month == month,
                                                   PayrollRun.province == (job.params.get("province") or "*")))


def plan_payroll(session: Session, job: Job) -> list[str]:
    run = _run(session, job)
    if run is None:
        month = date(int(job.params["period"][:4]), int(job.params["period"][5:7]), 1)
        try:
            with session.begin_nested():
                run = PayrollRun(month=month, province=job.params.get("province") or "*", status=payments.RUNNING,
                                 chunks_total=int(job.params["chunks"]), created_by=job.created_by)
                session.add(run)
                session.flush()
        except IntegrityError:
            run = _run(session, job)
    if run.status == payments.COMPLETED:
        return []
    lease = run.lease_until
    if lease is not None and (lease.replace(tzinfo=UTC) if lease.tzinfo is None else lease) > utcnow():
        raise payments._busy(run.month)
    done = set(session.scalars(select(PayrollChunk.chunk).where(PayrollChunk.run_id == run.id)))
    return [str(chunk) for chunk in range(run.chunks_total) if chunk not in done]


def pay_job_chunk(session: Session, job: Job, chunk: str) -> None:
    payments.pay_run_chunk(session, _run(session, job).id, int(chunk), on=date.fromisoformat(job.params["on"]))


def finish_payroll(database: Database, job: Job) -> dict:
    with database.unit_of_work() as session:
        run = _run(session, job)
        done = len(set(session.scalars(select(PayrollChunk.chunk).where(PayrollChunk.run_id == run.id))))
        if run.status != payments.COMPLETED and done >= run.chunks_total:
            run = payments.close_payroll_run(session, run.id, on=date.fromisoformat(job.params["on"]),
                                             by=job.created_by)
        return {"run_id": run.id, "status": run.status, "payments": int(run.payments or 0),
                "total": int(run.total or 0), "without_method": int(run.without_method or 0)}


PAYROLL_JOB = register_job_kind(JobKind(
    "payroll", N_("Benefit payroll of a month"),
    N_("Orders the month's payment of every pension and monthly allowance in force, and posts it."),
    Permission.benefits_pay, params=("period", "province"), parse=parse_payroll, plan=plan_payroll,
    run_chunk=pay_job_chunk, finish=finish_payroll, transient=(Conflict,)))
