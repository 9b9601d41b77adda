"""The card lookup's read, on a connection of the desk's own (issue 17).

A lookup is one indexed read (tens of microseconds in the database). Run through a Session and SQLAlchemy's
execution layer it cost about ten times that in Python: the connection checked out of the pool, switched to
autocommit and back, the compiled-statement cache looked up, the execution context and the result built. The web
server instead runs the lookup's statements, compiled once for its database, straight on DBAPI connections it keeps
(as many as lookups run at once) in autocommit (a read writes nothing), and turns the row's values with the columns' own result
processors (a date stored as text on SQLite comes back a date, as through SQLAlchemy).

Commands and tests read through the caller's session instead (no reader installed, :func:`ansinh.cards.service.
use_desk_reader`). A driver error is raised as SQLAlchemy's ``DBAPIError`` (as through the session: the same error
answers) and the connection is closed; the next lookup opens another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select


#: How much of an SQLite database file the desk's connections map in memory (address space, not memory used).
SQLITE_MMAP_BYTES = 1 << 30


class _Prepared:
    """One statement compiled for a dialect: its SQL, its parameters but one ("key"), its result processors."""

    def __init__(self, statement: Select, dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        params = compiled.construct_params(_check=False)  # the values bound in the statement (its LIMIT)
        self.positional = compiled.positional
        self.names = list(compiled.positiontup or []) if self.positional else None
        self.params = params
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                      for column in statement.selected_columns]
        self.width = len(processors)
        self.processors = [(index, process) for index, process in enumerate(processors) if process is not None]

    def parameters(self, values: dict):
        params = {**self.params, **values}
        return tuple(params[name] for name in self.names) if self.positional else params

    def row(self, raw):
        if raw is None:
            return None
        assert len(raw) == self.width
        values = list(raw)
        for index, process in self.processors:
            if values[index] is not None:
                values[index] = process(values[index])
        return tuple(values)


class DeskReader:
    """Runs named statements (``{"citizen_id": select(...), ...}``) on DBAPI connections of its own, kept between
    lookups."""

    def __init__(self, engine: Engine, statements: dict[str, Select],
                 connect: Callable[[], object] | None = None, async_connections: int = 4) -> None:
        self.dialect = engine.dialect
        self.engine = engine
        self._prepared = {name: _Prepared(statement, self.dialect) for name, statement in statements.items()}
        #: How a connection is opened (tests: the connection of their outer transaction)
        self._connect = connect or self._autocommit_connection
        #: :meth:`first_async` opens connections of its own: not when the connection is given (a test's)
        self.reads_async = connect is None and engine.dialect.name == "postgresql"
        #: (connection, cursor) not in use: as many as lookups ran at once (one on the event loop, the lane's
        #: threads otherwise)
        self._idle: list[tuple] = []
        self._opened: dict[int, object] = {}  # id of a DBAPI connection opened here → its pool wrapper
        self._lock = threading.Lock()
        #: PostgreSQL: the asynchronous connections of :meth:`first_async` (one event loop: no lock needed)
        self.async_connections = async_connections
        self._async_gate = None
        self._async_dsn: tuple[str, str | None] | None = None
        self._idle_async: list = []
        self._async_opened: list = []

    def _autocommit_connection(self):
        fairy = self.engine.raw_connection()  # set up as the pool's (SQLite's pragmas, PostgreSQL's timeouts)
        fairy.detach()  # the desk's own, outside the pool's count
        connection = fairy.dbapi_connection
        self.dialect.set_isolation_level(connection, "AUTOCOMMIT")
        if self.dialect.name == "sqlite":
            # the file mapped in memory: the index pages are read without a system call each (a fifth faster)
            connection.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        with self._lock:
            self._opened[id(connection)] = fairy
        return connection

    def first(self, name: str, values: dict) -> tuple | None:
        """The first row of the statement ``name`` with ``values`` for its parameters, or None."""
        prepared = self._prepared[name]
        with self._lock:
            held = self._idle.pop() if self._idle else None
        if held is None:  # a connection and its cursor, kept (a cursor runs one statement at a time)
            connection = self._connect()
            held = (connection, connection.cursor())
        connection, cursor = held
        params = prepared.parameters(values)
        try:
            cursor.execute(prepared.sql, params)
            raw = cursor.fetchone()
            if raw is not None and cursor.fetchone() is not None:  # LIMIT 1: never; this ends the statement
                raise AssertionError("more than one row")
        except self.dialect.loaded_dbapi.Error as error:
            self._close(connection)
            raise DBAPIError.instance(prepared.sql, params, error, self.dialect.loaded_dbapi.Error,
                                      dialect=self.dialect) from error
        with self._lock:
            self._idle.append(held)
        return prepared.row(raw)

    async def first_async(self, name: str, values: dict) -> tuple | None:
        """:meth:`first` on an asynchronous connection (PostgreSQL, psycopg's ``AsyncConnection``) of the calling event
        loop: while PostgreSQL answers, the loop serves other requests, with no thread to hand the lookup to and back.
        At most ``async_connections`` reads run at once (the others wait their turn)."""
        prepared = self._prepared[name]
        if self._async_gate is None:
            import asyncio

            self._async_gate = asyncio.Semaphore(self.async_connections)
        async with self._async_gate:
            connection = self._idle_async.pop() if self._idle_async else await self._connect_async()
            params = prepared.parameters(values)
            try:
                async with connection.cursor() as cursor:
                    await cursor.execute(prepared.sql, params)
                    raw = await cursor.fetchone()
            except self.dialect.loaded_dbapi.Error as error:
                await _close_async_quietly(connection)
                raise DBAPIError.instance(prepared.sql, params, error, self.dialect.loaded_dbapi.Error,
                                          dialect=self.dialect) from error
            self._idle_async.append(connection)
        return prepared.row(raw)

    async def _connect_async(self):
        """An asynchronous connection made as the engine's are: with the parameters of one of the engine's own
        connections (its server, database, user, and the options the engine sets: the timeouts, the schema), in
        autocommit."""
        import psycopg
        from anyio import to_thread

        if self._async_dsn is None:  # once: the engine's connection made on a thread, not on the event loop
            def parameters() -> tuple[str, str | None]:
                fairy = self.engine.raw_connection()
                try:
                    info = fairy.dbapi_connection.info
                    return info.dsn, info.password
                finally:
                    fairy.close()

            self._async_dsn = await to_thread.run_sync(parameters)
        dsn, password = self._async_dsn
        connection = await psycopg.AsyncConnection.connect(dsn, password=password, autocommit=True)
        self._async_opened.append(connection)
        return connection

    async def aclose(self) -> None:
        """Close the asynchronous connections (on their event loop, as the server stops)."""
        opened, self._async_opened, self._idle_async = self._async_opened, [], []
        for connection in opened:
            await _close_async_quietly(connection)

    def _close(self, connection) -> None:
        with self._lock:
            fairy = self._opened.pop(id(connection), None)
        if fairy is not None:  # else not ours (a test's connection)
            _close_quietly(fairy)

    def close(self) -> None:
        """Close the connections opened."""
        with self._lock:
            opened, self._opened, self._idle = self._opened, {}, []
        for fairy in opened.values():
            _close_quietly(fairy)


async def _close_async_quietly(connection) -> None:
    try:
        await connection.close()
    except Exception:  # noqa: BLE001 - already broken
        pass


def _close_quietly(fairy) -> None:
    try:
        fairy.close()  # detached: closes the DBAPI connection
    except Exception:  # noqa: BLE001 - already broken
        pass
