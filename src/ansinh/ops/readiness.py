"""Readiness (``/ready``): may this process be sent requests? The database answers, its migrations are at the code's
head (``alembic current`` = ``alembic heads``), and the message broker answers when one is configured
(``ANSINH_BROKER_URL``; without it the broker is not checked, and the answer says so).

Each check runs on threads of their own (never on the event loop, never waiting for the request threads) and is
given up after ``ready_timeout_seconds``; the checks run side by side. The answer names each check's result and its
time, never an address, a password or an error's text (only its kind).
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import anyio
from anyio import CapacityLimiter, to_thread

from ansinh.db import Database

#: Ports of the brokers' schemes when the URL names none.
DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671, "pyamqp": 5672, "redis": 6379, "rediss": 6380}
#: The AMQP 0-9-1 protocol header; a broker answers it with its Connection.Start method frame (type 1).
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


@dataclass
class Check:
    #: ok | failed | timeout | pending (migrations) | not_configured (the broker) | not_checked
    status: str
    duration_ms: float
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not_configured")


class BrokerError(RuntimeError):
    """The broker's address answers, but not as a broker."""


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _failure(exc: BaseException) -> str:
    """The kind of an error, never its text (which may name a host or a user)."""
    return type(exc).__name__


def check_broker(url: str, timeout: float) -> str:
    """Connect to the broker and see it answer: AMQP's protocol header for ``amqp://`` (the answer is the broker's
    first frame), ``PING`` for ``redis://``, a TCP connection otherwise. The protocol it spoke."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0].lower()
    host = parts.hostname or "localhost"
    port = parts.port or DEFAULT_PORTS.get(scheme)
    if port is None:
        raise BrokerError("no port")
    with socket.create_connection((host, port), timeout=timeout) as raw:
        raw.settimeout(timeout)
        sock = raw
        if scheme in ("amqps", "rediss"):
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=host)
        if scheme in ("amqp", "amqps", "pyamqp"):
            sock.sendall(AMQP_HEADER)
            frame = sock.recv(7)
            if not frame or frame[0] != 1:  # a method frame: Connection.Start
                raise BrokerError("not an AMQP 0-9-1 broker")
            return "amqp"
        if scheme in ("redis", "rediss"):
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
            if not reply.startswith((b"+PONG", b"-NOAUTH", b"-WRONGPASS")):  # it answers, if only to ask for a password
                raise BrokerError("not a Redis server")
            return "redis"
        return "tcp"


def _lane(state) -> CapacityLimiter:
    """Threads of their own for the readiness checks (made in the event loop, once per application)."""
    lane = getattr(state, "ready_lane", None)
    if lane is None:
        lane = state.ready_lane = CapacityLimiter(4)
    return lane


async def _within(timeout: float, limiter: CapacityLimiter, function, *args):
    with anyio.fail_after(timeout):
        return await to_thread.run_sync(function, *args, limiter=limiter, abandon_on_cancel=True)


async def check_readiness(state, database: Database, *, broker_url: str, timeout: float) -> dict[str, Check]:
    """Every check's result, by name: ``database``, ``migrations``, ``broker``."""
    from ansinh.migrate import head_revision

    limiter = _lane(state)
    checks: dict[str, Check] = {}

    async def database_and_migrations() -> None:
        started = time.perf_counter()
        try:
            await _within(timeout, limiter, database.ping)
            checks["database"] = Check("ok", _elapsed(started))
        except TimeoutError:
            checks["database"] = Check("timeout", _elapsed(started))
        except Exception as exc:  # noqa: BLE001 - the database is down: the answer says so
            checks["database"] = Check("failed", _elapsed(started), _failure(exc))
        if checks["database"].status != "ok":
            checks["migrations"] = Check("not_checked", 0.0)
            return
        started = time.perf_counter()
        try:
            current = await _within(timeout, limiter, database.current_revision)
            head = head_revision()
            checks["migrations"] = Check("ok" if current == head else "pending", _elapsed(started),
                                         f"current {current or 'none'}, head {head}")
        except TimeoutError:
            checks["migrations"] = Check("timeout", _elapsed(started))
        except Exception as exc:  # noqa: BLE001
            checks["migrations"] = Check("failed", _elapsed(started), _failure(exc))

    async def broker() -> None:
        if not broker_url:
            checks["broker"] = Check("not_configured", 0.0, "ANSINH_BROKER_URL is not set")
            return
        started = time.perf_counter()
        try:
            protocol = await _within(timeout, limiter, check_broker, broker_url, timeout)
            checks["broker"] = Check("ok", _elapsed(started), protocol)
        except TimeoutError:
            checks["broker"] = Check("timeout", _elapsed(started))
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = Check("failed", _elapsed(started), _failure(exc))

    async with anyio.create_task_group() as group:
        group.start_soon(database_and_migrations)
        group.start_soon(broker)
    return {name: checks[name] for name in ("database", "migrations", "broker")}


def readiness_body(checks: dict[str, Check]) -> tuple[dict, int]:
    """The answer of ``/ready`` and its status: 200 when every check passes, else 503."""
    ready = all(check.ok for check in checks.values())
    body = {"status": "ready" if ready else "not_ready",
            "checks": {name: {k: v for k, v in asdict(check).items() if v is not None}
                       for name, check in checks.items()}}
    return body, 200 if ready else 503
