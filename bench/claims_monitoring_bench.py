"""Cost monitoring benchmark: the facility cost dashboard of a province-month of 1,000,000 claims, on PostgreSQL.

Data (its own database, dropped after; ``ANSINH_BENCH_KEEP=1`` keeps it): the province 01 with
``ANSINH_BENCH_MONITORING_FACILITIES`` (default 300) facilities of four levels and a few specialties, and another
province (02) with a tenth of them; claims inserted set-based (``generate_series``, no Python loop per row) for the
month measured (October 2026: ``ANSINH_BENCH_CLAIMS`` claims in province 01, default 1,000,000, a tenth of that in
province 02) and for the same month a year before (as many again), 85% outpatient examinations and 15% inpatient
stays of 1 to 10 days, costs spread by facility (one facility in 37 twice as dear: alerts); then ANALYZE.

Measured, best of ``ANSINH_BENCH_REPEATS`` (default 3) runs after one warm-up:

- **facility_costs**: ``ansinh.claims.monitoring.service.facility_costs`` for the province-month (visits, costs,
  stays and growth of every facility of the country from one GROUP BY over both months, the peer medians, the alerts
  of the province's facilities);
- **floor**: a bare ``SELECT facility_code, count(*), sum(total_insured) … GROUP BY facility_code`` over the current
  claims of the province-month — the least any answer about those rows must read.

Target: facility_costs under 5 s (the issue); the ratio to the floor is reported.
"""

from __future__ import annotations

import os
import time
from datetime import date

from sqlalchemy import text

CLAIMS = int(os.environ.get("ANSINH_BENCH_CLAIMS", "1000000"))
FACILITIES = int(os.environ.get("ANSINH_BENCH_MONITORING_FACILITIES", "300"))
REPEATS = int(os.environ.get("ANSINH_BENCH_REPEATS", "3"))
DB_NAME = "ansinh_bench_monitoring"
MONTH = date(2026, 10, 1)
TARGET_SECONDS = 5.0
LEVELS = ("provincial", "district", "district", "commune")
SPECIALTIES = ("general", "general", "general", "obstetrics", "paediatrics")


def build_monitoring_data(database, claims: int = CLAIMS, facilities_count: int = FACILITIES) -> dict:
    """The org units and facilities through the services, then the claims of both months set-based."""
    from ansinh.audit.service import audit_context
    from ansinh.auth import service as auth_service
    from ansinh.auth.models import OrgLevel
    from ansinh.cards import facilities

    started = time.perf_counter()
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as s:
        national = auth_service.create_org_unit(s, code="VSS", name="VSS", level=OrgLevel.national, place_code="VN")
        offices = {code: auth_service.create_org_unit(s, code=f"BHXH-{code}", name=f"BHXH {code}",
                                                      level=OrgLevel.province, place_code=code, parent=national)
                   for code in ("01", "02")}
        for province, count in (("01", facilities_count), ("02", max(1, facilities_count // 10))):
            for index in range(count):
                facilities.create_facility(s, facilities.FacilityData(
                    code=f"{province}{index + 1:03d}", name=f"Cơ sở {province}-{index + 1}",
                    level=LEVELS[index % len(LEVELS)], specialty=SPECIALTIES[index % len(SPECIALTIES)]),
                    offices[province])
        office_ids = {code: unit.id for code, unit in offices.items()}
    with database.unit_of_work() as s:
        file_id = s.execute(text(
            "INSERT INTO claim_file (facility_code, org_unit_id, sha256, file_name, size_bytes, status, claims, lines,"
            " problem_count, received_at, received_by) VALUES ('01001', :unit, repeat('0', 64), 'bench.xml', 0,"
            " 'accepted', 0, 0, 0, now(), 'bench') RETURNING id"), {"unit": office_ids["01"]}).scalar_one()
        for province, count, facility_count in (("01", claims, facilities_count),
                                                ("02", max(1, claims // 10), max(1, facilities_count // 10))):
            for year, salt in ((MONTH.year, 0), (MONTH.year - 1, 7)):
                s.execute(text(_INSERT), {"file": file_id, "n": count, "facilities": facility_count,
                                          "province": province, "unit": office_ids[province], "year": year,
                                          "month": MONTH.month, "salt": salt})
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE claim"))
        rows = connection.execute(text("SELECT count(*) FROM claim")).scalar_one()
    return {"claims_in_table": rows, "build_seconds": round(time.perf_counter() - started, 1)}


#: One month of claims of a province: facility i % n (costs scaled by facility), 15% inpatient stays.
_INSERT = """
INSERT INTO claim (file_id, facility_code, episode_key, version, full_name, card_code, care_type, arrived_at,
                   treatment_days, total_hospital, total_insured, patient_copay, patient_pays, fund_claimed,
                   other_sources, settlement_year, settlement_month, status, disallowed, province_2025, org_unit_id,
                   received_at)
SELECT :file, fac, :province || :year || '-' || g, 1, 'Nguyễn Văn A',
       'DN4' || :province || lpad(((g * 7919 + :salt) % 400000)::text, 10, '0'),
       CASE WHEN inpatient THEN '03' ELSE '01' END,
       make_timestamptz(CAST(:year AS int), CAST(:month AS int), CAST(1 + g % 28 AS int), 8, 0, 0, 'UTC'),
       CASE WHEN inpatient THEN 1 + g % 10 ELSE 0 END,
       cost, cost, cost / 5, 0, cost - cost / 5, 0, :year, :month, 'received', 0, :province, :unit, now()
FROM (SELECT g, :province || lpad((1 + g % :facilities)::text, 3, '0') AS fac, (g * 31 + :salt) % 100 < 15 AS inpatient,
             CASE WHEN (g * 31 + :salt) % 100 < 15 THEN 3000000 ELSE 200000 END
               * (80 + (g % :facilities) % 50 + CASE WHEN (g % :facilities) % 37 = 5 THEN 100 ELSE 0 END) / 100
               + (g * 13) % 1000 AS cost
      FROM generate_series(1::bigint, :n) AS g) AS made
"""


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def run() -> dict:
    from bench.postgres import drop_database_unless_kept, fresh_database
    from ansinh.claims.monitoring import service
    from ansinh.db import Database

    url = fresh_database(DB_NAME)
    database = Database(url)
    try:
        data = build_monitoring_data(database)

        def costs():
            with database.unit_of_work() as s:
                report = service.facility_costs(s, principal=None, month=MONTH, province="01")
                assert len(report.rows) == FACILITIES, len(report.rows)
                return report

        def floor():
            with database.unit_of_work() as s:
                rows = s.execute(text(
                    "SELECT facility_code, count(*), sum(total_insured) FROM claim WHERE superseded_at IS NULL"
                    " AND settlement_year = :y AND settlement_month = :m AND province_2025 = '01'"
                    " GROUP BY facility_code"), {"y": MONTH.year, "m": MONTH.month}).all()
                assert len(rows) == FACILITIES

        costs(), floor()  # warm-up: the buffers and the catalogue caches
        cost_seconds = min(_timed(costs) for _ in range(REPEATS))
        floor_seconds = min(_timed(floor) for _ in range(REPEATS))
        report = costs()
    finally:
        database.engine.dispose()
        drop_database_unless_kept(DB_NAME)
    return {"claims_in_province_month": CLAIMS, "facilities": FACILITIES, **data,
            "alerts": report.alerts, "facility_costs_seconds": round(cost_seconds, 3),
            "floor_group_by_seconds": round(floor_seconds, 3),
            "ratio_to_floor": round(cost_seconds / floor_seconds, 2), "cores": os.cpu_count(),
            "target_seconds": TARGET_SECONDS, "within_target": cost_seconds < TARGET_SECONDS}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
