"""`ansinh serve --workers 2`: two processes serve the application; SIGTERM lets a request in progress finish and
writes the lookup log the processes still hold; the logs are JSON lines; the metrics are summed over the processes.

A real server (subprocess) on a SQLite file. The slow request is a sign-in (it writes) whose client sends its body
in two parts seconds apart: SIGTERM arrives in between, and the request is still read, served and answered."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel, Role
from ansinh.db import Database
from ansinh.migrate import upgrade_database
from tests.conftest import PASSWORD

ONE_DATABASE = True
CITIZEN_IDS = [f"00109009{serial:04d}" for serial in range(1, 7)]  # no one has them: "unknown_person"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _workers(parent: int) -> list[int]:
    """The worker processes uvicorn started (spawned Python processes, not the resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in command and b"resource_tracker" not in command:
            found.append(int(entry.name))
    return found


def _lookups_logged(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM card_lookup").fetchone()[0]


def _metric(text: str, name: str, **labels) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def server_var(tmp_path) -> tuple[Path, str]:
    var = tmp_path / "var"
    var.mkdir()
    url = f"sqlite:///{var / 'ansinh.db'}"
    upgrade_database(url)
    database = Database(url)
    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        national = auth_service.create_org_unit(s, code="VSS", name="Bảo hiểm xã hội Việt Nam",
                                                level=OrgLevel.national, place_code="VN")
        hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Bảo hiểm xã hội Thành phố Hà Nội",
                                             level=OrgLevel.province, place_code="01", parent=national)
        auth_service.create_user(s, username="canbo", password=PASSWORD, full_name="Cán bộ", org_unit=hanoi,
                                 roles=[Role.provincial_officer])
    database.dispose()
    return var, url


def test_two_workers_finish_a_request_in_progress_on_sigterm_and_write_the_lookup_log(server_var):
    var, url = server_var
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ANSINH_VAR_DIR": str(var), "ANSINH_DATABASE_URL": url, "ANSINH_LOG_FORMAT": "json",
           "ANSINH_LOOKUP_LOG_FLUSH_MS": "600000",  # the lookup log waits in the processes until they stop
           "ANSINH_SHUTDOWN_TIMEOUT_SECONDS": "20"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = var / "server.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen([str(Path(sys.executable).with_name("ansinh")), "serve", "--port", str(port),
                                   "--workers", "2"], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # both processes have started the application
            if log_path.read_text().count("Application startup complete.") == 2:
                break
            if server.poll() is not None:
                pytest.fail(log_path.read_text())
            time.sleep(0.2)
        else:
            pytest.fail(log_path.read_text())
        assert len(_workers(server.pid)) == 2
        assert httpx.get(f"{base}/ready").status_code == 200
        token = httpx.post(f"{base}/api/v1/auth/token", json={"username": "canbo", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for citizen_id in CITIZEN_IDS:
            answer = httpx.get(f"{base}/api/v1/cards/lookup", headers=headers,
                               params={"citizen_id": citizen_id, "full_name": "Ai", "on": "2026-11-22"})
            assert answer.status_code == 200 and answer.json()["reason"] == "unknown_person"
        assert _lookups_logged(var / "ansinh.db") == 0  # held by the processes' writers
        # the metrics of both processes, summed, whichever answers: scraped until each process has answered
        for _ in range(100):
            scraped = httpx.get(f"{base}/metrics").text
            assert _metric(scraped, "ansinh_card_lookups_total", result="unknown_person") == 6
            assert _metric(scraped, "ansinh_http_requests_total", route="/api/v1/cards/lookup", status="200") == 6
            scrapers = {line["process"] for line in _lines(log_path) if line.get("route") == "/metrics"}
            if len(scrapers) == 2:
                break
        assert len(scrapers) == 2
        assert len(list((var / "metrics").iterdir())) == 1  # the metrics directory of this run

        # the slow request: a sign-in whose client sends its body slowly; SIGTERM arrives while it is read
        half_sent = threading.Event()
        answered: dict = {}

        def slow_body():
            yield b'{"username": "canbo", '
            half_sent.set()
            time.sleep(2.5)
            yield json.dumps({"password": PASSWORD})[1:].encode()

        def sign_in() -> None:
            try:
                answered["response"] = httpx.post(f"{base}/api/v1/auth/token", timeout=30, content=slow_body(),
                                                  headers={"Content-Type": "application/json"})
            except httpx.HTTPError as error:
                answered["error"] = error

        slow = threading.Thread(target=sign_in)
        slow.start()
        assert half_sent.wait(10)
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert "response" not in answered and server.poll() is None  # still reading it, not stopped
        slow.join(30)
        assert answered.get("response") is not None, answered
        assert answered["response"].status_code == 201 and answered["response"].json()["access_token"]
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert _lookups_logged(var / "ansinh.db") == 6  # written by the stopping processes
    assert list((var / "metrics").iterdir()) == []  # the metrics directory of the run is removed

    output = log_path.read_text()
    if os.environ.get("OPS_SHOW_LOG"):
        print(output)
    lines = _lines(log_path)  # every line is JSON
    access = [line for line in lines if line["logger"] == "ansinh.access"]
    lookups = [line for line in access if line["route"] == "/api/v1/cards/lookup"]
    assert len(lookups) == 6 and all(line["status"] == 200 and line["request_id"] for line in lookups)
    assert any(line["route"] == "/api/v1/auth/token" and line["duration_ms"] > 1000 for line in access)
    assert not any(citizen_id in output for citizen_id in CITIZEN_IDS)  # no citizen ID in any log line
    assert {line["level"] for line in lines} <= {"info"}  # nothing went wrong
    assert not any("died" in line["message"] for line in lines)  # no worker restarted
