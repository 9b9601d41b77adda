"""Web pages of benefit payments: the monthly payroll runs with their totals and progress, and starting the run of a
month (``/benefits/payroll``); a run's page with its payments (``/benefits/payroll/{id}``); the payments with their
filters, the payment files to banks and paying points (export and download), the import of a bank's result file with
its outcome, re-issuing a failed payment, and the reconciliation of payments with the ledger (``/benefits/payments``);
the overpayments to recover (``/benefits/overpayments``).

Thin routes over :mod:`ansinh.benefits.payments.service`, for agency staff with ``benefits.read`` (reading) and
``benefits.pay`` (every change); each record is checked against the caller's scope by the service.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.models import OrgLevel
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.benefits.payments import service
from ansinh.bounds import MAX_AMOUNT, RecordId
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.registry.models import Person
from ansinh.web.forms import redirect
from ansinh.web.labels import register_labels
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.benefits_read, scope=Scope.org_subtree))]
Payer = Annotated[Principal, Depends(require(Permission.benefits_pay, scope=Scope.org_subtree))]
_Filter = Annotated[str, Query(max_length=20)]
_Field = Annotated[str, Form(max_length=200)]

register_nav_item(NavItem("benefits_payroll", N_("Payroll"), "/benefits/payroll", Permission.benefits_pay, order=630,
                          agency_only=True, group="benefits"))
register_nav_item(NavItem("benefits_payments", N_("Benefit payments"), "/benefits/payments", Permission.benefits_pay,
                          order=640, agency_only=True, group="benefits"))
register_nav_item(NavItem("benefits_overpayments", N_("Overpayments"), "/benefits/overpayments",
                          Permission.benefits_pay, order=650, agency_only=True, group="benefits"))
register_labels({"payroll.running": N_("Running"), "payroll.completed": N_("Completed"),
                 "overpayment.open": N_("To recover"), "overpayment.recovered": N_("Recovered"),
                 "fund.retirement": N_("Retirement and survivors fund"),
                 "fund.sickness_maternity": N_("Sickness and maternity fund"),
                 "fund.unemployment": N_("Unemployment insurance fund"),
                 "file_kind.bank": N_("Bank transfer"), "file_kind.cash": N_("Cash list of a paying point")})
#: The reconciliation's counts as a reader names them.
CHECKS = {
    "orders_not_matching_the_ledger": N_("Orders whose ledger posting differs"),
    "order_expense_not_matching": N_("Orders whose expense differs by fund"),
    "payments_without_order": N_("Payments without an order"),
    "reissues_of_no_failed_payment": N_("Re-issues of no failed payment"),
    "paid_not_matching_the_ledger": N_("Paid results whose posting differs"),
    "paid_without_posting": N_("Paid payments without posting"),
    "cancellations_not_posted": N_("Cancellations not posted"),
}
NOTICES = {"started": N_("The payroll of the month was run."), "exported": N_("The payment file was made."),
           "reissued": N_("The payment was re-issued."), "recovered": N_("The recovery was recorded.")}
PAGE_SIZE = 50
#: The largest result file accepted from the page (bytes): some hundred thousand rows.
RESULT_MAX_BYTES = 20_000_000


def _parse_month(text: str, field: str = "month") -> date:
    value = (text or "").strip()
    match = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise ValidationFailed(field, "{value} is not a month (use YYYY-MM).", value=value[:20] or "—")
    return date(int(match.group(1)), int(match.group(2)), 1)


def _choice(value: str, allowed) -> str | None:
    return value if value in allowed else None


def _run_row(run: dict) -> dict:
    done, total = run.get("chunks_done") or 0, run.get("chunks_total") or 1
    return {**run, "month_day": date.fromisoformat(run["month"] + "-01"), "percent": round(100 * done / total)}


def _runs_context(session: Session, principal: Principal, **extra) -> dict:
    today = clock.today()
    runs = [_run_row(r) for r in service.payroll_runs(session, principal)]
    national = principal.org_unit_level == OrgLevel.national.value
    return {"runs": runs, "month": f"{today.year:04d}-{today.month:02d}", "province": "",
            "national": national, "own_province": principal.place_code, "errors": {},
            "can_pay": principal.has(Permission.benefits_pay), **extra}


@router.get("/benefits/payroll")
def payroll_page(request: Request, session: DbSession, principal: Payer) -> Response:
    """The payroll runs by month with their totals and progress; the form that runs a month."""
    return render(request, "benefits/payroll.html", _runs_context(session, principal))


@router.post("/benefits/payroll")
def start_payroll(request: Request, session: DbSession, principal: Payer, month: _Field = "", province: _Field = "",
                  csrf_token: _Field = "") -> Response:
    """Run (or resume) the payroll of a month for the caller's province (national staff: a province or the whole
    country); a month already paid pays nothing again."""
    verify_csrf(request, csrf_token)
    chosen = province.strip()
    try:
        day = _parse_month(month)
        scope = None if chosen in ("", "*") and principal.org_unit_level == OrgLevel.national.value else (
            chosen or principal.place_code)
        service.ensure_payroll_scope(session, principal, scope)
        session.commit()
        run_id = service.start_payroll(request.app.state.database, month=day, by=principal.username, province=scope)
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        field = getattr(exc, "field", None) if getattr(exc, "field", None) in ("month", "province") else "form"
        status_code = 409 if isinstance(exc, Conflict) else 403 if isinstance(exc, PermissionDenied) else 422
        return render(request, "benefits/payroll.html", _runs_context(
            session, principal, month=month, province=chosen, errors={field: exc.translated(gettext)}),
            status_code=status_code)
    return redirect(f"/benefits/payroll/{run_id}?notice=started", request)


def _payee_names(session: Session, principal: Principal, payments) -> dict[int, Person]:
    ids = {p.payee_person_id for p in payments}
    if not ids:
        return {}
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    if people:
        from ansinh.registry.service import record_people_listed

        record_people_listed(session, principal, people.values(), what="benefit_payments")
    return people


def _payments_context(request: Request, session: Session, principal: Principal, *, run_id: int | None = None,
                      file_id: int | None = None, status: str = "", method: str = "", page: int = 1) -> dict:
    rows, total = service.payments_page(
        session, principal, run_id=run_id, file_id=file_id,
        status=_choice(status, ("ordered", "sent", "paid", "failed", "cancelled")),
        method=_choice(method, ("bank", "cash")), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    filters = {k: v for k, v in {"status": status, "method": method, "file": file_id or ""}.items() if v}
    from urllib.parse import urlencode

    return {"payments": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
            "query": urlencode(filters), "status": status, "method": method, "file_id": file_id,
            "people": _payee_names(session, principal, rows), "can_pay": principal.has(Permission.benefits_pay)}


@router.get("/benefits/payroll/{run_id}")
def payroll_run_page(request: Request, session: DbSession, principal: Payer, run_id: RecordId, status: _Filter = "",
                     method: _Filter = "", page: int = Query(1, ge=1, le=100_000), notice: _Filter = "") -> Response:
    """A run: its month, totals by means of payment, progress, and its payments with filters."""
    run = service.get_payroll_run(session, principal, run_id)
    summary = _run_row(service.payroll_summary(session, run))
    error = service.payroll_error(run) if run.status != "completed" else None
    if error is not None:
        error = error.translated(gettext) if hasattr(error, "translated") else gettext(
            "The run stopped on an unexpected error; start it again to resume it.")
    return render(request, "benefits/payroll_run.html", {
        "run": summary, "run_error": error, **_payments_context(request, session, principal, run_id=run.id, status=status,
                                            method=method, page=page),
        "notice": gettext(NOTICES[notice]) if notice in NOTICES else ""})


def _payments_page(request: Request, session: Session, principal: Principal, *, status: str = "", method: str = "",
                   file: str = "", page: int = 1, result=None, reconciliation: dict | None = None,
                   errors: dict | None = None, notice: str = "", status_code: int = 200) -> Response:
    file_id = int(file) if file.isdigit() and len(file) < 19 else None
    files = [{**view, "created_on": date.fromisoformat(view["created_on"])}
             for view in (service.payment_file_view(f) for f in service.payment_files(session, principal))]
    locale = request_locale(request)
    if result is not None:
        result = {**result.to_json(), "errors": [
            {"row": e.row, "field": e.field, "value": e.value, "reason": e.reason_vi if locale == "vi" else e.reason_en}
            for e in result.errors]}
    return render(request, "benefits/payments.html", {
        **_payments_context(request, session, principal, file_id=file_id, status=status, method=method, page=page),
        "files": files, "result": result, "checks": CHECKS, "reconciliation": reconciliation,
        "errors": errors or {}, "national": principal.org_unit_level == OrgLevel.national.value,
        "notice": gettext(NOTICES[notice]) if notice in NOTICES else ""}, status_code=status_code)


@router.get("/benefits/payments")
def payments_page(request: Request, session: DbSession, principal: Payer, status: _Filter = "", method: _Filter = "",
                  file: _Filter = "", page: int = Query(1, ge=1, le=100_000), notice: _Filter = "") -> Response:
    """The payments of the caller's scope with filters (means, status, file); the payment files; the forms that make
    a file, import a bank's results, and reconcile."""
    return _payments_page(request, session, principal, status=status, method=method, file=file, page=page,
                          notice=notice)


@router.post("/benefits/payment-files")
def export_file(request: Request, session: DbSession, principal: Payer, bank_bin: _Field = "",
                paying_point: _Field = "", csrf_token: _Field = "") -> Response:
    """Send the ordered payments of a bank (BIN) or a paying point: they go into a new file, listed to download."""
    verify_csrf(request, csrf_token)
    try:
        made = service.export_payment_file(session, principal, on=clock.today(),
                                           bank_bin=bank_bin.strip() or None,
                                           paying_point=paying_point.strip() or None)
    except (ValidationFailed, NotFound, Conflict) as exc:
        session.rollback()
        return _payments_page(request, session, principal, errors={"export": exc.translated(gettext)},
                              status_code=422)
    return redirect(f"/benefits/payments?file={made.id}&notice=exported", request)


@router.get("/benefits/payment-files/{file_id}.{extension}")
def download_file(session: DbSession, principal: Payer, file_id: RecordId, extension: str) -> Response:
    """A payment file as banks take it: CSV (UTF-8) or Excel."""
    if extension not in ("csv", "xlsx"):
        raise NotFound("There is nothing at this address.")
    name, content = service.payment_file_content(session, principal, file_id, fmt=extension)
    media = "text/csv; charset=utf-8" if extension == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                        "Cache-Control": "no-store"})


@router.post("/benefits/payments/results")
async def import_results(request: Request, session: DbSession, principal: Payer, csrf_token: _Field = "",
                         file: Annotated[UploadFile | None, File()] = None) -> Response:
    """A bank's result file: each payment paid or returned, all or nothing; the outcome shown on the page."""
    verify_csrf(request, csrf_token)
    name = (file.filename or "") if file is not None else ""
    if not name:
        return _payments_page(request, session, principal, status_code=422,
                              errors={"results": gettext("Choose the bank's result file.")})
    content = await file.read(RESULT_MAX_BYTES + 1)
    if len(content) > RESULT_MAX_BYTES:
        return _payments_page(request, session, principal, status_code=422, errors={
            "results": gettext("The file is larger than {size} MB.").format(size=RESULT_MAX_BYTES // 1_000_000)})
    try:
        report = service.import_bank_results(session, principal, file_name=name[:200], content=content,
                                             on=clock.today())
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _payments_page(request, session, principal, status_code=422,
                              errors={"results": exc.translated(gettext)})
    if report.status == "rejected":
        session.rollback()
        return _payments_page(request, session, principal, result=report, status_code=422)
    session.commit()
    return _payments_page(request, session, principal, result=report)


@router.post("/benefits/payments/reconciliation")
def reconcile(request: Request, session: DbSession, principal: Payer, csrf_token: _Field = "") -> Response:
    """Payments against the ledger, transaction by transaction (the whole books: national staff); paid claims whose
    payments are all settled become reconciled."""
    verify_csrf(request, csrf_token)
    if principal.org_unit_level != OrgLevel.national.value:
        raise PermissionDenied(N_("The reconciliation of the whole books is run by national staff."))
    counts = service.reconcile_payments(session, clock.today(), by=principal.username)
    session.commit()
    return _payments_page(request, session, principal, reconciliation=counts)


@router.post("/benefits/payments/{payment_id}/reissue")
def reissue(request: Request, session: DbSession, principal: Payer, payment_id: RecordId,
            csrf_token: _Field = "") -> Response:
    """Re-issue a failed payment to the payee's corrected means of payment."""
    verify_csrf(request, csrf_token)
    try:
        service.reissue_payment(session, principal, payment_id, on=clock.today())
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _payments_page(request, session, principal, status="failed", status_code=422,
                              errors={f"reissue-{payment_id}": exc.translated(gettext)})
    return redirect("/benefits/payments?status=failed&notice=reissued", request)


@router.get("/benefits/overpayments")
def overpayments_page(request: Request, session: DbSession, principal: Payer, status: _Filter = "",
                      page: int = Query(1, ge=1, le=100_000), notice: _Filter = "") -> Response:
    """Money paid that was not due (a death reported late, a benefit after re-employment): what is still owed."""
    return _overpayments(request, session, principal, status=status, page=page, notice=notice)


def _overpayments(request: Request, session: Session, principal: Principal, *, status: str = "", page: int = 1,
                  notice: str = "", errors: dict | None = None, status_code: int = 200) -> Response:
    chosen = _choice(status, ("open", "recovered"))
    rows, total = service.overpayments(session, principal, status=chosen, limit=PAGE_SIZE,
                                       offset=(page - 1) * PAGE_SIZE)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({o.person_id for o in rows})))} \
        if rows else {}
    if people:
        from ansinh.registry.service import record_people_listed

        record_people_listed(session, principal, people.values(), what="benefit_overpayments")
    return render(request, "benefits/overpayments.html", {
        "rows": [{**view, "detected_on": date.fromisoformat(view["detected_on"])}
                 for view in (service.overpayment_view(o) for o in rows)], "people": people, "total": total, "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)), "status": chosen or "", "query": f"status={chosen}" if chosen else "",
        "errors": errors or {}, "notice": gettext(NOTICES[notice]) if notice in NOTICES else ""},
        status_code=status_code)


@router.post("/benefits/overpayments/{overpayment_id}/recoveries")
def recover(request: Request, session: DbSession, principal: Payer, overpayment_id: RecordId, amount: _Field = "",
            csrf_token: _Field = "") -> Response:
    """Money recovered of an overpayment (at most what is still owed)."""
    verify_csrf(request, csrf_token)
    try:
        value = re.sub(r"[\s.,_]", "", amount)
        if not value.isdigit() or len(value) > 15 or not 0 < int(value) <= MAX_AMOUNT:
            raise ValidationFailed("amount", "The amount is a whole number of dong; got {value}.",
                                   value=amount[:20] or "—")
        service.recover_overpayment(session, principal, overpayment_id, amount=int(value), on=clock.today())
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _overpayments(request, session, principal, status_code=422,
                             errors={f"recover-{overpayment_id}": exc.translated(gettext)})
    return redirect("/benefits/overpayments?notice=recovered", request)

