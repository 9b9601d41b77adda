"""The employer's electronic transactions through the API, ``/api/v1/employer``: everything about the caller's own
employer (never one named by the caller), within the account's duty (:func:`service.ensure_duty`). An officer
registers or deregisters an employer of their scope at ``/api/v1/employers/{employer_id}/e-transactions``.

Dates are the application's clock (:func:`ansinh.clock.today`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Day, RecordId
from ansinh.collection.debtors import attachment
from ansinh.errors import ValidationFailed
from ansinh.i18n import gettext
from ansinh.idempotency import IdempotencyKeyHeader, idempotent
from ansinh.participation import service as participation
from ansinh.portal.employer import service
from ansinh.portal.employer.schemas import EmployerDeclarationIn, EmployerUserIn, RegistrationIn
from ansinh.registry import service as registry
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["employer"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
#: An employer's account (citizens and facilities lack the permission; officers are refused by the service).
EmployerUser = Annotated[Principal, Depends(require(Permission.declarations_submit, scope=Scope.own_employer))]
Officer = Annotated[Principal, Depends(require(Permission.registry_manage, scope=Scope.org_subtree))]
MonthText = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


def today() -> date:
    return clock.today()


def _account(session, principal: Principal, area: str) -> service.EmployerAccount:
    account = service.employer_account(session, principal)
    service.ensure_duty(account, area)
    return account


def parse_month(text: str, field: str = "month") -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise ValidationFailed(field, "Give the month as YYYY-MM.") from None


@router.get("/employer")
def overview(session: DbSession, principal: EmployerUser) -> dict:
    """What is due (amount to pay, arrears, the earliest unpaid bill), the registration for electronic transactions,
    the workers insured and the cases being processed (each as the account's duty allows)."""
    return _iso(service.overview(session, service.employer_account(session, principal), on=today()))


def _iso(value):
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


# --- registration -----------------------------------------------------------------------------------------------

@router.get("/employer/e-transactions")
def my_registration(session: DbSession, principal: EmployerUser) -> dict:
    """Whether the employer is registered for electronic transactions, since when, and the registrations."""
    account = service.employer_account(session, principal)
    return {**service.e_transactions_view(session, account.employer),
            "history": [service.registration_view(r) for r in service.registrations(session, account.employer.id)]}


@router.post("/employer/e-transactions")
def register(body: RegistrationIn, session: DbSession, principal: EmployerUser) -> JSONResponse:
    """Register the employer for electronic transactions from today (201); already registered: 200, unchanged."""
    account = _account(session, principal, "registration")
    registration, new = service.register_e_transactions(
        session, account.employer, contact_name=body.contact_name, email=body.email, phone=body.phone, on=today(),
        by=principal.username)
    return JSONResponse(service.registration_view(registration), status_code=201 if new else 200)


@router.delete("/employer/e-transactions")
def deregister(session: DbSession, principal: EmployerUser) -> dict:
    """End the registration in force (from today); nothing registered: unchanged."""
    account = _account(session, principal, "registration")
    ended = service.deregister_e_transactions(session, account.employer, on=today(), by=principal.username)
    return {"ended": service.registration_view(ended), **service.e_transactions_view(session, account.employer)}


@router.post("/employers/{employer_id}/e-transactions")
def register_by_officer(employer_id: RecordId, body: RegistrationIn, session: DbSession,
                        principal: Officer) -> JSONResponse:
    """An officer registers an employer of their scope (201; already registered: 200, unchanged)."""
    employer = registry.get_employer(session, principal, employer_id)
    registration, new = service.register_e_transactions(
        session, employer, contact_name=body.contact_name, email=body.email, phone=body.phone, on=today(),
        by=principal.username)
    return JSONResponse(service.registration_view(registration), status_code=201 if new else 200)


@router.delete("/employers/{employer_id}/e-transactions")
def deregister_by_officer(employer_id: RecordId, session: DbSession, principal: Officer) -> dict:
    employer = registry.get_employer(session, principal, employer_id)
    ended = service.deregister_e_transactions(session, employer, on=today(), by=principal.username)
    return {"ended": service.registration_view(ended), **service.e_transactions_view(session, employer)}


# --- users ------------------------------------------------------------------------------------------------------

@router.get("/employer/users")
def users(session: DbSession, principal: EmployerUser) -> dict:
    """The accounts of the employer with their duty (the administrator's)."""
    account = _account(session, principal, "users")
    return {"items": service.employer_users(session, account.employer)}


@router.post("/employer/users", status_code=201)
def add_user(body: EmployerUserIn, session: DbSession, principal: EmployerUser) -> dict:
    """Another account for the employer with a duty: administrator, declarations or accounting."""
    account = service.employer_account(session, principal)
    user = service.add_employer_user(session, account, username=body.username, full_name=body.full_name,
                                     password=body.password, duty=body.duty.value, email=body.email)
    return next(u for u in service.employer_users(session, account.employer) if u["id"] == user.id)


@router.post("/employer/users/{user_id}/deactivation")
def deactivate_user(user_id: RecordId, session: DbSession, principal: EmployerUser) -> dict:
    """Close an account of the employer: it can no longer sign in."""
    account = service.employer_account(session, principal)
    user = service.deactivate_employer_user(session, account, user_id)
    return next(u for u in service.employer_users(session, account.employer) if u["id"] == user.id)


# --- declarations -----------------------------------------------------------------------------------------------

def _person(session, body: EmployerDeclarationIn):
    try:
        return registry.find_person_for_declaration(session, citizen_id=body.citizen_id, si_number=body.si_number)
    except ValidationFailed:
        return None


@router.post("/employer/declarations/check")
def check_declaration(body: EmployerDeclarationIn, session: DbSession, principal: EmployerUser) -> dict:
    """Validate a declaration without writing it: ``{"ok", "errors": {field: message}, "floor", "retroactive"}``
    (the messages never name the person)."""
    account = _account(session, principal, "declarations")
    person = _person(session, body)
    check = participation.check_declaration(
        session, employer=account.employer, person=person, kind=body.kind, effective_month=body.effective_month,
        insured_salary=body.insured_salary, hi_group=body.hi_group, today=today())
    if person is None:
        check.errors["person"] = gettext("No person with this citizen ID or SI number is registered.")
    return {"ok": check.ok, "errors": check.errors, "floor": check.floor, "retroactive": check.retroactive}


@router.post("/employer/declarations", status_code=201)
def declare(body: EmployerDeclarationIn, request: Request, session: DbSession, principal: EmployerUser,
            idempotency_key: IdempotencyKeyHeader = None):
    """Join, leave or salary change of a worker of the caller's employer, from a month (checked as ``check``)."""
    from ansinh.participation.schemas import DeclarationOut

    def submit() -> DeclarationOut:
        account = _account(session, principal, "declarations")
        person = registry.find_person_for_declaration(session, citizen_id=body.citizen_id, si_number=body.si_number)
        return DeclarationOut.model_validate(participation.apply_declaration(
            session, employer=account.employer, person=person, kind=body.kind, effective_month=body.effective_month,
            insured_salary=body.insured_salary, hi_group=body.hi_group, submitted_by=principal.username,
            today=today()))

    return idempotent(session, request, principal, idempotency_key, body, submit, status_code=201)


@router.post("/employer/declarations/upload",
             responses={201: {"description": "applied"}, 200: {"description": "the same file, already applied"},
                        422: {"description": "rejected: every error by row and column, nothing written"}})
async def upload_declarations(request: Request, session: DbSession, principal: EmployerUser,
                              file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx of the "
                                                                           "declarations template")]) -> JSONResponse:
    """Many declarations at once (the declarations template): all applied, or none with the errors of every row
    naming its column (rows of another employer are refused)."""
    from ansinh.registry.import_api import in_import_lane

    content, name = await file.read(), file.filename or "declarations"

    def work():
        _account(session, principal, "declarations")
        from ansinh.registry import imports

        found = imports.import_file(session, kind="declarations", content=content, file_name=name,
                                    principal_or_context=principal, today=today())
        session.commit()
        return found

    report = await in_import_lane(request, work)
    return JSONResponse(report.to_json(), status_code={"applied": 201, "unchanged": 200}.get(report.status, 422))


# --- statement, bills, payments ---------------------------------------------------------------------------------

@router.get("/employer/statement")
def statement(session: DbSession, principal: EmployerUser, on: Day | None = None) -> dict:
    """Per month billed: billed, paid, written off, outstanding, arrears, late interest; the totals (to ``on``,
    default today)."""
    account = _account(session, principal, "accounting")
    return service.statement_json(service.statement(session, account.employer, on=on or today()))


@router.get("/employer/statement/notice")
def contribution_notice(session: DbSession, principal: EmployerUser, month: MonthText) -> dict:
    """The notice of contribution results of a month, per worker (the read of the workers is audited)."""
    account = _account(session, principal, "accounting")
    return _iso(service.contribution_notice(session, principal, account.employer, parse_month(month)))


@router.get("/employer/bills/{bill_id}")
def bill(bill_id: RecordId, session: DbSession, principal: EmployerUser) -> dict:
    """One bill of the employer: amounts by fund and side, paid, outstanding, the VietQR payment content."""
    account = _account(session, principal, "accounting")
    view = service.bill_view(session, service.employer_bill(session, account.employer, bill_id), on=today())
    view.pop("qr_uri")
    return _iso(view)


@router.get("/employer/bills/{bill_id}/bill.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the bill with its VietQR code"}})
def bill_pdf(bill_id: RecordId, session: DbSession, principal: EmployerUser) -> Response:
    account = _account(session, principal, "accounting")
    found = service.employer_bill(session, account.employer, bill_id)
    content = service.bill_pdf(account.employer, service.bill_view(session, found, on=today()))
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": attachment(f"bill-{found.reference}.pdf")})


@router.get("/employer/payments")
def payments(session: DbSession, principal: EmployerUser) -> dict:
    """The money received from the employer, newest first, with what each paid."""
    account = _account(session, principal, "accounting")
    return {"items": _iso(service.payment_history(session, account.employer))}


# --- workers and cases ------------------------------------------------------------------------------------------

@router.get("/employer/workers")
def workers(session: DbSession, principal: EmployerUser, limit: int = Query(200, ge=1, le=1000),
            offset: int = Query(0, ge=0, le=10_000_000)) -> dict:
    """The workers insured today through the employer, with their current health insurance card."""
    account = _account(session, principal, "declarations")
    rows, total = service.workers_with_cards(session, principal, account.employer, on=today(), limit=limit,
                                             offset=offset)
    return {"items": _iso(rows), "total": total, "limit": limit, "offset": offset}


@router.get("/employer/benefit-cases")
def benefit_cases(session: DbSession, principal: EmployerUser) -> dict:
    """The sickness and maternity cases the employer filed (01B-HSB), with their status, and its lists."""
    account = _account(session, principal, "declarations")
    batches = service.benefit_batches(session, account.employer)
    return {"items": _iso(service.benefit_cases(session, account.employer)),
            "lists": [{"id": b.id, "file_name": b.file_name, "submitted_on": b.submitted_on.isoformat(),
                       "lines": b.lines, "filed": b.filed, "rejected": b.rejected} for b in batches]}


@router.post("/employer/benefit-cases", responses={201: {"description": "each line filed or rejected"},
                                                   200: {"description": "the same file again: its outcome"}})
async def send_benefit_list(request: Request, session: DbSession, principal: EmployerUser,
                            file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx of the 01B-HSB "
                                                                         "template")]) -> JSONResponse:
    """The list of sickness and maternity cases (01B-HSB): each line filed as a claim or rejected with its row,
    column and reason."""
    from ansinh.benefits import employer_batch
    from ansinh.registry.import_api import in_import_lane

    content, name = await file.read(), file.filename or "01B-HSB"

    def work():
        _account(session, principal, "declarations")
        found = employer_batch.submit_employer_batch(session, principal, content=content, file_name=name,
                                                     employer_tax_code=None, on=today())
        if found.status == "rejected":
            session.rollback()
        else:
            session.commit()
        return found

    report = await in_import_lane(request, work)
    status = {"done": 201, "replayed": 200}.get(report.status, 422)
    return JSONResponse(report.to_json(), status_code=status)
