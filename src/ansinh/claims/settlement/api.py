"""HTTP routes of the monthly settlement: ``GET|POST /api/v1/claims/settlements`` (the settlements the caller may
see, with their totals; settle a facility's month: 201, or 200 with the settlement already made), ``GET
/api/v1/claims/settlements/{id}`` (one, with the advances it offset), ``GET
/api/v1/claims/settlements/{id}/export?format=xlsx|pdf``, and ``GET|POST /api/v1/claims/advances``.

Who: settling and advances, ``claims.settle`` (a province's officers for its facilities; national staff); reading,
``claims.read`` (staff their subtree's, a facility user its own facility's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Offset, RecordId
from ansinh.claims.settlement import service
from ansinh.claims.settlement.schemas import MONTH_PATTERN, AdvanceIn, SettleIn
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/claims", tags=["claims"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
    422: {"model": ErrorBody}})
Settler = Annotated[Principal, Depends(require(Permission.claims_settle, scope=Scope.org_subtree))]
Reader = Annotated[Principal, Depends(require(Permission.claims_read, scope=(Scope.own_facility, Scope.org_subtree)))]
Month = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]
Facility = Annotated[str | None, Query(pattern=r"^\d{5}$")]


@router.get("/settlements")
def list_settlements(session: DbSession, principal: Reader, month: Month = None, facility_code: Facility = None,
                     limit: int = Query(100, ge=1, le=1000), offset: Offset = 0) -> dict:
    """The settlements the caller may see (newest month first) and their totals."""
    chosen = service.parse_month(month) if month else None
    rows = session.scalars(service.settlements_query(principal, month=chosen, facility_code=facility_code)
                           .limit(limit).offset(offset))
    return {"settlements": [service.settlement_json(row) for row in rows],
            "totals": service.settlement_totals(session, principal, month=chosen, facility_code=facility_code)}


@router.post("/settlements", status_code=201, responses={200: {"description": "settled before: unchanged"},
                                                         409: {"description": "claims not yet appraised"}})
def settle(body: SettleIn, session: DbSession, principal: Settler) -> JSONResponse:
    """Settle a facility's month: its current claims must all be appraised; the month is then closed."""
    done = service.settle_month(session, principal=principal, facility_code=body.facility_code,
                                month=service.parse_month(body.month), on=clock.today())
    answer = service.settlement_json(done.settlement) | {"replayed": done.replayed}
    return JSONResponse(answer, status_code=200 if done.replayed else 201)


@router.get("/settlements/{settlement_id}")
def read_settlement(settlement_id: RecordId, session: DbSession, principal: Reader) -> dict:
    """A settlement and the advances it offset."""
    row = service.get_settlement(session, principal, settlement_id)
    offsets = [item | {"paid_on": item["paid_on"].isoformat()} for item in service.settlement_offsets(session, row)]
    return service.settlement_json(row) | {"offsets": offsets}


@router.get("/settlements/{settlement_id}/export")
def export_settlement(settlement_id: RecordId, session: DbSession, principal: Reader,
                      format: Annotated[str, Query(pattern="^(xlsx|pdf)$")] = "xlsx") -> Response:
    """The settlement sheet: Excel (with the claims settled) or PDF."""
    from ansinh.claims.settlement.pages import export_response

    return export_response(session, service.get_settlement(session, principal, settlement_id), format)


@router.post("/advances", status_code=201, responses={200: {"description": "recorded before: unchanged"}})
def record_advance(body: AdvanceIn, session: DbSession, principal: Settler) -> JSONResponse:
    """Record an advance paid to a facility for a month or a quarter (once per reference)."""
    done = service.record_advance(
        session, principal=principal, facility_code=body.facility_code, reference=body.reference,
        paid_on=body.paid_on, amount=body.amount, period_from=service.parse_month(body.period_from, "period_from"),
        period_to=service.parse_month(body.period_to, "period_to") if body.period_to else None)
    answer = service.advance_json(done.advance) | {"replayed": done.replayed}
    return JSONResponse(answer, status_code=200 if done.replayed else 201)


@router.get("/advances")
def list_advances(session: DbSession, principal: Reader, facility_code: Facility = None,
                  limit: int = Query(100, ge=1, le=1000), offset: Offset = 0) -> list[dict]:
    """The advances the caller may see, newest first."""
    rows = session.scalars(service.advances_query(principal, facility_code=facility_code).limit(limit).offset(offset))
    return [service.advance_json(row) for row in rows]
