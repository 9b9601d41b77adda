"""The automatic appraisal of a settlement month as a job (kind ``claims_appraisal``), by facility × month: a chunk is
one facility's claims of the month (``"01001"``), appraised by :func:`~ansinh.claims.appraisal.service.appraise_claims`
(a facility-month run takes its own lock; appraising again supersedes the findings with the same ones)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.permissions import Permission
from ansinh.db import Database
from ansinh.errors import ValidationFailed
from ansinh.i18n import N_
from ansinh.jobs.models import Job
from ansinh.jobs.registry import JobKind, register_job_kind


def parse_appraisal(params: dict[str, Any]) -> dict[str, Any]:
    """``period`` (the settlement month, YYYY-MM), ``province`` (a 2025 code; none: the country)."""
    from ansinh.collection.billing import _PROVINCE
    from ansinh.collection.billing_api import parse_period

    month = parse_period(str(params.get("period") or ""))
    province = params.get("province") or None
    province = None if province == "*" else province
    if province is not None and not _PROVINCE.match(str(province)):
        raise ValidationFailed("province", "{value} is not a province code.", value=province)
    return {"period": month.strftime("%Y-%m"), "province": province}


def _month(job: Job) -> date:
    return date(int(job.params["period"][:4]), int(job.params["period"][5:7]), 1)


def plan_appraisal(session: Session, job: Job) -> list[str]:
    """The facilities with current, unsettled claims of the month (of the province)."""
    from ansinh.claims.appraisal.service import run_conditions
    from ansinh.claims.models import Claim

    stmt = select(Claim.facility_code).where(*run_conditions(None, None, _month(job))).distinct()
    if job.params.get("province"):
        stmt = stmt.where(Claim.province_2025 == job.params["province"])
    return sorted(session.scalars(stmt))


def appraise_facility(session: Session, job: Job, chunk: str) -> None:
    from ansinh.claims.appraisal.service import appraise_claims

    appraise_claims(session, principal=None, facility_code=chunk, month=_month(job), started_by=job.created_by)


def finish_appraisal(database: Database, job: Job) -> dict:
    """The claims and findings of the latest run of each facility appraised by the job."""
    from sqlalchemy import func

    from ansinh.claims.appraisal.models import AppraisalRun
    from ansinh.jobs.models import DONE, JobChunk

    month = _month(job)
    done = select(JobChunk.chunk).where(JobChunk.job_id == job.id, JobChunk.status == DONE)
    latest = select(func.max(AppraisalRun.id)).where(
        AppraisalRun.settlement_year == month.year, AppraisalRun.settlement_month == month.month,
        AppraisalRun.facility_code.in_(done)).group_by(AppraisalRun.facility_code)
    with database.unit_of_work() as session:
        claims, findings = session.execute(select(func.coalesce(func.sum(AppraisalRun.claims), 0),
                                                  func.coalesce(func.sum(AppraisalRun.findings), 0))
                                           .where(AppraisalRun.id.in_(latest))).one()
    return {"period": job.params["period"], "facilities": job.chunks_total, "claims": int(claims),
            "findings": int(findings)}


APPRAISAL_JOB = register_job_kind(JobKind(
    "claims_appraisal", N_("Appraisal of a settlement month"),
    N_("Appraises the current claims of a settlement month, facility by facility."),
    Permission.claims_appraise, params=("period", "province"), parse=parse_appraisal, plan=plan_appraisal,
    run_chunk=appraise_facility, finish=finish_appraisal))
