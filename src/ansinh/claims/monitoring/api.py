"""HTTP routes of cost monitoring: ``GET /api/v1/claims/costs?month=&province=&facility=`` (the facilities' costs of a
settlement month against their peers, with alerts; with ``facility`` also its 12-month trend),
``GET /api/v1/claims/frequent-cards?month=&province=`` (cards used more than the many-visits figure; audited) and
``GET /api/v1/claims/budget-use?year=&on=&province=`` (spending against the yearly budgets pro-rated to the day).

Who: ``claims.monitor`` — national and provincial officers, for the facilities of their subtree; a facility user its
own facility's costs and the anonymous peer medians (not the cards, not the budgets). Another province: 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Day
from ansinh.claims.monitoring import service
from ansinh.claims.monitoring.schemas import (BudgetUseOut, CostsOut, FacilityQuery, FrequentCardsOut, MonthQuery,
                                              ProvinceQuery)
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/claims", tags=["claims"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Monitor = Annotated[Principal, Depends(require(Permission.claims_monitor, scope=(Scope.org_subtree,
                                                                                   Scope.own_facility)))]
AgencyMonitor = Annotated[Principal, Depends(require(Permission.claims_monitor, scope=Scope.org_subtree))]


@router.get("/costs", response_model=CostsOut)
def read_costs(session: DbSession, principal: Monitor, month: MonthQuery, province: ProvinceQuery = None,
               facility: FacilityQuery = None) -> dict:
    """The facilities' costs of the month: visits, cost per visit, stay, growth, peer medians and alerts."""
    report = service.facility_costs(session, principal=principal, month=month, province=province,
                                    facility_code=facility)
    answer = report.to_json()
    if facility:
        answer["trend"] = service.facility_trend(session, principal=principal, facility_code=facility, month=month)
    return answer


@router.get("/frequent-cards", response_model=FrequentCardsOut)
def read_frequent_cards(session: DbSession, principal: AgencyMonitor, month: MonthQuery,
                        province: ProvinceQuery = None) -> dict:
    """The cards used more than the many-visits figure in the month, the most used first (the read is audited)."""
    return service.frequent_cards(session, principal=principal, month=month, province=province)


@router.get("/budget-use", response_model=BudgetUseOut)
def read_budget_use(session: DbSession, principal: AgencyMonitor,
                    year: Annotated[int, Query(ge=service.FIRST_YEAR, le=service.LAST_YEAR)],
                    on: Annotated[Day | None, Query(description="The day (default today)")] = None,
                    province: ProvinceQuery = None) -> dict:
    """Spending of the year to the day against each province's estimate and each facility's figure, pro-rated."""
    return service.budget_use(session, principal=principal, year=year, on=on or clock.today(),
                              province=province).to_json()
