"""Imports never stall the server (issue 10): on PostgreSQL, with a real server, two large files imported at once (one
through the API, one through the page's form) while ``/health`` is polled: every answer within a second, and both
imports complete."""

from __future__ import annotations

import threading
import time

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from ansinh.registry.models import ImportBatch, PopulationRecord
from tests.live import fresh_postgres, live_server, live_settings
from tests.registry.test_imports import csv_bytes
from tests.test_trust import _agency

pytestmark = pytest.mark.postgres
ROWS = 250_000


def extract(rows: int, year: int) -> bytes:
    """A population extract of ``rows`` people born in ``year`` (citizen IDs consistent with it)."""
    header = ["citizen_id", "full_name", "date_of_birth", "sex"]
    return csv_bytes(header, [[f"001{0 if year < 2000 else 2}{year % 100:02d}{i:06d}", f"Nguyễn Văn Thử {i}",
                               f"{year}-01-01", "male"] for i in range(rows)])


def test_large_imports_run_while_health_answers_within_a_second(tmp_path):
    with fresh_postgres() as database:
        _agency(database)
        with live_server(database, live_settings(tmp_path)) as base, httpx.Client(timeout=600) as http:
            token = http.post(f"{base}/api/v1/auth/token", json={"username": "hn.canbo",
                                                                 "password": "correct horse battery"}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            answers: dict[str, httpx.Response] = {}
            files = {"api": extract(ROWS, 1990), "page": extract(ROWS, 1991)}  # made before: no load on the server

            def api() -> None:
                answers["api"] = http.post(f"{base}/api/v1/imports/population", headers=headers,
                                           files={"file": ("a.csv", files["api"], "text/csv")},
                                           data={"org_unit_code": "BHXH-01"})

            def page() -> None:
                answers["page"] = http.post(f"{base}/registry/imports", headers=headers,
                                            files={"file": ("b.csv", files["page"], "text/csv")},
                                            data={"kind": "population", "org_unit_code": "BHXH-01"})

            imports = [threading.Thread(target=api), threading.Thread(target=page)]
            latencies: list[float] = []
            started = time.monotonic()
            for thread in imports:
                thread.start()
            with httpx.Client(timeout=10) as poller:
                while any(thread.is_alive() for thread in imports):
                    sent = time.monotonic()
                    assert poller.get(f"{base}/health").status_code == 200
                    latencies.append(time.monotonic() - sent)
                    time.sleep(0.05)
            for thread in imports:
                thread.join()
            took = time.monotonic() - started
        print(f"imports took {took:.1f} s; {len(latencies)} polls, slowest {max(latencies):.3f} s")
        assert answers["api"].status_code == 201, answers["api"].text[:500]
        assert answers["page"].status_code == 200, answers["page"].text[:500]
        assert took > 2 and len(latencies) > 10, (took, len(latencies))  # the imports took a while: a real test
        assert max(latencies) < 1.0, f"/health took {max(latencies):.2f} s while importing ({took:.1f} s)"
        with database.unit_of_work() as s:
            assert s.scalar(select(func.count()).select_from(PopulationRecord)) == 2 * ROWS
            assert s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.status == "applied")) == 2
