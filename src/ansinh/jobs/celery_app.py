"""The Celery application of the workers (``ansinh worker``) and of the processes that send them chunks.

Its broker is ``ANSINH_BROKER_URL`` (RabbitMQ in production: ``amqp://user:password@host:5672//``); no result
backend (a chunk's outcome is its ``job_chunk`` row). Tasks are acknowledged late and given back to the broker
when their worker dies (``acks_late``, ``task_reject_on_worker_lost``), one at a time per worker process
(prefetch 1): a chunk in progress on a worker that is killed is delivered to another."""

from __future__ import annotations

from functools import lru_cache

from celery import Celery


def make_celery(broker_url: str, queue: str = "ansinh") -> Celery:
    app = Celery("ansinh", broker=broker_url, include=["ansinh.jobs.tasks"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=queue,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        enable_utc=True,
    )
    return app


@lru_cache(maxsize=8)
def celery_app(broker_url: str | None = None, queue: str | None = None) -> Celery:
    """The application for a broker (by default the settings'), made once per process."""
    from ansinh.config import get_settings

    settings = get_settings()
    return make_celery(broker_url or settings.broker_url, queue or settings.job_queue)
