"""Web pages of participation: the employer's declaration form with live validation, and the participation
summary with its charts by province and by health insurance group.

The declaration form finds the worker anywhere in the country (a worker may live in another province than the
employer), so it must not become a way to learn who is behind an identifier: the live check shows a person's name
only to whoever could read the person anyway (an officer whose scope covers them) or gives their citizen ID **and**
the matching name (compared without case or accents); otherwise it says only whether the declaration is acceptable.
Every check that reads a person is audited.

Thin routes over :mod:`ansinh.participation.service` (validation, the rewrite of coverage periods, the counts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.audit.service import record_read
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import EARLIEST_DATE, RecordRef, check_day
from ansinh.errors import DomainError, ValidationFailed
from ansinh.formatting import month as format_month
from ansinh.formatting import number as format_number
from ansinh.i18n import N_, gettext
from ansinh.participation import service
from ansinh.participation.groups import EMPLOYER_GROUPS, HI_GROUPS
from ansinh.participation.models import DeclarationKind, Scheme
from ansinh.registry import service as registry
from ansinh.registry.identifiers import search_key
from ansinh.registry.models import Employer, Person, Structure
from ansinh.registry.places import province_names
from ansinh.rules.contributions import ContributionsInput, contributions_single
from ansinh.rules.parameters import get_parameters
from ansinh.web.labels import label
from ansinh.web.navigation import DashboardTile, NavItem, register_nav_item, register_tile
from ansinh.web.forms import raise_first, redirect
from ansinh.web.templating import is_htmx, render, script_json
from ansinh.portal.employer.deps import require_duty

router = APIRouter(include_in_schema=False)
KINDS = tuple(k.value for k in DeclarationKind)
SCHEMES = tuple(s.value for s in Scheme)

register_nav_item(NavItem("participation", N_("Participation summary"), "/participation/summary",
                          Permission.participation_read, order=120, group="participation"))
register_nav_item(NavItem("declarations_new", N_("Declare workers"), "/participation/declarations/new",
                          Permission.declarations_submit, order=125, group="participation"))
register_nav_item(NavItem("declarations", N_("Declarations"), "/participation/declarations",
                          Permission.declarations_submit, order=121, group="participation"))
register_nav_item(NavItem("enrol_voluntary", N_("Voluntary social insurance enrolment"),
                          "/participation/enrolments/voluntary", Permission.participation_manage, order=122,
                          group="participation"))
register_nav_item(NavItem("enrol_household", N_("Household health insurance enrolment"),
                          "/participation/enrolments/household-hi", Permission.participation_manage, order=123,
                          group="participation"))
register_nav_item(NavItem("enrol_state_budget", N_("State-budget health insurance enrolment"),
                          "/participation/enrolments/state-budget", Permission.participation_manage, order=124,
                          group="participation"))


def _count_participants_today(session: Session, principal: Principal) -> int:
    """People insured by health insurance today in the caller's scope (the fast count of the summary)."""
    return service.participation_summary(session, principal, on=clock.today())["hi"]


register_tile(DashboardTile("participants", N_("Insured by health insurance today"), _count_participants_today,
                            Permission.participation_read, "/participation/summary", order=120))


# --- the declaration form --------------------------------------------------------------------------------

@dataclass
class DeclarationForm:
    person_ref: str = ""
    kind: str = "join"
    month: str = ""
    salary: str = ""
    hi_group: str = ""
    person_name: str = ""


@dataclass
class ParsedForm:
    person: Person | None
    kind: str
    month: date | None
    salary: int | None
    hi_group: str | None
    errors: dict[str, str]
    name_shown: bool = False  # whether the form may show who the person is (see the module's docstring)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _lookup_person(session: Session, text: str) -> Person | None:
    """The person a declaration names, by citizen ID (12 digits) or SI number (10 digits).

    A worker may be registered by any office, so this is not limited to the employer's scope; the form only
    shows the name found, to confirm the identifier."""
    text = re.sub(r"\s", "", text or "")
    if text.isdigit() and len(text) == 12:
        return session.scalar(select(Person).where(Person.citizen_id == text))
    if text.isdigit() and len(text) == 10:
        return session.scalar(select(Person).where(Person.si_number == text))
    return None


def _may_see(session: Session, principal: Principal, person: Person, ref: str, name: str) -> bool:
    """Whether the form may show who the person behind an identifier is: to an officer whose scope covers them,
    or to whoever gives their citizen ID and their name (without case or accents)."""
    if principal.is_agency_staff and principal.has(Permission.registry_read) and \
            principal.covers_path(session.get(OrgUnit, person.org_unit_id).path):
        return True
    return bool(name) and ref == person.citizen_id and search_key(name) == search_key(person.full_name)


def _parse(session: Session, principal: Principal, employer: Employer, form: DeclarationForm) -> ParsedForm:
    errors: dict[str, str] = {}
    ref = re.sub(r"\s", "", form.person_ref or "")
    name = " ".join((form.person_name or "").split())
    person = None
    name_shown = False
    if not ref:
        errors["person"] = gettext("Give the person's citizen ID or SI number.")
    elif not ref.isdigit() or len(ref) not in (10, 12):
        errors["person"] = gettext("A citizen ID has 12 digits and an SI number 10; got {value}.").format(value=ref)
    else:
        person = _lookup_person(session, ref)
        if person is None:
            errors["person"] = gettext("No person with this citizen ID or SI number is registered.")
        else:
            name_shown = _may_see(session, principal, person, ref, name)
            if name and search_key(name) != search_key(person.full_name):
                errors["person_name"] = gettext("This is not the name registered with this identifier.")
            record_read(session, "person", person.id, org_unit_id=person.org_unit_id,
                        person_ref=person.citizen_id or person.si_number,
                        details={"purpose": "declaration_check", "employer_id": employer.id,
                                 "identifier": "citizen_id" if len(ref) == 12 else "si_number",
                                 "name_given": bool(name), "name_shown": name_shown})
    kind = form.kind if form.kind in KINDS else ""
    if not kind:
        errors["kind"] = gettext("The kind is join, leave or salary_change.")
    month = None
    match = _MONTH.match((form.month or "").strip())
    if match and 1 <= int(match.group(2)) <= 12 and int(match.group(1)) >= EARLIEST_DATE.year:
        month = date(int(match.group(1)), int(match.group(2)), 1)
    else:
        errors["effective_month"] = gettext("Give the month it takes effect (YYYY-MM).")
    salary = None
    text = re.sub(r"[\s.,_]", "", form.salary or "")
    if text:
        if text.isdigit() and len(text) <= 12:
            salary = int(text)
        else:
            errors["insured_salary"] = gettext("The salary is a whole number of dong; got {value}.").format(
                value=form.salary)
    hi_group = (form.hi_group or "").strip().upper() or None
    if kind == DeclarationKind.leave.value:
        salary, hi_group = None, None
    return ParsedForm(person, kind, month, salary, hi_group, errors, name_shown)


def salary_floor(employer: Employer, month: date) -> int | None:
    """The lowest insured salary in force in a month for this employer (region and sector), from the rules."""
    try:
        result = contributions_single(ContributionsInput(salary=1, on=month, region=employer.region,
                                                         sector=employer.sector), get_parameters())
    except DomainError:
        return None
    return result["insured_salary"]["si"]


def _check(session: Session, employer: Employer, parsed: ParsedForm) -> tuple[service.DeclarationCheck, int | None]:
    """The service's validation, completed with what the form itself found; and the salary floor in force."""
    floor = None
    if parsed.kind and parsed.month is not None:
        check = service.check_declaration(session, employer=employer, person=parsed.person, kind=parsed.kind,
                                          effective_month=parsed.month, insured_salary=parsed.salary,
                                          hi_group=parsed.hi_group, today=clock.today())
        if parsed.kind != DeclarationKind.leave.value:
            floor = check.floor or salary_floor(employer, parsed.month)
            if parsed.person is None:  # the service stops at the person; the salary is still checked here
                check.errors.pop("person", None)
                if parsed.salary is None and "insured_salary" not in parsed.errors:
                    check.errors["insured_salary"] = gettext("A salary is needed.")
                elif parsed.salary is not None and floor is not None and parsed.salary < floor:
                    check.errors["insured_salary"] = gettext(
                        "The salary {salary} is below the floor of {floor} dong in force in {month}.").format(
                        salary=format_number(parsed.salary), floor=format_number(floor), month=format_month(parsed.month))
    else:
        check = service.DeclarationCheck()
    check.errors = {**parsed.errors, **{k: v for k, v in check.errors.items() if k not in parsed.errors}}
    return check, floor


def _employer_for(session: Session, principal: Principal, employer_id: int | None) -> Employer:
    if employer_id is None:
        if principal.subject_ref and not principal.is_agency_staff:
            return registry.get_employer_by_tax_code(session, principal, principal.subject_ref)
        raise ValidationFailed("employer_id", "Choose the employer first.")
    return registry.get_employer(session, principal, employer_id)  # employer users: their own only


FIELD_LABELS = {"person": N_("Person"), "person_name": N_("Full name"), "kind": N_("Kind"),
                "effective_month": N_("Month it takes effect"), "insured_salary": N_("Salary"),
                "hi_group": N_("Health insurance group")}


def _form_context(employer: Employer, form: DeclarationForm, check: service.DeclarationCheck | None,
                  person: Person | None) -> dict:
    return {"employer": employer, "form": form, "check": check, "person": person, "kinds": KINDS,
            "groups": [(code, HI_GROUPS[code][0]) for code in EMPLOYER_GROUPS],
            "default_group": service.default_hi_group(employer), "field_labels": FIELD_LABELS}


Submitter = Annotated[Principal, Depends(require_duty("declarations", Permission.declarations_submit,
                                                      scope=(Scope.org_subtree, Scope.own_employer)))]


@router.get("/participation/declarations/new")
def declaration_form(request: Request, session: DbSession, principal: Submitter,
                     employer_id: RecordRef | None = None, person: Annotated[str, Query(max_length=40)] = "",
                     kind: Annotated[str, Query(max_length=20)] = "join",
                     employer: Annotated[str, Query(max_length=120)] = "") -> Response:
    if employer_id is None and principal.is_agency_staff:
        # An officer declares for an employer of their scope: found by tax code or name first.
        found, total = registry.list_employers(session, principal, employer, limit=20) if employer.strip() \
            else ([], 0)
        if len(found) == 1 and total == 1:
            return RedirectResponse(f"/participation/declarations/new?employer_id={found[0].id}", status_code=303)
        return render(request, "participation/declaration_choose.html",
                      {"q": employer, "employers": found, "total": total})
    employer = _employer_for(session, principal, employer_id)
    month = clock.today().strftime("%Y-%m")
    form = DeclarationForm(person_ref=person, kind=kind if kind in KINDS else "join", month=month,
                           hi_group=service.default_hi_group(employer))
    return render(request, "participation/declaration_new.html", _form_context(employer, form, None, None))


@router.post("/participation/declarations/check")
def declaration_check(request: Request, session: DbSession, principal: Submitter,
                      employer_id: Annotated[RecordRef, Form()], person_ref: Annotated[str, Form(max_length=40)] = "",
                      kind: Annotated[str, Form(max_length=20)] = "",
                      month: Annotated[str, Form(max_length=10)] = "", salary: Annotated[str, Form(max_length=30)] = "",
                      hi_group: Annotated[str, Form(max_length=4)] = "",
                      person_name: Annotated[str, Form(max_length=120)] = "") -> Response:
    """Live validation: the errors of the form as it stands (nothing is written but the audit of the read). The
    person's name is shown only under the rule of this module's docstring."""
    employer = _employer_for(session, principal, employer_id)
    form = DeclarationForm(person_ref, kind, month, salary, hi_group, person_name)
    parsed = _parse(session, principal, employer, form)
    check, floor = _check(session, employer, parsed)
    return render(request, "participation/declaration_check.html",
                  {**_form_context(employer, form, check, parsed.person if parsed.name_shown else None),
                   "month_date": parsed.month, "floor": floor})


@router.post("/participation/declarations")
def submit_declaration(request: Request, session: DbSession, principal: Submitter,
                       employer_id: Annotated[RecordRef, Form()], person_ref: Annotated[str, Form(max_length=40)] = "",
                       kind: Annotated[str, Form(max_length=20)] = "",
                       month: Annotated[str, Form(max_length=10)] = "",
                       salary: Annotated[str, Form(max_length=30)] = "",
                       hi_group: Annotated[str, Form(max_length=4)] = "",
                       person_name: Annotated[str, Form(max_length=120)] = "",
                       csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    employer = _employer_for(session, principal, employer_id)
    form = DeclarationForm(person_ref, kind, month, salary, hi_group, person_name)
    parsed = _parse(session, principal, employer, form)
    check, floor = _check(session, employer, parsed)
    if check.ok:
        try:
            declaration = service.apply_declaration(
                session, employer=employer, person=parsed.person, kind=parsed.kind, effective_month=parsed.month,
                insured_salary=parsed.salary, hi_group=parsed.hi_group, submitted_by=principal.username,
                today=clock.today())
        except DomainError as exc:
            check.errors = getattr(exc, "errors", None) or {getattr(exc, "field", "person"): exc.translated(gettext)}
        else:
            return redirect(f"/registry/employers/{employer.id}?declared={declaration.id}", request)
    shown = parsed.person if parsed.name_shown else None
    if is_htmx(request):  # htmx swaps only successful answers: the check, with 200
        return render(request, "participation/declaration_check.html",
                      {**_form_context(employer, form, check, shown), "month_date": parsed.month, "floor": floor})
    return render(request, "participation/declaration_new.html",
                  {**_form_context(employer, form, check, shown), "month_date": parsed.month, "floor": floor},
                  status_code=422)


# --- the summary ----------------------------------------------------------------------------------------

@router.get("/participation/summary")
def summary_page(request: Request, session: DbSession,
                 principal: Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))],
                 on: Annotated[str, Query(max_length=10)] = "", province: Annotated[str, Query(max_length=8)] = "",
                 structure: Annotated[str, Query(max_length=4)] = "2025") -> Response:
    """The summary of the caller's scope (a province outside it: 403)."""
    errors: list[str] = []
    day = clock.today()
    if on:
        try:
            day = check_day(date.fromisoformat(on))
        except ValueError:
            errors.append(gettext("{field}: not a date (use YYYY-MM-DD).").format(field=gettext("On")))
    try:
        shape = registry.structure_of(structure)
    except ValidationFailed as exc:
        errors.append(exc.translated(gettext))
        shape = Structure.from_2025
    province = province.strip()
    summary, by_province = service.participation_overview(session, principal, on=day, province=province or None,
                                                          structure=shape)
    names = province_names(session, shape)
    allowed = service.provinces_in_scope(session, principal, shape)
    choices = sorted(((code, name) for code, name in names.items() if allowed is None or code in allowed),
                     key=lambda choice: search_key(choice[1]))
    chart_provinces = {
        "labels": [names.get(row["province"], row["province"] or "?") for row in by_province],
        "datasets": [{"key": s, "label": label(s), "data": [row[s] for row in by_province]} for s in SCHEMES],
    }
    groups = summary.get("hi_by_group", {})
    chart_groups = {"labels": [f"{code} · {gettext(HI_GROUPS[code][0])}" if code in HI_GROUPS else code
                               for code in groups],
                    "data": list(groups.values()), "label": gettext("Insured by health insurance")}
    return render(request, "participation/summary.html", {
        "shown_day": day,
        "summary": summary, "by_province": by_province, "names": names, "errors": errors,
        "on": day.isoformat(), "province": province, "structure": shape.value, "schemes": SCHEMES,
        "provinces": choices, "hi_groups": HI_GROUPS,
        "chart_provinces": script_json(chart_provinces), "chart_groups": script_json(chart_groups),
    })


# --- enrolments: shared parsing ----------------------------------------------------------------------------

Manager = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]

VOLUNTARY_GROUP_LABELS = {"poor": N_("Poor household"), "near_poor": N_("Near-poor household"),
                          "ethnic_minority": N_("Ethnic minority"), "island": N_("Island commune or special zone"),
                          "other": N_("Other")}


def _parse_month(text: str, field: str, errors: dict[str, str]) -> date | None:
    """A month typed as ``YYYY-MM`` (a month input) or ``MM/YYYY``."""
    text = (text or "").strip()
    match = _MONTH.match(text) or re.match(r"^(\d{1,2})/(\d{4})$", text)
    if match:
        year, month = (int(match.group(1)), int(match.group(2))) if len(match.group(1)) == 4 else \
            (int(match.group(2)), int(match.group(1)))
        if 1 <= month <= 12 and year >= EARLIEST_DATE.year:
            return date(year, month, 1)
    errors[field] = gettext("Give a month (MM/YYYY).")
    return None


def _parse_day(text: str, field: str, errors: dict[str, str]) -> date | None:
    from ansinh.web.lists import parse_filter_date

    try:
        value = parse_filter_date(text, field)
    except ValidationFailed as exc:
        errors[field] = exc.translated(gettext)
        return None
    if value is None:
        errors[field] = gettext("A value is required.")
    return value


def _parse_amount(text: str, field: str, errors: dict[str, str]) -> int | None:
    clean = re.sub(r"[\s.,_]", "", text or "")
    if clean.isdigit() and len(clean) <= 13:
        return int(clean)
    errors[field] = gettext("A whole number of dong is expected; got {value}.").format(value=text or "–") \
        if clean else gettext("A value is required.")
    return None


def _error_of(exc: DomainError, default_field: str) -> dict[str, str]:
    """A service's refusal as errors by field (a conflict, which names no field, goes to ``default_field``)."""
    return {getattr(exc, "field", None) or default_field: exc.translated(gettext)}


def _find_in_scope(session: Session, principal: Principal, ref: str, errors: dict[str, str],
                   field: str = "person") -> Person | None:
    """A person of the caller's scope by citizen ID (12 digits) or SI number (10); an error beside ``field``."""
    ref = re.sub(r"\s", "", ref or "")
    if not ref:
        errors[field] = gettext("Give the person's citizen ID or SI number.")
        return None
    if not ref.isdigit() or len(ref) not in (10, 12):
        errors[field] = gettext("A citizen ID has 12 digits and an SI number 10; got {value}.").format(value=ref)
        return None
    person = registry.find_person(session, principal, citizen_id=ref if len(ref) == 12 else None,
                                  si_number=ref if len(ref) == 10 else None)
    if person is None:
        errors[field] = gettext("No person with this identifier is registered in your scope.")
    return person


def _done(request: Request, target: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


# --- voluntary social insurance ---------------------------------------------------------------------------

def _voluntary_context(form: dict, errors: dict, quote: dict | None, person: Person | None, start: date | None
                       ) -> dict:
    periods = service.voluntary_payment_periods(start or clock.today())
    return {"form": form, "errors": errors, "quote": quote, "person": person, "periods": periods,
            "groups": [(g, VOLUNTARY_GROUP_LABELS[g]) for g in service.VOLUNTARY_GROUPS], "start_date": start}


@router.get("/participation/enrolments/voluntary")
def voluntary_form(request: Request, session: DbSession, principal: Manager,
                   person: Annotated[str, Query(max_length=20)] = "") -> Response:
    form = {"person_ref": person, "income": "", "months": "1", "group": "other",
            "start": clock.today().strftime("%Y-%m")}
    return render(request, "participation/enrol_voluntary.html", _voluntary_context(form, {}, None, None, None))


@router.post("/participation/enrolments/voluntary")
def voluntary_submit(request: Request, session: DbSession, principal: Manager,
                     person_ref: Annotated[str, Form(max_length=20)] = "",
                     income: Annotated[str, Form(max_length=30)] = "", months: Annotated[str, Form(max_length=3)] = "1",
                     group: Annotated[str, Form(max_length=20)] = "other",
                     start: Annotated[str, Form(max_length=10)] = "", action: Annotated[str, Form(max_length=10)] = "check",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    """Check: the contribution and the State's support by the rules, nothing written. Enrol: the same checks, then
    the enrolment, and back to the person's page."""
    verify_csrf(request, csrf_token)
    form = {"person_ref": person_ref, "income": income, "months": months, "group": group, "start": start}
    errors: dict[str, str] = {}
    person = _find_in_scope(session, principal, person_ref, errors)
    amount = _parse_amount(income, "income", errors)
    month = _parse_month(start, "start", errors)
    paid_months = int(months) if months.isdigit() else 0
    if month is not None and paid_months not in service.voluntary_payment_periods(month):
        errors["months"] = gettext("Choose how many months are paid at once.")
    if group not in service.VOLUNTARY_GROUPS:
        errors["group"] = gettext("Choose the support group.")
    quote = None
    if not errors:
        try:
            quote = service.voluntary_quote(income=amount, months=paid_months, group=group, start=month,
                                            today=clock.today(), province=person.province_2025)
        except DomainError as exc:
            errors.update(_error_of(exc, "income"))
    if not errors and action == "enrol":
        try:
            service.enrol_voluntary(session, person=person, income=amount, months=paid_months, group=group,
                                    start=month, org_unit=session.get(OrgUnit, person.org_unit_id),
                                    today=clock.today())
        except DomainError as exc:
            errors.update(_error_of(exc, "person"))
        else:
            return _done(request, f"/registry/people/{person.id}?enrolled=si_voluntary")
    return render(request, "participation/enrol_voluntary.html",
                  _voluntary_context(form, errors, quote, person, month), status_code=422 if errors else 200)


# --- household health insurance -----------------------------------------------------------------------------

def _household_context(form: dict, errors: dict, household=None, members=(), quote=None, insured=None,
                       start: date | None = None) -> dict:
    return {"form": form, "errors": errors, "household": household, "members": members, "quote": quote,
            "insured": insured or {}, "month_choices": service.HOUSEHOLD_MONTHS, "start_date": start}


@router.get("/participation/enrolments/household-hi")
def household_form(request: Request, session: DbSession, principal: Manager,
                   head: Annotated[str, Query(max_length=20)] = "") -> Response:
    form = {"head": head, "start": clock.today().strftime("%Y-%m"), "months": "12", "member": []}
    errors: dict[str, str] = {}
    household, members, insured = None, [], {}
    if head.strip():
        try:
            household, members = service.household_of_head(session, principal, head)
        except DomainError as exc:
            errors.update(_error_of(exc, "head"))
        else:
            start = clock.today().replace(day=1)
            insured = service.hi_conflicts(session, members, start, service.add_months(start, 12))
            form["member"] = [str(m.id) for m in members if m.id not in insured]
    return render(request, "participation/enrol_household.html",
                  _household_context(form, errors, household, members, None, insured),
                  status_code=422 if errors else 200)


@router.post("/participation/enrolments/household-hi")
def household_submit(request: Request, session: DbSession, principal: Manager,
                     head: Annotated[str, Form(max_length=20)] = "",
                     member: Annotated[list[str], Form(max_length=50)] = [],  # noqa: B006 - FastAPI's form list
                     start: Annotated[str, Form(max_length=10)] = "", months: Annotated[str, Form(max_length=3)] = "12",
                     action: Annotated[str, Form(max_length=10)] = "check",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    form = {"head": head, "start": start, "months": months, "member": member}
    errors: dict[str, str] = {}
    household, members, insured, quote = None, [], {}, None
    try:
        household, members = service.household_of_head(session, principal, head)
    except DomainError as exc:
        errors.update(_error_of(exc, "head"))
    month = _parse_month(start, "start", errors)
    paid_months = int(months) if months.isdigit() else 0
    if paid_months not in service.HOUSEHOLD_MONTHS:
        errors["months"] = gettext("Choose 3, 6 or 12 months.")
    chosen = [m for m in members if str(m.id) in set(member)]
    if household is not None and not chosen:
        errors["members"] = gettext("Tick the members to enrol.")
    if household is not None and month is not None and "months" not in errors:
        end = service.add_months(month, paid_months)
        insured = service.hi_conflicts(session, members, month, end)
        if any(m.id in insured for m in chosen):
            errors["members"] = gettext("Some ticked members already have health insurance in this period.")
        try:
            service.check_start("start", month, service.Scheme.hi, clock.today())
            quote = service.household_hi_quote(session, household, len(chosen), month, paid_months)
        except DomainError as exc:
            errors.update(_error_of(exc, "start"))
    if quote is not None:
        quote = {**quote, "rows": list(zip(chosen, quote["members"]))}
    if not errors and action == "enrol":
        try:
            service.enrol_household_hi(session, household=household, members=chosen, start=month,
                                       months=paid_months, today=clock.today())
        except DomainError as exc:
            errors.update(_error_of(exc, "members"))
        else:
            return _done(request, f"/registry/people/{household.head_person_id}?enrolled=household_hi")
    return render(request, "participation/enrol_household.html",
                  _household_context(form, errors, household, members, quote, insured, month),
                  status_code=422 if errors else 200)


# --- health insurance paid by the State --------------------------------------------------------------------

MAX_STATE_LINES = 10_000


@dataclass
class StateLine:
    number: int
    text: str
    person: Person | None = None
    error: str | None = None


def _state_units(session: Session, principal: Principal) -> list[OrgUnit]:
    """The provincial and local offices of the caller's scope (the office the enrolments belong to)."""
    from ansinh.auth.permissions import org_scope

    return list(session.scalars(select(OrgUnit).where(org_scope(principal, OrgUnit.id),
                                                      OrgUnit.level != "national").order_by(OrgUnit.code)))


def _state_context(session: Session, principal: Principal, form: dict, errors: dict, lines=(), checked=False) -> dict:
    return {"form": form, "errors": errors, "lines": lines, "checked": checked,
            "groups": [(code, HI_GROUPS[code][0]) for code in STATE_GROUPS_SHOWN],
            "units": _state_units(session, principal),
            "bad": sum(1 for line in lines if line.error), "good": sum(1 for line in lines if not line.error)}


STATE_GROUPS_SHOWN = service.STATE_GROUPS


@router.get("/participation/enrolments/state-budget")
def state_budget_form(request: Request, session: DbSession, principal: Manager,
                      enrolled: Annotated[int | None, Query(ge=0, le=MAX_STATE_LINES)] = None) -> Response:
    form = {"group": "TE", "start": "", "end": "", "org_unit_code": "", "citizen_ids": ""}
    return render(request, "participation/enrol_state_budget.html",
                  {**_state_context(session, principal, form, {}), "enrolled": enrolled})


@router.post("/participation/enrolments/state-budget")
def state_budget_submit(request: Request, session: DbSession, principal: Manager,
                        group: Annotated[str, Form(max_length=4)] = "", start: Annotated[str, Form(max_length=10)] = "",
                        end: Annotated[str, Form(max_length=10)] = "",
                        org_unit_code: Annotated[str, Form(max_length=40)] = "",
                        citizen_ids: Annotated[str, Form(max_length=200_000)] = "",
                        action: Annotated[str, Form(max_length=10)] = "check",
                        csrf_token: Annotated[str, Form()] = "") -> Response:
    """Every line is checked and reported; the list is enrolled only when no line is refused (all or nothing, as
    the service: one transaction)."""
    verify_csrf(request, csrf_token)
    form = {"group": group, "start": start, "end": end, "org_unit_code": org_unit_code, "citizen_ids": citizen_ids}
    errors: dict[str, str] = {}
    if group not in service.STATE_GROUPS:
        errors["group"] = gettext("Choose the group.")
    first = _parse_day(start, "start", errors)
    last = _parse_day(end, "end", errors)
    unit = None
    try:
        unit = registry.org_unit_for_new_record(session, principal, org_unit_code.strip() or None)
    except DomainError as exc:
        errors.update(_error_of(exc, "org_unit_code"))
    lines: list[StateLine] = []
    for number, raw in enumerate(citizen_ids.splitlines(), 1):
        text = re.sub(r"\s", "", raw.split(",")[0].split(";")[0])
        if text:
            lines.append(StateLine(number, text))
    if not lines:
        errors["citizen_ids"] = gettext("Paste the citizen IDs, one per line.")
    elif len(lines) > MAX_STATE_LINES:
        errors["citizen_ids"] = gettext("At most {count} lines at a time.").format(count=format_number(MAX_STATE_LINES))
        lines = []
    seen: set[str] = set()
    for line in lines:
        if not (line.text.isdigit() and len(line.text) == 12):
            line.error = gettext("A citizen ID has 12 digits.")
        elif line.text in seen:
            line.error = gettext("This citizen ID is already on an earlier line.")
        seen.add(line.text)
    found = service.people_by_citizen_ids(session, principal, [ln.text for ln in lines if not ln.error])
    for line in lines:
        if not line.error:
            line.person = found.get(line.text)
            if line.person is None:
                line.error = gettext("No person with this identifier is registered in your scope.")
    if first is not None and last is not None and not errors:
        try:
            service.check_start("start", first, service.Scheme.hi, clock.today())
            if last <= first:
                raise ValidationFailed("end", "The end ({end}) must be after the start ({start}).", end=last,
                                       start=first)
        except DomainError as exc:
            errors.update(_error_of(exc, "start"))
        else:
            conflicts = service.hi_conflicts(session, [ln.person for ln in lines if ln.person], first, last)
            for line in lines:
                if line.person is not None and line.person.id in conflicts:
                    line.error = gettext(conflicts[line.person.id])
    refused = any(line.error for line in lines)
    if not errors and not refused and action == "enrol":
        try:
            periods = service.enrol_state_budget(session, group=group, people=[ln.person for ln in lines],
                                                 start=first, end=last, org_unit=unit, today=clock.today())
        except DomainError as exc:
            errors.update(_error_of(exc, "citizen_ids"))
        else:
            return _done(request, f"/participation/enrolments/state-budget?enrolled={len(periods)}")
    return render(request, "participation/enrol_state_budget.html",
                  _state_context(session, principal, form, errors, lines, checked=True),
                  status_code=422 if errors or refused else 200)


# --- the list of declarations -------------------------------------------------------------------------------

from ansinh.web.lists import Column, fetch_page, parse_filter_date, read_listing, stream_rows, xlsx_response  # noqa: E402

DECLARATION_COLUMNS = (
    Column("submitted", N_("Submitted"), service.Declaration.submitted_at),
    Column("employer", N_("Employer"), Employer.name_search),
    Column("person", N_("Person"), Person.name_search),
    Column("kind", N_("Kind"), service.Declaration.kind),
    Column("month", N_("Month it takes effect"), service.Declaration.effective_month),
    Column("salary", N_("Salary"), service.Declaration.insured_salary, numeric=True),
    Column("status", N_("Status")),
)
STATUS_LABELS = {"on_time": N_("In time"), "needs_rebilling": N_("Retroactive, to be billed again"),
                 "rebilled": N_("Retroactive, billed again")}


def _status(declaration) -> str:
    if not declaration.retroactive:
        return "on_time"
    return "needs_rebilling" if declaration.needs_rebilling else "rebilled"


def _declaration_listing(request: Request, session: Session, principal: Principal, employer: str, kind: str,
                         status: str, submitted_from: str, submitted_to: str, province: str):
    """The listing, the filters, the select of the rows the caller may see, and the errors of the filters."""
    errors: dict[str, str] = {}
    dates = {}
    for field, text in (("submitted_from", submitted_from), ("submitted_to", submitted_to)):
        try:
            dates[field] = parse_filter_date(text, field)
        except ValidationFailed as exc:
            errors[field] = exc.translated(gettext)
            dates[field] = None
    own = None
    if not principal.is_agency_staff:  # an employer user: their own employer's declarations only
        own = registry.get_employer_by_tax_code(session, principal, principal.subject_ref or "")
        employer, province = "", ""
    allowed = service.provinces_in_scope(session, principal, Structure.from_2025)
    if province and allowed is not None and province not in allowed:
        errors["province"] = gettext("This province is outside your scope.")
        province = ""
    filters = service.DeclarationFilters(employer=employer, kind=kind if kind in KINDS else "",
                                         status=status if status in service.DECLARATION_STATUSES else "",
                                         province=province, **dates)
    listing = read_listing(request, DECLARATION_COLUMNS, default_sort="submitted", default_descending=True, filters={
        "employer": employer, "kind": filters.kind, "status": filters.status, "submitted_from": submitted_from,
        "submitted_to": submitted_to, "province": province})
    stmt = service.declarations_select(principal, filters, employer_id=own.id if own else None)
    return listing, stmt, errors, own, allowed


DeclarationViewer = Annotated[Principal, Depends(require_duty("declarations", Permission.declarations_submit,
                                                              scope=(Scope.org_subtree, Scope.own_employer)))]
Text40 = Annotated[str, Query(max_length=40)]
Text200 = Annotated[str, Query(max_length=200)]


@router.get("/participation/declarations")
def declarations_list(request: Request, session: DbSession, principal: DeclarationViewer, employer: Text200 = "",
                      kind: Text40 = "", status: Text40 = "", submitted_from: Text40 = "", submitted_to: Text40 = "",
                      province: Text40 = "") -> Response:

    listing, stmt, errors, own, allowed = _declaration_listing(request, session, principal, employer, kind, status,
                                                               submitted_from, submitted_to, province)
    rows = fetch_page(session, stmt, listing, service.Declaration.id.desc())
    service.record_declarations_listed_all(session, principal, [p for _d, _e, p in rows], listing.filters,
                                           total=listing.total)
    names = province_names(session)
    return render(request, "participation/declarations.html", {
        "listing": listing, "rows": rows, "errors": errors, "own": own, "kinds": KINDS,
        "statuses": [(s, STATUS_LABELS[s]) for s in service.DECLARATION_STATUSES], "status_of": _status,
        "status_labels": STATUS_LABELS, "names": names,
        "provinces": sorted(((c, n) for c, n in names.items() if allowed is None or c in allowed), key=lambda x: x[1]),
    }, status_code=422 if errors else 200)


@router.get("/participation/declarations/export.xlsx")
def declarations_export(request: Request, session: DbSession, principal: DeclarationViewer, employer: Text200 = "",
                        kind: Text40 = "", status: Text40 = "", submitted_from: Text40 = "", submitted_to: Text40 = "",
                        province: Text40 = "") -> Response:
    """Exactly the filtered rows, in the list's order (streamed; the export is audited as one list event)."""
    from ansinh.web.lists import sorted_by

    listing, stmt, errors, own, _allowed = _declaration_listing(request, session, principal, employer, kind, status,
                                                                submitted_from, submitted_to, province)
    raise_first(errors)
    names = province_names(session)
    stmt = sorted_by(stmt, listing, service.Declaration.id.desc())
    service.record_declarations_exported(session, principal, listing.filters)
    headers = [gettext(h) for h in (N_("Submitted"), N_("Tax code"), N_("Employer"), N_("Province"), N_("Full name"),
                                    N_("SI number"), N_("Kind"), N_("Month it takes effect"), N_("Salary"),
                                    N_("Health insurance group"), N_("Status"), N_("Submitted by"))]

    def values():
        for declaration, employer_row, person in stream_rows(session, stmt):
            yield (declaration.submitted_at, employer_row.tax_code, employer_row.name,
                   names.get(employer_row.province_2025 or "", ""), person.full_name, person.si_number,
                   label(getattr(declaration.kind, "value", declaration.kind)),
                   format_month(declaration.effective_month), declaration.insured_salary, declaration.hi_group,
                   gettext(STATUS_LABELS[_status(declaration)]), declaration.submitted_by)

    return xlsx_response("declarations.xlsx", headers, values(), sheet_name=gettext("Declarations"))
