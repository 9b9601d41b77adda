"""Recording and browsing the audit log.

Every write through the ORM is captured automatically: a flush listener on every session writes one
event per inserted, updated or deleted row (models opt out with ``__audit__ = False``, name
secret columns in ``__audit_redact__``, and columns whose change alone is no event in ``__audit_ignore__``,
such as the time of a user's last sign-in, which the ``login`` event records). Reads of a person's record are recorded by the service
that reads it, with :func:`record_read`. Events are written in the same transaction as the change,
so a change and its audit event commit or roll back together.

Who and from where come from the :class:`AuditContext` of the current request, CLI command or job
(:func:`audit_context`).
"""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from ansinh.audit.models import AuditEvent
from ansinh.db import utcnow


@dataclass(frozen=True)
class AuditContext:
    actor_username: str = "system"
    actor_user_id: int | None = None
    actor_org_unit_id: int | None = None
    channel: str = "cli"
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


_context: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "ansinh_audit_context", default=AuditContext()
)


def current_audit_context() -> AuditContext:
    return _context.get()


@contextmanager
def audit_context(context: AuditContext | None = None, **fields: Any) -> Iterator[AuditContext]:
    """Run a block as a given actor / channel; nested blocks override only the fields they name."""
    value = replace(context or _context.get(), **fields)
    token = _context.set(value)
    try:
        yield value
    finally:
        _context.reset(token)


def set_audit_context(context: AuditContext) -> None:
    """Set the actor for the rest of the current task (used by the request dependency)."""
    _context.set(context)


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value


def _context_of(session: Session) -> AuditContext:
    """The actor of a session: set on the session by the request, else the task's context."""
    return session.info.get("audit_context") or _context.get()


def act_as(session: Session, *, user_id: int, username: str, org_unit_id: int | None) -> None:
    """From now on in this unit of work, changes are done by this user (after they signed in)."""
    session.info["audit_context"] = replace(_context_of(session), actor_user_id=user_id, actor_username=username,
                                            actor_org_unit_id=org_unit_id)


def _event_row(session: Session, action: str, entity_type: str, entity_id: Any, *,
               changes: dict | None = None, org_unit_id: int | None = None,
               person_ref: str | None = None) -> dict:
    return event_row_for(_context_of(session), action, entity_type, entity_id, changes=changes,
                         org_unit_id=org_unit_id, person_ref=person_ref)


def event_row_for(ctx: AuditContext, action: str, entity_type: str, entity_id: Any, *,
                  changes: dict | None = None, org_unit_id: int | None = None,
                  person_ref: str | None = None) -> dict:
    """An audit row for an actor (without a session: events written apart, such as refusals)."""
    return {
        "occurred_at": utcnow(),
        "actor_user_id": ctx.actor_user_id,
        "actor_username": ctx.actor_username,
        "actor_org_unit_id": ctx.actor_org_unit_id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "org_unit_id": org_unit_id,
        "person_ref": person_ref,
        "changes": changes,
        "channel": ctx.channel,
        "ip": ctx.ip,
        "user_agent": (ctx.user_agent or "")[:300] or None,
        "request_id": ctx.request_id,
    }


def _is_audited(obj: Any) -> bool:
    return getattr(type(obj), "__audit__", True) and not isinstance(obj, AuditEvent)


def _identity(obj: Any) -> str:
    # During after_flush new objects have their primary key but not yet their identity key.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return "/".join(str(k.value if isinstance(k, enum.Enum) else k) for k in key)


def _org_unit_of(obj: Any) -> int | None:
    value = getattr(obj, "org_unit_id", None)
    return value if isinstance(value, int) else None


def _person_ref_of(obj: Any) -> str | None:
    ref = getattr(type(obj), "__audit_person_ref__", None)
    return getattr(obj, ref, None) if ref else None


def _snapshot(obj: Any, only_changed: bool) -> dict:
    redact = set(getattr(type(obj), "__audit_redact__", ()))
    state = inspect(obj)
    result: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        name = attr.key
        if only_changed:
            history = state.attrs[name].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            result[name] = ["<redacted>", "<redacted>"] if name in redact else [_jsonable(old), _jsonable(new)]
        else:
            value = state.dict.get(name)
            if value is not None:
                result[name] = "<redacted>" if name in redact else _jsonable(value)
    return result


def _after_flush(session: Session, _flush_context) -> None:
    rows: list[dict] = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not _is_audited(obj):
                continue
            if action == "update":
                if not session.is_modified(obj, include_collections=False):
                    continue
                changes = _snapshot(obj, only_changed=True)
                if not changes or set(changes) <= set(getattr(type(obj), "__audit_ignore__", ())):
                    continue
            else:
                changes = _snapshot(obj, only_changed=False)
            rows.append(
                _event_row(session, action, type(obj).__tablename__, _identity(obj), changes=changes,
                           org_unit_id=_org_unit_of(obj), person_ref=_person_ref_of(obj))
            )
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def _bulk_statement(orm_execute_state):
    """Bulk INSERT / UPDATE / DELETE statements run through a session (batch work) bypass the flush;
    they are recorded as one event per statement, with the table, the statement and the row count."""
    if not (orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete):
        return None
    mapper = orm_execute_state.bind_mapper
    table = getattr(orm_execute_state.statement, "table", None)
    model = mapper.class_ if mapper is not None else None
    if model is AuditEvent or (model is not None and not getattr(model, "__audit__", True)):
        return None
    if table is not None and getattr(table, "name", None) == AuditEvent.__tablename__:
        return None
    result = orm_execute_state.invoke_statement()
    action = "bulk_insert" if orm_execute_state.is_insert else "bulk_update" if orm_execute_state.is_update \
        else "bulk_delete"
    name = model.__tablename__ if model is not None else getattr(table, "name", "unknown")
    rows = getattr(result, "rowcount", None)
    session = orm_execute_state.session
    params = orm_execute_state.parameters
    details = {"statement": str(orm_execute_state.statement)[:2000],
               "rows": rows if isinstance(rows, int) and rows >= 0 else None,
               "parameter_sets": len(params) if isinstance(params, list) else 1}
    session.connection().execute(insert(AuditEvent), [_event_row(session, action, name, None, changes=details)])
    return result


def install_audit_listener() -> None:
    """Capture every write in every session (idempotent): row changes at flush, bulk statements as
    they run."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
    if not event.contains(Session, "do_orm_execute", _bulk_statement):
        event.listen(Session, "do_orm_execute", _bulk_statement)


install_audit_listener()


def record_event(session: Session, action: str, entity_type: str, entity_id: Any = None, *,
                 org_unit_id: int | None = None, person_ref: str | None = None,
                 details: dict | None = None) -> None:
    """Record an event that is not a row change (sign-in, sign-out, export, lookup...)."""
    # Core, on the session's connection: the ORM's bulk-insert path cost more than the insert itself.
    session.connection().execute(insert(AuditEvent), [
        _event_row(session, action, entity_type, entity_id, changes=details, org_unit_id=org_unit_id,
                   person_ref=person_ref)
    ])


def record_read(session: Session, entity_type: str, entity_id: Any, *, org_unit_id: int | None = None,
                person_ref: str | None = None, details: dict | None = None) -> None:
    """Record that the current actor read a person's record. Services that return a person's data
    call this; the read is committed with the request's unit of work."""
    record_event(session, "read", entity_type, entity_id, org_unit_id=org_unit_id,
                 person_ref=person_ref, details=details)


def read_event(session: Session, entity_type: str, entity_id: Any, *, org_unit_id: int | None = None,
               person_ref: str | None = None, details: dict | None = None) -> dict:
    """The audit row ``record_read`` would write, for a caller that writes it later in a batch (the card lookup
    log): the actor and the time are those of the read."""
    return _event_row(session, "read", entity_type, entity_id, changes=details, org_unit_id=org_unit_id,
                      person_ref=person_ref)


@dataclass(frozen=True)
class AuditFilter:
    actor_username: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    person_ref: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: Only events about records of this org unit's subtree (its materialised path).
    org_unit_path: str | None = None


def _filtered(stmt: Select, flt: AuditFilter, scope: ColumnElement[bool] | None) -> Select:
    if scope is not None:
        stmt = stmt.where(scope)
    if flt.actor_username:
        stmt = stmt.where(AuditEvent.actor_username == flt.actor_username)
    if flt.action:
        stmt = stmt.where(AuditEvent.action == flt.action)
    if flt.entity_type:
        stmt = stmt.where(AuditEvent.entity_type == flt.entity_type)
    if flt.entity_id:
        stmt = stmt.where(AuditEvent.entity_id == flt.entity_id)
    if flt.person_ref:
        stmt = stmt.where(AuditEvent.person_ref == flt.person_ref)
    if flt.since:
        stmt = stmt.where(AuditEvent.occurred_at >= flt.since)
    if flt.until:
        stmt = stmt.where(AuditEvent.occurred_at < flt.until)
    if flt.org_unit_path:
        from ansinh.auth.models import OrgUnit

        stmt = stmt.where(AuditEvent.org_unit_id.in_(
            select(OrgUnit.id).where(OrgUnit.path.startswith(flt.org_unit_path, autoescape=True))))
    return stmt


def events_query(flt: AuditFilter, *, scope: ColumnElement[bool] | None = None) -> Select:
    """The events matching a filter within a scope, unordered (the list pages sort and page it)."""
    return _filtered(select(AuditEvent), flt, scope)


def list_events(session: Session, flt: AuditFilter, *, scope: ColumnElement[bool] | None = None,
                limit: int = 50, offset: int = 0) -> tuple[Sequence[AuditEvent], int]:
    """A page of events, newest first, and the total matching. ``scope`` restricts to the caller's
    org subtree (see :func:`ansinh.auth.permissions.org_scope`)."""
    total = session.scalar(_filtered(select(func.count(AuditEvent.id)), flt, scope)) or 0
    stmt = _filtered(select(AuditEvent), flt, scope).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
    return session.scalars(stmt).all(), total


def count_events_by_day(session: Session, since: datetime, *,
                        scope: ColumnElement[bool] | None = None) -> dict[str, int]:
    """Events per calendar day of Vietnam's time (UTC+7, no daylight saving) since a moment, for the dashboard
    chart."""
    if session.get_bind().dialect.name == "sqlite":
        day = func.date(AuditEvent.occurred_at, "+7 hours")
    else:
        day = func.to_char(func.timezone("Asia/Ho_Chi_Minh", AuditEvent.occurred_at), "YYYY-MM-DD")
    stmt = select(day, func.count()).where(AuditEvent.occurred_at >= since).group_by(day)
    if scope is not None:
        stmt = stmt.where(scope)
    return {str(d): n for d, n in session.execute(stmt)}


def audit_scope(principal) -> ColumnElement[bool] | None:
    """What part of the log a principal may browse: all of it at national level; otherwise the
    events about records of their subtree or done by actors of their subtree."""
    from sqlalchemy import or_

    from ansinh.auth.permissions import org_scope

    if principal.org_unit_level == "national":
        return None
    return or_(org_scope(principal, AuditEvent.org_unit_id), org_scope(principal, AuditEvent.actor_org_unit_id))
