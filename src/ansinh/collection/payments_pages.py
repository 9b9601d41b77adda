"""Web pages of payments: the bank statement upload with its report, the payments list (filters, sorting,
totals, Excel export of exactly the filtered rows) and a payment's page with its allocations and the reversal
form.

Thin routes over :mod:`ansinh.collection.payments`. The upload is read here, then imported on the import lane
(:func:`ansinh.collection.payments_api.import_lane`), never on the event loop; the other routes are synchronous.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh import clock, i18n
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import MAX_AMOUNT, RecordId
from ansinh.collection import payments as service
from ansinh.collection.models import Bill, Payment
from ansinh.collection.page_common import payer_link, payer_names
from ansinh.errors import Conflict, DomainError, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.web.labels import label, register_labels
from ansinh.web.lists import Column, fetch_page, parse_filter_date, read_listing, stream_rows, xlsx_response
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.forms import raise_first, redirect
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
Intake = Annotated[Principal, Depends(require(Permission.imports_run, scope=Scope.org_subtree))]

register_nav_item(NavItem("collection_payments", N_("Payments"), "/collection/payments",
                          Permission.participation_read, order=144, agency_only=True, group="collection"))
register_nav_item(NavItem("collection_statement_import", N_("Bank statement import"), "/collection/payments/import",
                          Permission.imports_run, order=145, agency_only=True, group="collection"))

register_labels({"principal": N_("Contributions"), "interest": N_("Late interest")})

COLUMNS = (
    Column("paid_on", N_("Paid on"), Payment.paid_on),
    Column("transaction", N_("Bank transaction"), Payment.bank_transaction_id),
    Column("payer", N_("Payer")),
    Column("reference", N_("Transfer text")),
    Column("status", N_("Status"), Payment.status),
    Column("amount", N_("Amount"), Payment.amount, numeric=True),
)
FILTERS = ("paid_from", "paid_to", "status", "account", "amount_min", "amount_max", "payer")


def parse_amount(text: str, field: str) -> int | None:
    value = re.sub(r"[\s.,_₫đ]", "", text or "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 15:
        raise ValidationFailed(field, "The amount is a whole number of dong; got {value}.", value=text)
    if int(value) > MAX_AMOUNT:
        raise ValidationFailed(field, "The amount is larger than {limit} dong.", limit=MAX_AMOUNT)
    return int(value)


# --- statement upload -----------------------------------------------------------------------------------

def _reason(error) -> str:
    return error.reason_vi if i18n.get_locale() == "vi" else error.reason_en


def _import_page(request: Request, *, report=None, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "collection/statement_import.html", {
        "report": report, "error": error, "columns": service.COLUMNS, "reason": _reason,
    }, status_code=status_code)


@router.get("/collection/payments/import")
def statement_import_page(request: Request, principal: Intake) -> Response:
    return _import_page(request)


@router.post("/collection/payments/import")
async def statement_import(request: Request, session: DbSession, principal: Intake,
                           csrf_token: Annotated[str, Form(max_length=200)] = "",
                           file: Annotated[UploadFile | None, File()] = None) -> Response:
    """The upload form: the same import as ``POST /api/v1/payments/statements`` (all or nothing, a file already
    imported changes nothing), on the import lane."""
    from anyio import to_thread

    from ansinh.collection.payments_api import import_lane

    verify_csrf(request, csrf_token)
    name = (file.filename or "") if file is not None else ""
    content = await file.read() if file is not None and name else b""  # bounded by the upload size limit

    def work() -> Response:
        if not name or not content:
            return _import_page(request, error=gettext("Choose a CSV or Excel (.xlsx) bank statement."),
                                status_code=422)
        try:
            report = service.import_statement(session, content=content, file_name=name,
                                              actor=principal.username, today=clock.today(), principal=principal)
        except DomainError as exc:
            session.rollback()
            return _import_page(request, error=exc.translated(gettext), status_code=exc.status_code)
        if report.status == "rejected":
            session.rollback()  # nothing written
            return _import_page(request, report=report, status_code=422)
        answer = _import_page(request, report=report)
        session.commit()  # on the lane, not on the event loop
        return answer

    return await to_thread.run_sync(work, limiter=import_lane(request))


# --- the payments list ----------------------------------------------------------------------------------

def _read_filter(request: Request) -> tuple[service.PaymentFilter, dict[str, str], dict[str, str]]:
    """The filter typed in the address, what was typed (kept in the form) and the errors by field."""
    params = request.query_params
    typed = {key: (params.get(key) or "").strip()[:60] for key in FILTERS}
    errors: dict[str, str] = {}
    wanted = service.PaymentFilter()
    for key in ("paid_from", "paid_to"):
        try:
            setattr(wanted, key, parse_filter_date(typed[key], key))
        except ValidationFailed as exc:
            errors[key] = exc.translated(gettext)
    for key in ("amount_min", "amount_max"):
        try:
            setattr(wanted, key, parse_amount(typed[key], key))
        except ValidationFailed as exc:
            errors[key] = exc.translated(gettext)
    if typed["status"]:
        if typed["status"] in service.PAYMENT_STATUSES:
            wanted.status = typed["status"]
        else:
            errors["status"] = gettext("Choose a status from the list.")
    wanted.account, wanted.payer = typed["account"] or None, typed["payer"] or None
    return wanted, typed, errors


def _filtered(request: Request, session: Session, principal: Principal):
    wanted, typed, errors = _read_filter(request)
    try:
        stmt = service.payments_query(session, principal, wanted)
    except ValidationFailed as exc:
        errors[exc.field] = exc.translated(gettext)
        stmt = service.payments_query(session, principal, service.PaymentFilter())
    return stmt, typed, errors


@router.get("/collection/payments")
def payments_page(request: Request, session: DbSession, principal: Reader) -> Response:
    stmt, typed, errors = _filtered(request, session, principal)
    listing = read_listing(request, COLUMNS, default_sort="paid_on", default_descending=True, filters=typed)
    rows = fetch_page(session, stmt, listing, Payment.id.desc(), scalars=True)
    count, amount = service.payment_totals(session, stmt)
    return render(request, "collection/payments.html", {
        "listing": listing, "payments": rows, "typed": typed, "errors": errors, "amount": amount,
        "statuses": service.PAYMENT_STATUSES, "payers": payer_names(session, (p.payer_key for p in rows)),
        "payer_link": payer_link,
    }, status_code=422 if errors else 200)


def _export_rows(session: Session, stmt, listing) -> object:
    from ansinh.web.lists import sorted_by

    batch: list[Payment] = []

    def flush():
        names = payer_names(session, (p.payer_key for p in batch))
        for p in batch:
            yield (p.paid_on, p.bank_transaction_id, p.amount, names.get(p.payer_key or "", ""),
                   p.payer_account or "", p.reference_text or "", label(p.status), p.receiving_account or "")

    for (payment,) in stream_rows(session, sorted_by(stmt, listing, Payment.id.desc())):
        batch.append(payment)
        if len(batch) >= 1000:
            yield from flush()
            batch = []
    yield from flush()


@router.get("/collection/payments/export.xlsx")
def payments_export(request: Request, session: DbSession, principal: Reader) -> Response:
    stmt, typed, errors = _filtered(request, session, principal)
    raise_first(errors)
    listing = read_listing(request, COLUMNS, default_sort="paid_on", default_descending=True, filters=typed)
    headers = [gettext("Paid on"), gettext("Bank transaction"), gettext("Amount (dong)"), gettext("Payer"),
               gettext("Payer's account"), gettext("Transfer text"), gettext("Status"),
               gettext("Receiving account")]
    return xlsx_response(f"payments-{clock.today().isoformat()}.xlsx", headers, _export_rows(session, stmt, listing),
                         sheet_name=gettext("Payments"), title=gettext("Payments"))


# --- a payment ------------------------------------------------------------------------------------------

def _payment_context(session: Session, principal: Principal, payment: Payment, **extra) -> dict:
    allocations = service.payment_allocations(session, payment.id)
    bills = {b.id: b for b in session.scalars(select(Bill).where(
        Bill.id.in_([a.bill_id for a in allocations if a.bill_id is not None] or [-1])))}
    allocated = sum(a.amount for a in allocations if not a.reversed)
    return {"payment": payment, "allocations": allocations, "bills": bills, "allocated": allocated,
            "payer_name": payer_names(session, [payment.payer_key]).get(payment.payer_key or ""),
            "payer_link": payer_link(payment.payer_key),
            "can_reverse": principal.has(Permission.participation_manage) and payment.status != "reversed",
            "reason": "", "errors": {}, **extra}


@router.get("/collection/payments/{payment_id}")
def payment_page(request: Request, session: DbSession, principal: Reader, payment_id: RecordId,
                 reversed: bool = False) -> Response:
    payment = service.get_payment(session, payment_id, principal=principal)
    return render(request, "collection/payment.html",
                  _payment_context(session, principal, payment, notice=reversed))


@router.post("/collection/payments/{payment_id}/reverse")
def reverse_payment(request: Request, session: DbSession, principal: Manager, payment_id: RecordId,
                    reason: Annotated[str, Form(max_length=300)] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    payment = service.get_payment(session, payment_id, principal=principal)  # 404, or 403 outside the scope
    try:
        service.reverse_payment(session, payment.id, reason=reason, on=clock.today(), actor=principal.username,
                                principal=principal)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        payment = service.get_payment(session, payment_id, principal=principal)
        field = exc.field if isinstance(exc, ValidationFailed) else "form"
        return render(request, "collection/payment.html", _payment_context(
            session, principal, payment, reason=reason, errors={field: exc.translated(gettext)}),
            status_code=409 if isinstance(exc, Conflict) else 422)
    return redirect(f"/collection/payments/{payment.id}?reversed=1", request)
