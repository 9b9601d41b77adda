"""HTTP routes of plans: ``GET /api/v1/plans?year=&province=`` (current versions with history, and the cascade's
warnings), ``POST /api/v1/plans/import`` (multipart ``file``: all rows or none), ``PUT /api/v1/plans/targets``
(set one target: a new version), ``GET /api/v1/plans/versions/{id}`` and ``GET /api/v1/plans/template``.

Who: reading, ``targets.read`` (a province's staff: their province; national staff: all); assigning,
``targets.manage`` (national staff: the country's and provinces' plans; a province's officers: their offices')."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.schemas import ErrorBody
from ansinh.targets.plans import service

router = APIRouter(prefix="/api/v1/plans", tags=["targets"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Reader = Annotated[Principal, Depends(require(Permission.targets_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.targets_manage, scope=Scope.org_subtree))]
Province = Annotated[str | None, Query(pattern=r"^\d{2}$", description="2-digit province code; 00 = the country")]
STATUS = {"applied": 201, "unchanged": 200, "rejected": 422}


@router.get("")
def read_plans(session: DbSession, principal: Reader, year: Annotated[int, Query(ge=2000, le=2100)],
               province: Province = None) -> dict:
    """The plans of a year the caller may read: current versions, their targets and history; the warnings where
    parts do not add up to the whole."""
    return service.plans_json(session, principal, year=year, province=province)


@router.post("/import", responses={201: {"description": "applied: new plan versions"},
                                   200: {"description": "unchanged: the plans already say this"},
                                   422: {"description": "refused: every bad row, nothing written"}})
def import_plans(session: DbSession, principal: Manager,
                 file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx of the template's columns")]
                 ) -> JSONResponse:
    """Import a plan file, all rows or none: each province and year in it gets a new version of its plan."""
    report = service.import_plans(session, content=file.file.read(), file_name=file.filename or "upload",
                                  principal=principal, actor=principal.username)
    if report.status == "rejected":
        session.rollback()
    return JSONResponse(report.to_json(), status_code=STATUS[report.status])


class TargetIn(BaseModel):
    indicator: str = Field(max_length=64)
    province: str = Field(pattern=r"^\d{2}$")
    year: int = Field(ge=2000, le=2100)
    quarter: int | None = Field(None, ge=1, le=4)
    value: str = Field(max_length=30, description="In the indicator's unit (percent for rates)")
    source: str = Field(min_length=1, max_length=200)
    effective_from: date
    office: str | None = Field(None, max_length=20)
    note: str | None = Field(None, max_length=300)


@router.put("/targets")
def set_target(body: TargetIn, session: DbSession, principal: Manager) -> dict:
    """Set one target: a new version of that province's plan for the year (none when it changes nothing)."""
    versions = service.set_target(session, principal, actor=principal.username, indicator=body.indicator,
                                  province=body.province, year=body.year, quarter=body.quarter, value=body.value,
                                  source=body.source, effective_from=body.effective_from.isoformat(),
                                  office_code=body.office, note=body.note)
    return {"versions": versions, "warnings": service.cascade_warnings(session, body.year)}


@router.get("/versions/{version_id}")
def read_version(version_id: RecordId, session: DbSession, principal: Reader) -> dict:
    """One version of a plan and its targets."""
    version = service.get_version(session, principal, version_id)
    return service.version_json(version) | {
        "targets": [service.target_json(t) for t in service.version_targets(session, version)]}


@router.get("/export")
def export(session: DbSession, principal: Reader, year: Annotated[int, Query(ge=2000, le=2100)],
           province: Province = None, format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx") -> Response:
    """The current targets of a year's plans the caller may read, in the plan file's layout (edit and import
    back as a revision)."""
    rows = service.export_rows(session, principal, year=year, province=province)
    name = f"plans-{year}{'-' + province if province else ''}.{format}"
    if format == "csv":
        return Response(service.export_csv(rows), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return Response(service.export_xlsx(rows),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/template", dependencies=[Depends(require(Permission.targets_read, scope=Scope.reference))])
def template(format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx") -> Response:
    """The plan template: Excel (with the indicators sheet) or CSV."""
    if format == "csv":
        return Response(service.template_csv(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="plans-template.csv"'})
    return Response(service.template_xlsx(),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="plans-template.xlsx"'})
