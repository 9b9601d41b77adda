"""Jobs: start a run of a registered kind, take and run its chunks, sum it up once, read it.

The one code path of a chunk (:func:`execute_chunk`), whether it runs in this process (no broker: ``make run``,
the CLI, the tests) or as a Celery task on a worker (:mod:`ansinh.jobs.tasks`):

0. **Claim** the chunk: on PostgreSQL a session-level advisory lock on the chunk, held on a connection of its own
   from the take to the end of the work (steps 1 to 3 run on it), and released by the database if the taker dies
   (its connection drops). A chunk delivered twice at once (a message redelivered while its first worker still
   runs it, the in-process runner and a worker) is claimed by one taker; the others are told ``busy`` and try
   later, counting no attempt: only the taker that runs the chunk counts one.
1. **Take** the chunk's row by a guarded update (``pending``/``running`` → ``running``, one attempt more, the
   worker's name), committed at once so that a worker killed meanwhile still counts (a chunk found ``running``
   by its claimant was left by a taker that died). A chunk past the maximum of attempts (its worker died each
   time) ends ``failed`` instead.
2. **Run** it: in one transaction the row is locked again (``FOR UPDATE SKIP LOCKED``), the kind's ``run_chunk``
   writes its rows and the row becomes ``done``; they commit together. A worker killed meanwhile leaves nothing
   of the chunk (its transaction is rolled back by the database when its connection drops) and the broker
   delivers the chunk again (acknowledged late): the run ends with the same rows as an uninterrupted one. A chunk
   found ``done`` does nothing.
3. On an error, the row keeps the error's text and goes back to ``pending`` (tried again after a wait that doubles
   each time), or ends ``failed`` at the last attempt, or at once for a domain refusal: a chunk never disappears.
4. The chunk that leaves none ``pending`` or ``running`` sums the job up: a guarded update (``running`` →
   ``finishing``) lets exactly one process call the kind's ``finish``; the job ends ``completed``, or
   ``completed_with_errors`` when some chunk failed (or ``failed`` when ``finish`` raised).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ansinh.auth.permissions import Principal
from ansinh.db import Database, utcnow
from ansinh.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ansinh.jobs.models import (
    COMPLETED,
    DONE,
    FAILED,
    FINISHED,
    FINISHING,
    PENDING,
    QUEUED,
    RUNNING,
    WITH_ERRORS,
    Job,
    JobChunk,
)
from ansinh.jobs.registry import JobKind, get_job_kind

#: Outcomes of :func:`execute_chunk`.
OUTCOME_DONE, OUTCOME_SKIPPED, OUTCOME_RETRY, OUTCOME_BUSY, OUTCOME_FAILED = (
    "done", "skipped", "retry", "busy", "failed")
#: The longest wait before a chunk is tried again, in seconds.
MAX_BACKOFF_SECONDS = 300
ERROR_CHARS = 4000


@dataclass(frozen=True)
class ChunkOutcome:
    outcome: str
    attempts: int = 0
    error: str | None = None


def kind_of(code: str) -> JobKind:
    kind = get_job_kind(code)
    if kind is None:
        raise ValidationFailed("kind", "{value} is not a kind of job.", value=code)
    return kind


def _settings():
    from ansinh.config import get_settings

    return get_settings()


def error_text(error: BaseException) -> str:
    """What a chunk's row keeps of its error: the domain's English message, else the exception's type and text."""
    text = error.message if isinstance(error, DomainError) else f"{type(error).__name__}: {error}"
    return text[:ERROR_CHARS]


def backoff_seconds(attempts: int, base: float | None = None) -> float:
    """The wait before attempt ``attempts + 1``: ``base`` × 2^(attempts − 1), at most :data:`MAX_BACKOFF_SECONDS`."""
    base = _settings().job_retry_seconds if base is None else base
    return min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, attempts - 1))


# --- scope ------------------------------------------------------------------------------------------------

def provinces_in_scope(session: Session, principal: Principal | None) -> list[str] | None:
    """The provinces whose jobs the caller may read and start; None: all of them and the country's."""
    from ansinh.collection.billing import run_provinces_in_scope

    return run_provinces_in_scope(session, principal)


def ensure_job_scope(session: Session, principal: Principal | None, kind: JobKind, province: str | None) -> None:
    """Starting a job is for holders of its kind's permission within its province (national staff for the
    country's jobs); ``principal`` None: the CLI."""
    if principal is None:
        return
    if not principal.has(kind.permission):
        raise PermissionDenied("You may not start this kind of job.")
    provinces = provinces_in_scope(session, principal)
    if provinces is None:
        return
    if province is None:
        raise PermissionDenied("Only national staff start the whole country's jobs.")
    if province not in provinces:
        raise PermissionDenied("Only the office of province {province} (or national staff) starts its jobs.",
                               province=province)


def jobs_query(session: Session, principal: Principal | None):
    """A ``select`` of the jobs the caller may read: a province's for its office (and the units above)."""
    stmt = select(Job)
    provinces = provinces_in_scope(session, principal)
    if provinces is not None:
        stmt = stmt.where(Job.province.in_(provinces or ["-"]))
    return stmt


def get_job_in_scope(session: Session, principal: Principal | None, job_id: int) -> Job:
    """The job, when the caller may read it; otherwise (another province's job, or none) 404."""
    job = session.scalar(jobs_query(session, principal).where(Job.id == job_id))
    if job is None:
        raise NotFound("Job {id} does not exist.", id=job_id)
    return job


# --- starting ---------------------------------------------------------------------------------------------

def open_job(session: Session, kind: JobKind, params: dict[str, Any], *, actor: str) -> Job:
    """The job of these parameters (its idempotency key): created and planned when new; a finished job with
    failed chunks (or failed summing up, or left ``finishing``) set to run them again; otherwise as it is.
    Audited (``job_start``)."""
    from ansinh.audit.service import record_event

    key = kind.key(params)
    find = select(Job).where(Job.key == key).execution_options(populate_existing=True)
    job = session.scalar(find)
    if job is None:
        try:
            with session.begin_nested():  # a concurrent first start waits here, then finds the other's job
                job = Job(kind=kind.code, params=params, key=key, province=params.get("province"), status=QUEUED,
                          created_by=actor, created_at=utcnow(), chunks_total=0)
                session.add(job)
                session.flush()
                _plan(session, kind, job)
        except IntegrityError:
            job = session.scalar(find)
            if job is None:  # pragma: no cover - the other start rolled back
                raise
            return job
        record_event(session, "job_start", "job", job.id, details={"kind": kind.code, "key": key, "params": params,
                                                                 "chunks": job.chunks_total, "actor": actor})
        return job
    if job.status in (WITH_ERRORS, FAILED, FINISHING):  # finishing: its process may have died (``finish`` is
        # idempotent: summing a job up twice gives the same result)
        session.execute(update(JobChunk).where(JobChunk.job_id == job.id, JobChunk.status == FAILED)
                        .values(status=PENDING, attempts=0).execution_options(synchronize_session=False))
        job.params = {**job.params, **{k: v for k, v in params.items() if k not in kind.params}}
        job.status, job.finished_at, job.error = RUNNING, None, None
        _plan(session, kind, job)  # the kind's work left (a billing run's exceptions, say)
        session.flush()
        record_event(session, "job_start", "job", job.id, details={"kind": kind.code, "key": key, "again": True,
                                                                 "actor": actor})
    return job


def _plan(session: Session, kind: JobKind, job: Job) -> None:
    """Add the kind's chunks not yet in the job."""
    known = set(session.scalars(select(JobChunk.chunk).where(JobChunk.job_id == job.id)))
    seq = len(known)
    for chunk in kind.plan(session, job):
        if chunk in known:
            continue
        known.add(chunk)
        session.add(JobChunk(job_id=job.id, chunk=chunk, seq=seq, status=PENDING, attempts=0))
        seq += 1
    job.chunks_total = seq
    session.flush()


def start_job(database: Database, kind_code: str, params: dict[str, Any], *, actor: str,
              principal: Principal | None = None, broker_url: str | None = None, queue: str | None = None,
              in_background: bool = False, workers: int | None = None) -> int:
    """Start (or resume) a job and return its id. With a broker (``broker_url``, by default the setting
    ``ANSINH_BROKER_URL``) each chunk left is sent to the workers as a task; without one they run in this process
    (to the end, or with ``in_background`` on a thread of their own for a web page), by the same code path."""
    kind = kind_of(kind_code)
    params = kind.parse(dict(params))
    broker_url = _settings().broker_url if broker_url is None else broker_url
    with database.unit_of_work() as session:
        ensure_job_scope(session, principal, kind, params.get("province"))
        job = open_job(session, kind, params, actor=actor)
        job.dispatch = "celery" if broker_url else "inprocess"
        job_id = job.id
        todo = list(session.scalars(select(JobChunk.chunk).where(JobChunk.job_id == job_id,
                                                                 JobChunk.status.in_((PENDING, RUNNING)))
                                    .order_by(JobChunk.seq)))
        finished = job.status in FINISHED
    if finished:
        return job_id
    if broker_url:
        from ansinh.jobs.dispatch import send_chunks

        send_chunks(job_id, todo, broker_url=broker_url, queue=queue)
        if not todo:
            maybe_finish(database, job_id)
        return job_id
    if in_background:
        from ansinh import background

        background.start(database, key=("job", job_id), name=f"job-{job_id}",
                         work=lambda: run_in_process(database, job_id, workers=workers), find=lambda: job_id,
                         busy=lambda: NotFound("Job {id} does not exist.", id=job_id), wait_seconds=0.5)
        return job_id
    run_in_process(database, job_id, workers=workers)
    return job_id


def _in_process_workers(database: Database, workers: int | None) -> int:
    if _shared(database) or database.engine.dialect.name != "postgresql":
        return 1
    return max(1, workers) if workers is not None else 2


def run_in_process(database: Database, job_id: int, *, workers: int | None = None, worker: str = "in-process",
                   max_attempts: int | None = None) -> None:
    """Run the job's chunks left here (on ``workers`` threads on PostgreSQL), each tried up to the maximum of
    attempts at once; then sum the job up. A chunk another process holds is left to it."""
    with database.unit_of_work() as session:
        todo = list(session.scalars(select(JobChunk.chunk).where(JobChunk.job_id == job_id,
                                                                 JobChunk.status.in_((PENDING, RUNNING)))
                                    .order_by(JobChunk.seq)))

    def run_one(chunk: str) -> None:
        while True:
            outcome = execute_chunk(database, job_id, chunk, worker=worker, max_attempts=max_attempts)
            if outcome.outcome != OUTCOME_RETRY:
                return

    count = _in_process_workers(database, workers)
    if count > 1 and len(todo) > 1:
        with ThreadPoolExecutor(max_workers=count) as pool:
            for future in [pool.submit(contextvars.copy_context().run, run_one, chunk) for chunk in todo]:
                future.result()
    else:
        for chunk in todo:
            run_one(chunk)
    maybe_finish(database, job_id)


# --- one chunk --------------------------------------------------------------------------------------------

def _locked_chunk(session: Session, job_id: int, chunk: str) -> JobChunk | None:
    """The chunk's row, locked (None when another transaction holds it: PostgreSQL's SKIP LOCKED)."""
    return session.scalar(select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.chunk == chunk)
                          .with_for_update(skip_locked=True).execution_options(populate_existing=True))


def _chunk_status(session: Session, job_id: int, chunk: str) -> str | None:
    return session.scalar(select(JobChunk.status).where(JobChunk.job_id == job_id, JobChunk.chunk == chunk))


#: The key of a chunk's claim (a session-level PostgreSQL advisory lock, see :func:`_claim`; the single-key form,
#: apart from the two-key locks of the domains): the schema's in the high half (advisory locks are database-wide),
#: the chunk row's id in the low half.
_CLAIM_KEY = "(hashtext('job_chunk:' || current_schema())::bigint << 32) + {id}"


def _shared(database: Database) -> bool:
    """The database's units of work all run on one connection (a test's outer transaction)."""
    return not isinstance(database.session_factory.kw.get("bind"), Engine)


@contextmanager
def _claim(database: Database, job_id: int, chunk: str) -> Iterator[Database | None]:
    """Claim the chunk for this taker for as long as the block runs: on PostgreSQL, a session-level advisory lock
    on the chunk's row, taken on a connection of its own on which the take, the work and the error's record all
    run (one after another), released at the end — or by the database when that connection drops (a worker
    killed). Yields the database whose units of work run on that connection, or None when another live taker
    holds the chunk. On SQLite, or on a test's single connection, takers cannot overlap: the database itself."""
    if database.engine.dialect.name != "postgresql" or _shared(database):
        yield database
        return
    with database.engine.connect() as connection:
        try_claim = f"SELECT id, pg_try_advisory_lock({_CLAIM_KEY.format(id='id')}) FROM job_chunk"
        row = connection.execute(text(try_claim + " WHERE job_id = :job AND chunk = :chunk"),
                                 {"job": job_id, "chunk": chunk}).first()
        connection.commit()
        if row is None or not row[1]:
            yield None
            return
        try:
            yield Database(database.url, engine=database.engine,
                           session_factory=sessionmaker(bind=connection, expire_on_commit=False))
        finally:
            try:
                connection.rollback()
                connection.execute(text(f"SELECT pg_advisory_unlock({_CLAIM_KEY.format(id=':id')})"), {"id": row[0]})
                connection.commit()
            except Exception:  # noqa: BLE001 - a connection that cannot unlock is closed: that unlocks
                connection.invalidate()


def execute_chunk(database: Database, job_id: int, chunk: str, *, worker: str,
                  max_attempts: int | None = None) -> ChunkOutcome:
    """Take, run and record one chunk (see the module docstring); the outcome tells the caller what to do:
    ``retry`` (after :func:`backoff_seconds`), ``busy`` (another process holds it: try later, no attempt
    counted), or nothing more (``done``, ``skipped``: already done or failed, ``failed``)."""
    max_attempts = max_attempts or _settings().job_max_attempts
    with _claim(database, job_id, chunk) as claimed:
        if claimed is None:
            with database.unit_of_work() as session:
                status = _chunk_status(session, job_id, chunk)
            if status is None:
                return ChunkOutcome(OUTCOME_SKIPPED)  # no such chunk (a job deleted, a stale message)
            return ChunkOutcome(OUTCOME_BUSY if status in (PENDING, RUNNING) else OUTCOME_SKIPPED)
        outcome = _take_and_run(claimed, job_id, chunk, worker=worker, max_attempts=max_attempts)
    if outcome.outcome in (OUTCOME_DONE, OUTCOME_FAILED):
        maybe_finish(database, job_id)
    return outcome


def _take_and_run(database: Database, job_id: int, chunk: str, *, worker: str, max_attempts: int) -> ChunkOutcome:
    """Steps 1 to 3 of the module docstring, by the chunk's claimant."""
    from ansinh.audit.service import audit_context

    now = utcnow()
    with database.unit_of_work() as session:
        row = _locked_chunk(session, job_id, chunk)
        if row is None:
            status = _chunk_status(session, job_id, chunk)
            if status is None:
                return ChunkOutcome(OUTCOME_SKIPPED)  # no such chunk (a job deleted, a stale message)
            return ChunkOutcome(OUTCOME_BUSY if status in (PENDING, RUNNING) else OUTCOME_SKIPPED)
        if row.status not in (PENDING, RUNNING):
            return ChunkOutcome(OUTCOME_SKIPPED)
        job = session.get(Job, job_id)
        if row.attempts >= max_attempts:  # each attempt so far ended with its worker (or was cut short)
            row.status, row.finished_at = FAILED, now
            row.error = (row.error or "") + f"\nGave up after {row.attempts} attempt(s) that did not finish."
            row.error = row.error.strip()[:ERROR_CHARS]
            return ChunkOutcome(OUTCOME_FAILED, row.attempts)
        row.status, row.attempts, row.worker, row.started_at, row.finished_at = (
            RUNNING, row.attempts + 1, worker[:200], now, None)
        if job.status == QUEUED:
            job.status, job.started_at = RUNNING, now
        elif job.started_at is None:
            job.started_at = now
        attempts, kind_code, actor = row.attempts, job.kind, job.created_by
    kind = kind_of(kind_code)
    try:
        with audit_context(channel="job", actor_username=actor), database.unit_of_work() as session:
            row = _locked_chunk(session, job_id, chunk)
            if row is None:
                return ChunkOutcome(OUTCOME_BUSY, attempts)
            if row.status != RUNNING:
                return ChunkOutcome(OUTCOME_SKIPPED, attempts)
            kind.run_chunk(session, session.get(Job, job_id), chunk)
            row.status, row.finished_at, row.error = DONE, utcnow(), None
    except Exception as error:  # noqa: BLE001 - kept on the chunk's row, never lost
        transient = isinstance(error, kind.transient + (OperationalError,))
        final = attempts >= max_attempts or (isinstance(error, DomainError) and not transient)
        text_ = error_text(error)
        with database.unit_of_work() as session:
            session.execute(update(JobChunk).where(JobChunk.job_id == job_id, JobChunk.chunk == chunk,
                                                   JobChunk.status == RUNNING)
                            .values(status=FAILED if final else PENDING, error=text_,
                                    finished_at=utcnow() if final else None)
                            .execution_options(synchronize_session=False))
        if final:
            return ChunkOutcome(OUTCOME_FAILED, attempts, text_)
        return ChunkOutcome(OUTCOME_RETRY, attempts, text_)
    return ChunkOutcome(OUTCOME_DONE, attempts)


def maybe_finish(database: Database, job_id: int) -> bool:
    """Sum the job up when no chunk is left to run: exactly once (a guarded update to ``finishing`` lets one
    process through). True when this call did it."""
    from ansinh.audit.service import audit_context

    with database.unit_of_work() as session:
        left = session.scalar(select(func.count()).select_from(JobChunk).where(
            JobChunk.job_id == job_id, JobChunk.status.in_((PENDING, RUNNING))))
        if left:
            return False
        taken = session.execute(update(Job).where(Job.id == job_id, Job.status.in_((QUEUED, RUNNING)))
                                .values(status=FINISHING).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            return False
        job = session.get(Job, job_id)
        kind_code, actor = job.kind, job.created_by
    kind = kind_of(kind_code)
    try:
        with audit_context(channel="job", actor_username=actor):
            with database.unit_of_work() as session:
                job = session.get(Job, job_id)
            result = kind.finish(database, job)
        with database.unit_of_work() as session:
            failed = session.scalar(select(func.count()).select_from(JobChunk).where(
                JobChunk.job_id == job_id, JobChunk.status == FAILED))
            job = session.get(Job, job_id)
            job.status, job.result, job.finished_at = (WITH_ERRORS if failed else COMPLETED), result, utcnow()
            job.started_at = job.started_at or job.finished_at
    except Exception as error:  # noqa: BLE001 - the job says why
        with database.unit_of_work() as session:
            job = session.get(Job, job_id)
            job.status, job.error, job.finished_at = FAILED, error_text(error), utcnow()
    _observe(database, job_id)
    return True


def _observe(database: Database, job_id: int) -> None:
    """The job's duration and outcome for the metrics (``ansinh_job_duration_seconds`` by kind)."""
    try:
        from ansinh.ops.metrics import observe_job

        with database.unit_of_work() as session:
            job = session.get(Job, job_id)
            seconds = (_aware(job.finished_at) - _aware(job.started_at or job.created_at)).total_seconds()
            observe_job(f"job_{job.kind}", max(0.0, seconds), failed=job.status != COMPLETED)
    except Exception:  # noqa: BLE001 - metrics never stop a job  # pragma: no cover
        pass


# --- reading ----------------------------------------------------------------------------------------------

def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def chunk_counts(session: Session, job_id: int) -> dict[str, int]:
    counts = dict(session.execute(select(JobChunk.status, func.count()).where(JobChunk.job_id == job_id)
                                  .group_by(JobChunk.status)).all())
    return {status: int(counts.get(status, 0)) for status in (PENDING, RUNNING, DONE, FAILED)}


def duration_seconds(job: Job, now: datetime | None = None) -> float | None:
    start = _aware(job.started_at)
    if start is None:
        return None
    end = _aware(job.finished_at) or now or utcnow()
    return round(max(0.0, (end - start).total_seconds()), 3)


def job_progress(session: Session, job: Job) -> dict:
    """How far a job has got (what the pages and ``ansinh jobs`` poll)."""
    counts = chunk_counts(session, job.id)
    total = max(job.chunks_total or 0, sum(counts.values()))
    ended = counts[DONE] + counts[FAILED]
    finished = job.status in FINISHED
    return {"id": job.id, "status": job.status, "finished": finished, "chunks_total": total,
            "chunks_done": counts[DONE], "chunks_failed": counts[FAILED], "chunks_running": counts[RUNNING],
            "chunks_pending": counts[PENDING],
            "percent": 100 if finished or not total else min(99, ended * 100 // total),
            "duration_seconds": duration_seconds(job)}


def job_view(session: Session, job: Job, *, chunks: bool = True) -> dict:
    """A job as the API shows it: who started it, its kind and parameters, its progress, result and errors,
    and (``chunks``) each chunk's state."""
    view = {"id": job.id, "kind": job.kind, "key": job.key, "params": job.params, "province": job.province,
            "status": job.status, "dispatch": job.dispatch, "created_by": job.created_by,
            "created_at": _iso(job.created_at), "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at), "result": job.result, "error": job.error,
            "progress": job_progress(session, job)}
    if chunks:
        view["chunks"] = [
            {"chunk": row.chunk, "status": row.status, "attempts": row.attempts, "worker": row.worker,
             "error": row.error, "started_at": _iso(row.started_at), "finished_at": _iso(row.finished_at)}
            for row in session.scalars(select(JobChunk).where(JobChunk.job_id == job.id).order_by(JobChunk.seq))]
        view["errors"] = [{"chunk": c["chunk"], "error": c["error"]} for c in view["chunks"]
                          if c["status"] == FAILED]
    return view


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment is not None else None


def wait_for_job(database: Database, job_id: int, *, timeout: float, poll: float = 0.5) -> Job:
    """Poll until the job has ended (or ``timeout`` seconds have passed); the job as last read."""
    deadline = time.monotonic() + timeout
    while True:
        with database.unit_of_work() as session:
            job = session.get(Job, job_id)
            if job.status in FINISHED or time.monotonic() > deadline:
                return job
        time.sleep(poll)
