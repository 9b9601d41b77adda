"""Rows written in batches from a thread of their own: the card lookup log and the audit events of reads and
refusals that must not make a request wait for the disk (or, for a refusal, that must outlive the request's
rolled-back transaction).

The web server hands rows to a :class:`BatchWriter`, which commits whatever is pending every ``interval`` seconds in
one transaction, durably. What this trades: if the process is killed outright (not stopped: stopping flushes), the
rows of at most the last interval are lost. If the database refuses a batch, it is kept and retried with the next
one, up to ``max_pending`` rows, beyond which the oldest are dropped and an error is logged each time.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Table, insert

from ansinh.db import Database

logger = logging.getLogger(__name__)


class BatchWriter:
    """Collects rows of tables from request threads (or the event loop: adding never blocks on the database) and
    commits them in batches from its own thread. Tables are written in the order they were first given."""

    name = "batch-writer"

    def __init__(self, database: Database, *, interval: float = 0.1, max_pending: int = 1_000_000) -> None:
        self.database = database
        self.interval = interval
        self.max_pending = max_pending
        self._pending: dict[Table, list[dict]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def add_rows(self, *batches: tuple[Table, list[dict]]) -> None:
        """Queue rows: ``add_rows((table, [row, ...]), ...)``."""
        with self._lock:
            for table, rows in batches:
                if rows:
                    self._pending.setdefault(table, []).extend(rows)

    def pending(self) -> int:
        with self._lock:
            return sum(len(rows) for rows in self._pending.values())

    def flush(self) -> int:
        """Commit what is pending; the number of rows written."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0
        try:
            with self.database.unit_of_work() as session:
                connection = session.connection()
                for table, rows in batch.items():
                    connection.execute(insert(table), rows)
        except Exception:
            count = sum(len(rows) for rows in batch.values())
            logger.exception("%s: %d rows not written, kept for the next batch", self.name, count)
            with self._lock:
                for table, rows in batch.items():
                    kept = rows + self._pending.get(table, [])
                    overflow = len(kept) - self.max_pending
                    if overflow > 0:
                        logger.error("%s: %d oldest rows of %s dropped", self.name, overflow, table.name)
                        del kept[:overflow]
                    self._pending[table] = kept
            raise
        return sum(len(rows) for rows in batch.values())

    def start(self) -> BatchWriter:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - logged in flush
            pass

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - logged in flush; the rows wait for the next batch
                pass
