"""Web pages of jobs: the list (sortable, paged) with the form that starts one, and a job's page with its progress
bar (polled by htmx every second while it runs), its chunks, result and errors, and the files it wrote (a report
export's) to download.

Thin routes over :mod:`ansinh.jobs.service`: a job started here runs on the workers (with a broker) or on a thread
of this process, never on the event loop; the routes are synchronous (the thread pool). Scope as the API's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.errors import Conflict, PermissionDenied, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.jobs import files, service
from ansinh.jobs.models import FAILED, JOB_STATUSES, Job, JobChunk
from ansinh.jobs.registry import job_kinds
from ansinh.registry.places import province_names
from ansinh.web.lists import Column, fetch_page, read_listing
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import is_htmx, render, request_locale

router = APIRouter(include_in_schema=False)
Starter = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
Reader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
WHOLE_COUNTRY = "*"
#: Chunks listed on a job's page (failed ones first); the API lists them all.
CHUNKS_SHOWN = 200

register_nav_item(NavItem("jobs", N_("Jobs"), "/jobs", Permission.participation_manage, order=930, agency_only=True,
                          group="administration"))

STATUS_LABELS = {"queued": N_("Queued"), "running": N_("Running"), "finishing": N_("Finishing"),
                 "completed": N_("Completed"), "completed_with_errors": N_("Completed with errors"),
                 "failed": N_("Failed"), "pending": N_("Waiting"), "done": N_("Done")}

COLUMNS = (
    Column("id", N_("Job"), Job.id, numeric=True),
    Column("kind", N_("Kind"), Job.kind),
    Column("scope", N_("Scope"), Job.province),
    Column("status", N_("Status"), Job.status),
    Column("chunks", N_("Parts"), Job.chunks_total, numeric=True),
    Column("created_by", N_("Started by"), Job.created_by),
    Column("created_at", N_("Started"), Job.created_at),
    Column("duration", N_("Duration")),
)


def status_label(status: str) -> str:
    return gettext(STATUS_LABELS.get(status, status))


def kind_title(code: str) -> str:
    kind = job_kinds().get(code)
    return gettext(kind.title) if kind else code


def scope_name(code: str | None, names: dict[str, str]) -> str:
    return gettext("Whole country") if code in (None, "", WHOLE_COUNTRY) else names.get(code, code)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    if minutes:
        return gettext("{minutes} min {seconds} s").format(minutes=minutes, seconds=f"{rest:02d}")
    return gettext("{seconds} s").format(seconds=rest)


def _scope_choices(session: Session, principal: Principal, names: dict[str, str]) -> list[tuple[str, str]]:
    provinces = service.provinces_in_scope(session, principal)
    if provinces is None:
        return [(WHOLE_COUNTRY, gettext("Whole country"))] + [(c, names.get(c, c)) for c in sorted(names)]
    return [(c, names.get(c, c)) for c in provinces]


def _common(session: Session) -> dict:
    return {"status_label": status_label, "kind_title": kind_title, "duration": duration_text,
            "names": province_names(session), "scope_name": scope_name}


def _list_context(request: Request, session: Session, principal: Principal, status: str) -> dict:
    common = _common(session)
    status = status if status in JOB_STATUSES else ""
    listing = read_listing(request, COLUMNS, default_sort="id", default_descending=True, filters={"status": status})
    stmt = service.jobs_query(session, principal)
    if status:
        stmt = stmt.where(Job.status == status)
    jobs = fetch_page(session, stmt, listing, Job.id.desc(), scalars=True)
    today = clock.today()
    kinds = [(code, gettext(kind.title)) for code, kind in sorted(job_kinds().items())
             if principal.has(kind.permission) and not code.startswith("test")]
    return {**common, "listing": listing, "jobs": jobs, "statuses": JOB_STATUSES, "status": status,
            "progress": {job.id: service.job_progress(session, job) for job in jobs},
            "choices": _scope_choices(session, principal, common["names"]), "kinds": kinds,
            "can_start": principal.has(Permission.participation_manage) and bool(kinds),
            "kind": "billing", "period": f"{today.year:04d}-{today.month:02d}", "province": "", "errors": {}}


@router.get("/jobs")
def jobs_page(request: Request, session: DbSession, principal: Reader, status: str = "") -> Response:
    return render(request, "jobs/jobs.html", _list_context(request, session, principal, status))


@router.post("/jobs")
def start_job_page(request: Request, session: DbSession, principal: Starter,
                   kind: Annotated[str, Form(max_length=32)] = "billing",
                   period: Annotated[str, Form(max_length=10)] = "",
                   province: Annotated[str, Form(max_length=8)] = "",
                   csrf_token: Annotated[str, Form()] = "") -> Response:
    """Start (or resume) a job; then its page shows its progress."""
    verify_csrf(request, csrf_token)
    chosen = province.strip()
    settings = request.app.state.settings
    try:
        if not chosen:
            raise ValidationFailed("province", "Choose a province or the whole country.")
        params = {"period": period.strip(), "province": None if chosen == WHOLE_COUNTRY else chosen,
                  "today": clock.today().isoformat()}
        chosen_kind = job_kinds().get(kind)
        if chosen_kind is not None and "locale" in chosen_kind.params:  # files in the language of the page
            params["locale"] = request_locale(request)
        job_id = service.start_job(request.app.state.database, kind, params, actor=principal.username,
                                   principal=principal, broker_url=settings.broker_url, queue=settings.job_queue,
                                   in_background=True)
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        field = exc.field if isinstance(exc, ValidationFailed) and exc.field in ("period", "province") else "form"
        context = _list_context(request, session, principal, "")
        context.update(kind=kind, period=period, province=chosen, errors={field: exc.translated(gettext)})
        status_code = 409 if isinstance(exc, Conflict) else 403 if isinstance(exc, PermissionDenied) else 422
        return render(request, "jobs/jobs.html", context, status_code=status_code)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def _job_context(session: Session, job: Job) -> dict:
    return {**_common(session), "job": job, "progress": service.job_progress(session, job)}


FORMAT_LABELS = {"xlsx": N_("Excel workbook"), "pdf": N_("PDF document")}


def _file_rows(principal: Principal, job: Job, locale: str, names: dict[str, str]) -> list[dict]:
    """The files of the job's result, for its page (none to a reader without the kind's permission)."""
    kind = job_kinds().get(job.kind)
    if kind is not None and not principal.has(kind.permission):
        return []
    rows = []
    for entry in files.listed_files(job):
        fmt = str(entry.get("format") or entry["name"].rsplit(".", 1)[-1]).lower()
        code = entry.get("province")
        rows.append({"name": entry["name"], "href": f"/jobs/{job.id}/files/{entry['name']}",
                     "format": gettext(FORMAT_LABELS[fmt]) if fmt in FORMAT_LABELS else fmt.upper(),
                     "province": "" if not code else scope_name(None if code == "00" else code, names),
                     "size": files.file_size(entry.get("size"), locale), "bytes": entry.get("size")})
    return rows


@router.get("/jobs/{job_id}")
def job_page(request: Request, session: DbSession, principal: Reader, job_id: RecordId) -> Response:
    job = service.get_job_in_scope(session, principal, job_id)
    chunks = list(session.scalars(select(JobChunk).where(JobChunk.job_id == job.id)
                                  .order_by((JobChunk.status != FAILED), JobChunk.seq).limit(CHUNKS_SHOWN)))
    context = _job_context(session, job)
    return render(request, "jobs/job.html", {**context, "chunks": chunks, "chunks_shown": CHUNKS_SHOWN,
                                             "files": _file_rows(principal, job, request_locale(request),
                                                                 context["names"])})


@router.get("/jobs/{job_id}/files/{name}")
def job_file_download(request: Request, session: DbSession, principal: Reader, job_id: RecordId,
                      name: Annotated[str, Path(description="A name the job's result lists")]) -> FileResponse:
    """A file the job wrote, as the API's ``GET /api/v1/jobs/{id}/files/{name}`` (the same checks, audited)."""
    from ansinh.jobs.api import file_response

    _job, entry, path = files.job_file(session, principal, job_id, name, request.app.state.settings)
    return file_response(path, entry)


@router.get("/jobs/{job_id}/progress")
def job_progress_fragment(request: Request, session: DbSession, principal: Reader, job_id: RecordId,
                          watching: bool = False) -> Response:
    """The progress fragment the job's page polls every second while the job runs; once it has ended the page is
    reloaded (``HX-Refresh``) to show its result and errors."""
    job = service.get_job_in_scope(session, principal, job_id)
    context = _job_context(session, job)
    headers = {"HX-Refresh": "true"} if watching and is_htmx(request) and context["progress"]["finished"] else None
    return render(request, "jobs/progress.html", context, headers=headers)
