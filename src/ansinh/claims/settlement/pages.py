"""Web pages of the monthly settlement: the settlements of a month with their totals and the form that settles a
facility's month (for those permitted), one settlement with its figures, the advances it offset and its downloads
(Excel, PDF). Thin routes over :mod:`ansinh.claims.settlement.service`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.audit.service import record_event
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.cards.models import MedicalFacility
from ansinh.claims.settlement import service
from ansinh.claims.settlement.models import Settlement
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.i18n import N_
from ansinh.web.forms import submit
from ansinh.web.labels import register_labels
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.claims_read, scope=(Scope.own_facility, Scope.org_subtree)))]
Settler = Annotated[Principal, Depends(require(Permission.claims_settle, scope=Scope.org_subtree))]
_Filter = Annotated[str, Query(max_length=20)]

register_nav_item(NavItem("claims_settlements", N_("Settlements"), "/claims/settlements", Permission.claims_read,
                          order=540, group="claims"))
register_labels({"settled": N_("Settled")})

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _facility_name(session: Session, code: str) -> str | None:
    return session.scalar(select(MedicalFacility.name).where(MedicalFacility.code == code))


def export_response(session: Session, settlement: Settlement, format: str) -> Response:
    """The settlement sheet as a download (Excel: with the claims settled, whose read is audited)."""
    from ansinh.claims.settlement.exports import settlement_pdf, settlement_xlsx
    from ansinh.collection.debtors import attachment

    name = _facility_name(session, settlement.facility_code)
    offsets = service.settlement_offsets(session, settlement)
    stem = f"quyet-toan-{settlement.facility_code}-{settlement.year:04d}-{settlement.month:02d}"
    record_event(session, "export", "claim_settlement", settlement.id, org_unit_id=settlement.org_unit_id,
                 details={"format": format, "facility": settlement.facility_code})
    if format == "pdf":
        return Response(settlement_pdf(settlement, facility_name=name, offsets=offsets), media_type="application/pdf",
                        headers={"Content-Disposition": attachment(f"{stem}.pdf")})
    content = settlement_xlsx(settlement, service.settled_claims(session, settlement), facility_name=name,
                              offsets=offsets)
    return Response(content, media_type=XLSX, headers={"Content-Disposition": attachment(f"{stem}.xlsx")})


def _default_month(today: date) -> date:
    """The month before this one: the latest that can be settled."""
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def _list_page(request: Request, session: Session, principal: Principal, month_text: str, *,
               form: dict | None = None, errors: dict | None = None) -> Response:
    month = service.parse_month(month_text) if month_text.strip() else _default_month(clock.today())
    rows = session.scalars(service.settlements_query(principal, month=month).limit(1000)).all()
    pending = service.months_to_settle(session, principal, month=month)
    codes = {row.facility_code for row in rows} | {row["facility_code"] for row in pending}
    names = dict(session.execute(select(MedicalFacility.code, MedicalFacility.name).where(
        MedicalFacility.code.in_(codes or {""}))).all())
    return render(request, "claims/settlements.html", {
        "month": month, "rows": rows, "names": names, "pending": pending,
        "month_over": service.next_month(month) <= clock.today(),
        "totals": service.settlement_totals(session, principal, month=month),
        "can_settle": principal.has(Permission.claims_settle),
        "form": form or {"facility_code": "", "month": month.isoformat()[:7]}, "errors": errors or {}})


@router.get("/claims/settlements")
def settlements_page(request: Request, session: DbSession, principal: Reader, month: _Filter = "") -> Response:
    """The settlements of a month (the month before this one by default), with their totals."""
    return _list_page(request, session, principal, month)


@router.post("/claims/settlements")
def settle_form(request: Request, session: DbSession, principal: Settler,
                facility_code: Annotated[str, Form(max_length=20)] = "",
                month: Annotated[str, Form(max_length=20)] = "",
                csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Settle a facility's month; then its settlement's page."""
    typed = {"facility_code": facility_code.strip(), "month": month.strip()}

    def action() -> service.Settled:
        if not typed["facility_code"]:
            raise ValidationFailed("facility_code", "A value is required.")
        return service.settle_month(session, principal=principal, facility_code=typed["facility_code"],
                                    month=service.parse_month(typed["month"]), on=clock.today())

    return submit(request, session, action, csrf_token=csrf_token, field="month",
                  fields=("facility_code", "month"), aliases={"facility": "facility_code", "code": "facility_code"},
                  form=lambda errors: _list_page(request, session, principal, "", form=typed, errors=errors),
                  done=lambda done: f"/claims/settlements/{done.settlement.id}"
                                    + ("?notice=again" if done.replayed else "?notice=settled"),
                  conflict_status=409, refusals=(ValidationFailed, Conflict, NotFound))


@router.get("/claims/settlements/{settlement_id}")
def settlement_page(request: Request, session: DbSession, principal: Reader, settlement_id: RecordId,
                    notice: _Filter = "") -> Response:
    """One settlement: its figures, the advances it offset, the downloads."""
    from ansinh.claims.settlement.exports import FIGURES, amount_in_words

    row = service.get_settlement(session, principal, settlement_id)
    return render(request, "claims/settlement.html", {
        "s": row, "facility_name": _facility_name(session, row.facility_code), "figures": FIGURES,
        "offsets": service.settlement_offsets(session, row), "in_words": amount_in_words(row.due),
        "month": date(row.year, row.month, 1), "notice": notice if notice in ("settled", "again") else ""})


@router.get("/claims/settlements/{settlement_id}/export.xlsx")
def settlement_xlsx(session: DbSession, principal: Reader, settlement_id: RecordId) -> Response:
    return export_response(session, service.get_settlement(session, principal, settlement_id), "xlsx")


@router.get("/claims/settlements/{settlement_id}/export.pdf")
def settlement_pdf(session: DbSession, principal: Reader, settlement_id: RecordId) -> Response:
    return export_response(session, service.get_settlement(session, principal, settlement_id), "pdf")
