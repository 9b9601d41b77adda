"""The employer's electronic transactions, over the domains that hold the records.

- **Who**: an account of an employer (role ``employer``, ``subject_ref`` = the tax code) acts for that employer
  only: :func:`employer_account` finds it from the account, never from an identifier sent by the caller. Its
  **duty** (:class:`Duty`, table ``employer_user_duty``; no row = the employer's first account, its administrator)
  limits what it does: :func:`ensure_duty`.
- **Registration** for electronic transactions sets ``employer.e_transactions`` and its date (idempotent), and
  deregistration clears them; each is a row of ``employer_e_registration``, kept.
- **Statement of account**: per month billed, paid, written off, outstanding, in arrears, late interest (the
  collection domain's :func:`ansinh.collection.arrears.bill_state`), with the totals; the notice of contribution
  results of a month per worker (the bill's lines).
- Reads of workers (names, identifiers) are audited, one event per list.

Pure of the clock: every function takes its dates (the interfaces pass :func:`ansinh.clock.today`).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.auth.permissions import Principal
from ansinh.collection.models import Allocation, Bill, BillLine, Payment
from ansinh.db import utcnow
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_
from ansinh.portal.employer.models import Duty, EmployerUserDuty, ETransactionRegistration
from ansinh.registry.models import Employer, Person

#: What each duty may do (the areas of the employer's pages and API).
AREAS: dict[str, frozenset[Duty]] = {
    "overview": frozenset(Duty),
    "registration": frozenset({Duty.administrator}),
    "users": frozenset({Duty.administrator}),
    "declarations": frozenset({Duty.administrator, Duty.declarations}),
    "accounting": frozenset({Duty.administrator, Duty.accounting}),
}
DUTY_LABELS = {Duty.administrator: N_("Administrator"), Duty.declarations: N_("Declarations"),
               Duty.accounting: N_("Accounting")}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")


@dataclass(frozen=True)
class EmployerAccount:
    """The employer an account acts for, and its duty there."""
    principal: Principal
    employer: Employer
    duty: Duty


def employer_account(session: Session, principal: Principal) -> EmployerAccount:
    """The employer the signed-in account acts for; refused (403) to anyone but an active employer account."""
    if principal.is_agency_staff or Role.employer not in principal.roles or not principal.subject_ref:
        raise PermissionDenied(N_("These pages are for the accounts of an employer."))
    employer = session.scalar(select(Employer).where(Employer.tax_code == principal.subject_ref))
    if employer is None:
        raise NotFound("No employer has tax code {value}.", value=principal.subject_ref)
    row = session.get(EmployerUserDuty, principal.user_id)
    if row is None:
        return EmployerAccount(principal, employer, Duty.administrator)
    if row.employer_id != employer.id or row.deactivated_at is not None:
        raise PermissionDenied(N_("This account no longer acts for the employer."))
    return EmployerAccount(principal, employer, Duty(row.duty))


def may(account: EmployerAccount, area: str) -> bool:
    return account.duty in AREAS[area]


def ensure_duty(account: EmployerAccount, area: str) -> None:
    """Refuse (403) what the account's duty does not include (declarations for accounting, bills for
    declarations, the users and the registration for both)."""
    if not may(account, area):
        raise PermissionDenied(N_("Your duty at this employer does not include this."), duty=account.duty.value)


# --- registration for electronic transactions -------------------------------------------------------------------

def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def check_contact(contact_name: str | None, email: str | None, phone: str | None) -> tuple[str, str, str]:
    """The contact of a registration, checked: a name, an e-mail address and a phone number."""
    name, mail, tel = _clean(contact_name), _clean(email).lower(), re.sub(r"[\s.()-]", "", phone or "")
    if not name or len(name) > 120:
        raise ValidationFailed("contact_name", "Give the contact person's name (at most 120 characters).")
    if not _EMAIL.match(mail) or len(mail) > 254:
        raise ValidationFailed("email", "Give a valid e-mail address, like name@example.vn.")
    if not _PHONE.match(tel):
        raise ValidationFailed("phone", "Give a phone number of 8 to 15 digits.")
    return name, mail, tel


def current_registration(session: Session, employer_id: int) -> ETransactionRegistration | None:
    return session.scalar(select(ETransactionRegistration).where(
        ETransactionRegistration.employer_id == employer_id, ETransactionRegistration.ended_on.is_(None))
        .order_by(ETransactionRegistration.id.desc()).limit(1))


def registrations(session: Session, employer_id: int) -> list[ETransactionRegistration]:
    return list(session.scalars(select(ETransactionRegistration).where(
        ETransactionRegistration.employer_id == employer_id).order_by(ETransactionRegistration.id.desc())))


def _locked(session: Session, employer: Employer) -> Employer:
    """The employer's row, locked: two registrations at once are made one after the other."""
    return session.scalar(select(Employer).where(Employer.id == employer.id).with_for_update()) or employer


def register_e_transactions(session: Session, employer: Employer, *, contact_name: str | None, email: str | None,
                            phone: str | None, on: date, by: str) -> tuple[ETransactionRegistration, bool]:
    """Register the employer for electronic transactions from ``on`` (the flag and its date on the employer).
    Idempotent: a registration already in force is answered as it is (``False``), nothing changed."""
    name, mail, tel = check_contact(contact_name, email, phone)
    employer = _locked(session, employer)
    existing = current_registration(session, employer.id)
    if existing is not None:
        return existing, False
    registration = ETransactionRegistration(employer_id=employer.id, registered_on=on, registered_by=by[:64],
                                            contact_name=name, email=mail, phone=tel)
    session.add(registration)
    employer.e_transactions, employer.e_transactions_since = True, on
    employer.contact_name = employer.contact_name or name
    employer.email = employer.email or mail
    employer.phone = employer.phone or tel
    session.flush()
    record_event(session, "e_transactions.register", "employer", employer.id,
                 org_unit_id=employer.org_unit_id, details={"registration_id": registration.id, "on": on.isoformat()})
    return registration, True


def deregister_e_transactions(session: Session, employer: Employer, *, on: date, by: str
                              ) -> ETransactionRegistration | None:
    """End the registration in force on ``on``; None (nothing changed) when there is none."""
    employer = _locked(session, employer)
    existing = current_registration(session, employer.id)
    if existing is None:
        return None
    if on < existing.registered_on:
        raise ValidationFailed("on", "A registration ends on or after the day it began ({day}).",
                               day=existing.registered_on.isoformat())
    existing.ended_on, existing.ended_by = on, by[:64]
    employer.e_transactions, employer.e_transactions_since = False, None
    session.flush()
    record_event(session, "e_transactions.deregister", "employer", employer.id,
                 org_unit_id=employer.org_unit_id, details={"registration_id": existing.id, "on": on.isoformat()})
    return existing


def registration_view(registration: ETransactionRegistration | None) -> dict | None:
    if registration is None:
        return None
    return {"id": registration.id, "registered_on": registration.registered_on.isoformat(),
            "registered_by": registration.registered_by, "contact_name": registration.contact_name,
            "email": registration.email, "phone": registration.phone,
            "ended_on": registration.ended_on.isoformat() if registration.ended_on else None,
            "ended_by": registration.ended_by}


def e_transactions_view(session: Session, employer: Employer) -> dict:
    return {"registered": bool(employer.e_transactions),
            "since": employer.e_transactions_since.isoformat() if employer.e_transactions_since else None,
            "current": registration_view(current_registration(session, employer.id))}


# --- the employer's users ----------------------------------------------------------------------------------------

def employer_users(session: Session, employer: Employer) -> list[dict]:
    """The accounts acting for the employer, with their duty and whether they are active."""
    users = session.scalars(select(User).where(User.subject_ref == employer.tax_code).order_by(User.username)).all()
    duties = {d.user_id: d for d in session.scalars(select(EmployerUserDuty).where(
        EmployerUserDuty.employer_id == employer.id))}
    out = []
    for user in users:
        if Role.employer not in user.role_enums:
            continue
        row = duties.get(user.id)
        out.append({"id": user.id, "username": user.username, "full_name": user.full_name, "email": user.email,
                    "duty": (Duty(row.duty) if row else Duty.administrator).value,
                    "active": bool(user.is_active) and (row is None or row.deactivated_at is None)})
    return out


def add_employer_user(session: Session, account: EmployerAccount, *, username: str, full_name: str, password: str,
                      duty: str, email: str | None = None) -> User:
    """A new account of the same employer with a duty (its password checked as every password is)."""
    ensure_duty(account, "users")
    try:
        chosen = Duty(duty)
    except ValueError:
        raise ValidationFailed("duty", "The duty is administrator, declarations or accounting.") from None
    full_name = _clean(full_name)
    if not full_name or len(full_name) > 200:
        raise ValidationFailed("full_name", "Give the person's full name.")
    mail = _clean(email).lower() or None
    if mail and not _EMAIL.match(mail):
        raise ValidationFailed("email", "Give a valid e-mail address, like name@example.vn.")
    unit = session.get(OrgUnit, account.principal.org_unit_id)
    user = auth_service.create_user(session, username=username, password=password, full_name=full_name,
                                    org_unit=unit, roles=[Role.employer], email=mail,
                                    subject_ref=account.employer.tax_code)
    session.add(EmployerUserDuty(user_id=user.id, employer_id=account.employer.id, duty=chosen,
                                 created_by=account.principal.username))
    session.flush()
    return user


def deactivate_employer_user(session: Session, account: EmployerAccount, user_id: int) -> User:
    """Close an account of the same employer (it can no longer sign in); not the caller's own."""
    ensure_duty(account, "users")
    user = session.get(User, user_id)
    if user is None or user.subject_ref != account.employer.tax_code or Role.employer not in user.role_enums:
        raise NotFound("No account {id} acts for your employer.", id=user_id)
    if user.id == account.principal.user_id:
        raise ValidationFailed("user", "You cannot deactivate your own account.")
    auth_service.deactivate_user(session, account.principal, user)
    row = session.get(EmployerUserDuty, user.id)
    if row is None:
        row = EmployerUserDuty(user_id=user.id, employer_id=account.employer.id, duty=Duty.administrator,
                               created_by=account.principal.username)
        session.add(row)
    row.deactivated_at = row.deactivated_at or utcnow()
    session.flush()
    return user


# --- the statement of account ------------------------------------------------------------------------------------

def payer_key(employer: Employer) -> str:
    return f"E:{employer.id}"


STATEMENT_SUMS = ("total", "paid", "written_off", "outstanding", "arrears", "interest", "interest_paid",
                  "interest_due")


def statement(session: Session, employer: Employer, *, on: date) -> dict:
    """Per month billed (newest first): billed, paid, written off, outstanding, in arrears (past its due date),
    late interest accrued and paid, to ``on``; and the totals. Money received and not yet allocated to a bill is
    ``unallocated``."""
    from ansinh.collection import arrears

    bills = arrears.bill_state(session, None, on=on, payer_key=payer_key(employer))
    rows = []
    for row in bills.sort("period", descending=True).iter_rows(named=True):
        late = row["months_overdue"] > 0
        rows.append({"bill_id": row["bill_id"], "period": row["period"], "reference": row["reference"],
                     "due_date": row["due_date"], "total": int(row["total"]), "paid": int(row["paid"]),
                     "written_off": int(row["written_off"]), "outstanding": int(row["outstanding"]),
                     "arrears": int(row["outstanding"]) if late else 0, "months_overdue": int(row["months_overdue"]),
                     "interest": int(row["interest"]), "interest_paid": int(row["interest_paid"]),
                     "interest_due": int(row["interest"]) - int(row["interest_paid"])})
    totals = {key: sum(r[key] for r in rows) for key in STATEMENT_SUMS}
    received = int(session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.payer_key == payer_key(employer), Payment.status == "matched", Payment.paid_on <= on)) or 0)
    allocated = int(session.scalar(select(func.coalesce(func.sum(Allocation.amount), 0))
                                   .join(Payment, Payment.id == Allocation.payment_id)
                                   .where(Payment.payer_key == payer_key(employer), Payment.status == "matched",
                                          Payment.paid_on <= on, Allocation.reversed.is_(False),
                                          Allocation.allocated_on <= on)) or 0)
    return {"on": on, "months": rows, "totals": totals, "received": received,
            "unallocated": max(received - allocated, 0), "to_pay": totals["outstanding"] + totals["interest_due"]}


def statement_json(data: dict) -> dict:
    def iso(row: dict) -> dict:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}

    return {**iso({k: v for k, v in data.items() if k != "months"}), "months": [iso(r) for r in data["months"]]}


def bill_of_month(session: Session, employer: Employer, month: date) -> Bill | None:
    return session.scalar(select(Bill).where(Bill.payer_key == payer_key(employer), Bill.period == month))


def contribution_notice(session: Session, principal: Principal, employer: Employer, month: date) -> dict:
    """The notice of contribution results of a month (thông báo kết quả đóng): per worker, the insured salary and
    the amounts of the employer and the worker, the month's corrections apart; the read is audited."""
    from ansinh.registry.service import record_people_listed

    bill = bill_of_month(session, employer, month)
    if bill is None:
        raise NotFound("No bill for {month}.", month=month.strftime("%Y-%m"))
    lines = session.execute(select(BillLine.person_id, BillLine.side, BillLine.adjustment, BillLine.for_period,
                                   func.max(BillLine.insured_salary), func.sum(BillLine.amount))
                            .where(BillLine.bill_id == bill.id)
                            .group_by(BillLine.person_id, BillLine.side, BillLine.adjustment, BillLine.for_period)).all()
    ids = sorted({person_id for person_id, *_ in lines if person_id is not None})
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}
    workers: dict[tuple, dict] = {}
    for person_id, side, adjustment, for_period, salary, amount in lines:
        key = (person_id, bool(adjustment), for_period)
        person = people.get(person_id)
        entry = workers.setdefault(key, {
            "person_id": person_id, "full_name": person.full_name if person else "",
            "si_number": person.si_number if person else None, "adjustment": bool(adjustment),
            "for_period": for_period, "insured_salary": 0, "employer": 0, "employee": 0, "total": 0})
        entry["insured_salary"] = max(entry["insured_salary"], int(salary or 0))
        entry["employer" if side == "employer" else "employee"] += int(amount)
        entry["total"] += int(amount)
    rows = sorted(workers.values(), key=lambda r: (r["adjustment"], r["full_name"], r["person_id"] or 0,
                                                     r["for_period"]))
    record_people_listed(session, principal, [people[i] for i in ids], what="employer_contribution_notice",
                         query={"employer_id": employer.id, "month": month.isoformat()})
    return {"bill_id": bill.id, "reference": bill.reference, "period": bill.period, "due_date": bill.due_date,
            "workers": rows, "totals": {k: sum(r[k] for r in rows) for k in ("employer", "employee", "total")},
            "bill_total": int(bill.total)}


# --- bills and payments ------------------------------------------------------------------------------------------

def employer_bill(session: Session, employer: Employer, bill_id: int) -> Bill:
    """One of the employer's bills; another's is not found (404)."""
    bill = session.get(Bill, bill_id)
    if bill is None or bill.employer_id != employer.id or bill.payer_key != payer_key(employer):
        raise NotFound("Bill {id} does not exist.", id=bill_id)
    return bill


def bill_view(session: Session, bill: Bill, *, on: date) -> dict:
    """What a bill says: its amounts by fund and side, paid, outstanding, and the VietQR payment of what is
    outstanding (or of the whole bill)."""
    from ansinh.collection.pages import line_summary, qr_for

    paid = int(session.scalar(select(func.coalesce(func.sum(Allocation.amount), 0)).where(
        Allocation.bill_id == bill.id, Allocation.part == "principal", Allocation.reversed.is_(False),
        Allocation.allocated_on <= on)) or 0)
    outstanding = max(int(bill.total) - paid, 0)
    qr = qr_for(bill, outstanding or int(bill.total))
    return {"id": bill.id, "reference": bill.reference, "period": bill.period, "due_date": bill.due_date,
            "employer_amount": int(bill.employer_amount), "employee_amount": int(bill.employee_amount),
            "adjustment_amount": int(bill.adjustment_amount), "total": int(bill.total), "workers": bill.workers,
            "paid": paid, "outstanding": outstanding, "overdue": outstanding > 0 and bill.due_date < on,
            "lines": line_summary(session, bill.id),
            "payment": None if qr is None else {k: qr[k] for k in ("payload", "bank_bin", "account", "amount",
                                                                   "demo")},
            "qr_uri": qr["uri"] if qr else None}


def bill_pdf(employer: Employer, view: dict) -> bytes:
    """The bill as a one-page A4 PDF (in Vietnamese, with the English below each heading) with its VietQR code."""
    import segno
    from fpdf import FPDF

    from ansinh.collection.debtors import find_font
    from ansinh.formatting import number

    def money(value: int) -> str:
        return f"{number(int(value), 'vi')} đồng"

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"Thông báo đóng BHXH {view['reference']}")
    pdf.set_creator("ansinh")
    pdf.add_font("DejaVu", "", str(find_font()))
    pdf.add_page()
    pdf.set_font("DejaVu", size=13)
    pdf.multi_cell(0, 7, "THÔNG BÁO SỐ TIỀN PHẢI ĐÓNG BHXH, BHYT, BHTN", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    pdf.cell(0, 5, "Contribution bill: social, health and unemployment insurance", align="C", new_x="LMARGIN",
             new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", size=10)
    period = view["period"]
    facts = [("Đơn vị / Employer", employer.name), ("Mã số thuế / Tax code", employer.tax_code),
             ("Tháng / Month", f"{period.month:02d}/{period.year}"),
             ("Mã thanh toán / Payment reference", view["reference"]),
             ("Hạn đóng / Due date", view["due_date"].strftime("%d/%m/%Y")),
             ("Số lao động / Workers", str(view["workers"])),
             ("Đơn vị đóng / Employer's share", money(view["employer_amount"])),
             ("Người lao động đóng / Workers' share", money(view["employee_amount"])),
             ("Điều chỉnh / Corrections", money(view["adjustment_amount"])),
             ("Tổng cộng / Total", money(view["total"])), ("Đã đóng / Paid", money(view["paid"])),
             ("Còn phải đóng / Outstanding", money(view["outstanding"]))]
    with pdf.table(col_widths=(70, 110), first_row_as_headings=False, line_height=6) as table:
        for label, value in facts:
            row = table.row()
            row.cell(label)
            row.cell(value)
    payment = view.get("payment")
    if payment:
        pdf.ln(5)
        pdf.cell(0, 6, "Quét mã VietQR để chuyển khoản / Scan the VietQR code to pay", new_x="LMARGIN", new_y="NEXT")
        buffer = io.BytesIO()
        segno.make_qr(payment["payload"], error="m", boost_error=False).save(buffer, kind="png", scale=6, border=2)
        buffer.seek(0)
        pdf.image(buffer, w=50)
        pdf.set_font("DejaVu", size=8)
        pdf.cell(0, 5, f"Tài khoản / Account {payment['account']} · NAPAS BIN {payment['bank_bin']}",
                 new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def payment_history(session: Session, employer: Employer, *, limit: int = 200) -> list[dict]:
    """The money received from the employer (newest first), each with what it paid: bills' principal, interest."""
    payments = session.scalars(select(Payment).where(Payment.payer_key == payer_key(employer))
                               .order_by(Payment.paid_on.desc(), Payment.id.desc()).limit(limit)).all()
    ids = [p.id for p in payments]
    parts: dict[int, dict] = {}
    if ids:
        rows = session.execute(select(Allocation.payment_id, Allocation.part, Bill.reference,
                                      func.sum(Allocation.amount))
                               .outerjoin(Bill, Bill.id == Allocation.bill_id)
                               .where(Allocation.payment_id.in_(ids), Allocation.reversed.is_(False))
                               .group_by(Allocation.payment_id, Allocation.part, Bill.reference)).all()
        for payment_id, part, reference, amount in rows:
            entry = parts.setdefault(payment_id, {"principal": 0, "interest": 0, "bills": []})
            entry["interest" if part == "interest" else "principal"] += int(amount)
            if reference and part != "interest" and reference not in entry["bills"]:
                entry["bills"].append(reference)
    out = []
    for payment in payments:
        entry = parts.get(payment.id, {"principal": 0, "interest": 0, "bills": []})
        out.append({"id": payment.id, "paid_on": payment.paid_on, "amount": int(payment.amount),
                    "bank_transaction_id": payment.bank_transaction_id, "reference_text": payment.reference_text,
                    "status": payment.status, "principal": entry["principal"], "interest": entry["interest"],
                    "unallocated": int(payment.amount) - entry["principal"] - entry["interest"]
                    if payment.status == "matched" else 0, "bills": sorted(entry["bills"])})
    return out


# --- workers, cards, sickness and maternity cases ---------------------------------------------------------------

def workers_with_cards(session: Session, principal: Principal, employer: Employer, *, on: date, limit: int = 200,
                       offset: int = 0) -> tuple[list[dict], int]:
    """The people covered through the employer on ``on`` with their current health insurance card; audited."""
    from ansinh.cards.models import HICard
    from ansinh.participation.service import current_workers
    from ansinh.registry.service import record_people_listed

    workers, total = current_workers(session, employer.id, on, limit=limit, offset=offset)
    ids = [w.person.id for w in workers]
    cards = {c.person_id: c for c in session.scalars(select(HICard).where(
        HICard.person_id.in_(ids), HICard.superseded_at.is_(None)).order_by(HICard.id))} if ids else {}
    record_people_listed(session, principal, [w.person for w in workers], what="employer_workers",
                         query={"employer_id": employer.id, "on": on.isoformat()}, total=total)
    rows = []
    for worker in workers:
        card = cards.get(worker.person.id)
        rows.append({"person_id": worker.person.id, "full_name": worker.person.full_name,
                     "citizen_id": worker.person.citizen_id, "si_number": worker.person.si_number,
                     "since": worker.period.valid_from, "insured_salary": worker.period.insured_salary,
                     "hi_group": worker.hi_group,
                     "card": None if card is None else {
                         "card_code": card.card_code, "valid_from": card.valid_from, "valid_until": card.valid_until,
                         "registered_facility": card.registered_facility,
                         "status": getattr(card.status, "value", card.status),
                         "in_force": card.valid_from <= on and (card.valid_until is None or card.valid_until >= on)}})
    return rows, total


def benefit_cases(session: Session, employer: Employer, *, limit: int = 200) -> list[dict]:
    """The sickness and maternity cases the employer filed (its 01B-HSB lists), newest first, with their status."""
    from ansinh.benefits.models import BenefitClaim

    claims = session.scalars(select(BenefitClaim).where(BenefitClaim.employer_id == employer.id)
                             .order_by(BenefitClaim.filed_on.desc(), BenefitClaim.id.desc()).limit(limit)).all()
    ids = {c.person_id for c in claims}
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}
    return [{"id": c.id, "type": getattr(c.claim_type, "value", c.claim_type),
             "status": getattr(c.status, "value", c.status), "filed_on": c.filed_on,
             "full_name": people[c.person_id].full_name if c.person_id in people else "",
             "citizen_id": c.person_ref, "amount": c.amount, "decision_number": c.decision_number,
             "batch_id": c.employer_batch_id} for c in claims]


def benefit_batches(session: Session, employer: Employer, *, limit: int = 50) -> list:
    from ansinh.benefits.models import EmployerBenefitBatch

    return list(session.scalars(select(EmployerBenefitBatch).where(EmployerBenefitBatch.employer_id == employer.id)
                                .order_by(EmployerBenefitBatch.id.desc()).limit(limit)))


# --- the landing page ------------------------------------------------------------------------------------------

def overview(session: Session, account: EmployerAccount, *, on: date) -> dict:
    """What is due: the amount to pay (outstanding and late interest), the earliest unpaid bill, arrears; the
    registration; the workers insured; the cases being processed; the agency's latest notices to the employer."""
    from ansinh.benefits.models import BenefitClaim
    from ansinh.participation.service import current_workers

    from ansinh.notices import service as notices

    employer = account.employer
    result = {"employer": {"id": employer.id, "tax_code": employer.tax_code, "name": employer.name},
              "duty": account.duty.value, "e_transactions": e_transactions_view(session, employer),
              "unread_notices": notices.count_unread(session, employer_id=employer.id),
              "notices": [notices.notice_view(n) for n in notices.list_notices(session, employer_id=employer.id,
                                                                               limit=3)]}
    if may(account, "accounting"):
        data = statement(session, employer, on=on)
        unpaid = [m for m in data["months"] if m["outstanding"] > 0]
        first = min(unpaid, key=lambda m: m["due_date"]) if unpaid else None
        result.update(to_pay=data["to_pay"], arrears=data["totals"]["arrears"],
                      interest_due=data["totals"]["interest_due"], unpaid_bills=len(unpaid),
                      next_bill=None if first is None else {"bill_id": first["bill_id"], "period": first["period"],
                                                            "due_date": first["due_date"],
                                                            "outstanding": first["outstanding"]})
    if may(account, "declarations"):
        result["workers"] = current_workers(session, employer.id, on, limit=1)[1]
        done = ("granted", "refused", "paid", "reconciled", "withdrawn", "payment_ordered", "failed")
        result["open_cases"] = session.scalar(select(func.count()).select_from(BenefitClaim).where(
            BenefitClaim.employer_id == employer.id, BenefitClaim.status.notin_(done))) or 0
    return result
