"""Web pages of the registry: people (search and person page), employers (list and employer page) and imports.

Thin routes over :mod:`ansinh.registry.service` (scoping and the audit of reads happen there) and, for the
coverage shown on a person's or an employer's page, :mod:`ansinh.participation`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ansinh.bounds import RecordId, RecordRef
from ansinh import clock, i18n
from ansinh.audit.service import AuditFilter, audit_scope, list_events, record_event
from ansinh.auth import service as auth_service
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.models import OrgLevel, OrgUnit, Role
from ansinh.auth.permissions import permission_denied, Permission, Principal, Scope, org_scope
from ansinh.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.participation import service as participation
from ansinh.participation.groups import HI_GROUPS
from ansinh.registry import places, service
from ansinh.registry.models import Sex, Employer, Household, Ownership, Person
from ansinh.registry.identifiers import search_key
from ansinh.web.labels import label, register_labels
from ansinh.web.lists import Column, fetch_page, read_listing, sorted_by, stream_rows, xlsx_response
from ansinh.web.navigation import DashboardTile, NavItem, register_nav_item, register_tile
from ansinh.web.forms import field_errors, submit
from ansinh.web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
SCHEME_ORDER = ("si_compulsory", "si_voluntary", "hi", "ui")
IMPORT_KINDS = ("people", "households", "employers", "declarations", "population")
REPORT_DIR_NAME = "import-reports"
REPORT_MAX_AGE_SECONDS = 24 * 3600

register_nav_item(NavItem("people", N_("People"), "/registry/people", Permission.registry_read, order=100,
                          agency_only=True, group="registry"))
# Officers and employer users (their own employer only) both reach the employers pages.
register_nav_item(NavItem("employers", N_("Employers"), "/registry/employers", Permission.declarations_submit,
                          order=110, group="registry"))
register_nav_item(NavItem("my_record", N_("My record"), "/me/record", Permission.dashboard_view, order=5,
                          roles=frozenset({Role.citizen})))
register_nav_item(NavItem("imports", N_("Imports"), "/registry/imports", Permission.imports_run, order=130,
                          agency_only=True, group="registry"))

register_labels({
    "male": N_("Male"), "female": N_("Female"),
    "si_compulsory": N_("Compulsory social insurance"), "si_voluntary": N_("Voluntary social insurance"),
    "hi": N_("Health insurance"), "ui": N_("Unemployment insurance"),
    "join": N_("Join"), "leave": N_("Leave"), "salary_change": N_("Salary change"),
    "self": N_("The person"), "household": N_("Household"), "state_budget": N_("State budget"),
    "other_budget": N_("Other budget"),
    "fdi": N_("Foreign-invested"), "cooperative": N_("Cooperative"), "household_business": N_("Household business"),
    "public_service": N_("Public service unit"), "association": N_("Association"), "other": N_("Other"),
    "applied": N_("Applied"), "rejected": N_("Rejected"), "unchanged": N_("Unchanged"),
    "people": N_("People"), "households": N_("Households"), "employers": N_("Employers"),
    "declarations": N_("Declarations"), "population": N_("Population extract"),
    "merge": N_("Merged"), "export": N_("Exported"), "list": N_("Listed"),
    "person": N_("Person"), "coverage_period": N_("Coverage period"), "declaration": N_("Declaration"),
    "hi_card": N_("Health insurance card"),
})
#: The notices of a record page after a form was saved (``?notice=...``).
NOTICES = {"created": N_("The record has been registered."), "updated": N_("The changes have been saved."),
           "merged": N_("The duplicate has been merged into this record."),
           "household": N_("The household has been registered.")}
#: Ownership and sector share the codes "state" and "private": their labels are chosen here, not globally.
OWNERSHIP_LABELS = {"state": N_("State-owned"), "private": N_("Private")}
SECTOR_LABELS = {"state": N_("State-set pay scale"), "private": N_("Pay set by the employer")}


def _count_people(session: Session, principal: Principal) -> int:
    return session.scalar(select(func.count(Person.id)).where(org_scope(principal, Person.org_unit_id))) or 0


def _count_employers(session: Session, principal: Principal) -> int:
    return session.scalar(select(func.count(Employer.id)).where(org_scope(principal, Employer.org_unit_id))) or 0


register_tile(DashboardTile("people", N_("People registered in your scope"), _count_people, Permission.registry_read,
                            "/registry/people", order=100))
register_tile(DashboardTile("employers", N_("Employers in your scope"), _count_employers, Permission.registry_read,
                            "/registry/employers", order=110))


def _pages(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, (total + size - 1) // size)


def _ownership_label(value) -> str:
    key = getattr(value, "value", value)
    from ansinh.web.labels import label

    return gettext(OWNERSHIP_LABELS[key]) if key in OWNERSHIP_LABELS else label(key)




# --- people ----------------------------------------------------------------------------------------------

def _year(text: str, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) != 4:
        raise ValidationFailed(field, "{value} is not a plausible year of birth.", value=text)
    return int(text)


def _ref(text: str, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise ValidationFailed(field, "{value} is not a record id.", value=text)
    return service.check_ref(int(text), field)


def _province_order(names: dict[str, str], column):
    """Sort by the province's name, not its code."""
    ranks = {code: rank for rank, code in enumerate(sorted(names, key=lambda c: search_key(names[c])))}
    return case(ranks, value=column, else_=len(ranks)) if ranks else column


def _people_columns(names: dict[str, str]) -> tuple[Column, ...]:
    return (
        Column("name", N_("Full name"), Person.name_search),
        Column("citizen_id", N_("Citizen ID"), Person.citizen_id),
        Column("si_number", N_("SI number"), Person.si_number),
        Column("born", N_("Date of birth"), Person.date_of_birth),
        Column("sex", N_("Sex")),
        Column("province", N_("Province"), _province_order(names, Person.province_2025)),
        Column("commune", N_("Commune")),
    )


PEOPLE_FILTERS = ("q", "province", "commune", "sex", "born_from", "born_to", "household", "scheme")


def _people_filter(params: dict[str, str]) -> service.PeopleFilter:
    return service.PeopleFilter(
        q=params["q"].strip(), province=params["province"], commune_id=_ref(params["commune"], "commune"),
        sex=params["sex"], born_from=_year(params["born_from"], "born_from"),
        born_to=_year(params["born_to"], "born_to"), household=params["household"], scheme=params["scheme"],
        on=clock.today())


def _filter_params(request: Request, names: Sequence[str], limit: int = 120) -> dict[str, str]:
    return {name: (request.query_params.get(name) or "")[:limit] for name in names}


@router.get("/registry/people")
def people_page(request: Request, session: DbSession,
                principal: Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]
                ) -> Response:
    """Everyone registered in the caller's scope, filtered (place, sex, years of birth, household, scheme covered
    today), sorted and paged; the people shown are audited as one event."""
    params = _filter_params(request, PEOPLE_FILTERS)
    provinces = service.provinces_in_scope(session, principal)
    if params["province"] and params["province"] not in provinces:
        params["province"] = ""
    listing = read_listing(request, _people_columns(places.province_names(session)), default_sort="name",
                           filters=params)
    listing.selective = bool(params["q"].strip())
    errors: dict[str, str] = {}
    rows: list = []
    try:
        data = _people_filter(params)
        rows = fetch_page(session, service.people_query(principal, data), listing, Person.id)
    except ValidationFailed as exc:
        errors[exc.field or "q"] = exc.translated(gettext)
    service.record_people_listed(session, principal, rows, what="search", total=listing.total,
                                 query={**params, "sort": listing.sort, "page": listing.page})
    commune_province = params["province"] or (next(iter(provinces)) if len(provinces) == 1 else "")
    return render(request, "registry/people.html", {
        "rows": rows, "listing": listing, "f": params, "errors": errors, "provinces": provinces,
        "province_names": places.province_names(session), "schemes": SCHEME_ORDER,
        "communes": service.communes_of(session, commune_province),
        "place_names": service.place_names(session, (row.residence_place_id for row in rows)),
        "can_manage": principal.has(Permission.registry_manage),
    }, status_code=422 if errors else 200)


@router.get("/registry/people/export.xlsx")
def export_people(request: Request, session: DbSession,
                  principal: Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]
                  ) -> Response:
    """Exactly the rows of the list with these filters and this sort, streamed to Excel; one audit event."""
    params = _filter_params(request, PEOPLE_FILTERS)
    names = places.province_names(session)
    listing = read_listing(request, _people_columns(names), default_sort="name", filters=params)
    # Every row is read: sort the rows found rather than walk the sort's index (a random read per row).
    listing.selective = True
    stmt = sorted_by(service.people_query(principal, _people_filter(params)), listing, Person.id)
    communes = service.place_names(session)
    written = [0]
    sexes = {sex: label(sex) for sex in Sex}
    yes, no = gettext("yes"), gettext("no")

    def rows():
        for row in stream_rows(session, stmt):
            written[0] += 1
            yield (row.full_name, row.citizen_id, row.si_number, row.date_of_birth, sexes.get(row.sex, row.sex),
                   names.get(row.province_2025 or "", row.province_2025), communes.get(row.residence_place_id),
                   yes if row.household_id else no)

    headers = [gettext(h) for h in (N_("Full name"), N_("Citizen ID"), N_("SI number"), N_("Date of birth"),
                                    N_("Sex"), N_("Province"), N_("Commune"), N_("Household"))]
    response = xlsx_response(f"people-{clock.today().isoformat()}.xlsx", headers, rows(),
                             sheet_name=gettext("People"))
    service.record_people_exported(session, principal, what="people_export", count=written[0],
                                   query={**params, "sort": listing.sort,
                                          "dir": "desc" if listing.descending else "asc"})
    return response


# --- creating and editing people and employers (officers with registry_manage) ---------------------------

Manager = Annotated[Principal, Depends(require(Permission.registry_manage, scope=Scope.org_subtree))]
PERSON_FORM_FIELDS = ("full_name", "date_of_birth", "sex", "citizen_id", "ethnicity", "phone", "province",
                      "residence_place_id", "address", "org_unit_code")
EMPLOYER_FORM_FIELDS = ("tax_code", "name", "ownership", "region", "sector", "province", "place_id", "address",
                        "e_transactions", "contact_name", "phone", "email", "org_unit_code")
#: A conflict (an identifier already registered) is shown beside the identifier.
CONFLICT_FIELD = {"person": "citizen_id", "employer": "tax_code", "merge": "duplicate"}


async def _posted(request: Request) -> dict[str, str]:
    """The fields of a posted form (text only, each at most 300 characters); the route itself runs on the thread
    pool, never on the event loop."""
    form = await request.form()
    return {key: value[:300] for key, value in form.items() if isinstance(value, str)}


Posted = Annotated[dict, Depends(_posted)]


def _form_values(form: dict, fields: Sequence[str]) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in fields}


def _form_date(text: str, field: str):
    from datetime import date

    text = (text or "").strip()
    if not text:
        raise ValidationFailed(field, "A value is required.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        from ansinh.web.lists import parse_filter_date

        return parse_filter_date(text, field)


def _place_province(session: Session, place_id: int | None) -> str:
    if place_id is None:
        return ""
    return places.provinces_of(session, place_id)[1] or ""


def _units_for_new_records(session: Session, principal: Principal) -> list[OrgUnit]:
    return [u for u in auth_service.list_org_units(session, principal) if u.level != OrgLevel.national]


def _form_context(session: Session, principal: Principal, values: dict[str, str], place_field: str,
                  errors: dict[str, str], *, creating: bool) -> dict:
    provinces = service.provinces_in_scope(session, principal)
    province = values.get("province") or ""
    if province not in provinces:
        province = next(iter(provinces)) if len(provinces) == 1 else ""
    values["province"] = province
    communes = service.communes_of(session, province)
    current = _ref(values.get(place_field, ""), place_field) if values.get(place_field, "").isdigit() else None
    extra = None
    if current is not None and all(c.id != current for c in communes):
        extra = (current, places.place_full_name(session, current))  # a place of the old structure, kept as is
    return {"v": values, "errors": errors, "provinces": provinces, "communes": communes, "extra_place": extra,
            "units": _units_for_new_records(session, principal) if creating else [], "creating": creating}


def _person_values(session: Session, person: Person | None, principal: Principal) -> dict[str, str]:
    if person is None:
        own = session.get(OrgUnit, principal.org_unit_id)
        return {**{f: "" for f in PERSON_FORM_FIELDS},
                "org_unit_code": own.code if own.level != OrgLevel.national else ""}
    values = {f: "" if getattr(person, f, None) is None else str(getattr(person, f).value
                                                                 if hasattr(getattr(person, f), "value")
                                                                 else getattr(person, f))
              for f in PERSON_FORM_FIELDS if f not in ("province", "org_unit_code")}
    values["date_of_birth"] = person.date_of_birth.isoformat()
    values["province"] = _place_province(session, person.residence_place_id) or (person.province_2025 or "")
    values["org_unit_code"] = ""
    return values


def _person_form(request: Request, session: Session, principal: Principal, values: dict[str, str],
                 errors: dict[str, str], person: Person | None = None, status_code: int = 200) -> Response:
    return render(request, "registry/person_form.html", {
        **_form_context(session, principal, values, "residence_place_id", errors, creating=person is None),
        "person": person}, status_code=status_code)


def _person_data(values: dict[str, str]) -> service.PersonData:
    return service.PersonData(
        full_name=values["full_name"], date_of_birth=_form_date(values["date_of_birth"], "date_of_birth"),
        sex=values["sex"], citizen_id=values["citizen_id"] or None, ethnicity=values["ethnicity"] or None,
        residence_place_id=_ref(values["residence_place_id"], "residence_place_id"),
        address=values["address"] or None, phone=values["phone"] or None)


def _field_errors(exc: DomainError, default: str) -> dict[str, str]:
    return field_errors(exc, default)


def _new_record_unit(session: Session, principal: Principal, values: dict[str, str]) -> OrgUnit:
    """The office a new record is registered under; an office the caller may not choose is refused beside its
    field."""
    try:
        return service.org_unit_for_new_record(session, principal, values["org_unit_code"] or None)
    except PermissionDenied as exc:
        raise ValidationFailed("org_unit_code", exc.template, **exc.params) from exc


def _save_record(request: Request, session: Session, posted: dict, values: dict[str, str], path: str,
                 save: Callable[[dict[str, str]], Person | Employer],
                 form_page: Callable[[dict[str, str], dict[str, str]], Response], *, field: str,
                 notice: str) -> Response:
    """Create or change a person or an employer from the posted ``values``; then its page with the notice, or the
    form again with the refusal beside its field (``field`` by default: the identifier a conflict is about)."""
    return submit(request, session, lambda: save(values), form=lambda errors: form_page(values, errors),
                  done=lambda record: f"{path}/{record.id}?notice={notice}", csrf_token=posted.get("csrf_token"),
                  field=field)


@router.get("/registry/people/new")
def new_person_page(request: Request, session: DbSession, principal: Manager) -> Response:
    return _person_form(request, session, principal, _person_values(session, None, principal), {})


@router.post("/registry/people/new")
def create_person_page(request: Request, session: DbSession, principal: Manager, form: Posted) -> Response:
    return _save_record(request, session, form, _form_values(form, PERSON_FORM_FIELDS), "/registry/people",
                        lambda values: service.create_person(session, _person_data(values),
                                                             _new_record_unit(session, principal, values)),
                        lambda values, errors: _person_form(request, session, principal, values, errors),
                        field=CONFLICT_FIELD["person"], notice="created")


@router.get("/registry/people/{person_id}/edit")
def edit_person_page(person_id: RecordId, request: Request, session: DbSession, principal: Manager) -> Response:
    person = service.get_person(session, principal, person_id)
    return _person_form(request, session, principal, _person_values(session, person, principal), {}, person)


@router.post("/registry/people/{person_id}/edit")
def update_person_page(person_id: RecordId, request: Request, session: DbSession, principal: Manager,
                       form: Posted) -> Response:
    person = service.get_person(session, principal, person_id)  # 403 / 404 before anything is read from the form

    def update(values: dict[str, str]) -> Person:
        data = _person_data(values)
        service.update_person(session, principal, person.id, {f: getattr(data, f) for f in service.PERSON_FIELDS})
        return person

    return _save_record(request, session, form, _form_values(form, PERSON_FORM_FIELDS), "/registry/people", update,
                        lambda values, errors: _person_form(request, session, principal, values, errors,
                                                            service.get_person(session, principal, person_id)),
                        field=CONFLICT_FIELD["person"], notice="updated")


@router.get("/registry/communes")
def commune_options(request: Request, session: DbSession,
                    _: Annotated[Principal, Depends(require(Permission.registry_manage, scope=Scope.reference))],
                    province: Annotated[str, Query(max_length=8)] = "") -> Response:
    """The ``<option>``s of a province's communes (the place selects of the forms reload them with htmx)."""
    return render(request, "registry/commune_options.html", {"communes": service.communes_of(session, province),
                                                             "selected": ""})


# --- merging duplicates ----------------------------------------------------------------------------------

def _merge_candidate(session: Session, principal: Principal, text: str) -> Person:
    value = re.sub(r"\s", "", text or "")
    if value.isdigit() and len(value) == 12:
        found = service.find_person(session, principal, citizen_id=value)
    elif value.isdigit() and len(value) == 10:
        found = service.find_person(session, principal, si_number=value)
    else:
        raise ValidationFailed("duplicate", "Give the duplicate's citizen ID (12 digits) or SI number (10 digits).")
    if found is None:
        raise ValidationFailed("duplicate", "Nobody in your scope has this citizen ID or SI number.")
    return found


def _merge_page(request: Request, session: Session, principal: Principal, person: Person, *, values: dict,
                errors: dict, candidate: Person | None = None, status_code: int = 200) -> Response:
    return render(request, "registry/merge.html", {
        "person": person, "v": values, "errors": errors, "candidate": candidate,
        "province_names": places.province_names(session),
        "residence": places.place_full_name(session, person.residence_place_id),
        "candidate_residence": places.place_full_name(session, candidate.residence_place_id) if candidate else None,
    }, status_code=status_code)


@router.get("/registry/people/{person_id}/merge")
def merge_person_page(person_id: RecordId, request: Request, session: DbSession, principal: Manager,
                      duplicate: Annotated[str, Query(max_length=20)] = "") -> Response:
    """Pick the duplicate (by citizen ID or SI number); both records are shown side by side before confirming."""
    person = service.get_person(session, principal, person_id)
    values = {"duplicate": duplicate, "reason": ""}
    if not duplicate.strip():
        return _merge_page(request, session, principal, person, values=values, errors={})
    try:
        candidate = _merge_candidate(session, principal, duplicate)
        if candidate.id == person.id:
            raise ValidationFailed("duplicate", "A record cannot be merged into itself.")
    except ValidationFailed as exc:
        return _merge_page(request, session, principal, person, values=values, errors=_field_errors(exc, "duplicate"),
                           status_code=422)
    return _merge_page(request, session, principal, person, values=values, errors={}, candidate=candidate)


@router.post("/registry/people/{person_id}/merge")
def merge_person(person_id: RecordId, request: Request, session: DbSession, principal: Manager,
                 duplicate_id: Annotated[str, Form(max_length=20)] = "",
                 reason: Annotated[str, Form(max_length=300)] = "",
                 csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    person = service.get_person(session, principal, person_id)  # 403 / 404 first

    def merge() -> None:
        duplicate = _ref(duplicate_id, "duplicate")
        if duplicate is None:
            raise ValidationFailed("duplicate", "Choose the duplicate record.")
        service.merge_people(session, principal, person.id, duplicate, reason)

    def refused(errors: dict[str, str]) -> Response:
        candidate = None
        if duplicate_id.isdigit():
            try:
                candidate = service.get_person(session, principal, int(duplicate_id))
            except (NotFound, PermissionDenied):
                candidate = None
        values = {"duplicate": candidate.si_number if candidate else "", "reason": reason}
        return _merge_page(request, session, principal, service.get_person(session, principal, person_id),
                           values=values, candidate=candidate, errors=errors)

    return submit(request, session, merge, form=refused, done=f"/registry/people/{person.id}?notice=merged",
                  csrf_token=csrf_token, field=CONFLICT_FIELD["merge"], refusals=(ValidationFailed, Conflict))


# --- households: a person as head, with the members given by citizen ID or SI number ------------------------

def _household_members(session: Session, principal: Principal, text: str) -> list[Person]:
    """The members typed one per line (citizen ID or SI number), each in the caller's scope; the first line that is
    not is named in the error."""
    members: list[Person] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        value = re.sub(r"\s", "", line)
        if not value:
            continue
        if value.isdigit() and len(value) == 12:
            found = service.find_person(session, principal, citizen_id=value)
        elif value.isdigit() and len(value) == 10:
            found = service.find_person(session, principal, si_number=value)
        else:
            raise ValidationFailed("members", "Line {line}: {value} is neither a citizen ID (12 digits) nor an SI "
                                   "number (10 digits).", line=number, value=value)
        if found is None:
            raise ValidationFailed("members", "Line {line}: nobody in your scope has the number {value}.",
                                   line=number, value=value)
        members.append(found)
    return members


def _household_page(request: Request, session: Session, person: Person, *, values: dict, errors: dict,
                    status_code: int = 200) -> Response:
    return render(request, "registry/household_form.html", {
        "person": person, "v": values, "errors": errors,
        "residence": places.place_full_name(session, person.residence_place_id)}, status_code=status_code)


@router.get("/registry/people/{person_id}/household")
def new_household_page(person_id: RecordId, request: Request, session: DbSession, principal: Manager) -> Response:
    """Register a household with this person as its head."""
    person = service.get_person(session, principal, person_id)
    return _household_page(request, session, person, values={"members": "", "address": person.address or ""},
                           errors={})


@router.post("/registry/people/{person_id}/household")
def create_household_page(person_id: RecordId, request: Request, session: DbSession, principal: Manager,
                          members: Annotated[str, Form(max_length=2_000)] = "",
                          address: Annotated[str, Form(max_length=300)] = "",
                          csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    head = service.get_person(session, principal, person_id)  # 403 / 404 first
    values = {"members": members, "address": address}

    def create() -> None:
        people = _household_members(session, principal, members)
        unit = session.get(OrgUnit, head.org_unit_id)
        household = service.create_household(session, head=head, members=people, org_unit=unit,
                                             address=address or None, residence_place_id=head.residence_place_id)
        service.record_people_listed(session, principal, service.household_members(session, household.id),
                                     what="household_members", query={"household_id": household.id})

    return submit(
        request, session, create, csrf_token=csrf_token, field="members", refusals=(ValidationFailed, Conflict),
        conflict_status=409, done=f"/registry/people/{head.id}?notice=household",
        form=lambda errors: _household_page(request, session, service.get_person(session, principal, person_id),
                                            values=values, errors=errors))


def _person_audit_trail(session: Session, principal: Principal, person: Person, limit: int = 50) -> list:
    """The events about this person: on the person record itself, or naming them (person_ref)."""
    scope = audit_scope(principal)
    by_record, _ = list_events(session, AuditFilter(entity_type="person", entity_id=str(person.id)), scope=scope,
                               limit=limit)
    events = {e.id: e for e in by_record}
    for ref in {person.citizen_id, person.si_number} - {None}:
        naming, _ = list_events(session, AuditFilter(person_ref=ref), scope=scope, limit=limit)
        events.update({e.id: e for e in naming})
    return sorted(events.values(), key=lambda e: e.id, reverse=True)[:limit]


@router.get("/registry/people/{person_id}")
def person_page(person_id: RecordId, request: Request, session: DbSession,
                principal: Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))],
                notice: Annotated[str, Query(max_length=20)] = "") -> Response:
    person = service.get_person(session, principal, person_id)  # 403 outside the scope; the read is audited
    context = _person_context(session, principal, person)
    can_audit = principal.has(Permission.audit_read)
    return render(request, "registry/person.html", {
        **context,
        "can_audit": can_audit,
        "audit_events": _person_audit_trail(session, principal, person) if can_audit else [],
        "audit_ref": person.citizen_id or person.si_number,
        "notice": gettext(NOTICES[notice]) if notice in NOTICES else "",
        "merged_into": session.get(Person, person.merged_into_id) if person.merged_into_id else None,
        "can_manage": principal.has(Permission.registry_manage),
    })


def _person_context(session: Session, principal: Principal, person: Person) -> dict:
    """What a person's page shows: identity, household, card and coverage history by scheme."""
    household = members = head = None
    if person.household_id is not None:
        household = session.get(Household, person.household_id)
        members = service.household_members(session, person.household_id)
        head = next((m for m in members if m.id == household.head_person_id), None)
        service.record_people_listed(session, principal, members, what="household_members",
                                     query={"household_id": person.household_id, "person_id": person.id})
    periods = participation.coverage_history(session, person.id, include_superseded=True)
    employer_ids = {p.employer_id for p in periods if p.employer_id}
    employers = {e.id: e for e in session.scalars(select(Employer).where(Employer.id.in_(employer_ids)))} \
        if employer_ids else {}
    by_scheme: dict[str, list] = {scheme: [] for scheme in SCHEME_ORDER}
    for period in periods:
        by_scheme.setdefault(getattr(period.scheme, "value", period.scheme), []).append(period)
    by_scheme = {scheme: rows for scheme, rows in by_scheme.items() if rows}
    today = clock.today()
    current = {p.id for p in periods if p.superseded_at is None and p.valid_from <= today
               and (p.valid_to is None or p.valid_to > today)}
    from ansinh.cards.pages import person_card_context
    from ansinh.outreach.sponsors import sponsors_of_periods

    return {
        **person_card_context(session, person.id),
        "person": person, "household": household, "members": members or [], "head": head,
        "residence": places.place_full_name(session, person.residence_place_id),
        "org_unit": session.get(OrgUnit, person.org_unit_id),
        "by_scheme": by_scheme, "employers": employers, "current": current,
        "superseded_count": sum(1 for p in periods if p.superseded_at is not None),
        "hi_groups": HI_GROUPS,
        "sponsors": sponsors_of_periods(session, [p.id for p in periods if p.payer == "other_budget"]),
    }


# --- a citizen's own record ---------------------------------------------------------------------------------

@router.get("/me/record")  # the citizen's landing, /me, is the portal's (ansinh.portal.pages)
def my_record(request: Request, session: DbSession,
              principal: Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.own_person))]
              ) -> Response:
    """The signed-in citizen's own record (identity, household, card, coverage history), read-only: what the agency
    holds about them. Only the person whose citizen ID the account carries; the read is audited."""
    person = service.own_person(session, principal)
    return render(request, "registry/person.html", {**_person_context(session, principal, person), "self_view": True})


# --- the global search of the top bar ---------------------------------------------------------------------

SEARCH_LIMIT = 20


@router.get("/search")
def global_search(request: Request, session: DbSession,
                  principal: Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))],
                  q: str = Query("", max_length=120)) -> Response:
    """People by name, citizen ID or SI number and employers by name or tax code, in the caller's scope; one match
    of an identifier goes straight to its record."""
    text = q.strip()
    people, people_total, employers, employers_total = [], 0, [], 0
    if text:
        people, people_total = service.search_people(session, principal, text, limit=SEARCH_LIMIT)
        employers, employers_total = service.list_employers(session, principal, text, limit=SEARCH_LIMIT)
        identifier = text.replace("-", "").isdigit() and len(text.replace("-", "")) >= 10
        if identifier and people_total + employers_total == 1:
            target = f"/registry/people/{people[0].id}" if people else f"/registry/employers/{employers[0].id}"
            return RedirectResponse(target, status_code=303)
    return render(request, "registry/search.html", {
        "search_q": text, "people": people, "people_total": people_total, "employers": employers,
        "employers_total": employers_total, "provinces": places.province_names(session),
        "people_query": urlencode({"q": text}), "ownership_label": _ownership_label,
    })


# --- employers -------------------------------------------------------------------------------------------

def _employer_viewer(principal: Annotated[Principal, Depends(require(scope=(Scope.org_subtree, Scope.own_employer)))]) -> Principal:
    """Officers (registry_read) and employer users (declarations_submit; their own employer only)."""
    if not (principal.has(Permission.registry_read) or principal.has(Permission.declarations_submit)):
        raise permission_denied(Permission.registry_read)
    return principal


def _employer_columns(names: dict[str, str]) -> tuple[Column, ...]:
    return (
        Column("name", N_("Name"), Employer.name_search),
        Column("tax_code", N_("Tax code"), Employer.tax_code),
        Column("ownership", N_("Ownership")),
        Column("region", N_("Region")),
        Column("province", N_("Province"), _province_order(names, Employer.province_2025)),
        Column("electronic", N_("Electronic transactions")),
        Column("created", N_("Registered"), Employer.created_at),
    )


EMPLOYER_FILTERS = ("q", "province", "ownership", "region", "electronic")


def _employers_filter(params: dict[str, str]) -> service.EmployersFilter:
    return service.EmployersFilter(q=params["q"].strip(), province=params["province"], ownership=params["ownership"],
                                   region=params["region"], electronic=params["electronic"])


@router.get("/registry/employers")
def employers_page(request: Request, session: DbSession, principal: Annotated[Principal, Depends(_employer_viewer)]
                   ) -> Response:
    """The employers of the caller's scope (an employer user: their own, opened directly), filtered by province,
    ownership, region and electronic transactions, sorted and paged."""
    params = _filter_params(request, EMPLOYER_FILTERS, limit=200)
    provinces = service.provinces_in_scope(session, principal) if principal.is_agency_staff else {}
    if params["province"] and params["province"] not in provinces:
        params["province"] = ""
    names = places.province_names(session)
    listing = read_listing(request, _employer_columns(names), default_sort="name", filters=params)
    errors: dict[str, str] = {}
    rows: list = []
    try:
        rows = fetch_page(session, service.employers_query(principal, _employers_filter(params)), listing,
                          Employer.id)
    except ValidationFailed as exc:
        errors[exc.field or "q"] = exc.translated(gettext)
    if not principal.is_agency_staff and listing.total == 1 and not listing.filtered:
        return RedirectResponse(f"/registry/employers/{rows[0].id}", status_code=303)
    return render(request, "registry/employers.html", {
        "rows": rows, "listing": listing, "f": params, "errors": errors, "provinces": provinces,
        "province_names": names, "ownership_label": _ownership_label, "ownerships": [o.value for o in Ownership],
        "regions": service.REGIONS, "can_manage": principal.has(Permission.registry_manage),
    }, status_code=422 if errors else 200)


@router.get("/registry/employers/export.xlsx")
def export_employers(request: Request, session: DbSession, principal: Annotated[Principal, Depends(_employer_viewer)]
                     ) -> Response:
    """Exactly the rows of the list with these filters and this sort, streamed to Excel."""
    params = _filter_params(request, EMPLOYER_FILTERS, limit=200)
    names = places.province_names(session)
    listing = read_listing(request, _employer_columns(names), default_sort="name", filters=params)
    stmt = sorted_by(service.employers_query(principal, _employers_filter(params)), listing, Employer.id)
    written = [0]

    def rows():
        for row in stream_rows(session, stmt):
            written[0] += 1
            yield (row.name, row.tax_code, _ownership_label(row.ownership), row.region,
                   names.get(row.province_2025 or "", row.province_2025), row.commune,
                   gettext("yes") if row.e_transactions else gettext("no"), row.created_at)

    headers = [gettext(h) for h in (N_("Name"), N_("Tax code"), N_("Ownership"), N_("Region"), N_("Province"),
                                    N_("Commune"), N_("Electronic transactions"), N_("Registered"))]
    response = xlsx_response(f"employers-{clock.today().isoformat()}.xlsx", headers, rows(),
                             sheet_name=gettext("Employers"))
    record_event(session, "export", "employer", None, org_unit_id=principal.org_unit_id,
                 details={"what": "employers_export", "count": written[0],
                          "query": {k: v for k, v in {**params, "sort": listing.sort}.items() if v}})
    return response


def _employer_values(session: Session, employer: Employer | None, principal: Principal) -> dict[str, str]:
    if employer is None:
        own = session.get(OrgUnit, principal.org_unit_id)
        return {**{f: "" for f in EMPLOYER_FORM_FIELDS}, "sector": "private",
                "org_unit_code": own.code if own.level != OrgLevel.national else ""}
    values = {}
    for field in EMPLOYER_FORM_FIELDS:
        value = getattr(employer, field, None)
        values[field] = "" if value is None else str(getattr(value, "value", value))
    values["e_transactions"] = "on" if employer.e_transactions else ""
    values["province"] = _place_province(session, employer.place_id) or (employer.province_2025 or "")
    values["org_unit_code"] = ""
    return values


def _employer_form(request: Request, session: Session, principal: Principal, values: dict[str, str],
                   errors: dict[str, str], employer: Employer | None = None, status_code: int = 200) -> Response:
    return render(request, "registry/employer_form.html", {
        **_form_context(session, principal, values, "place_id", errors, creating=employer is None),
        "employer": employer, "ownerships": [o.value for o in Ownership], "ownership_label": _ownership_label,
        "regions": service.REGIONS, "sectors": service.SECTORS,
        "sector_label": lambda key: gettext(SECTOR_LABELS.get(key, key))}, status_code=status_code)


def _employer_data(values: dict[str, str]) -> service.EmployerData:
    return service.EmployerData(
        tax_code=values["tax_code"], name=values["name"], ownership=values["ownership"], region=values["region"],
        sector=values["sector"] or "private", place_id=_ref(values["place_id"], "place_id"),
        address=values["address"] or None, e_transactions=values["e_transactions"] in ("on", "yes", "true", "1"),
        contact_name=values["contact_name"] or None, phone=values["phone"] or None, email=values["email"] or None)


@router.get("/registry/employers/new")
def new_employer_page(request: Request, session: DbSession, principal: Manager) -> Response:
    return _employer_form(request, session, principal, _employer_values(session, None, principal), {})


@router.post("/registry/employers/new")
def create_employer_page(request: Request, session: DbSession, principal: Manager, form: Posted) -> Response:
    return _save_record(request, session, form, _form_values(form, EMPLOYER_FORM_FIELDS), "/registry/employers",
                        lambda values: service.create_employer(session, _employer_data(values),
                                                               _new_record_unit(session, principal, values)),
                        lambda values, errors: _employer_form(request, session, principal, values, errors),
                        field=CONFLICT_FIELD["employer"], notice="created")


@router.get("/registry/employers/{employer_id}/edit")
def edit_employer_page(employer_id: RecordId, request: Request, session: DbSession, principal: Manager) -> Response:
    employer = service.get_employer(session, principal, employer_id)
    return _employer_form(request, session, principal, _employer_values(session, employer, principal), {}, employer)


@router.post("/registry/employers/{employer_id}/edit")
def update_employer_page(employer_id: RecordId, request: Request, session: DbSession, principal: Manager,
                         form: Posted) -> Response:
    employer = service.get_employer(session, principal, employer_id)  # 403 / 404 first

    def update(values: dict[str, str]) -> Employer:
        data = _employer_data(values)
        service.update_employer(session, principal, employer.id,
                                {f: getattr(data, f) for f in service.EMPLOYER_FIELDS})
        return employer

    return _save_record(request, session, form, {**_form_values(form, EMPLOYER_FORM_FIELDS),
                                                 "tax_code": employer.tax_code}, "/registry/employers", update,
                        lambda values, errors: _employer_form(request, session, principal, values, errors,
                                                              service.get_employer(session, principal, employer_id)),
                        field="name", notice="updated")


@router.get("/registry/employers/{employer_id}")
def employer_page(employer_id: RecordId, request: Request, session: DbSession,
                  principal: Annotated[Principal, Depends(_employer_viewer)],
                  page: int = Query(1, ge=1, le=100_000), declared: RecordRef | None = None,
                  notice: Annotated[str, Query(max_length=20)] = "") -> Response:
    from ansinh.participation.service import current_workers, declarations_with_people

    employer = service.get_employer(session, principal, employer_id)  # employer users: their own only
    today = clock.today()
    workers, total = current_workers(session, employer.id, today, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    declarations = declarations_with_people(session, employer.id, limit=20)
    shown = {w.person.id: w.person for w in workers} | {p.id: p for _, p in declarations if p is not None}
    service.record_people_listed(session, principal, shown.values(), what="employer_workers", total=total,
                                 query={"employer_id": employer.id, "page": page})
    notice = next((row for row in declarations if row[0].id == declared), None) if declared else None
    return render(request, "registry/employer.html", {
        "employer": employer, "workers": workers, "total": total, "page": page, "pages": _pages(total),
        "query": "", "declarations": declarations, "notice": notice, "today": today,
        "place": places.place_full_name(session, employer.place_id),
        "org_unit": session.get(OrgUnit, employer.org_unit_id),
        "ownership_label": _ownership_label(employer.ownership),
        "sector_label": gettext(SECTOR_LABELS.get(employer.sector, employer.sector)),
        "can_declare": principal.has(Permission.declarations_submit), "hi_groups": HI_GROUPS,
        "saved": gettext(NOTICES[notice]) if notice in NOTICES else "",
        "can_manage": principal.has(Permission.registry_manage) and principal.is_agency_staff,
    })


# --- imports ---------------------------------------------------------------------------------------------

def _report_dir(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir) / REPORT_DIR_NAME


def _keep_report(request: Request, principal: Principal, report) -> str:
    """Keep the report's files for a day so that the user can download them (only that user)."""
    folder = _report_dir(request)
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.iterdir():
        try:
            if now - old.stat().st_mtime > REPORT_MAX_AGE_SECONDS:
                old.unlink()
        except OSError:
            pass
    token = secrets.token_urlsafe(18)
    stem = f"{principal.user_id}-{token}"
    (folder / f"{stem}.xlsx").write_bytes(report.to_xlsx())
    as_json = report.to_json()
    (folder / f"{stem}.json").write_text(as_json if isinstance(as_json, str) else json.dumps(as_json, default=str))
    return token


def _import_units(session: Session, principal: Principal) -> list[OrgUnit]:
    return [u for u in auth_service.list_org_units(session, principal) if u.level != OrgLevel.national]


def _import_page(request: Request, session: DbSession, principal: Principal, *, kind: str = "people",
                 report=None, token: str | None = None, error: str | None = None, org_unit_code: str = "",
                 status_code: int = 200, fragment: bool = False) -> Response:
    try:
        from ansinh.registry import imports
    except ImportError:  # the import engine is not installed in this build
        columns = {}
    else:
        columns = getattr(imports, "COLUMNS", {})
    context = {
        "kinds": IMPORT_KINDS, "kind": kind, "columns": columns, "report": report, "token": token, "error": error,
        "units": _import_units(session, principal), "org_unit_code": org_unit_code,
        "own_unit_is_national": principal.org_unit_level == OrgLevel.national.value,
        "reason": (lambda e: e.reason_vi if i18n.get_locale() == "vi" else e.reason_en),
    }
    if fragment:  # htmx swaps only successful answers: the report, even of a rejected file, comes with 200
        return render(request, "registry/import_report.html", context)
    return render(request, "registry/imports.html", context, status_code=status_code)


@router.get("/registry/imports")
def imports_page(request: Request, session: DbSession,
                 principal: Annotated[Principal, Depends(require(Permission.imports_run, scope=Scope.org_subtree))],
                 kind: Annotated[str, Query(max_length=40)] = "people") -> Response:
    return _import_page(request, session, principal, kind=kind if kind in IMPORT_KINDS else "people")


@router.post("/registry/imports")
async def run_import(request: Request, session: DbSession,
                     principal: Annotated[Principal, Depends(require(Permission.imports_run, scope=Scope.org_subtree))],
                     kind: Annotated[str, Form(max_length=40)] = "", org_unit_code: Annotated[str, Form(max_length=40)] = "",
                     csrf_token: Annotated[str, Form(max_length=200)] = "",
                     file: Annotated[UploadFile | None, File()] = None) -> Response:
    """The import form: the file is received here, then imported on the import lane
    (:func:`ansinh.registry.import_api.in_import_lane`), never on the event loop."""
    from ansinh.registry.import_api import in_import_lane

    verify_csrf(request, csrf_token)
    file_name = file.filename if file is not None else None
    content = await file.read() if file is not None and file_name else None
    return await in_import_lane(request, lambda: _run_import(request, session, principal, kind, org_unit_code,
                                                             file_name, content))


def _run_import(request: Request, session: Session, principal: Principal, kind: str, org_unit_code: str,
                file_name: str | None, content: bytes | None) -> Response:
    from ansinh.db import allow_waiting
    from ansinh.registry import imports

    fragment = is_htmx(request)
    page = dict(kind=kind if kind in IMPORT_KINDS else "people", org_unit_code=org_unit_code, fragment=fragment)
    if kind not in IMPORT_KINDS:
        return _import_page(request, session, principal, error=gettext("Choose what the file contains."),
                            status_code=422, **page)
    if not file_name or content is None:
        return _import_page(request, session, principal, error=gettext("Choose a CSV or Excel (.xlsx) file."),
                            status_code=422, **page)
    allow_waiting(session)
    try:
        unit = service.org_unit_for_new_record(session, principal, org_unit_code or None)
        report = imports.import_file(session, kind=kind, content=content, file_name=file_name,
                                     principal_or_context=principal, org_unit=unit, today=clock.today())
    except DomainError as exc:
        session.rollback()
        return _import_page(request, session, principal, error=exc.translated(gettext), status_code=exc.status_code,
                            **page)
    token = _keep_report(request, principal, report) if report.errors else None
    answer = _import_page(request, session, principal, report=report, token=token,
                          status_code=200 if report.status != "rejected" else 422, **page)
    session.commit()  # on the lane, not on the event loop
    return answer


_TOKEN = re.compile(r"^[A-Za-z0-9_-]{10,64}$")


@router.get("/registry/imports/reports/{token}.{extension}")
def download_report(token: str, extension: str, request: Request,
                    principal: Annotated[Principal, Depends(require(Permission.imports_run, scope=Scope.org_subtree))]) -> Response:
    if extension not in ("xlsx", "json") or not _TOKEN.match(token):
        raise NotFound("This report does not exist or has expired.")
    path = _report_dir(request) / f"{principal.user_id}-{token}.{extension}"
    if not path.is_file():
        raise NotFound("This report does not exist or has expired.")
    media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if extension == "xlsx"
             else "application/json")
    return Response(path.read_bytes(), media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="import-errors.{extension}"',
                             "Cache-Control": "no-store"})


@router.get("/registry/imports/templates/{kind}.xlsx")
def download_template(kind: str,
                      _: Annotated[Principal, Depends(require(Permission.imports_run, scope=Scope.reference))]) -> Response:
    if kind not in IMPORT_KINDS:
        raise ValidationFailed("kind", "Kind {value} is not one of {accepted}.", value=kind,
                               accepted=", ".join(IMPORT_KINDS))
    from ansinh.registry import imports

    return Response(imports.template_xlsx(kind),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="ansinh-{kind}-template.xlsx"'})
