"""A billing job on real Celery workers (RabbitMQ, PostgreSQL): two ``ansinh worker`` processes take the chunks of a
national billing run (province × chunk); one is killed with SIGKILL in the middle of a chunk and a replacement
started; the run ends with byte-for-byte the bills, bill lines and ledger entries of an in-process run of the same
data in another schema. Then a job with a poisoned chunk: it ends failed with its error, the others complete.

Skipped when RabbitMQ (``ANSINH_TEST_BROKER_URL``, default ``amqp://guest:guest@127.0.0.1:5672//``) or PostgreSQL
does not answer, except under ``CI=true``, where that is an error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date

import pytest
from sqlalchemy import select, text

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel
from ansinh.collection.billing import run_billing
from ansinh.db import Database, make_engine
from ansinh.jobs import service
from ansinh.jobs.models import Job, JobChunk
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from tests.collection.test_billing import _nines, _snapshot, tax_code
from tests.conftest import _PG_PROBLEM, IN_CI, POSTGRES_URL, _migrated_postgres

BROKER_URL = os.environ.get("ANSINH_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
JAN = date(2026, 1, 1)
EMPLOYERS, WORKERS_EACH = 40, 3


def _broker_problem() -> str | None:
    from ansinh.ops.readiness import check_broker

    try:
        check_broker(BROKER_URL, 2.0)
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"{type(exc).__name__}: {exc}"


_PROBLEM = _PG_PROBLEM or _broker_problem()
if _PROBLEM and IN_CI:
    raise RuntimeError(f"CI requires RabbitMQ at {BROKER_URL} and PostgreSQL: {_PROBLEM}")
pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(_PROBLEM is not None, reason=f"RabbitMQ or PostgreSQL unavailable: {_PROBLEM}")]


def seed(database: Database) -> None:
    """Hà Nội: employers with three workers each; the same rows (and ids) in every schema."""
    codes = [tax_code(nine) for nine, _ in zip(_nines(), range(EMPLOYERS))]
    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        national = auth_service.create_org_unit(s, code="VSS", name="Bảo hiểm xã hội Việt Nam",
                                                level=OrgLevel.national, place_code="VN")
        hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Bảo hiểm xã hội Thành phố Hà Nội",
                                             level=OrgLevel.province, place_code="01", parent=national)
        for i, code in enumerate(codes):
            employer = registry.create_employer(s, registry.EmployerData(
                tax_code=code, name=f"Công ty {i}", ownership=Ownership.private, region="I"), hanoi)
            for j in range(WORKERS_EACH):
                person = registry.create_person(s, registry.PersonData(
                    full_name=f"Người {i}-{j}", date_of_birth=date(1980 + j, 1 + i % 12, 1), sex=Sex.female), hanoi)
                participation.apply_declaration(s, employer=employer, person=person, kind="join",
                                                effective_month=JAN, insured_salary=6_000_000 + 250_000 * (i + j),
                                                submitted_by="test", today=date(2026, 1, 5))


def _drop(schema: str) -> None:
    admin = make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _worker(name: str, schema: str, queue: str, log) -> subprocess.Popen:
    env = {**os.environ, "ANSINH_DATABASE_URL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}",
           "ANSINH_BROKER_URL": BROKER_URL, "ANSINH_JOB_QUEUE": queue, "ANSINH_JOB_RETRY_SECONDS": "0.2",
           "ANSINH_ENV": "test"}
    return subprocess.Popen([sys.executable, "-m", "ansinh.cli", "worker", "--concurrency", "1", "--queues", queue,
                             "--name", f"{name}@test", "--loglevel", "warning"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_a_worker_killed_mid_chunk_leaves_the_same_bills_as_an_in_process_run(tmp_path):
    reference, reference_schema = _migrated_postgres()
    dispatched, schema = _migrated_postgres()
    queue = f"ansinh-test-{uuid.uuid4().hex[:8]}"
    workers: list[subprocess.Popen] = []
    try:
        seed(reference)
        seed(dispatched)
        with audit_context(channel="job", actor_username="test"):
            expected_summary = run_billing(reference, period=JAN, province=None, actor="test", today=date(2026, 1, 20),
                                           chunks=4)
        expected = _snapshot(reference)
        assert expected_summary["bills"] == EMPLOYERS and len(expected["lines"]) == EMPLOYERS * WORKERS_EACH * 8

        log = open(tmp_path / "workers.log", "wb")
        workers += [_worker("a", schema, queue, log), _worker("b", schema, queue, log)]
        with audit_context(channel="cli", actor_username="test"):
            job_id = service.start_job(dispatched, "billing", {"period": "2026-01", "chunks": 4, "today": "2026-01-20"},
                                       actor="test", broker_url=BROKER_URL, queue=queue)
        with dispatched.unit_of_work() as s:
            job = s.get(Job, job_id)
            assert job.dispatch == "celery" and job.chunks_total >= 34 * 4  # every province × 4 chunks

        killed_chunk, deadline = None, time.monotonic() + 30
        while killed_chunk is None and time.monotonic() < deadline:  # worker a in the middle of a chunk
            with dispatched.unit_of_work() as s:
                killed_chunk = s.scalar(select(JobChunk.chunk).where(
                    JobChunk.job_id == job_id, JobChunk.status == "running", JobChunk.worker == "a@test"))
            if killed_chunk is None:
                time.sleep(0.01)
        assert killed_chunk is not None, (tmp_path / "workers.log").read_text()
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait(10)
        workers.append(_worker("c", schema, queue, log))

        job = service.wait_for_job(dispatched, job_id, timeout=60, poll=0.2)
        with dispatched.unit_of_work() as s:
            rows = {row.chunk: row for row in s.scalars(select(JobChunk).where(JobChunk.job_id == job_id))}
        assert job.status == "completed", (job.status, job.error, (tmp_path / "workers.log").read_text()[-3000:])
        assert all(row.status == "done" for row in rows.values())
        assert rows[killed_chunk].status == "done"
        assert job.result["bills"] == EMPLOYERS and job.result["total"] == expected_summary["total"]
        assert _snapshot(dispatched) == expected
        print(f"killed on chunk {killed_chunk}: attempts {rows[killed_chunk].attempts}, "
              f"finished by {rows[killed_chunk].worker}; job took {service.duration_seconds(job)} s")

        # a poisoned chunk (one no attempt can do) ends failed with its error after its attempts; the others complete
        from ansinh.collection.billing_jobs import parse_billing
        from ansinh.jobs.dispatch import send_chunks

        with audit_context(channel="cli", actor_username="test"), dispatched.unit_of_work() as s:
            poisoned = service.open_job(s, service.kind_of("billing"), parse_billing(
                {"period": "2026-02", "province": "01", "chunks": 3, "today": "2026-02-20"}), actor="test")
            s.add(JobChunk(job_id=poisoned.id, chunk="01:poison", seq=99, status="pending", attempts=0))
            poisoned.chunks_total, poisoned.dispatch, poisoned_id = poisoned.chunks_total + 1, "celery", poisoned.id
        send_chunks(poisoned_id, ["01:0", "01:poison", "01:1", "01:2"], broker_url=BROKER_URL, queue=queue)
        job = service.wait_for_job(dispatched, poisoned_id, timeout=60, poll=0.2)
        with dispatched.unit_of_work() as s:
            rows = {row.chunk: row for row in s.scalars(select(JobChunk).where(JobChunk.job_id == poisoned_id))}
        assert job.status == "completed_with_errors" and job.result["bills"] == EMPLOYERS
        assert {k: r.status for k, r in rows.items()} == {"01:0": "done", "01:1": "done", "01:2": "done",
                                                          "01:poison": "failed"}
        assert rows["01:poison"].attempts == 3 and rows["01:poison"].error.startswith("ValueError: invalid literal")
    finally:
        for process in workers:
            _stop(process)
        try:
            from ansinh.jobs.celery_app import make_celery

            with make_celery(BROKER_URL, queue).connection_for_write() as connection:
                connection.default_channel.queue_delete(queue)
        except Exception:  # noqa: BLE001 - a queue left behind is harmless
            pass
        reference.dispose()
        dispatched.dispose()
        _drop(reference_schema)
        _drop(schema)
