"""The payroll as a job (kind ``payroll``, in-process without a broker): the same payments and postings as
``run_payroll``, by the same chunk function."""

from __future__ import annotations

from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.benefits.payments import service as pay
from ansinh.benefits.payments.models import BenefitPayment
from ansinh.collection import ledger
from ansinh.collection.models import BENEFIT_EXPENSE, BENEFIT_PAYABLE
from ansinh.jobs import service as jobs
from ansinh.jobs.models import Job, JobChunk
from tests.benefits.payments.test_payroll import JAN, pensions  # noqa: F401 - the fixture


def test_the_payroll_job_pays_each_entitlement_once(session, db, pensions):  # noqa: F811
    b, people, claims = pensions
    session.commit()
    with audit_context(channel="cli", actor_username="test"):
        job_id = jobs.start_job(db, "payroll", {"period": "2026-01", "province": "01", "chunks": 3}, actor="test",
                                broker_url="")
    with db.unit_of_work() as s:
        job = s.get(Job, job_id)
        assert job.status == "completed" and job.key == "payroll:2026-01:01"
        assert job.result["payments"] == 3 and job.result["total"] == 15_650_000 and job.result["without_method"] == 1
        assert sorted(s.scalars(select(JobChunk.chunk).where(JobChunk.job_id == job_id))) == ["0", "1", "2"]
        assert ledger.balance(s, BENEFIT_EXPENSE) == 15_650_000 and ledger.balance(s, BENEFIT_PAYABLE) == -15_650_000
        assert len(s.scalars(select(BenefitPayment.idem_key)).all()) == 3
    for claim in claims:
        session.refresh(claim)
        assert claim.status.value == "payment_ordered"
    # the in-process run of the month finds it paid
    assert pay.run_payroll(db, month=JAN, by="test", province="01", chunks=3)["payments"] == 3
