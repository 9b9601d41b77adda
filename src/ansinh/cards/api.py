"""HTTP routes of health insurance cards: lookup at the desk, lookup KPIs, issuance."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal
from ansinh.cards import service
from ansinh.db import utcnow
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/cards", tags=["cards"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}})


@router.get("/lookup")
def lookup(session: DbSession, principal: Annotated[Principal, Depends(require(Permission.cards_lookup))],
           citizen_id: str | None = None, card_code: str | None = None, si_number: str | None = None,
           on: date | None = None) -> dict:
    """Covered or not on a day (and why not), with the card, benefit level and identity for the desk. An unknown
    person is a normal answer; a malformed key or a date outside the rules is refused. Every lookup is logged."""
    facility = principal.subject_ref if Role.facility in principal.roles else None
    return service.lookup(session, principal, on=on or utcnow().date(), citizen_id=citizen_id, card_code=card_code,
                          si_number=si_number, facility_code=facility)


@router.get("/kpis")
def kpis(session: DbSession, principal: Annotated[Principal, Depends(require(Permission.reports_view))],
         since: date, until: date, by: str = Query("province", pattern="^(province|facility)$")) -> list[dict]:
    """Lookups, successful lookups and the success rate per province (or facility) and month."""
    return service.lookup_kpis(session, principal, since=since, until=until, by=by)


@router.post("/issue")
def issue(session: DbSession, _: Annotated[Principal, Depends(require(Permission.participation_manage))],
          on: date | None = None) -> dict:
    """Issue or renew the cards of everyone insured on a day (unchanged cards stay)."""
    return service.issue_cards(session, on=on or utcnow().date())
