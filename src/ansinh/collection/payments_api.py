"""HTTP routes of payments: one payment from a bank's API, bank statement uploads, the suspense list, assignment
and reversal by an officer, and the VietQR code of a bill.

``POST /api/v1/payments/statements`` answers the statement report: 201 when applied, 200 when the same file
was already imported (nothing changed), 422 when refused (nothing written; every bad row in the body). The
import runs on a lane of worker threads of its own (``ANSINH_IMPORT_THREADS``, default 2), apart from the
threads of the other routes, and never on the event loop: a statement waiting for another one's lock stalls no
other request.

Scope: every route acts only on payments of the caller's org-unit subtree (see
:mod:`ansinh.collection.payments`: a matched payment belongs to its payer's office, one in suspense to its
receiving account's province office, or to national staff when the account names no province)."""

from __future__ import annotations

import hashlib
import os
from datetime import date
from typing import Annotated

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope, ensure_in_scope
from ansinh.bounds import Day, Offset, PositiveAmount, RecordId
from ansinh.collection import payments as service
from ansinh.collection.models import Bill, Payment
from ansinh.collection.vietqr import qr_svg, vietqr_payload
from ansinh.errors import NotFound
from ansinh.idempotency import IdempotencyKeyHeader, idempotent
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["payments"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Intake = Annotated[Principal, Depends(require(Permission.imports_run, scope=Scope.org_subtree))]
Officer = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
Reader = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
STATUS = {"applied": 201, "unchanged": 200, "rejected": 422}
IMPORT_THREADS_ENV = "ANSINH_IMPORT_THREADS"


def today() -> date:
    return clock.today()


def import_lane(request: Request) -> CapacityLimiter:
    """The threads that run statement imports (``ANSINH_IMPORT_THREADS``, default 2): bounded, and apart from
    the pool of the other routes, so that imports queued behind each other's lock never take the threads the
    other requests need."""
    lane = getattr(request.app.state, "import_lane", None)
    if lane is None:
        threads = int(os.environ.get(IMPORT_THREADS_ENV, "") or 2)
        lane = request.app.state.import_lane = CapacityLimiter(max(1, threads))
    return lane


class PaymentIn(BaseModel):
    bank_transaction_id: str = Field(min_length=1, max_length=64)
    paid_on: Day = Field(description="The day the money was received (not after today).")
    amount: PositiveAmount = Field(description="Whole dong, 1 to 10¹³.")
    payer_account: str | None = Field(default=None, max_length=40)
    reference_text: str | None = Field(default=None, max_length=300)
    receiving_account: str | None = Field(
        default=None, max_length=40,
        description="The agency's account credited (account or BIN:account); a payment no payer is matched "
                    "to waits in that account's province.")


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
    receiving_account: str | None = None
    allocated: int = 0


class AssignIn(BaseModel):
    payer_key: str = Field(min_length=3, max_length=32,
                           pattern=r"^(?:[EPH]:\d{1,18}|S:[0-9A-Za-z]{1,8}:[0-9A-Za-z_]{1,16})$",
                           description="E:<employer id>, P:<person id>, H:<household id> or "
                                       "S:<province>:<group>.")


class ReverseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=300)


def _out(session, payment: Payment) -> PaymentOut:
    allocated = sum(a.amount for a in service.payment_allocations(session, payment.id) if not a.reversed)
    return PaymentOut(id=payment.id, bank_transaction_id=payment.bank_transaction_id, paid_on=payment.paid_on,
                      amount=payment.amount, payer_account=payment.payer_account,
                      reference_text=payment.reference_text, payer_key=payment.payer_key,
                      matched_by=payment.matched_by, status=payment.status, province_2025=payment.province_2025,
                      receiving_account=payment.receiving_account, allocated=allocated)


@router.post("/payments", response_model=PaymentOut, status_code=201)
def receive_payment(body: PaymentIn, request: Request, session: DbSession, principal: Intake,
                    idempotency_key: IdempotencyKeyHeader = None) -> PaymentOut:
    """One payment notified by a bank; idempotent by bank transaction ID (the same one again answers the
    recorded payment; with another date or amount, 409), and by ``Idempotency-Key``."""
    def produce() -> PaymentOut:
        payment = service.record_payment(session, bank_transaction_id=body.bank_transaction_id,
                                         paid_on=body.paid_on, amount=body.amount,
                                         payer_account=body.payer_account, reference_text=body.reference_text,
                                         receiving_account=body.receiving_account, on=today(),
                                         principal=principal)
        return _out(session, payment)

    return idempotent(session, request, principal, idempotency_key, body, produce, status_code=201)


class _Refused(Exception):
    def __init__(self, report: service.StatementReport) -> None:
        super().__init__("statement refused")
        self.report = report


@router.post("/payments/statements", responses={201: {"description": "applied"}, 200: {"description": "unchanged"},
                                                422: {"description": "refused: every bad row"}})
async def upload_statement(request: Request, session: DbSession, principal: Intake,
                           file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx statement")],
                           idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Validate the whole statement, then record, match and allocate its payments, or write nothing. Only
    statements of the receiving accounts of the caller's province (all of them for national staff)."""
    content = await file.read()  # bounded by ANSINH_MAX_UPLOAD_BYTES (413 above)
    name = file.filename or "statement"
    sha256 = hashlib.sha256(content).hexdigest()

    def work() -> Response:
        # In a thread of the import lane: waiting for another import's lock blocks nobody else.
        service.prepare_import(session)
        known = service.statement_by_hash(session, sha256) is not None

        def produce() -> dict:
            report = service.import_statement(session, content=content, file_name=name,
                                              actor=principal.username, today=today(), principal=principal)
            if report.status == "rejected":
                raise _Refused(report)
            return report.to_json()

        try:
            answer = idempotent(session, request, principal, idempotency_key,
                                {"file": name, "sha256": sha256}, produce, status_code=200 if known else 201)
        except _Refused as refused:
            session.rollback()  # nothing written, nor the Idempotency-Key: the same request is refused again
            return JSONResponse(refused.report.to_json(), status_code=422)
        session.commit()
        if isinstance(answer, Response):
            return answer
        return JSONResponse(answer, status_code=200 if known else 201)

    return await to_thread.run_sync(work, limiter=import_lane(request))


@router.get("/payments/suspense", response_model=list[PaymentOut])
def suspense(session: DbSession, principal: Reader, limit: int = Query(100, ge=1, le=1000),
             offset: Offset = 0) -> list[PaymentOut]:
    """Payments no payer could be matched to that the caller may handle, oldest first."""
    waiting = service.list_suspense(session, principal=principal, limit=limit, offset=offset)
    return [_out(session, payment) for payment in waiting]


@router.get("/payments/{payment_id}", response_model=PaymentOut)
def read_payment(payment_id: RecordId, session: DbSession, principal: Reader) -> PaymentOut:
    """A payment of the caller's scope, with the amount allocated."""
    return _out(session, service.get_payment(session, payment_id, principal=principal))


@router.post("/payments/{payment_id}/assign", response_model=PaymentOut)
def assign(payment_id: RecordId, body: AssignIn, session: DbSession, principal: Officer) -> PaymentOut:
    """Assign a payment in suspense (of the caller's scope) to a payer of the caller's scope (``E:<employer
    id>``...); it is then allocated. A payment already assigned is a conflict (409)."""
    payment = service.assign_suspense(session, payment_id, body.payer_key, actor=principal.username,
                                      on=today(), principal=principal)
    return _out(session, payment)


@router.post("/payments/{payment_id}/reverse", response_model=PaymentOut)
def reverse(payment_id: RecordId, body: ReverseIn, session: DbSession, principal: Officer) -> PaymentOut:
    """Reverse a payment of the caller's scope: its allocations and receipt are undone by opposite postings
    (nothing is deleted). A payment already reversed is a conflict (409)."""
    payment = service.reverse_payment(session, payment_id, reason=body.reason, on=today(),
                                      actor=principal.username, principal=principal)
    return _out(session, payment)


@router.get("/bills/{bill_id}/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
def bill_qr(bill_id: RecordId, session: DbSession, principal: Reader) -> Response:
    """The bill's VietQR code: the agency's account, the bill's amount and reference."""
    bill = session.get(Bill, bill_id)
    if bill is None:
        raise NotFound("There is no bill {bill_id}.", bill_id=bill_id)
    ensure_in_scope(principal, session.get(OrgUnit, bill.org_unit_id))
    return Response(bill_qr_svg(bill), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def bill_payload(bill: Bill) -> str:
    """The VietQR payload of a bill (the first receiving account of the agency)."""
    account = service.collection_accounts()[0]
    return vietqr_payload(bank_bin=account.bank_bin, account=account.account,
                          amount=bill.total if bill.total > 0 else None, reference=bill.reference)


def bill_qr_svg(bill: Bill, *, scale: int = 4) -> str:
    """The SVG QR code of a bill, for its page and printable bill."""
    return qr_svg(bill_payload(bill), scale=scale, title=f"VietQR {bill.reference}")
