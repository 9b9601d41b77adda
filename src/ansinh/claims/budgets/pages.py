"""The page of the yearly budgets of HI medical costs: a province's estimate for a year, its facilities' indicative
figures and what is left to assign, every version, and the form that records a new version."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.claims.budgets import service
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_
from ansinh.registry import places
from ansinh.web.forms import submit
from ansinh.web.lists import parse_filter_date
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.claims_budgets_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.claims_budgets_manage, scope=Scope.org_subtree))]
_Filter = Annotated[str, Query(max_length=20)]

register_nav_item(NavItem("claims_budgets", N_("Medical cost budgets"), "/claims/budgets",
                          Permission.claims_budgets_read, order=530, agency_only=True, group="claims"))

FIELDS = ("facility", "amount", "source", "valid_from")


def _provinces(session, principal: Principal) -> list[tuple[str, str]]:
    """The provinces whose budgets the reader may see (code, name), by name."""
    from sqlalchemy import select

    names = places.province_names(session)
    offices = session.scalars(select(OrgUnit).where(OrgUnit.level == OrgLevel.province))
    codes = {o.place_code for o in offices if principal.covers_path(o.path) or principal.org_unit_path.startswith(o.path)}
    return sorted(((code, names.get(code, code)) for code in codes), key=lambda pair: pair[1])


def _context(session, principal: Principal, province: str, year: int, on: date | None, **extra) -> dict:
    view = service.budget_for(session, province, year, on=on, principal=principal) if province else None
    return {"view": view, "provinces": _provinces(session, principal), "province": province, "year": year,
            "on": on, "years": list(range(clock.today().year + 1, clock.today().year - 4, -1)),
            "can_set": principal.has(Permission.claims_budgets_manage),
            "can_set_total": principal.has(Permission.claims_budgets_manage)
            and principal.org_unit_level == OrgLevel.national.value,
            "form": extra.pop("form", {"valid_from": date(year, 1, 1).isoformat()}), "errors": extra.pop("errors", {}),
            **extra}


def _year(text: str) -> int:
    if not text:
        return clock.today().year
    if not text.isdigit() or not service.FIRST_YEAR <= int(text) <= service.LAST_YEAR:
        raise ValidationFailed("year", "A year from {first} to {last}.", first=service.FIRST_YEAR,
                               last=service.LAST_YEAR)
    return int(text)


def _amount(text: str) -> int:
    digits = re.sub(r"[\s.,_₫đ]", "", text or "")
    if not digits:
        raise ValidationFailed("amount", "A value is required.")
    if not digits.isdigit() or len(digits) > 16:
        raise ValidationFailed("amount", "The amount is a whole number of dong from 0 to {limit}.",
                               limit=service.MAX_BUDGET)
    return int(digits)


@router.get("/claims/budgets")
def budgets_page(request: Request, session: DbSession, principal: Reader, province: _Filter = "",
                 year: _Filter = "", on: _Filter = "") -> Response:
    """A province's budgets of a year (the reader's own province by default)."""
    provinces = _provinces(session, principal)
    chosen = province.strip() or (provinces[0][0] if len(provinces) == 1 else "")
    if chosen and chosen not in {code for code, _ in provinces}:
        service.province_office(session, chosen)  # 404 for a province the agency has no office of
        raise PermissionDenied("This record belongs to another org unit, outside your scope.")
    day = parse_filter_date(on, "on")
    return render(request, "claims/budgets.html", _context(session, principal, chosen, _year(year), day))


@router.post("/claims/budgets")
def set_budget(request: Request, session: DbSession, principal: Manager,
               province: Annotated[str, Form(max_length=20)] = "", year: Annotated[str, Form(max_length=20)] = "",
               facility: Annotated[str, Form(max_length=20)] = "", amount: Annotated[str, Form(max_length=30)] = "",
               source: Annotated[str, Form(max_length=400)] = "",
               valid_from: Annotated[str, Form(max_length=20)] = "",
               csrf_token: Annotated[str, Form()] = "") -> Response:
    """Record a new version of the province's estimate (no facility) or of a facility's figure."""
    form = {"facility": facility, "amount": amount, "source": source, "valid_from": valid_from}
    chosen_year = _year(year)

    def record():
        value = _amount(amount)
        day = parse_filter_date(valid_from, "valid_from") or date(chosen_year, 1, 1)
        return service.set_budget(session, province=province.strip(), year=chosen_year, amount=value,
                                  source=source, valid_from=day, facility_code=facility.strip() or None,
                                  principal=principal)

    return submit(
        request, session, record, csrf_token=csrf_token, refusals=(ValidationFailed, Conflict, NotFound),
        field="facility", aliases={"facility_code": "facility"}, fields=FIELDS, htmx=False,
        done=f"/claims/budgets?{urlencode({'province': province.strip(), 'year': chosen_year})}",
        form=lambda errors: render(request, "claims/budgets.html", _context(
            session, principal, province.strip(), chosen_year, None, form=form, errors=errors)))


