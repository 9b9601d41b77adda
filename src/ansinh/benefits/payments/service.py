"""Benefit payments: how a granted benefit becomes money in the beneficiary's hands, and the books of it.

* **Means of payment.** A payment goes to a *verified* open bank account of the payee (the holder's name is the
  person's name in the registry, accents and case aside: :func:`add_bank_account`), else in cash at the post
  office's paying point of the payee's commune (else of the payee's province); with neither, nothing is paid and
  the reason is given.
* **One-off benefits** (lump sum, sickness, maternity, funeral, one-off survivor grant) are granted and then
  ordered (:func:`order_payments`): one payment each, idempotent by the claim (``C<claim id>``), the claim moved to
  ``payment_ordered`` through :func:`ansinh.benefits.service.transition`.
* **Monthly benefits** (pension, monthly survivor allowance, unemployment benefit) get an :class:`Entitlement` when
  granted (:func:`on_granted`); the monthly payroll (:func:`run_payroll`) orders a payment per entitlement in force
  in the month, set-based (one ``INSERT … SELECT`` per chunk), idempotent by (entitlement, month) and resumable by
  chunks under a lease, as collection's billing runs are.
* **Files and results.** Ordered payments are sent in a file per bank (BIN) or as a cash list per paying point
  (:func:`export_payment_file`: CSV or Excel); the bank's result file (:func:`import_bank_results`) marks each
  payment paid or failed (returned: closed account, name mismatch…), all or nothing, the same file twice changing
  nothing. A failed payment is re-issued once the account is corrected (:func:`reissue_payment`).
* **The ledger** (accounts in :mod:`ansinh.collection.models`): ordered ``benefit_expense +x`` / ``benefit_payable
  −x`` (one transaction per one-off payment; per chunk and province for a payroll: ``PR<run>-<chunk>-<province>``);
  paid ``benefit_payable +x`` / ``benefit_bank −x`` (per result file and province: ``BR<import>-<province>``);
  failed: the payable stays until re-issued (the re-issue posts nothing: the payable carries over); an ordered
  payment cancelled (a death) ``benefit_payable +x`` / ``benefit_expense −x``; money paid for months after a death
  ``benefit_overpayment +x`` / ``benefit_expense −x``; recovered ``benefit_bank +x`` / ``benefit_overpayment −x``.
  :func:`reconcile_payments` proves payments ↔ ledger per transaction.
* **Deaths** (:func:`record_death`, called when a funeral or survivor benefit is granted): the deceased's
  entitlements stop after the month of death; payments ordered for later months are cancelled; those already sent
  or paid become an :class:`Overpayment` to recover.

The caller owns the transaction, except :func:`run_payroll`, which commits chunk by chunk.
"""

from __future__ import annotations

import contextvars
import csv
import hashlib
import io
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import polars as pl
from sqlalchemy import Date, bindparam, false, func, or_, select, text, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ansinh.audit.service import record_event, record_read
from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Principal, org_scope
from ansinh.benefits.models import BenefitClaim, ClaimEvent, ClaimStatus, ClaimType
from ansinh.benefits.payments.models import (
    BankAccount,
    BankResultImport,
    BenefitPayment,
    Entitlement,
    Method,
    Overpayment,
    PayingPoint,
    PaymentFile,
    PaymentStatus,
    PayrollChunk,
    PayrollRun,
)
from ansinh.bulk import read_frame
from ansinh.collection import ledger
from ansinh.collection.ledger import Entry, post, post_frame
from ansinh.collection.models import (
    BENEFIT_BANK,
    BENEFIT_EXPENSE,
    BENEFIT_OVERPAYMENT,
    BENEFIT_PAYABLE,
    LedgerEntry,
)
from ansinh.db import Database, allow_waiting, utcnow
from ansinh.errors import DomainError, Conflict, NotFound, ValidationFailed
from ansinh.formatting import in_both_languages
from ansinh.i18n import N_
from ansinh.participation.service import add_months, month_start
from ansinh.registry.identifiers import search_key
from ansinh.registry.models import Person

P = PaymentStatus
#: The fund that pays each benefit (a mapping of the law's structure, not a figure).
FUND_OF = {"lump_sum": "retirement", "pension": "retirement", "survivor": "retirement", "funeral": "retirement",
           "sickness": "sickness_maternity", "maternity": "sickness_maternity", "unemployment": "unemployment"}
#: Payments still owed by the fund to the payee (the payable): ordered, in a file, or failed and not re-issued.
OUTSTANDING = (P.ordered.value, P.sent.value)
DEFAULT_CHUNKS = 8
LEASE = timedelta(minutes=15)
RUNNING, COMPLETED = "running", "completed"
#: Ledger source types of benefit postings.
SOURCE_ORDER, SOURCE_PAYROLL, SOURCE_PAID, SOURCE_CANCEL = "benefit_order", "payroll", "benefit_paid", "benefit_cancel"
SOURCE_OVERPAYMENT, SOURCE_RECOVERY = "overpayment", "recovery"
ORDER_SOURCES = (SOURCE_ORDER, SOURCE_PAYROLL)
_BIN = re.compile(r"^\d{6}$")
_ACCOUNT = re.compile(r"^[0-9A-Za-z]{6,19}$")
_REFERENCE = re.compile(r"^BP(\d{1,18})$")
_PROVINCE = re.compile(r"^[0-9A-Za-z]{1,8}$")
_CODE = re.compile(r"^[0-9A-Za-z._-]{1,20}$")
MAX_RESULT_ROWS = 5_000_000
MAX_REPORTED_ERRORS = 200
IN_CHUNK = 5_000
#: Return reasons a bank reports (code → what it does to the account): a closed account is closed, a name that
#: does not match makes the account unverified; both leave the payee's entitlements to another means.
CLOSING_REASONS = {"closed_account": "closed", "name_mismatch": "unverified", "wrong_account": "unverified"}


def reference(payment_id: int) -> str:
    """The reference of a payment in files to banks and in their results: ``BP`` + the payment's id."""
    return f"BP{payment_id}"


def month_key(entitlement_id: int, month: date) -> str:
    """The idempotency key of a month of an entitlement: ``E<YYYYMM>-<id on 12 digits>``."""
    return f"E{month.year:04d}{month.month:02d}-{entitlement_id:012d}"


def payer_key(person_id: int) -> str:
    return f"P:{person_id}"


def _date_params(sql: str, *names: str):
    return text(sql).bindparams(*(bindparam(name, type_=Date) for name in names))


# --- scope ------------------------------------------------------------------------------------------------------

def _is_citizen(principal: Principal) -> bool:
    return Role.citizen in principal.roles and not principal.is_agency_staff


def staff_scope(principal: Principal | None, org_unit_id_column):
    """Records of agency staff's subtree (the CLI: every one); nothing for employers, citizens and facilities."""
    if principal is None:
        return true()
    if not principal.is_agency_staff:
        return false()
    return org_scope(principal, org_unit_id_column)


def payments_scope(principal: Principal):
    """A WHERE clause keeping the payments the caller may see: staff their subtree's, a citizen their own (as
    payee), an employer none."""
    if _is_citizen(principal):
        own = select(Person.id).where(Person.citizen_id == (principal.subject_ref or "\x00"))
        return BenefitPayment.payee_person_id.in_(own)
    if not principal.is_agency_staff:
        return false()
    return org_scope(principal, BenefitPayment.org_unit_id)


def _person_in_scope(session: Session, principal: Principal, citizen_id: str) -> Person:
    person = session.scalar(select(Person).where(Person.citizen_id == citizen_id, Person.merged_into_id.is_(None)))
    if person is not None:
        if _is_citizen(principal):
            ok = person.citizen_id == principal.subject_ref
        else:
            unit = session.get(OrgUnit, person.org_unit_id)
            ok = principal.is_agency_staff and unit is not None and principal.covers_path(unit.path)
        if ok:
            return person
    raise NotFound("No person is registered with citizen ID {citizen_id}.", citizen_id=citizen_id)


# --- bank accounts and paying points -----------------------------------------------------------------------------

def add_bank_account(session: Session, principal: Principal, *, citizen_id: str, bank_bin: str, account_number: str,
                     holder_name: str, on: date) -> BankAccount:
    """Register a beneficiary's bank account. Verified when the holder's name is the person's name in the registry
    (accents, case and spaces aside); a verified account becomes the means of payment of the person's entitlements.
    The same account registered again changes nothing."""
    bank_bin = (bank_bin or "").strip()
    account_number = (account_number or "").strip().replace(" ", "")
    holder_name = " ".join((holder_name or "").split())
    if not _BIN.match(bank_bin):
        raise ValidationFailed("bank_bin", "The bank's BIN has 6 digits; got {value}.", value=bank_bin)
    if not _ACCOUNT.match(account_number):
        raise ValidationFailed("account_number", "An account number has 6 to 19 letters or digits; got {value}.",
                               value=account_number)
    if not holder_name or len(holder_name) > 120:
        raise ValidationFailed("holder_name", "Give the account holder's name (at most 120 characters).")
    person = _person_in_scope(session, principal, citizen_id)
    existing = session.scalar(select(BankAccount).where(
        BankAccount.person_id == person.id, BankAccount.bank_bin == bank_bin,
        BankAccount.account_number == account_number).with_for_update().execution_options(populate_existing=True))
    if existing is not None:
        if existing.closed_on is not None:
            raise Conflict(N_("This account was closed; register the account that replaces it."))
        return existing
    verified = search_key(holder_name) == search_key(person.full_name)
    account = BankAccount(person_id=person.id, person_ref=person.citizen_id, bank_bin=bank_bin,
                          account_number=account_number, holder_name=holder_name, verified=verified,
                          verify_note=None if verified else "holder name differs from the registry",
                          opened_on=on, org_unit_id=person.org_unit_id, created_by=principal.username)
    session.add(account)
    session.flush()
    if verified:
        _refresh_means(session, [person.id])
    return account


def close_bank_account(session: Session, principal: Principal, account_id: int, *, on: date,
                       reason: str = "closed by the holder") -> BankAccount:
    account = session.scalar(select(BankAccount).where(BankAccount.id == account_id).with_for_update().execution_options(populate_existing=True))
    if account is None or not _account_in_scope(session, principal, account):
        raise NotFound("Bank account {id} does not exist.", id=account_id)
    if account.closed_on is None:
        account.closed_on, account.closed_reason = on, (reason or "")[:200]
        session.flush()
        _refresh_means(session, [account.person_id])
    return account


def _account_in_scope(session: Session, principal: Principal, account: BankAccount) -> bool:
    if _is_citizen(principal):
        return account.person_ref is not None and account.person_ref == principal.subject_ref
    unit = session.get(OrgUnit, account.org_unit_id)
    return principal.is_agency_staff and unit is not None and principal.covers_path(unit.path)


def bank_accounts(session: Session, principal: Principal, *, citizen_id: str | None = None,
                  limit: int = 100) -> list[BankAccount]:
    stmt = select(BankAccount)
    if citizen_id:
        person = _person_in_scope(session, principal, citizen_id)
        stmt = stmt.where(BankAccount.person_id == person.id)
        record_read(session, "person", person.id, org_unit_id=person.org_unit_id, person_ref=person.citizen_id,
                    details={"bank_accounts": True})
    elif _is_citizen(principal):
        stmt = stmt.where(BankAccount.person_ref == (principal.subject_ref or "\x00"))
    else:
        stmt = stmt.where(staff_scope(principal, BankAccount.org_unit_id))
    return list(session.scalars(stmt.order_by(BankAccount.id.desc()).limit(limit)))


def bank_account_view(account: BankAccount) -> dict:
    return {"id": account.id, "person_id": account.person_id, "citizen_id": account.person_ref,
            "bank_bin": account.bank_bin, "account_number": account.account_number,
            "holder_name": account.holder_name, "verified": account.verified, "verify_note": account.verify_note,
            "opened_on": account.opened_on.isoformat(),
            "closed_on": account.closed_on.isoformat() if account.closed_on else None}


def add_paying_point(session: Session, *, code: str, name: str, province_2025: str,
                     place_id: int | None = None) -> PayingPoint:
    """A post office's paying point (the same code again returns it unchanged)."""
    if not _CODE.match(code or ""):
        raise ValidationFailed("code", "{value} is not a paying point code.", value=code)
    if not _PROVINCE.match(province_2025 or ""):
        raise ValidationFailed("province", "{value} is not a province code.", value=province_2025)
    point = session.scalar(select(PayingPoint).where(PayingPoint.code == code))
    if point is None:
        point = PayingPoint(code=code, name=name[:200], province_2025=province_2025, place_id=place_id)
        session.add(point)
        session.flush()
    return point


def payment_means(session: Session, person: Person) -> tuple[str, int | None, int | None] | None:
    """How a person is paid: (``bank``, account id, None) to their newest verified open account, else (``cash``,
    None, paying point id) at the point of their commune, else of their province; None when there is neither."""
    account = session.scalar(select(BankAccount.id).where(
        BankAccount.person_id == person.id, BankAccount.verified.is_(True), BankAccount.closed_on.is_(None))
        .order_by(BankAccount.opened_on.desc(), BankAccount.id.desc()).limit(1))
    if account is not None:
        return Method.bank.value, account, None
    points = select(PayingPoint.id).where(PayingPoint.active.is_(True))
    point = None
    if person.residence_place_id is not None:
        point = session.scalar(points.where(PayingPoint.place_id == person.residence_place_id)
                               .order_by(PayingPoint.code).limit(1))
    if point is None and person.province_2025:
        point = session.scalar(points.where(PayingPoint.province_2025 == person.province_2025)
                               .order_by(PayingPoint.code).limit(1))
    return (Method.cash.value, None, point) if point is not None else None


def _refresh_means(session: Session, payee_ids: Sequence[int]) -> None:
    """The payees' entitlements in payment take their current means of payment."""
    for person_id in sorted(set(payee_ids)):
        person = session.get(Person, person_id)
        means = payment_means(session, person) if person else None
        method, account, point = means or (None, None, None)
        session.execute(update(Entitlement).where(Entitlement.payee_person_id == person_id)
                        .values(method=method, bank_account_id=account, paying_point_id=point)
                        .execution_options(synchronize_session=False))
    session.flush()


# --- a granted claim ----------------------------------------------------------------------------------------------

def is_monthly(claim: BenefitClaim) -> bool:
    kind = ClaimType(claim.claim_type)
    if kind in (ClaimType.pension, ClaimType.unemployment):
        return True
    return kind is ClaimType.survivor and (claim.details or {}).get("survivor_kind") == "monthly"


def on_granted(session: Session, claim: BenefitClaim, *, on: date) -> None:
    """A claim was granted: a monthly benefit starts its entitlement (an unemployment benefit also its health
    insurance for the benefit months); a funeral or survivor benefit records the death of the deceased, which
    stops their benefits. A one-off benefit is then ready to be ordered (:func:`order_payments`)."""
    kind = ClaimType(claim.claim_type)
    if kind in (ClaimType.funeral, ClaimType.survivor):
        died_on = (claim.details or {}).get("died_on")
        if died_on:
            record_death(session, claim.person_id, died_on=date.fromisoformat(str(died_on)), on=on)
    if not is_monthly(claim) or not claim.monthly_amount:
        return
    first = month_start(claim.first_month) if claim.first_month else add_months(month_start(on), 1)
    last = None
    if kind is ClaimType.unemployment:
        last = add_months(first, max(int(claim.benefit_months or 1), 1) - 1)
    payee = session.get(Person, claim.payee_person_id or claim.person_id)
    means = payment_means(session, payee)
    method, account, point = means or (None, None, None)
    entitlement = session.scalar(select(Entitlement).where(Entitlement.claim_id == claim.id).with_for_update().execution_options(populate_existing=True))
    if entitlement is None:
        entitlement = Entitlement(claim_id=claim.id, claim_type=kind.value, fund=FUND_OF[kind.value],
                                  person_id=claim.person_id, payee_person_id=payee.id, org_unit_id=claim.org_unit_id,
                                  province_2025=claim.province_2025, monthly_amount=0, first_month=first)
        session.add(entitlement)
    entitlement.monthly_amount = int(claim.monthly_amount)
    entitlement.first_month, entitlement.last_month = first, last
    entitlement.method, entitlement.bank_account_id, entitlement.paying_point_id = method, account, point
    session.flush()
    if kind is ClaimType.unemployment:
        _enrol_unemployment_hi(session, claim, payee, first, add_months(last, 1), on)


def register_entitlement(session: Session, principal: Principal, *, citizen_id: str, claim_type: str,
                         monthly_amount: int, first_month: date, last_month: date | None = None) -> Entitlement:
    """A monthly benefit already in payment before this system (a pension migrated from the old one): no claim;
    paid by the payroll from ``first_month`` like any other entitlement."""
    if claim_type not in ("pension", "survivor", "unemployment"):
        raise ValidationFailed("claim_type", "A monthly benefit is a pension, a survivor allowance or an "
                                             "unemployment benefit; got {value}.", value=claim_type)
    if isinstance(monthly_amount, bool) or not isinstance(monthly_amount, int) or not 0 < monthly_amount <= 10**10:
        raise ValidationFailed("monthly_amount", "The monthly amount is between 1 and 10,000,000,000 dong.")
    first = month_start(first_month)
    last = month_start(last_month) if last_month else None
    if last is not None and last < first:
        raise ValidationFailed("last_month", "The last month is before the first.")
    person = _person_in_scope(session, principal, citizen_id)
    if not principal.is_agency_staff:
        raise NotFound("No person is registered with citizen ID {citizen_id}.", citizen_id=citizen_id)
    method, account, point = payment_means(session, person) or (None, None, None)
    entitlement = Entitlement(claim_type=claim_type, fund=FUND_OF[claim_type], person_id=person.id,
                              payee_person_id=person.id, monthly_amount=monthly_amount, first_month=first,
                              last_month=last, method=method, bank_account_id=account, paying_point_id=point,
                              org_unit_id=person.org_unit_id, province_2025=person.province_2025)
    session.add(entitlement)
    session.flush()
    record_event(session, "benefit_entitlement", "benefit_entitlement", entitlement.id,
                 org_unit_id=person.org_unit_id, person_ref=person.citizen_id,
                 details={"claim_type": claim_type, "monthly_amount": monthly_amount, "first_month": first.isoformat()})
    return entitlement


def entitlement_view(entitlement: Entitlement) -> dict:
    return {"id": entitlement.id, "claim_id": entitlement.claim_id, "claim_type": entitlement.claim_type,
            "fund": entitlement.fund, "person_id": entitlement.person_id,
            "payee_person_id": entitlement.payee_person_id, "monthly_amount": int(entitlement.monthly_amount),
            "first_month": entitlement.first_month.strftime("%Y-%m"),
            "last_month": entitlement.last_month.strftime("%Y-%m") if entitlement.last_month else None,
            "method": entitlement.method, "bank_account_id": entitlement.bank_account_id,
            "paying_point_id": entitlement.paying_point_id,
            "stopped_on": entitlement.stopped_on.isoformat() if entitlement.stopped_on else None,
            "stop_reason": entitlement.stop_reason}


def _enrol_unemployment_hi(session: Session, claim: BenefitClaim, payee: Person, start: date, end: date,
                           on: date) -> None:
    """Health insurance for the benefit months, paid by the unemployment fund (group TN), through participation's
    enrolment. A person already covered for those months (or a start the rules refuse) keeps their cover: the
    claim's timeline says why none was added."""
    from ansinh.errors import DomainError
    from ansinh.participation import service as participation

    unit = session.get(OrgUnit, claim.org_unit_id)
    try:
        with session.begin_nested():
            participation.enrol_state_budget(session, group="TN", people=[payee], start=start, end=end,
                                             org_unit=unit, today=on)
            from ansinh.cards.service import issue_cards

            issue_cards(session, on=max(start, on), person_ids=[payee.id])  # the card of the benefit months
    except DomainError as error:
        session.add(ClaimEvent(claim_id=claim.id, from_status=claim.status.value, to_status=claim.status.value,
                               on=on, by="system", reason="health insurance not added: " + error.template[:900],
                               details={"params": {k: str(v) for k, v in error.params.items()}}))
        session.flush()


# --- deaths and overpayments ------------------------------------------------------------------------------------

def record_death(session: Session, person_id: int, died_on: date, on: date) -> dict:
    """A person died on ``died_on`` (known on ``on``): their entitlements (as payee) stop after the month of death;
    payments ordered for later months are cancelled (expense reversed), those sent or paid become an overpayment
    to recover. Recording the same death again changes nothing. Returns what was done."""
    if died_on > on:
        raise ValidationFailed("died_on", "The date of death {died_on} is after {on}.", died_on=died_on, on=on)
    last = month_start(died_on)
    entitlements = list(session.scalars(select(Entitlement).where(
        Entitlement.payee_person_id == person_id, Entitlement.stopped_on.is_(None)).with_for_update().execution_options(populate_existing=True)))
    done = {"entitlements_stopped": 0, "payments_cancelled": 0, "overpayments": []}
    for entitlement in entitlements:
        entitlement.stopped_on = on
        entitlement.stop_reason = f"death on {died_on.isoformat()}"
        if entitlement.last_month is None or entitlement.last_month > last:
            entitlement.last_month = last
        done["entitlements_stopped"] += 1
        after = _later_payments(session, entitlement.id, add_months(last, 1))
        overpaid = []
        reissued = {p.reissue_of_id for p in after if p.reissue_of_id is not None}
        for payment in after:
            if payment.status == P.ordered.value or (payment.status == P.failed.value
                                                     and payment.id not in reissued):
                _cancel(session, payment, on=on)  # not paid (or returned): owed no more
                done["payments_cancelled"] += 1
            elif payment.status in (P.sent.value, P.paid.value):
                overpaid.append(payment)
        if overpaid:
            over = _record_overpayment(session, person_id=person_id, entitlement=entitlement, payments=overpaid,
                                       reason=f"paid after the death on {died_on.isoformat()}", on=on)
            done["overpayments"].append(over.id)
    session.flush()
    if entitlements:
        record_event(session, "benefit_death", "person", person_id,
                     details={"died_on": died_on.isoformat(), "on": on.isoformat(),
                              **{k: v for k, v in done.items()}})
    return done


def _later_payments(session: Session, entitlement_id: int, first: date) -> list[BenefitPayment]:
    """The payments of an entitlement's months from ``first`` on, with their re-issues, locked."""
    found = list(session.scalars(select(BenefitPayment).where(
        BenefitPayment.idem_key.in_(_month_keys(session, entitlement_id, first)))
        .order_by(BenefitPayment.id).with_for_update().execution_options(populate_existing=True)))
    frontier = [p.id for p in found if p.status == P.failed.value]
    while frontier:
        more = list(session.scalars(select(BenefitPayment).where(BenefitPayment.reissue_of_id.in_(frontier))
                                    .order_by(BenefitPayment.id).with_for_update()
                                    .execution_options(populate_existing=True)))
        found += more
        frontier = [p.id for p in more if p.status == P.failed.value]
    return found


def _month_keys(session: Session, entitlement_id: int, first: date) -> list[str]:
    """The idempotency keys of an entitlement's monthly payments from ``first`` to the latest month paid (a month
    of an entitlement is found by its key, the table has no index on (entitlement, month))."""
    latest = session.scalar(select(func.max(PayrollRun.month)))
    keys, month = [], first
    while latest is not None and month <= latest:
        keys.append(month_key(entitlement_id, month))
        month = add_months(month, 1)
    return keys


def _cancel(session: Session, payment: BenefitPayment, *, on: date) -> None:
    payment.status = P.cancelled.value
    payment.failed_on = payment.failed_on or on
    payment.failure_reason = (((payment.failure_reason + "; ") if payment.failure_reason else "") + "cancelled")[:200]
    post(session, [Entry(BENEFIT_PAYABLE, payment.amount, payer_key(payment.payee_person_id), payment.fund,
                         payment.month, payment.province_2025),
                   Entry(BENEFIT_EXPENSE, -payment.amount, payer_key(payment.payee_person_id), payment.fund,
                         payment.month, payment.province_2025)],
         posted_on=on, source_type=SOURCE_CANCEL, source_id=payment.id)


def _record_overpayment(session: Session, *, person_id: int, entitlement: Entitlement | None,
                        payments: Sequence[BenefitPayment], reason: str, on: date) -> Overpayment:
    amount = sum(int(p.amount) for p in payments)
    fund = payments[0].fund
    over = Overpayment(person_id=person_id, entitlement_id=entitlement.id if entitlement else None, fund=fund,
                       amount=amount, recovered=0, reason=reason[:200], payment_ids=[p.id for p in payments],
                       status="open", detected_on=on,
                       org_unit_id=entitlement.org_unit_id if entitlement else payments[0].org_unit_id,
                       province_2025=entitlement.province_2025 if entitlement else payments[0].province_2025)
    session.add(over)
    session.flush()
    over.txn = post(session, [Entry(BENEFIT_OVERPAYMENT, amount, payer_key(person_id), fund, None,
                                    over.province_2025),
                              Entry(BENEFIT_EXPENSE, -amount, payer_key(person_id), fund, None, over.province_2025)],
                    posted_on=on, source_type=SOURCE_OVERPAYMENT, source_id=over.id)
    session.flush()
    return over


def record_overpayment(session: Session, principal: Principal, *, payment_ids: Sequence[int], reason: str,
                       on: date) -> Overpayment:
    """Payments found not due (a benefit paid after re-employment…): a receivable to recover from the payee."""
    if not reason or not reason.strip():
        raise ValidationFailed("reason", "Write why the payments were not due.")
    payments = list(session.scalars(select(BenefitPayment).where(
        BenefitPayment.id.in_(list(payment_ids)), payments_scope(principal)).with_for_update().execution_options(populate_existing=True)))
    if not payments or len(payments) != len(set(payment_ids)):
        raise NotFound("Payment {id} does not exist.", id=",".join(str(i) for i in payment_ids))
    if len({p.payee_person_id for p in payments}) != 1 or len({p.fund for p in payments}) != 1:
        raise ValidationFailed("payment_ids", "The payments of one overpayment are of one payee and one fund.")
    if any(p.status != P.paid.value for p in payments):
        raise ValidationFailed("payment_ids", "Only paid payments can be overpaid.")
    known = session.scalars(select(Overpayment.payment_ids).where(
        Overpayment.person_id == payments[0].payee_person_id)).all()
    already = {i for ids in known for i in (ids or [])}
    if already & {p.id for p in payments}:
        raise Conflict(N_("A payment is already part of an overpayment."))
    entitlement = session.get(Entitlement, payments[0].entitlement_id) if payments[0].entitlement_id else None
    return _record_overpayment(session, person_id=payments[0].payee_person_id, entitlement=entitlement,
                               payments=payments, reason=reason.strip(), on=on)


def recover_overpayment(session: Session, principal: Principal, overpayment_id: int, *, amount: int,
                        on: date) -> Overpayment:
    """Money recovered of an overpayment (into the fund's bank account): at most what is still owed."""
    over = session.scalar(select(Overpayment).where(Overpayment.id == overpayment_id,
                                                    staff_scope(principal, Overpayment.org_unit_id)).with_for_update().execution_options(populate_existing=True))
    if over is None:
        raise NotFound("Overpayment {id} does not exist.", id=overpayment_id)
    owed = int(over.amount) - int(over.recovered)
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= owed:
        raise ValidationFailed("amount", "The amount recovered is between 1 and {owed} dong.", owed=owed)
    over.recovered = int(over.recovered) + amount
    if over.recovered == over.amount:
        over.status = "recovered"
    post(session, [Entry(BENEFIT_BANK, amount, payer_key(over.person_id), over.fund, None, over.province_2025),
                   Entry(BENEFIT_OVERPAYMENT, -amount, payer_key(over.person_id), over.fund, None,
                         over.province_2025)],
         posted_on=on, source_type=SOURCE_RECOVERY, source_id=over.id)
    return over


def overpayments(session: Session, principal: Principal, *, status: str | None = None, limit: int = 100,
                 offset: int = 0) -> tuple[list[Overpayment], int]:
    stmt = select(Overpayment).where(staff_scope(principal, Overpayment.org_unit_id))
    if status:
        stmt = stmt.where(Overpayment.status == status)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    return list(session.scalars(stmt.order_by(Overpayment.id.desc()).limit(limit).offset(offset))), total


def overpayment_view(over: Overpayment) -> dict:
    return {"id": over.id, "person_id": over.person_id, "entitlement_id": over.entitlement_id, "fund": over.fund,
            "amount": int(over.amount), "recovered": int(over.recovered),
            "outstanding": int(over.amount) - int(over.recovered), "reason": over.reason,
            "payment_ids": list(over.payment_ids or []), "status": over.status,
            "detected_on": over.detected_on.isoformat(), "province": over.province_2025}


# --- one-off payments -------------------------------------------------------------------------------------------

NO_MEANS = N_("The payee has no verified bank account in their own name and there is no paying point in their "
              "province: register an account or a paying point, then order again.")


def order_payments(session: Session, principal: Principal, *, on: date,
                   claim_ids: Sequence[int] | None = None, limit: int = 10_000) -> dict:
    """Order the payments of granted one-off claims (of the caller's scope; ``claim_ids`` some of them): one payment
    each, to the payee's verified account or paying point, its expense posted; the claim moves to
    ``payment_ordered``. A claim without a means of payment stays granted, with the reason. Monthly benefits are
    paid by the payroll. Returns ``{"ordered": [{claim_id, payment_id, amount, method}], "skipped": [{claim_id,
    reason}]}``."""
    from ansinh.benefits.service import claims_scope, transition

    stmt = select(BenefitClaim).where(claims_scope(principal), BenefitClaim.status == ClaimStatus.granted.value)
    if claim_ids is not None:
        stmt = stmt.where(BenefitClaim.id.in_([int(i) for i in claim_ids]))
    claims = list(session.scalars(stmt.order_by(BenefitClaim.id).limit(limit).with_for_update().execution_options(populate_existing=True)
                                  .execution_options(populate_existing=True)))
    result: dict[str, list] = {"ordered": [], "skipped": []}
    if claim_ids is not None:
        found = {c.id for c in claims}
        for missing in sorted(set(int(i) for i in claim_ids) - found):
            result["skipped"].append({"claim_id": missing, "reason": "not a granted claim of your scope"})
    for claim in claims:
        if is_monthly(claim):
            result["skipped"].append({"claim_id": claim.id, "reason": "a monthly benefit: paid by the payroll"})
            continue
        if not claim.amount or claim.amount <= 0:
            result["skipped"].append({"claim_id": claim.id, "reason": "nothing to pay"})
            continue
        payee = session.get(Person, claim.payee_person_id or claim.person_id)
        means = payment_means(session, payee)
        if means is None:
            en, vi = in_both_languages(NO_MEANS)
            result["skipped"].append({"claim_id": claim.id, "reason": en, "reason_vi": vi})
            continue
        existing = session.scalar(select(BenefitPayment).where(BenefitPayment.idem_key == f"C{claim.id}"))
        if existing is not None:  # a claim re-granted after an appeal of an ordered one cannot happen; replay
            continue
        method, account, point = means
        fund = FUND_OF[ClaimType(claim.claim_type).value]
        payment = BenefitPayment(idem_key=f"C{claim.id}", claim_id=claim.id, payee_person_id=payee.id, fund=fund,
                                 amount=int(claim.amount), method=method, bank_account_id=account,
                                 paying_point_id=point, status=P.ordered.value, ordered_on=on,
                                 pay_month=month_start(claim.decided_on or claim.filed_on),
                                 org_unit_id=claim.org_unit_id, province_2025=claim.province_2025)
        session.add(payment)
        session.flush()
        payment.order_txn = post(session, [
            Entry(BENEFIT_EXPENSE, payment.amount, payer_key(payee.id), fund, None, claim.province_2025),
            Entry(BENEFIT_PAYABLE, -payment.amount, payer_key(payee.id), fund, None, claim.province_2025)],
            posted_on=on, source_type=SOURCE_ORDER, source_id=payment.id)
        transition(session, claim, ClaimStatus.payment_ordered, on=on, by=principal.username,
                   details={"payment_id": payment.id, "amount": payment.amount, "method": method})
        result["ordered"].append({"claim_id": claim.id, "payment_id": payment.id, "amount": payment.amount,
                                  "method": method})
    session.flush()
    return result


# --- the monthly payroll ------------------------------------------------------------------------------------------

class PayrollInterrupted(RuntimeError):
    """Raised by ``stop_after_chunks`` (tests simulate a crash with it): the committed chunks stay."""


def _in_force_sql(province: str | None) -> str:
    where = ("e.first_month <= :month AND (e.last_month IS NULL OR e.last_month >= :month) "
             "AND e.monthly_amount > 0")
    if province:
        where += f" AND e.province_2025 = '{province}'"
    return where


def _payroll_chunk(session: Session, run_id: int, month: date, chunk: int, chunks: int, province: str | None,
                   on: date) -> tuple[int, int]:
    """Order the month's payments of one chunk of the entitlements (``id % chunks == chunk``) with one INSERT …
    SELECT, and post them: one transaction per province (expense per fund / payable). Entitlements already paid
    for the month (by another run: a province's, then the country's) are left out by their idempotency key
    ``E<YYYYMM>-<id>`` (``ON CONFLICT DO NOTHING``: an index probe per row; a ``NOT EXISTS`` on the table
    being written is planned as a scan of it per row). Returns (payments, total)."""
    ym = f"{month.year:04d}{month.month:02d}"
    padded = "lpad(CAST(e.id AS TEXT), 12, '0')" if session.get_bind().dialect.name == "postgresql" \
        else "printf('%012d', e.id)"
    txn = f"'PR{run_id}-{chunk}-' || coalesce(e.province_2025, '-')"
    insert = f"""
        INSERT INTO benefit_payment (idem_key, claim_id, entitlement_id, month, pay_month, payee_person_id, fund,
            amount, method, bank_account_id, paying_point_id, status, payroll_run_id, chunk, order_txn, ordered_on,
            org_unit_id, province_2025)
        SELECT 'E{ym}-' || {padded}, e.claim_id, e.id, :month, :month, e.payee_person_id, e.fund, e.monthly_amount,
            e.method, e.bank_account_id, e.paying_point_id, 'ordered', {int(run_id)}, {int(chunk)}, {txn}, :on,
            e.org_unit_id, e.province_2025
        FROM benefit_entitlement e
        WHERE e.id % {int(chunks)} = {int(chunk)} AND e.method IS NOT NULL AND {_in_force_sql(province)}
    """
    params = {"month": month, "on": on}
    # Another run of the month (a province's, then the country's) may have paid some of these: skip them by their
    # key. Without one, no key can be taken (a chunk commits whole, once): a plain INSERT, cheaper; should another
    # run start meanwhile and take a key first, the chunk's insert is redone skipping them.
    others = session.scalar(select(func.count()).select_from(PayrollRun).where(PayrollRun.month == month,
                                                                              PayrollRun.id != run_id))
    postgres = session.get_bind().dialect.name == "postgresql"
    totals = ("SELECT order_txn, province_2025, fund, sum(amount), count(*) FROM {source} "
              "GROUP BY order_txn, province_2025, fund ORDER BY order_txn, fund")

    def write(statement: str) -> list:
        if postgres:  # the chunk's totals from the rows inserted, not read back from the table
            cte = f"WITH ins AS ({statement} RETURNING order_txn, province_2025, fund, amount) "
            return session.execute(_date_params(cte + totals.format(source="ins"), "month", "on"), params).all()
        session.execute(_date_params(statement, "month", "on"), params)
        return session.execute(text(totals.format(
            source=f"benefit_payment WHERE payroll_run_id = {int(run_id)} AND chunk = {int(chunk)}"))).all()

    sums = None
    if not others:
        try:
            with session.begin_nested():
                sums = write(insert)
        except IntegrityError:
            sums = None
    if sums is None:
        sums = write(insert + " ON CONFLICT (idem_key, pay_month) DO NOTHING")
    if not sums:
        return 0, 0
    frame = pl.DataFrame([tuple(row) for row in sums], orient="row",
                         schema={"txn": pl.String, "province_2025": pl.String, "fund": pl.String,
                                 "amount": pl.Int64, "count": pl.Int64})
    expense = frame.select("txn", account=pl.lit(BENEFIT_EXPENSE), fund="fund", amount="amount",
                           province_2025="province_2025")
    payable = frame.group_by("txn", "fund").agg(pl.col("province_2025").first(), pl.col("amount").sum()) \
        .select("txn", account=pl.lit(BENEFIT_PAYABLE), fund="fund", amount=-pl.col("amount"),
                province_2025="province_2025")
    entries = pl.concat([expense, payable]).with_columns(
        payer_key=pl.lit(None, pl.String), posted_on=pl.lit(on), source_type=pl.lit(SOURCE_PAYROLL),
        source_id=pl.lit(run_id, pl.Int64), period=pl.lit(month)).sort("txn", "account", "fund")
    post_frame(session, entries)
    return int(frame["count"].sum()), int(frame["amount"].sum())


def _take_lease(session: Session, run_id: int, owner: str) -> bool:
    now = utcnow()
    taken = session.execute(update(PayrollRun).where(
        PayrollRun.id == run_id,
        or_(PayrollRun.lease_until.is_(None), PayrollRun.lease_until < now, PayrollRun.lease_owner == owner))
        .values(lease_owner=owner, lease_until=now + LEASE).execution_options(synchronize_session=False))
    return taken.rowcount == 1


def _busy(month: date) -> Conflict:
    return Conflict("The payroll of {month} is being run by another process; try again when it has finished.",
                    month=month.strftime("%Y-%m"))


def _open_run(database: Database, month: date, scope: str, chunks: int, by: str, owner: str) -> PayrollRun:
    with database.unit_of_work() as session:
        find = select(PayrollRun).where(PayrollRun.month == month, PayrollRun.province == scope) \
            .execution_options(populate_existing=True)
        run = session.scalar(find)
        if run is None:
            try:
                with session.begin_nested():
                    run = PayrollRun(month=month, province=scope, status=RUNNING, chunks_total=chunks,
                                     created_by=by)
                    session.add(run)
                    session.flush()
            except IntegrityError:
                run = session.scalar(find)
                if run is None:  # pragma: no cover - the other request rolled back
                    raise _busy(month) from None
        if run.status == COMPLETED:
            session.expunge(run)
            return run
        if not _take_lease(session, run.id, owner):
            raise _busy(month)
        session.refresh(run)
        session.expunge(run)
        return run


def _renew(database: Database, run_id: int, owner: str, month: date) -> None:
    with database.unit_of_work() as session:
        renewed = session.execute(update(PayrollRun).where(PayrollRun.id == run_id, PayrollRun.lease_owner == owner)
                                  .values(lease_until=utcnow() + LEASE)
                                  .execution_options(synchronize_session=False))
        if renewed.rowcount != 1:
            raise _busy(month)


def run_payroll(database: Database, *, month: date, by: str, province: str | None = None,
                on: date | None = None, chunks: int | None = None, stop_after_chunks: int | None = None,
                workers: int = 1, progress: Callable[[int, int, int], None] | None = None) -> dict:
    """The monthly payroll of ``month`` for a province (2025 code) or the whole country: a payment ordered on
    ``on`` (default: the first day of the month) for every entitlement in force in the month with a means of
    payment, posted to the ledger. Idempotent by (month, province): a completed run returns its summary and writes
    nothing; a run that died finishes its missing chunks only; a run held by another process is a conflict. Each
    chunk commits on its own. Monthly claims paid for the first time move to ``payment_ordered``."""
    if province is not None and not _PROVINCE.match(province):
        raise ValidationFailed("province", "{value} is not a province code.", value=province)
    if chunks is not None and not 1 <= chunks <= 1024:
        raise ValidationFailed("chunks", "The number of chunks is between 1 and 1024; got {value}.", value=chunks)
    month = month_start(month)
    on = on or month
    scope = province or "*"
    owner = uuid.uuid4().hex
    run = _open_run(database, month, scope, chunks or DEFAULT_CHUNKS, by, owner)
    if run.status == COMPLETED:
        with database.unit_of_work() as session:
            return payroll_summary(session, session.get(PayrollRun, run.id), resumed=True)
    run_id, total_chunks = run.id, run.chunks_total
    try:
        with database.unit_of_work() as session:
            done = set(session.scalars(select(PayrollChunk.chunk).where(PayrollChunk.run_id == run_id)))
        todo = [chunk for chunk in range(total_chunks) if chunk not in done]
        resumed = bool(done)

        def pay_one(chunk: int) -> None:
            _renew(database, run_id, owner, month)
            with database.unit_of_work() as session:
                count = pay_run_chunk(session, run_id, chunk, on=on)
            if progress is not None:
                progress(chunk, total_chunks, count)

        if workers > 1 and stop_after_chunks is None and len(todo) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(contextvars.copy_context().run, pay_one, c) for c in todo]:
                    future.result()
        else:
            for processed, chunk in enumerate(todo):
                if stop_after_chunks is not None and processed >= stop_after_chunks:
                    raise PayrollInterrupted(f"payroll run {run_id} stopped after {processed} chunk(s)")
                pay_one(chunk)
        with database.unit_of_work() as session:
            run = close_payroll_run(session, run_id, on=on, by=by, resumed=resumed)
            return payroll_summary(session, run, resumed=resumed)
    except BaseException:
        try:
            with database.unit_of_work() as session:
                session.execute(update(PayrollRun).where(PayrollRun.id == run_id, PayrollRun.lease_owner == owner)
                                .values(lease_owner=None, lease_until=None)
                                .execution_options(synchronize_session=False))
        except Exception:  # noqa: BLE001 - the lease then expires by itself
            pass
        raise


def pay_run_chunk(session: Session, run_id: int, chunk: int, *, on: date) -> int:
    """Pay one chunk of a payroll run in the caller's transaction (its payments, ledger entries and ``PayrollChunk``
    row commit together): the unit of work of an in-process run and of a job's chunk on a worker. A chunk already
    paid writes nothing. Returns the payments ordered."""
    if session.scalar(select(PayrollChunk.chunk).where(PayrollChunk.run_id == run_id,
                                                       PayrollChunk.chunk == chunk)) is not None:
        return 0
    run = session.get(PayrollRun, run_id)
    allow_waiting(session, statement_timeout_ms=1_800_000)
    province = None if run.province == "*" else run.province
    count, total = _payroll_chunk(session, run_id, run.month, chunk, run.chunks_total, province, on)
    session.add(PayrollChunk(run_id=run_id, chunk=chunk, payments=count, total=total))
    session.flush()
    return count


def close_payroll_run(session: Session, run_id: int, *, on: date, by: str, resumed: bool = False) -> PayrollRun:
    """End a payroll run whose chunks are all paid: its totals, the payees without a means of payment, its lease
    released, the claims paid for the first time moved on; audited (``payroll_run``)."""
    run = session.scalar(select(PayrollRun).where(PayrollRun.id == run_id).with_for_update()
                         .execution_options(populate_existing=True))
    province = None if run.province == "*" else run.province
    count, total = session.execute(select(func.count(), func.coalesce(func.sum(BenefitPayment.amount), 0))
                                   .where(BenefitPayment.payroll_run_id == run_id)).one()
    run.without_method = int(session.execute(_date_params(
        f"SELECT count(*) FROM benefit_entitlement e WHERE e.method IS NULL AND {_in_force_sql(province)}",
        "month"), {"month": run.month}).scalar() or 0)
    run.status, run.payments, run.total, run.finished_at = COMPLETED, int(count), int(total), utcnow()
    run.lease_owner = run.lease_until = None
    session.flush()
    first = _first_payroll_claims(session, run_id, on, by)
    record_event(session, "payroll_run", "payroll_run", run_id,
                 details={"month": run.month.isoformat(), "province": run.province, "payments": int(count),
                          "total": int(total), "chunks": run.chunks_total, "resumed": resumed,
                          "claims_ordered": first, "by": by})
    return run


def _first_payroll_claims(session: Session, run_id: int, on: date, by: str) -> int:
    """Granted monthly claims paid by this run for the first time: ``payment_ordered``."""
    from ansinh.benefits.service import transition

    claims = list(session.scalars(select(BenefitClaim).where(
        BenefitClaim.status == ClaimStatus.granted.value,
        BenefitClaim.id.in_(select(BenefitPayment.claim_id).where(BenefitPayment.payroll_run_id == run_id,
                                                                 BenefitPayment.claim_id.is_not(None))))
        .order_by(BenefitClaim.id).with_for_update().execution_options(populate_existing=True)))
    for claim in claims:
        transition(session, claim, ClaimStatus.payment_ordered, on=max(on, claim.filed_on), by=by,
                   details={"payroll_run_id": run_id})
    return len(claims)


def start_payroll(database: Database, *, month: date, by: str, province: str | None = None,
                  wait_seconds: float = 5.0) -> int:
    """Run the payroll of a month for a web page: on a thread of its own (:mod:`ansinh.background`), the run's id
    returned as soon as the run exists, while its chunks are paid (the run's page shows their progress). A month
    already paid returns its run at once, paying nothing again."""
    from ansinh import background

    month = month_start(month)
    if province is not None and not _PROVINCE.match(province):
        raise ValidationFailed("province", "{value} is not a province code.", value=province)
    scope = province or "*"

    def find() -> int | None:
        with database.unit_of_work() as session:
            return session.scalar(select(PayrollRun.id).where(PayrollRun.month == month,
                                                              PayrollRun.province == scope))

    return background.start(database, key=("payroll", month, scope), name=f"payroll-{month:%Y-%m}-{scope}",
                            work=lambda: run_payroll(database, month=month, by=by, province=province), find=find,
                            busy=lambda: _busy(month), wait_seconds=wait_seconds)


def payroll_error(run: PayrollRun) -> DomainError | str | None:
    """The error that stopped a payroll started from the page, if one did."""
    from ansinh import background

    return background.background_error(("payroll", run.month, run.province))


def payroll_summary(session: Session, run: PayrollRun, *, resumed: bool = False) -> dict:
    chunks_done = session.scalar(select(func.count()).select_from(PayrollChunk)
                                 .where(PayrollChunk.run_id == run.id)) or 0
    by_method = dict(session.execute(select(BenefitPayment.method, func.count()).where(
        BenefitPayment.payroll_run_id == run.id).group_by(BenefitPayment.method)).all()) \
        if run.status != COMPLETED or run.payments < 200_000 else {}
    return {"run_id": run.id, "month": run.month.strftime("%Y-%m"), "province": run.province, "status": run.status,
            "chunks_total": run.chunks_total, "chunks_done": int(chunks_done), "resumed": resumed,
            "payments": int(run.payments or 0), "total": int(run.total or 0),
            "without_method": int(run.without_method or 0),
            "by_method": {k: int(v) for k, v in sorted(by_method.items())}, "created_by": run.created_by,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None}


def payroll_runs(session: Session, principal: Principal | None, *, limit: int = 50) -> list[dict]:
    """The payroll runs the caller may read (province runs of their provinces; all for national staff)."""
    from ansinh.collection.billing import run_provinces_in_scope

    stmt = select(PayrollRun)
    if principal is not None and not principal.is_agency_staff:
        return []
    provinces = run_provinces_in_scope(session, principal)
    if provinces is not None:
        stmt = stmt.where(PayrollRun.province.in_(provinces or ["-"]))
    return [payroll_summary(session, run) for run in session.scalars(
        stmt.order_by(PayrollRun.month.desc(), PayrollRun.id.desc()).limit(limit))]


def get_payroll_run(session: Session, principal: Principal | None, run_id: int) -> PayrollRun:
    from ansinh.collection.billing import run_provinces_in_scope

    run = session.get(PayrollRun, run_id)
    provinces = run_provinces_in_scope(session, principal)
    if run is None or (provinces is not None and run.province not in provinces) or (
            principal is not None and not principal.is_agency_staff):
        raise NotFound("Payroll run {id} does not exist.", id=run_id)
    return run


def ensure_payroll_scope(session: Session, principal: Principal | None, province: str | None) -> None:
    """Running a province's payroll is for its province office (and national staff); the country's for national
    staff only."""
    from ansinh.collection.billing import ensure_run_scope

    ensure_run_scope(session, principal, province)


# --- reading payments -----------------------------------------------------------------------------------------

def payment_view(payment: BenefitPayment) -> dict:
    return {"id": payment.id, "reference": reference(payment.id), "claim_id": payment.claim_id,
            "entitlement_id": payment.entitlement_id, "month": payment.month and payment.month.strftime("%Y-%m"),
            "amount": int(payment.amount), "method": payment.method, "status": payment.status, "fund": payment.fund,
            "payee_person_id": payment.payee_person_id, "bank_account_id": payment.bank_account_id,
            "paying_point_id": payment.paying_point_id, "payroll_run_id": payment.payroll_run_id,
            "payment_file_id": payment.payment_file_id, "reissue_of_id": payment.reissue_of_id,
            "ordered_on": payment.ordered_on.isoformat(),
            "sent_on": payment.sent_on and payment.sent_on.isoformat(),
            "paid_on": payment.paid_on and payment.paid_on.isoformat(), "failure_reason": payment.failure_reason}


def claim_payments(session: Session, claim_id: int) -> list[dict]:
    """The payments of a claim, as ``benefits show --json`` lists them:
    ``[{"id", "month", "amount", "method", "status", "paid_on", "failure_reason"}]``."""
    rows = session.scalars(select(BenefitPayment).where(BenefitPayment.claim_id == claim_id)
                           .order_by(BenefitPayment.month, BenefitPayment.id)
                           .execution_options(populate_existing=True))
    return [{"id": p.id, "month": p.month and p.month.strftime("%Y-%m"), "amount": int(p.amount),
             "method": p.method, "status": p.status, "paid_on": p.paid_on and p.paid_on.isoformat(),
             "failure_reason": p.failure_reason, "reference": reference(p.id), "reissue_of_id": p.reissue_of_id}
            for p in rows]


def payments_page(session: Session, principal: Principal, *, run_id: int | None = None,
                  file_id: int | None = None, status: str | None = None, method: str | None = None,
                  claim_id: int | None = None, limit: int = 50, offset: int = 0) -> tuple[list[BenefitPayment], int]:
    stmt = select(BenefitPayment).where(payments_scope(principal))
    if run_id is not None:
        stmt = stmt.where(BenefitPayment.payroll_run_id == run_id)
    if file_id is not None:
        stmt = stmt.where(BenefitPayment.payment_file_id == file_id)
    if status:
        stmt = stmt.where(BenefitPayment.status == PaymentStatus(status).value)
    if method:
        stmt = stmt.where(BenefitPayment.method == Method(method).value)
    if claim_id is not None:
        stmt = stmt.where(BenefitPayment.claim_id == claim_id)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(session.scalars(stmt.order_by(BenefitPayment.id).limit(limit).offset(offset)
                                .execution_options(populate_existing=True)))
    return rows, total


def get_payment(session: Session, principal: Principal, payment_id: int) -> BenefitPayment:
    payment = session.scalar(select(BenefitPayment).where(BenefitPayment.id == payment_id,
                                                          payments_scope(principal))
                             .execution_options(populate_existing=True))
    if payment is None:
        raise NotFound("Payment {id} does not exist.", id=payment_id)
    return payment


def entitlements(session: Session, principal: Principal, *, person_id: int | None = None,
                 limit: int = 100) -> list[Entitlement]:
    stmt = select(Entitlement).where(staff_scope(principal, Entitlement.org_unit_id))
    if person_id is not None:
        stmt = stmt.where(or_(Entitlement.person_id == person_id, Entitlement.payee_person_id == person_id))
    return list(session.scalars(stmt.order_by(Entitlement.id).limit(limit)))


# --- payment files ------------------------------------------------------------------------------------------------

BANK_COLUMNS = ("account_number", "holder_name", "amount", "reference", "content")
CASH_COLUMNS = ("reference", "full_name", "citizen_id", "amount", "content")


def export_payment_file(session: Session, principal: Principal, *, on: date, bank_bin: str | None = None,
                        paying_point: str | None = None, province: str | None = None) -> PaymentFile:
    """Send the ordered payments of a bank (by BIN) or of a paying point (by code) of the caller's scope: they
    become ``sent`` in a new :class:`PaymentFile` (a guarded update: a payment is sent once). Nothing to send is a
    404. Its content: :func:`payment_file_content`."""
    if (bank_bin is None) == (paying_point is None):
        raise ValidationFailed("bank_bin", "Give a bank's BIN or a paying point's code.")
    scope = payments_scope(principal)
    if bank_bin is not None:
        if not _BIN.match(bank_bin):
            raise ValidationFailed("bank_bin", "The bank's BIN has 6 digits; got {value}.", value=bank_bin)
        which = BenefitPayment.bank_account_id.in_(select(BankAccount.id).where(BankAccount.bank_bin == bank_bin))
        method, point_id = Method.bank.value, None
    else:
        point_id = session.scalar(select(PayingPoint.id).where(PayingPoint.code == paying_point))
        if point_id is None:
            raise NotFound("Paying point {code} does not exist.", code=paying_point)
        which = BenefitPayment.paying_point_id == point_id
        method = Method.cash.value
    conditions = [scope, which, BenefitPayment.method == method, BenefitPayment.status == P.ordered.value]
    if province:
        conditions.append(BenefitPayment.province_2025 == province)
    file = PaymentFile(kind=method, bank_bin=bank_bin, paying_point_id=point_id, province_2025=province,
                       created_on=on, created_by=principal.username)
    session.add(file)
    session.flush()
    sent = session.execute(update(BenefitPayment).where(*conditions)
                           .values(status=P.sent.value, sent_on=on, payment_file_id=file.id)
                           .execution_options(synchronize_session=False))
    if sent.rowcount == 0:
        raise NotFound("No ordered payment is waiting to be sent there.")
    count, total = session.execute(select(func.count(), func.coalesce(func.sum(BenefitPayment.amount), 0))
                                   .where(BenefitPayment.payment_file_id == file.id)).one()
    file.payments, file.total = int(count), int(total)
    session.flush()
    record_event(session, "benefit_payment_file", "benefit_payment_file", file.id,
                 details={"kind": method, "bank_bin": bank_bin, "paying_point": paying_point,
                          "payments": file.payments, "total": file.total})
    return file


def _file_frame(session: Session, file: PaymentFile) -> pl.DataFrame:
    stmt = (select(BenefitPayment.id, BenefitPayment.amount, BenefitPayment.month, BankAccount.account_number,
                   BankAccount.holder_name, Person.full_name, Person.citizen_id)
            .join(Person, Person.id == BenefitPayment.payee_person_id)
            .outerjoin(BankAccount, BankAccount.id == BenefitPayment.bank_account_id)
            .where(BenefitPayment.payment_file_id == file.id).order_by(BenefitPayment.id))
    frame = read_frame(session, stmt, {"id": pl.Int64, "amount": pl.Int64, "month": pl.Date,
                                       "account_number": pl.String, "holder_name": pl.String,
                                       "full_name": pl.String, "citizen_id": pl.String})
    month_text = pl.col("month").dt.strftime("%m/%Y")
    return frame.with_columns(
        reference=pl.lit("BP") + pl.col("id").cast(pl.String),
        content=pl.when(pl.col("month").is_null()).then(pl.lit("BHXH chi tra tro cap BP") + pl.col("id").cast(pl.String))
        .otherwise(pl.lit("BHXH chi tra thang ") + month_text + pl.lit(" BP") + pl.col("id").cast(pl.String)))


def payment_file_content(session: Session, principal: Principal, file_id: int, *, fmt: str = "csv"
                         ) -> tuple[str, bytes]:
    """(file name, bytes) of a payment file: CSV (UTF-8) or Excel, with the columns banks take (account number,
    holder name, amount, reference, content), or a paying point's cash list (reference, name, citizen ID, amount,
    content). Text cells are safe to open (no formula)."""
    from ansinh.spreadsheets import safe_row

    file = session.get(PaymentFile, file_id)
    if file is None or not _file_in_scope(session, principal, file):
        raise NotFound("Payment file {id} does not exist.", id=file_id)
    frame = _file_frame(session, file)
    columns = BANK_COLUMNS if file.kind == Method.bank.value else CASH_COLUMNS
    rows = frame.select(columns).rows()
    stem = f"chi-tra-{file.kind}-{file.bank_bin or file.paying_point_id}-{file.id}"
    record_event(session, "benefit_payment_file_read", "benefit_payment_file", file.id,
                 details={"rows": len(rows), "format": fmt})
    if fmt == "xlsx":
        import xlsxwriter

        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False})
        sheet = book.add_worksheet("payments")
        sheet.write_row(0, 0, columns)
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, safe_row(row))
        book.close()
        return stem + ".xlsx", buffer.getvalue()
    if fmt != "csv":
        raise ValidationFailed("format", "The format is csv or xlsx; got {value}.", value=fmt)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(safe_row(row) for row in rows)
    return stem + ".csv", out.getvalue().encode("utf-8")


def _file_in_scope(session: Session, principal: Principal, file: PaymentFile) -> bool:
    if not principal.is_agency_staff:
        return False
    outside = session.scalar(select(func.count()).select_from(BenefitPayment).where(
        BenefitPayment.payment_file_id == file.id, ~org_scope(principal, BenefitPayment.org_unit_id)))
    return not outside


def payment_files(session: Session, principal: Principal, *, limit: int = 50) -> list[PaymentFile]:
    files = list(session.scalars(select(PaymentFile).where(PaymentFile.id.in_(
        select(BenefitPayment.payment_file_id).where(staff_scope(principal, BenefitPayment.org_unit_id),
                                                     BenefitPayment.payment_file_id.is_not(None))))
        .order_by(PaymentFile.id.desc()).limit(limit)))
    return files


def payment_file_view(file: PaymentFile) -> dict:
    return {"id": file.id, "kind": file.kind, "bank_bin": file.bank_bin, "paying_point_id": file.paying_point_id,
            "province": file.province_2025, "created_on": file.created_on.isoformat(), "payments": file.payments,
            "total": int(file.total), "created_by": file.created_by}


# --- the banks' results -----------------------------------------------------------------------------------------

R = {
    "header": ("The file needs the columns reference and status (and reason for returned payments).",
               "Tệp cần các cột reference và status (và reason cho khoản bị trả lại)."),
    "empty": ("The file has no rows.", "Tệp không có dòng nào."),
    "too_many": ("The file has more than {max} rows.", "Tệp có quá {max} dòng."),
    "reference": ("Not a payment reference (BP followed by digits).",
                  "Không phải mã khoản chi (BP và các chữ số)."),
    "unknown": ("No payment of your scope has this reference.", "Không có khoản chi nào thuộc phạm vi của bạn "
                                                                "có mã này."),
    "duplicate": ("This reference appears again in this file (first on row {first}).",
                  "Mã này lặp lại trong tệp (lần đầu ở dòng {first})."),
    "status": ("The status is paid or returned.", "Trạng thái là paid hoặc returned."),
    "reason": ("Give the reason the payment was returned.", "Ghi lý do khoản chi bị trả lại."),
    "not_sent": ("This payment is {status}, not waiting for a result.",
                 "Khoản chi này đang ở trạng thái {status}, không chờ kết quả."),
    "amount": ("The amount differs from the payment's ({amount}).", "Số tiền khác với khoản chi ({amount})."),
}


@dataclass
class ResultRowError:
    file: str
    row: int  # as the user sees it: header = 1, first data row = 2
    field: str
    value: str
    reason_en: str
    reason_vi: str


@dataclass
class ResultReport:
    file_name: str
    sha256: str
    status: str  # applied | rejected | unchanged
    rows: int = 0
    paid: int = 0
    returned: int = 0
    paid_total: int = 0
    import_id: int | None = None
    claims_paid: int = 0
    claims_failed: int = 0
    errors: list[ResultRowError] = field(default_factory=list)
    error_count: int = 0

    def to_json(self) -> dict:
        data = asdict(self)
        data["error_count"] = max(self.error_count, len(self.errors))
        return data


def _error(file_name: str, row: int, column: str, value: str, key: str, **params) -> ResultRowError:
    en, vi = R[key]
    return ResultRowError(file_name, row, column, str(value)[:80], en.format(**params), vi.format(**params))


def import_bank_results(session: Session, principal: Principal, *, file_name: str, content: bytes,
                        on: date) -> ResultReport:
    """Import a bank's (or paying point's) result file: rows ``reference, status (paid | returned), reason[,
    amount]``. All or nothing: any bad row (an unknown reference, a payment not waiting for a result, a bad status)
    rejects the file with each error named by file, row and field, and nothing changes. The same file twice changes
    nothing. Paid payments are posted (payable settled from the benefit bank account, one transaction per
    province); returned ones fail with their reason (a closed account is closed, a name mismatch unverifies it, and
    the payee's entitlements move to another means). Claims move to ``paid`` or ``failed``."""
    sha256 = hashlib.sha256(content).hexdigest()
    report = ResultReport(file_name=file_name, sha256=sha256, status="rejected")
    previous = session.scalar(select(BankResultImport).where(BankResultImport.file_sha256 == sha256))
    if previous is not None:
        report.status, report.rows, report.import_id = "unchanged", previous.rows, previous.id
        report.paid, report.returned, report.paid_total = previous.paid, previous.returned, int(previous.paid_total)
        return report
    from ansinh.registry.imports import FileProblem, read_table

    try:
        frame = read_table(content, file_name)  # text columns, names lower case, values trimmed, empty → null
    except FileProblem as problem:
        report.errors = [ResultRowError(file_name, e.row, e.column, e.value, e.reason_en, e.reason_vi)
                         for e in problem.errors]
        return report
    if not {"reference", "status"} <= set(frame.columns):
        report.errors = [_error(file_name, 1, "", ",".join(frame.columns)[:80], "header")]
        return report
    if frame.height == 0:
        report.errors = [_error(file_name, 1, "", "", "empty")]
        return report
    if frame.height > MAX_RESULT_ROWS:
        report.errors = [_error(file_name, 1, "", str(frame.height), "too_many", max=MAX_RESULT_ROWS)]
        return report
    if "reason" not in frame.columns:
        frame = frame.with_columns(reason=pl.lit(None, pl.String))
    if "amount" not in frame.columns:
        frame = frame.with_columns(amount=pl.lit(None, pl.String))
    frame = frame.select(
        row=pl.int_range(2, frame.height + 2, dtype=pl.Int64),
        reference=pl.col("reference").cast(pl.String).str.strip_chars().str.to_uppercase(),
        status=pl.col("status").cast(pl.String).str.strip_chars().str.to_lowercase(),
        reason=pl.col("reason").cast(pl.String).str.strip_chars().str.slice(0, 200),
        amount_text=pl.col("amount").cast(pl.String).str.strip_chars())
    frame = frame.with_columns(id=pl.col("reference").str.extract(r"^BP(\d{1,18})$", 1).cast(pl.Int64, strict=False),
                               amount=pl.col("amount_text").cast(pl.Int64, strict=False))
    errors: list[ResultRowError] = []

    def add(rows: pl.DataFrame, column: str, key: str, value: str = "reference", **params) -> None:
        for row in rows.head(MAX_REPORTED_ERRORS).iter_rows(named=True):
            errors.append(_error(file_name, row["row"], column, row[value] or "", key,
                                 **{k: (row[v] if isinstance(v, str) and v in row else v) for k, v in params.items()}))
        report.error_count += rows.height

    add(frame.filter(pl.col("id").is_null()), "reference", "reference")
    add(frame.filter(~pl.col("status").is_in(["paid", "returned"]) | pl.col("status").is_null()), "status", "status",
        value="status")
    add(frame.filter((pl.col("status") == "returned") & (pl.col("reason").is_null() | (pl.col("reason") == ""))),
        "reason", "reason", value="status")
    add(frame.filter(pl.col("amount_text").is_not_null() & (pl.col("amount_text") != "") & pl.col("amount").is_null()),
        "amount", "amount", value="amount_text", amount="?")
    firsts = frame.filter(pl.col("id").is_not_null()).group_by("id").agg(first=pl.col("row").min())
    dupes = frame.join(firsts, on="id").filter(pl.col("row") != pl.col("first"))
    add(dupes, "reference", "duplicate", first="first")
    ids = frame.filter(pl.col("id").is_not_null())["id"].unique().to_list()
    known = pl.DataFrame(schema={"id": pl.Int64, "p_status": pl.String, "p_amount": pl.Int64})
    for start in range(0, len(ids), IN_CHUNK):
        part = session.execute(select(BenefitPayment.id, BenefitPayment.status, BenefitPayment.amount).where(
            BenefitPayment.id.in_(ids[start:start + IN_CHUNK]), payments_scope(principal))
            .with_for_update().execution_options(populate_existing=True)).all()
        if part:
            known = pl.concat([known, pl.DataFrame([tuple(r) for r in part], orient="row", schema=known.schema)])
    checked = frame.filter(pl.col("id").is_not_null()).join(known, on="id", how="left")
    add(checked.filter(pl.col("p_status").is_null()), "reference", "unknown")
    add(checked.filter(pl.col("p_status").is_not_null() & (pl.col("p_status") != P.sent.value)), "reference",
        "not_sent", status="p_status")
    add(checked.filter(pl.col("amount").is_not_null() & pl.col("p_amount").is_not_null()
                       & (pl.col("amount") != pl.col("p_amount"))), "amount", "amount", value="amount_text",
        amount="p_amount")
    report.rows = frame.height
    if report.error_count:
        report.errors = sorted(errors, key=lambda e: (e.row, e.field))[:MAX_REPORTED_ERRORS]
        return report
    imported = BankResultImport(file_name=file_name[:200], file_sha256=sha256, imported_on=on, rows=frame.height,
                                created_by=principal.username)
    session.add(imported)
    session.flush()
    paid_ids = checked.filter(pl.col("status") == "paid")["id"].to_list()
    returned = checked.filter(pl.col("status") == "returned")
    txn = f"'BR{imported.id}-' || coalesce(province_2025, '-')"
    changed = 0
    for start in range(0, len(paid_ids), IN_CHUNK):
        part = paid_ids[start:start + IN_CHUNK]
        changed += session.execute(_date_params(
            f"UPDATE benefit_payment SET status = 'paid', paid_on = :on, result_import_id = {imported.id}, "
            f"paid_txn = {txn} WHERE status = 'sent' AND id IN ({','.join(str(int(i)) for i in part)})", "on"),
            {"on": on}).rowcount
    for reason, group in returned.group_by("reason"):
        group_ids = group["id"].to_list()
        for start in range(0, len(group_ids), IN_CHUNK):
            part = group_ids[start:start + IN_CHUNK]
            changed += session.execute(update(BenefitPayment).where(
                BenefitPayment.status == P.sent.value, BenefitPayment.id.in_(part))
                .values(status=P.failed.value, failed_on=on, failure_reason=reason[0],
                        result_import_id=imported.id).execution_options(synchronize_session=False)).rowcount
    if changed != frame.height:  # pragma: no cover - the rows were locked above
        raise Conflict(N_("Some of these payments were changed by someone else at the same time; nothing was "
                          "changed. Try again."))
    sums = session.execute(text(
        "SELECT paid_txn, province_2025, fund, sum(amount), count(*) FROM benefit_payment "
        f"WHERE result_import_id = {imported.id} AND status = 'paid' GROUP BY paid_txn, province_2025, fund "
        "ORDER BY paid_txn, fund")).all()
    entries = []
    for txn_id, province, fund, amount, _count in sums:
        entries += [{"txn": txn_id, "account": BENEFIT_PAYABLE, "fund": fund, "amount": int(amount),
                     "province_2025": province},
                    {"txn": txn_id, "account": BENEFIT_BANK, "fund": fund, "amount": -int(amount),
                     "province_2025": province}]
    if entries:
        post_frame(session, pl.DataFrame(entries, schema={"txn": pl.String, "account": pl.String, "fund": pl.String,
                                                          "amount": pl.Int64, "province_2025": pl.String})
                   .with_columns(payer_key=pl.lit(None, pl.String), posted_on=pl.lit(on),
                                 source_type=pl.lit(SOURCE_PAID), source_id=pl.lit(imported.id, pl.Int64),
                                 period=pl.lit(None, pl.Date)))
    imported.paid, imported.returned = len(paid_ids), returned.height
    imported.paid_total = sum(int(row[3]) for row in sums)
    session.flush()
    _close_returned_accounts(session, imported.id, on)
    report.claims_paid, report.claims_failed = _claims_after_results(session, imported.id, on, principal.username)
    report.status, report.import_id = "applied", imported.id
    report.paid, report.returned, report.paid_total = imported.paid, imported.returned, int(imported.paid_total)
    record_event(session, "bank_result_import", "bank_result_import", imported.id,
                 details={"file_name": file_name[:200], "rows": frame.height, "paid": imported.paid,
                          "returned": imported.returned, "paid_total": imported.paid_total})
    return report


def _close_returned_accounts(session: Session, import_id: int, on: date) -> None:
    """Accounts a bank returned a payment from as closed are closed; as not the holder's, unverified. Their
    payees' entitlements move to another means of payment."""
    rows = session.execute(select(BenefitPayment.bank_account_id, BenefitPayment.failure_reason).where(
        BenefitPayment.result_import_id == import_id, BenefitPayment.status == P.failed.value,
        BenefitPayment.bank_account_id.is_not(None)).distinct()).all()
    payees = []
    for account_id, reason in rows:
        effect = CLOSING_REASONS.get((reason or "").strip().lower())
        if effect is None:
            continue
        account = session.scalar(select(BankAccount).where(BankAccount.id == account_id).with_for_update().execution_options(populate_existing=True))
        if effect == "closed" and account.closed_on is None:
            account.closed_on, account.closed_reason = on, f"returned by the bank: {reason}"[:200]
        elif effect == "unverified":
            account.verified, account.verify_note = False, f"returned by the bank: {reason}"[:200]
        payees.append(account.person_id)
    if payees:
        session.flush()
        _refresh_means(session, payees)


def _claims_after_results(session: Session, import_id: int, on: date, by: str) -> tuple[int, int]:
    """Claims waiting for their payment: ``paid`` when one of their payments is paid, ``failed`` when it failed."""
    from ansinh.benefits.service import transition

    rows = session.execute(select(BenefitPayment.claim_id, BenefitPayment.status).where(
        BenefitPayment.result_import_id == import_id, BenefitPayment.claim_id.is_not(None))).all()
    outcome: dict[int, str] = {}
    for claim_id, status in rows:
        if status == P.paid.value or claim_id not in outcome:
            outcome[claim_id] = status
    paid = failed = 0
    claims = session.scalars(select(BenefitClaim).where(
        BenefitClaim.id.in_(list(outcome)), BenefitClaim.status == ClaimStatus.payment_ordered.value)
        .order_by(BenefitClaim.id).with_for_update().execution_options(populate_existing=True)) if outcome else []
    for claim in claims:
        to = ClaimStatus.paid if outcome[claim.id] == P.paid.value else ClaimStatus.failed
        transition(session, claim, to, on=max(on, claim.filed_on), by=by, details={"result_import_id": import_id})
        paid, failed = paid + (to is ClaimStatus.paid), failed + (to is ClaimStatus.failed)
    return paid, failed


def reissue_payment(session: Session, principal: Principal, payment_id: int, *, on: date) -> BenefitPayment:
    """Re-issue a failed payment, once, as a new payment (``R<failed id>``) to the payee's current means of payment,
    which must differ from the account that failed (a corrected account, or cash). Nothing is posted: the payable of
    the failed payment carries over. Re-issuing again returns the re-issue. The claim, if failed, is ordered
    again."""
    from ansinh.benefits.service import transition

    failed = session.scalar(select(BenefitPayment).where(BenefitPayment.id == payment_id, payments_scope(principal))
                            .with_for_update().execution_options(populate_existing=True))
    if failed is None or not principal.is_agency_staff:
        raise NotFound("Payment {id} does not exist.", id=payment_id)
    existing = session.scalar(select(BenefitPayment).where(BenefitPayment.reissue_of_id == failed.id))
    if existing is not None:
        return existing
    if failed.status != P.failed.value:
        raise Conflict("Payment {id} is {status}: only a failed payment is re-issued.", id=failed.id,
                       status=failed.status)
    if failed.entitlement_id is not None and failed.month is not None:
        entitlement = session.get(Entitlement, failed.entitlement_id)
        if entitlement.last_month is not None and failed.month > entitlement.last_month:
            raise Conflict("Payment {id} is for a month after the benefit stopped: it is not re-issued.",
                           id=failed.id)
    payee = session.get(Person, failed.payee_person_id)
    means = payment_means(session, payee)
    if means is None:
        raise ValidationFailed("payment_id", NO_MEANS)
    method, account, point = means
    if method == Method.bank.value and account == failed.bank_account_id:
        raise ValidationFailed("payment_id", "The account that failed is still the payee's account: correct it "
                                             "(register the right account) before re-issuing.")
    payment = BenefitPayment(idem_key=f"R{failed.id}", claim_id=failed.claim_id, entitlement_id=failed.entitlement_id,
                             month=failed.month, pay_month=failed.pay_month, payee_person_id=failed.payee_person_id,
                             fund=failed.fund,
                             amount=failed.amount, method=method, bank_account_id=account, paying_point_id=point,
                             status=P.ordered.value, reissue_of_id=failed.id, ordered_on=on,
                             org_unit_id=failed.org_unit_id, province_2025=failed.province_2025)
    session.add(payment)
    session.flush()
    if failed.claim_id is not None:
        claim = session.scalar(select(BenefitClaim).where(BenefitClaim.id == failed.claim_id).with_for_update().execution_options(populate_existing=True)
                               .execution_options(populate_existing=True))
        if claim is not None and ClaimStatus(claim.status) is ClaimStatus.failed:
            transition(session, claim, ClaimStatus.payment_ordered, on=max(on, claim.filed_on),
                       by=principal.username, details={"payment_id": payment.id, "reissue_of": failed.id})
    record_event(session, "benefit_payment_reissue", "benefit_payment", payment.id,
                 details={"reissue_of": failed.id, "method": method})
    return payment


# --- reconciliation -------------------------------------------------------------------------------------------

def _count_sql(session: Session, sql: str) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM ({sql}) x")).scalar() or 0)


def reconcile_payments(session: Session, on: date, *, by: str = "reconciliation") -> dict[str, int]:
    """Payments ↔ ledger, per transaction: named counts of what disagrees, all 0 in consistent books. When they
    are, every paid claim none of whose payments is still outstanding moves to ``reconciled``."""
    payable, bank, expense, over = (f"'{a}'" for a in (BENEFIT_PAYABLE, BENEFIT_BANK, BENEFIT_EXPENSE,
                                                      BENEFIT_OVERPAYMENT))
    orders = ", ".join(f"'{s}'" for s in ORDER_SOURCES)
    counts: dict[str, int] = {}
    # each order transaction: its payable credit equals the payments it ordered
    counts["orders_not_matching_the_ledger"] = _count_sql(session, f"""
        SELECT k FROM (SELECT txn AS k, amount AS v FROM ledger_entry WHERE account = {payable}
                       AND source_type IN ({orders})
                       UNION ALL SELECT order_txn, amount FROM benefit_payment WHERE order_txn IS NOT NULL) u
        GROUP BY k HAVING sum(v) <> 0""")
    counts["order_expense_not_matching"] = _count_sql(session, f"""
        SELECT k FROM (SELECT txn AS k, fund AS f, amount AS v FROM ledger_entry WHERE account = {expense}
                       AND source_type IN ({orders})
                       UNION ALL SELECT order_txn, fund, -amount FROM benefit_payment WHERE order_txn IS NOT NULL) u
        GROUP BY k, f HAVING sum(v) <> 0""")
    counts["payments_without_order"] = _count_sql(session, """
        SELECT id FROM benefit_payment WHERE order_txn IS NULL AND reissue_of_id IS NULL""")
    counts["reissues_of_no_failed_payment"] = _count_sql(session, """
        SELECT r.id FROM benefit_payment r LEFT JOIN benefit_payment f ON f.id = r.reissue_of_id
        WHERE r.reissue_of_id IS NOT NULL AND (f.id IS NULL OR f.status <> 'failed' OR f.amount <> r.amount)""")
    # each paid transaction: its payable debit and bank credit equal the payments it settled
    counts["paid_not_matching_the_ledger"] = _count_sql(session, f"""
        SELECT k FROM (SELECT txn AS k, amount AS v FROM ledger_entry WHERE account = {bank}
                       AND source_type = '{SOURCE_PAID}'
                       UNION ALL SELECT paid_txn, amount FROM benefit_payment WHERE paid_txn IS NOT NULL) u
        GROUP BY k HAVING sum(v) <> 0""")
    counts["paid_without_posting"] = _count_sql(session, """
        SELECT id FROM benefit_payment WHERE (status = 'paid') <> (paid_txn IS NOT NULL)""")
    counts["cancellations_not_posted"] = _count_sql(session, f"""
        SELECT k FROM (SELECT source_id AS k, amount AS v FROM ledger_entry WHERE account = {payable}
                       AND source_type = '{SOURCE_CANCEL}'
                       UNION ALL SELECT id, -amount FROM benefit_payment WHERE status = 'cancelled') u
        GROUP BY k HAVING sum(v) <> 0""")
    # the payable: what is still owed (ordered or sent; failed and not re-issued)
    outstanding = int(session.execute(text("""
        SELECT coalesce(sum(p.amount), 0) FROM benefit_payment p WHERE p.status IN ('ordered', 'sent')
           OR (p.status = 'failed' AND NOT EXISTS (SELECT 1 FROM benefit_payment r WHERE r.reissue_of_id = p.id))
    """)).scalar() or 0)
    counts["payable_not_matching_outstanding"] = int(ledger.balance(session, BENEFIT_PAYABLE) + outstanding != 0)
    counts["overpayments_not_matching"] = _count_sql(session, f"""
        SELECT k FROM (SELECT source_id AS k, amount AS v FROM ledger_entry WHERE account = {over}
                       AND source_type IN ('{SOURCE_OVERPAYMENT}', '{SOURCE_RECOVERY}')
                       UNION ALL SELECT id, recovered - amount FROM benefit_overpayment) u
        GROUP BY k HAVING sum(v) <> 0""")
    counts["months_paid_twice"] = _count_sql(session, """
        SELECT entitlement_id FROM benefit_payment WHERE entitlement_id IS NOT NULL
          AND status NOT IN ('failed', 'cancelled')
        GROUP BY entitlement_id, month HAVING count(*) > 1""")
    counts["result_files_not_matching"] = _count_sql(session, """
        SELECT i.id FROM bank_result_import i LEFT JOIN (SELECT result_import_id AS id,
            sum(CASE WHEN status = 'paid' THEN amount ELSE 0 END) AS paid_total,
            sum(CASE WHEN status = 'paid' THEN 1 ELSE 0 END) AS paid, count(*) AS n
          FROM benefit_payment WHERE result_import_id IS NOT NULL GROUP BY result_import_id) s ON s.id = i.id
        WHERE coalesce(s.paid_total, 0) <> i.paid_total OR coalesce(s.paid, 0) <> i.paid
           OR coalesce(s.n, 0) <> i.paid + i.returned""")
    accounts = ", ".join(f"'{a}'" for a in (BENEFIT_PAYABLE, BENEFIT_BANK, BENEFIT_EXPENSE, BENEFIT_OVERPAYMENT))
    counts["unbalanced_benefit_transactions"] = _count_sql(session, f"""
        SELECT txn FROM ledger_entry WHERE txn IN (SELECT txn FROM ledger_entry WHERE account IN ({accounts}))
        GROUP BY txn HAVING sum(amount) <> 0""")
    if not any(counts.values()):
        _reconcile_claims(session, on, by)
    return counts


def _reconcile_claims(session: Session, on: date, by: str) -> int:
    from ansinh.benefits.service import transition

    reissue = aliased(BenefitPayment)
    waiting = select(BenefitPayment.claim_id).where(BenefitPayment.claim_id.is_not(None), or_(
        BenefitPayment.status.in_(OUTSTANDING),
        (BenefitPayment.status == P.failed.value)
        & ~select(reissue.id).where(reissue.reissue_of_id == BenefitPayment.id).exists()))
    claims = list(session.scalars(select(BenefitClaim).where(
        BenefitClaim.status == ClaimStatus.paid.value, BenefitClaim.id.not_in(waiting))
        .order_by(BenefitClaim.id).with_for_update().execution_options(populate_existing=True)))
    for claim in claims:
        transition(session, claim, ClaimStatus.reconciled, on=max(on, claim.filed_on), by=by)
    return len(claims)


def ledger_lines(session: Session, *, source_type: str | None = None, limit: int = 100) -> list[LedgerEntry]:
    stmt = select(LedgerEntry).where(LedgerEntry.account.in_(
        [BENEFIT_PAYABLE, BENEFIT_BANK, BENEFIT_EXPENSE, BENEFIT_OVERPAYMENT]))
    if source_type:
        stmt = stmt.where(LedgerEntry.source_type == source_type)
    return list(session.scalars(stmt.order_by(LedgerEntry.id.desc()).limit(limit)))

