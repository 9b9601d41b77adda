"""Four workers taking the same billing job's chunks at the same instant, on PostgreSQL with real commits: a chunk's
work runs under its row's lock, so it is done once (its bills written once) and the job's bills and ledger are those
of one run. (Two takers may both count an attempt before one of them runs the chunk: the attempt count is not a
count of runs.)"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.collection.models import Bill, BillLine, LedgerEntry
from ansinh.jobs import service
from ansinh.jobs.models import Job, JobChunk
from tests.jobs.test_celery import EMPLOYERS, JAN, seed
from tests.live import fresh_postgres

pytestmark = pytest.mark.postgres


def test_racing_workers_do_each_chunk_once():
    with fresh_postgres() as database:
        seed(database)
        kind = service.kind_of("billing")
        with audit_context(channel="cli", actor_username="test"), database.unit_of_work() as s:
            job = service.open_job(s, kind, kind.parse({"period": "2026-01", "province": "01", "chunks": 4,
                                                        "today": "2026-01-20"}), actor="test")
            job_id = job.id
            chunks = list(s.scalars(select(JobChunk.chunk).where(JobChunk.job_id == job_id).order_by(JobChunk.seq)))
        start = threading.Barrier(4)
        errors: list[BaseException] = []

        def work(name: str) -> None:
            try:
                start.wait(10)
                with audit_context(channel="job", actor_username=name):
                    for chunk in chunks:
                        service.execute_chunk(database, job_id, chunk, worker=name)
                    service.maybe_finish(database, job_id)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        with database.unit_of_work() as s:
            rows = s.execute(select(JobChunk.status, JobChunk.attempts).where(JobChunk.job_id == job_id)).all()
            assert rows and all(status == "done" for status, _ in rows)
            assert s.get(Job, job_id).status == "completed"
            bills = s.scalar(select(func.count()).select_from(Bill).where(Bill.period == JAN))
            assert bills == EMPLOYERS  # each employer billed once
            keys = s.execute(select(BillLine.bill_id, BillLine.person_id, BillLine.fund, BillLine.side)).all()
            assert len(keys) == len(set(keys))  # no line written twice
            assert s.scalar(select(func.sum(LedgerEntry.amount))) == 0
            receivable = s.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.account == "receivable"))
            assert receivable == s.scalar(select(func.sum(Bill.total)))
