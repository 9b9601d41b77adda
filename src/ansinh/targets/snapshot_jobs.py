"""The monthly indicator snapshots as a job (kind ``indicator_snapshots``): one chunk per month (``"2026-11"``),
each :func:`~ansinh.targets.indicators.snapshots.take_snapshots` of that month for every province and the country
(a month taken again is replaced: idempotent). The country's work: national staff start it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ansinh.auth.permissions import Permission
from ansinh.errors import ValidationFailed
from ansinh.i18n import N_
from ansinh.jobs.models import Job
from ansinh.jobs.registry import JobKind, register_job_kind


def parse_snapshots(params: dict[str, Any]) -> dict[str, Any]:
    from ansinh.targets.periods import parse_period

    month = parse_period(str(params.get("period") or ""))
    if month.kind != "month":
        raise ValidationFailed("period", "{value} is not a month: write 2026-11.", value=params.get("period"))
    return {"period": month.label, "province": None}


def snapshot_month(session: Session, job: Job, chunk: str) -> None:
    from ansinh.targets.indicators.snapshots import take_snapshots
    from ansinh.targets.periods import parse_period

    take_snapshots(session, [parse_period(chunk)])


SNAPSHOT_JOB = register_job_kind(JobKind(
    "indicator_snapshots", N_("Indicator snapshots of a month"),
    N_("Computes and stores every indicator of a month for every province and the country."),
    Permission.targets_manage, params=("period",), parse=parse_snapshots,
    plan=lambda session, job: [job.params["period"]], run_chunk=snapshot_month,
    finish=lambda database, job: {"months": [job.params["period"]]}))
