"""Bulk writes for batch work (imports, synthetic data, later billing runs): a Polars frame into a table in one
pass, inside the caller's transaction. PostgreSQL: ``COPY ... FROM STDIN`` (binary-safe text format); SQLite:
``executemany`` in chunks. Row-level audit is not written for bulk rows: the caller records one event for the
batch (who, what, how many), as the flush listener does for bulk statements."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
from sqlalchemy import Table, insert
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
