"""HTTP routes of arrears: the overdue-rate report, a payer's account, the debtor list files, inspection cases."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from ansinh.bounds import Day, RecordId
from ansinh import clock
from ansinh.audit.service import record_event
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope, ensure_in_scope
from ansinh.collection import arrears, inspections
from ansinh.collection.models import Bill
from ansinh.errors import NotFound
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["arrears"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Reader = Annotated[Principal, Depends(require(Permission.reports_view, scope=Scope.org_subtree))]
AccountReader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def today() -> date:
    return clock.today()


@router.get("/arrears/report")
def report(session: DbSession, principal: Reader, on: Day | None = None, province: str | None = None,
           since: Day | None = None) -> dict:
    """Due, paid, arrears, interest, overdue rates (with and without interest) on a date, by province, and the
    same on that date last year. Officers below national level see their own scope only."""
    return arrears.arrears_report(session, principal, on=on or today(), province=province, since=since)


@router.get("/arrears/trend")
def trend(session: DbSession, principal: Reader, on: Day | None = None, province: str | None = None,
          months: Annotated[int, Query(ge=1, le=36)] = 12) -> list[dict]:
    """The headline figures at the end of each of the last months (for charts)."""
    return arrears.arrears_trend(session, principal, on=on or today(), months=months, province=province)


@router.get("/arrears/overdue-employers")
def overdue(session: DbSession, principal: Reader, on: Day | None = None, province: str | None = None,
            min_months: Annotated[int, Query(ge=1, le=120)] = 3) -> list[dict]:
    """Employers overdue by ``min_months`` months or more (for inspection), largest debts first."""
    return arrears.overdue_employers(session, principal, on=on or today(), min_months=min_months,
                                     province=province)


def _ensure_payer_in_scope(session, principal: Principal, payer_key: str) -> None:
    units = session.scalars(select(Bill.org_unit_id).where(Bill.payer_key == payer_key).distinct()).all()
    if not units:
        raise NotFound("No account for payer {payer_key}.", payer_key=payer_key)
    for unit_id in units:
        ensure_in_scope(principal, session.get(OrgUnit, unit_id))


@router.get("/arrears/accounts/{payer_key}")
def account(payer_key: str, session: DbSession, principal: AccountReader, on: Day | None = None) -> dict:
    """A payer's account (``E:<employer id>``, ``P:<person id>``, ``H:<household id>``, ``S:<province>:<group>``):
    billed, paid, written off, balance, prepayment, arrears by age, interest, bills."""
    _ensure_payer_in_scope(session, principal, payer_key)
    return arrears.payer_account(session, payer_key, on=on or today())


def _debtor_rows(session, principal: Principal, on: date | None, province: str | None, min_months: int,
                 kind: str) -> tuple[list[dict], date]:
    day = on or today()
    rows = arrears.debtor_list(session, principal, on=day, province=province, min_months=min_months)
    record_event(session, "export", "debtor_list", None, org_unit_id=principal.org_unit_id,
                 details={"on": day.isoformat(), "province": province, "rows": len(rows), "format": kind})
    return rows, day


@router.get("/arrears/debtors.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The debtor list (Excel)."}})
def debtors_xlsx(session: DbSession, principal: Reader, on: Day | None = None, province: str | None = None,
                 min_months: Annotated[int, Query(ge=1, le=120)] = 1) -> Response:
    from ansinh.collection.debtors import debtors_xlsx as render

    rows, day = _debtor_rows(session, principal, on, province, min_months, "xlsx")
    return Response(render(rows, on=day, province=province), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="debtors-{province or "all"}-{day.isoformat()}.xlsx"'})


@router.get("/arrears/debtors.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "The debtor list (PDF)."}})
def debtors_pdf(session: DbSession, principal: Reader, on: Day | None = None, province: str | None = None,
                min_months: Annotated[int, Query(ge=1, le=120)] = 1) -> Response:
    from ansinh.collection.debtors import debtors_pdf as render

    rows, day = _debtor_rows(session, principal, on, province, min_months, "pdf")
    return Response(render(rows, on=day, province=province), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="debtors-{province or "all"}-{day.isoformat()}.pdf"'})


# --------------------------------------------------------------------------------------------- inspections
class CaseIn(BaseModel):
    employer_id: int
    opened_on: date | None = Field(None, description="Defaults to today.")


class FindingsIn(BaseModel):
    findings: str = Field(max_length=4000)


class DecisionIn(BaseModel):
    kind: Literal["payment_plan", "fine", "referral"]
    amount: int | None = Field(None, ge=0, description="Dong.")
    due: date | None = None
    note: str | None = Field(None, max_length=1000)


class PaymentLinkIn(BaseModel):
    payment_id: int


class CloseIn(BaseModel):
    closed_on: date | None = Field(None, description="Defaults to today.")


def _case(session, case) -> dict:
    return inspections.case_summary(session, case, on=today())


@router.get("/inspections")
def list_cases(session: DbSession, principal: Reader, employer_id: int | None = None,
               status_: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0)] = 0
               ) -> list[dict]:
    cases = inspections.list_cases(session, principal, employer_id=employer_id, status=status_, limit=limit,
                                   offset=offset)
    return [_case(session, case) for case in cases]


@router.post("/inspections", status_code=status.HTTP_201_CREATED)
def open_case(body: CaseIn, session: DbSession, principal: Manager) -> dict:
    case = inspections.open_case(session, principal, employer_id=body.employer_id, on=body.opened_on or today())
    return _case(session, case)


@router.get("/inspections/{case_id}")
def get_case(case_id: RecordId, session: DbSession, principal: Reader) -> dict:
    return _case(session, inspections.get_case(session, principal, case_id))


@router.post("/inspections/{case_id}/findings")
def record_findings(case_id: RecordId, body: FindingsIn, session: DbSession, principal: Manager) -> dict:
    return _case(session, inspections.record_findings(session, principal, case_id, body.findings))


@router.post("/inspections/{case_id}/decisions")
def add_decision(case_id: RecordId, body: DecisionIn, session: DbSession, principal: Manager) -> dict:
    return _case(session, inspections.add_decision(session, principal, case_id, kind=body.kind, amount=body.amount,
                                                   due=body.due, note=body.note))


@router.post("/inspections/{case_id}/payments")
def link_payment(case_id: RecordId, body: PaymentLinkIn, session: DbSession, principal: Manager) -> dict:
    return _case(session, inspections.link_payment(session, principal, case_id, body.payment_id))


@router.post("/inspections/{case_id}/close")
def close_case(case_id: RecordId, body: CloseIn, session: DbSession, principal: Manager) -> dict:
    return _case(session, inspections.close_case(session, principal, case_id, on=body.closed_on or today()))

