"""Web pages of health insurance cards: the lookup page of the facility desk (covered or not, and why not), the
printable card (PDF), the lookup figures by province or facility and month, and the card section of a person's
page. The officers' pages (card operations, issuance runs, births: :mod:`ansinh.cards.manage_pages`; facilities,
contracts and lookup alerts: :mod:`ansinh.cards.facility_pages`) add their routes to this module's router.

Thin routes over :mod:`ansinh.cards.service` and :mod:`ansinh.cards.facilities`: a lookup here is the same as
through the API (the facility's contract is checked, the lookup is logged and the person's read audited).
The lookup form works without JavaScript (a plain GET of ``/cards/lookup`` with the query); with htmx the
result is fetched from ``/cards/lookup/result`` and swapped in, the error messages next to the fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ansinh.bounds import RecordId
from ansinh import clock, formatting
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.cards import facilities, service
from ansinh.cards.models import CardLookup, MedicalFacility
from ansinh.errors import DomainError, NotFound, ValidationFailed
from ansinh.registry.models import Person
from ansinh.registry.places import province_names
from ansinh.i18n import N_, gettext
from ansinh.registry import service as registry
from ansinh.web.navigation import DashboardTile, NavItem, register_nav_item, register_tile
from ansinh.web.templating import is_htmx, render, script_json

router = APIRouter(include_in_schema=False)

#: The lookup form's fields, in the order shown; each may carry an error message.
LOOKUP_FIELDS = ("citizen_id", "card_code", "si_number", "full_name", "date_of_birth", "on")
KPI_KEYS = ("province", "facility")

register_nav_item(NavItem("cards_lookup", N_("Card lookup"), "/cards/lookup", Permission.cards_lookup, order=150,
                          group="cards"))
register_nav_item(NavItem("cards_kpis", N_("Lookup figures"), "/cards/kpis", Permission.reports_view, order=151,
                          agency_only=True, group="cards"))

#: Why a lookup answers "not covered", in words for the desk.
REASONS = {
    "unknown_person": N_("No person is registered with this identifier."),
    "name_mismatch": N_("The name does not match the person registered with this identifier."),
    "birth_date_mismatch": N_("The date of birth does not match the person registered with this identifier."),
    "no_coverage": N_("The person has no health insurance card in force."),
    "expired": N_("The card expired on {day}."),
    "not_yet_valid": N_("The card is valid only from {day}."),
    "suspended": N_("The card is suspended."),
    "card_replaced": N_("This card has been replaced: the card in force is {code}."),
}
CARD_STATUS = {"active": N_("Active"), "suspended": N_("Suspended")}

Looker = Annotated[Principal, Depends(require(Permission.cards_lookup, scope=Scope.desk_lookup))]
Reader = Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]
Reporter = Annotated[Principal, Depends(require(Permission.reports_view, scope=Scope.org_subtree))]


def today() -> date:
    """The day of a lookup, as the API counts it."""
    return clock.today()


def show_day(value: date | str | None) -> str:
    """A day as the reader's language writes it (``22/11/2026``)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return formatting.day(value)


def show_percent(value: float | None, digits: int = 0) -> str:
    """A share (0 to 1) as a percentage in the reader's language (``87,5%``)."""
    if value is None:
        return "–"
    return formatting.percent(float(value) * 100, decimals=digits)


# --- dashboard tiles -----------------------------------------------------------------------------------

def _lookups_today(session: Session, principal: Principal) -> tuple[int, int]:
    """(lookups, covered answers) since midnight in Vietnam (the agency's day): a facility user's own facility's,
    else those in the caller's province (all for national staff)."""
    start = datetime.combine(today(), time.min, tzinfo=clock.VIETNAM)
    stmt = select(func.count(CardLookup.id), func.sum(case((CardLookup.result == "covered", 1), else_=0))) \
        .where(CardLookup.looked_up_at >= start)
    if Role.facility in principal.roles and not principal.is_agency_staff:
        stmt = stmt.where(CardLookup.facility_code == (principal.subject_ref or ""))
    else:
        province = service.principal_province(session, principal)
        if province is not None:
            stmt = stmt.where(CardLookup.province_2025 == province)
    count, covered = session.execute(stmt).one()
    return int(count or 0), int(covered or 0)


def _tile_lookups(session: Session, principal: Principal) -> int | str:
    try:
        return _lookups_today(session, principal)[0]
    except DomainError:
        return "–"


def _tile_success(session: Session, principal: Principal) -> str:
    try:
        count, covered = _lookups_today(session, principal)
    except DomainError:
        return "–"
    return show_percent(covered / count, 1) if count else "–"


register_tile(DashboardTile("card_lookups", N_("Card lookups today"), _tile_lookups, Permission.cards_lookup,
                            "/cards/lookup", order=150))
register_tile(DashboardTile("card_lookup_success", N_("Share of today's card lookups found covered"), _tile_success,
                            Permission.reports_view, "/cards/kpis", order=151))


# --- the lookup page -----------------------------------------------------------------------------------

@dataclass
class LookupForm:
    citizen_id: str = ""
    card_code: str = ""
    si_number: str = ""
    on: str = ""
    full_name: str = ""
    date_of_birth: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, citizen_id: str, card_code: str, si_number: str, on: str, full_name: str = "",
           date_of_birth: str = "") -> LookupForm:
        """The form as typed, without the spaces a desk may type inside a number."""
        return cls(re.sub(r"\s", "", citizen_id or ""), re.sub(r"\s", "", card_code or "").upper(),
                   re.sub(r"\s", "", si_number or ""), (on or "").strip(), " ".join((full_name or "").split()),
                   (date_of_birth or "").strip())


def _run_lookup(session: Session, principal: Principal, facility_code: str | None, form: LookupForm) -> dict | None:
    """The service's answer for the form, or None with ``form.errors`` filled (nothing is logged then)."""
    day = today()
    if form.on:
        try:
            day = date.fromisoformat(form.on)
        except ValueError:
            form.errors["on"] = gettext("Not a date (use YYYY-MM-DD).")
    born_on = None
    if form.date_of_birth:
        try:
            born_on = date.fromisoformat(form.date_of_birth)
        except ValueError:
            form.errors["date_of_birth"] = gettext("Not a date (use YYYY-MM-DD).")
    if not (form.citizen_id or form.card_code or form.si_number):
        form.errors["citizen_id"] = gettext("Give a citizen ID, a card code or an SI number.")
    if not (form.full_name or form.date_of_birth):
        form.errors["full_name"] = gettext("Give the full name or the date of birth printed on the chip card.")
    if form.errors:
        return None
    try:
        return service.lookup(session, principal, on=day, citizen_id=form.citizen_id or None,
                              card_code=form.card_code or None, si_number=form.si_number or None,
                              full_name=form.full_name or None, date_of_birth=born_on, facility_code=facility_code)
    except ValidationFailed as error:
        target = error.field if error.field in LOOKUP_FIELDS else "citizen_id"
        form.errors[target] = error.translated(gettext)
        return None


def reason_text(answer: dict) -> str:
    template = REASONS.get(answer.get("reason") or "")
    if template is None:
        return ""
    return gettext(template).format(day=show_day(answer.get("valid_to") if answer.get("reason") == "expired"
                                                 else answer.get("valid_from")),
                                    code=answer.get("card_code") or "")


def _lookup_context(principal: Principal, form: LookupForm, answer: dict | None, facility_code: str | None,
                    facility_name: str | None = None) -> dict:
    return {"form": form, "answer": answer, "errors": form.errors, "fields": LOOKUP_FIELDS,
            "can_report": principal.has(Permission.reports_view),
            "facility_code": facility_code, "facility_name": facility_name, "today": today().isoformat(), "show_day": show_day,
            "show_percent": show_percent, "reason": reason_text(answer) if answer else ""}


def _lookup_page(request: Request, session: Session, principal: Principal, citizen_id: str, card_code: str,
                 si_number: str, on: str, full_name: str, date_of_birth: str, *, fragment: bool) -> Response:
    facility_code = facilities.ensure_may_look_up(session, principal, today())  # 403 without a contract in force
    form = LookupForm.of(citizen_id, card_code, si_number, on, full_name, date_of_birth)
    submitted = fragment or any(key in request.query_params for key in LOOKUP_FIELDS)
    answer = _run_lookup(session, principal, facility_code, form) if submitted else None
    name = facility_names(session, [facility_code]).get(facility_code or "") if facility_code and not fragment else None
    context = _lookup_context(principal, form, answer, facility_code, name)
    if fragment and is_htmx(request):  # htmx swaps 2xx answers only: errors come back with 200, next to the fields
        return render(request, "cards/lookup_result.html", {**context, "oob": True})
    return render(request, "cards/lookup.html", context, status_code=400 if form.errors else 200)


_Key = Annotated[str, Query(max_length=40)]
_Name = Annotated[str, Query(max_length=100)]


@router.get("/cards/lookup")
def lookup_page(request: Request, session: DbSession, principal: Looker, citizen_id: _Key = "",
                card_code: _Key = "", si_number: _Key = "", on: _Key = "", full_name: _Name = "",
                date_of_birth: _Key = "") -> Response:
    """The desk's lookup form; with a query (a form sent without JavaScript), the page with the answer."""
    return _lookup_page(request, session, principal, citizen_id, card_code, si_number, on, full_name, date_of_birth,
                        fragment=False)


@router.get("/cards/lookup/result")
def lookup_result(request: Request, session: DbSession, principal: Looker, citizen_id: _Key = "",
                  card_code: _Key = "", si_number: _Key = "", on: _Key = "", full_name: _Name = "",
                  date_of_birth: _Key = "") -> Response:
    """The answer alone, for htmx (the whole page when opened directly)."""
    return _lookup_page(request, session, principal, citizen_id, card_code, si_number, on, full_name, date_of_birth,
                        fragment=True)


# --- the printable card --------------------------------------------------------------------------------

def facility_names(session: Session, codes) -> dict[str, str]:
    codes = {code for code in codes if code}
    if not codes:
        return {}
    return dict(session.execute(select(MedicalFacility.code, MedicalFacility.name)
                                .where(MedicalFacility.code.in_(codes))).all())


@router.get("/cards/people/{person_id}/card.pdf")
def card_pdf(person_id: RecordId, session: DbSession, principal: Reader) -> Response:
    """The person's card in force, printable (85.6 x 54 mm)."""
    from ansinh.cards.pdf import card_pdf as make_pdf
    from ansinh.registry.places import place_full_name

    person = registry.get_person(session, principal, person_id)  # 403 outside the scope; the read is audited
    card = service.current_card(session, person.id)
    if card is None:
        raise NotFound("This person has no health insurance card.")
    name = facility_names(session, [card.registered_facility]).get(card.registered_facility or "")
    place = place_full_name(session, person.residence_place_id)
    address = ", ".join(part for part in (person.address, place) if part) or None
    content = make_pdf(card, person, name, address=address, issued_on=today())
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="the-bhyt-{card.card_code}.pdf"', "Cache-Control": "no-store"})


# --- the card on the person's page ---------------------------------------------------------------------

#: The notices of the card section after an operation (``?card=...`` on the person's page).
CARD_NOTICES = {
    "issued": N_("The card has been issued."),
    "renewed": N_("The card has been renewed: a new version is in force."),
    "unchanged": N_("The card is up to date: nothing to renew."),
    "not_covered": N_("No card issued: the person has no health insurance coverage on that day."),
    "suspended": N_("The card has been suspended."),
    "reinstated": N_("The card has been reinstated."),
    "facility": N_("The registered primary-care facility has been changed."),
    "born": N_("Birth registered: the child is covered and their card has been issued."),
}
#: The most facilities offered in the list of the primary-care facility form.
FACILITY_CHOICES = 500


def primary_care_choices(session: Session, province: str | None) -> list[MedicalFacility]:
    """The primary-care facilities with a contract in force today (of a province when given), by name."""
    stmt = facilities.facilities_query(on=today(), province=province, contract=True, primary_care=True)
    return [row[0] for row in session.execute(stmt.order_by(MedicalFacility.name, MedicalFacility.code)
                                              .limit(FACILITY_CHOICES))]


def person_card_context(session: Session, person_id: int) -> dict:
    """What the person's page shows of their card: the card in force, every version, facility names, the
    benefit percentage of the current card today, and for card officers the forms of the card's operations."""
    history = service.card_history(session, person_id)
    card = next((c for c in reversed(history) if c.superseded_at is None), None)
    percentage = None
    if card is not None:
        try:
            from ansinh.rules.parameters import get_parameters

            percentage = float(get_parameters()[service.BENEFIT_LEVEL].at(today(), card.benefit_digit))
        except (DomainError, KeyError, ValueError):
            percentage = None
    province = session.scalar(select(Person.province_2025).where(Person.id == person_id))
    return {"hi_card": card, "hi_card_history": list(reversed(history)),
            "hi_card_facilities": facility_names(session, [c.registered_facility for c in history]),
            "hi_card_percentage": show_percent(percentage) if percentage is not None else None,
            "hi_card_status": CARD_STATUS, "hi_card_notices": CARD_NOTICES,
            "hi_card_manage": Permission.cards_manage, "hi_card_today": today().isoformat(),
            "hi_card_choices": lambda: primary_care_choices(session, province)}


# --- lookup figures ------------------------------------------------------------------------------------

def _parse_day(text: str, default: date, name: str, errors: list[str]) -> date:
    if not text.strip():
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors.append(gettext("{field}: not a date (use YYYY-MM-DD).").format(field=name))
        return default


@router.get("/cards/kpis")
def kpis_page(request: Request, session: DbSession, principal: Reporter, since: _Key = "", until: _Key = "",
              by: _Key = "province") -> Response:
    """Lookups, successful ones and the success rate per province (or facility) and month."""
    errors: list[str] = []
    now = today()
    first = _parse_day(since, date(now.year, 1, 1), gettext("From"), errors)
    last = _parse_day(until, date(now.year, 12, 31), gettext("Until"), errors)
    if last < first:
        errors.append(gettext("The end ({end}) is before the start ({start}).").format(
            end=show_day(last), start=show_day(first)))
        first, last = last, first
    if by not in KPI_KEYS:
        by = "province"
    rows = service.lookup_kpis(session, principal, since=first, until=last, by=by)
    names = province_names(session) if by == "province" else facility_names(session, [r[by] for r in rows])

    def name_of(key: str | None) -> str:
        if key is None:
            return gettext("Unknown")
        if by == "province":
            return names.get(key, key)
        return f"{names[key]} ({key})" if key in names else key

    by_key: dict[str | None, dict] = {}
    by_month: dict[str, dict] = {}
    for row in rows:
        for groups, key in ((by_key, row[by]), (by_month, row["month"])):
            total = groups.setdefault(key, {"lookups": 0, "successful": 0})
            total["lookups"] += row["lookups"]
            total["successful"] += row["successful"]
    for totals in (*by_key.values(), *by_month.values()):
        totals["success_rate"] = totals["successful"] / totals["lookups"] if totals["lookups"] else None
    lookups = sum(r["lookups"] for r in rows)
    successful = sum(r["successful"] for r in rows)
    months = sorted(by_month)

    def month_of(key: str) -> str:
        return formatting.month(date.fromisoformat(f"{key}-01"))
    keys = sorted(by_key, key=lambda k: (k is None, k or ""))
    series = (("lookups", gettext("Lookups")), ("successful", gettext("Successful")))
    chart_months = {"labels": [month_of(m) for m in months],
                    "datasets": [{"key": key, "label": text, "data": [by_month[m][key] for m in months]}
                                 for key, text in series]}
    chart_keys = {"labels": [name_of(k) for k in keys],
                  "datasets": [{"key": key, "label": text, "data": [by_key[k][key] for k in keys]}
                               for key, text in series]}
    return render(request, "cards/kpis.html", {
        "rows": rows, "by": by, "since": first.isoformat(), "until": last.isoformat(), "errors": errors,
        "name_of": name_of, "month_of": month_of, "by_key": by_key, "keys": keys, "show_percent": show_percent, "show_day": show_day,
        "totals": {"lookups": lookups, "successful": successful,
                   "success_rate": successful / lookups if lookups else None},
        "chart_months": script_json(chart_months), "chart_keys": script_json(chart_keys),
        "shown_since": show_day(first), "shown_until": show_day(last),
    })


# The officers' pages register their routes on this router (imported last: they use the helpers above).
from ansinh.cards import facility_pages, manage_pages  # noqa: E402,F401
