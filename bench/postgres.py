"""A PostgreSQL database of its own for each benchmark: dropped, created and migrated fresh, dropped after.

``ANSINH_BENCH_POSTGRES_URL`` names the server (default ``postgresql+psycopg://127.0.0.1:5432/test``, trust auth);
the benchmark database sits beside that one on the same server."""

from __future__ import annotations

import os
from datetime import date

from sqlalchemy import text

from ansinh.db import make_engine
from ansinh.migrate import upgrade_database

ADMIN_URL = os.environ.get("ANSINH_BENCH_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _admin(statement: str) -> None:
    admin = make_engine(ADMIN_URL, pool_size=1, max_overflow=0, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(statement))
    admin.dispose()


#: The months whose partitions a benchmark database has (the tables partitioned by month, migration 0030), as a
#: deployment has after loading its history and running ``ansinh partitions ensure`` monthly: the benchmarks' rows
#: land in their months, not in the default partitions.
PARTITION_MONTHS = (date(2024, 1, 1), date(2027, 12, 1))


def fresh_database(name: str) -> str:
    """Drop (if any), create and migrate the database ``name``, with the partitions of :data:`PARTITION_MONTHS`;
    its URL."""
    from ansinh.db import Database
    from ansinh.ops.partitions import ensure_partitions

    drop_database(name)
    _admin(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    upgrade_database(url)
    database = Database(url)
    with database.unit_of_work() as session:
        ensure_partitions(session, since=PARTITION_MONTHS[0], through=PARTITION_MONTHS[1])
    database.dispose()
    return url


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_database_unless_kept(name: str) -> None:
    """Drop a benchmark's database after its run, unless ``ANSINH_BENCH_KEEP=1`` (to look at its plans or run again)."""
    if os.environ.get("ANSINH_BENCH_KEEP") != "1":
        drop_database(name)
