"""Tables of the benefits domain: the benefit claim (one model for every benefit, with a type-specific part),
its timeline of transitions, the employer's batch of sickness and maternity cases (form 01B-HSB), and the
numbering of decisions. Payments, pensions in payment and overpayments are in ``benefits/payments``.

The life of a claim (:data:`TRANSITIONS` is the whole graph; anything else is refused)::

    received ─► incomplete (clock paused, what is missing) ─► accepted ─► assessed ─► granted ─► payment_ordered
        │                                                       ▲   │         │          │            │
        └──────────────────────────► accepted                   │   │         └► refused │      paid ◄┴► failed
                                                                │   │               │    │        │
    withdrawn ◄─ received / incomplete / accepted / assessed    └───┴── appeal ◄────┴────┘   reconciled

An appeal sends a decided claim back to ``accepted`` for re-assessment by another officer than the one who decided
it (``excluded_officer``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class ClaimType(str, enum.Enum):
    lump_sum = "lump_sum"
    pension = "pension"
    sickness = "sickness"
    maternity = "maternity"
    unemployment = "unemployment"
    funeral = "funeral"
    survivor = "survivor"


class Channel(str, enum.Enum):
    counter = "counter"  # in person at any office
    post = "post"
    employer = "employer"  # the employer's list of cases (01B-HSB)
    portal = "portal"  # the public-service portal or the app, filed by the citizen


#: Channels counted as filed electronically (the indicator's numerator): the portal, and the employer's list sent
#: as an electronic transaction.
ELECTRONIC_CHANNELS = frozenset({Channel.portal, Channel.employer})


class ClaimStatus(str, enum.Enum):
    received = "received"
    incomplete = "incomplete"
    accepted = "accepted"
    assessed = "assessed"
    granted = "granted"
    refused = "refused"
    payment_ordered = "payment_ordered"
    paid = "paid"
    failed = "failed"
    reconciled = "reconciled"
    withdrawn = "withdrawn"


S = ClaimStatus
#: The allowed transitions of a claim (from → the statuses it may go to).
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    S.received: frozenset({S.incomplete, S.accepted, S.withdrawn}),
    S.incomplete: frozenset({S.accepted, S.withdrawn}),
    S.accepted: frozenset({S.assessed, S.incomplete, S.withdrawn}),
    S.assessed: frozenset({S.granted, S.refused, S.accepted, S.withdrawn}),
    S.granted: frozenset({S.payment_ordered, S.accepted}),  # accepted: an appeal
    S.refused: frozenset({S.accepted}),  # an appeal
    S.payment_ordered: frozenset({S.paid, S.failed}),
    S.failed: frozenset({S.payment_ordered}),  # re-issued once the account is corrected
    S.paid: frozenset({S.reconciled}),
    S.reconciled: frozenset(),
    S.withdrawn: frozenset(),
}
#: Statuses whose legal clock runs (the claim is complete and not yet decided).
CLOCK_RUNNING = frozenset({S.accepted, S.assessed})
#: Statuses of a decided claim.
DECIDED = frozenset({S.granted, S.refused, S.payment_ordered, S.paid, S.failed, S.reconciled})


class BenefitClaim(Base):
    """One claim of one benefit by (or for) one person."""

    __tablename__ = "benefit_claim"
    __audit_person_ref__ = "person_ref"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_type: Mapped[ClaimType] = mapped_column(Enum(ClaimType, native_enum=False, length=16))
    #: The insured person whose record the benefit is computed from (the deceased for funeral and survivor).
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    person_ref: Mapped[str | None] = mapped_column(String(12))  # citizen ID (or SI number), for the audit
    #: Who is paid (a relative for funeral and survivor benefits); the person otherwise.
    payee_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=12))
    status: Mapped[ClaimStatus] = mapped_column(Enum(ClaimStatus, native_enum=False, length=16), index=True)
    #: Lump sum: the ground claimed (``benefits.eligibility.LUMP_SUM_GROUNDS``).
    ground: Mapped[str | None] = mapped_column(String(40))
    #: The type-specific part, as filed: leave days, the birth, the death, the employment office's decision...
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    #: While incomplete: what is missing (list of document names).
    missing: Mapped[list | None] = mapped_column(JSON)
    filed_on: Mapped[date] = mapped_column(Date)
    #: The day the file was complete: the legal clock counts from it (None while incomplete).
    complete_on: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    #: The assessment from the records: contribution time, salaries, eligibility with articles, amounts.
    assessment: Mapped[dict | None] = mapped_column(JSON)
    eligible: Mapped[bool | None] = mapped_column(Boolean)
    amount: Mapped[int | None] = mapped_column(BigInteger)  # the one-off amount granted (dong)
    monthly_amount: Mapped[int | None] = mapped_column(BigInteger)  # pension, survivor, unemployment (dong)
    benefit_months: Mapped[int | None] = mapped_column(Integer)  # unemployment: months of benefit
    first_month: Mapped[date | None] = mapped_column(Date)  # a monthly benefit: first month paid
    assessed_on: Mapped[date | None] = mapped_column(Date)
    assessed_by: Mapped[str | None] = mapped_column(String(64))
    decision_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    refusal_reason: Mapped[str | None] = mapped_column(String(1000))
    refusal_article: Mapped[str | None] = mapped_column(String(120))
    appeal_count: Mapped[int] = mapped_column(Integer, default=0)
    #: On appeal: the officer who decided before, who may not re-assess or decide it again.
    excluded_officer: Mapped[str | None] = mapped_column(String(64))
    resolved_on: Mapped[date | None] = mapped_column(Date)  # the day it was decided (first decision)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    employer_batch_id: Mapped[int | None] = mapped_column(ForeignKey("employer_benefit_batch.id"))
    batch_line: Mapped[int | None] = mapped_column(Integer)
    #: An outside reference that makes a filing idempotent (the employment office's decision number, a portal
    #: submission id, the batch line): the same reference files nothing twice.
    external_ref: Mapped[str | None] = mapped_column(String(80), unique=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    province_2025: Mapped[str | None] = mapped_column(String(8))
    filed_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_benefit_claim_type_filed", "claim_type", "filed_on"),
                      Index("ix_benefit_claim_province_status", "province_2025", "status"))


class ClaimEvent(Base):
    """One step of a claim's timeline: a transition, who made it, when and why."""

    __tablename__ = "benefit_claim_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("benefit_claim.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    on: Mapped[date] = mapped_column(Date)  # the business date (filing date, decision date...)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(1000))
    details: Mapped[dict | None] = mapped_column(JSON)


class EmployerBenefitBatch(Base):
    """An employer's list of sickness and maternity cases (form 01B-HSB), sent as one file: each line becomes a
    claim or is rejected with its reason; the same file twice files nothing twice."""

    __tablename__ = "employer_benefit_batch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    submitted_on: Mapped[date] = mapped_column(Date)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    filed: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    outcomes: Mapped[list | None] = mapped_column(JSON)  # [{line, citizen_id, claim_id | null, error | null}]
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    submitted_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("employer_id", "file_sha256"),)


class DecisionSequence(Base):
    """The last decision number given by a province in a year (taken by a guarded increment)."""

    __tablename__ = "benefit_decision_sequence"
    __audit__ = False

    province: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
