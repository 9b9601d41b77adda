"""The monthly partitions as a job (kind ``partitions``): one chunk per partitioned table, each
:func:`~ansinh.ops.partitions.ensure_partitions` of that table up to ``months_ahead`` months after ``period``
(idempotent: a table whose partitions exist is left as it is). Run it monthly, before the month's batches; on SQLite
it does nothing and says so. The country's work: national administrators start it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from ansinh.auth.permissions import Permission
from ansinh.errors import ValidationFailed
from ansinh.i18n import N_
from ansinh.jobs.models import Job
from ansinh.jobs.registry import JobKind, register_job_kind
from ansinh.ops.partitions import PARTITIONED, add_months, ensure_partitions, list_partitions

#: Months created ahead by default (a month's partition exists before its first row).
DEFAULT_MONTHS_AHEAD = 3


def parse_partitions(params: dict[str, Any]) -> dict[str, Any]:
    """``period`` (YYYY-MM: the month from which ``months_ahead`` are counted) and ``months_ahead`` (0–24)."""
    text = str(params.get("period") or "")
    try:
        month = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ValidationFailed("period", "{value} is not a month: write 2026-11.", value=text) from None
    ahead = params.get("months_ahead")
    try:
        ahead = DEFAULT_MONTHS_AHEAD if ahead in (None, "") else int(ahead)
    except (TypeError, ValueError):
        raise ValidationFailed("months_ahead", "{value} is not a number of months.", value=ahead) from None
    if not 0 <= ahead <= 24:
        raise ValidationFailed("months_ahead", "Between 0 and 24 months ahead; got {value}.", value=ahead)
    return {"period": month.strftime("%Y-%m"), "months_ahead": ahead, "province": None}


def _through(job: Job) -> date:
    return add_months(date.fromisoformat(f"{job.params['period']}-01"), int(job.params["months_ahead"]))


def ensure_table(session: Session, job: Job, chunk: str) -> None:
    ensure_partitions(session, through=_through(job), tables=[chunk])


def summarise(database, job: Job) -> dict:
    with database.unit_of_work() as session:
        partitions = list_partitions(session)
    counts: dict[str, int] = {}
    for partition in partitions:
        counts[partition.table] = counts.get(partition.table, 0) + 1
    return {"through": _through(job).strftime("%Y-%m"), "partitions": counts,
            "supported": bool(partitions)}


PARTITIONS_JOB = register_job_kind(JobKind(
    "partitions", N_("Monthly partitions"),
    N_("Creates the monthly partitions of the tables that grow without end ahead of their months (PostgreSQL)."),
    Permission.org_manage, params=("period", "months_ahead"), parse=parse_partitions,
    plan=lambda session, job: list(PARTITIONED), run_chunk=ensure_table, finish=summarise))
