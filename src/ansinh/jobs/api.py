"""HTTP routes of jobs: list them, read one (who started it, its progress per chunk, duration, result, errors),
start one, download the files it wrote (a report export's). A province's jobs are for its province office (and
national staff), the country's for national staff; another province's job answers 404. Starting a job needs its
kind's permission (billing: as the billing runs); downloading its files too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import FileResponse

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Offset, RecordId
from ansinh.idempotency import IdempotencyKeyHeader, idempotent
from ansinh.jobs import files, service
from ansinh.jobs.models import JOB_STATUSES, Job
from ansinh.jobs.schemas import JobIn, JobOut
from ansinh.schemas import ErrorBody, Page

router = APIRouter(prefix="/api/v1", tags=["jobs"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
JobReader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
#: A file's name as a path parameter: any other than the names the job's result lists is 404 (not 422).
FileName = Annotated[str, Path(description="A name the job's result lists, e.g. report-19-2026-Q3.pdf")]
JobStarter = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]


@router.get("/jobs", response_model=Page[JobOut])
def list_jobs(session: DbSession, principal: JobReader, kind: str | None = Query(default=None, max_length=32),
              status_: Annotated[str | None, Query(alias="status", max_length=24)] = None,
              limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0) -> dict:
    """The jobs the caller may read, newest first, with their progress (no per-chunk detail)."""
    from sqlalchemy import func, select

    stmt = service.jobs_query(session, principal)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    if status_ in JOB_STATUSES:
        stmt = stmt.where(Job.status == status_)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    jobs = session.scalars(stmt.order_by(Job.id.desc()).limit(limit).offset(offset))
    return {"items": [service.job_view(session, job, chunks=False) for job in jobs], "total": int(total or 0),
            "limit": limit, "offset": offset}


@router.get("/jobs/{job_id}", response_model=JobOut)
def read_job(job_id: RecordId, session: DbSession, principal: JobReader) -> dict:
    """A job: who started it, its kind and parameters, status, chunks done of the total and each chunk's state
    (attempts, worker, error), duration, result and errors."""
    return service.job_view(session, service.get_job_in_scope(session, principal, job_id))


@router.post("/jobs", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
def start_job(body: JobIn, request: Request, session: DbSession, principal: JobStarter,
              idempotency_key: IdempotencyKeyHeader = None) -> dict:
    """Start (or resume) a job: with a broker its chunks go to the workers, without one they run on a thread of
    this process; the answer is the job as it stands (poll ``GET /api/v1/jobs/{id}``). The same parameters give
    the same job (its idempotency key, e.g. ``billing:2026-11:19``): a completed job is returned as it is, one with
    failed chunks runs them again."""
    database = request.app.state.database
    settings = request.app.state.settings

    def produce() -> dict:
        params = {**body.params(), "today": clock.today().isoformat()}
        job_id = service.start_job(database, body.kind, params, actor=principal.username, principal=principal,
                                   broker_url=settings.broker_url, queue=settings.job_queue, in_background=True)
        session.expire_all()
        return service.job_view(session, session.get(Job, job_id))

    return idempotent(session, request, principal, idempotency_key, body, produce, status_code=202)


@router.get("/jobs/{job_id}/files/{name}", response_class=FileResponse,
            responses={200: {"content": {files.MEDIA_TYPES[".xlsx"]: {}, files.MEDIA_TYPES[".pdf"]: {}},
                             "description": "The file: a workbook or a PDF (a report export's)"}})
def download_job_file(job_id: RecordId, name: FileName, request: Request, session: DbSession,
                      principal: JobReader) -> FileResponse:
    """A file the job wrote (a report export's workbook or PDF), by a name its result lists; for those who may
    read the job and hold its kind's permission. Audited."""
    _job, entry, path = files.job_file(session, principal, job_id, name, request.app.state.settings)
    return file_response(path, entry)


def file_response(path, entry: dict) -> FileResponse:
    headers = {"ETag": f'"{entry["sha256"]}"'} if entry.get("sha256") else None
    return FileResponse(path, media_type=files.media_type(entry["name"]), filename=entry["name"], headers=headers)
