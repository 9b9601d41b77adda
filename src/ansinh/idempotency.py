"""``Idempotency-Key``: a request that creates something can be sent again safely (a bank's system that timed out, a
double click, a retry after a dropped connection) and has its effect exactly once.

A client sends a key of its choosing (a UUID) with a creating request. The first request with that key is carried
out and its answer stored **in the same transaction as its effect**; any later request of the same caller with the
same key gets the stored answer back (header ``Idempotent-Replayed: true``) and changes nothing. Requests that race
with the same key: on PostgreSQL the second waits on the first's row (up to the lock timeout) and then replays its
answer; a key reused for another request (another operation or body) is refused (422).

Routes opt in by taking :data:`IdempotencyKeyHeader` and answering through :func:`idempotent`::

    @router.post("/payments", status_code=201)
    def receive_payment(body: PaymentIn, request: Request, session: DbSession, principal: Intake,
                        idempotency_key: IdempotencyKeyHeader = None) -> Response:
        return idempotent(session, request, principal, idempotency_key, body,
                          lambda: PaymentOut(...), status_code=201)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ansinh.auth.permissions import Principal
from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
#: A key: 8 to 128 characters among letters, digits and ``-_.:`` (a UUID fits).
KEY_PATTERN = r"^[A-Za-z0-9_.:\-]{8,128}$"

IdempotencyKeyHeader = Annotated[str | None, Header(
    alias=HEADER, pattern=KEY_PATTERN,
    description="A key of your choosing (8-128 letters, digits, - _ . :; a UUID fits). The same request sent again "
                "with the same key is answered as the first time and changes nothing.")]


class IdempotencyRecord(Base):
    """The answer given to a creating request sent with an ``Idempotency-Key``."""

    __tablename__ = "idempotency_record"
    __audit__ = False  # the request's own changes are audited

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    operation: Mapped[str] = mapped_column(String(200))  # method and route
    request_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the operation, path and body
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "key"),)


def _operation(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"[:200]


def request_fingerprint(request: Request, payload: Any) -> str:
    """What makes two requests "the same": the method, the path (with its ids and query) and the body."""
    body = json.dumps(jsonable_encoder(payload), sort_keys=True, separators=(",", ":"), default=str)
    text = f"{request.method} {request.url.path}?{request.url.query}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> JSONResponse:
    if record.request_hash != fingerprint:
        raise ValidationFailed("Idempotency-Key", "This Idempotency-Key was used for another request.")
    if record.status_code is None:  # pragma: no cover - the row is written with its answer in one transaction
        raise Conflict("A request with this Idempotency-Key is still being processed.")
    return JSONResponse(record.response, status_code=record.status_code, headers={"Idempotent-Replayed": "true"})


def idempotent(session: Session, request: Request, principal: Principal, key: str | None, payload: Any,
               produce: Callable[[], Any], *, status_code: int | Callable[[Any], int] = 200) -> Any:
    """Carry out ``produce`` once per (caller, key): without a key, simply call it; with one, store its answer (a
    Pydantic model, a dict or a list) in the request's transaction, or replay the stored answer. ``status_code``
    may be a function of the answer (as JSON values) when the status depends on the outcome."""
    if key is None:
        return produce()
    fingerprint = request_fingerprint(request, payload)
    found = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.user_id == principal.user_id,
                                                           IdempotencyRecord.key == key))
    if found is not None:
        return _replay(found, fingerprint)
    record = IdempotencyRecord(user_id=principal.user_id, key=key, operation=_operation(request),
                               request_hash=fingerprint)
    try:
        with session.begin_nested():  # on PostgreSQL, waits here for a concurrent request with the same key
            session.add(record)
            session.flush()
    except IntegrityError:
        session.expunge(record) if record in session else None
        found = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.user_id == principal.user_id,
                                                               IdempotencyRecord.key == key)
                               .execution_options(populate_existing=True))
        if found is None:  # pragma: no cover - the other request rolled back between our insert and read
            raise Conflict("A request with this Idempotency-Key is being processed; send it again.") from None
        return _replay(found, fingerprint)
    answer = jsonable_encoder(produce())
    code = status_code(answer) if callable(status_code) else status_code
    record.status_code, record.response = code, answer
    session.flush()
    return JSONResponse(answer, status_code=code)
