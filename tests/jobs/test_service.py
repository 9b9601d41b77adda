"""Jobs in-process (no broker): the billing kind gives the same bills as ``run_billing``; a chunk that keeps
failing ends failed with its error while the others complete; a job is summed up once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.collection.models import BillingRun
from ansinh.errors import ValidationFailed
from ansinh.jobs import service
from ansinh.jobs.models import Job, JobChunk
from ansinh.jobs.registry import JobKind, register_job_kind
from ansinh.auth.permissions import Permission
from tests.collection.test_billing import JAN, _snapshot, run, world  # noqa: F401 - the fixture

CALLS: list[str] = []


def _poison_chunk(session, job, chunk: str) -> None:
    CALLS.append(chunk)
    if chunk == "b":
        raise RuntimeError("poisoned chunk b")


register_job_kind(JobKind(
    "test_poison", "Test", "Test", Permission.participation_manage, params=("name",),
    parse=lambda params: {"name": str(params["name"])}, plan=lambda session, job: ["a", "b", "c"],
    run_chunk=_poison_chunk, finish=lambda database, job: {"summed": True}))


def start(db, kind: str, params: dict) -> Job:
    with audit_context(channel="cli", actor_username="test"):
        job_id = service.start_job(db, kind, params, actor="test", broker_url="")
    with db.unit_of_work() as s:
        return s.get(Job, job_id)


def chunks(db, job_id: int) -> dict[str, JobChunk]:
    with db.unit_of_work() as s:
        return {row.chunk: row for row in s.scalars(select(JobChunk).where(JobChunk.job_id == job_id))}


@pytest.mark.parametrize("province", ["01", None])
def test_a_billing_job_gives_the_same_bills_as_an_in_process_run(db, world, province):  # noqa: F811 - the fixture
    connection = db.session_factory.kw["bind"]
    savepoint = connection.begin_nested()
    expected_summary = run(db, JAN, province=province, chunks=3)
    expected = _snapshot(db)
    savepoint.rollback()
    assert _snapshot(db) == {"bills": [], "lines": [], "ledger": []}

    job = start(db, "billing", {"period": "2026-01", "province": province, "chunks": 3, "today": "2026-01-20"})
    assert job.status == "completed" and job.key == f"billing:2026-01:{province or '*'}"
    assert job.result["bills"] == expected_summary["bills"] == 6
    assert job.result["total"] == expected_summary["total"]
    assert _snapshot(db) == expected
    with db.unit_of_work() as s:
        runs = list(s.scalars(select(BillingRun).where(BillingRun.bills > 0)))
    assert [(r.province, r.status, r.bills) for r in runs] == [("01", "completed", 6)]
    # the same job again: found by its key, nothing written
    again = start(db, "billing", {"period": "2026-01", "province": province, "chunks": 5})
    assert again.id == job.id and _snapshot(db) == expected


def test_a_poisoned_chunk_ends_failed_with_its_error_and_the_others_complete(db):
    CALLS.clear()
    job = start(db, "test_poison", {"name": "one"})
    rows = chunks(db, job.id)
    assert job.status == "completed_with_errors" and job.result == {"summed": True}
    assert {k: (r.status, r.attempts) for k, r in rows.items()} == {"a": ("done", 1), "b": ("failed", 3),
                                                                    "c": ("done", 1)}
    assert rows["b"].error == "RuntimeError: poisoned chunk b"
    assert CALLS.count("b") == 3 and CALLS.count("a") == 1
    with db.unit_of_work() as s:
        view = service.job_view(s, s.get(Job, job.id))
    assert view["progress"]["chunks_done"] == 2 and view["progress"]["chunks_failed"] == 1
    assert view["errors"] == [{"chunk": "b", "error": "RuntimeError: poisoned chunk b"}]
    # a done chunk delivered again does nothing; the job is summed up once
    assert service.execute_chunk(db, job.id, "a", worker="w").outcome == "skipped"
    assert service.maybe_finish(db, job.id) is False
    # starting it again runs the failed chunk again (and it fails again)
    again = start(db, "test_poison", {"name": "one"})
    assert again.id == job.id and again.status == "completed_with_errors" and CALLS.count("b") == 6


def test_a_chunk_whose_workers_died_at_each_attempt_ends_failed(db):
    with audit_context(channel="cli", actor_username="test"), db.unit_of_work() as s:
        job = service.open_job(s, service.kind_of("test_poison"), {"name": "died"}, actor="test")
        job_id = job.id
        row = s.scalar(select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.chunk == "a"))
        row.status, row.attempts, row.error = "running", 3, None  # taken three times, never finished
    outcome = service.execute_chunk(db, job_id, "a", worker="w", max_attempts=3)
    assert outcome.outcome == "failed"
    row = chunks(db, job_id)["a"]
    assert row.status == "failed" and "Gave up after 3 attempt(s)" in row.error


def test_bad_parameters_are_refused(db):
    with pytest.raises(ValidationFailed):
        start(db, "billing", {"period": "January"})
    with pytest.raises(ValidationFailed):
        start(db, "no_such_kind", {})
