"""HTTP routes of the imports: upload a file, download a template, list imports, the population sync report.

``POST /api/v1/imports/{kind}`` answers the report: 201 when applied, 200 when the same file was already
imported (nothing changed), 422 when rejected (nothing written; the errors in the body). ``?format=xlsx`` answers
the same report as an Excel workbook (same status codes). With an ``Idempotency-Key`` the same request sent again
answers the same report (and the same file is never applied twice anyway: imports are idempotent by content).

An import can take minutes: it never runs on the event loop. The file is received there, then validated, written
and committed on a lane of worker threads of its own (:func:`import_lane`: :data:`IMPORT_THREADS` per process),
apart from the threads of the other routes, in a transaction allowed to wait for locks longer than a request's
(:func:`ansinh.db.allow_waiting`): the rest of the server keeps answering meanwhile, and imports beyond the lane's
size wait their turn. The web form (:mod:`ansinh.registry.pages`) uses the same lane.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.db import allow_waiting
from ansinh.idempotency import IdempotencyKeyHeader, idempotent
from ansinh.registry import imports
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}})
Importer = Annotated[Principal, Depends(require(Permission.imports_run, scope=Scope.org_subtree))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS = {"applied": 201, "unchanged": 200, "rejected": 422}
#: Imports run at the same time per process (more wait their turn): each holds a database connection and, for a
#: large file, a few hundred megabytes of frames.
IMPORT_THREADS = 2
T = TypeVar("T")


def import_lane(request: Request) -> CapacityLimiter:
    """The threads of this process that run imports, apart from the pool of the other routes (made on the event
    loop, once)."""
    lane = getattr(request.app.state, "import_lane", None)
    if lane is None:
        threads = getattr(request.app.state.settings, "import_threads", IMPORT_THREADS)
        lane = request.app.state.import_lane = CapacityLimiter(max(1, int(threads)))
    return lane


async def in_import_lane(request: Request, work: Callable[[], T]) -> T:
    """Run ``work`` (which uses the request's session and commits it) on the import lane."""
    return await to_thread.run_sync(work, limiter=import_lane(request))


def _batch_json(batch) -> dict:
    return {"id": batch.id, "kind": batch.kind, "file_name": batch.file_name, "sha256": batch.sha256,
            "status": batch.status, "rows": batch.rows, "created": batch.created_rows,
            "unchanged": batch.unchanged_rows, "error_count": batch.error_count, "org_unit_id": batch.org_unit_id,
            "created_by": batch.created_by, "created_at": batch.created_at.isoformat() if batch.created_at else None}


@router.get("")
def list_imports(session: DbSession, principal: Importer, kind: Annotated[str | None, Query(max_length=40)] = None,
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
def download_template(kind: Annotated[str, Path(max_length=40)], _: Importer) -> Response:
    """An Excel template with the documented columns and one example row."""
    content = imports.template_xlsx(kind)
    name = f"ansinh-import-{kind.replace('_', '-')}.xlsx"
    return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/{kind}", responses={201: {"description": "applied"}, 200: {"description": "unchanged"},
                                   422: {"description": "rejected: the error report"}})
async def upload(kind: Annotated[str, Path(max_length=40)], request: Request, session: DbSession, principal: Importer,
                 file: Annotated[UploadFile, File(description="CSV (UTF-8, comma or semicolon) or .xlsx")],
                 org_unit_code: Annotated[str | None, Form(max_length=40)] = None,
                 format: Annotated[str, Query(pattern="^(json|xlsx)$")] = "json",
                 idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Validate the whole file, then apply it, or write nothing and answer the errors. Runs on the import lane
    (the server keeps answering other requests meanwhile)."""
    content = await file.read()
    file_name = file.filename or "upload"

    def work() -> Response:
        allow_waiting(session)
        payload = {"kind": kind, "file_name": file_name, "sha256": hashlib.sha256(content).hexdigest(),
                   "org_unit_code": org_unit_code or None}
        made: list[imports.ImportReport] = []

        def produce() -> dict:
            made.append(imports.import_file(session, kind=kind, content=content, file_name=file_name,
                                            principal_or_context=principal, org_unit=org_unit_code or None,
                                            today=clock.today()))
            return made[0].to_json()

        answer = idempotent(session, request, principal, idempotency_key, payload, produce,
                            status_code=lambda report: STATUS[report["status"]])
        session.commit()  # here, on the lane: the commit of a large file must not wait on the event loop either
        if isinstance(answer, Response):
            data, code = json.loads(answer.body), answer.status_code
            headers = {k: v for k, v in answer.headers.items() if k.lower() == "idempotent-replayed"}
        else:
            data, code, headers = answer, STATUS[answer["status"]], {}
        if format == "xlsx":
            report = made[0] if made else imports.ImportReport.from_json(data)
            name = f"ansinh-import-report-{report.batch_id or 'x'}.xlsx"
            return Response(report.to_xlsx(), status_code=code, media_type=XLSX,
                            headers={**headers, "Content-Disposition": f'attachment; filename="{name}"'})
        return JSONResponse(data, status_code=code, headers=headers)

    return await in_import_lane(request, work)


@router.get("/population/{batch_id}/sync")
def population_sync(batch_id: RecordId, session: DbSession, principal: Importer) -> dict:
    """Matched, differing and missing people between the registry and an imported population extract (the people
    named in it are audited as one list event)."""
    return imports.population_sync_report(session, batch_id, principal)
