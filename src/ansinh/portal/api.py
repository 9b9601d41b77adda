"""The citizen app's back end, ``/api/v1/me``: the signed-in citizen's own records and nothing else.

Who: a citizen's account (``own_person``). No route takes a person's identifier: every answer is about the person
the account's citizen ID names (:func:`ansinh.registry.service.own_person`); any other account gets 404. Each read is
audited by the service. Dates are the application's clock (:func:`ansinh.clock.today`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.errors import NotFound
from ansinh.portal import service
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/me", tags=["citizen"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}})

Citizen = Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.own_person))]


@router.get("/person")
def my_person(session: DbSession, principal: Citizen) -> dict:
    """The signed-in citizen's personal details."""
    return service.person_view(session, service.me(session, principal))


@router.get("/contributions")
def my_contributions(session: DbSession, principal: Citizen) -> dict:
    """The contribution history month by month per scheme (``si_compulsory``, ``si_voluntary``, ``ui``, ``hi``)
    with salary, employer and who paid; the total months of social insurance; the gaps."""
    return service.contributions(session, principal, on=clock.today())


@router.get("/card")
def my_card(session: DbSession, principal: Citizen) -> dict:
    """The current health insurance card with its QR content and the five-years date; 404 when there is none."""
    found = service.card(session, principal, on=clock.today())
    if found is None:
        raise NotFound("You have no health insurance card.")
    return found


@router.get("/claims")
def my_claims(session: DbSession, principal: Citizen) -> dict:
    """The citizen's benefit claims with status, deadline, decision number and decision PDF link."""
    return {"claims": service.claims(session, principal, on=clock.today())}


@router.get("/bills")
def my_bills(session: DbSession, principal: Citizen) -> dict:
    """Voluntary SI bills and, for a household head, household HI bills, with the VietQR payment content of what is
    outstanding."""
    items = service.bills(session, principal, on=clock.today())
    return {"bills": items, "outstanding": sum(b["outstanding"] for b in items)}
