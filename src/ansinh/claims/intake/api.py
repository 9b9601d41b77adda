"""HTTP routes of claim intake: a facility (or its office) sends a national claim file; the files received and their
reports.

``POST /api/v1/claims/files`` (multipart: ``file``, and ``facility_code`` for agency staff when the file's envelope
should not decide) answers the report: 201 when accepted, 200 when the same file was received before and accepted
(nothing changed), 422 when refused (the refusal is recorded; nothing of the file is written), with
``{"accepted", "claims", "lines", "problems": [{"ma_lk", "table", "row", "field", "reason", "value"}], …}``, the
reasons in the caller's language. The upload is streamed to a temporary file (never held in memory), then read on the
import lane (:func:`ansinh.registry.import_api.import_lane`), never on the event loop. Bodies above
``ANSINH_CLAIM_FILE_MAX_BYTES`` are refused with 413 while they arrive.

Who: a facility user for their own facility; agency staff for the facilities of their org-unit subtree; another
facility's or province's user gets 403 (sending) or 404/403 (reading) and nothing changes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Offset, RecordId
from ansinh.claims.intake import service
from ansinh.registry.import_api import in_import_lane
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/claims", tags=["claims"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 413: {"model": ErrorBody}})
Sender = Annotated[Principal, Depends(require(Permission.claims_submit,
                                              scope=(Scope.own_facility, Scope.org_subtree)))]
Reader = Annotated[Principal, Depends(require(Permission.claims_read, scope=(Scope.own_facility, Scope.org_subtree)))]


def today() -> date:
    return clock.today()


def file_json(row) -> dict:
    return {"id": row.id, "facility_code": row.facility_code, "file_name": row.file_name, "status": row.status,
            "claims": row.claims, "lines": row.lines, "problem_count": row.problem_count, "layout": row.layout,
            "created_on": row.created_on.isoformat() if row.created_on else None,
            "declared_count": row.declared_count, "size_bytes": row.size_bytes, "sha256": row.sha256,
            "received_at": row.received_at.isoformat() if row.received_at else None,
            "received_by": row.received_by}


def status_of(report: service.FileReport) -> int:
    if not report.accepted:
        return 422
    return 200 if report.replayed else 201


@router.post("/files", responses={201: {"description": "accepted"}, 200: {"description": "received before"},
                                  422: {"description": "refused: every problem"}})
async def send_claim_file(request: Request, session: DbSession, principal: Sender,
                          file: Annotated[UploadFile, File(description="The national claim file (XML, UTF-8)")],
                          facility_code: Annotated[str | None, Form(max_length=5, pattern=r"^\d{5}$",
                                                                    description="The facility it is sent for "
                                                                                "(agency staff; default: the "
                                                                                "envelope's MACSKCB)")] = None
                          ) -> JSONResponse:
    """Receive a national claim file: accepted or refused as a whole (see the module docstring)."""
    name = file.filename or "claims.xml"
    max_bytes = request.app.state.settings.claim_file_max_bytes

    def work() -> JSONResponse:
        report = service.receive_claim_file(session, content=file.file, file_name=name, principal=principal,
                                            facility_code=facility_code, max_bytes=max_bytes, today=today())
        session.commit()  # a refused file is recorded too
        return JSONResponse(report.to_json(), status_code=status_of(report))

    return await in_import_lane(request, work)


@router.get("/files")
def list_claim_files(session: DbSession, principal: Reader,
                     facility_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
                     status: Annotated[str | None, Query(pattern="^(accepted|refused)$")] = None,
                     limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> list[dict]:
    """The files received that the caller may see, newest first (a facility its own; staff their subtree's)."""
    stmt = service.claim_files_query(principal, facility_code=facility_code, status=status)
    return [file_json(row) for row in session.scalars(stmt.limit(limit).offset(offset))]


@router.get("/files/{file_id}")
def read_claim_file(file_id: RecordId, session: DbSession, principal: Reader) -> dict:
    """A received file's report (its problems in the caller's language); the read is audited."""
    row = service.get_claim_file(session, principal, file_id)
    return service.file_report(session, row).to_json()

