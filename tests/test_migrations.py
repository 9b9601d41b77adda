"""The same migrations build the schema the models describe, on SQLite and PostgreSQL, and go back down."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ansinh.migrate import alembic_config, head_revision, include_object
from ansinh.models import metadata


def test_models_and_migrations_agree(migrated_database):
    with migrated_database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                 "include_object": include_object})
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == head_revision()


def test_downgrade_and_upgrade_again(migrated_database):
    from alembic import command

    engine = migrated_database.engine
    with engine.connect() as connection:
        command.downgrade(alembic_config(migrated_database.url, connection), "base")
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        command.upgrade(alembic_config(migrated_database.url, connection), "head")
        assert "audit_event" in inspect(connection).get_table_names()
        connection.commit()
