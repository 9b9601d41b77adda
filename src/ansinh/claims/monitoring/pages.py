"""The pages of cost monitoring: ``/claims/costs`` (the facilities' costs of a month against their peers, alerts
highlighted, a chart of the highest ratios, a facility's 12-month trend, the cards used many times on request) and
``/claims/budget-use`` (each province's spending against its budget pro-rated to the day, with warnings)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.cards.facilities import specialty_name
from ansinh.claims.monitoring import charts, service
from ansinh.errors import ValidationFailed
from ansinh.i18n import N_
from ansinh.registry import places
from ansinh.web.lists import parse_filter_date
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Monitor = Annotated[Principal, Depends(require(Permission.claims_monitor, scope=(Scope.org_subtree,
                                                                                   Scope.own_facility)))]
AgencyMonitor = Annotated[Principal, Depends(require(Permission.claims_monitor, scope=Scope.org_subtree))]
_Filter = Annotated[str, Query(max_length=20)]

register_nav_item(NavItem("claims_costs", N_("Facility costs"), "/claims/costs", Permission.claims_monitor,
                          order=540, group="claims"))
register_nav_item(NavItem("claims_budget_use", N_("Budget use"), "/claims/budget-use", Permission.claims_monitor,
                          order=545, agency_only=True, group="claims"))

LEVEL_NAMES = {"initial": N_("Initial level"), "basic": N_("Basic level"), "specialised": N_("Specialised level"),
               "central": N_("Central (before 2025)"), "provincial": N_("Provincial (before 2025)"),
               "district": N_("District (before 2025)"), "commune": N_("Commune (before 2025)"),
               "unclassified": N_("Not classified")}
BUDGET_LEVELS = {"ok": N_("Within the budget"), "warning": N_("Warning"), "over": N_("Over the pro-rated budget"),
                 "none": N_("No budget")}


def _provinces(session, principal: Principal) -> list[tuple[str, str]]:
    """The provinces the reader may see (code, name), by name."""
    names = places.province_names(session)
    offices = session.scalars(select(OrgUnit).where(OrgUnit.level == OrgLevel.province))
    codes = {o.place_code for o in offices if principal.covers_path(o.path) or principal.org_unit_path.startswith(o.path)}
    return sorted(((code, names.get(code, code)) for code in codes), key=lambda pair: pair[1])


def _month(text: str) -> date:
    """The month asked for; by default the current one (the claims of the month as they arrive)."""
    return service.parse_month(text) if text.strip() else clock.today().replace(day=1)


def _code(text: str, pattern_length: int, field: str) -> str | None:
    value = text.strip()
    if value and not (value.isdigit() and len(value) == pattern_length):
        raise ValidationFailed(field, "{value} is not a code of {n} digits.", value=text, n=pattern_length)
    return value or None


@router.get("/claims/costs")
def costs_page(request: Request, session: DbSession, principal: Monitor, month: _Filter = "", province: _Filter = "",
               facility: _Filter = "", cards: _Filter = "") -> Response:
    """The facilities' costs of a month (the reader's own province by default; a facility user: its own)."""
    chosen_month = _month(month)
    is_agency = principal.is_agency_staff
    provinces = _provinces(session, principal) if is_agency else []
    chosen_province = _code(province, 2, "province") or (provinces[0][0] if len(provinces) == 1 else None)
    chosen_facility = _code(facility, 5, "facility") or (None if is_agency else principal.subject_ref)
    report = service.facility_costs(session, principal=principal, month=chosen_month,
                                    province=chosen_province if is_agency else None,
                                    facility_code=chosen_facility if is_agency and not chosen_province else None)
    # staff of several provinces choose one (or a facility): a country's facilities are too many for one page
    must_choose = is_agency and not chosen_province and not chosen_facility and len(provinces) > 1
    if must_choose:
        report.rows = []
    rows = report.rows
    trend = None
    if chosen_facility:
        trend = service.facility_trend(session, principal=principal, facility_code=chosen_facility,
                                       month=chosen_month)
    frequent = None
    if cards and is_agency:
        frequent = service.frequent_cards(session, principal=principal, month=chosen_month,
                                          province=chosen_province)
    threshold = report.thresholds["cost_per_visit_ratio"]
    return render(request, "claims/costs.html", {
        "report": report, "rows": rows, "month": chosen_month, "month_text": chosen_month.strftime("%Y-%m"),
        "provinces": provinces, "province": chosen_province or "", "facility": chosen_facility or "",
        "is_agency": is_agency, "must_choose": must_choose, "trend": trend, "frequent": frequent, "level_names": LEVEL_NAMES,
        "specialty_name": specialty_name,
        "outpatient_chart": charts.ratio_chart(charts.top_ratios(rows, "outpatient_country_ratio"), threshold),
        "inpatient_chart": charts.ratio_chart(charts.top_ratios(rows, "inpatient_country_ratio"), threshold),
        "trend_chart": charts.column_chart([(t["month"], t["cost_per_outpatient_visit"]) for t in trend])
        if trend else None,
        "trend_facility": next((r for r in rows if r["code"] == chosen_facility), None)})


@router.get("/claims/budget-use")
def budget_use_page(request: Request, session: DbSession, principal: AgencyMonitor, year: _Filter = "",
                    on: _Filter = "", province: _Filter = "") -> Response:
    """Each province's spending against its yearly budget pro-rated to the day; a province's facilities."""
    day = parse_filter_date(on, "on") or clock.today()
    chosen_year = day.year
    if year.strip():
        if not year.strip().isdigit():
            raise ValidationFailed("year", "A year from {first} to {last}.", first=service.FIRST_YEAR,
                                   last=service.LAST_YEAR)
        chosen_year = service.check_year(int(year))
    chosen_province = _code(province, 2, "province")
    if chosen_province:
        service.ensure_province(session, principal, chosen_province)
    use = service.budget_use(session, principal=principal, year=chosen_year, on=day)
    facilities = [row for row in use.facilities if chosen_province and row["province"] == chosen_province]
    return render(request, "claims/budget_use.html", {
        "use": use, "year": chosen_year, "on": day, "province": chosen_province or "",
        "provinces": _provinces(session, principal), "facilities": facilities, "budget_levels": BUDGET_LEVELS,
        "years": list(range(clock.today().year + 1, clock.today().year - 4, -1))})
