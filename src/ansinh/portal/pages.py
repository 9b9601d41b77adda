"""The citizen's pages (mobile first): ``/me`` (personal details and totals: the citizen's landing page),
``/me/contributions`` (month by month per scheme, totals, gaps), ``/me/card`` (the digital health insurance card
with its QR code) and ``/me/bills`` (what is due, with the VietQR code to pay it). Their benefit claims are on
``/benefits`` (the benefits domain's pages, which already show a citizen their own).

Thin routes over :mod:`ansinh.portal.service`: every read is of the signed-in citizen only, and audited there.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.errors import NotFound
from ansinh.i18n import N_
from ansinh.portal import service
from ansinh.web.labels import register_labels
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Citizen = Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.own_person))]

_CITIZEN = frozenset({Role.citizen})
for _key, _label, _href, _order in (("me", N_("My summary"), "/me", 1),
                                    ("me_contributions", N_("My contributions"), "/me/contributions", 2),
                                    ("me_card", N_("My health insurance card"), "/me/card", 3),
                                    ("me_bills", N_("My bills"), "/me/bills", 4)):
    register_nav_item(NavItem(_key, _label, _href, Permission.dashboard_view, order=_order, roles=_CITIZEN))

SCHEME_LABELS = {"si_compulsory": N_("Compulsory social insurance"), "si_voluntary": N_("Voluntary social insurance"),
                 "ui": N_("Unemployment insurance"), "hi": N_("Health insurance")}
PAID_BY_LABELS = {"employer": N_("Employer and employee"), "self": N_("Yourself"), "household": N_("Household"),
                  "state_budget": N_("State budget"), "other_budget": N_("Other budget")}
BILL_TYPE_LABELS = {"voluntary": N_("Voluntary social insurance"), "household": N_("Household health insurance")}
register_labels({f"me_scheme.{k}": v for k, v in SCHEME_LABELS.items()})
register_labels({f"me_paid_by.{k}": v for k, v in PAID_BY_LABELS.items()})
register_labels({f"me_bill.{k}": v for k, v in BILL_TYPE_LABELS.items()})


def _month(text: str) -> date:
    return date.fromisoformat(text + "-01")


def _dates(item: dict | None, *keys: str) -> dict | None:
    """The ISO dates of an answer as dates, for the templates' Vietnamese formats."""
    for key in keys:
        if item and item.get(key):
            item[key] = date.fromisoformat(item[key])
    return item


def _svg(content: str | None) -> Markup | None:
    return Markup(service.qr_svg(content)) if content else None  # segno's own SVG: no user markup


@router.get("/me")
def me_page(request: Request, session: DbSession, principal: Citizen) -> Response:
    """Personal details and the totals: months of social insurance, the card, what is due, open claims."""
    today = clock.today()
    try:
        person = service.me(session, principal)
    except NotFound:
        if Role.citizen in principal.roles and not principal.is_agency_staff:  # an account not (yet) linked
            return render(request, "portal/unlinked.html")
        raise
    history = service.contributions_of(session, person, on=today)
    card = service.card_of(session, person, on=today)
    bills = service.bills_of(session, person, on=today)
    claims = service.claims_of(session, principal, person, on=today)
    if history["first_month"]:
        history["first_day"], history["last_day"] = _month(history["first_month"]), _month(history["last_month"])
    return render(request, "portal/me.html", {
        "person": _dates(service.person_view(session, person), "date_of_birth"), "history": history,
        "card": _dates(card, "valid_from", "valid_until"),
        "due": sum(b["outstanding"] for b in bills), "due_bills": sum(1 for b in bills if b["outstanding"] > 0),
        "open_claims": sum(1 for c in claims if c["decision_number"] is None and c["status"] != "withdrawn"),
        "claims": len(claims)})


@router.get("/me/contributions")
def me_contributions(request: Request, session: DbSession, principal: Citizen) -> Response:
    """Month by month per scheme: employer, salary, who paid; totals and gaps."""
    history = service.contributions(session, principal, on=clock.today())
    for rows in history["schemes"].values():
        for row in rows:
            row["day"] = _month(row["month"])
    for gap in history["gaps"]:
        gap["from_day"], gap["to_day"] = _month(gap["from"]), _month(gap["to"])
    return render(request, "portal/contributions.html", {"history": history, "schemes": service.SCHEMES})


@router.get("/me/card")
def me_card(request: Request, session: DbSession, principal: Citizen) -> Response:
    """The digital health insurance card with its QR code."""
    card = service.card(session, principal, on=clock.today())
    qr = _svg(card and card["qr_content"])
    return render(request, "portal/card.html", {
        "card": _dates(card, "date_of_birth", "valid_from", "valid_until", "five_years_from"), "qr": qr})


@router.get("/me/bills")
def me_bills(request: Request, session: DbSession, principal: Citizen) -> Response:
    """What is due, each with its VietQR payment code; the bills already paid below."""
    bills = service.bills(session, principal, on=clock.today())
    for bill in bills:
        bill["month"] = _month(bill["period"])
        _dates(bill, "due_date")
        bill["qr"] = _svg(bill["payment"] and bill["payment"]["vietqr"])
    return render(request, "portal/bills.html", {
        "due": [b for b in bills if b["outstanding"] > 0], "paid": [b for b in bills if b["outstanding"] <= 0],
        "total_due": sum(b["outstanding"] for b in bills)})
