"""List pages and Excel exports over HTTP (issue 11): a province of 1,200,000 people on PostgreSQL, served by
``ansinh serve``; a provincial officer opens every list page with filters and sorting (target: p95 under 300 ms)
and exports 100,000 filtered people to Excel (target: under 10 s, with flat memory — the server's peak resident
memory during an export of 100,000 rows is compared with one of 10,000).

Environment: ``ANSINH_BENCH_POSTGRES_URL`` (see ``bench/postgres.py``), ``ANSINH_BENCH_PEOPLE`` (default
1,200,000), ``ANSINH_BENCH_KEEP=1`` keeps the database afterwards and ``ANSINH_BENCH_REUSE=1`` uses a database kept
by an earlier run (to measure again without generating the province again)."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from datetime import date, timedelta

import httpx2 as httpx
from sqlalchemy import text

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.deps import SESSION_COOKIE
from ansinh.auth.models import OrgLevel, Role
from ansinh.db import Database, make_engine
from ansinh.migrate import upgrade_database
from ansinh.synth.population import load_population
from bench.postgres import database_url, drop_database_unless_kept, fresh_database
from bench.served import served_process

DB_NAME = "ansinh_bench_lists"
PEOPLE = int(os.environ.get("ANSINH_BENCH_PEOPLE", "1200000"))
PROVINCE = "19"  # Thái Nguyên
SEED = 2026
TARGET_P95_MS = 300
TARGET_EXPORT_SECONDS = 10
REQUESTS = 30

#: The list pages an office opens all day, each with filters and a sort (the first is each list as it opens).
LIST_PAGES = {
    "people (as it opens)": "/registry/people",
    "people: name search": "/registry/people?q=nguyen+van",
    "people: name search, one common word": "/registry/people?q=nguyen",
    "people: province, sorted by date of birth, newest first": f"/registry/people?province={PROVINCE}&sort=born&dir=desc",
    "people: born 1980–1990, women, sorted by name": "/registry/people?born_from=1980&born_to=1990&sex=female&sort=name",
    "people: covered by compulsory SI today": "/registry/people?scheme=si_compulsory",
    "people: page 2,000": "/registry/people?page=2000",
    "employers (as it opens)": "/registry/employers",
    "employers: by ownership, sorted by tax code": "/registry/employers?ownership=private&sort=tax_code&dir=desc",
    "audit log": "/admin/audit",
    "users": "/admin/users",
}
#: Reports over the whole province, with their own target (issue 4: the participation summary under 1 s).
REPORT_PAGES = {"participation summary": f"/participation/summary?province={PROVINCE}"}
TARGET_REPORT_MS = 1000
EXPORT_SMALL = "/registry/people/export.xlsx?born_from=1990&born_to=1990"
EXPORT_LARGE = "/registry/people/export.xlsx?born_from=1986&born_to=1990"  # about 100,000 people


def _prepare(url: str, today: date) -> tuple[str, dict]:
    # Generating the province writes millions of rows in a few statements: no statement time limit for it.
    database = Database(url, engine=make_engine(url, statement_timeout_ms=0))
    try:
        with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
            from ansinh.registry.places import load_places

            load_places(session)
            national = auth_service.create_org_unit(session, code="VSS", name="Bảo hiểm xã hội Việt Nam",
                                                    level=OrgLevel.national, place_code="VN")
            office = auth_service.create_org_unit(session, code=f"BHXH-{PROVINCE}",
                                                  name="Bảo hiểm xã hội tỉnh Thái Nguyên",
                                                  level=OrgLevel.province, place_code=PROVINCE, parent=national)
            local = [auth_service.create_org_unit(session, code=f"BHXH-{PROVINCE}-{i:02d}",
                                                  name=f"Bảo hiểm xã hội cơ sở {i}", level=OrgLevel.district,
                                                  place_code=PROVINCE, parent=office) for i in (1, 2)]
            units = [office.id, *(u.id for u in local)]
            officer = auth_service.create_user(session, username="officer19", password="Bench officer 19 pass!",
                                               full_name="Nguyễn Thị Lan", org_unit=office,
                                               roles={Role.provincial_officer, Role.administrator})
            officer_id = officer.id
        start = time.perf_counter()
        with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
            written = load_population(session, seed=SEED, people=PEOPLE, province_codes=[PROVINCE],
                                      org_units={PROVINCE: units}, today=today)
        generation_seconds = round(time.perf_counter() - start, 1)
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
            user = auth_service.get_user_by_username(session, "officer19")
            assert user.id == officer_id
            token, _ = auth_service.start_session(session, user, ip="127.0.0.1", user_agent="bench",
                                                  max_age=timedelta(hours=4))
        return token, {"generation_seconds": generation_seconds, "written": written}
    finally:
        database.dispose()


def _timings(client: httpx.Client, path: str, repeats: int = REQUESTS, target_ms: int = TARGET_P95_MS) -> dict:
    status = None
    for _ in range(3):  # warm-up: plans cached, pages compiled
        status = client.get(path).status_code
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    times.sort()
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
    return {"status": status, "p50_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1),
            "max_ms": round(times[-1], 1), "within_target": status == 200 and p95 < target_ms}


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _export(client: httpx.Client, pid: int, path: str) -> dict:
    peak = before = _rss_kib(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    size = 0
    with client.stream("GET", path, timeout=120) as response:
        status = response.status_code
        rows = response.headers.get("x-row-count")
        for chunk in response.iter_bytes():
            size += len(chunk)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return {"status": status, "rows": int(rows) if rows else None, "seconds": round(seconds, 2),
            "bytes": size, "server_rss_before_mib": round(before / 1024, 1),
            "server_rss_peak_mib": round(peak / 1024, 1), "server_rss_growth_mib": round((peak - before) / 1024, 1)}


def _reuse(url: str) -> tuple[str, dict] | None:
    """A session on a database kept by an earlier run, or None when there is none."""
    try:
        upgrade_database(url)  # a database kept by an earlier version of the code
        database = Database(url)
        with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
            user = auth_service.get_user_by_username(session, "officer19")
            if user is None:
                return None
            if Role.administrator not in {r.role for r in user.roles}:  # a database kept by the first version
                from ansinh.auth.models import UserRole

                user.roles.append(UserRole(role=Role.administrator))
                session.flush()
            token, _ = auth_service.start_session(session, user, ip="127.0.0.1", user_agent="bench",
                                                  max_age=timedelta(hours=4))
        database.dispose()
        return token, {"reused": True}
    except Exception:  # noqa: BLE001 - no such database
        return None


def run() -> dict:
    today = date.today()
    reused = _reuse(database_url(DB_NAME)) if os.environ.get("ANSINH_BENCH_REUSE") == "1" else None
    url = database_url(DB_NAME) if reused else fresh_database(DB_NAME)
    try:
        token, prepared = reused or _prepare(url, today)
        with tempfile.TemporaryDirectory() as var:
            env = {**os.environ, "ANSINH_DATABASE_URL": url, "ANSINH_VAR_DIR": var}
            with served_process(env) as (base, process):
                with httpx.Client(base_url=base, cookies={SESSION_COOKIE: token}, timeout=60,
                                  headers={"Accept": "text/html"}) as client:
                    pages = {name: _timings(client, path) | {"path": path} for name, path in LIST_PAGES.items()}
                    reports = {name: _timings(client, path, repeats=10, target_ms=TARGET_REPORT_MS) | {"path": path}
                               for name, path in REPORT_PAGES.items()}
                    small = _export(client, process.pid, EXPORT_SMALL)
                    large = _export(client, process.pid, EXPORT_LARGE)
        return {
            "people": PEOPLE, "province": PROVINCE, "on": today.isoformat(), **prepared,
            "requests_per_page": REQUESTS, "target_p95_ms": TARGET_P95_MS, "pages": pages,
            "all_pages_within_target": all(p["within_target"] for p in pages.values()),
            "reports": reports, "target_report_ms": TARGET_REPORT_MS,
            "export_small": small, "export_large": large, "target_export_seconds": TARGET_EXPORT_SECONDS,
            "export_within_target": large["status"] == 200 and large["seconds"] < TARGET_EXPORT_SECONDS,
        }
    finally:
        drop_database_unless_kept(DB_NAME)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False, default=str))
