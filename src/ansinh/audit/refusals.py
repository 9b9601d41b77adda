"""Refused accesses in the audit log: who was refused, what they asked for, and why.

Every 401, 403 and 429 the application answers (a missing sign-in, a role that does not grant the operation, a
record of another province, employer, person or facility, a wrong CSRF token, a throttled sign-in) is an audit
event ``refused`` naming the actor (or ``anonymous`` with the address), the operation (method and route), the path
asked, the status and the reason. Failed sign-ins are already events of their own (``login_failed``).

A flood must not fill the disk: at most :data:`PER_ACTOR_PER_MINUTE` refusals per actor (user, else address) and
:data:`PER_MINUTE` in all are recorded per minute and process; the next event recorded for an actor carries how
many of theirs were left out (``suppressed``).

The request's own transaction is rolled back when it is refused, so the event is written apart: handed to the
application's batch writer (:class:`ansinh.audit.writer.BatchWriter`), or, without one (tests, commands), written
at once in a unit of work of its own, in a worker thread (never on the event loop).
"""

from __future__ import annotations

import threading
import time

from fastapi import Request
from sqlalchemy import insert
from starlette.concurrency import run_in_threadpool

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import AuditContext, event_row_for
from ansinh.errors import DomainError

PER_ACTOR_PER_MINUTE = 30
PER_MINUTE = 1_000
REFUSED = "refused"


class RefusalLimiter:
    """Admits at most ``per_key`` events per key and ``total`` in all per window; counts what it leaves out."""

    def __init__(self, per_key: int = PER_ACTOR_PER_MINUTE, total: int = PER_MINUTE, window: float = 60.0,
                 clock=time.monotonic) -> None:
        self.per_key, self.total, self.window, self.clock = per_key, total, window, clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._counts: dict[str, int] = {}
        self._admitted = 0
        self._suppressed: dict[str, int] = {}

    def admit(self, key: str) -> tuple[bool, int]:
        """(admitted, how many of this key's events were left out before this one, when admitted)."""
        with self._lock:
            now = self.clock()
            if now - self._window_start >= self.window:
                self._window_start, self._counts, self._admitted = now, {}, 0
            count = self._counts.get(key, 0)
            if count >= self.per_key or self._admitted >= self.total:
                if len(self._suppressed) < 100_000 or key in self._suppressed:
                    self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False, 0
            self._counts[key] = count + 1
            self._admitted += 1
            return True, self._suppressed.pop(key, 0)


def _route_name(request: Request) -> str:
    route = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    return f"{request.method} {template}"[:64]


def refusal_row(request: Request, error: DomainError, status: int) -> tuple[str, dict]:
    """The limiter key and the audit row of a refusal."""
    principal = getattr(request.state, "principal", None)
    ip = request.client.host if request.client else "unknown"
    context = AuditContext(
        actor_username=principal.username if principal else "anonymous",
        actor_user_id=principal.user_id if principal else None,
        actor_org_unit_id=principal.org_unit_id if principal else None,
        channel="api" if request.url.path.startswith(("/api/", "/fhir/")) else "web",
        ip=ip, user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None))
    details = {"status": status, "code": error.code, "reason": str(error)[:300], "path": request.url.path[:300]}
    permission = error.params.get("permission") if isinstance(error.params, dict) else None
    if permission:
        details["permission"] = permission
    row = event_row_for(context, REFUSED, "route", _route_name(request), changes=details,
                        org_unit_id=principal.org_unit_id if principal else None)
    return (f"user:{principal.user_id}" if principal else f"ip:{ip}"), row


async def record_refusal(request: Request, error: DomainError, status: int) -> None:
    """Record a refused access (never raises: a refusal is answered even if its audit cannot be written)."""
    try:
        limiter: RefusalLimiter | None = getattr(request.app.state, "refusal_limiter", None)
        if limiter is None:
            limiter = request.app.state.refusal_limiter = RefusalLimiter()
        key, row = refusal_row(request, error, status)
        admitted, suppressed = limiter.admit(key)
        if not admitted:
            return
        if suppressed:
            row["changes"] = {**row["changes"], "suppressed": suppressed}
        writer = getattr(request.app.state, "audit_writer", None)
        if writer is not None:
            writer.add_rows((AuditEvent.__table__, [row]))
            return
        database = request.app.state.database

        def write() -> None:
            with database.unit_of_work() as session:
                session.connection().execute(insert(AuditEvent), [row])

        await run_in_threadpool(write)
    except Exception:  # noqa: BLE001 - the refusal itself must still be answered
        import logging

        logging.getLogger(__name__).exception("could not record a refused access")


__all__ = ["REFUSED", "RefusalLimiter", "record_refusal", "refusal_row"]
