"""The Celery task of a job's chunk: :func:`ansinh.jobs.service.execute_chunk` on a worker, tried again after a
wait that doubles when it failed, later when another worker holds the chunk; the chunk's row counts the
attempts (a worker that died counts too), so that a chunk that keeps failing ends ``failed`` with its error."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_init

from ansinh.db import get_database, set_database

TASK_NAME = "ansinh.jobs.run_chunk"


@worker_process_init.connect
def _own_connections(**_kwargs) -> None:  # pragma: no cover - runs in a forked worker process
    """A forked worker process opens its own database connections."""
    set_database(None)


@shared_task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             max_retries=None)
def run_chunk(self, job_id: int, chunk: str) -> str:
    from ansinh.jobs.service import OUTCOME_BUSY, OUTCOME_RETRY, backoff_seconds, execute_chunk

    outcome = execute_chunk(get_database(), int(job_id), str(chunk), worker=self.request.hostname or "worker")
    if outcome.outcome == OUTCOME_RETRY:
        raise self.retry(countdown=backoff_seconds(outcome.attempts))
    if outcome.outcome == OUTCOME_BUSY:
        raise self.retry(countdown=backoff_seconds(1))
    return outcome.outcome
