"""Inspection cases (thanh tra, kiểm tra): an employer in arrears is inspected; the case records the findings,
the decisions (payment plan, fine, referral) and the payments that settle it, then is closed.

Lifecycle: ``open`` → (findings, decisions, linked payments, in any order) → ``closed``. A closed case is not
changed any more. Every change is audited by the ORM listener (the table is audited).

Concurrency: every change locks the case's row first and reads it afresh (opening a case locks the employer's
row), so that two officers never both close a case, open two cases for one employer, or lose each other's
decisions. The same decision twice (same kind, amount, due date and note) and the same payment linked twice
are one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Principal, ensure_in_scope, org_scope
from ansinh.bounds import EARLIEST_DATE, MAX_AMOUNT, latest_date
from ansinh.collection.arrears import employer_overdue_on
from ansinh.collection.models import InspectionCase, Payment
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.registry.models import Employer

DECISION_KINDS = ("payment_plan", "fine", "referral")
OPEN, CLOSED = "open", "closed"


def _in_scope(session: Session, principal: Principal | None, org_unit_id: int) -> None:
    if principal is None:
        return
    unit = session.get(OrgUnit, org_unit_id)
    if unit is not None:
        ensure_in_scope(principal, unit)


def get_case(session: Session, principal: Principal | None, case_id: int, *, for_update: bool = False
             ) -> InspectionCase:
    """The case (in the caller's scope); ``for_update``: its row locked for the rest of the transaction and
    read afresh."""
    stmt = select(InspectionCase).where(InspectionCase.id == case_id)
    if for_update:
        stmt = stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
    case = session.scalar(stmt)
    if case is None:
        raise NotFound("No inspection case {case_id}.", case_id=case_id)
    _in_scope(session, principal, case.org_unit_id)
    return case


def _check_day(value: date, field: str) -> date:
    if not EARLIEST_DATE <= value <= latest_date():
        raise ValidationFailed(field, "A date between {earliest} and {latest} is expected; got {value}.",
                               earliest=EARLIEST_DATE, latest=latest_date(), value=value)
    return value


def _open_case(session: Session, principal: Principal | None, case_id: int) -> InspectionCase:
    case = get_case(session, principal, case_id, for_update=True)
    if case.status != OPEN:
        raise Conflict("Inspection case {case_id} is closed.", case_id=case_id)
    return case


def list_cases(session: Session, principal: Principal | None, *, employer_id: int | None = None,
               status: str | None = None, limit: int = 100, offset: int = 0) -> Sequence[InspectionCase]:
    stmt = select(InspectionCase).order_by(InspectionCase.opened_on.desc(), InspectionCase.id.desc())
    if principal is not None and principal.org_unit_level != "national":
        stmt = stmt.where(org_scope(principal, InspectionCase.org_unit_id))
    if employer_id is not None:
        stmt = stmt.where(InspectionCase.employer_id == employer_id)
    if status is not None:
        stmt = stmt.where(InspectionCase.status == status)
    return session.scalars(stmt.limit(limit).offset(offset)).all()


def open_case(session: Session, principal: Principal | None, *, employer_id: int, on: date) -> InspectionCase:
    """Open a case for an employer, with its overdue principal on ``on``. One open case per employer (the
    employer's row is locked while it is checked)."""
    _check_day(on, "opened_on")
    employer = session.scalar(select(Employer).where(Employer.id == employer_id)
                              .with_for_update(key_share=True).execution_options(populate_existing=True))
    if employer is None:
        raise NotFound("No employer {employer_id}.", employer_id=employer_id)
    _in_scope(session, principal, employer.org_unit_id)
    existing = session.scalar(select(InspectionCase.id).where(InspectionCase.employer_id == employer_id,
                                                             InspectionCase.status == OPEN))
    if existing is not None:
        raise Conflict("Employer {employer_id} already has an open inspection case ({case_id}).",
                       employer_id=employer_id, case_id=existing)
    case = InspectionCase(employer_id=employer_id, opened_on=on, status=OPEN,
                          arrears_at_opening=employer_overdue_on(session, employer_id, on=on),
                          decisions=[], payment_ids=[], org_unit_id=employer.org_unit_id)
    session.add(case)
    session.flush()
    return case


def record_findings(session: Session, principal: Principal | None, case_id: int, findings: str) -> InspectionCase:
    """Set the findings of an open case (replacing the earlier text)."""
    case = _open_case(session, principal, case_id)
    text = (findings or "").strip()
    if not text:
        raise ValidationFailed("findings", "The findings are empty.")
    if len(text) > 4000:
        raise ValidationFailed("findings", "The findings are longer than {limit} characters.", limit=4000)
    case.findings = text
    session.flush()
    return case


def add_decision(session: Session, principal: Principal | None, case_id: int, *, kind: str,
                 amount: int | None = None, due: date | None = None, note: str | None = None) -> InspectionCase:
    """Add a decision: a payment plan (amount to pay by ``due``), a fine (amount), or a referral (note)."""
    case = _open_case(session, principal, case_id)
    if kind not in DECISION_KINDS:
        raise ValidationFailed("kind", "Unknown decision {kind}; accepted: {accepted}.", kind=kind,
                               accepted=", ".join(DECISION_KINDS))
    if kind in ("payment_plan", "fine") and (amount is None or isinstance(amount, bool) or amount <= 0):
        raise ValidationFailed("amount", "A {kind} needs a positive amount in dong.", kind=kind)
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
        raise ValidationFailed("amount", "The amount must be a whole number of dong.")
    if amount is not None and amount > MAX_AMOUNT:
        raise ValidationFailed("amount", "The amount is larger than {limit} dong.", limit=MAX_AMOUNT)
    if kind == "payment_plan" and due is None:
        raise ValidationFailed("due", "A payment plan needs a due date.")
    if due is not None:
        _check_day(due, "due")
    if kind == "referral" and not (note or "").strip():
        raise ValidationFailed("note", "A referral needs a note saying to whom and why.")
    if note is not None and len(note) > 1000:
        raise ValidationFailed("note", "Longer than {limit} characters.", limit=1000)
    decision = {"kind": kind, "amount": amount, "due": due.isoformat() if due else None,
                "note": (note or "").strip() or None}
    if decision in (case.decisions or []):  # the same decision again (a double click, a retry) is that one
        return case
    case.decisions = [*(case.decisions or []), decision]  # a new list, so that the change is seen and audited
    session.flush()
    return case


def link_payment(session: Session, principal: Principal | None, case_id: int, payment_id: int) -> InspectionCase:
    """Link a payment of the employer that settles (part of) the case."""
    case = _open_case(session, principal, case_id)
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("No payment {payment_id}.", payment_id=payment_id)
    if payment.payer_key != f"E:{case.employer_id}":
        raise ValidationFailed("payment_id", "Payment {payment_id} is not from the employer of this case.",
                               payment_id=payment_id)
    if payment.status == "reversed":
        raise ValidationFailed("payment_id", "Payment {payment_id} was reversed.", payment_id=payment_id)
    if payment_id in (case.payment_ids or []):
        return case
    case.payment_ids = [*(case.payment_ids or []), payment_id]
    session.flush()
    return case


def case_summary(session: Session, case: InspectionCase, *, on: date) -> dict:
    """The case with the amounts paid by its linked payments and the employer's overdue principal on ``on``."""
    paid = 0
    if case.payment_ids:
        paid = sum(amount for (amount,) in session.execute(
            select(Payment.amount).where(Payment.id.in_(case.payment_ids), Payment.status != "reversed")))
    return {"id": case.id, "employer_id": case.employer_id, "opened_on": case.opened_on.isoformat(),
            "status": case.status, "arrears_at_opening": case.arrears_at_opening, "findings": case.findings,
            "decisions": list(case.decisions or []), "payment_ids": list(case.payment_ids or []),
            "paid": int(paid), "arrears_now": employer_overdue_on(session, case.employer_id, on=on),
            "closed_on": case.closed_on.isoformat() if case.closed_on else None}


def close_case(session: Session, principal: Principal | None, case_id: int, *, on: date) -> InspectionCase:
    """Close a case: it needs findings, and a closing date on or after its opening."""
    _check_day(on, "closed_on")
    case = _open_case(session, principal, case_id)
    if not case.findings:
        raise ValidationFailed("findings", "Record the findings before closing the case.")
    if on < case.opened_on:
        raise ValidationFailed("on", "The case cannot close ({on}) before it opened ({opened}).",
                               on=on, opened=case.opened_on)
    case.status = CLOSED
    case.closed_on = on
    session.flush()
    return case
