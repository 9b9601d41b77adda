"""Claims settlement benchmark: a province-month of 1,000,000 appraised claims across 300 facilities, settled.

On PostgreSQL (a database of its own, :mod:`bench.postgres`): one province office, 300 facilities (through the
facilities service), one advance per facility, and the claims of one settlement month inserted set-based with
``generate_series`` (status ``appraised``, amounts from the row number), then ``ANALYZE``.

Measured, best of ``ANSINH_BENCH_REPEATS`` (default 3; the settlements,
offsets and ledger entries deleted between runs):

- **settle**: :func:`ansinh.claims.settlement.service.settle_month` for every facility, one transaction each (its
  locks, aggregate, settlement row, advances offset, ledger posted, audit), one after the other;
- **floor**: one bare ``SELECT facility_code, count(*), sum(fund_claimed), sum(disallowed) … GROUP BY
  facility_code`` over the same rows (what any settlement must at least read).

Target: settle under 5 s. Environment: ``ANSINH_BENCH_CLAIMS`` (default 1,000,000), ``ANSINH_BENCH_FACILITIES``
(300), ``ANSINH_BENCH_REPEATS``, ``ANSINH_BENCH_KEEP=1`` keeps the database.
"""

from __future__ import annotations

import os
import time
from datetime import date

from sqlalchemy import text

CLAIMS = int(os.environ.get("ANSINH_BENCH_CLAIMS", "1000000"))
FACILITIES = int(os.environ.get("ANSINH_BENCH_FACILITIES", "300"))
REPEATS = int(os.environ.get("ANSINH_BENCH_REPEATS", "3"))
DB_NAME = "ansinh_bench_settlement"
MONTH = date(2026, 10, 1)
ON = date(2026, 11, 5)
TARGET_SECONDS = 5.0


def _codes() -> list[str]:
    return [f"01{n:03d}" for n in range(1, FACILITIES + 1)]


def _prepare(database) -> None:
    from ansinh.audit.service import audit_context
    from ansinh.auth import service as auth_service
    from ansinh.auth.models import OrgLevel
    from ansinh.cards import facilities
    from ansinh.claims.models import ClaimFile
    from ansinh.claims.settlement import service

    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as s:
        national = auth_service.create_org_unit(s, code="VSS", name="VSS", level=OrgLevel.national, place_code="VN")
        hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                             place_code="01", parent=national)
        for code in _codes():
            facilities.create_facility(s, facilities.FacilityData(code=code, name=f"Bệnh viện {code}",
                                                                  level="provincial"), hanoi)
        file = ClaimFile(facility_code="01001", org_unit_id=hanoi.id, sha256="0" * 64, file_name="bench.xml",
                         size_bytes=1, status="accepted", received_by="bench")
        s.add(file)
        s.flush()
        s.execute(text("""
            INSERT INTO claim (file_id, facility_code, episode_key, version, full_name, arrived_at, total_hospital,
                               total_insured, patient_copay, patient_pays, fund_claimed, other_sources,
                               settlement_year, settlement_month, status, outcome_status, disallowed, province_2025,
                               org_unit_id, received_at, care_type)
            SELECT :file, '01' || lpad((1 + g % :facilities)::text, 3, '0'), 'LK' || g, 1, 'Bệnh nhân ' || g,
                   timestamptz '2026-10-01 01:00+00' + (g % 30) * interval '1 day', 200000 + g % 997 * 1000,
                   200000 + g % 997 * 1000, 20000, 0, 180000 + g % 997 * 900, 0, :year, :month, 'appraised',
                   CASE WHEN g % 20 = 0 THEN 'partly_accepted' ELSE 'accepted' END,
                   CASE WHEN g % 20 = 0 THEN 30000 ELSE 0 END, '01', :unit, now(), '01'
            FROM generate_series(1, :n) AS g"""),
                  {"file": file.id, "facilities": FACILITIES, "year": MONTH.year, "month": MONTH.month,
                   "unit": hanoi.id, "n": CLAIMS})
        for code in _codes():
            service.record_advance(s, principal=None, facility_code=code, reference=f"UT-{code}",
                                   paid_on=date(2026, 10, 2), amount=100_000_000, period_from=MONTH)
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE claim"))


def _reset(database) -> None:
    with database.unit_of_work() as s:
        s.execute(text("DELETE FROM claim_advance_offset"))
        s.execute(text("UPDATE claim_advance SET offset_amount = 0"))
        s.execute(text("DELETE FROM ledger_entry WHERE source_type IN ('settlement', 'advance_offset')"))
        s.execute(text("DELETE FROM claim_settlement"))


def _floor(database) -> float:
    with database.engine.connect() as connection:
        started = time.perf_counter()
        rows = connection.execute(text(
            "SELECT facility_code, count(*), sum(fund_claimed), sum(disallowed) FROM claim "
            "WHERE settlement_year = :y AND settlement_month = :m AND superseded_at IS NULL GROUP BY facility_code"),
            {"y": MONTH.year, "m": MONTH.month}).all()
        seconds = time.perf_counter() - started
    assert len(rows) == FACILITIES
    return seconds


def _settle(database) -> tuple[float, int, int]:
    from ansinh.audit.service import audit_context
    from ansinh.claims.settlement import service

    settled = accepted = 0
    started = time.perf_counter()
    with audit_context(channel="job", actor_username="bench"):
        for code in _codes():
            with database.unit_of_work() as s:
                done = service.settle_month(s, principal=None, facility_code=code, month=MONTH, on=ON)
                settled += done.settlement.claims
                accepted += done.settlement.accepted
    return time.perf_counter() - started, settled, accepted


def run() -> dict:
    from bench.postgres import drop_database_unless_kept, fresh_database
    from ansinh.db import Database

    url = fresh_database(DB_NAME)
    database = Database(url)
    try:
        started = time.perf_counter()
        _prepare(database)
        prepare_seconds = round(time.perf_counter() - started, 1)
        floors, settles = [], []
        for repeat in range(REPEATS):
            if repeat:
                _reset(database)
            floors.append(_floor(database))
            seconds, settled, accepted = _settle(database)
            assert settled == CLAIMS, (settled, CLAIMS)
            settles.append(seconds)
        with database.unit_of_work() as s:
            balance = int(s.execute(text("SELECT coalesce(sum(amount), 0) FROM ledger_entry")).scalar())
    finally:
        database.dispose()
        drop_database_unless_kept(DB_NAME)
    settle, floor = min(settles), min(floors)
    return {"claims": CLAIMS, "facilities": FACILITIES, "prepare_seconds": prepare_seconds,
            "settle_seconds": round(settle, 3), "settle_runs": [round(x, 3) for x in settles],
            "claims_per_second": round(CLAIMS / settle), "floor_group_by_seconds": round(floor, 3),
            "settle_over_floor": round(settle / floor, 1), "accepted": accepted, "ledger_sum": balance,
            "cores": os.cpu_count(), "target_seconds": TARGET_SECONDS, "within_target": settle < TARGET_SECONDS}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
