"""HTTP routes of the audit log (administrators only; read-only by construction)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ansinh.audit.schemas import AuditEventOut
from ansinh.audit.service import AuditFilter, audit_scope, list_events
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Offset
from ansinh.schemas import ErrorBody, Page

router = APIRouter(prefix="/api/v1", tags=["audit"], responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}})


def audit_filter(actor: str | None = None, action: str | None = None, entity_type: str | None = None,
                 entity_id: str | None = None, person_ref: str | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> AuditFilter:
    return AuditFilter(actor_username=actor or None, action=action or None, entity_type=entity_type or None,
                       entity_id=entity_id or None, person_ref=person_ref or None, since=since, until=until)


@router.get("/audit", response_model=Page[AuditEventOut])
def browse_audit(session: DbSession, principal: Annotated[Principal, Depends(require(Permission.audit_read, scope=Scope.org_subtree))],
                 flt: Annotated[AuditFilter, Depends(audit_filter)],
                 limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> Page[AuditEventOut]:
    """Audit events, newest first, filtered by actor, action, record, person and time."""
    events, total = list_events(session, flt, scope=audit_scope(principal), limit=limit, offset=offset)
    return Page[AuditEventOut](items=[AuditEventOut.model_validate(e) for e in events], total=total,
                               limit=limit, offset=offset)
