"""A server that never stalls (issue 10): ten bank statements uploaded at the same moment to ``ansinh serve`` on
PostgreSQL while ``/health`` is polled every 50 ms from another thread, against ``/health`` polled on the idle server
in the same run (the floor). Before issue 10, two statements uploaded at once froze the whole server for minutes.

Each statement has ``ANSINH_BENCH_STALL_LINES`` lines (default 20,000: 200,000 payments in all), every one a
transaction of its own into the Hà Nội receiving account, unmatched (they land in suspense). The imports queue on
the collection lock and run on their own lane of threads (``ANSINH_IMPORT_THREADS``); the event loop keeps
answering. Target: every ``/health`` answer within 1 s; afterwards the books reconcile (every count of
``check_integrity`` 0) and every line is recorded once.

Environment: ``ANSINH_BENCH_STALL_FILES`` (default 10), ``ANSINH_BENCH_STALL_LINES``, ``ANSINH_BENCH_POSTGRES_URL``
(see bench.postgres), ``ANSINH_BENCH_KEEP=1`` keeps the database.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import func, select

from ansinh import clock
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel, Role
from ansinh.collection.models import Payment
from ansinh.collection.reconcile import check_integrity
from ansinh.db import Database
from bench.postgres import drop_database_unless_kept, fresh_database
from bench.served import served

DB_NAME = "ansinh_bench_stall"
FILES = int(os.environ.get("ANSINH_BENCH_STALL_FILES", "10"))
LINES = int(os.environ.get("ANSINH_BENCH_STALL_LINES", "20000"))
ACCOUNT = "113000006100"
ACCOUNTS = f"970415:{ACCOUNT}:01"
PASSWORD = "bench-password-stall-1"
POLL_SECONDS = 0.05
TARGET_HEALTH_SECONDS = 1.0
HEADER = "date,amount,payer_account,reference,bank_transaction_id,receiving_account\n"


def _statement(index: int, paid_on: str) -> bytes:
    lines = [f"{paid_on},{100_000 + line},,chuyen tien {index}-{line},ST{index:02d}-{line:07d},{ACCOUNT}\n"
             for line in range(LINES)]
    return (HEADER + "".join(lines)).encode()


def _poll(base: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client() as http:
        while not stop.is_set():
            start = time.perf_counter()
            try:
                http.get(f"{base}/health", timeout=30).raise_for_status()
                out.append(time.perf_counter() - start)
            except httpx.HTTPError:
                out.append(float("inf"))
            time.sleep(POLL_SECONDS)


@contextmanager
def _polling(base: str) -> Iterator[list[float]]:
    """``/health`` polled from a thread of its own while the block runs: the list of its answer times."""
    latencies: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=_poll, args=(base, stop, latencies))
    poller.start()
    try:
        yield latencies
    finally:
        stop.set()
        poller.join()


def _figures(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"polls": len(ordered), "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1) if len(ordered) >= 100 else None,
            "max_ms": round(ordered[-1] * 1000, 1)}


def run() -> dict:
    url = fresh_database(DB_NAME)
    workdir = Path(tempfile.mkdtemp(prefix="ansinh-bench-stall-"))
    database = Database(url)
    today = clock.today()
    paid_on = (today - timedelta(days=1)).isoformat()
    try:
        with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
            national = auth_service.create_org_unit(session, code="VSS", name="VSS", level=OrgLevel.national,
                                                    place_code="VN")
            hanoi = auth_service.create_org_unit(session, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                                 place_code="01", parent=national)
            auth_service.create_user(session, username="hn.thu", password=PASSWORD, full_name="Cán bộ thu",
                                     org_unit=hanoi, roles=[Role.provincial_officer])
        files = [_statement(index, paid_on) for index in range(FILES)]
        env = os.environ | {"ANSINH_DATABASE_URL": url, "ANSINH_VAR_DIR": str(workdir),
                            "ANSINH_SECRET_KEY": "s" * 48, "ANSINH_COLLECTION_ACCOUNTS": ACCOUNTS}
        with served(env) as base:
            with httpx.Client() as http:
                token = http.post(f"{base}/api/v1/auth/token", json={"username": "hn.thu", "password": PASSWORD}
                                  ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            with _polling(base) as idle:
                time.sleep(5)
            barrier = threading.Barrier(FILES)

            def upload(index: int) -> tuple[int, float]:
                with httpx.Client() as http:
                    barrier.wait()
                    start = time.perf_counter()
                    answer = http.post(f"{base}/api/v1/payments/statements", headers=headers, timeout=1800,
                                       files={"file": (f"statement-{index}.csv", files[index], "text/csv")})
                    return answer.status_code, time.perf_counter() - start

            with _polling(base) as busy:
                start = time.perf_counter()
                with ThreadPoolExecutor(FILES) as pool:
                    answers = list(pool.map(upload, range(FILES)))
                wall = time.perf_counter() - start
        with database.unit_of_work() as session:
            recorded = session.scalar(select(func.count()).select_from(Payment))
            problems = {name: count for name, count in check_integrity(session).items() if count}
        busy_figures = _figures(busy)
        return {"files": FILES, "lines_per_file": LINES, "statuses": sorted(status for status, _ in answers),
                "all_imports_seconds": round(wall, 1),
                "each_import_seconds": sorted(round(seconds, 1) for _, seconds in answers),
                "health_idle": _figures(idle), "health_during_imports": busy_figures,
                "within_target": busy_figures["max_ms"] < TARGET_HEALTH_SECONDS * 1000,
                "payments_recorded": recorded, "every_line_once": recorded == FILES * LINES,
                "reconciliation_problems": problems}
    finally:
        database.dispose()
        drop_database_unless_kept(DB_NAME)


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, ensure_ascii=False))
