"""Web pages of collection: the employer's account (bills, payments, balance, arrears, interest) with the
printable bill and its VietQR code, the suspense list of unmatched payments, the arrears dashboard with its
charts and debtor list, and the inspection cases.

Thin routes over the collection services (:mod:`~ansinh.collection.billing`, :mod:`~ansinh.collection.payments`,
:mod:`~ansinh.collection.arrears`, :mod:`~ansinh.collection.inspections`), imported inside the routes. What a
page lists (bills, payments, cases) is read here from the collection tables, always narrowed to the caller's
scope: agency staff see their subtree of org units, an employer user only their own employer.
"""

from __future__ import annotations

import base64
import os
import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ansinh.bounds import MAX_AMOUNT, MAX_ID, RecordId, check_day
from ansinh import clock, formatting
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import permission_denied, Permission, Principal, Scope, ensure_in_scope, org_scope
from ansinh.collection.models import Allocation, Bill, BillLine, InspectionCase, Payment
from ansinh.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.registry import service as registry
from ansinh.registry.models import Employer
from ansinh.registry.places import province_names
from ansinh.web.labels import register_labels
from ansinh.web.navigation import DashboardTile, NavItem, register_nav_item, register_tile
from ansinh.web.forms import redirect
from ansinh.web.templating import render, script_json

router = APIRouter(include_in_schema=False)
# The bills list and its export come before the bill's page (``/collection/bills/export.xlsx`` is not a bill).
from ansinh.collection.bills_pages import router as _bills_pages  # noqa: E402
from ansinh.portal.employer.deps import require_duty

router.include_router(_bills_pages)
PAGE_SIZE = 50
DECISION_KINDS = ("payment_plan", "fine", "referral")
AGE_BUCKETS = ("1", "2", "3+")

register_nav_item(NavItem("collection_arrears", N_("Arrears"), "/collection/arrears", Permission.participation_read,
                          order=140, agency_only=True, group="collection"))
register_nav_item(NavItem("collection_suspense", N_("Suspense"), "/collection/suspense",
                          Permission.participation_manage, order=141, agency_only=True, group="collection"))
register_nav_item(NavItem("collection_inspections", N_("Inspections"), "/collection/inspections",
                          Permission.participation_read, order=142, agency_only=True, group="collection"))

register_labels({
    "employer": N_("Employer"), "voluntary": N_("Voluntary"), "household": N_("Household"),
    "state_budget": N_("State budget"),
    "suspense": N_("In suspense"), "matched": N_("Matched"), "reversed": N_("Reversed"),
    "reference": N_("Bill reference"), "tax_code": N_("Tax code"), "officer": N_("Officer"),
    "open": N_("Open"), "closed": N_("Closed"),
    "payment_plan": N_("Payment plan"), "fine": N_("Fine"), "referral": N_("Referral"),
    "retirement": N_("Retirement and survivors"), "sickness_maternity": N_("Sickness and maternity"),
    "occupational": N_("Occupational accidents and diseases"), "health": N_("Health insurance"),
    "unemployment": N_("Unemployment insurance"),
    "employee": N_("Employee"), "state": N_("State"),
})


# --- small helpers --------------------------------------------------------------------------------------

def _parse_day(text: str, errors: list[str], field: str) -> date:
    if text:
        try:
            return check_day(date.fromisoformat(text.strip()))
        except ValueError:
            errors.append(gettext("{field}: not a date (use YYYY-MM-DD).").format(field=field))
    return clock.today()


def _show_day(day: date | None) -> str:
    return formatting.day(day)


def _show_month(day: date | None) -> str:
    return formatting.month(day)


def _percent(value: float | None) -> str:
    """A rate (0.1234) in percent, the reader's way: ``12,34%``."""
    if value is None:
        return "–"
    return formatting.percent(float(value) * 100, decimals=2)


def _ensure_reader(principal: Principal) -> None:
    """Officers read collection; an employer user reads their own account (they hold declarations_submit)."""
    if not (principal.has(Permission.participation_read) or principal.has(Permission.declarations_submit)):
        raise permission_denied(Permission.participation_read)


def _ensure_bill_access(session: Session, principal: Principal, bill: Bill) -> None:
    if bill.employer_id is not None:
        employer = session.get(Employer, bill.employer_id)
        registry.ensure_employer_access(session, principal, employer)
        return
    if not principal.is_agency_staff:
        raise PermissionDenied("You may only see your own employer.")
    ensure_in_scope(principal, session.get(OrgUnit, bill.org_unit_id))


Reader = Annotated[Principal, Depends(require_duty("accounting", Permission.dashboard_view,
                                                   scope=(Scope.org_subtree, Scope.own_employer)))]
Officer = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]


# --- the dashboard tile ---------------------------------------------------------------------------------

def _arrears_in_scope(session: Session, principal: Principal) -> int | str:
    try:
        from ansinh.collection.arrears import arrears_report

        return int(arrears_report(session, principal, on=clock.today()).get("arrears", 0))
    except (ImportError, DomainError):
        return "–"


register_tile(DashboardTile("collection_arrears", N_("Arrears in scope (dong)"), _arrears_in_scope,
                            Permission.participation_read, "/collection/arrears", order=140))


# --- what the account page shows ------------------------------------------------------------------------

def bill_rows(session: Session, payer_key: str, *, limit: int = 24) -> list[dict]:
    """The payer's latest bills with what was paid on each (principal allocations not reversed)."""
    paid = (select(Allocation.bill_id, func.coalesce(func.sum(Allocation.amount), 0).label("paid"))
            .where(Allocation.part == "principal", Allocation.reversed.is_(False))
            .group_by(Allocation.bill_id).subquery())
    rows = session.execute(
        select(Bill, func.coalesce(paid.c.paid, 0)).outerjoin(paid, paid.c.bill_id == Bill.id)
        .where(Bill.payer_key == payer_key).order_by(Bill.period.desc(), Bill.id.desc()).limit(limit)).all()
    return [{"bill": bill, "paid": int(amount), "outstanding": int(bill.total) - int(amount)} for bill, amount in rows]


def payment_rows(session: Session, payer_key: str, *, limit: int = 24) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.payer_key == payer_key)
                                .order_by(Payment.paid_on.desc(), Payment.id.desc()).limit(limit)))


def line_summary(session: Session, bill_id: int) -> list[dict]:
    """The bill's lines by fund and side: people, insured salaries, amounts (adjustments apart)."""
    rows = session.execute(
        select(BillLine.fund, BillLine.side, BillLine.adjustment, func.count(func.distinct(BillLine.person_id)),
               func.coalesce(func.sum(BillLine.amount), 0))
        .where(BillLine.bill_id == bill_id)
        .group_by(BillLine.fund, BillLine.side, BillLine.adjustment)
        .order_by(BillLine.adjustment, BillLine.fund, BillLine.side)).all()
    return [{"fund": fund, "side": side, "adjustment": bool(adjustment), "people": int(people), "amount": int(amount)}
            for fund, side, adjustment, people, amount in rows]


def _account(session: Session, payer_key: str, day: date) -> dict:
    from ansinh.collection.arrears import payer_account

    try:
        account = payer_account(session, payer_key, on=day)
    except NotFound:  # nothing billed or paid yet
        account = {"payer_key": payer_key, "billed": 0, "paid": 0, "written_off": 0, "balance": 0,
                   "prepayment": 0, "arrears": 0, "interest": 0, "bills": []}
    ages = account.get("arrears_by_age") or {}
    return {**account, "arrears_by_age": {bucket: int(ages.get(bucket, 0) or 0) for bucket in AGE_BUCKETS}}


def _agency_account() -> tuple[str, str, bool]:
    """The bank (NAPAS BIN) and account printed on bills: the first receiving account of the agency
    (``ANSINH_COLLECTION_ACCOUNTS``). The third value says whether it is the demo list's (not a real account)."""
    from ansinh.collection import payments

    first = payments.collection_accounts()[0]
    return first.bank_bin, first.account, not os.environ.get(payments.ACCOUNTS_ENV, "").strip()


def qr_for(bill: Bill, amount: int) -> dict | None:
    """The VietQR payload and an SVG data: URI for it (CSP allows images from data:), or None if unavailable."""
    try:
        from ansinh.collection import vietqr

        bank_bin, account, demo = _agency_account()
        payload = vietqr.vietqr_payload(bank_bin=bank_bin, account=account, amount=amount, reference=bill.reference)
        svg = vietqr.qr_svg(payload, title=bill.reference)
    except (ImportError, LookupError, DomainError, ValueError):
        return None
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    return {"payload": payload, "uri": uri, "bank_bin": bank_bin, "account": account, "amount": amount, "demo": demo}


# --- employer account -----------------------------------------------------------------------------------

@router.get("/collection/employers/{employer_id}")
def employer_account_page(request: Request, session: DbSession, principal: Reader, employer_id: RecordId,
                          on: str = "") -> Response:
    _ensure_reader(principal)
    employer = registry.get_employer(session, principal, employer_id)  # employer users: their own only
    errors: list[str] = []
    day = _parse_day(on, errors, gettext("On"))
    payer_key = f"E:{employer.id}"
    account = _account(session, payer_key, day)
    bills = bill_rows(session, payer_key)
    return render(request, "collection/account.html", {
        "employer": employer, "account": account, "bills": bills, "payments": payment_rows(session, payer_key),
        "latest": bills[0] if bills else None, "on": day.isoformat(), "shown_day": _show_day(day),
        "show_day": _show_day, "show_month": _show_month, "errors": errors, "age_buckets": AGE_BUCKETS,
    })


@router.get("/collection/bills/{bill_id}")
def bill_page(request: Request, session: DbSession, principal: Reader, bill_id: RecordId,
              written_off: bool = False) -> Response:
    return bill_response(request, session, principal, bill_id, notice=written_off)


def bill_response(request: Request, session: Session, principal: Principal, bill_id: int, *,
                  write_off: dict | None = None, notice: bool = False, status_code: int = 200) -> Response:
    """The bill's page; ``write_off``: what was typed in the write-off form, with its errors by field."""
    from ansinh.collection.models import WriteOff

    _ensure_reader(principal)
    bill = session.get(Bill, bill_id)
    if bill is None:
        raise NotFound("Bill {id} does not exist.", id=bill_id)
    _ensure_bill_access(session, principal, bill)
    paid = int(session.scalar(select(func.coalesce(func.sum(Allocation.amount), 0)).where(
        Allocation.bill_id == bill.id, Allocation.part == "principal", Allocation.reversed.is_(False))) or 0)
    write_offs = list(session.scalars(select(WriteOff).where(WriteOff.bill_id == bill.id)
                                      .order_by(WriteOff.written_off_on, WriteOff.id)))
    written = sum(int(w.amount) for w in write_offs)
    outstanding = max(int(bill.total) - paid - written, 0)
    employer = session.get(Employer, bill.employer_id) if bill.employer_id else None
    can_write_off = (principal.is_agency_staff and principal.has(Permission.participation_manage)
                     and outstanding > 0)
    return render(request, "collection/bill.html", {
        "bill": bill, "employer": employer, "lines": line_summary(session, bill.id), "paid": paid,
        "outstanding": outstanding, "qr": qr_for(bill, outstanding or int(bill.total)),
        "show_day": _show_day, "show_month": _show_month, "write_offs": write_offs, "written_off": written,
        "can_write_off": can_write_off, "write_off": write_off or {"amount": "", "reason": "", "errors": {}},
        "notice": notice,
    }, status_code=status_code)


# --- suspense -------------------------------------------------------------------------------------------

def suspense_payments(session: Session, principal: Principal, *, limit: int, offset: int) -> tuple[list[Payment], int]:
    """The payments in suspense the officer may handle: those of their scope (a payment in suspense belongs to
    its receiving account's province office; one on a national account, to national staff)."""
    from ansinh.collection.payments import count_suspense, list_suspense

    return (list_suspense(session, principal=principal, limit=limit, offset=offset),
            count_suspense(session, principal=principal))


def _resolve_payer(session: Session, principal: Principal, text: str) -> str:
    """A payer key (``E:12``) or an employer's tax code → the payer key, within the officer's scope."""
    value = re.sub(r"\s", "", text or "")
    if not value:
        raise ValidationFailed("payer", "Give the payer key or the employer's tax code.")
    if re.fullmatch(r"E:\d+", value):
        employer = session.get(Employer, int(value[2:]))
        if employer is None:
            raise ValidationFailed("payer", "No payer {value}.", value=value)
        registry.ensure_employer_access(session, principal, employer)
        return value
    if re.fullmatch(r"[PHS]:[\w:]+", value):
        return value
    if re.fullmatch(r"\d{10}(-?\d{3})?", value):
        try:
            employer = registry.get_employer_by_tax_code(session, principal, value)
        except NotFound:
            raise ValidationFailed("payer", "No employer has tax code {value}.", value=value) from None
        return f"E:{employer.id}"
    raise ValidationFailed("payer", "Give a payer key such as E:12 or a tax code of 10 digits; got {value}.",
                           value=value)


def _suspense_context(session: Session, principal: Principal, page: int) -> dict:
    payments, total = suspense_payments(session, principal, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return {"payments": payments, "total": total, "page": page, "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "show_day": _show_day, "can_assign": principal.has(Permission.participation_manage)}


@router.get("/collection/suspense")
def suspense_page(request: Request, session: DbSession, principal: Officer, page: int = Query(1, ge=1),
                  assigned: int | None = None) -> Response:
    return render(request, "collection/suspense.html", {**_suspense_context(session, principal, page),
                                                       "assigned": assigned, "error": None, "error_id": None})


@router.post("/collection/suspense/{payment_id}/assign")
def assign_suspense_payment(request: Request, session: DbSession, principal: Manager, payment_id: RecordId,
                            payer: Annotated[str, Form(max_length=40)] = "",
                            csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    from ansinh.collection.payments import assign_suspense, get_payment

    get_payment(session, payment_id, principal=principal)  # 404, or 403 outside the officer's scope
    try:
        payer_key = _resolve_payer(session, principal, payer)
        assign_suspense(session, payment_id, payer_key, actor=principal.username, principal=principal)
    except (ValidationFailed, NotFound, Conflict) as exc:
        return render(request, "collection/suspense.html", {
            **_suspense_context(session, principal, 1), "assigned": None, "error": exc.translated(gettext),
            "error_id": payment_id, "payer": payer}, status_code=409 if isinstance(exc, Conflict) else 422)
    return redirect(f"/collection/suspense?assigned={payment_id}", request)


# --- arrears dashboard ----------------------------------------------------------------------------------

def _rows(value: Any, key: str = "province") -> list[dict]:
    """A report's breakdown as a list of dicts, whether it came as a list or as a mapping by key."""
    if not value:
        return []
    if isinstance(value, dict):
        return [{key: k, **(v if isinstance(v, dict) else {"arrears": v})} for k, v in value.items()]
    return [dict(row) for row in value]


def _overdue(session: Session, principal: Principal, day: date, province: str | None) -> list[dict]:
    from ansinh.collection.arrears import overdue_employers

    return overdue_employers(session, principal, on=day, province=province)


def _trend(session: Session, principal: Principal, day: date, province: str | None) -> list[dict]:
    from ansinh.collection import arrears

    if not hasattr(arrears, "arrears_trend"):
        return []
    return arrears.arrears_trend(session, principal, on=day, months=12, province=province)


@router.get("/collection/arrears")
def arrears_page(request: Request, session: DbSession, principal: Officer, on: str = "",
                 province: str = Query("", max_length=8)) -> Response:
    from ansinh.collection.arrears import arrears_report

    errors: list[str] = []
    day = _parse_day(on, errors, gettext("On"))
    province = province.strip()
    report = arrears_report(session, principal, on=day, province=province or None)
    names = province_names(session)
    by_province = _rows(report.get("by_province"))
    ages = report.get("arrears_by_age") or report.get("by_age") or {}
    ages = {bucket: int(ages.get(bucket, 0) or 0) for bucket in AGE_BUCKETS}
    last_year = report.get("last_year") or {}
    chart_provinces = {
        "labels": [names.get(row.get("province"), row.get("province") or "?") for row in by_province],
        "datasets": [{"label": gettext("Arrears"), "data": [int(row.get("arrears", 0) or 0) for row in by_province]},
                     {"label": gettext("Interest"), "data": [int(row.get("interest", 0) or 0) for row in by_province]}],
    }
    chart_ages = {"labels": [gettext("1 month"), gettext("2 months"), gettext("3 months or more")],
                  "data": [ages[b] for b in AGE_BUCKETS], "label": gettext("Arrears by age")}
    trend = _trend(session, principal, day, province or None)
    chart_trend = {"labels": [_show_month(date.fromisoformat(p["on"])) for p in trend],
                   "datasets": [{"label": gettext("Overdue rate"),
                                 "data": [round((p.get("overdue_rate") or 0) * 100, 3) for p in trend]},
                                {"label": gettext("Interest-bearing rate"),
                                 "data": [round((p.get("interest_bearing_rate") or 0) * 100, 3) for p in trend]}]}
    query = urlencode({k: v for k, v in {"on": day.isoformat(), "province": province}.items() if v})
    return render(request, "collection/arrears.html", {
        "report": report, "last_year": last_year, "by_province": by_province, "ages": ages, "names": names,
        "provinces": sorted(names.items()), "province": province, "on": day.isoformat(),
        "shown_day": _show_day(day), "errors": errors, "percent": _percent, "query": query,
        "overdue": _overdue(session, principal, day, province or None), "show_day": _show_day,
        "chart_provinces": script_json(chart_provinces), "chart_ages": script_json(chart_ages),
        "chart_trend": script_json(chart_trend) if trend else None,
        "debtor_buckets": [("", gettext("Every debtor")), ("1", gettext("1 month overdue")),
                           ("2", gettext("2 months overdue")), ("3+", gettext("3 months or more"))],
    })


DEBTOR_BUCKETS = {"": (1, None), "1": (1, 1), "2": (2, 2), "3+": (3, None)}


def _debtor_file(session: Session, principal: Principal, on: str, province: str, months: str, kind: str) -> bytes:
    from ansinh.collection import arrears

    errors: list[str] = []
    day = _parse_day(on, errors, "on")
    if errors:
        raise ValidationFailed("on", "{field}: not a date (use YYYY-MM-DD).", field="on")
    if months not in DEBTOR_BUCKETS:
        raise ValidationFailed("months", "Choose 1, 2 or 3+ months overdue.")
    low, high = DEBTOR_BUCKETS[months]
    make = arrears.debtor_list_xlsx if kind == "xlsx" else arrears.debtor_list_pdf
    return make(session, principal, on=day, province=province.strip() or None, min_months=low, max_months=high)


def _debtor_file_name(session: Session, principal: Principal, on: str, province: str, months: str,
                      extension: str) -> str:
    from ansinh.collection.arrears import debtor_list_place

    _code, name = debtor_list_place(session, principal, province.strip() or None)
    bucket = {"1": "-1-thang", "2": "-2-thang", "3+": "-tu-3-thang"}.get(months, "")
    return f"debtors-{name or 'toan-quoc'}{bucket}-{on or clock.today().isoformat()}.{extension}"


@router.get("/collection/arrears/debtors.xlsx")
def debtor_list_xlsx(session: DbSession, principal: Officer, on: str = Query("", max_length=10),
                     province: str = Query("", max_length=8), months: str = Query("", max_length=2)) -> Response:
    from ansinh.collection.debtors import attachment

    content = _debtor_file(session, principal, on, province, months, "xlsx")
    name = _debtor_file_name(session, principal, on, province, months, "xlsx")
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": attachment(name)})


@router.get("/collection/arrears/debtors.pdf")
def debtor_list_pdf(session: DbSession, principal: Officer, on: str = Query("", max_length=10),
                    province: str = Query("", max_length=8), months: str = Query("", max_length=2)) -> Response:
    from ansinh.collection.debtors import attachment

    content = _debtor_file(session, principal, on, province, months, "pdf")
    name = _debtor_file_name(session, principal, on, province, months, "pdf")
    return Response(content, media_type="application/pdf", headers={"Content-Disposition": attachment(name)})


# --- inspection cases -----------------------------------------------------------------------------------

def _case_in_scope(session: Session, principal: Principal, case_id: int) -> InspectionCase:
    from ansinh.collection.inspections import get_case

    return get_case(session, principal, case_id)


def _cases_context(session: Session, principal: Principal, status: str, page: int) -> dict:
    stmt = (select(InspectionCase, Employer).join(Employer, Employer.id == InspectionCase.employer_id)
            .where(org_scope(principal, InspectionCase.org_unit_id)))
    if status in ("open", "closed"):
        stmt = stmt.where(InspectionCase.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(case((InspectionCase.status == "open", 0), else_=1),
                                         InspectionCase.opened_on.desc(), InspectionCase.id.desc())
                           .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return {"rows": rows, "total": total, "page": page, "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "status": status, "show_day": _show_day, "error": None, "employer_ref": "",
            "can_manage": principal.has(Permission.participation_manage)}


@router.get("/collection/inspections")
def inspections_page(request: Request, session: DbSession, principal: Officer, status: str = "",
                     page: int = Query(1, ge=1)) -> Response:
    return render(request, "collection/inspections.html", _cases_context(session, principal, status, page))


def _employer_from(session: Session, principal: Principal, text: str) -> Employer:
    value = re.sub(r"\s", "", text or "")
    if re.fullmatch(r"E:\d{1,9}", value):
        return registry.get_employer(session, principal, int(value[2:]))
    if re.fullmatch(r"\d{10}(-?\d{3})?", value):
        try:
            return registry.get_employer_by_tax_code(session, principal, value)
        except NotFound:
            raise ValidationFailed("employer", "No employer has tax code {value}.", value=value) from None
    raise ValidationFailed("employer", "Give the employer's tax code (10 digits).")


@router.post("/collection/inspections")
def open_inspection(request: Request, session: DbSession, principal: Manager,
                    employer: Annotated[str, Form(max_length=40)] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    from ansinh.collection import inspections

    try:
        found = _employer_from(session, principal, employer)
        opened = inspections.open_case(session, principal, employer_id=found.id, on=clock.today())
    except (ValidationFailed, Conflict) as exc:
        return render(request, "collection/inspections.html", {
            **_cases_context(session, principal, "", 1), "error": exc.translated(gettext), "employer_ref": employer},
            status_code=422)
    return redirect(f"/collection/inspections/{opened.id}", request)


def _case_context(session: Session, principal: Principal, found: InspectionCase, **extra) -> dict:
    employer = session.get(Employer, found.employer_id)
    linked_ids = [int(i) for i in (found.payment_ids or [])]
    linked = list(session.scalars(select(Payment).where(Payment.id.in_(linked_ids)))) if linked_ids else []
    candidates = list(session.scalars(
        select(Payment).where(Payment.payer_key == f"E:{employer.id}", Payment.status == "matched",
                              Payment.id.notin_(linked_ids or [-1]))
        .order_by(Payment.paid_on.desc(), Payment.id.desc()).limit(20)))
    return {"case": found, "employer": employer, "linked": linked, "candidates": candidates,
            "account": _account(session, f"E:{employer.id}", clock.today()),
            "decision_kinds": DECISION_KINDS, "show_day": _show_day,
            "can_manage": principal.has(Permission.participation_manage), "error": None, **extra}


@router.get("/collection/inspections/{case_id}")
def inspection_page(request: Request, session: DbSession, principal: Officer, case_id: RecordId) -> Response:
    found = _case_in_scope(session, principal, case_id)
    return render(request, "collection/inspection.html", _case_context(session, principal, found))


def _amount(text: str) -> int | None:
    value = re.sub(r"[\s.,_]", "", text or "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 15:
        raise ValidationFailed("amount", "The amount is a whole number of dong; got {value}.", value=text)
    if int(value) > MAX_AMOUNT:
        raise ValidationFailed("amount", "The amount is larger than {limit} dong.", limit=MAX_AMOUNT)
    return int(value)


def _optional_day(text: str) -> date | None:
    if not (text or "").strip():
        return None
    try:
        return check_day(date.fromisoformat(text.strip()))
    except ValueError:
        raise ValidationFailed("due", "{field}: not a date (use YYYY-MM-DD).", field=gettext("Due")) from None


CASE_ACTIONS = ("findings", "decisions", "payments", "close")


@router.post("/collection/inspections/{case_id}/{action}")
def inspection_action(request: Request, session: DbSession, principal: Manager, case_id: RecordId, action: str,
                      findings: Annotated[str, Form(max_length=4000)] = "",
                      kind: Annotated[str, Form(max_length=20)] = "",
                      amount: Annotated[str, Form(max_length=30)] = "",
                      due: Annotated[str, Form(max_length=10)] = "",
                      note: Annotated[str, Form(max_length=500)] = "",
                      payment_id: Annotated[str, Form(max_length=20)] = "",
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    from ansinh.collection import inspections

    if action not in CASE_ACTIONS:
        raise NotFound("There is nothing at this address.")
    found = _case_in_scope(session, principal, case_id)
    try:
        if action == "findings":
            inspections.record_findings(session, principal, found.id, findings)
        elif action == "decisions":
            inspections.add_decision(session, principal, found.id, kind=kind, amount=_amount(amount),
                                     due=_optional_day(due), note=note)
        elif action == "payments":
            if not payment_id.strip().isdigit() or not 1 <= int(payment_id) <= MAX_ID:
                raise ValidationFailed("payment_id", "Choose a payment.")
            inspections.link_payment(session, principal, found.id, int(payment_id))
        else:
            inspections.close_case(session, principal, found.id, on=clock.today())
    except (ValidationFailed, Conflict, NotFound) as exc:
        return render(request, "collection/inspection.html",
                      _case_context(session, principal, found, error=exc.translated(gettext)), status_code=422)
    return redirect(f"/collection/inspections/{found.id}", request)


# --- the pages of billing runs, payments and bills (sub-modules) ----------------------------------------
from ansinh.collection.billing_pages import router as _billing_pages  # noqa: E402

router.include_router(_billing_pages)
from ansinh.collection.payments_pages import router as _payments_pages  # noqa: E402

router.include_router(_payments_pages)
