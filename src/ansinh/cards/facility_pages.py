"""Web pages of the medical facilities and their HI contracts, and of the alerts raised on card lookups.

The list of facilities is reference data for every reader (sorting, filters by province name, level, contract in
force and text, totals, the Excel export of exactly the filtered rows); a facility's page with its contracts and its
classification into the levels of 2025 belongs to the office that contracts it (and the offices above it), which adds
and ends contracts and adds classifications there. Thin routes over
:mod:`ansinh.cards.facilities` and :mod:`ansinh.cards.service`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import OrgUnit, User
from ansinh.auth.permissions import subtree_ids, Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.cards import facilities, service
from ansinh.cards.manage_pages import CARD_FIELD_ALIASES, _form_day, find_commune
from ansinh.cards.models import FacilityLevel, FacilityLevel2025, LookupAlert, MedicalFacility
from ansinh.cards.pages import facility_names, router, today
from ansinh.errors import Conflict, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.registry import places
from ansinh.registry import service as registry
from ansinh.web.forms import submit
from ansinh.web.lists import Column, fetch_page, read_listing, stream_rows, xlsx_response
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

ListReader = Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.reference))]
Reader = Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]
FacilityManager = Annotated[Principal, Depends(require(Permission.facilities_manage, scope=Scope.org_subtree))]
Reporter = Annotated[Principal, Depends(require(Permission.reports_view, scope=Scope.org_subtree))]

register_nav_item(NavItem("cards_facilities", N_("Medical facilities"), "/cards/facilities", Permission.registry_read,
                          order=152, agency_only=True, group="cards"))
register_nav_item(NavItem("cards_alerts", N_("Lookup alerts"), "/cards/lookup-alerts", Permission.reports_view,
                          order=155, agency_only=True, group="cards"))

#: The levels of facilities, as shown (the org units' "district" label is another thing: not a global label).
LEVEL_NAMES = {"central": N_("Central level"), "provincial": N_("Provincial level"),
               "district": N_("District level"), "commune": N_("Commune level")}
LEVELS = tuple(level.value for level in FacilityLevel)
#: The technical levels from 2025-01-01 (Law 51/2024/QH15).
LEVEL_2025_NAMES = {"initial": N_("Initial level"), "basic": N_("Basic level"),
                    "specialised": N_("Specialised level")}
LEVELS_2025 = tuple(level.value for level in FacilityLevel2025)
ALERT_KINDS = {"many_unrelated_people": N_("Many unrelated people looked up"),
               "many_failed_identity_checks": N_("Many failed identity checks")}


def _yes_no(text: str) -> bool | None:
    return {"yes": True, "no": False}.get(text)


# --- the list of facilities ------------------------------------------------------------------------------

FACILITY_COLUMNS = (
    Column("code", N_("Code"), MedicalFacility.code),
    Column("name", N_("Name"), MedicalFacility.name),
    Column("level", N_("Level"), MedicalFacility.level),
    Column("province", N_("Province"), MedicalFacility.province_2025),
    Column("primary_care", N_("Primary care"), MedicalFacility.primary_care),
    Column("contract", N_("Contract in force"), None),
)


def _facility_filters(province: str, level: str, contract: str, q: str) -> dict:
    return {"province": province, "level": level if level in LEVELS else "",
            "contract": contract if contract in ("yes", "no") else "", "q": q.strip()}


def _facility_statement(filters: dict):
    return facilities.facilities_query(on=today(), province=filters["province"] or None,
                                       level=filters["level"] or None, contract=_yes_no(filters["contract"]),
                                       text=filters["q"] or None)


_Filter = Annotated[str, Query(max_length=100)]


@router.get("/cards/facilities")
def facilities_page(request: Request, session: DbSession, principal: ListReader, province: _Filter = "",
                    level: _Filter = "", contract: _Filter = "", q: _Filter = "") -> Response:
    """Every registered facility, filtered and sorted, with whether it has a contract in force today."""
    filters = _facility_filters(province, level, contract, q)
    listing = read_listing(request, FACILITY_COLUMNS, default_sort="code", filters=filters)
    rows = fetch_page(session, _facility_statement(filters), listing, MedicalFacility.id)
    return render(request, "cards/facilities.html", {
        "listing": listing, "rows": rows, "provinces": places.province_names(session), "levels": LEVELS,
        "level_names": LEVEL_NAMES, "can_manage": principal.has(Permission.facilities_manage),
        # Every facility is listed (reference data); only those of the caller's offices open (their contracts).
        "own_units": set(session.scalars(subtree_ids(principal)))})


@router.get("/cards/facilities/export.xlsx")
def facilities_export(request: Request, session: DbSession, principal: ListReader, province: _Filter = "",
                      level: _Filter = "", contract: _Filter = "", q: _Filter = "") -> Response:
    """The filtered facilities (all pages) as an Excel file."""
    filters = _facility_filters(province, level, contract, q)
    listing = read_listing(request, FACILITY_COLUMNS, default_sort="code", filters=filters)
    from ansinh.web.lists import sorted_by

    stmt = sorted_by(_facility_statement(filters), listing, MedicalFacility.id)
    names = places.province_names(session)
    yes, no = gettext("Yes"), gettext("No")
    headers = [gettext("Code"), gettext("Name"), gettext("Level"), gettext("Province"), gettext("Primary care"),
               gettext("Public"), gettext("Contract in force")]
    rows = ((f.code, f.name, gettext(LEVEL_NAMES[f.level.value]), names.get(f.province_2025, f.province_2025),
             yes if f.primary_care else no, yes if f.public else no, yes if in_force else no)
            for f, in_force in stream_rows(session, stmt))
    return xlsx_response("co-so-kcb.xlsx", headers, rows, sheet_name=gettext("Medical facilities"))


# --- a new facility --------------------------------------------------------------------------------------

FACILITY_FIELDS = ("code", "name", "level", "specialty", "commune", "org_unit_code")


def _new_facility_context(session: Session, principal: Principal, form: dict | None = None,
                          errors: dict | None = None) -> dict:
    units = []
    if principal.org_unit_level == "national":
        units = list(session.scalars(select(OrgUnit).where(OrgUnit.level != "national").order_by(OrgUnit.code)))
    return {"form": form or {"level": "commune", "primary_care": "on", "public": "on", "specialty": "general"},
            "errors": errors or {}, "levels": LEVELS, "level_names": LEVEL_NAMES, "org_units": units,
            "specialties": [s for s in facilities.specialties() if s.valid_to is None]}


@router.get("/cards/facilities/new")
def new_facility_form(request: Request, session: DbSession, principal: FacilityManager) -> Response:
    return render(request, "cards/facility_new.html", _new_facility_context(session, principal))


@router.post("/cards/facilities/new")
def create_facility(request: Request, session: DbSession, principal: FacilityManager,
                    code: Annotated[str, Form(max_length=20)] = "", name: Annotated[str, Form(max_length=300)] = "",
                    level: Annotated[str, Form(max_length=20)] = "",
                    primary_care: Annotated[str, Form(max_length=5)] = "",
                    public: Annotated[str, Form(max_length=5)] = "",
                    specialty: Annotated[str, Form(max_length=24)] = "",
                    commune: Annotated[str, Form(max_length=120)] = "",
                    org_unit_code: Annotated[str, Form(max_length=40)] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    """Register a facility under the office that contracts it (the caller's, or one of its subtree)."""
    form = {"code": code, "name": name, "level": level, "primary_care": primary_care, "public": public,
            "specialty": specialty, "commune": commune, "org_unit_code": org_unit_code}

    def create() -> MedicalFacility:
        unit = registry.org_unit_for_new_record(session, principal, org_unit_code.strip() or None)
        place_id = find_commune(session, principal, commune)
        return facilities.create_facility(session, facilities.FacilityData(
            code=code.strip(), name=name, level=level, primary_care=bool(primary_care), public=bool(public),
            specialty=specialty, place_id=place_id), unit)

    return submit(
        request, session, create, csrf_token=csrf_token, refusals=(ValidationFailed, Conflict), field="code",
        aliases=CARD_FIELD_ALIASES, fields=FACILITY_FIELDS, htmx=False,
        form=lambda errors: render(request, "cards/facility_new.html",
                                   _new_facility_context(session, principal, form, errors)),
        done=lambda facility: _facility_address(facility, "created"))


# --- a facility and its contracts ------------------------------------------------------------------------

FACILITY_NOTICES = {
    "created": N_("The facility has been registered. Add its HI contract."),
    "signed": N_("The contract has been recorded."),
    "terminated": N_("The contract has been ended."),
    "classified": N_("The classification has been recorded."),
}
#: The bands of a basic facility's classification score that HI benefits tell apart.
SCORE_BANDS = ((50, N_("under 50 points")), (70, N_("50 to under 70 points")), (101, N_("70 points or more")))
CLASSIFICATION_FIELDS = ("classified_from", "level_2025", "score", "provisional", "health_station", "decision")


def score_band(score: int | None) -> str:
    """The band of a classification score, as shown (untranslated: the template translates it)."""
    if score is None:
        return ""
    return next(text for limit, text in SCORE_BANDS if score < limit)


def _facility_address(facility: MedicalFacility, done: str) -> str:
    return f"/cards/facilities/{facility.code}?{urlencode({'done': done})}"


def _facility_in_scope(session: Session, principal: Principal, code: str) -> MedicalFacility:
    facility = facilities.get_facility(session, code)
    facilities.ensure_facility_in_scope(session, principal, facility)  # 403 for another office's facility
    return facility


def _facility_context(session: Session, principal: Principal, facility: MedicalFacility, *,
                      errors: dict | None = None, form: dict | None = None, notice: str = "",
                      classification_form: dict | None = None) -> dict:
    day = today()
    contracts = facilities.facility_contracts(session, facility)
    history = facilities.facility_classifications(session, facility)
    in_force = facilities.contract_in_force(session, facility.code, day)
    unit = session.get(OrgUnit, facility.org_unit_id)
    return {"facility": facility, "contracts": contracts, "in_force": in_force, "org_unit": unit,
            "province": places.province_names(session).get(facility.province_2025, ""),
            "place": places.place_full_name(session, facility.place_id),
            "can_manage": principal.has(Permission.facilities_manage), "errors": errors or {},
            "form": form or {"valid_from": day.replace(month=1, day=1).isoformat(),
                             "valid_until": day.replace(month=12, day=31).isoformat(),
                             "last_day": day.isoformat()},
            "notice": FACILITY_NOTICES.get(notice), "today": day, "level_names": LEVEL_NAMES,
            "specialty_name": facilities.specialty_name,
            "classifications": history, "classification": facilities.in_force_on(history, day),
            "level_2025_names": LEVEL_2025_NAMES, "levels_2025": LEVELS_2025, "score_band": score_band,
            "classification_form": classification_form or {"classified_from": day.isoformat()},
            "classification_open": bool(set(errors or {}) & set(CLASSIFICATION_FIELDS))}


@router.get("/cards/facilities/{code}")
def facility_page(request: Request, session: DbSession, principal: Reader, code: str,
                  done: _Filter = "") -> Response:
    facility = _facility_in_scope(session, principal, code)
    return render(request, "cards/facility.html", _facility_context(session, principal, facility, notice=done))


@router.post("/cards/facilities/{code}/contracts")
def add_contract(request: Request, session: DbSession, principal: FacilityManager, code: str,
                 contract_number: Annotated[str, Form(max_length=80)] = "",
                 valid_from: Annotated[str, Form(max_length=20)] = "",
                 valid_until: Annotated[str, Form(max_length=20)] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    """Record an HI contract with the facility (dates inclusive)."""
    facility = _facility_in_scope(session, principal, code)  # 403 / 404 first
    form = {"contract_number": contract_number, "valid_from": valid_from, "valid_until": valid_until}

    def sign() -> None:
        start = _form_day(valid_from, "valid_from")
        end = _form_day(valid_until, "valid_until")
        if start is None:
            raise ValidationFailed("valid_from", "A value is required.")
        if end is None:
            raise ValidationFailed("valid_until", "A value is required.")
        unit = registry.org_unit_for_new_record(session, principal, None) \
            if principal.org_unit_level != "national" else session.get(OrgUnit, facility.org_unit_id)
        facilities.sign_contract(session, facility=facility, contract_number=contract_number, valid_from=start,
                                 valid_until=end, org_unit=unit)

    return submit(
        request, session, sign, csrf_token=csrf_token, refusals=(ValidationFailed, Conflict),
        field="contract_number", fields=form, htmx=False, done=_facility_address(facility, "signed"),
        form=lambda errors: render(request, "cards/facility.html", _facility_context(
            session, principal, facility, errors=errors, form={**form, "last_day": today().isoformat()})))


@router.post("/cards/facilities/{code}/contracts/{contract_id}/termination")
def end_contract(request: Request, session: DbSession, principal: FacilityManager, code: str,
                 contract_id: RecordId, last_day: Annotated[str, Form(max_length=20)] = "",
                 reason: Annotated[str, Form(max_length=600)] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    """End a contract early: its last day in force, and why (kept in the audit trail)."""
    facility = _facility_in_scope(session, principal, code)  # 403 / 404 first
    contract = facilities.get_contract(session, facility, contract_id)

    def terminate() -> None:
        day = _form_day(last_day, "last_day")
        if day is None:
            raise ValidationFailed("last_day", "A value is required.")
        facilities.terminate_contract(session, contract, last_day=day, reason=reason)

    return submit(
        request, session, terminate, csrf_token=csrf_token, refusals=(ValidationFailed, Conflict), field="last_day",
        fields=("last_day", "reason"), htmx=False, done=_facility_address(facility, "terminated"),
        form=lambda errors: render(request, "cards/facility.html", _facility_context(
            session, principal, facility, errors={f"{contract_id}.{k}": v for k, v in errors.items()},
            form={"last_day": last_day, "reason": reason, "contract_id": contract_id})))


@router.post("/cards/facilities/{code}/classifications")
def add_classification(request: Request, session: DbSession, principal: FacilityManager, code: str,
                       classified_from: Annotated[str, Form(max_length=20)] = "",
                       level_2025: Annotated[str, Form(max_length=20)] = "",
                       score: Annotated[str, Form(max_length=20)] = "",
                       provisional: Annotated[str, Form(max_length=5)] = "",
                       health_station: Annotated[str, Form(max_length=5)] = "",
                       decision: Annotated[str, Form(max_length=200)] = "",
                       csrf_token: Annotated[str, Form()] = "") -> Response:
    """Add the facility's classification into the levels of 2025 from a day (a reclassification is a new one)."""
    facility = _facility_in_scope(session, principal, code)  # 403 / 404 first
    form = {"classified_from": classified_from, "level_2025": level_2025, "score": score,
            "provisional": provisional, "health_station": health_station, "decision": decision}

    def classify() -> None:
        day = _form_day(classified_from, "classified_from")
        if day is None:
            raise ValidationFailed("classified_from", "A value is required.")
        if not level_2025:
            raise ValidationFailed("level_2025", "A value is required.")
        points = None
        if score.strip():
            try:
                points = int(score.strip())
            except ValueError:
                raise ValidationFailed("score", "The classification score is a whole number of points from 0 to "
                                                "{max}.", max=facilities.MAX_SCORE) from None
        facilities.classify_facility(session, facility, valid_from=day, level_2025=level_2025, score=points,
                                     provisional=bool(provisional), health_station=bool(health_station),
                                     decision=decision)

    return submit(
        request, session, classify, csrf_token=csrf_token, refusals=(ValidationFailed, Conflict),
        field="classified_from", aliases={"valid_from": "classified_from"}, fields=CLASSIFICATION_FIELDS,
        htmx=False, done=_facility_address(facility, "classified"),
        form=lambda errors: render(request, "cards/facility.html", _facility_context(
            session, principal, facility, errors=errors, classification_form=form)))


# --- lookup alerts ---------------------------------------------------------------------------------------

ALERT_COLUMNS = (
    Column("raised_at", N_("Raised"), LookupAlert.raised_at),
    Column("kind", N_("Kind"), LookupAlert.kind),
    Column("facility", N_("Medical facility"), LookupAlert.facility_code),
    Column("looker", N_("Looked up by"), LookupAlert.looker),
    Column("count", N_("Lookups in the hour"), LookupAlert.count, numeric=True),
)


@router.get("/cards/lookup-alerts")
def alerts_page(request: Request, session: DbSession, principal: Reporter, kind: _Filter = "", since: _Filter = "",
                until: _Filter = "", facility: _Filter = "") -> Response:
    """The alerts raised on card lookups in the caller's province (all for national staff), newest first."""
    errors: dict[str, str] = {}
    filters = {"kind": kind if kind in ALERT_KINDS else "", "since": since, "until": until,
               "facility": facility.strip()}
    first = last = None
    facility_code = None
    for name, text in (("since", since), ("until", until)):
        try:
            value = _form_day(text, name)
        except ValidationFailed as error:
            errors[name] = error.translated(gettext)
            value = None
        if name == "since":
            first = value
        else:
            last = value
    if filters["facility"]:
        try:
            facility_code = facilities.find_facility(session, filters["facility"], field="facility").code
        except ValidationFailed as error:
            errors["facility"] = error.translated(gettext)
            facility_code = "-"  # matches nothing
    listing = read_listing(request, ALERT_COLUMNS, default_sort="raised_at", default_descending=True,
                           filters=filters)
    stmt = service.lookup_alerts_query(session, principal, since=first, until=last, kind=filters["kind"] or None,
                                       facility_code=facility_code)
    alerts = fetch_page(session, stmt, listing, LookupAlert.id.desc(), scalars=True)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_({a.user_id for a in alerts
                                                                              if a.user_id})))}
    names = facility_names(session, [a.facility_code for a in alerts])
    return render(request, "cards/alerts.html", {
        "listing": listing, "alerts": alerts, "users": users, "facility_names": names, "kinds": ALERT_KINDS,
        "errors": errors}, status_code=422 if errors else 200)
