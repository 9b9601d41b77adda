"""Web pages of the card officers: the operations on a person's card (issue or renew, suspend, reinstate, change the
registered primary-care facility), the card issuance run of an office, and the registration of a birth.

Thin routes over :mod:`ansinh.cards.service`, scoped like the API (``cards_manage`` on the caller's org subtree, the
person read through ``registry.get_person``). Forms post with the CSRF token; a refused value is shown next to its
field with what was typed (422); a success answers 303 back to the person's page with a notice.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.deps import DbSession, request_audit_context, require, verify_csrf
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId, check_day
from ansinh.cards import facilities, issue_jobs, service
from ansinh.cards.pages import person_card_context, router, today
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.registry import service as registry
from ansinh.registry.identifiers import check_citizen_id, search_key
from ansinh.registry.models import Person, Place, Sex
from ansinh.web.forms import redirect, submit
from ansinh.web.lists import parse_filter_date
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import is_htmx, render

Manager = Annotated[Principal, Depends(require(Permission.cards_manage, scope=Scope.org_subtree))]

register_nav_item(NavItem("cards_issue", N_("Issue cards"), "/cards/issue", Permission.cards_manage, order=153,
                          agency_only=True, group="cards"))
register_nav_item(NavItem("cards_birth", N_("Register a birth"), "/cards/births/new", Permission.cards_manage,
                          order=154, agency_only=True, group="cards"))

#: How long the issuance form waits for a run before showing its progress page instead of the result.
ISSUE_WAIT_SECONDS = 3.0


#: The names the services give to values that the card forms call otherwise.
CARD_FIELD_ALIASES = {"place_id": "commune", "residence_place_id": "commune", "org_unit": "org_unit_code"}


def _person_page(person_id: int, notice: str) -> Response:
    return redirect(_person_address(person_id, notice))


def _person_address(person_id: int, notice: str) -> str:
    return f"/registry/people/{person_id}?{urlencode({'card': notice})}#hi-card"


def _form_day(text: str, field: str, default=None):
    """A day typed in a form (``YYYY-MM-DD`` or ``DD/MM/YYYY``), within the accepted dates; ``default`` if blank."""
    value = parse_filter_date(text, field)
    if value is None:
        return default
    try:
        return check_day(value)
    except ValueError:
        raise ValidationFailed(field, "The date {value} is outside the accepted range.", value=value) from None


# --- the card of one person ------------------------------------------------------------------------------

CARD_ACTIONS = ("issue", "suspend", "reinstate", "facility")


def _card_page(request: Request, session: Session, principal: Principal, person: Person, *, errors: dict[str, str],
               form: dict[str, str], status_code: int = 422) -> Response:
    """The person's card section alone, with the refused form's errors next to its fields and what was typed."""
    from ansinh.participation.groups import HI_GROUPS

    return render(request, "cards/card_page.html", {
        **person_card_context(session, person.id), "person": person, "card_errors": errors, "card_form": form,
        "hi_groups": HI_GROUPS},
        status_code=status_code)


@router.post("/cards/people/{person_id}/{action}")
def card_action(request: Request, session: DbSession, principal: Manager, person_id: RecordId, action: str,
                reason: Annotated[str, Form(max_length=400)] = "", on: Annotated[str, Form(max_length=20)] = "",
                facility: Annotated[str, Form(max_length=260)] = "",
                csrf_token: Annotated[str, Form()] = "") -> Response:
    """Issue or renew, suspend, reinstate the person's card, or register them at another primary-care facility."""
    verify_csrf(request, csrf_token)
    if action not in CARD_ACTIONS:
        raise NotFound("There is nothing at this address.")
    person = registry.get_person(session, principal, person_id)  # 403 outside the caller's scope
    form = {"reason": reason, "on": on, "facility": facility}
    try:
        if action == "issue":
            day = _form_day(on, "on", today())
            counts = service.issue_cards(session, on=day, person_ids=[person.id], principal=principal)
            if counts["issued"] == 0:
                notice = "unchanged" if counts["unchanged"] else "not_covered"
            else:
                notice = "renewed" if counts["superseded"] else "issued"
        elif action == "suspend":
            service.suspend_card(session, person.id, reason=reason)
            notice = "suspended"
        elif action == "reinstate":
            service.reinstate_card(session, person.id)
            notice = "reinstated"
        else:
            chosen = facilities.find_facility(session, facility, field="facility")
            service.change_registered_facility(session, person.id, chosen.code, on=today())
            notice = "facility"
    except ValidationFailed as error:
        field = {"facility_code": "facility", "card_code": "facility"}.get(error.field, error.field)
        field = field if field in form else {"issue": "on", "suspend": "reason"}.get(action, "facility")
        session.rollback()
        return _card_page(request, session, principal, person, errors={field: error.translated(gettext)},
                          form=form)
    except (Conflict, NotFound) as error:
        session.rollback()
        return _card_page(request, session, principal, person, errors={action: error.translated(gettext)},
                          form=form, status_code=409 if isinstance(error, Conflict) else 404)
    return _person_page(person.id, notice)


# --- the issuance run of an office -----------------------------------------------------------------------

def _scope_name(session: Session, principal: Principal) -> str:
    if principal.org_unit_level == "national":
        return gettext("the whole country")
    unit = session.get(OrgUnit, principal.org_unit_id)
    return unit.name if unit else ""


def _issue_context(session: Session, principal: Principal, **extra) -> dict:
    return {"scope_name": _scope_name(session, principal), "errors": {}, "form": {"on": today().isoformat()},
            **extra}


@router.get("/cards/issue")
def issue_page(request: Request, session: DbSession, principal: Manager) -> Response:
    """The form of an issuance run: the day; a confirmation before it starts."""
    return render(request, "cards/issue.html", _issue_context(session, principal))


@router.post("/cards/issue")
def issue_start(request: Request, session: DbSession, principal: Manager,
                on: Annotated[str, Form(max_length=20)] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    """Start the run in a thread (its own unit of work); answer its result, or its progress page when long."""
    verify_csrf(request, csrf_token)
    try:
        day = _form_day(on, "on", today())
        run = issue_jobs.start_issue_run(request.app.state.database, principal, day,
                                         request_audit_context(request, principal),
                                         wait_seconds=ISSUE_WAIT_SECONDS)
    except ValidationFailed as error:
        return render(request, "cards/issue.html", _issue_context(
            session, principal, errors={"on": error.translated(gettext)}, form={"on": on}), status_code=422)
    except Conflict as error:
        return render(request, "cards/issue.html", _issue_context(
            session, principal, errors={"run": error.translated(gettext)}, form={"on": on}), status_code=409)
    return redirect(f"/cards/issue/status?{urlencode({'run': run.token})}")


@router.get("/cards/issue/status")
def issue_status(request: Request, session: DbSession, principal: Manager,
                 run: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The run's progress (polled by htmx while it runs) and, once ended, its result."""
    found = issue_jobs.get_issue_run(principal, run)
    context = {"run": found, "counts": found.counts, "scope_name": _scope_name(session, principal),
               "error": found.error.translated(gettext) if found.error else None}
    if is_htmx(request):
        return render(request, "cards/issue_status.html", context)
    return render(request, "cards/issue_result.html", context)


# --- births ----------------------------------------------------------------------------------------------

BIRTH_FIELDS = ("full_name", "sex", "date_of_birth", "citizen_id", "parent_citizen_id", "commune", "address",
                "registered_on", "org_unit_code")


def find_commune(session: Session, principal: Principal, text: str, *, field: str = "commune") -> int | None:
    """The commune (2025 structure) a form names: its exact name, the caller's province first; None when blank."""
    wanted = search_key(text or "")
    if not wanted:
        return None
    candidates = [p for p in session.scalars(select(Place).where(Place.structure == "2025", Place.level == "commune",
                                                                 Place.name_search == wanted).limit(50))]
    if not candidates:
        candidates = [p for p in session.scalars(select(Place).where(
            Place.structure == "2025", Place.level == "commune",
            Place.name_search.like(f"%{wanted.replace('%', '').replace('_', '')}%")).limit(50))]
    province = service.principal_province(session, principal)
    if province is not None and len(candidates) > 1:
        candidates = [p for p in candidates if p.province_code == province] or candidates
    if not candidates:
        raise ValidationFailed(field, "No commune is named {value}.", value=text)
    if len(candidates) > 1:
        raise ValidationFailed(field, "Several communes are named {value}: type the full name.", value=text)
    return candidates[0].id


def _birth_context(session: Session, principal: Principal, form: dict | None = None,
                   errors: dict | None = None) -> dict:
    units = []
    if principal.org_unit_level == "national":
        units = list(session.scalars(select(OrgUnit).where(OrgUnit.level != "national").order_by(OrgUnit.code)))
    return {"form": form or {"registered_on": today().isoformat(), "sex": ""}, "errors": errors or {},
            "org_units": units, "fields": BIRTH_FIELDS}


@router.get("/cards/births/new")
def birth_form(request: Request, session: DbSession, principal: Manager) -> Response:
    return render(request, "cards/birth.html", _birth_context(session, principal))


@router.post("/cards/births/new")
def birth_register(request: Request, session: DbSession, principal: Manager,
                   full_name: Annotated[str, Form(max_length=200)] = "", sex: Annotated[str, Form(max_length=10)] = "",
                   date_of_birth: Annotated[str, Form(max_length=20)] = "",
                   citizen_id: Annotated[str, Form(max_length=20)] = "",
                   parent_citizen_id: Annotated[str, Form(max_length=20)] = "",
                   commune: Annotated[str, Form(max_length=120)] = "",
                   address: Annotated[str, Form(max_length=400)] = "",
                   registered_on: Annotated[str, Form(max_length=20)] = "",
                   org_unit_code: Annotated[str, Form(max_length=40)] = "",
                   csrf_token: Annotated[str, Form()] = "") -> Response:
    """Register the child, cover them (group TE) and issue their card; then the child's page with the card."""
    form = {"full_name": full_name, "sex": sex, "date_of_birth": date_of_birth, "citizen_id": citizen_id,
            "parent_citizen_id": parent_citizen_id, "commune": commune, "address": address,
            "registered_on": registered_on, "org_unit_code": org_unit_code}

    def register() -> Person:
        if not full_name.strip():
            raise ValidationFailed("full_name", "A full name has 1 to 120 characters.")
        if sex not in {s.value for s in Sex}:
            raise ValidationFailed("sex", "Choose the child's sex.")
        born = _form_day(date_of_birth, "date_of_birth")
        if born is None:
            raise ValidationFailed("date_of_birth", "A value is required.")
        registered = _form_day(registered_on, "registered_on", today())
        child_id = re.sub(r"\s", "", citizen_id) or None
        if child_id:
            check_citizen_id(child_id)
        parent_id = re.sub(r"\s", "", parent_citizen_id)
        if not parent_id:
            raise ValidationFailed("parent_citizen_id", "Give the citizen ID of the mother or the father.")
        parent_id = check_citizen_id(parent_id, field="parent_citizen_id")
        parent = registry.find_person(session, principal, citizen_id=parent_id)
        if parent is None:
            raise ValidationFailed("parent_citizen_id", "No person with citizen ID {value} is registered in your "
                                                        "area.", value=parent_id)
        place_id = find_commune(session, principal, commune)
        unit = registry.org_unit_for_new_record(session, principal, org_unit_code.strip() or None)
        data = registry.PersonData(full_name=full_name, date_of_birth=born, sex=Sex(sex), citizen_id=child_id,
                                   residence_place_id=place_id, address=address.strip() or None)
        child, _card = service.register_birth(session, data, org_unit=unit, registered_on=registered, parent=parent)
        return child

    return submit(
        request, session, register, csrf_token=csrf_token, refusals=(ValidationFailed, Conflict), field="full_name",
        aliases=CARD_FIELD_ALIASES, fields=BIRTH_FIELDS, htmx=False,
        form=lambda errors: render(request, "cards/birth.html", _birth_context(session, principal, form, errors)),
        done=lambda child: _person_address(child.id, "born"))
