"""Bulk reads and writes for batch work (imports, synthetic data, the claims appraisal, later billing runs), inside
the caller's transaction. Writes: a Polars frame into a table in one pass (PostgreSQL: ``COPY ... FROM STDIN``;
SQLite: ``executemany`` in chunks). Reads: a select into a frame (PostgreSQL: ``COPY (SELECT ...) TO STDOUT`` read
by Polars, no Python object per value; SQLite: the rows). Row-level audit is not written for bulk rows: the caller
records one event for the batch (who, what, how many), as the flush listener does for bulk statements."""

from __future__ import annotations

import io
from collections.abc import Iterator

import polars as pl
from sqlalchemy import BigInteger, Enum, Select, String, Table, func, insert, text, type_coerce
from sqlalchemy.orm import Session

CHUNK_ROWS = 50_000


def _chunks(frame: pl.DataFrame, size: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    for offset in range(0, frame.height, size):
        yield frame.slice(offset, size)


def with_defaults(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Add the columns the frame lacks that have a Python-side default (``created_at``...), evaluated once for
    the whole batch: COPY and executemany do not run the ORM's defaults."""
    extra = {}
    for column in table.columns:
        if column.name in frame.columns or column.default is None or column.primary_key:
            continue
        default = column.default
        value = default.arg(None) if getattr(default, "is_callable", False) else default.arg
        extra[column.name] = pl.lit(value)
    return frame.with_columns(**extra) if extra else frame


def bulk_insert(session: Session, table: Table, frame: pl.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named as the table's) and return the count. Enum columns are
    given as their stored text; dates and datetimes as Polars dates."""
    if frame.is_empty():
        return 0
    frame = with_defaults(table, frame)
    columns = list(frame.columns)
    unknown = set(columns) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"{table.name}: no column(s) {sorted(unknown)}")
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection  # psycopg 3
        names = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN WITH (FORMAT csv, NULL \'\\N\')') as copy:
                for chunk in _chunks(frame):  # CSV text made by Polars: no Python loop per row
                    copy.write(chunk.write_csv(include_header=False, null_value="\\N").encode())
        return frame.height
    statement = insert(table)
    for chunk in _chunks(frame):
        connection.execute(statement, chunk.to_dicts())
    return frame.height


def read_frame(session: Session, stmt: Select, schema: dict) -> pl.DataFrame:
    """The rows of ``stmt`` as a frame of ``schema`` (its names, in the order of the selected columns). Enum columns
    come as their stored text; a ``Datetime`` without a time zone is a moment in UTC. PostgreSQL: one
    ``COPY (SELECT ...) TO STDOUT`` written as CSV by the server and read by Polars (no Python object per value: the
    appraisal's millions of lines); an empty text stays empty, not null. SQLite: the rows, read as usual."""
    columns = list(stmt.selected_columns)
    if len(columns) != len(schema):
        raise ValueError(f"read_frame: {len(columns)} columns selected, {len(schema)} in the schema")
    columns = [type_coerce(column, String()) if isinstance(column.type, Enum) else column for column in columns]
    aware = {name: _aware(dtype) for name, dtype in schema.items()}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        frame = _copied_frame(connection, stmt, columns, aware)
    else:
        rows = connection.execute(stmt.with_only_columns(*columns, maintain_column_froms=True)).all()
        frame = pl.DataFrame([tuple(row) for row in rows], schema=aware, orient="row")
    return frame.with_columns(pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                              if dtype.time_zone is None else pl.col(name).dt.convert_time_zone(dtype.time_zone)
                              for name, dtype in schema.items() if isinstance(dtype, pl.Datetime))


def _aware(dtype):
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return pl.Datetime(dtype.time_unit or "us", "UTC")
    return dtype


def _copied_frame(connection, stmt: Select, columns: list, schema: dict) -> pl.DataFrame:
    """PostgreSQL: the select written out as CSV by the server (moments as microseconds since the epoch, booleans
    as t/f) and read by Polars. The statement is compiled with its values inline (COPY takes no parameters): they
    are the caller's own (ids, codes, dates), rendered by the dialect."""
    moments = [name for name, dtype in schema.items() if isinstance(dtype, pl.Datetime)]
    flags = [name for name, dtype in schema.items() if dtype == pl.Boolean]
    selected = [(func.floor(func.extract("epoch", column) * 1_000_000).cast(BigInteger) if name in moments
                 else column).label(name) for name, column in zip(schema, columns)]
    sql = str(stmt.with_only_columns(*selected, maintain_column_froms=True).compile(
        dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    buffer = io.BytesIO()
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, NULL '\\N')") as copy:
            for block in copy:
                buffer.write(block)
    read = {name: (pl.Int64 if name in moments else pl.String if name in flags else dtype)
            for name, dtype in schema.items()}
    if buffer.tell() == 0:
        frame = pl.DataFrame(schema=read)
    else:
        frame = pl.read_csv(buffer.getvalue(), has_header=False, new_columns=list(schema), schema=read,
                            null_values="\\N", empty_string_is_null=False)
    return frame.with_columns(
        *(pl.col(name).cast(pl.Datetime("us")).dt.replace_time_zone("UTC").dt.convert_time_zone(
            schema[name].time_zone).dt.cast_time_unit(schema[name].time_unit) for name in moments),
        *((pl.col(name) == "t").alias(name) for name in flags))


def reserve_ids(session: Session, table: str, count: int) -> pl.Series:
    """``count`` fresh ids of a table for a bulk write (the sequence on PostgreSQL; max + 1 on SQLite, whose writers
    are serialised by the database lock)."""
    if count == 0:
        return pl.Series("id", [], dtype=pl.Int64)
    if session.get_bind().dialect.name == "postgresql":
        ids = session.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                   "FROM generate_series(1, :n)"), {"n": count}).scalars().all()
        return pl.Series("id", ids, dtype=pl.Int64).sort()
    first = int(session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar() or 0) + 1
    return pl.int_range(first, first + count, dtype=pl.Int64, eager=True).alias("id")
