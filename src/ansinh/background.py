"""Batch work started from a web page (a month's billing, a month's payroll): it runs on a thread of its own and the
page is answered as soon as the run's record exists; the page then follows its progress. The work itself is the same
function the CLI runs (idempotent and resumable by its run record), so the task layer of a later issue can hand it to
a worker instead without changing it.

When the database is one shared connection (the tests' SQLite) the work runs here, to its end.
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

#: Errors of runs started in the background, by the run's key, for the page that shows the run.
_ERRORS: dict[Hashable, DomainError | str] = {}


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
    if shared:
        work()
        found = find()
        if found is None:  # pragma: no cover - the work creates its record or raises
            raise busy()
        return int(found)
    _ERRORS.pop(key, None)
    outcome: dict[str, BaseException] = {}
    done = threading.Event()

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - kept for the page
            outcome["error"] = exc
            _ERRORS[key] = exc if isinstance(exc, DomainError) else repr(exc)
        finally:
            done.set()

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name=name, daemon=True).start()
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
