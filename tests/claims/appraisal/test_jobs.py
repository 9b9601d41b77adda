"""The appraisal of a settlement month as a job (facility × month, in-process without a broker): the same outcomes as
appraising the facility's month directly."""

from __future__ import annotations

from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.claims.appraisal.service import appraise_claims
from ansinh.claims.models import Claim
from ansinh.jobs import service as jobs
from ansinh.jobs.models import Job, JobChunk
from tests.claims.appraisal.test_service import DAY, claims  # noqa: F401 - the fixture


def _outcomes(session) -> list[tuple]:
    return sorted(session.execute(select(Claim.episode_key, Claim.status, Claim.outcome_status, Claim.disallowed)).all())


def test_the_appraisal_job_gives_the_outcomes_of_a_direct_run(session, db, claims):  # noqa: F811
    session.commit()
    savepoint = db.session_factory.kw["bind"].begin_nested()
    with audit_context(channel="cli", actor_username="test"), db.unit_of_work() as s:
        direct = appraise_claims(s, principal=None, facility_code="01001", month=DAY)
        expected, expected_findings = _outcomes(s), direct.findings
    savepoint.rollback()
    with audit_context(channel="cli", actor_username="test"):
        job_id = jobs.start_job(db, "claims_appraisal", {"period": "2026-11", "province": "01"}, actor="test",
                                broker_url="")
    with db.unit_of_work() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.key) == ("completed", "claims_appraisal:2026-11:01")
        assert list(s.scalars(select(JobChunk.chunk).where(JobChunk.job_id == job_id))) == ["01001"]
        assert job.result == {"period": "2026-11", "facilities": 1, "claims": 4, "findings": expected_findings}
        assert _outcomes(s) == expected and any(row[2] == "rejected" for row in expected)
