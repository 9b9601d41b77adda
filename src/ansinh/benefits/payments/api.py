"""HTTP routes of benefit payments, under ``/api/v1/benefits``: the monthly payroll and its runs, ordering one-off
payments, payments (filtered) and their re-issue, payment files to banks and paying points, the banks' result
files, reconciliation, beneficiaries' bank accounts, monthly entitlements and overpayments.

Paying (``benefits.pay``) is agency staff's, within their org subtree (a province's payroll for its province office
and national staff; the country's for national staff). Reading (``benefits.read``): staff their subtree's records, a
citizen their own payments and accounts."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.benefits.payments import service
from ansinh.bounds import Offset, RecordId, RecordRef, check_day
from ansinh.errors import ValidationFailed
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/benefits", tags=["benefit payments"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
    422: {"model": ErrorBody}})
_MONTH = re.compile(r"^\d{4}-\d{2}$")

Payer = Annotated[Principal, Depends(require(Permission.benefits_pay, scope=Scope.org_subtree))]
Reader = Annotated[Principal, Depends(require(Permission.benefits_read, scope=(Scope.org_subtree,
                                                                               Scope.own_person)))]
StaffReader = Annotated[Principal, Depends(require(Permission.benefits_read, scope=Scope.org_subtree))]


def _month(text: str, field: str = "month") -> date:
    if not _MONTH.match(text or ""):
        raise ValidationFailed(field, "A month is written YYYY-MM; got {value}.", value=text)
    try:
        return check_day(date(int(text[:4]), int(text[5:7]), 1))
    except ValueError:
        raise ValidationFailed(field, "A month is written YYYY-MM; got {value}.", value=text) from None


def _day(value: date | None, field: str = "on") -> date:
    if value is None:
        return clock.today()
    try:
        return check_day(value)
    except ValueError as exc:
        raise ValidationFailed(field, str(exc)) from None


class PayrollIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(max_length=7, description="The month paid, YYYY-MM.", examples=["2026-01"])
    province: str | None = Field(None, max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$",
                                 description="2025 province code; none for the country.")
    on: date | None = Field(None, description="The day the payments are ordered (default: the month's first day).")


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date | None = None
    claim_ids: list[RecordRef] | None = Field(None, max_length=10_000)


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bank_bin: str | None = Field(None, pattern=r"^\d{6}$")
    paying_point: str | None = Field(None, max_length=20)
    province: str | None = Field(None, max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$")
    on: date | None = None


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    citizen_id: str = Field(min_length=12, max_length=12, pattern=r"^\d{12}$")
    bank_bin: str = Field(pattern=r"^\d{6}$")
    account_number: str = Field(min_length=6, max_length=19)
    holder_name: str = Field(min_length=1, max_length=120)
    on: date | None = None


class CloseAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("closed by the holder", max_length=200)
    on: date | None = None


class EntitlementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    citizen_id: str = Field(min_length=12, max_length=12, pattern=r"^\d{12}$")
    claim_type: Literal["pension", "survivor", "unemployment"] = "pension"
    monthly_amount: int = Field(ge=1, le=10**10)
    first_month: str = Field(max_length=7)
    last_month: str | None = Field(None, max_length=7)


class RecoveryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=1, le=10**13)
    on: date | None = None


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date | None = None


# --- payroll -----------------------------------------------------------------------------------------------------

@router.post("/payroll", status_code=status.HTTP_200_OK)
def run_payroll(body: PayrollIn, request: Request, session: DbSession, principal: Payer) -> dict:
    """Run the monthly payroll of a province (its office, national staff) or the country (national staff):
    idempotent by (month, province), resumable; a run held by another request is a conflict (409)."""
    month = _month(body.month)
    service.ensure_payroll_scope(session, principal, body.province)
    return service.run_payroll(request.app.state.database, month=month, by=principal.username,
                               province=body.province, on=_day(body.on) if body.on else month)


@router.get("/payroll-runs")
def list_payroll_runs(session: DbSession, principal: StaffReader,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict]:
    return service.payroll_runs(session, principal, limit=limit)


@router.get("/payroll-runs/{run_id}")
def read_payroll_run(run_id: RecordId, session: DbSession, principal: StaffReader) -> dict:
    return service.payroll_summary(session, service.get_payroll_run(session, principal, run_id))


# --- payments ----------------------------------------------------------------------------------------------------

@router.post("/payments/order")
def order_payments(body: OrderIn, session: DbSession, principal: Payer) -> dict:
    """Order the payments of granted one-off claims of the caller's scope (or of ``claim_ids``)."""
    return service.order_payments(session, principal, on=_day(body.on), claim_ids=body.claim_ids)


@router.get("/payments")
def list_payments(session: DbSession, principal: Reader, run_id: RecordRef | None = None,
                  file_id: RecordRef | None = None, claim_id: RecordRef | None = None,
                  status_: Annotated[Literal["ordered", "sent", "paid", "failed", "cancelled"] | None,
                                     Query(alias="status")] = None,
                  method: Literal["bank", "cash"] | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 50, offset: Offset = 0) -> dict:
    rows, total = service.payments_page(session, principal, run_id=run_id, file_id=file_id, status=status_,
                                        method=method, claim_id=claim_id, limit=limit, offset=offset)
    return {"total": total, "items": [service.payment_view(p) for p in rows]}


@router.get("/payments/reconciliation")
def reconcile(session: DbSession, principal: Annotated[Principal, Depends(require(
        Permission.benefits_pay, scope=Scope.org_subtree))], on: date | None = None) -> dict:
    """Payments ↔ ledger: named counts of what disagrees (all 0 when consistent); paid claims whose payments all
    reconcile become ``reconciled``. The whole country's books: national staff."""
    from ansinh.auth.models import OrgLevel
    from ansinh.errors import PermissionDenied

    if principal.org_unit_level != OrgLevel.national.value:
        raise PermissionDenied("Reconciling the books of the whole country is for national staff.")
    counts = service.reconcile_payments(session, _day(on), by=principal.username)
    return {"consistent": not any(counts.values()), "counts": counts}


@router.get("/payments/{payment_id}")
def read_payment(payment_id: RecordId, session: DbSession, principal: Reader) -> dict:
    return service.payment_view(service.get_payment(session, principal, payment_id))


@router.post("/payments/{payment_id}/reissue", status_code=status.HTTP_201_CREATED)
def reissue_payment(payment_id: RecordId, body: ActionIn, session: DbSession, principal: Payer) -> dict:
    """Re-issue a failed payment (once) to the payee's corrected account or paying point."""
    return service.payment_view(service.reissue_payment(session, principal, payment_id, on=_day(body.on)))


# --- files and results ---------------------------------------------------------------------------------------------

@router.post("/payment-files", status_code=status.HTTP_201_CREATED)
def export_payment_file(body: ExportIn, session: DbSession, principal: Payer) -> dict:
    """Send the ordered payments of a bank (``bank_bin``) or a paying point (``paying_point``): a new file."""
    file = service.export_payment_file(session, principal, on=_day(body.on), bank_bin=body.bank_bin,
                                       paying_point=body.paying_point, province=body.province)
    return service.payment_file_view(file)


@router.get("/payment-files")
def list_payment_files(session: DbSession, principal: StaffReader,
                       limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict]:
    return [service.payment_file_view(f) for f in service.payment_files(session, principal, limit=limit)]


@router.get("/payment-files/{file_id}")
def download_payment_file(file_id: RecordId, session: DbSession, principal: Payer,
                          format_: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv") -> Response:
    """A payment file as banks take it (CSV or Excel), or a paying point's cash list."""
    name, content = service.payment_file_content(session, principal, file_id, fmt=format_)
    media = "text/csv; charset=utf-8" if format_ == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/payment-results", responses={201: {"description": "applied"}, 200: {"description": "unchanged"},
                                            422: {"description": "refused: every bad row"}})
def import_results(session: DbSession, principal: Payer,
                   file: Annotated[UploadFile, File(description="The bank's result file: CSV (UTF-8) or .xlsx with "
                                                                "reference, status, reason[, amount]")],
                   on: date | None = None) -> JSONResponse:
    """Import a bank's result file: all rows or none (422 with every bad row: file, row, field); the same file
    again changes nothing (200)."""
    content = file.file.read()  # bounded by ANSINH_MAX_UPLOAD_BYTES (413 above)
    report = service.import_bank_results(session, principal, file_name=file.filename or "results.csv",
                                         content=content, on=_day(on))
    if report.status == "rejected":
        session.rollback()
        return JSONResponse(report.to_json(), status_code=422)
    return JSONResponse(report.to_json(), status_code=201 if report.status == "applied" else 200)


# --- accounts, entitlements, overpayments --------------------------------------------------------------------------

@router.post("/accounts", status_code=status.HTTP_201_CREATED)
def add_account(body: AccountIn, session: DbSession, principal: Payer) -> dict:
    """Register a beneficiary's bank account, verified against the registry's name."""
    return service.bank_account_view(service.add_bank_account(session, principal, citizen_id=body.citizen_id,
                                                  bank_bin=body.bank_bin, account_number=body.account_number,
                                                  holder_name=body.holder_name, on=_day(body.on)))


@router.get("/accounts")
def list_accounts(session: DbSession, principal: Reader,
                  citizen_id: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None) -> list[dict]:
    return [service.bank_account_view(a) for a in service.bank_accounts(session, principal, citizen_id=citizen_id)]


@router.post("/accounts/{account_id}/close")
def close_account(account_id: RecordId, body: CloseAccountIn, session: DbSession, principal: Payer) -> dict:
    return service.bank_account_view(service.close_bank_account(session, principal, account_id, on=_day(body.on),
                                                    reason=body.reason))


@router.post("/entitlements", status_code=status.HTTP_201_CREATED)
def add_entitlement(body: EntitlementIn, session: DbSession, principal: Payer) -> dict:
    """A monthly benefit already in payment before this system (migrated), paid by the payroll from then on."""
    entitlement = service.register_entitlement(
        session, principal, citizen_id=body.citizen_id, claim_type=body.claim_type,
        monthly_amount=body.monthly_amount, first_month=_month(body.first_month, "first_month"),
        last_month=_month(body.last_month, "last_month") if body.last_month else None)
    return service.entitlement_view(entitlement)


@router.get("/overpayments")
def list_overpayments(session: DbSession, principal: StaffReader,
                      status_: Annotated[Literal["open", "recovered"] | None, Query(alias="status")] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Offset = 0) -> dict:
    rows, total = service.overpayments(session, principal, status=status_, limit=limit, offset=offset)
    return {"total": total, "items": [service.overpayment_view(o) for o in rows]}


@router.post("/overpayments/{overpayment_id}/recoveries")
def recover(overpayment_id: RecordId, body: RecoveryIn, session: DbSession, principal: Payer) -> dict:
    """Money recovered of an overpayment (at most what is still owed)."""
    over = service.recover_overpayment(session, principal, overpayment_id, amount=body.amount, on=_day(body.on))
    return service.overpayment_view(over)

