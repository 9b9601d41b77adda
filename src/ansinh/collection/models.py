"""Tables of collection: billing runs, bills and their lines, payments, allocations, the double-entry ledger,
write-offs and inspection cases.

Money is integer dong everywhere. The ledger is the book of record: every bill, payment, allocation, interest
accrual, reversal and write-off posts a transaction whose entries sum to zero; balances, arrears by age and
interest to any date derive from it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId

#: Ledger accounts (a payer's receivable carries the payer key).
RECEIVABLE = "receivable"  # contributions owed by a payer
INCOME = "contributions_income"  # contributions billed (by fund, in ``fund``)
BANK = "bank"  # money received
SUSPENSE = "suspense"  # money received that no payer is matched to yet
PREPAYMENT = "prepayment"  # money of a payer not yet allocated to a bill
INTEREST_RECEIVABLE = "interest_receivable"
INTEREST_INCOME = "interest_income"
WRITEOFF = "writeoff_expense"
#: Medical claims (the health insurance fund; the facility's code in ``payer_key``): a settlement posts
#: ``hi_medical_expense +accepted`` / ``facility_payable −accepted``; an advance paid ``facility_advance +x`` /
#: ``bank −x``; its offset against a settlement ``facility_payable +x`` / ``facility_advance −x``.
HI_MEDICAL_EXPENSE = "hi_medical_expense"
FACILITY_PAYABLE = "facility_payable"
FACILITY_ADVANCE = "facility_advance"
#: Benefit payments (the paying fund in ``fund``, the payee ``P:<person id>`` in ``payer_key`` for one payment):
#: ordered ``benefit_expense +x`` / ``benefit_payable −x``; paid ``benefit_payable +x`` / ``benefit_bank −x`` (the
#: fund's disbursement account, apart from ``bank`` where contributions come in); a failed payment's payable stays
#: until it is re-issued; an ordered payment cancelled ``benefit_payable +x`` / ``benefit_expense −x``; an
#: overpayment ``benefit_overpayment +x`` / ``benefit_expense −x``; recovered ``benefit_bank +x`` /
#: ``benefit_overpayment −x``.
BENEFIT_EXPENSE = "benefit_expense"
BENEFIT_PAYABLE = "benefit_payable"
BENEFIT_BANK = "benefit_bank"
BENEFIT_OVERPAYMENT = "benefit_overpayment"
ACCOUNTS = (RECEIVABLE, INCOME, BANK, SUSPENSE, PREPAYMENT, INTEREST_RECEIVABLE, INTEREST_INCOME, WRITEOFF,
            HI_MEDICAL_EXPENSE, FACILITY_PAYABLE, FACILITY_ADVANCE, BENEFIT_EXPENSE, BENEFIT_PAYABLE, BENEFIT_BANK,
            BENEFIT_OVERPAYMENT)


class BillingRun(Base):
    """One billing of one month for one province (or ``*``, the whole country). Idempotent by (period,
    province); resumable: its work is split in chunks, each committed with its bills, so a run that died
    finishes the missing chunks only."""

    __tablename__ = "billing_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[date] = mapped_column(Date)  # first day of the month billed
    province: Mapped[str] = mapped_column(String(8))  # 2025 province code, or "*"
    status: Mapped[str] = mapped_column(String(32))  # running | completed | completed_with_exceptions
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    bills: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    #: The process billing the run holds a lease on it (taken by a guarded update, renewed after each chunk,
    #: released at the end); a lease that expired (its process died) lets another process resume the run.
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("period", "province"),)


class BillingException(Base):
    """A payer a billing run could not bill, and why (an income under the floor of the month, a coverage
    period without a salary, ...). The run bills every other payer and ends ``completed_with_exceptions``;
    once an officer has corrected the record, running the same month again bills these payers only and marks
    each exception resolved (with the bill written)."""

    __tablename__ = "billing_exception"
    __audit__ = False  # written by billing runs; the run is audited

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("billing_run.id"), index=True)
    period: Mapped[date] = mapped_column(Date)
    payer_key: Mapped[str] = mapped_column(String(32))
    payer_type: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))  # a code: income_out_of_range, no_salary, ...
    message: Mapped[str] = mapped_column(String(400))  # English message template (translated when shown)
    params: Mapped[dict | None] = mapped_column(JSON)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    province_2025: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    bill_id: Mapped[int | None] = mapped_column(BigInteger)  # the bill written once resolved

    __table_args__ = (UniqueConstraint("run_id", "payer_key"),)


class BillingChunk(Base):
    __tablename__ = "billing_chunk"
    __audit__ = False  # the run is audited

    run_id: Mapped[int] = mapped_column(ForeignKey("billing_run.id"), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    bills: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Bill(Base):
    """What one payer owes for one month: employer bills (with the employee share the employer withholds),
    voluntary, household and state-budget bills. ``payer_key`` names the payer: ``E:<employer id>``,
    ``P:<person id>`` (voluntary), ``H:<household id>``, ``S:<province>:<group>`` (state budget)."""

    __tablename__ = "bill"
    __audit__ = False  # written in bulk by billing runs; the run is audited

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_run.id"), index=True)
    period: Mapped[date] = mapped_column(Date)
    payer_type: Mapped[str] = mapped_column(String(16))  # employer | voluntary | household | state_budget
    payer_key: Mapped[str] = mapped_column(String(32))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # printed on the bill, quoted in payments
    due_date: Mapped[date] = mapped_column(Date)
    employer_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    employee_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    adjustment_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # retroactive corrections included
    total: Mapped[int] = mapped_column(BigInteger)
    workers: Mapped[int] = mapped_column(Integer, default=0)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    province_2025: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("payer_key", "period"), Index("ix_bill_period_province", "period", "province_2025"))


class BillLine(Base):
    """One worker's (or member's) amount for one fund and one side; adjustment lines correct an earlier
    month (``for_period``) after a retroactive declaration — a closed bill is never edited.

    Millions of lines a month (eight per worker): ``bill_id`` and ``person_id`` carry no foreign-key constraint,
    whose row-by-row checks would cost PostgreSQL more than the whole billing run (138 s instead of 34.5 s for a
    million workers). The billing engine writes lines only for the bills it writes in the same transaction, and
    :func:`ansinh.collection.billing.check_integrity` verifies that no line is orphaned."""

    __tablename__ = "bill_line"
    __audit__ = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bill_id: Mapped[int] = mapped_column(BigId, index=True)
    person_id: Mapped[int | None] = mapped_column(BigId)
    fund: Mapped[str] = mapped_column(String(20))  # retirement | sickness_maternity | occupational | health | unemployment
    side: Mapped[str] = mapped_column(String(10))  # employer | employee | self | household | state
    insured_salary: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    for_period: Mapped[date] = mapped_column(Date)
    adjustment: Mapped[bool] = mapped_column(Boolean, default=False)


class StatementImport(Base):
    """A bank statement file, idempotent by content hash (and each line by its bank transaction ID)."""

    __tablename__ = "statement_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    rows: Mapped[int] = mapped_column(Integer)
    created_rows: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)  # dong of the payments it created
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Payment(Base):
    """Money received. Its owner (``org_unit_id``, the scope in which it is read, assigned, reversed): the
    payer's org unit once matched; while in suspense, the province office of the receiving account's province
    (``ANSINH_COLLECTION_ACCOUNTS``), or nobody below national level (None) when the account has no
    province."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    payer_account: Mapped[str | None] = mapped_column(String(40))
    reference_text: Mapped[str | None] = mapped_column(String(300))
    payer_key: Mapped[str | None] = mapped_column(String(32), index=True)  # None while in suspense
    matched_by: Mapped[str | None] = mapped_column(String(16))  # reference | tax_code | officer
    status: Mapped[str] = mapped_column(String(12))  # suspense | matched | reversed
    statement_import_id: Mapped[int | None] = mapped_column(ForeignKey("statement_import.id"))
    province_2025: Mapped[str | None] = mapped_column(String(8))
    receiving_account: Mapped[str | None] = mapped_column(String(40))  # the agency's account (BIN:account)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Allocation(Base):
    """Part of a payment applied to a bill's principal or to interest."""

    __tablename__ = "allocation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id"), index=True)
    part: Mapped[str] = mapped_column(String(10))  # principal | interest
    amount: Mapped[int] = mapped_column(BigInteger)
    allocated_on: Mapped[date] = mapped_column(Date)
    reversed: Mapped[bool] = mapped_column(Boolean, default=False)


class LedgerEntry(Base):
    """One side of a double-entry transaction: the entries of a ``txn`` sum to zero (checked when posted)."""

    __tablename__ = "ledger_entry"
    __audit__ = False  # the operation that posts it is audited

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    txn: Mapped[str] = mapped_column(String(40), index=True)
    account: Mapped[str] = mapped_column(String(24))
    payer_key: Mapped[str | None] = mapped_column(String(32))
    fund: Mapped[str | None] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)  # debit positive, credit negative
    posted_on: Mapped[date] = mapped_column(Date)
    source_type: Mapped[str] = mapped_column(String(16))  # bill | payment | allocation | interest | writeoff | reversal
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    period: Mapped[date | None] = mapped_column(Date)  # the month a receivable is for (ageing)
    province_2025: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (Index("ix_ledger_payer", "payer_key", "account", "posted_on"),
                      Index("ix_ledger_province", "province_2025", "account", "posted_on"))


class WriteOff(Base):
    __tablename__ = "write_off"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payer_key: Mapped[str] = mapped_column(String(32))
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    written_off_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300))
    decided_by: Mapped[str] = mapped_column(String(64))


class InspectionCase(Base):
    __tablename__ = "inspection_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # open | closed
    arrears_at_opening: Mapped[int] = mapped_column(BigInteger, default=0)
    findings: Mapped[str | None] = mapped_column(String(4000))
    decisions: Mapped[list | None] = mapped_column(JSON)  # [{kind: payment_plan|fine|referral, amount, due, note}]
    payment_ids: Mapped[list | None] = mapped_column(JSON)  # payments that settle it
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    closed_on: Mapped[date | None] = mapped_column(Date)
