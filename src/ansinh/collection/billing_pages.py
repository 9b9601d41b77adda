"""Web pages of billing runs: the list of runs (sortable, paged), the form that starts a run for a month, and a
run's page with its progress (polled by htmx while the run is billed), totals and exceptions.

Thin routes over :mod:`ansinh.collection.billing`. A month is billed as a ``billing`` job (:mod:`ansinh.jobs`,
started as from the jobs' page, the API or ``ansinh jobs start billing``, with the same permission and province
scope): its chunks go to the workers when a broker is configured, else run in the web process on a thread of their
own, by the same code path; the user is sent to the job's page. A run's page shows the job billing it. The routes
are synchronous (the thread pool). Scope as the API's: a province's runs for its province office (and national
staff), the country's for national staff.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.collection import billing
from ansinh.collection.models import BillingRun
from ansinh.collection.page_common import payer_names, translated
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.registry.places import province_names
from ansinh.i18n import N_, gettext
from ansinh.jobs.models import FINISHED, Job
from ansinh.web.labels import register_labels
from ansinh.web.lists import Column, fetch_page, read_listing
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
Manager = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
RunReader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
WHOLE_COUNTRY = "*"
RUN_STATUSES = (billing.RUNNING, billing.COMPLETED, billing.WITH_EXCEPTIONS)

register_nav_item(NavItem("collection_billing", N_("Billing runs"), "/collection/billing",
                          Permission.participation_manage, order=143, agency_only=True, group="collection"))
register_labels({
    "running": N_("Being billed"), "completed": N_("Completed"),
    "completed_with_exceptions": N_("Completed with exceptions"),
    "income_out_of_range": N_("Income out of range"), "no_salary": N_("No insured salary"),
    "billing_run": N_("Billing run"),  # the audit event of a finished run
})

COLUMNS = (
    Column("period", N_("Month"), BillingRun.period),
    Column("province", N_("Scope"), BillingRun.province),
    Column("status", N_("Status"), BillingRun.status),
    Column("bills", N_("Bills"), BillingRun.bills, numeric=True),
    Column("total", N_("Total"), BillingRun.total, numeric=True),
    Column("created_by", N_("Started by"), BillingRun.created_by),
    Column("started_at", N_("Started"), BillingRun.started_at),
    Column("duration", N_("Duration")),
)


def scope_name(code: str | None, names: dict[str, str]) -> str:
    if code in (None, "", WHOLE_COUNTRY):
        return gettext("Whole country")
    return names.get(code, code)


def duration_text(run: BillingRun) -> str:
    """The run's duration as a reader says it: ``2 min 05 s``, ``45 s`` (empty while it runs)."""
    if run.finished_at is None or run.started_at is None:
        return ""
    seconds = max(0, int((_aware(run.finished_at) - _aware(run.started_at)).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    if minutes:
        return gettext("{minutes} min {seconds} s").format(minutes=minutes, seconds=f"{seconds:02d}")
    return gettext("{seconds} s").format(seconds=seconds)


def _aware(moment):
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _scope_choices(session: Session, principal: Principal, names: dict[str, str]) -> list[tuple[str, str]]:
    provinces = billing.run_provinces_in_scope(session, principal)
    if provinces is None:  # national staff: the country, then every province by name
        codes = sorted(names) or []
        return [(WHOLE_COUNTRY, gettext("Whole country"))] + [(c, names.get(c, c)) for c in codes]
    return [(c, names.get(c, c)) for c in provinces]


def _runs_context(request: Request, session: Session, principal: Principal, status: str) -> dict:
    names = province_names(session)
    status = status if status in RUN_STATUSES else ""
    listing = read_listing(request, COLUMNS, default_sort="period", default_descending=True,
                           filters={"status": status})
    stmt = billing.runs_query(session, principal)
    if status:
        stmt = stmt.where(BillingRun.status == status)
    runs = fetch_page(session, stmt, listing, BillingRun.id.desc(), scalars=True)
    today = clock.today()
    return {"listing": listing, "runs": runs, "names": names, "scope_name": scope_name,
            "duration": duration_text, "statuses": RUN_STATUSES, "status": status,
            "choices": _scope_choices(session, principal, names),
            "can_start": principal.has(Permission.participation_manage),
            "period": f"{today.year:04d}-{today.month:02d}", "province": "", "errors": {}}


@router.get("/collection/billing")
def billing_runs_page(request: Request, session: DbSession, principal: Manager, status: str = "") -> Response:
    return render(request, "collection/billing_runs.html", _runs_context(request, session, principal, status))


@router.post("/collection/billing")
def start_billing_run(request: Request, session: DbSession, principal: Manager,
                      period: Annotated[str, Form(max_length=10)] = "",
                      province: Annotated[str, Form(max_length=8)] = "",
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    """Start (or resume) the billing of a month as a job; then the job's page shows its progress. The same month
    and scope again find the same job: a completed one bills nothing more."""
    verify_csrf(request, csrf_token)
    from ansinh.collection.billing_api import parse_period
    from ansinh.jobs import service as jobs

    errors: dict[str, str] = {}
    chosen = province.strip()
    settings = request.app.state.settings
    try:
        month = parse_period(period.strip())
        if not chosen:
            raise ValidationFailed("province", "Choose a province or the whole country.")
        params = {"period": f"{month.year:04d}-{month.month:02d}",
                  "province": None if chosen == WHOLE_COUNTRY else chosen, "today": clock.today().isoformat()}
        job_id = jobs.start_job(request.app.state.database, "billing", params, actor=principal.username,
                                principal=principal, broker_url=settings.broker_url, queue=settings.job_queue,
                                in_background=True)
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        field = exc.field if isinstance(exc, ValidationFailed) and exc.field in ("period", "province") else "form"
        errors[field] = exc.translated(gettext)
        context = _runs_context(request, session, principal, "")
        context.update(period=period, province=chosen, errors=errors)
        status_code = 409 if isinstance(exc, Conflict) else 403 if isinstance(exc, PermissionDenied) else 422
        return render(request, "collection/billing_runs.html", context, status_code=status_code)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def _run_in_scope(session: Session, principal: Principal, run_id: int) -> BillingRun:
    run = billing.get_run(session, run_id)
    if run is None:
        raise NotFound("Billing run {id} does not exist.", id=run_id)
    billing.ensure_run_scope(session, principal, run.province)
    return run


def billing_job(session: Session, run: BillingRun) -> Job | None:
    """The job billing the run: its province's, or the country's (which bills each province's run); one not yet
    finished first, else the latest. None for a run billed otherwise (``ansinh billing run``, the country's
    run ``*``)."""
    if run.province in (None, WHOLE_COUNTRY):
        return None
    period = f"{run.period.year:04d}-{run.period.month:02d}"
    jobs = list(session.scalars(select(Job).where(Job.kind == "billing", Job.key.in_(
        [f"billing:{period}:{run.province}", f"billing:{period}:*"])).order_by(Job.id.desc())))
    return next((job for job in jobs if job.status not in FINISHED), jobs[0] if jobs else None)


def _progress_context(session: Session, principal: Principal, run: BillingRun) -> dict:
    """The run's progress; a run whose job is still running is being billed (its chunks hold no lease), and the
    job is linked when the caller may read it."""
    from ansinh.jobs.service import jobs_query

    progress = billing.run_progress(session, run)
    job = billing_job(session, run)
    if job is not None and job.status not in FINISHED and not progress["finished"]:
        progress.update(active=True, stopped=False)
    if job is not None and session.scalar(jobs_query(session, principal).where(Job.id == job.id)) is None:
        job = None  # the country's job, for a province office: not theirs to read
    return {"run": run, "progress": progress, "job": job}


@router.get("/collection/billing/runs/{run_id}")
def billing_run_page(request: Request, session: DbSession, principal: RunReader, run_id: RecordId,
                     resolved: bool = False) -> Response:
    run = _run_in_scope(session, principal, run_id)
    names = province_names(session)
    summary = billing.run_summary(session, run)
    exceptions = billing.list_exceptions(session, run, open_only=not resolved, limit=500)
    payers = payer_names(session, (e["payer_key"] for e in exceptions))
    for e in exceptions:
        e["text"], e["payer_name"] = translated(e["template"], e["params"]), payers.get(e["payer_key"])
    return render(request, "collection/billing_run.html", {
        **_progress_context(session, principal, run), "summary": summary, "exceptions": exceptions, "resolved": resolved,
        "scope": scope_name(run.province, names), "duration": duration_text(run),
        "can_start": principal.has(Permission.participation_manage),
        "period_value": f"{run.period.year:04d}-{run.period.month:02d}",
    })


@router.get("/collection/billing/runs/{run_id}/progress")
def billing_run_progress(request: Request, session: DbSession, principal: RunReader, run_id: RecordId,
                         watching: bool = False) -> Response:
    """The progress fragment the run's page polls every second while the run is billed; when the run has
    ended, the page is reloaded (``HX-Refresh``) to show its totals and exceptions."""
    run = _run_in_scope(session, principal, run_id)
    context = _progress_context(session, principal, run)
    headers = {"HX-Refresh": "true"} if watching and is_htmx(request) and context["progress"]["finished"] else None
    return render(request, "collection/billing_progress.html", context, headers=headers)
