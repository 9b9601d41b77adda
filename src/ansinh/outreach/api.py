"""HTTP routes of outreach (agency staff only, within their org-unit subtree; a province asked for must be their
own unless they are national staff): the people without health insurance (JSON, paged, and the Excel list), the
matching of the tax authority's files, and opening an inspection case from a finding."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Day, Offset
from ansinh.collection.debtors import attachment
from ansinh.errors import PermissionDenied, ValidationFailed
from ansinh.i18n import N_
from ansinh.outreach import service, tax
from ansinh.registry.import_api import in_import_lane
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/outreach", tags=["outreach"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
    422: {"model": ErrorBody}})
Lister = Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]
Matcher = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
Inspector = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Province = Annotated[str | None, Query(max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$",
                                       description="2025 province code (officers: their own).")]
Commune = Annotated[str | None, Query(max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$",
                                      description="A commune (place code).")]


def _staff(principal: Principal) -> None:
    if not principal.is_agency_staff:
        raise PermissionDenied(N_("Outreach lists are for the agency's staff."))


def _listing(session, principal: Principal, on: date | None, province: str | None, commune: str | None):
    _staff(principal)
    return service.uncovered_people(session, principal, on=on or clock.today(), province=province, commune=commune)


@router.get("/uncovered")
def uncovered(session: DbSession, principal: Lister, on: Day | None = None, province: Province = None,
              commune: Commune = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              offset: Annotated[Offset, Query()] = 0) -> dict:
    """The people without health insurance on ``on`` (default today) in the caller's scope: counts by group and
    by commune, and the people (paged) with their group and what they could join. Audited."""
    listing = _listing(session, principal, on, province, commune)
    result = listing.to_json(limit=limit, offset=offset)
    service.audit_listing(session, principal, listing, result["rows"], what="outreach.uncovered")
    return result


@router.get("/uncovered.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The list for collection agents (Excel)."}})
def uncovered_xlsx(session: DbSession, principal: Lister, on: Day | None = None, province: Province = None,
                   commune: Commune = None) -> Response:
    """The same list as Excel, every person (audited as an export)."""
    listing = _listing(session, principal, on, province, commune)
    service.audit_listing(session, principal, listing, listing.page(listing.total, 0), what="outreach.uncovered.xlsx")
    name = f"uncovered-{province or 'scope'}{'-' + commune if commune else ''}-{listing.on.isoformat()}.xlsx"
    return Response(service.uncovered_xlsx(listing), media_type=XLSX,
                    headers={"Content-Disposition": attachment(name)})


@router.post("/tax-match", responses={200: {"description": "the findings (bad rows named, left out)"},
                                      422: {"description": "a file could not be read or lacks its columns"}})
async def tax_match(request: Request, session: DbSession, principal: Matcher,
                    enterprises: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx: tax_code, name, "
                                                                        "address, employee_count")],
                    withholdings: Annotated[UploadFile | None, File(description="CSV or .xlsx: employer_tax_code, "
                                                                                "citizen_id, month (YYYY-MM)")]
                    = None,
                    on: Annotated[Day | None, Form(description="Date of the declared workers (default today).")]
                    = None) -> JSONResponse:
    """Match the tax authority's enterprises (and income tax withheld per worker) with the registry: enterprises
    not registered, employers declaring fewer workers than the tax data show, workers with tax withheld but no
    compulsory social insurance that month. Nothing is written but the audit."""
    _staff(principal)
    day = on or clock.today()
    if day > clock.today():
        raise ValidationFailed("on", "The date {value} is after today.", value=day)
    first = await enterprises.read()
    second = await withholdings.read() if withholdings is not None else None

    def work() -> JSONResponse:
        report = tax.tax_match(session, principal, enterprises=first, enterprises_name=enterprises.filename or "",
                               on=day, withholdings=second,
                               withholdings_name=(withholdings.filename or "") if withholdings is not None else None)
        tax.audit_match(session, principal, report)
        session.commit()
        return JSONResponse(report.to_json(), status_code=200 if report.status == "done" else 422)

    return await in_import_lane(request, work)


class CaseIn(BaseModel):
    tax_code: str = Field(min_length=10, max_length=14, pattern=r"^[0-9-]{10,14}$",
                          description="The employer's tax code (a finding of the match).")
    on: Day | None = Field(None, description="The day the case opens (default today).")
    findings: str | None = Field(None, max_length=4000, description="What the match found (the case's findings).")


@router.post("/tax-match/cases", status_code=201,
             responses={200: {"description": "the employer's open case (nothing opened)"}})
def open_case(body: CaseIn, session: DbSession, principal: Inspector) -> JSONResponse:
    """Open an inspection case for a registered employer of the caller's scope from a finding; its open case, if
    it has one, is the answer (200: nothing changed)."""
    _staff(principal)
    day = body.on or clock.today()
    if day > clock.today():
        raise ValidationFailed("on", "The date {value} is after today.", value=day)
    case, opened = tax.open_inspection(session, principal, tax_code=body.tax_code, on=day, findings=body.findings)
    return JSONResponse({"case_id": case.id, "employer_id": case.employer_id, "opened": opened,
                         "opened_on": case.opened_on.isoformat(), "status": case.status,
                         "findings": case.findings}, status_code=201 if opened else 200)
