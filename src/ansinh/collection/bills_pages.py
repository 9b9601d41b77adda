"""Web pages of bills: the bills list (filters by month, payer, status and province; sorting; totals; Excel
export of the filtered rows) and the write-off form of a bill (over :func:`ansinh.collection.arrears.write_off`).
The bill's own page is in :mod:`ansinh.collection.pages`."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.permissions import Permission, Principal, Scope, ensure_in_scope, org_scope
from ansinh.auth.models import OrgUnit
from ansinh.bounds import RecordId
from ansinh.collection.bills import OUTSTANDING
from ansinh.collection.models import Bill
from ansinh.collection.page_common import payer_link, payer_names
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.registry.models import Employer
from ansinh.registry.places import province_names
from ansinh.web.labels import label
from ansinh.web.lists import Column, fetch_page, read_listing, sorted_by, stream_rows, xlsx_response
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.forms import raise_first, redirect
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
PAYER_TYPES = ("employer", "voluntary", "household", "state_budget")
BILL_STATUSES = ("open", "paid")

register_nav_item(NavItem("collection_bills", N_("Bills"), "/collection/bills", Permission.participation_read,
                          order=146, agency_only=True, group="collection"))


COLUMNS = (
    Column("period", N_("Month"), Bill.period),
    Column("reference", N_("Payment reference"), Bill.reference),
    Column("payer", N_("Payer")),
    Column("province", N_("Province"), Bill.province_2025),
    Column("due", N_("Due date"), Bill.due_date),
    Column("total", N_("Total"), Bill.total, numeric=True),
    Column("outstanding", N_("Outstanding"), OUTSTANDING, numeric=True),
)
FILTERS = ("month", "payer", "type", "status", "province", "run")


def _filtered(request: Request, session: Session, principal: Principal):
    params = request.query_params
    typed = {key: (params.get(key) or "").strip()[:60] for key in FILTERS}
    errors: dict[str, str] = {}
    stmt = select(Bill, OUTSTANDING.label("outstanding"))
    if principal.org_unit_level != "national":
        stmt = stmt.where(org_scope(principal, Bill.org_unit_id))
    if typed["month"]:
        from ansinh.collection.billing_api import parse_period

        try:
            stmt = stmt.where(Bill.period == parse_period(typed["month"], "month"))
        except ValidationFailed as exc:
            errors["month"] = exc.translated(gettext)
    if typed["type"] in PAYER_TYPES:
        stmt = stmt.where(Bill.payer_type == typed["type"])
    if typed["status"] == "open":
        stmt = stmt.where(OUTSTANDING > 0)
    elif typed["status"] == "paid":
        stmt = stmt.where(OUTSTANDING <= 0)
    if typed["province"]:
        stmt = stmt.where(Bill.province_2025 == typed["province"])
    if typed["run"].isdigit():
        stmt = stmt.where(Bill.run_id == int(typed["run"]))
    text = typed["payer"]
    if text:
        from ansinh.registry.identifiers import search_key

        if re.fullmatch(r"[0-9A-Z]{8,32}", text.upper()) and not text.isdigit():
            stmt = stmt.where(Bill.reference == text.upper())
        else:
            key = search_key(text).replace("%", "").replace("_", "")
            employers = select(Employer.id).where((Employer.tax_code == re.sub(r"\s", "", text))
                                                  | Employer.name_search.like(f"%{key}%"))
            stmt = stmt.where(Bill.employer_id.in_(employers))
    return stmt, typed, errors


def _context(request: Request, session: Session, principal: Principal) -> dict:
    stmt, typed, errors = _filtered(request, session, principal)
    listing = read_listing(request, COLUMNS, default_sort="period", default_descending=True, filters=typed)
    rows = fetch_page(session, stmt, listing, Bill.id.desc())
    sub = stmt.order_by(None).subquery()
    total, outstanding = session.execute(select(func.coalesce(func.sum(sub.c.total), 0),
                                                func.coalesce(func.sum(sub.c.outstanding), 0))).one()
    names = province_names(session)
    return {"listing": listing, "rows": rows, "typed": typed, "errors": errors, "sum_total": int(total),
            "sum_outstanding": int(outstanding), "names": names, "provinces": sorted(names.items()),
            "payers": payer_names(session, (b.payer_key for b, _o in rows)), "payer_link": payer_link,
            "payer_types": PAYER_TYPES, "statuses": BILL_STATUSES}


@router.get("/collection/bills")
def bills_page(request: Request, session: DbSession, principal: Reader) -> Response:
    context = _context(request, session, principal)
    return render(request, "collection/bills.html", context, status_code=422 if context["errors"] else 200)


@router.get("/collection/bills/export.xlsx")
def bills_export(request: Request, session: DbSession, principal: Reader) -> Response:
    stmt, typed, errors = _filtered(request, session, principal)
    raise_first(errors)
    listing = read_listing(request, COLUMNS, default_sort="period", default_descending=True, filters=typed)
    names = province_names(session)

    def rows():
        batch: list = []

        def flush():
            payers = payer_names(session, (b.payer_key for b, _o in batch))
            for bill, outstanding in batch:
                yield (bill.period, bill.reference, payers.get(bill.payer_key, bill.payer_key),
                       label(bill.payer_type), names.get(bill.province_2025 or "", bill.province_2025 or ""),
                       bill.due_date, bill.workers, bill.total, int(outstanding))

        for row in stream_rows(session, sorted_by(stmt, listing, Bill.id.desc())):
            batch.append(tuple(row))
            if len(batch) >= 1000:
                yield from flush()
                batch = []
        yield from flush()

    headers = [gettext("Month"), gettext("Payment reference"), gettext("Payer"), gettext("Payer type"),
               gettext("Province"), gettext("Due date"), gettext("Workers"), gettext("Total (dong)"),
               gettext("Outstanding (dong)")]
    return xlsx_response(f"bills-{clock.today().isoformat()}.xlsx", headers, rows(), sheet_name=gettext("Bills"),
                         title=gettext("Bills"))


@router.post("/collection/bills/{bill_id}/write-offs")
def write_off_bill(request: Request, session: DbSession, principal: Manager, bill_id: RecordId,
                   amount: Annotated[str, Form(max_length=30)] = "",
                   reason: Annotated[str, Form(max_length=300)] = "",
                   csrf_token: Annotated[str, Form()] = "") -> Response:
    """Write off part or all of what a bill of the officer's scope has outstanding (as the API does)."""
    verify_csrf(request, csrf_token)
    from ansinh.collection import arrears
    from ansinh.collection.pages import bill_response
    from ansinh.collection.payments_pages import parse_amount

    bill = session.get(Bill, bill_id)
    if bill is None:
        raise NotFound("Bill {id} does not exist.", id=bill_id)
    ensure_in_scope(principal, session.get(OrgUnit, bill.org_unit_id))
    try:
        value = parse_amount(amount, "amount")
        if value is None:
            raise ValidationFailed("amount", "The amount written off must be a positive number of dong.")
        arrears.write_off(session, payer_key=bill.payer_key, bill_id=bill.id, amount=value, reason=reason,
                          on=clock.today(), actor=principal.username, principal=principal)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        field = exc.field if isinstance(exc, ValidationFailed) and exc.field in ("amount", "reason") else "form"
        return bill_response(request, session, principal, bill_id, write_off={
            "amount": amount, "reason": reason, "errors": {field: exc.translated(gettext)}},
            status_code=409 if isinstance(exc, Conflict) else 422)
    return redirect(f"/collection/bills/{bill.id}?written_off=1", request)
