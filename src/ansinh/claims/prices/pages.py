"""Web pages of the facilities' price lists: the facilities whose prices the reader may see, a facility's prices in
force on a day (filters, sorting, pages, the Excel export of exactly the filtered rows) with the upload form of a new
list and its import report, the history of one item's prices, and the template of a list.

Thin routes over :mod:`ansinh.claims.prices.service`; a facility user is sent to its own facility's prices, and the
prices of another facility, or of another province's, are refused (403) as through the API.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh import clock, i18n
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.cards.models import MedicalFacility
from ansinh.claims.prices import service
from ansinh.claims.prices.models import PriceItem, PriceList
from ansinh.errors import DomainError, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.registry import places
from ansinh.web.forms import raise_first
from ansinh.web.lists import (
    Column,
    fetch_page,
    parse_filter_date,
    read_listing,
    sorted_by,
    stream_rows,
    xlsx_response,
)
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.claims_prices_read,
                                              scope=(Scope.org_subtree, Scope.own_facility)))]
Importer = Annotated[Principal, Depends(require(Permission.claims_prices_manage, scope=Scope.org_subtree))]
TemplateReader = Annotated[Principal, Depends(require(Permission.claims_prices_read, scope=Scope.reference))]
_Filter = Annotated[str, Query(max_length=100)]

register_nav_item(NavItem("claims_prices", N_("Price lists"), "/claims/prices", Permission.claims_prices_read,
                          order=510, group="claims"))

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- the facilities ---------------------------------------------------------------------------------------

FACILITY_COLUMNS = (
    Column("code", N_("Code"), MedicalFacility.code),
    Column("name", N_("Name"), MedicalFacility.name),
    Column("province", N_("Province"), MedicalFacility.province_2025),
    Column("lists", N_("Price lists"), None, numeric=True),
    Column("last", N_("Last imported"), None),
)


def _facilities_statement(principal: Principal, text: str):
    from ansinh.cards.facilities import _escape, folded
    from ansinh.registry.identifiers import search_key

    lists = select(func.count(PriceList.id)).where(PriceList.facility_code == MedicalFacility.code) \
        .correlate(MedicalFacility).scalar_subquery()
    last = select(func.max(PriceList.imported_at)).where(PriceList.facility_code == MedicalFacility.code) \
        .correlate(MedicalFacility).scalar_subquery()
    stmt = service.facilities_in_scope(principal).add_columns(lists.label("lists"), last.label("last"))
    words = " ".join(text.split())
    if words.isdigit():
        stmt = stmt.where(MedicalFacility.code.startswith(words))
    elif words:
        stmt = stmt.where(folded(MedicalFacility.name).like(f"%{_escape(search_key(words))}%", escape="\\"))
    return stmt


@router.get("/claims/prices")
def facilities_page(request: Request, session: DbSession, principal: Reader, q: _Filter = "",
                    with_prices: _Filter = "") -> Response:
    """The facilities whose prices the reader may see (a facility user: straight to its own)."""
    if not principal.is_agency_staff and Role.facility in principal.roles and principal.subject_ref:
        return RedirectResponse(f"/claims/prices/{principal.subject_ref}", status_code=303)
    filters = {"q": q.strip(), "with_prices": "yes" if with_prices == "yes" else ""}
    listing = read_listing(request, FACILITY_COLUMNS, default_sort="code", filters=filters)
    stmt = _facilities_statement(principal, filters["q"])
    if filters["with_prices"]:
        stmt = stmt.where(select(PriceList.id).where(PriceList.facility_code == MedicalFacility.code).exists())
    rows = fetch_page(session, stmt, listing, MedicalFacility.id)
    return render(request, "claims/price_facilities.html", {
        "listing": listing, "rows": rows, "provinces": places.province_names(session)})


# --- the template -----------------------------------------------------------------------------------------

@router.get("/claims/prices/template.xlsx")
def template(_: TemplateReader) -> Response:
    """The Excel template of a price list."""
    return Response(service.template_xlsx(), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="ansinh-bang-gia-mau.xlsx"'})


# --- a facility's prices ----------------------------------------------------------------------------------

PRICE_COLUMNS = (
    Column("kind", N_("Kind"), PriceItem.kind),
    Column("code", N_("Code"), PriceItem.code),
    Column("name", N_("Name"), PriceItem.name),
    Column("unit", N_("Unit"), None),
    Column("price", N_("Price (dong)"), PriceItem.price, numeric=True),
    Column("valid_from", N_("In force from"), PriceItem.valid_from),
    Column("until", N_("In force until"), None),
    Column("tender", N_("Tender"), None),
)


def _price_filters(request: Request) -> tuple[dict[str, str], date, str | None, dict[str, str]]:
    """What was typed (kept in the form), the day, the kind, and the errors by field."""
    params = request.query_params
    typed = {key: (params.get(key) or "").strip()[:100] for key in ("on", "kind", "q")}
    errors: dict[str, str] = {}
    day = clock.today()
    try:
        day = parse_filter_date(typed["on"], "on") or day
    except ValidationFailed as exc:
        errors["on"] = exc.translated(gettext)
    kind = None
    try:
        kind = service.check_kind(typed["kind"])
    except ValidationFailed as exc:
        errors["kind"] = exc.translated(gettext)
    return typed, day, kind, errors


def _prices_context(request: Request, session: Session, principal: Principal, facility: MedicalFacility, **extra
                    ) -> dict:
    typed, day, kind, errors = _price_filters(request)
    listing = read_listing(request, PRICE_COLUMNS, default_sort="code", filters=typed)
    stmt = service.prices_in_force(facility.code, day, kind=kind, text=typed["q"])
    items = fetch_page(session, stmt, listing, PriceItem.id, scalars=True)
    errors.update(extra.pop("errors", {}))
    return {"facility": facility, "listing": listing, "items": items, "day": day, "typed": typed, "errors": errors,
            "kinds": service.KINDS, "kind_names": service.KIND_NAMES, "until": service.in_force_until,
            "imported_lists": service.price_lists(session, facility.code, limit=20),
            "province": places.province_names(session).get(facility.province_2025, ""),
            "can_import": principal.has(Permission.claims_prices_manage) and principal.is_agency_staff,
            "columns": service.COLUMNS, "report": None, "upload_error": None, "reason": _reason, **extra}


def _reason(error) -> str:
    return error.reason_vi if i18n.get_locale() == "vi" else error.reason_en


@router.get("/claims/prices/{code}")
def prices_page(request: Request, session: DbSession, principal: Reader, code: str) -> Response:
    """The facility's prices in force on a day, filtered by kind and text, sorted, a page at a time."""
    facility = service.readable_facility(session, principal, code)
    context = _prices_context(request, session, principal, facility)
    return render(request, "claims/prices.html", context, status_code=422 if context["errors"] else 200)


@router.get("/claims/prices/{code}/export.xlsx")
def prices_export(request: Request, session: DbSession, principal: Reader, code: str) -> Response:
    """The filtered prices (every page) as an Excel file."""
    facility = service.readable_facility(session, principal, code)
    typed, day, kind, errors = _price_filters(request)
    raise_first(errors)
    listing = read_listing(request, PRICE_COLUMNS, default_sort="code", filters=typed)
    stmt = sorted_by(service.prices_in_force(facility.code, day, kind=kind, text=typed["q"]), listing, PriceItem.id)
    headers = [gettext("Kind"), gettext("Code"), gettext("Name"), gettext("Unit"), gettext("Price (dong)"),
               gettext("In force from"), gettext("In force until"), gettext("Tender")]
    rows = ((gettext(service.KIND_NAMES[item.kind]), item.code, item.name, item.unit or "", item.price,
             item.valid_from, service.in_force_until(item), item.tender or "")
            for (item,) in stream_rows(session, stmt))
    title = gettext("Prices of {facility} in force on {day}").format(facility=f"{facility.name} ({facility.code})",
                                                                     day=day.strftime("%d/%m/%Y"))
    return xlsx_response(f"bang-gia-{facility.code}-{day.isoformat()}.xlsx", headers, rows,
                         sheet_name=gettext("Prices"), title=title)


@router.post("/claims/prices/{code}/import")
def import_prices(request: Request, session: DbSession, principal: Importer, code: str,
                  csrf_token: Annotated[str, Form(max_length=200)] = "",
                  file: Annotated[UploadFile | None, File()] = None) -> Response:
    """The upload form: the same import as ``POST /api/v1/claims/prices`` (all or nothing; the same file again
    changes nothing), the report shown on the facility's page."""
    verify_csrf(request, csrf_token)
    facility = service.get_facility(session, code)
    service.ensure_may_import(session, principal, facility)  # 403 before the file is read
    name = (file.filename or "") if file is not None else ""
    content = file.file.read() if file is not None and name else b""
    if not name or not content:
        return render(request, "claims/prices.html", _prices_context(
            request, session, principal, facility,
            upload_error=gettext("Choose a CSV or Excel (.xlsx) price list.")), status_code=422)
    try:
        report = service.import_price_list(session, content=content, file_name=name, facility_code=facility.code,
                                           principal=principal)
    except DomainError as exc:
        session.rollback()
        return render(request, "claims/prices.html", _prices_context(
            request, session, principal, facility, upload_error=exc.translated(gettext)),
            status_code=exc.status_code)
    if report.status == "rejected":
        session.rollback()
        return render(request, "claims/prices.html", _prices_context(request, session, principal, facility,
                                                                     report=report), status_code=422)
    session.flush()
    return render(request, "claims/prices.html", _prices_context(request, session, principal, facility,
                                                                 report=report))


@router.get("/claims/prices/{code}/history")
def price_history_page(request: Request, session: DbSession, principal: Reader, code: str,
                       kind: _Filter = "", item: _Filter = "") -> Response:
    """Every price one item has had at the facility, superseded ones included."""
    facility = service.readable_facility(session, principal, code)
    chosen = service.check_kind(kind)
    if not item.strip():
        raise ValidationFailed("item", "Give the code of an item.")
    items = service.price_history(session, facility.code, kind=chosen, code=item.strip())
    lists = {row.id: row for row in session.scalars(select(PriceList).where(
        PriceList.id.in_({i.list_id for i in items} or {-1})))}
    return render(request, "claims/price_history.html", {
        "facility": facility, "items": items, "item_code": item.strip(), "kind": chosen, "lists": lists,
        "kind_names": service.KIND_NAMES, "until": service.in_force_until, "today": clock.today(),
        "back": f"/claims/prices/{facility.code}?{urlencode({'kind': chosen or ''})}"})
