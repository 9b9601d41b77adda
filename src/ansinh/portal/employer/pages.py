"""The employer's pages (a phone and a desk): ``/employer`` (what is due: the landing page of an employer account),
``/employer/e-transactions`` (registration), ``/employer/users`` (the employer's accounts and their duties),
``/employer/declarations/new`` (a declaration with its live check), ``/employer/declarations/upload`` (many at once,
with the report of every row), ``/employer/statement`` (the statement of account, the notice of contribution results
of a month), ``/employer/bills/{id}`` (a bill, its VietQR code and PDF), ``/employer/payments``,
``/employer/benefits`` (the 01B-HSB list and the cases filed) and ``/employer/workers`` (the workers and their cards).

Thin routes over :mod:`ansinh.portal.employer.service`: every page is about the signed-in account's own employer and
within its duty (403 otherwise).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId, check_day
from ansinh.collection.debtors import attachment
from ansinh.errors import DomainError, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.portal.employer import service
from ansinh.portal.employer.models import Duty
from ansinh.web.forms import redirect, submit
from ansinh.web.labels import register_labels
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
EmployerUser = Annotated[Principal, Depends(require(Permission.declarations_submit, scope=Scope.own_employer))]
Text = Annotated[str, Form(max_length=200)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_EMPLOYER = frozenset({Role.employer})
for _key, _label, _href, _order in (("employer_home", N_("My employer"), "/employer", 1),
                                    ("employer_declare", N_("Declare a worker"), "/employer/declarations/new", 2),
                                    ("employer_upload", N_("Declarations from a file"), "/employer/declarations/upload",
                                     3),
                                    ("employer_workers", N_("Workers and cards"), "/employer/workers", 4),
                                    ("employer_statement", N_("Statement of account"), "/employer/statement", 5),
                                    ("employer_payments", N_("Payments received"), "/employer/payments", 6),
                                    ("employer_benefits", N_("Sickness and maternity cases"), "/employer/benefits", 7),
                                    ("employer_registration", N_("Electronic transactions"), "/employer/e-transactions",
                                     8),
                                    ("employer_users", N_("Users of the employer"), "/employer/users", 9)):
    register_nav_item(NavItem(_key, _label, _href, Permission.declarations_submit, order=_order, roles=_EMPLOYER))
register_labels({f"duty.{d.value}": label for d, label in service.DUTY_LABELS.items()})
register_labels({"payment.matched": N_("matched"), "payment.reversed": N_("reversed"),
                 "payment.suspense": N_("in suspense"), "batch_line.filed": N_("Filed"),
                 "batch_line.already_filed": N_("Filed before"), "batch_line.rejected": N_("Rejected")})


def today() -> date:
    return clock.today()


def _account(session: Session, principal: Principal, area: str) -> service.EmployerAccount:
    account = service.employer_account(session, principal)
    service.ensure_duty(account, area)
    return account


def _page(request: Request, account: service.EmployerAccount, template: str, context: dict, *,
          status_code: int = 200) -> Response:
    return render(request, f"portal/employer/{template}", {
        "employer": account.employer, "duty": account.duty.value,
        "may": {area: service.may(account, area) for area in service.AREAS}, **context}, status_code=status_code)


def _month(text: str, field: str = "month") -> date:
    try:
        year, month = (int(part) for part in (text or "").strip().split("-"))
        return date(year, month, 1)
    except ValueError:
        raise ValidationFailed(field, "Give the month as YYYY-MM.") from None


# --- the landing page ------------------------------------------------------------------------------------------

@router.get("/employer")
def home(request: Request, session: DbSession, principal: EmployerUser) -> Response:
    """What is due, the registration, the workers and cases, and the way to each page the duty allows."""
    account = service.employer_account(session, principal)
    overview = service.overview(session, account, on=today())
    for notice in overview["notices"]:
        notice["sent_day"] = date.fromisoformat(notice["sent_on"])
    return _page(request, account, "home.html", {"overview": overview, "today": today()})


# --- registration for electronic transactions -------------------------------------------------------------------

def _registration_page(request: Request, session: Session, account: service.EmployerAccount, *, values=None,
                       errors=None, notice: str = "", status_code: int = 200) -> Response:
    employer = account.employer
    values = values or {"contact_name": employer.contact_name or account.principal.full_name,
                        "email": employer.email or "", "phone": employer.phone or ""}
    return _page(request, account, "e_transactions.html", {
        "status": service.e_transactions_view(session, employer),
        "history": service.registrations(session, employer.id), "values": values, "errors": errors or {},
        "notice": notice}, status_code=status_code)


@router.get("/employer/e-transactions")
def registration_page(request: Request, session: DbSession, principal: EmployerUser, notice: str = "") -> Response:
    account = service.employer_account(session, principal)
    return _registration_page(request, session, account, notice=notice[:20])


@router.post("/employer/e-transactions")
def registration_submit(request: Request, session: DbSession, principal: EmployerUser, contact_name: Text = "",
                        email: Text = "", phone: Annotated[str, Form(max_length=30)] = "",
                        action: Annotated[str, Form(max_length=12)] = "register",
                        csrf_token: Annotated[str, Form()] = "") -> Response:
    """Register (idempotent) or deregister the employer (the administrator's duty)."""
    account = _account(session, principal, "registration")
    values = {"contact_name": contact_name, "email": email, "phone": phone}

    def act():
        if action == "deregister":
            service.deregister_e_transactions(session, account.employer, on=today(), by=principal.username)
            return "deregistered"
        return "registered" if service.register_e_transactions(
            session, account.employer, contact_name=contact_name, email=email, phone=phone, on=today(),
            by=principal.username)[1] else "already"

    return submit(request, session, act, csrf_token=csrf_token, field="contact_name",
                  form=lambda errors: _registration_page(request, session, account, values=values, errors=errors),
                  done=lambda outcome: f"/employer/e-transactions?notice={outcome}")


# --- users ------------------------------------------------------------------------------------------------------

def _users_page(request: Request, session: Session, account: service.EmployerAccount, *, values=None, errors=None,
                notice: str = "", status_code: int = 200) -> Response:
    return _page(request, account, "users.html", {
        "users": service.employer_users(session, account.employer), "duties": [d.value for d in Duty],
        "values": values or {"duty": Duty.accounting.value}, "errors": errors or {}, "notice": notice,
        "me": account.principal.user_id}, status_code=status_code)


@router.get("/employer/users")
def users_page(request: Request, session: DbSession, principal: EmployerUser, notice: str = "") -> Response:
    account = _account(session, principal, "users")
    return _users_page(request, session, account, notice=notice[:20])


@router.post("/employer/users")
def add_user(request: Request, session: DbSession, principal: EmployerUser,
             username: Annotated[str, Form(max_length=64)] = "", full_name: Text = "", email: Text = "",
             password: Text = "", duty: Annotated[str, Form(max_length=16)] = "",
             csrf_token: Annotated[str, Form()] = "") -> Response:
    """A new account of the employer with a duty (its password checked as every password is)."""
    account = _account(session, principal, "users")
    values = {"username": username, "full_name": full_name, "email": email, "duty": duty}
    return submit(request, session, lambda: service.add_employer_user(
        session, account, username=username, full_name=full_name, password=password, duty=duty, email=email),
        csrf_token=csrf_token, field="username",
        form=lambda errors: _users_page(request, session, account, values=values, errors=errors),
        done="/employer/users?notice=added")


@router.post("/employer/users/{user_id}/deactivation")
def deactivate_user(request: Request, session: DbSession, principal: EmployerUser, user_id: RecordId,
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    account = _account(session, principal, "users")
    return submit(request, session, lambda: service.deactivate_employer_user(session, account, user_id),
                  csrf_token=csrf_token, field="user",
                  form=lambda errors: _users_page(request, session, account, errors=errors),
                  done="/employer/users?notice=deactivated")


# --- declarations -----------------------------------------------------------------------------------------------

def _declaration_context(session: Session, principal: Principal, account: service.EmployerAccount, form) -> dict:
    from ansinh.participation import pages as participation_pages

    parsed = participation_pages._parse(session, principal, account.employer, form)
    check, floor = participation_pages._check(session, account.employer, parsed)
    person = parsed.person if parsed.name_shown else None
    return {**participation_pages._form_context(account.employer, form, check, person), "parsed": parsed,
            "month_date": parsed.month, "floor": floor}


def _declaration_form(person_ref: str, kind: str, month: str, salary: str, hi_group: str, person_name: str):
    from ansinh.participation.pages import DeclarationForm

    return DeclarationForm(person_ref, kind, month, salary, hi_group, person_name)


@router.get("/employer/declarations/new")
def declaration_page(request: Request, session: DbSession, principal: EmployerUser,
                     kind: Annotated[str, Query(max_length=20)] = "join", declared: RecordId | None = None) -> Response:
    """A join, leave or salary change; the form is checked as it is filled in (``/employer/declarations/check``)."""
    from ansinh.participation import pages as participation_pages
    from ansinh.participation import service as participation

    account = _account(session, principal, "declarations")
    form = _declaration_form("", kind if kind in participation_pages.KINDS else "join", today().strftime("%Y-%m"),
                             "", participation.default_hi_group(account.employer), "")
    context = participation_pages._form_context(account.employer, form, None, None)
    return _page(request, account, "declaration.html", {**context, "declared": declared})


@router.post("/employer/declarations/check")
def declaration_check(request: Request, session: DbSession, principal: EmployerUser,
                      person_ref: Annotated[str, Form(max_length=40)] = "", kind: Annotated[str, Form(max_length=20)] = "",
                      month: Annotated[str, Form(max_length=10)] = "", salary: Annotated[str, Form(max_length=30)] = "",
                      hi_group: Annotated[str, Form(max_length=4)] = "",
                      person_name: Annotated[str, Form(max_length=120)] = "") -> Response:
    """The live check: the errors of the form as it stands, by field (nothing is written but the audit)."""
    account = _account(session, principal, "declarations")
    context = _declaration_context(session, principal, account,
                                   _declaration_form(person_ref, kind, month, salary, hi_group, person_name))
    return render(request, "participation/declaration_check.html", context)


@router.post("/employer/declarations")
def declaration_submit(request: Request, session: DbSession, principal: EmployerUser,
                       person_ref: Annotated[str, Form(max_length=40)] = "", kind: Annotated[str, Form(max_length=20)] = "",
                       month: Annotated[str, Form(max_length=10)] = "", salary: Annotated[str, Form(max_length=30)] = "",
                       hi_group: Annotated[str, Form(max_length=4)] = "",
                       person_name: Annotated[str, Form(max_length=120)] = "",
                       csrf_token: Annotated[str, Form()] = "") -> Response:
    from ansinh.participation import service as participation

    verify_csrf(request, csrf_token)
    account = _account(session, principal, "declarations")
    form = _declaration_form(person_ref, kind, month, salary, hi_group, person_name)
    context = _declaration_context(session, principal, account, form)
    check, parsed = context["check"], context["parsed"]
    if check.ok:
        try:
            declaration = participation.apply_declaration(
                session, employer=account.employer, person=parsed.person, kind=parsed.kind,
                effective_month=parsed.month, insured_salary=parsed.salary, hi_group=parsed.hi_group,
                submitted_by=principal.username, today=today())
        except DomainError as exc:
            session.rollback()
            check.errors = getattr(exc, "errors", None) or {getattr(exc, "field", "person"): exc.translated(gettext)}
        else:
            return redirect(f"/employer/declarations/new?declared={declaration.id}", request)
    if is_htmx(request):  # htmx swaps only successful answers: the check, with 200
        return render(request, "participation/declaration_check.html", context)
    return _page(request, account, "declaration.html", context, status_code=422)


@router.get("/employer/declarations/template.xlsx")
def declarations_template(session: DbSession, principal: EmployerUser) -> Response:
    """The declarations template (its columns described in both languages)."""
    from ansinh.registry import imports

    _account(session, principal, "declarations")
    return Response(imports.template_xlsx("declarations"), media_type=XLSX,
                    headers={"Content-Disposition": attachment("ansinh-declarations.xlsx")})


@router.get("/employer/declarations/upload")
def upload_page(request: Request, session: DbSession, principal: EmployerUser) -> Response:
    account = _account(session, principal, "declarations")
    return _page(request, account, "upload.html", {"report": None, "error": ""})


@router.post("/employer/declarations/upload")
async def upload_submit(request: Request, session: DbSession, principal: EmployerUser,
                        file: Annotated[UploadFile | None, File()] = None,
                        csrf_token: Annotated[str, Form()] = "") -> Response:
    """All the file's declarations applied, or none, with every row's errors (row, column, reason)."""
    from ansinh.registry import imports
    from ansinh.registry.import_api import in_import_lane

    verify_csrf(request, csrf_token)
    content = await file.read() if file is not None else b""
    name = (file.filename if file is not None else "") or "declarations"

    def work() -> Response:
        account = _account(session, principal, "declarations")
        if not content:
            return _page(request, account, "upload.html", {
                "report": None, "error": gettext("Choose the file of declarations to send.")}, status_code=422)
        report = imports.import_file(session, kind="declarations", content=content, file_name=name,
                                     principal_or_context=principal, today=today())
        session.commit()
        return _page(request, account, "upload.html", {"report": report, "error": ""},
                     status_code=422 if report.status == "rejected" else 200)

    return await in_import_lane(request, work)


# --- the statement of account, bills, payments ------------------------------------------------------------------

@router.get("/employer/statement")
def statement_page(request: Request, session: DbSession, principal: EmployerUser,
                   on: Annotated[str, Query(max_length=10)] = "") -> Response:
    """Per month billed: billed, paid, arrears, interest; the totals; the notice of each month."""
    account = _account(session, principal, "accounting")
    errors = {}
    day = today()
    if on:
        try:
            day = check_day(date.fromisoformat(on))
        except ValueError:
            errors["on"] = gettext("Give a date as YYYY-MM-DD.")
    data = service.statement(session, account.employer, on=day)
    return _page(request, account, "statement.html", {"statement": data, "errors": errors, "on": day},
                 status_code=422 if errors else 200)


@router.get("/employer/statement/notice")
def notice_page(request: Request, session: DbSession, principal: EmployerUser,
                month: Annotated[str, Query(max_length=7)] = "") -> Response:
    """The notice of contribution results of a month, per worker."""
    account = _account(session, principal, "accounting")
    notice = service.contribution_notice(session, principal, account.employer, _month(month))
    return _page(request, account, "notice.html", {"notice": notice})


@router.get("/employer/bills/{bill_id}")
def bill_page(request: Request, session: DbSession, principal: EmployerUser, bill_id: RecordId) -> Response:
    """A bill: its amounts, what was paid, and the VietQR code to pay what is outstanding."""
    account = _account(session, principal, "accounting")
    bill = service.bill_view(session, service.employer_bill(session, account.employer, bill_id), on=today())
    return _page(request, account, "bill.html", {"bill": bill})


@router.get("/employer/bills/{bill_id}/bill.pdf")
def bill_pdf(session: DbSession, principal: EmployerUser, bill_id: RecordId) -> Response:
    account = _account(session, principal, "accounting")
    found = service.employer_bill(session, account.employer, bill_id)
    content = service.bill_pdf(account.employer, service.bill_view(session, found, on=today()))
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": attachment(f"bill-{found.reference}.pdf")})


@router.get("/employer/payments")
def payments_page(request: Request, session: DbSession, principal: EmployerUser) -> Response:
    account = _account(session, principal, "accounting")
    return _page(request, account, "payments.html", {"payments": service.payment_history(session, account.employer)})


# --- workers and the 01B-HSB list -------------------------------------------------------------------------------

@router.get("/employer/workers")
def workers_page(request: Request, session: DbSession, principal: EmployerUser,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    account = _account(session, principal, "declarations")
    size = 100
    rows, total = service.workers_with_cards(session, principal, account.employer, on=today(), limit=size,
                                             offset=(page - 1) * size)
    return _page(request, account, "workers.html", {"workers": rows, "total": total, "page": page,
                                                    "pages": max(1, -(-total // size)), "today": today()})


def _benefits_page(request: Request, session: Session, account: service.EmployerAccount, *, report=None,
                   error: str = "", status_code: int = 200) -> Response:
    return _page(request, account, "benefits.html", {
        "cases": service.benefit_cases(session, account.employer),
        "batches": service.benefit_batches(session, account.employer), "report": report, "error": error},
        status_code=status_code)


@router.get("/employer/benefits")
def benefits_page(request: Request, session: DbSession, principal: EmployerUser) -> Response:
    account = _account(session, principal, "declarations")
    return _benefits_page(request, session, account)


@router.post("/employer/benefits")
async def benefits_submit(request: Request, session: DbSession, principal: EmployerUser,
                          file: Annotated[UploadFile | None, File()] = None,
                          csrf_token: Annotated[str, Form()] = "") -> Response:
    """The 01B-HSB list: each line filed as a claim or rejected with its row, column and reason."""
    from ansinh.benefits import employer_batch
    from ansinh.registry.import_api import in_import_lane

    verify_csrf(request, csrf_token)
    content = await file.read() if file is not None else b""
    name = (file.filename if file is not None else "") or "01B-HSB"

    def work() -> Response:
        account = _account(session, principal, "declarations")
        if not content:
            return _benefits_page(request, session, account, status_code=422,
                                  error=gettext("Choose the list (01B-HSB) to send."))
        report = employer_batch.submit_employer_batch(session, principal, content=content, file_name=name,
                                                      employer_tax_code=None, on=today())
        if report.status == "rejected":
            session.rollback()
        else:
            session.commit()
        return _benefits_page(request, session, account, report=report,
                              status_code=422 if report.status == "rejected" else 200)

    return await in_import_lane(request, work)


@router.get("/employer/benefits/template.xlsx")
def benefits_template(session: DbSession, principal: EmployerUser) -> Response:
    from ansinh.benefits import employer_batch

    _account(session, principal, "declarations")
    return Response(employer_batch.template_xlsx(), media_type=XLSX,
                    headers={"Content-Disposition": attachment("ansinh-01B-HSB.xlsx")})


