"""Four workers taking the same billing job's chunks at the same instant, on PostgreSQL with real commits: a chunk's
work runs under its row's lock, so it is done once (its bills written once) and the job's bills and ledger are those
of one run. Eight takers of the same chunk at once, each trying again while it is busy: the chunk is claimed by one
of them, which alone counts an attempt and runs it."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from ansinh.audit.service import audit_context
from ansinh.auth.permissions import Permission
from ansinh.collection.models import Bill, BillLine, LedgerEntry
from ansinh.jobs import service
from ansinh.jobs.models import Job, JobChunk
from ansinh.jobs.registry import JobKind, register_job_kind
from tests.jobs.test_celery import EMPLOYERS, JAN, seed
from tests.live import fire, fresh_postgres

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
        def work(index: int) -> None:
            name = f"w{index}"
            with audit_context(channel="job", actor_username=name):
                for chunk in chunks:
                    service.execute_chunk(database, job_id, chunk, worker=name)
                service.maybe_finish(database, job_id)

        fire(4, work)  # released together; an error in any of them fails the test
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


SLOW_RUNS: list[str] = []
_SLOW_LOCK = threading.Lock()


def _slow_chunk(session, job, chunk: str) -> None:
    with _SLOW_LOCK:
        SLOW_RUNS.append(chunk)
    time.sleep(0.2)


register_job_kind(JobKind(
    "test_slow", "Test", "Test", Permission.participation_manage, params=("name",),
    parse=lambda params: {"name": str(params["name"])}, plan=lambda session, job: ["a", "b", "c"],
    run_chunk=_slow_chunk, finish=lambda database, job: {"summed": True}))


def test_racing_takers_of_a_chunk_count_one_attempt():
    """Eight takers of each chunk at once, each trying again at once while the chunk is busy (a message
    delivered twice, the in-process runner and a worker): the one that runs it counts the only attempt."""
    SLOW_RUNS.clear()
    with fresh_postgres() as database:
        kind = service.kind_of("test_slow")
        with audit_context(channel="cli", actor_username="test"), database.unit_of_work() as s:
            job_id = service.open_job(s, kind, {"name": "race"}, actor="test").id
        outcomes: list[str] = []

        def work(index: int) -> None:
            for chunk in ("a", "b", "c"):
                while True:
                    outcome = service.execute_chunk(database, job_id, chunk, worker=f"w{index}", max_attempts=3)
                    if outcome.outcome != service.OUTCOME_BUSY:
                        break
                outcomes.append(outcome.outcome)

        fire(8, work)  # released together; an error in any of them fails the test
        with database.unit_of_work() as s:
            rows = dict(s.execute(select(JobChunk.chunk, JobChunk.attempts).where(JobChunk.job_id == job_id)).all())
            statuses = set(s.scalars(select(JobChunk.status).where(JobChunk.job_id == job_id)))
            assert s.get(Job, job_id).status == "completed"
            claims = s.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1"
                                   " AND classid::bigint = hashtext('job_chunk:' || current_schema()) & 4294967295"))
        assert claims == 0  # every claim released
        assert statuses == {"done"} and rows == {"a": 1, "b": 1, "c": 1}
        assert sorted(SLOW_RUNS) == ["a", "b", "c"]  # each chunk run once
        assert sorted(outcomes).count("done") == 3 and set(outcomes) == {"done", "skipped"}


def test_a_live_takers_chunk_is_busy_and_a_dead_takers_is_taken_again():
    """A taker holding the chunk's claim (alive): another taker is told busy and counts nothing. A taker that died
    mid-chunk (its connection dropped, the row left ``running`` with its attempt): the next taker runs it."""
    SLOW_RUNS.clear()
    with fresh_postgres() as database:
        kind = service.kind_of("test_slow")
        with audit_context(channel="cli", actor_username="test"), database.unit_of_work() as s:
            job_id = service.open_job(s, kind, {"name": "claims"}, actor="test").id
        with service._claim(database, job_id, "a") as claimed:
            assert claimed is not None
            assert service.execute_chunk(database, job_id, "a", worker="other").outcome == service.OUTCOME_BUSY
        with database.unit_of_work() as s:
            row = s.scalar(select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.chunk == "a"))
            assert (row.status, row.attempts) == ("pending", 0)
        # a taker dies after taking chunk b: its claim goes with its connection
        dying = database.engine.connect()
        dying.execute(text("SELECT pg_advisory_lock((hashtext('job_chunk:' || current_schema())::bigint << 32)"
                           " + id) FROM job_chunk WHERE job_id = :job AND chunk = 'b'"), {"job": job_id})
        dying.commit()
        with database.unit_of_work() as s:
            row = s.scalar(select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.chunk == "b"))
            row.status, row.attempts, row.worker = "running", 1, "dead"
        assert service.execute_chunk(database, job_id, "b", worker="next").outcome == service.OUTCOME_BUSY
        dying.invalidate()  # the connection closed, as when its process is killed
        dying.close()
        deadline = time.monotonic() + 10
        while (outcome := service.execute_chunk(database, job_id, "b", worker="next")).outcome == "busy":
            assert time.monotonic() < deadline, "the dead taker's claim was never released"
            time.sleep(0.05)  # until the server has seen the connection go
        assert outcome.outcome == service.OUTCOME_DONE
        with database.unit_of_work() as s:
            row = s.scalar(select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.chunk == "b"))
            assert (row.status, row.attempts, row.worker) == ("done", 2, "next")
        assert SLOW_RUNS == ["b"]
