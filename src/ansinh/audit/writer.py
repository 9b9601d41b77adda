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

from sqlalchemy import Connection, Table, insert

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
                    insert_rows(connection, table, rows)
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



#: SQLite's most parameters in one statement (``SQLITE_MAX_VARIABLE_NUMBER``, 32,766 since SQLite 3.32).
SQLITE_MAX_PARAMETERS = 32_766


def insert_rows(connection: Connection, table: Table, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts), stored as ``connection.execute(insert(table), rows)`` stores them.

    On SQLite that call runs the statement once per row, and the driver gives up the interpreter's lock around each
    run and takes it back: the web server's event loop, which needs that lock, was interrupted twice per lookup by
    the writer of the lookup log (BENCHMARKS.md, issue 17: the lookups' ratio to a bare endpoint went from 35% to 40%
    on SQLite with one process when this changed). Here the rows go in one statement of many rows (as many as SQLite
    takes parameters). On PostgreSQL (psycopg) they are sent with ``COPY … FROM STDIN``: the writer's thread spent a
    sixth of the web process's CPU in SQLAlchemy's many-row insert, where psycopg's copy writes the rows in C.

    Either way each value is converted by its column's bind processor, as SQLAlchemy converts it. Rows of other keys
    than the first's, keys that are not columns, a column SQLAlchemy would fill itself (a default), and other
    drivers take SQLAlchemy's path."""
    if not rows:
        return
    keys = tuple(rows[0])
    plan = _plan(connection.dialect, table, keys)
    if plan is None or any(tuple(row) != keys for row in rows):
        connection.execute(insert(table), rows)
        return
    statement, processors = plan
    converted = ([value if convert is None else convert(value) for value, convert in zip(row.values(), processors)]
                 for row in rows)
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection  # the transaction's own psycopg connection
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for values in converted:
                copy.write_row(values)
        return
    head, _, one_row = statement.rpartition(" VALUES ")
    per_statement = max(1, SQLITE_MAX_PARAMETERS // len(keys))
    chunk: list = []
    for count, values in enumerate(converted, 1):
        chunk.extend(values)
        if count % per_statement == 0 or count == len(rows):
            connection.exec_driver_sql(f"{head} VALUES " + ",".join([one_row] * (len(chunk) // len(keys))),
                                       tuple(chunk))
            chunk = []


#: The statement and processors of each (database, driver, table, keys), or None where SQLAlchemy's path is taken.
_PLANS: dict[tuple, tuple[str, tuple] | None] = {}


def _plan(dialect, table: Table, keys: tuple[str, ...]) -> tuple[str, tuple] | None:
    """(statement, each key's bind processor) of ``keys`` into ``table``: on SQLite the insert of one row, on
    PostgreSQL with psycopg ``COPY t (a, b) FROM STDIN``. None for another database or driver, or when the insert
    SQLAlchemy compiles for these keys takes other parameters (a column's default) or takes them in another order."""
    cache_key = (dialect.name, dialect.driver, table, keys)
    if cache_key in _PLANS:
        return _PLANS[cache_key]
    plan = None
    copies = dialect.name == "postgresql" and dialect.driver == "psycopg"
    if (copies or dialect.name == "sqlite") and all(key in table.c for key in keys):
        compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
        processors = tuple(table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys)
        if copies and set(compiled.binds) == set(keys):
            preparer = dialect.identifier_preparer
            columns = ", ".join(preparer.quote(table.c[key].name) for key in keys)
            plan = (f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN", processors)
        elif (not copies and compiled.positional and tuple(compiled.positiontup) == keys
              and " RETURNING " not in compiled.string
              and compiled.string.endswith("(" + ", ".join("?" * len(keys)) + ")")):
            plan = (compiled.string, processors)
    _PLANS[cache_key] = plan
    return plan
