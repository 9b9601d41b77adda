"""The log of desk lookups, written in batches.

A province's facilities look up cards thousands of times a minute at peak. Writing each lookup's log entry and its
audit event in the request's own transaction made every lookup wait for the disk and cost three more round trips
to the database; the web server instead hands them to a writer that commits them every ``interval`` seconds (by
default 0.1 s, ``ANSINH_LOOKUP_LOG_FLUSH_MS``) in one transaction, durably. The answer to the desk never waits for
the log.

What this trades: if the server process is killed outright (not stopped: stopping flushes), the entries of at most
the last interval are lost. If the database refuses a batch, it is kept and retried with the next one, up to
``max_pending`` entries, beyond which the oldest are dropped and an error is logged each time.

Commands and tests write the log in the caller's transaction instead (no writer running).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import insert

from ansinh.audit.models import AuditEvent
from ansinh.cards.models import CardLookup
from ansinh.db import Database

logger = logging.getLogger(__name__)


class LookupLogWriter:
    """Collects (lookup, audit event) rows from request threads and commits them in batches from its own thread."""

    def __init__(self, database: Database, *, interval: float = 0.1, max_pending: int = 1_000_000) -> None:
        self.database = database
        self.interval = interval
        self.max_pending = max_pending
        self._lookups: list[dict] = []
        self._events: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="card-lookup-log", daemon=True)

    def add(self, lookup: dict, event: dict | None) -> None:
        with self._lock:
            self._lookups.append(lookup)
            if event is not None:
                self._events.append(event)

    def flush(self) -> int:
        """Commit what is pending; the number of lookups written."""
        with self._lock:
            lookups, self._lookups = self._lookups, []
            events, self._events = self._events, []
        if not lookups and not events:
            return 0
        try:
            with self.database.unit_of_work() as session:
                connection = session.connection()
                if lookups:
                    connection.execute(insert(CardLookup), lookups)
                if events:
                    connection.execute(insert(AuditEvent), events)
        except Exception:
            logger.exception("card lookup log: %d entries not written, kept for the next batch", len(lookups))
            with self._lock:
                self._lookups[:0] = lookups
                self._events[:0] = events
                overflow = len(self._lookups) - self.max_pending
                if overflow > 0:
                    logger.error("card lookup log: %d oldest entries dropped", overflow)
                    del self._lookups[:overflow]
            raise
        return len(lookups)

    def start(self) -> LookupLogWriter:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - logged in flush; the entries wait for the next batch
                pass
