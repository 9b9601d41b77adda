"""The report's questions side by side on PostgreSQL, on connections sharing the caller's snapshot: the same answers
as one after the other, and never when the caller's transaction has written (other connections could not see it)."""

from __future__ import annotations


import pytest
from sqlalchemy import text

from ansinh.audit.service import audit_context
from ansinh.targets.indicators.service import indicator_results
from ansinh.targets.indicators.sources import Sources
from ansinh.targets.periods import parse_period
from tests.conftest import _PG_PROBLEM, POSTGRES_URL, _migrated_postgres


def test_on_sqlite_and_in_a_transaction_that_wrote_the_questions_run_on_the_caller_s_session(session, org):
    from ansinh.targets.plans.service import import_plans

    import_plans(session, content=b"indicator,province,year,value,source,effective_from\n"
                                  b"participants.hi,01,2026,5,QD,2026-01-01\n", file_name="p.csv",
                 principal=None, actor="t")  # a write of this transaction
    assert Sources(session)._side_by_side([("citizen_ids", ()), ("e_transactions", ())]) is None


@pytest.mark.postgres
@pytest.mark.skipif(_PG_PROBLEM is not None, reason="PostgreSQL unavailable")
def test_side_by_side_on_a_shared_snapshot_gives_the_answers_of_one_after_the_other(monkeypatch):
    from ansinh.targets.indicators import sources

    monkeypatch.setattr(sources, "PARALLEL_CONNECTIONS", 3)  # side by side also on a machine of 2 cores
    from ansinh.db import make_engine

    database, schema = _migrated_postgres()
    try:
        with audit_context(channel="job", actor_username="test"), database.unit_of_work() as session:
            from ansinh.auth import service as auth_service
            from ansinh.auth.models import OrgLevel

            national = auth_service.create_org_unit(session, code="VSS", name="VSS", level=OrgLevel.national,
                                                    place_code="VN")
            hanoi = auth_service.create_org_unit(session, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                                 place_code="01", parent=national)
            sonla = auth_service.create_org_unit(session, code="BHXH-14", name="Sơn La", level=OrgLevel.province,
                                                 place_code="14", parent=national)

            class Org:  # what the world needs of the org fixture
                pass
            org = Org()
            org.national, org.hanoi, org.sonla = national, hanoi, sonla
            _world(session, org)
        period = parse_period("2026-Q3")
        with database.unit_of_work() as session:
            parallel = Sources(session)
            assert parallel._side_by_side([("citizen_ids", ()), ("e_transactions", ())]) is not None
            together = indicator_results(session, None, province="01", period=period, sources=parallel)
            alone = indicator_results(session, None, province="01", period=period,
                                      sources=Sources(session, parallel=False))
            assert together == alone
            values = {item["code"]: item["value"] for item in together["indicators"]}
            assert (values["participants.si_compulsory"], values["hi.uncovered_people"]) == (2, 3)
            # the side connections were given back (the pool ends their transactions): only the session's is out.
            # (Counting the database's connections idle in a transaction counted other tests' too: each test runs in
            # a transaction of its own.)
            assert database.engine.pool.checkedout() == 1
    finally:
        database.dispose()
        admin = make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _world(session, org):
    from tests.targets.test_indicators import build_world

    return build_world(session, org)
