"""Tables of benefit payments: beneficiaries' bank accounts, the post office's paying points, the entitlement of a
monthly benefit (pension, monthly survivor allowance, unemployment benefit), benefit payments (one-off, a month of
an entitlement, or a re-issue of a failed payment), monthly payroll runs and their chunks, payment files sent to
banks and paying points, the imports of the banks' result files, and overpayments to recover.

A payment's life: ``ordered`` (the fund's expense posted, the money payable) → ``sent`` (in a payment file) →
``paid`` (the bank confirmed: payable settled from the fund's bank account) or ``failed`` (returned: the payable
stays until the payment is re-issued, once, as a new payment to a corrected account). An ``ordered`` payment of a
month after the payee's death is ``cancelled`` (its expense reversed); one already sent or paid becomes an
overpayment.

Each payment names the ledger transactions that posted it: ``order_txn`` (expense +x / payable −x; a payroll posts
one transaction per chunk and province, a one-off payment one of its own) and ``paid_txn`` (payable +x / benefit
bank −x, one per result file and province). :func:`ansinh.benefits.payments.service.reconcile_payments` proves
payments ↔ ledger per transaction.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class PaymentStatus(str, enum.Enum):
    ordered = "ordered"
    sent = "sent"
    paid = "paid"
    failed = "failed"
    cancelled = "cancelled"


class Method(str, enum.Enum):
    bank = "bank"  # transfer to a verified bank account in the payee's own name
    cash = "cash"  # in cash at a post office's paying point


class BankAccount(Base):
    """A beneficiary's bank account. ``verified``: the holder's name is the person's name in the registry
    (accents and case aside); only a verified open account is paid into."""

    __tablename__ = "beneficiary_bank_account"
    __audit_person_ref__ = "person_ref"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    person_ref: Mapped[str | None] = mapped_column(String(12))
    bank_bin: Mapped[str] = mapped_column(String(8))  # the bank's 6-digit BIN (NAPAS)
    account_number: Mapped[str] = mapped_column(String(34))
    holder_name: Mapped[str] = mapped_column(String(120))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verify_note: Mapped[str | None] = mapped_column(String(200))
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("person_id", "bank_bin", "account_number"),)


class PayingPoint(Base):
    """A post office's paying point where benefits are paid in cash."""

    __tablename__ = "paying_point"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    province_2025: Mapped[str] = mapped_column(String(8), index=True)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))  # the commune it serves
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Entitlement(Base):
    """A monthly benefit in payment: who is paid how much from which month to which (or open), and how."""

    __tablename__ = "benefit_entitlement"
    __audit__ = False  # created with the claim's decision (audited); stopped by a death (audited)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: None for pensions in payment before this system (migrated from the old one).
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_claim.id"), unique=True)
    claim_type: Mapped[str] = mapped_column(String(16))  # pension | survivor | unemployment
    fund: Mapped[str] = mapped_column(String(20))  # retirement | unemployment
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)  # whose record it comes from
    payee_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    monthly_amount: Mapped[int] = mapped_column(BigInteger)
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date | None] = mapped_column(Date)  # inclusive; None: open
    method: Mapped[str | None] = mapped_column(String(8))  # bank | cash | None (no way to pay yet)
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("beneficiary_bank_account.id"))
    paying_point_id: Mapped[int | None] = mapped_column(ForeignKey("paying_point.id"))
    stopped_on: Mapped[date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(String(200))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    province_2025: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_entitlement_province", "province_2025", "first_month"),)


class PayrollRun(Base):
    """The payroll of one month for one province (or ``*``): idempotent by (month, province), resumable by
    chunks, one process at a time (a lease)."""

    __tablename__ = "payroll_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    province: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))  # running | completed
    chunks_total: Mapped[int] = mapped_column(Integer, default=8)
    payments: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    without_method: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("month", "province"),)


class PayrollChunk(Base):
    __tablename__ = "payroll_chunk"
    __audit__ = False

    run_id: Mapped[int] = mapped_column(ForeignKey("payroll_run.id"), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    payments: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    done_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PaymentFile(Base):
    """A file of payments sent to a bank (by BIN) or a cash list of a paying point."""

    __tablename__ = "benefit_payment_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # bank | cash
    bank_bin: Mapped[str | None] = mapped_column(String(8))
    paying_point_id: Mapped[int | None] = mapped_column(ForeignKey("paying_point.id"))
    province_2025: Mapped[str | None] = mapped_column(String(8))
    created_on: Mapped[date] = mapped_column(Date)
    payments: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class BankResultImport(Base):
    """A bank's (or paying point's) result file: which payments were paid and which returned. The same file twice
    changes nothing (its hash is unique)."""

    __tablename__ = "bank_result_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    imported_on: Mapped[date] = mapped_column(Date)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    paid: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    paid_total: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class BenefitPayment(Base):
    """One payment of a benefit. ``idem_key`` makes it idempotent: ``C<claim id>`` (a one-off benefit),
    ``E<YYYYMM>-<entitlement id on 12 digits>`` (a month of an entitlement: ascending within a month, so a
    payroll appends to the key's index rather than writing all over it), ``R<failed payment id>`` (a re-issue).

    No foreign-key constraints: a payroll writes 3.3 million rows at once, and checking seven references row by row
    would cost more than the rest of the run; every reference is copied from an entitlement (whose references are
    constrained) or a locked row, and the reconciliation checks them."""

    __tablename__ = "benefit_payment"
    __audit__ = False  # written in bulk by payroll runs and imports; those are audited

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idem_key: Mapped[str] = mapped_column(String(40))
    claim_id: Mapped[int | None] = mapped_column(BigId)
    entitlement_id: Mapped[int | None] = mapped_column(BigId)
    month: Mapped[date | None] = mapped_column(Date)
    #: The month the payment belongs to, its partition on PostgreSQL (migration 0030, :mod:`ansinh.ops.partitions`): a
    #: month of an entitlement: that month; a one-off benefit: the month its claim was decided; a re-issue: the failed
    #: payment's. Fixed by the idempotency key, so (idem_key, pay_month) is unique exactly when idem_key is (a unique
    #: key of a partitioned table must include its partition key).
    pay_month: Mapped[date] = mapped_column(Date)
    payee_person_id: Mapped[int] = mapped_column(BigId, index=True)
    fund: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(8))
    bank_account_id: Mapped[int | None] = mapped_column(BigId)
    paying_point_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), index=True)
    payroll_run_id: Mapped[int | None] = mapped_column(Integer)
    chunk: Mapped[int | None] = mapped_column(Integer)
    payment_file_id: Mapped[int | None] = mapped_column(Integer)
    result_import_id: Mapped[int | None] = mapped_column(Integer)
    reissue_of_id: Mapped[int | None] = mapped_column(BigInteger)
    order_txn: Mapped[str | None] = mapped_column(String(40))
    paid_txn: Mapped[str | None] = mapped_column(String(40))
    ordered_on: Mapped[date] = mapped_column(Date)
    sent_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    failed_on: Mapped[date | None] = mapped_column(Date)
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    org_unit_id: Mapped[int] = mapped_column(Integer)
    province_2025: Mapped[str | None] = mapped_column(String(8))

    # Few indexes, for a payroll writes millions of rows: a month of an entitlement is found by its idempotency key
    # (``E<id>-<YYYYMM>``); the claim's and the file's indexes are partial (a migrated pension has no claim; a
    # payment ordered has no file yet).
    __table_args__ = (UniqueConstraint("idem_key", "pay_month"),
                      Index("ix_benefit_payment_run_chunk", "payroll_run_id", "chunk"),
                      Index("ix_benefit_payment_claim", "claim_id", postgresql_where=text("claim_id IS NOT NULL"),
                            sqlite_where=text("claim_id IS NOT NULL")),
                      Index("ix_benefit_payment_file", "payment_file_id",
                            postgresql_where=text("payment_file_id IS NOT NULL"),
                            sqlite_where=text("payment_file_id IS NOT NULL")),
                      # a failed payment is re-issued once (most payments are no re-issue: a partial index)
                      Index("uq_benefit_payment_reissue_of_id", "reissue_of_id", "pay_month", unique=True,
                            postgresql_where=text("reissue_of_id IS NOT NULL"),
                            sqlite_where=text("reissue_of_id IS NOT NULL")))


class Overpayment(Base):
    """Money paid that was not due (a death reported late, a benefit paid after re-employment): a receivable of
    the fund to recover from the person (or their estate)."""

    __tablename__ = "benefit_overpayment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    entitlement_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_entitlement.id"))
    fund: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    recovered: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(String(200))
    payment_ids: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | recovered
    detected_on: Mapped[date] = mapped_column(Date)
    txn: Mapped[str | None] = mapped_column(String(40))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    province_2025: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
