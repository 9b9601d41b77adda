"""The same migrations build the schema the models describe, on SQLite and PostgreSQL, and go back down."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect, text
from sqlalchemy.exc import IntegrityError

from ansinh.db import make_engine
from ansinh.migrate import alembic_config, head_revision, include_object, upgrade_database
from ansinh.models import metadata
from tests.conftest import _PG_PROBLEM, POSTGRES_URL


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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_at_0030(request, tmp_path) -> Iterator[tuple[str, Connection]]:
    """A database of its own migrated up to 0030 (before the claims' lines had their month): its URL and a
    connection (PostgreSQL: in a schema of its own, dropped after)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'at-0030.db'}"
        engine, schema = make_engine(url), None
    else:
        if _PG_PROBLEM is not None:
            pytest.skip(f"PostgreSQL unavailable: {_PG_PROBLEM}")
        url, schema = POSTGRES_URL, f"ansinh_mig_{uuid.uuid4().hex[:10]}"
        with make_engine(url, pool_size=1, max_overflow=0).begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with engine.connect() as connection:
            upgrade_database(url, "0030_partitions", connection=connection)
            connection.commit()
            yield url, connection
    finally:
        engine.dispose()
        if schema is not None:
            admin = make_engine(url, pool_size=1, max_overflow=0)
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def test_0031_gives_each_claim_line_its_claims_month_and_goes_back(database_at_0030):
    from alembic import command

    from ansinh.auth.models import OrgUnit
    from ansinh.claims.models import Claim, ClaimFile, ClaimLine

    url, connection = database_at_0030
    unit = connection.execute(insert(OrgUnit.__table__).values(code="BHXH-01", name="Hà Nội", level="province",
                                                               place_code="01")).inserted_primary_key[0]
    file_id = connection.execute(insert(ClaimFile.__table__).values(
        facility_code="01001", org_unit_id=unit, sha256="0" * 64, file_name="f.xml", size_bytes=1,
        status="accepted", received_by="test")).inserted_primary_key[0]
    months = {"LK1": (2025, 12), "LK2": (2026, 1), "LK3": (2025, 12)}
    claims = {}
    for key, (year, month) in months.items():
        claims[key] = connection.execute(insert(Claim.__table__).values(
            file_id=file_id, facility_code="01001", episode_key=key, full_name="Test",
            arrived_at=datetime(year, month, 2, 1, 0, tzinfo=UTC), total_hospital=10, total_insured=10,
            patient_copay=0, patient_pays=0, fund_claimed=10, settlement_year=year, settlement_month=month,
            province_2025="01", org_unit_id=unit)).inserted_primary_key[0]
    line = {"kind": "drug", "code": "40.1", "quantity_milli": 1000, "unit_price_milli": 5000, "hospital_amount": 5,
            "insured_amount": 5, "fund_amount": 5}
    for key, claim_id in claims.items():  # the table's columns before 0031 (no claim_month)
        for row_no in (1, 2):
            connection.execute(insert(ClaimLine.__table__).values(
                claim_id=claim_id, source_table="XML2", row_no=row_no, **line))
    connection.commit()

    command.upgrade(alembic_config(url, connection), "0031_claim_line_partitions")
    connection.commit()
    lines = connection.execute(text("SELECT claim_id, claim_month FROM claim_line ORDER BY id")).all()
    assert [(claim_id, str(month)) for claim_id, month in lines] == [
        (claims[key], f"{months[key][0]:04d}-{months[key][1]:02d}-01") for key in months for _ in (1, 2)]
    assert not next(column for column in inspect(connection).get_columns("claim_line")
                    if column["name"] == "claim_month")["nullable"]
    if connection.dialect.name == "postgresql":
        where = dict(connection.execute(text(
            "SELECT claim_id, string_agg(DISTINCT tableoid::regclass::text, ',') FROM claim_line GROUP BY claim_id"
        )).all())
        assert where == {claims["LK1"]: "claim_line_p202512", claims["LK2"]: "claim_line_p202601",
                         claims["LK3"]: "claim_line_p202512"}
        assert connection.execute(text("SELECT partstrat FROM pg_partitioned_table "
                                        "WHERE partrelid = to_regclass('claim_line')")).scalar_one() == "r"
        # a new line takes the table's sequence, after the lines copied
        added = connection.execute(text(
            "INSERT INTO claim_line (claim_id, claim_month, source_table, row_no, kind, code, quantity_milli, "
            "unit_price_milli, hospital_amount, insured_amount, fund_amount, patient_copay, patient_pays, "
            "disallowed) VALUES (:c, '2026-01-01', 'XML3', 1, 'service', '01.1', 1000, 1000, 1, 1, 1, 0, 0, 0) "
            "RETURNING id, tableoid::regclass::text"), {"c": claims["LK2"]}).one()
        assert added[0] > max(row[0] for row in connection.execute(text("SELECT id FROM claim_line WHERE "
                                                                        "source_table = 'XML2'")))
        assert added[1] == "claim_line_p202601"
        connection.rollback()
    # the same row of the same claim is refused still
    with pytest.raises(IntegrityError):
        connection.execute(insert(ClaimLine.__table__).values(
            claim_id=claims["LK1"], claim_month=date(2025, 12, 1), source_table="XML2", row_no=1, **line))
    connection.rollback()

    command.downgrade(alembic_config(url, connection), "0030_partitions")
    connection.commit()
    assert "claim_month" not in {column["name"] for column in inspect(connection).get_columns("claim_line")}
    assert connection.execute(text("SELECT count(*) FROM claim_line")).scalar_one() == 6
    if connection.dialect.name == "postgresql":
        assert connection.execute(text("SELECT count(*) FROM pg_partitioned_table "
                                        "WHERE partrelid = to_regclass('claim_line')")).scalar_one() == 0
    with pytest.raises(IntegrityError):
        connection.execute(insert(ClaimLine.__table__).values(
            claim_id=claims["LK3"], source_table="XML2", row_no=2, **line))
    connection.rollback()
