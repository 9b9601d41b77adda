"""Correction requests over the API: the citizen's ``/api/v1/me/corrections`` (their own only) and the registry
officers' ``/api/v1/registry/corrections`` (their subtree's; accept or reject). Thin routes over the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Offset, RecordId
from ansinh.registry import service as registry
from ansinh.registry.corrections import service
from ansinh.registry.corrections.schemas import FileCorrection, RejectCorrection
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
    422: {"model": ErrorBody}})
Citizen = Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.own_person))]
Manager = Annotated[Principal, Depends(require(Permission.registry_manage, scope=Scope.org_subtree))]


@router.get("/me/corrections", tags=["citizen"])
def my_corrections(session: DbSession, principal: Citizen) -> dict:
    """The signed-in citizen's correction requests, newest first, with their answer."""
    person = registry.own_person(session, principal)
    return {"corrections": [service.request_view(r) for r in service.own_requests(session, person)]}


@router.post("/me/corrections", tags=["citizen"], status_code=201)
def file_my_correction(session: DbSession, principal: Citizen, body: FileCorrection) -> dict:
    """Ask the office to correct the signed-in citizen's record (only the fields given that differ from it). The
    record is not changed until an officer accepts; one open request at a time (409 otherwise)."""
    request = service.file_correction(session, principal, changes=body.changes(), note=body.note, on=clock.today())
    return service.request_view(request)


@router.get("/registry/corrections", tags=["registry"])
def open_corrections(session: DbSession, principal: Manager, offset: Offset = 0) -> dict:
    """Open correction requests of the caller's subtree, oldest first, with the person."""
    rows, total = service.open_requests(session, principal, offset=offset)
    return {"items": [service.request_view(r, p) for r, p in rows], "total": total}


@router.post("/registry/corrections/{request_id}/accept", tags=["registry"])
def accept(session: DbSession, principal: Manager, request_id: RecordId) -> dict:
    """Apply the request to the person's record (audited); the citizen gets a notice."""
    return service.request_view(service.accept_correction(session, principal, request_id, on=clock.today()))


@router.post("/registry/corrections/{request_id}/reject", tags=["registry"])
def reject(session: DbSession, principal: Manager, request_id: RecordId, body: RejectCorrection) -> dict:
    """Refuse the request with a reason (the record unchanged); the citizen gets a notice with the reason."""
    return service.request_view(service.reject_correction(session, principal, request_id, on=clock.today(),
                                                          reason=body.reason))
