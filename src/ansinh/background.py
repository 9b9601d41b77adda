"""Batch work started from a web page (a month's billing, a month's payroll): it runs on a thread of its own and the
page is answered as soon as the run's record exists; the page then follows its progress. The work itself is the same
function the CLI runs (idempotent and resumable by its run record), so the task layer of a later issue can hand it to
a worker instead without changing it.

When the database is one shared connection (the tests' SQLite) the work runs here, to its end.

Each run's duration and outcome are counted for the metrics (``ansinh_job_duration_seconds``,
``ansinh_job_failures_total`` by job: the first part of its key, such as ``billing``), and a stopping server waits
for the runs in progress (:func:`wait_for_runs`) before it lets go of the database.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy.engine import Engine

from ansinh.db import Database
from ansinh.errors import DomainError
from ansinh.ops.metrics import observe_job

#: Errors of runs started in the background, by the run's key, for the page that shows the run.
_ERRORS: dict[Hashable, DomainError | str] = {}
#: The threads of the runs in progress in this process.
_RUNNING: set[threading.Thread] = set()
_RUNNING_LOCK = threading.Lock()


def _job(key: Hashable, name: str) -> str:
    """The job a run is counted under: the first part of its key (``billing``, ``payroll``), a bounded set."""
    return str(key[0]) if isinstance(key, tuple) and key else name


def _measured(job: str, work: Callable[[], Any]) -> Any:
    started = time.monotonic()
    failed = True
    try:
        result = work()
        failed = False
        return result
    finally:
        observe_job(job, time.monotonic() - started, failed=failed)


def wait_for_runs(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for the runs in progress to end (a stopping server); True if none is left. A
    run cut short by the process's end is resumed by its run record when started again."""
    deadline = time.monotonic() + timeout
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for thread in running:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in running)


def background_error(key: Hashable) -> DomainError | str | None:
    """The error that stopped the background run of ``key``, if one did."""
    return _ERRORS.get(key)


def start(database: Database, *, key: Hashable, name: str, work: Callable[[], Any], find: Callable[[], int | None],
          busy: Callable[[], DomainError], wait_seconds: float = 5.0) -> int:
    """Run ``work`` on a thread and return the id ``find`` answers once the run's record exists. An error before
    the record exists (a conflict, a rule not in force) is raised here; a later one is kept for
    :func:`background_error`. ``busy`` makes the error for a run that does not appear in ``wait_seconds`` (another
    process is starting it)."""
    shared = not isinstance(database.session_factory.kw.get("bind"), Engine)
    job = _job(key, name)
    if shared:
        _measured(job, work)
        found = find()
        if found is None:  # pragma: no cover - the work creates its record or raises
            raise busy()
        return int(found)
    _ERRORS.pop(key, None)
    outcome: dict[str, BaseException] = {}
    done = threading.Event()

    def run() -> None:
        try:
            _measured(job, work)
        except BaseException as exc:  # noqa: BLE001 - kept for the page
            outcome["error"] = exc
            _ERRORS[key] = exc if isinstance(exc, DomainError) else repr(exc)
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(thread)
            done.set()

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(run,), name=name, daemon=True)
    with _RUNNING_LOCK:
        _RUNNING.add(thread)
    thread.start()
    deadline = time.monotonic() + wait_seconds
    while True:
        finished = done.wait(0.1)
        if finished and isinstance(outcome.get("error"), DomainError) and find() is None:
            raise outcome["error"]
        found = find()
        if found is not None:
            return int(found)
        if finished or time.monotonic() > deadline:
            error = outcome.get("error")
            if isinstance(error, DomainError):
                raise error
            raise busy()
