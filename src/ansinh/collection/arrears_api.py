"""HTTP routes of arrears: the overdue-rate report, a payer's account, the debtor list files, write-offs and
inspection cases. Every route acts within the caller's scope: officers below national level read and change
only the bills, payers and cases of their org-unit subtree, and ask only for their own province."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from ansinh import clock
from ansinh.audit.service import record_event
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Day, Offset, PositiveAmount, RecordId, RecordRef
from ansinh.collection import arrears, inspections
from ansinh.collection.debtors import attachment
from ansinh.collection.models import Bill
from ansinh.errors import NotFound, ValidationFailed
from ansinh.idempotency import IdempotencyKeyHeader, idempotent
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["arrears"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Reader = Annotated[Principal, Depends(require(Permission.reports_view, scope=Scope.org_subtree))]
AccountReader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Province = Annotated[str | None, Query(max_length=8, description="2025 province code (officers: their own).")]


def today() -> date:
    return clock.today()


@router.get("/arrears/report")
def report(session: DbSession, principal: Reader, on: Day | None = None, province: Province = None,
           since: Day | None = None) -> dict:
    """Due, paid, arrears, interest, overdue rates (with and without interest) on a date, by province, and the
    same on that date last year. Officers below national level see their own scope only."""
    return arrears.arrears_report(session, principal, on=on or today(), province=province, since=since)


@router.get("/arrears/trend")
def trend(session: DbSession, principal: Reader, on: Day | None = None, province: Province = None,
          months: Annotated[int, Query(ge=1, le=36)] = 12) -> list[dict]:
    """The headline figures at the end of each of the last months (for charts)."""
    return arrears.arrears_trend(session, principal, on=on or today(), months=months, province=province)


@router.get("/arrears/overdue-employers")
def overdue(session: DbSession, principal: Reader, on: Day | None = None, province: Province = None,
            min_months: Annotated[int, Query(ge=1, le=120)] = 3) -> list[dict]:
    """Employers overdue by ``min_months`` months or more (for inspection), largest debts first."""
    return arrears.overdue_employers(session, principal, on=on or today(), min_months=min_months,
                                     province=province)


@router.get("/arrears/accounts/{payer_key}")
def account(payer_key: Annotated[str, Path(max_length=32)], session: DbSession, principal: AccountReader,
            on: Day | None = None) -> dict:
    """A payer's account (``E:<employer id>``, ``P:<person id>``, ``H:<household id>``, ``S:<province>:<group>``):
    billed, paid, written off, balance, prepayment, arrears by age, interest, bills."""
    return arrears.payer_account(session, payer_key, on=on or today(), principal=principal)


def _debtor_rows(session, principal: Principal, on: date | None, province: str | None, min_months: int,
                 kind: str) -> tuple[list[dict], date]:
    day = on or today()
    rows = arrears.debtor_list(session, principal, on=day, province=province, min_months=min_months)
    record_event(session, "export", "debtor_list", None, org_unit_id=principal.org_unit_id,
                 details={"on": day.isoformat(), "province": province, "rows": len(rows), "format": kind})
    return rows, day


@router.get("/arrears/debtors.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The debtor list (Excel)."}})
def debtors_xlsx(session: DbSession, principal: Reader, on: Day | None = None, province: Province = None,
                 min_months: Annotated[int, Query(ge=1, le=120)] = 1) -> Response:
    from ansinh.collection.debtors import debtors_xlsx as render

    rows, day = _debtor_rows(session, principal, on, province, min_months, "xlsx")
    code, name = arrears.debtor_list_place(session, principal, province)
    return Response(render(rows, on=day, province=code, province_name=name, min_months=min_months),
                    media_type=XLSX, headers={
        "Content-Disposition": attachment(f"debtors-{province or 'all'}-{day.isoformat()}.xlsx")})


@router.get("/arrears/debtors.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "The debtor list (PDF)."}})
def debtors_pdf(session: DbSession, principal: Reader, on: Day | None = None, province: Province = None,
                min_months: Annotated[int, Query(ge=1, le=120)] = 1) -> Response:
    from ansinh.collection.debtors import debtors_pdf as render

    rows, day = _debtor_rows(session, principal, on, province, min_months, "pdf")
    code, name = arrears.debtor_list_place(session, principal, province)
    return Response(render(rows, on=day, province=code, province_name=name, min_months=min_months),
                    media_type="application/pdf", headers={
        "Content-Disposition": attachment(f"debtors-{province or 'all'}-{day.isoformat()}.pdf")})


# ------------------------------------------------------------------------------------------------ write-offs
class WriteOffIn(BaseModel):
    amount: PositiveAmount = Field(description="Dong written off (at most what the bill has outstanding).")
    reason: str = Field(min_length=1, max_length=300)
    on: Day | None = Field(None, description="The day of the decision (not after today); defaults to today.")


@router.post("/bills/{bill_id}/write-offs", status_code=status.HTTP_201_CREATED)
def write_off(bill_id: RecordId, body: WriteOffIn, request: Request, session: DbSession, principal: Manager,
              idempotency_key: IdempotencyKeyHeader = None) -> dict:
    """Write off part or all of a bill's outstanding (a bill of the caller's scope): no interest runs on it
    after the date. Nothing left outstanding is a conflict (409); more than is outstanding, 422."""
    day = body.on or today()
    if day > today():
        raise ValidationFailed("on", "The date {value} is after today.", value=day)

    def produce() -> dict:
        bill = session.get(Bill, bill_id)
        if bill is None:
            raise NotFound("Bill {id} does not exist.", id=bill_id)
        record = arrears.write_off(session, payer_key=bill.payer_key, bill_id=bill_id, amount=body.amount,
                                   reason=body.reason, on=day, actor=principal.username, principal=principal)
        return {"id": record.id, "bill_id": record.bill_id, "payer_key": record.payer_key,
                "amount": record.amount, "written_off_on": record.written_off_on.isoformat(),
                "reason": record.reason, "decided_by": record.decided_by}

    return idempotent(session, request, principal, idempotency_key, body, produce, status_code=201)


# --------------------------------------------------------------------------------------------- inspections
class CaseIn(BaseModel):
    employer_id: RecordRef
    opened_on: Day | None = Field(None, description="Defaults to today.")


class FindingsIn(BaseModel):
    findings: str = Field(max_length=4000)


class DecisionIn(BaseModel):
    kind: Literal["payment_plan", "fine", "referral"]
    amount: PositiveAmount | None = Field(None, description="Dong.")
    due: Day | None = None
    note: str | None = Field(None, max_length=1000)


class PaymentLinkIn(BaseModel):
    payment_id: RecordRef


class CloseIn(BaseModel):
    closed_on: Day | None = Field(None, description="Defaults to today.")


def _case(session, case) -> dict:
    return inspections.case_summary(session, case, on=today())


@router.get("/inspections")
def list_cases(session: DbSession, principal: Reader, employer_id: RecordRef | None = None,
               status_: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Offset = 0) -> list[dict]:
    cases = inspections.list_cases(session, principal, employer_id=employer_id, status=status_, limit=limit,
                                   offset=offset)
    return [_case(session, case) for case in cases]


@router.post("/inspections", status_code=status.HTTP_201_CREATED)
def open_case(body: CaseIn, request: Request, session: DbSession, principal: Manager,
              idempotency_key: IdempotencyKeyHeader = None) -> dict:
    """Open an inspection case for an employer of the caller's scope (one open case per employer: 409)."""
    def produce() -> dict:
        case = inspections.open_case(session, principal, employer_id=body.employer_id,
                                     on=body.opened_on or today())
        return _case(session, case)

    return idempotent(session, request, principal, idempotency_key, body, produce, status_code=201)


@router.get("/inspections/{case_id}")
def get_case(case_id: RecordId, session: DbSession, principal: Reader) -> dict:
    return _case(session, inspections.get_case(session, principal, case_id))


@router.post("/inspections/{case_id}/findings")
def record_findings(case_id: RecordId, body: FindingsIn, session: DbSession, principal: Manager) -> dict:
    return _case(session, inspections.record_findings(session, principal, case_id, body.findings))


@router.post("/inspections/{case_id}/decisions")
def add_decision(case_id: RecordId, body: DecisionIn, request: Request, session: DbSession,
                 principal: Manager, idempotency_key: IdempotencyKeyHeader = None) -> dict:
    """Add a decision to an open case (the same decision twice is one)."""
    def produce() -> dict:
        return _case(session, inspections.add_decision(session, principal, case_id, kind=body.kind,
                                                       amount=body.amount, due=body.due, note=body.note))

    return idempotent(session, request, principal, idempotency_key, body, produce)


@router.post("/inspections/{case_id}/payments")
def link_payment(case_id: RecordId, body: PaymentLinkIn, request: Request, session: DbSession,
                 principal: Manager, idempotency_key: IdempotencyKeyHeader = None) -> dict:
    """Link a payment of the case's employer to an open case (linking it twice is linking it once)."""
    def produce() -> dict:
        return _case(session, inspections.link_payment(session, principal, case_id, body.payment_id))

    return idempotent(session, request, principal, idempotency_key, body, produce)


@router.post("/inspections/{case_id}/close")
def close_case(case_id: RecordId, body: CloseIn, session: DbSession, principal: Manager) -> dict:
    return _case(session, inspections.close_case(session, principal, case_id, on=body.closed_on or today()))

