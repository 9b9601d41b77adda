"""HTTP routes of payments: one payment from a bank's API, bank statement uploads, the suspense list, assignment
and reversal by an officer, and the VietQR code of a bill.

``POST /api/v1/payments/statements`` answers the statement report: 201 when applied, 200 when the same file was
already imported (nothing changed), 422 when refused (nothing written; every bad row in the body)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ansinh.bounds import RecordId
from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope, ensure_in_scope
from ansinh.collection import payments as service
from ansinh.collection.models import Bill, Payment
from ansinh.collection.vietqr import qr_svg, vietqr_payload
from ansinh.errors import NotFound
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["payments"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Intake = Annotated[Principal, Depends(require(Permission.imports_run, scope=Scope.org_subtree))]
Officer = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
Reader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
STATUS = {"applied": 201, "unchanged": 200, "rejected": 422}


def today() -> date:
    return clock.today()


class PaymentIn(BaseModel):
    bank_transaction_id: str = Field(min_length=1, max_length=64)
    paid_on: date
    amount: int = Field(gt=0, description="whole dong")
    payer_account: str | None = Field(default=None, max_length=40)
    reference_text: str | None = Field(default=None, max_length=300)


class PaymentOut(BaseModel):
    id: int
    bank_transaction_id: str
    paid_on: date
    amount: int
    payer_account: str | None
    reference_text: str | None
    payer_key: str | None
    matched_by: str | None
    status: str
    province_2025: str | None
    allocated: int = 0


class AssignIn(BaseModel):
    payer_key: str = Field(min_length=3, max_length=32)


class ReverseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=300)


def _out(session, payment: Payment) -> PaymentOut:
    allocated = sum(a.amount for a in service.payment_allocations(session, payment.id) if not a.reversed)
    return PaymentOut(id=payment.id, bank_transaction_id=payment.bank_transaction_id, paid_on=payment.paid_on,
                      amount=payment.amount, payer_account=payment.payer_account,
                      reference_text=payment.reference_text, payer_key=payment.payer_key,
                      matched_by=payment.matched_by, status=payment.status, province_2025=payment.province_2025,
                      allocated=allocated)


@router.post("/payments", response_model=PaymentOut, status_code=201)
def receive_payment(body: PaymentIn, session: DbSession, _: Intake) -> PaymentOut:
    """One payment notified by a bank; idempotent by bank transaction ID (the same one again answers the
    recorded payment; with another date or amount, 409)."""
    payment = service.record_payment(session, bank_transaction_id=body.bank_transaction_id, paid_on=body.paid_on,
                                     amount=body.amount, payer_account=body.payer_account,
                                     reference_text=body.reference_text, on=today())
    return _out(session, payment)


@router.post("/payments/statements", responses={201: {"description": "applied"}, 200: {"description": "unchanged"},
                                                422: {"description": "refused: every bad row"}})
async def upload_statement(session: DbSession, principal: Intake,
                           file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx bank statement")]
                           ) -> JSONResponse:
    """Validate the whole statement, then record, match and allocate its payments, or write nothing."""
    content = await file.read()
    report = service.import_statement(session, content=content, file_name=file.filename or "statement",
                                      actor=principal.username, today=today())
    return JSONResponse(report.to_json(), status_code=STATUS[report.status])


@router.get("/payments/suspense", response_model=list[PaymentOut])
def suspense(session: DbSession, _: Reader, limit: int = Query(100, ge=1, le=1000),
             offset: int = Query(0, ge=0)) -> list[PaymentOut]:
    """Payments no payer could be matched to, oldest first, waiting for an officer."""
    return [_out(session, p) for p in service.list_suspense(session, limit=limit, offset=offset)]


@router.post("/payments/{payment_id}/assign", response_model=PaymentOut)
def assign(payment_id: RecordId, body: AssignIn, session: DbSession, principal: Officer) -> PaymentOut:
    """Assign a payment in suspense to a payer (``E:<employer id>``...); it is then allocated."""
    payment = service.assign_suspense(session, payment_id, body.payer_key, actor=principal.username, on=today())
    return _out(session, payment)


@router.post("/payments/{payment_id}/reverse", response_model=PaymentOut)
def reverse(payment_id: RecordId, body: ReverseIn, session: DbSession, principal: Officer) -> PaymentOut:
    """Reverse a payment: its allocations and receipt are undone by opposite postings (nothing is deleted)."""
    payment = service.reverse_payment(session, payment_id, reason=body.reason, on=today(), actor=principal.username)
    return _out(session, payment)


@router.get("/bills/{bill_id}/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
def bill_qr(bill_id: RecordId, session: DbSession, principal: Reader) -> Response:
    """The bill's VietQR code: the agency's account, the bill's amount and reference."""
    bill = session.get(Bill, bill_id)
    if bill is None:
        raise NotFound("There is no bill {bill_id}.", bill_id=bill_id)
    unit = session.get(OrgUnit, bill.org_unit_id)
    if unit is not None:
        ensure_in_scope(principal, unit)
    return Response(bill_qr_svg(bill), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=300"})


def bill_payload(bill: Bill) -> str:
    """The VietQR payload of a bill (the first receiving account of the agency)."""
    account = service.collection_accounts()[0]
    return vietqr_payload(bank_bin=account.bank_bin, account=account.account,
                          amount=bill.total if bill.total > 0 else None, reference=bill.reference)


def bill_qr_svg(bill: Bill, *, scale: int = 4) -> str:
    """The SVG QR code of a bill, for its page and printable bill."""
    return qr_svg(bill_payload(bill), scale=scale, title=f"VietQR {bill.reference}")
