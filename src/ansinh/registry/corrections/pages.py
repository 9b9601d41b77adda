"""Correction requests on the web: the citizen's ``/me/corrections`` (their requests and the form to file one, phone
first) and the registry officers' ``/registry/corrections`` (the open requests of their subtree, each accepted or
rejected with a reason). Thin routes over :mod:`ansinh.registry.corrections.service`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.registry import service as registry
from ansinh.registry.corrections import service
from ansinh.web.forms import submit
from ansinh.web.labels import register_labels
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Citizen = Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.own_person))]
Manager = Annotated[Principal, Depends(require(Permission.registry_manage, scope=Scope.org_subtree))]
_Field = Annotated[str, Form(max_length=300)]
_Text = Annotated[str, Form(max_length=500)]

register_nav_item(NavItem("corrections", N_("Correction requests"), "/registry/corrections",
                          Permission.registry_manage, order=125, agency_only=True, group="registry"))
register_nav_item(NavItem("me_corrections", N_("Correct my details"), "/me/corrections", Permission.dashboard_view,
                          order=8, roles=frozenset({Role.citizen})))
STATUS_LABELS = {"open": N_("Being processed"), "accepted": N_("Accepted"), "rejected": N_("Refused")}
register_labels({f"correction_status.{k}": v for k, v in STATUS_LABELS.items()})
register_labels({f"correction_field.{k}": v for k, v in service.FIELD_LABELS.items()})
NOTICES = {"filed": N_("Your request was sent. The office will answer it; you will get a notice."),
           "accepted": N_("The request was accepted and the record corrected."),
           "rejected": N_("The request was refused; the citizen is told why.")}


def _notice(code: str) -> str:
    return gettext(NOTICES[code]) if code in NOTICES else ""


# --- the citizen ----------------------------------------------------------------------------------------------

def _citizen_context(session, principal: Principal, *, values: dict | None = None, errors: dict | None = None,
                     notice: str = "") -> dict:
    person = registry.own_person(session, principal)
    current = {f: service._value_text(getattr(person, f)) for f in service.FIELDS}
    requests = service.own_requests(session, person)
    return {"person": person, "current": current, "values": values or {}, "errors": errors or {},
            "requests": requests, "fields": service.FIELDS, "field_labels": service.FIELD_LABELS,
            "has_open": any(r.status.value == "open" for r in requests), "notice": _notice(notice)}


@router.get("/me/corrections")
def my_corrections(request: Request, session: DbSession, principal: Citizen, notice: str = "") -> Response:
    """The citizen's correction requests and the form to ask for a new one."""
    return render(request, "portal/corrections.html", _citizen_context(session, principal, notice=notice[:20]))


@router.post("/me/corrections")
def file_my_correction(request: Request, session: DbSession, principal: Citizen, csrf_token: _Field = "",
                       full_name: _Field = "", date_of_birth: _Field = "", sex: _Field = "", ethnicity: _Field = "",
                       address: _Field = "", phone: _Field = "", note: _Text = "") -> Response:
    typed = {"full_name": full_name, "date_of_birth": date_of_birth, "sex": sex, "ethnicity": ethnicity,
             "address": address, "phone": phone, "note": note}
    changes = {k: v for k, v in typed.items() if k != "note"}

    def action():
        return service.file_correction(session, principal, changes=changes, note=note or None, on=clock.today())

    return submit(request, session, action, csrf_token=csrf_token, field="changes",
                  refusals=(ValidationFailed, Conflict),
                  form=lambda errors: render(request, "portal/corrections.html", _citizen_context(
                      session, principal, values=typed, errors=errors)),
                  done="/me/corrections?notice=filed")


# --- the registry officers ------------------------------------------------------------------------------------

def _staff_context(session, principal: Principal, *, errors: dict | None = None, values: dict | None = None,
                   notice: str = "") -> dict:
    rows, total = service.open_requests(session, principal)
    return {"rows": rows, "total": total, "errors": errors or {}, "values": values or {},
            "field_labels": service.FIELD_LABELS, "notice": _notice(notice)}


@router.get("/registry/corrections")
def corrections_page(request: Request, session: DbSession, principal: Manager, notice: str = "") -> Response:
    """The open correction requests of the officer's subtree, oldest first: what the record says, what the citizen
    asks for; accept (applied, audited) or reject with a reason."""
    return render(request, "registry/corrections.html", _staff_context(session, principal, notice=notice[:20]))


@router.post("/registry/corrections/{request_id}/{decision}")
def resolve(request: Request, session: DbSession, principal: Manager, request_id: RecordId, decision: str,
            csrf_token: _Field = "", reason: _Text = "") -> Response:
    if decision not in ("accept", "reject"):
        raise NotFound("There is nothing at this address.")

    def action():
        if decision == "accept":
            return service.accept_correction(session, principal, request_id, on=clock.today())
        return service.reject_correction(session, principal, request_id, on=clock.today(), reason=reason)

    done = "accepted" if decision == "accept" else "rejected"
    return submit(request, session, action, csrf_token=csrf_token, field=f"reason-{request_id}",
                  aliases={"reason": f"reason-{request_id}"}, refusals=(ValidationFailed, Conflict),
                  form=lambda errors: render(request, "registry/corrections.html", _staff_context(
                      session, principal, errors=errors, values={f"reason-{request_id}": reason})),
                  done=f"/registry/corrections?notice={done}")
