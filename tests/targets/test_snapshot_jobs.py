"""The indicator snapshots of a month as a job: the same figures as taking them directly; national staff only."""

from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.jobs import service as jobs
from ansinh.jobs.models import Job
from ansinh.targets.indicators import snapshots
from ansinh.targets.models import IndicatorValue
from ansinh.targets.periods import parse_period
from tests.targets.test_indicators import world  # noqa: F401 - the hand-built world of Hà Nội and Sơn La


def test_the_snapshot_job_stores_the_months_figures(session, db, world):  # noqa: F811
    expected = snapshots.take_snapshots(session, [parse_period("2026-09")])
    session.commit()
    with audit_context(channel="cli", actor_username="test"):
        job_id = jobs.start_job(db, "indicator_snapshots", {"period": "2026-09"}, actor="test", broker_url="")
    with db.unit_of_work() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.key, job.chunks_total, job.result) == (
            "completed", "indicator_snapshots:2026-09", 1, {"months": ["2026-09"]})
        assert s.scalar(select(func.count()).select_from(IndicatorValue)) == expected > 0  # replaced, not added
