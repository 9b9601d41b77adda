"""Sending a job's chunks to the workers: one Celery task a chunk, on the jobs' queue. Without a broker
(:func:`ansinh.jobs.service.start_job` decides) the chunks run in-process by the same code path instead."""

from __future__ import annotations

from collections.abc import Sequence


def send_chunks(job_id: int, chunks: Sequence[str], *, broker_url: str, queue: str | None = None) -> int:
    """Send one task per chunk (a chunk sent twice is run once: its row is the lock); returns how many."""
    from ansinh.config import get_settings
    from ansinh.jobs.celery_app import celery_app
    from ansinh.jobs.tasks import TASK_NAME

    queue = queue or get_settings().job_queue
    app = celery_app(broker_url, queue)
    with app.producer_or_acquire() as producer:
        for chunk in chunks:
            app.send_task(TASK_NAME, args=(job_id, chunk), queue=queue, producer=producer)
    return len(chunks)

