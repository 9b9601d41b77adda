"""HTTP routes of billing: start (or finish) a billing run, read a run and its exceptions, read a bill with
its lines. A province's runs are for its province office (and national staff); the country's for national
staff."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope, ensure_in_scope, ensure_permission
from ansinh.bounds import Offset, RecordId, check_day
from ansinh.collection import billing
from ansinh.collection.models import Bill, BillingRun
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.idempotency import IdempotencyKeyHeader, idempotent
from ansinh.registry.models import Employer
from ansinh.registry.service import ensure_employer_access
from ansinh.schemas import ErrorBody
from ansinh.portal.employer.deps import require_duty

router = APIRouter(prefix="/api/v1", tags=["billing"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
_PERIOD = re.compile(r"^\d{4}-\d{2}$")


class BillingRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(max_length=7, description="The month billed, YYYY-MM.", examples=["2026-01"])
    province: str | None = Field(default=None, max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$",
                                 description="2025 province code; none for the country.")


class BillLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: int | None
    fund: str
    side: str
    insured_salary: int | None
    amount: int
    for_period: date
    adjustment: bool


class BillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int | None
    period: date
    payer_type: str
    payer_key: str
    employer_id: int | None
    person_id: int | None
    household_id: int | None
    reference: str
    due_date: date
    employer_amount: int
    employee_amount: int
    adjustment_amount: int
    total: int
    workers: int
    province_2025: str | None
    created_at: datetime
    lines: list[BillLineOut] = []


def parse_period(text: str, field: str = "period") -> date:
    if not _PERIOD.match(text or ""):
        raise ValidationFailed(field, "A period is a month written YYYY-MM; got {value}.", value=text)
    try:
        return check_day(date(int(text[:4]), int(text[5:7]), 1))
    except ValueError:
        raise ValidationFailed(field, "A period is a month written YYYY-MM; got {value}.", value=text) from None


@router.post("/billing/runs", status_code=status.HTTP_200_OK)
def start_run(body: BillingRunIn, request: Request, session: DbSession,
              principal: Annotated[Principal, Depends(require(Permission.participation_manage,
                                                              scope=Scope.org_subtree))],
              idempotency_key: IdempotencyKeyHeader = None) -> dict:
    """Bill a month for a province (its province office or national staff) or the whole country (national
    staff). Idempotent: a completed run returns its summary and writes nothing; a run that stopped midway
    finishes its missing chunks; a run ``completed_with_exceptions`` bills its exceptions again (those payers
    only). A run being billed by another request is a conflict (409)."""
    period = parse_period(body.period)
    billing.ensure_run_scope(session, principal, body.province)

    def produce() -> dict:
        return billing.run_billing(request.app.state.database, period=period, province=body.province,
                                   actor=principal.username, today=clock.today())

    return idempotent(session, request, principal, idempotency_key, body, produce)


RunReader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]


def _run(session, principal: Principal, run_id: int) -> BillingRun:
    run = billing.get_run(session, run_id)
    if run is None:
        raise NotFound("Billing run {id} does not exist.", id=run_id)
    billing.ensure_run_scope(session, principal, run.province)
    return run


@router.get("/billing/runs/{run_id}")
def read_run(run_id: RecordId, session: DbSession, principal: RunReader) -> dict:
    """A run's summary (with its first exceptions): a province's runs for its province office and national
    staff, the country's for national staff."""
    return billing.run_summary(session, _run(session, principal, run_id))


@router.get("/billing/runs/{run_id}/exceptions")
def read_run_exceptions(run_id: RecordId, session: DbSession, principal: RunReader,
                        include_resolved: bool = False, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                        offset: Offset = 0) -> list[dict]:
    """The payers the run could not bill, each with the reason (open ones; with ``include_resolved``, also
    those billed since)."""
    return billing.list_exceptions(session, _run(session, principal, run_id), open_only=not include_resolved,
                                   limit=limit, offset=offset)


@router.get("/bills/{bill_id}", response_model=BillOut)
def read_bill(bill_id: RecordId, session: DbSession,
              principal: Annotated[Principal, Depends(require_duty("accounting", scope=(Scope.org_subtree, Scope.own_employer)))]):
    """A bill with its lines: agency staff with participation.read within their scope; an employer user for
    their own employer's bills."""
    bill = session.get(Bill, bill_id)
    if bill is None:
        raise NotFound("Bill {id} does not exist.", id=bill_id)
    if principal.is_agency_staff:
        ensure_permission(principal, Permission.participation_read)
        ensure_in_scope(principal, session.get(OrgUnit, bill.org_unit_id))
    elif bill.employer_id is None:
        raise PermissionDenied("You may only see your own employer.")
    else:
        ensure_employer_access(session, principal, session.get(Employer, bill.employer_id))
    out = BillOut.model_validate(bill)
    out.lines = [BillLineOut.model_validate(line) for line in billing.bill_lines(session, bill.id)]
    return out
