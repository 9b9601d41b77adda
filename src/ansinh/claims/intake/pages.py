"""Web pages of claim intake: the files received (status, counts, who and when; filters, sorting, paging) with the
upload form, and the report of one file with its problems.

A facility user sees and sends its own facility's files; agency staff those of the facilities of their subtree (they
say which facility a file is for, or let its envelope say). Thin routes over :mod:`ansinh.claims.intake.service`:
the upload is spooled to a temporary file by the server, then received on the import lane (never on the event loop),
and the browser is sent to the file's report.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.claims.intake import service
from ansinh.claims.intake.parser import LAYOUT_130, LAYOUT_4210, MAX_LISTED_PROBLEMS
from ansinh.claims.models import ClaimFile
from ansinh.errors import ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.registry.import_api import in_import_lane
from ansinh.web.forms import redirect
from ansinh.web.labels import register_labels
from ansinh.web.lists import Column, fetch_page, read_listing
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.claims_read, scope=(Scope.own_facility, Scope.org_subtree)))]
Sender = Annotated[Principal, Depends(require(Permission.claims_submit,
                                              scope=(Scope.own_facility, Scope.org_subtree)))]

register_nav_item(NavItem("claims_files", N_("Claim files"), "/claims/files", Permission.claims_read, order=510,
                          group="claims"))
register_labels({"accepted": N_("Accepted"), "refused": N_("Refused")})

#: The layouts, as shown.
LAYOUT_NAMES = {LAYOUT_130: N_("Decision 130/QĐ-BYT (as amended by 4750/QĐ-BYT)"),
                LAYOUT_4210: N_("Decision 4210/QĐ-BYT (before 2023-09-01)")}
COLUMNS = (
    Column("received_at", N_("Received"), ClaimFile.received_at),
    Column("facility", N_("Facility"), ClaimFile.facility_code),
    Column("file_name", N_("File"), ClaimFile.file_name),
    Column("status", N_("Status"), ClaimFile.status),
    Column("claims", N_("Episodes"), ClaimFile.claims, numeric=True),
    Column("lines", N_("Lines"), ClaimFile.lines, numeric=True),
    Column("problems", N_("Problems"), ClaimFile.problem_count, numeric=True),
    Column("received_by", N_("Sent by"), ClaimFile.received_by),
)
_Filter = Annotated[str, Query(max_length=20)]


def _is_facility(principal: Principal) -> bool:
    return Role.facility in principal.roles and not principal.is_agency_staff


def _files_page(request: Request, session: Session, principal: Principal, *, status: str = "", facility: str = "",
                error: str | None = None, typed_facility: str = "", status_code: int = 200) -> Response:
    filters = {"status": status if status in (service.ACCEPTED, service.REFUSED) else "",
               "facility": facility if facility.isdigit() and len(facility) == 5 else ""}
    listing = read_listing(request, COLUMNS, default_sort="received_at", default_descending=True, filters=filters)
    stmt = service.claim_files_query(principal, facility_code=filters["facility"] or None,
                                     status=filters["status"] or None).order_by(None)
    rows = fetch_page(session, stmt, listing, ClaimFile.id.desc(), scalars=True)
    return render(request, "claims/files.html", {
        "listing": listing, "files": rows, "can_send": principal.has(Permission.claims_submit),
        "facility_user": _is_facility(principal), "own_facility": principal.subject_ref, "error": error,
        "typed_facility": typed_facility,
    }, status_code=status_code)


@router.get("/claims/files")
def files_page(request: Request, session: DbSession, principal: Reader, status: _Filter = "",
               facility: _Filter = "") -> Response:
    """The files received that the caller may see, newest first, and the form to send one."""
    return _files_page(request, session, principal, status=status, facility=facility)


@router.post("/claims/files")
async def send_file(request: Request, session: DbSession, principal: Sender,
                    csrf_token: Annotated[str, Form(max_length=200)] = "",
                    facility_code: Annotated[str, Form(max_length=20)] = "",
                    file: Annotated[UploadFile | None, File()] = None) -> Response:
    """The upload form: the same intake as ``POST /api/v1/claims/files``; then the file's report."""
    verify_csrf(request, csrf_token)
    name = (file.filename or "") if file is not None else ""
    typed = facility_code.strip()
    max_bytes = request.app.state.settings.claim_file_max_bytes

    def work() -> Response:
        if not name:
            return _files_page(request, session, principal, typed_facility=typed, status_code=422,
                               error=gettext("Choose the claim file (XML) to send."))
        if typed and not (typed.isdigit() and len(typed) == 5):
            return _files_page(request, session, principal, typed_facility=typed, status_code=422,
                               error=gettext("A facility code is 5 digits."))
        try:
            report = service.receive_claim_file(session, content=file.file, file_name=name, principal=principal,
                                                facility_code=typed or None, max_bytes=max_bytes,
                                                today=clock.today())
        except ValidationFailed as exc:
            session.rollback()
            return _files_page(request, session, principal, typed_facility=typed, status_code=422,
                               error=exc.translated(gettext))
        session.commit()  # a refused file is recorded too
        notice = "again" if report.replayed else ("accepted" if report.accepted else "refused")
        return redirect(f"/claims/files/{report.file_id}?notice={notice}", request)

    return await in_import_lane(request, work)


@router.get("/claims/files/{file_id}")
def file_page(request: Request, session: DbSession, principal: Reader, file_id: RecordId,
              notice: _Filter = "") -> Response:
    """A file's report: what it holds, and every problem found (the first ones listed)."""
    row = service.get_claim_file(session, principal, file_id)
    report = service.file_report(session, row)
    return render(request, "claims/file.html", {
        "file": row, "report": report, "layout_names": LAYOUT_NAMES, "listed_limit": MAX_LISTED_PROBLEMS,
        "notice": notice if notice in ("accepted", "refused", "again") else "",
    })
