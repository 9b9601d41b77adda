"""A PostgreSQL database of its own for each benchmark: dropped, created and migrated fresh, dropped after.

``ANSINH_BENCH_POSTGRES_URL`` names the server (default ``postgresql+psycopg://127.0.0.1:5432/test``, trust auth);
the benchmark database sits beside that one on the same server."""

from __future__ import annotations

import os

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


def fresh_database(name: str) -> str:
    """Drop (if any), create and migrate the database ``name``; its URL."""
    drop_database(name)
    _admin(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    upgrade_database(url)
    return url


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
