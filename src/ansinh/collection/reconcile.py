"""The reconciliation of collection: every balance of the ledger recomputed from what the bills, payments,
allocations, reversals and write-offs say it should be, set-based in SQL (sums in the database: ``numeric`` on
PostgreSQL, never a wrapping 64-bit integer).

:func:`check_integrity` returns named counts of what disagrees; all are 0 in consistent books:

- ``lines_without_bill``, ``lines_without_person``, ``bills_not_matching_their_lines``: what the foreign keys
  of ``bill_line`` would guarantee, and each bill's lines adding up to its total;
- ``unbalanced_transactions``, ``ledger_not_zero``, ``unknown_accounts``: every transaction sums to zero, so
  does the ledger, and every entry is on a known account;
- ``statements_not_matching_their_payments``: each statement's total and count are those of its payments;
- ``payments_allocated_beyond_their_amount``, ``unmatched_payments_with_allocations``,
  ``allocations_not_positive``: a payment's live allocations never exceed its amount; a payment in suspense or
  reversed has none;
- ``payments_not_matching_the_bank``: each payment is in the bank once (and out again once when reversed);
- ``suspense_not_released_once``: a payment that waited in suspense was credited to it once and, once assigned
  or reversed, released from it exactly once (and no suspense entry belongs to no payment);
- ``prepayments_not_matching``: per payer, the prepayment is its matched payments less their live allocations;
- ``receivables_not_matching``: per payer and month, the receivable is the bills less the live principal
  allocations and the write-offs;
- ``interest_not_matching``: per payer, the interest receivable is the interest posted less the live interest
  allocations;
- ``bills_not_posted``, ``writeoffs_not_posted``: each bill's receivable posting is its total, each
  write-off's posting its amount;
- ``bills_paid_beyond_their_total``: no negative arrears (nothing paid or written off beyond what a bill
  asks).
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from ansinh.collection.models import (
    ACCOUNTS,
    BANK,
    INTEREST_INCOME,
    INTEREST_RECEIVABLE,
    PREPAYMENT,
    RECEIVABLE,
    SUSPENSE,
    WRITEOFF,
    Allocation,
    Bill,
    BillLine,
    LedgerEntry,
    Payment,
    StatementImport,
    WriteOff,
)
from ansinh.registry.models import Person

E = LedgerEntry


def _count(session: Session, stmt) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def _disagreeing(session: Session, *parts, keys: int = 1) -> int:
    """How many keys the parts' signed values do not cancel out for: each part selects ``keys`` key columns
    then a value; the ledger's side is added, what it should be subtracted, so a consistent key sums to
    zero."""
    union = union_all(*parts).subquery()
    columns = list(union.c)
    grouped = select(*columns[:keys]).group_by(*columns[:keys]).having(func.sum(columns[keys]) != 0)
    return _count(session, grouped)


def _live_allocations():
    return select(Allocation.payment_id, func.sum(Allocation.amount).label("allocated")) \
        .where(Allocation.reversed.is_(False)).group_by(Allocation.payment_id).subquery()


def check_integrity(session: Session) -> dict[str, int]:
    """Reconcile collection (see the module docstring): named counts, all 0 when the books are consistent."""
    counts: dict[str, int] = {}
    # bill lines: foreign keys and totals
    counts["lines_without_bill"] = _count(session, select(BillLine.id)
                                          .outerjoin(Bill, Bill.id == BillLine.bill_id)
                                          .where(Bill.id.is_(None)))
    counts["lines_without_person"] = _count(session, select(BillLine.id).outerjoin(
        Person, Person.id == BillLine.person_id).where(BillLine.person_id.is_not(None), Person.id.is_(None)))
    sums = select(BillLine.bill_id, func.sum(BillLine.amount).label("lines")) \
        .group_by(BillLine.bill_id).subquery()
    counts["bills_not_matching_their_lines"] = _count(session, select(Bill.id)
                                                      .join(sums, sums.c.bill_id == Bill.id)
                                                      .where(sums.c.lines != Bill.total))

    # the ledger itself
    counts["unbalanced_transactions"] = _count(session, select(E.txn).group_by(E.txn)
                                               .having(func.sum(E.amount) != 0))
    counts["ledger_not_zero"] = int((session.scalar(select(func.coalesce(func.sum(E.amount), 0))) or 0) != 0)
    counts["unknown_accounts"] = _count(session, select(E.id).where(E.account.not_in(ACCOUNTS)))

    # statements and their payments
    per_statement = select(Payment.statement_import_id.label("id"), func.count().label("n"),
                           func.sum(Payment.amount).label("total")) \
        .where(Payment.statement_import_id.is_not(None)).group_by(Payment.statement_import_id).subquery()
    counts["statements_not_matching_their_payments"] = _count(session, select(StatementImport.id).outerjoin(
        per_statement, per_statement.c.id == StatementImport.id).where(
        (func.coalesce(per_statement.c.total, 0) != StatementImport.total)
        | (func.coalesce(per_statement.c.n, 0) != StatementImport.created_rows)))

    # payments and their allocations
    live = _live_allocations()
    allocated = func.coalesce(live.c.allocated, 0)
    with_allocations = select(Payment.id).outerjoin(live, live.c.payment_id == Payment.id)
    counts["payments_allocated_beyond_their_amount"] = _count(session, with_allocations.where(
        allocated > Payment.amount))
    counts["unmatched_payments_with_allocations"] = _count(session, with_allocations.where(
        Payment.status != "matched", allocated != 0))
    counts["allocations_not_positive"] = _count(session, select(Allocation.id).where(Allocation.amount <= 0))

    # the bank: each payment in once, out once when reversed
    in_bank = case((Payment.status == "reversed", 0), else_=Payment.amount)
    counts["payments_not_matching_the_bank"] = _disagreeing(
        session,
        select(E.source_id.label("k"), E.amount.label("v")).where(E.account == BANK),
        select(Payment.id, -in_bank))

    # suspense: credited once when it waited there, released exactly once when it left
    counts["suspense_not_released_once"] = _suspense(session)

    # prepayments per payer: matched payments less their live allocations
    counts["prepayments_not_matching"] = _disagreeing(
        session,
        select(E.payer_key.label("k"), E.amount.label("v")).where(E.account == PREPAYMENT),
        select(Payment.payer_key, Payment.amount - allocated).outerjoin(live, live.c.payment_id == Payment.id)
        .where(Payment.status == "matched"))

    # receivables per payer and month: bills less live principal allocations and write-offs
    counts["receivables_not_matching"] = _disagreeing(
        session,
        select(E.payer_key.label("k"), E.period.label("m"), E.amount.label("v"))
        .where(E.account == RECEIVABLE),
        select(Bill.payer_key, Bill.period, -Bill.total),
        select(Bill.payer_key, Bill.period, Allocation.amount).join(Bill, Bill.id == Allocation.bill_id)
        .where(Allocation.part == "principal", Allocation.reversed.is_(False)),
        select(Bill.payer_key, Bill.period, WriteOff.amount).join(Bill, Bill.id == WriteOff.bill_id),
        keys=2)

    # interest per payer: posted less live interest allocations
    counts["interest_not_matching"] = _disagreeing(
        session,
        select(E.payer_key.label("k"), E.amount.label("v")).where(E.account == INTEREST_RECEIVABLE),
        select(E.payer_key, E.amount).where(E.account == INTEREST_INCOME),
        select(Payment.payer_key, Allocation.amount).join(Payment, Payment.id == Allocation.payment_id)
        .where(Allocation.part == "interest", Allocation.reversed.is_(False)))

    # each bill and write-off posted as it says
    counts["bills_not_posted"] = _disagreeing(
        session,
        select(E.source_id.label("k"), E.amount.label("v"))
        .where(E.account == RECEIVABLE, E.source_type == "bill"),
        select(Bill.id, -Bill.total))
    counts["writeoffs_not_posted"] = _disagreeing(
        session,
        select(E.source_id.label("k"), E.amount.label("v"))
        .where(E.account == WRITEOFF, E.source_type == "writeoff"),
        select(WriteOff.id, -WriteOff.amount))

    # no negative arrears: nothing paid or written off beyond what a bill asks
    paid = select(Allocation.bill_id, func.sum(Allocation.amount).label("paid")) \
        .where(Allocation.part == "principal", Allocation.reversed.is_(False),
               Allocation.bill_id.is_not(None)) \
        .group_by(Allocation.bill_id).subquery()
    written = select(WriteOff.bill_id, func.sum(WriteOff.amount).label("written")) \
        .where(WriteOff.bill_id.is_not(None)).group_by(WriteOff.bill_id).subquery()
    settled = func.coalesce(paid.c.paid, 0) + func.coalesce(written.c.written, 0)
    counts["bills_paid_beyond_their_total"] = _count(session, select(Bill.id)
                                                     .outerjoin(paid, paid.c.bill_id == Bill.id)
                                                     .outerjoin(written, written.c.bill_id == Bill.id)
                                                     .where(and_(settled > 0, settled > Bill.total)))
    return counts


def _suspense(session: Session) -> int:
    """Payments whose suspense postings (their sum and their number) are not what their history says, and
    suspense entries of no payment. A payment waited in suspense when no payer was matched to it on receipt
    (it is still there, was reversed from there, or an officer assigned it)."""
    waited = (Payment.matched_by.is_(None)) | (Payment.matched_by == "officer")
    held = case((Payment.status == "suspense", -Payment.amount), else_=0)
    entries = case((Payment.status == "suspense", 1), else_=2)
    union = union_all(
        select(E.source_id.label("k"), E.amount.label("v"), literal(1).label("n"))
        .where(E.account == SUSPENSE),
        select(Payment.id, -held, -entries).where(waited)).subquery()
    return _count(session, select(union.c.k).group_by(union.c.k).having(
        (func.sum(union.c.v) != 0) | (func.sum(union.c.n) != 0)))
