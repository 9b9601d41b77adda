"""HTTP routes of the imports: upload a file, download a template, list imports, the population sync report.

``POST /api/v1/imports/{kind}`` answers the report: 201 when applied, 200 when the same file was already
imported (nothing changed), 422 when rejected (nothing written; the errors in the body). ``?format=xlsx`` answers
the same report as an Excel workbook (same status codes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from ansinh.bounds import RecordId
from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.registry import imports
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}})
Importer = Annotated[Principal, Depends(require(Permission.imports_run, scope=Scope.org_subtree))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS = {"applied": 201, "unchanged": 200, "rejected": 422}


def _batch_json(batch) -> dict:
    return {"id": batch.id, "kind": batch.kind, "file_name": batch.file_name, "sha256": batch.sha256,
            "status": batch.status, "rows": batch.rows, "created": batch.created_rows,
            "unchanged": batch.unchanged_rows, "error_count": batch.error_count, "org_unit_id": batch.org_unit_id,
            "created_by": batch.created_by, "created_at": batch.created_at.isoformat() if batch.created_at else None}


@router.get("")
def list_imports(session: DbSession, principal: Importer, kind: str | None = None,
                 limit: int = Query(50, ge=1, le=500)) -> list[dict]:
    """Recent imports within your org unit."""
    return [_batch_json(b) for b in imports.list_batches(session, principal, kind=kind, limit=limit)]


@router.get("/kinds")
def import_kinds(_: Importer) -> dict:
    """The documented column layout of every kind."""
    return {kind: [{"name": c.name, "required": c.required, "description_en": c.description_en,
                    "description_vi": c.description_vi, "example": c.example} for c in columns]
            for kind, columns in imports.COLUMNS.items()}


@router.get("/{kind}/template", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def download_template(kind: str, _: Importer) -> Response:
    """An Excel template with the documented columns and one example row."""
    content = imports.template_xlsx(kind)
    name = f"ansinh-import-{kind.replace('_', '-')}.xlsx"
    return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/{kind}", responses={201: {"description": "applied"}, 200: {"description": "unchanged"},
                                   422: {"description": "rejected: the error report"}})
async def upload(kind: str, session: DbSession, principal: Importer,
                 file: Annotated[UploadFile, File(description="CSV (UTF-8, comma or semicolon) or .xlsx")],
                 org_unit_code: Annotated[str | None, Form()] = None,
                 format: Annotated[str, Query(pattern="^(json|xlsx)$")] = "json") -> Response:
    """Validate the whole file, then apply it, or write nothing and answer the errors."""
    content = await file.read()
    report = imports.import_file(session, kind=kind, content=content, file_name=file.filename or "upload",
                                 principal_or_context=principal, org_unit=org_unit_code or None, today=clock.today())
    code = STATUS[report.status]
    if format == "xlsx":
        name = f"ansinh-import-report-{report.batch_id or 'x'}.xlsx"
        return Response(report.to_xlsx(), status_code=code, media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return JSONResponse(report.to_json(), status_code=code)


@router.get("/population/{batch_id}/sync")
def population_sync(batch_id: RecordId, session: DbSession, principal: Importer) -> dict:
    """Matched, differing and missing people between the registry and an imported population extract."""
    return imports.population_sync_report(session, batch_id, principal)
