"""The database: engine, declarative base, and the one way to open a unit of work.

The caller (a request, a CLI command, a job) owns the transaction: it opens a unit of work with
:func:`unit_of_work`, calls services (which flush but never commit), and the unit of work commits
on success or rolls back on any exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

from sqlalchemy import Boolean, DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time, stored as UTC on every database.

    PostgreSQL keeps ``timestamptz`` and compares moments whatever their zone. SQLite keeps text and drops the zone
    of a value it is given, so midnight in Vietnam (17:00 UTC the day before) would be stored and compared as
    midnight UTC: a "today" count made after 17:00 UTC would find nothing. Every aware value is therefore turned
    to UTC before it reaches the database, and what SQLite returns (naive, UTC) comes back aware. A day compared
    with a moment (``looked_up_at >= date(2026, 12, 6)``) means its start in Vietnam, the agency's day."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | date | None, dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            from ansinh.clock import VIETNAM

            value = datetime.combine(value, time.min, tzinfo=VIETNAM)
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """Timezone-aware UTC now (from :mod:`ansinh.clock`, the one clock the application reads)."""
    from ansinh.clock import utcnow as now

    return now()


class per_dialect(ColumnElement[bool]):  # noqa: N801 - used like a SQL function
    """A condition written one way for PostgreSQL (where an index of its own answers it) and another way for every
    other database: ``per_dialect(postgresql=..., default=...)``. Both are ordinary expressions with bound values,
    so the statement is cached as any other."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [("postgresql", InternalTraversal.dp_clauseelement),
                           ("default", InternalTraversal.dp_clauseelement)]

    def __init__(self, *, postgresql: ColumnElement[bool], default: ColumnElement[bool]) -> None:
        self.postgresql = postgresql
        self.default = default


@compiles(per_dialect)
def _per_dialect_default(element: per_dialect, compiler, **kw) -> str:
    return f"({compiler.process(element.default, **kw)})"


@compiles(per_dialect, "postgresql")
def _per_dialect_postgresql(element: per_dialect, compiler, **kw) -> str:
    return f"({compiler.process(element.postgresql, **kw)})"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - driver callback
    # Let SQLAlchemy, not the driver, open transactions, so that BEGIN and SAVEPOINT behave
    # (the pysqlite recipe from the SQLAlchemy documentation).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # ``search_key`` in SQL (SQLite has no ``translate``): names searched without accents (see cards.facilities).
    from ansinh.registry.identifiers import search_key

    dbapi_connection.create_function("search_key", 1, lambda text: None if text is None else search_key(text),
                                     deterministic=True)


#: How long a statement waits for a row or table lock before failing (PostgreSQL ``lock_timeout``), and how long a
#: statement may run (``statement_timeout``): a request never waits without end for another one; the waiter fails
#: cleanly (503, "try again") and changes nothing. Batch work that legitimately waits longer says so for its own
#: transaction with :func:`allow_waiting`.
LOCK_TIMEOUT_MS = 5_000
STATEMENT_TIMEOUT_MS = 60_000
#: A transaction left open and idle (a process that hung mid-request) is ended after this long.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 300_000


def make_engine(url: str, *, lock_timeout_ms: int | None = None, statement_timeout_ms: int | None = None,
                **kwargs) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
        return engine
    # Optimistic disconnect handling: a request that finds its pooled connection dead fails once and the pool is
    # renewed (SQLAlchemy invalidates it on a disconnect error); connections are recycled every half hour. A
    # "pre-ping" before every checkout would cost a round trip per request (5% of a card lookup's throughput).
    lock_ms = LOCK_TIMEOUT_MS if lock_timeout_ms is None else lock_timeout_ms
    statement_ms = STATEMENT_TIMEOUT_MS if statement_timeout_ms is None else statement_timeout_ms
    connect_args = dict(kwargs.pop("connect_args", {}) or {})
    options = connect_args.get("options", "")
    parsed = make_url(url)
    if "options" in parsed.query:  # the URL's own options (``?options=-csearch_path%3Dx``) are kept, first
        options = f"{parsed.query['options']} {options}".strip()
        url = parsed.difference_update_query(["options"])
    connect_args["options"] = (f"{options} -c lock_timeout={int(lock_ms)} -c statement_timeout={int(statement_ms)}"
                               f" -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}"
                               # No JIT compilation: it costs a request 0.1–0.4 s of compiling whenever the planner
                               # expects a large sort (a search matching a third of a province), and pays back only
                               # on long analytical queries.
                               " -c jit=off").strip()
    kwargs["connect_args"] = connect_args
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class Database:
    """An engine and its session factory. One per process (see :func:`get_database`)."""

    def __init__(self, url: str, engine: Engine | None = None, session_factory: sessionmaker | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.session_factory = session_factory or sessionmaker(bind=self.engine, expire_on_commit=False)

    def bound_to(self, connection) -> "Database":
        """A Database whose units of work run inside an outer transaction on ``connection``: their
        commits become savepoints (used by tests to roll everything back afterwards)."""
        factory = sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
        return Database(self.url, engine=self.engine, session_factory=factory)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit when the block ends normally, roll back on any exception."""
        session = self.session_factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for work that commits itself whatever it writes (the card lookup at the desk, whose log goes to
        a batch writer): closed when the block ends, and anything left uncommitted rolled back. Without the final
        commit of :meth:`unit_of_work`, which costs a transaction's bookkeeping even when nothing was done."""
        session = self.session_factory()
        try:
            yield session
        finally:
            if session.in_transaction() or len(session.identity_map):  # else nothing to roll back or release
                session.close()

    def ping(self) -> None:
        from sqlalchemy import text

        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def allow_waiting(session: Session, *, lock_timeout_ms: int = 60_000, statement_timeout_ms: int = 0) -> None:
    """For the rest of this transaction, wait longer for locks and let statements run longer (0: no limit): batch
    work (an import of 100,000 lines, a billing chunk) that runs on a worker thread, never on the event loop, and
    that would rather queue behind another batch than fail. No effect on SQLite (whose writers wait
    ``busy_timeout``)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))
        session.execute(text(f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}"))


_database: Database | None = None


def get_database() -> Database:
    global _database
    if _database is None:
        from ansinh.config import get_settings

        settings = get_settings()
        _database = Database(settings.database_url, engine=make_engine(
            settings.database_url, lock_timeout_ms=settings.db_lock_timeout_ms,
            statement_timeout_ms=settings.db_statement_timeout_ms))
    return _database


def set_database(database: Database | None) -> None:
    """Replace the process-wide database (tests, or a CLI given another URL)."""
    global _database
    _database = database


def unit_of_work() -> "contextmanager[Session]":
    return get_database().unit_of_work()
