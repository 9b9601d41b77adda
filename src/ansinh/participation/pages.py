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

from ansinh import clock, i18n
from ansinh.audit.service import record_read
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import EARLIEST_DATE, RecordRef, check_day
from ansinh.errors import DomainError, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.participation import service
from ansinh.participation.groups import EMPLOYER_GROUPS, HI_GROUPS
from ansinh.participation.models import DeclarationKind, Scheme
from ansinh.registry import service as registry
from ansinh.registry.identifiers import search_key
from ansinh.registry.models import Employer, Person, Structure
from ansinh.rules.contributions import ContributionsInput, contributions_single
from ansinh.rules.parameters import get_parameters
from ansinh.web.labels import label
from ansinh.web.navigation import DashboardTile, NavItem, register_nav_item, register_tile
from ansinh.web.templating import is_htmx, render, script_json

router = APIRouter(include_in_schema=False)
KINDS = tuple(k.value for k in DeclarationKind)
SCHEMES = tuple(s.value for s in Scheme)

register_nav_item(NavItem("participation", N_("Participation summary"), "/participation/summary",
                          Permission.participation_read, order=120, group="participation"))
register_nav_item(NavItem("declarations_new", N_("Declare workers"), "/participation/declarations/new",
                          Permission.declarations_submit, order=125, group="participation"))


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
                        salary=f"{parsed.salary:,}", floor=f"{floor:,}", month=parsed.month.strftime("%m/%Y"))
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


Submitter = Annotated[Principal, Depends(require(Permission.declarations_submit, scope=(Scope.org_subtree, Scope.own_employer)))]


@router.get("/participation/declarations/new")
def declaration_form(request: Request, session: DbSession, principal: Submitter,
                     employer_id: RecordRef | None = None, person: Annotated[str, Query(max_length=40)] = "",
                     kind: Annotated[str, Query(max_length=20)] = "join") -> Response:
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
            target = f"/registry/employers/{employer.id}?declared={declaration.id}"
            if is_htmx(request):  # submitted by htmx: it follows the HX-Redirect header
                return Response(status_code=204, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
    shown = parsed.person if parsed.name_shown else None
    if is_htmx(request):  # htmx swaps only successful answers: the check, with 200
        return render(request, "participation/declaration_check.html",
                      {**_form_context(employer, form, check, shown), "month_date": parsed.month, "floor": floor})
    return render(request, "participation/declaration_new.html",
                  {**_form_context(employer, form, check, shown), "month_date": parsed.month, "floor": floor},
                  status_code=422)


# --- the summary ----------------------------------------------------------------------------------------

def _percent(value: float | None) -> str:
    if value is None:
        return "–"
    text = f"{value * 100:.2f}%"
    return text.replace(".", ",") if i18n.get_locale() == "vi" else text


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
    summary = service.participation_summary(session, principal, on=day, province=province or None, structure=shape)
    by_province = service.participation_by_province(session, principal, on=day, structure=shape)
    names = _province_names(session, shape)
    allowed = service.provinces_in_scope(session, principal, shape)
    choices = sorted((code, name) for code, name in names.items() if allowed is None or code in allowed)
    chart_provinces = {
        "labels": [names.get(row["province"], row["province"] or "?") for row in by_province],
        "datasets": [{"key": s, "label": label(s), "data": [row[s] for row in by_province]} for s in SCHEMES],
    }
    groups = summary.get("hi_by_group", {})
    chart_groups = {"labels": [f"{code} · {gettext(HI_GROUPS[code][0])}" if code in HI_GROUPS else code
                               for code in groups],
                    "data": list(groups.values()), "label": gettext("Insured by health insurance")}
    shown_day = day.strftime("%d/%m/%Y") if i18n.get_locale() == "vi" else day.isoformat()
    return render(request, "participation/summary.html", {
        "shown_day": shown_day,
        "summary": summary, "by_province": by_province, "names": names, "errors": errors,
        "on": day.isoformat(), "province": province, "structure": shape.value, "schemes": SCHEMES,
        "provinces": choices, "hi_groups": HI_GROUPS, "percent": _percent,
        "chart_provinces": script_json(chart_provinces), "chart_groups": script_json(chart_groups),
    })


def _province_names(session: Session, structure: Structure) -> dict[str, str]:
    """Province code → name, from the places table (``ansinh db upgrade`` loads it); for the 2025 structure the
    ``vietnam-provinces`` package answers when the table is empty."""
    from ansinh.registry import places

    names = {p.code: p.name for p in places.provinces(session, structure)}
    if not names and structure == Structure.from_2025:
        try:
            from vietnam_provinces import Province

            names = {f"{p.code.value:02d}": p.name for p in Province.iter_all()}
        except Exception:  # noqa: BLE001 - no names: codes are shown instead
            names = {}
    return names
