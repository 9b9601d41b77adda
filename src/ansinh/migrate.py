"""Running the Alembic migrations from code (``ansinh db upgrade``, ``make run``, tests)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config

_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str, connection=None) -> Config:
    config = Config(str(_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_database(database_url: str, revision: str = "head", connection=None) -> None:
    command.upgrade(alembic_config(database_url, connection), revision)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The code's head migration, read once per process (reading it imports every migration file)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter for comparing the models with a database: the monthly partitions of a partitioned table
    (PostgreSQL, :mod:`ansinh.ops.partitions`) are the table's storage, not tables the models describe."""
    from ansinh.ops.partitions import is_partition_name

    if type_ == "table" and reflected and compare_to is None and is_partition_name(name):
        return False
    return True
