"""/ready: the database answers, its migrations are at head, the broker answers when one is configured."""

from __future__ import annotations

import socket
import time

import pytest
from fastapi.testclient import TestClient

from ansinh.api import create_app
from ansinh.db import Database
from ansinh.migrate import head_revision


def _ready(app) -> tuple[int, dict]:
    with TestClient(app) as client:
        response = client.get("/ready")
    return response.status_code, response.json()


def test_ready_names_each_check_and_its_time(client):
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    checks = body["checks"]
    assert set(checks) == {"database", "migrations", "broker"}
    assert checks["database"]["status"] == "ok" and checks["database"]["duration_ms"] >= 0
    assert checks["migrations"]["status"] == "ok" and head_revision() in checks["migrations"]["detail"]
    # without ANSINH_BROKER_URL the broker is not checked, and the answer says so
    assert checks["broker"]["status"] == "not_configured" and "ANSINH_BROKER_URL" in checks["broker"]["detail"]


def test_a_database_that_does_not_answer_is_503_naming_no_address(settings):
    url = "postgresql+psycopg://secret-user:secret-password@127.0.0.1:1/nowhere"
    status, body = _ready(create_app(settings, database=Database(url)))
    assert status == 503 and body["status"] == "not_ready"
    assert body["checks"]["database"]["status"] == "failed"
    assert body["checks"]["migrations"]["status"] == "not_checked"
    assert "secret" not in str(body) and "127.0.0.1" not in str(body)


def test_a_database_not_at_head_is_503(settings, tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")  # answers, but no migration was ever applied
    try:
        status, body = _ready(create_app(settings, database=database))
    finally:
        database.dispose()
    assert status == 503
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"]["status"] == "pending"
    assert body["checks"]["migrations"]["detail"] == f"current none, head {head_revision()}"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_broker_that_does_not_answer_is_503(db, settings):
    settings.broker_url = f"amqp://guest:hidden@127.0.0.1:{_closed_port()}//"
    status, body = _ready(create_app(settings, database=db))
    assert status == 503 and body["checks"]["broker"] == {"status": "failed", "duration_ms": pytest.approx(
        body["checks"]["broker"]["duration_ms"]), "detail": "ConnectionRefusedError"}
    assert body["checks"]["database"]["status"] == "ok" and "hidden" not in str(body)


def test_a_broker_that_accepts_but_never_answers_times_out_within_the_setting(db, settings):
    with socket.socket() as silent:  # the kernel accepts the connection; no one ever speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.broker_url = f"amqp://127.0.0.1:{silent.getsockname()[1]}//"
        settings.ready_timeout_seconds = 0.3
        started = time.monotonic()
        status, body = _ready(create_app(settings, database=db))
        assert time.monotonic() - started < 3
    assert status == 503 and body["checks"]["broker"]["status"] == "timeout"


def _rabbitmq() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=0.5) as sock:
            sock.settimeout(1)
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            return sock.recv(1) == b"\x01"
    except OSError:
        return False


@pytest.mark.skipif(not _rabbitmq(), reason="no RabbitMQ at 127.0.0.1:5672")
def test_a_rabbitmq_broker_answers_in_amqp(db, settings):
    settings.broker_url = "amqp://guest:guest@127.0.0.1:5672//"
    status, body = _ready(create_app(settings, database=db))
    assert status == 200, body
    assert body["checks"]["broker"]["status"] == "ok" and body["checks"]["broker"]["detail"] == "amqp"


def test_health_stays_liveness(client):
    """/health is unchanged by /ready: it answers with the database's status, within its own timeout."""
    assert client.get("/health").json()["status"] == "ok"
