"""HTTP routes of the facilities' price lists.

``POST /api/v1/claims/prices`` (multipart: ``file``, and ``facility`` the facility's code) imports a list, all rows or
none, and answers its report: 201 applied, 200 unchanged (the same file, or nothing new), 422 refused (every bad row,
nothing written). ``GET /api/v1/claims/prices?facility=&on=&kind=&code=`` answers the facility's prices in force on
a day (``history=true``: every price the items have had, superseded ones included).

Who: a provincial officer of the office that contracts the facility imports; agency staff of that subtree and the
facility's own users read; anyone else is refused (403; 404 for an unknown facility) and nothing changes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Day, Offset
from ansinh.claims.prices import service
from ansinh.claims.prices.models import PriceItem
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/claims", tags=["claims"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Importer = Annotated[Principal, Depends(require(Permission.claims_prices_manage, scope=Scope.org_subtree))]
Reader = Annotated[Principal, Depends(require(Permission.claims_prices_read,
                                              scope=(Scope.org_subtree, Scope.own_facility)))]
STATUS = {"applied": 201, "unchanged": 200, "rejected": 422}


class PriceItemOut(BaseModel):
    id: int
    list_id: int
    facility_code: str
    kind: str
    code: str
    name: str
    unit: str | None
    price: int
    tender: str | None
    valid_from: date
    valid_to: date | None
    superseded_from: date | None
    in_force_until: date | None


class PricesOut(BaseModel):
    facility: str
    on: date | None
    total: int
    items: list[PriceItemOut]


@router.post("/prices", responses={201: {"description": "applied"},
                                   200: {"description": "unchanged: the same file, or every row already recorded"},
                                   422: {"description": "refused: every bad row, nothing written"}})
def import_prices(session: DbSession, principal: Importer,
                  file: Annotated[UploadFile, File(description="CSV (UTF-8, comma or semicolon) or .xlsx")],
                  facility: Annotated[str, Form(min_length=1, max_length=20,
                                                description="The facility's code, e.g. 01001")]) -> JSONResponse:
    """Import a facility's price list, all rows or none (columns: kind, code, name, price, valid_from; optional
    unit, valid_to, tender). A later list supersedes the earlier prices of the same items from its own first day;
    the same file again changes nothing."""
    report = service.import_price_list(session, content=file.file.read(), file_name=file.filename or "upload",
                                       facility_code=facility.strip(), principal=principal)
    if report.status == "rejected":
        session.rollback()
    return JSONResponse(report.to_json(), status_code=STATUS[report.status])


@router.get("/prices", response_model=PricesOut)
def read_prices(session: DbSession, principal: Reader,
                facility: Annotated[str, Query(min_length=1, max_length=20, description="The facility's code")],
                on: Annotated[Day | None, Query(description="The day (default today)")] = None,
                kind: Annotated[str | None, Query(max_length=20, description="service, drug, supply or bed")] = None,
                code: Annotated[str | None, Query(max_length=50, description="One item's code")] = None,
                history: Annotated[bool, Query(description="Every price the items have had, superseded ones "
                                                           "included (``on`` is then ignored)")] = False,
                limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000, offset: Offset = 0) -> PricesOut:
    """The facility's prices in force on a day (or their whole history), by kind and code."""
    found = service.readable_facility(session, principal, facility.strip())
    chosen = service.check_kind(kind)
    day = None if history else (on or clock.today())
    if history:
        from sqlalchemy import select

        stmt = select(PriceItem).where(PriceItem.facility_code == found.code)
        if chosen:
            stmt = stmt.where(PriceItem.kind == chosen)
    else:
        stmt = service.prices_in_force(found.code, day, kind=chosen)
    if code:
        stmt = stmt.where(PriceItem.code == code.strip())
    from ansinh.web.lists import count_rows

    total = count_rows(session, stmt)
    items = session.scalars(stmt.order_by(PriceItem.kind, PriceItem.code, PriceItem.valid_from, PriceItem.id)
                            .limit(limit).offset(offset))
    return PricesOut(facility=found.code, on=day, total=total,
                     items=[PriceItemOut(**service.item_json(item)) for item in items])
