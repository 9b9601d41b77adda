"""HTTP routes of the yearly budgets of HI medical costs: ``POST /api/v1/claims/budgets`` records a new version of a
province's estimate (national staff) or of a facility's indicative figure (the officers of its office, or above);
``GET /api/v1/claims/budgets?province=&year=&on=`` answers the versions in force and their history (agency staff of
the province; national staff: every province)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Day
from ansinh.claims.budgets import service
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/claims", tags=["claims"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Manager = Annotated[Principal, Depends(require(Permission.claims_budgets_manage, scope=Scope.org_subtree))]
Reader = Annotated[Principal, Depends(require(Permission.claims_budgets_read, scope=Scope.org_subtree))]


class BudgetIn(BaseModel):
    province: str = Field(pattern=r"^\d{2}$", description="The province's code (2025)")
    year: int = Field(ge=service.FIRST_YEAR, le=service.LAST_YEAR)
    facility_code: str | None = Field(default=None, pattern=r"^\d{5}$",
                                      description="A facility's indicative figure (none: the province's estimate)")
    amount: int = Field(ge=0, le=service.MAX_BUDGET, description="Whole dong")
    source: str = Field(min_length=1, max_length=service.MAX_SOURCE, description="The decision that sets it")
    valid_from: Day | None = Field(default=None, description="The day it takes effect (default 1 January)")


@router.post("/budgets", status_code=201)
def set_budget(body: BudgetIn, session: DbSession, principal: Manager) -> dict:
    """Record a new version of a figure (the earlier ones are kept); the figure already in force with the same
    amount, source and day is answered unchanged."""
    budget = service.set_budget(session, province=body.province, year=body.year, amount=body.amount,
                                source=body.source, valid_from=body.valid_from or date(body.year, 1, 1),
                                facility_code=body.facility_code, principal=principal)
    return service.budget_json(budget)


@router.get("/budgets")
def read_budgets(session: DbSession, principal: Reader,
                 province: Annotated[str, Query(pattern=r"^\d{2}$", description="The province's code (2025)")],
                 year: Annotated[int, Query(ge=service.FIRST_YEAR, le=service.LAST_YEAR)],
                 on: Annotated[Day | None, Query(description="The versions in force on this day (default: the "
                                                             "latest)")] = None) -> dict:
    """The province's estimate for the year, its facilities' figures, what is left to assign, and every version."""
    return service.budget_for(session, province, year, on=on, principal=principal).to_json()
