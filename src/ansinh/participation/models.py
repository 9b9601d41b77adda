"""Tables of participation: coverage periods per person and scheme, and employer declarations.

A coverage period is half-open, ``[valid_from, valid_to)``; ``valid_to`` is None while it is open. Periods are
never edited: a change (a leave, a salary change, a correction) marks the affected periods ``superseded_at`` and
inserts the new ones, so the whole history stays and "as of any date" is a plain filter.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class Scheme(str, enum.Enum):
    si_compulsory = "si_compulsory"
    si_voluntary = "si_voluntary"
    hi = "hi"
    ui = "ui"


class Payer(str, enum.Enum):
    employer = "employer"
    self = "self"
    household = "household"
    state_budget = "state_budget"
    other_budget = "other_budget"


class DeclarationKind(str, enum.Enum):
    join = "join"  # báo tăng
    leave = "leave"  # báo giảm
    salary_change = "salary_change"  # điều chỉnh lương


class CoveragePeriod(Base):
    __tablename__ = "coverage_period"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    scheme: Mapped[Scheme] = mapped_column(Enum(Scheme, native_enum=False, length=16))
    hi_group: Mapped[str | None] = mapped_column(String(2))  # beneficiary group code (DN, HC, GD, TE, ...)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    insured_salary: Mapped[int | None] = mapped_column(BigInteger)  # or the chosen income (voluntary)
    payer: Mapped[Payer] = mapped_column(Enum(Payer, native_enum=False, length=16))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    member_order: Mapped[int | None] = mapped_column(Integer)  # household HI: order of joining
    payment_months: Mapped[int | None] = mapped_column(Integer)  # voluntary: 1, 3, 6 or 12
    support_group: Mapped[str | None] = mapped_column(String(20))  # voluntary / state support group
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("declaration.id"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    province_2008: Mapped[str | None] = mapped_column(String(8))
    province_2025: Mapped[str | None] = mapped_column(String(8))
    # True when this period overlaps another current period of the same person and scheme (two employers...).
    # Counting then needs DISTINCT only over the few flagged rows (see participation_summary).
    overlapping: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    superseded_by_declaration_id: Mapped[int | None] = mapped_column(ForeignKey("declaration.id"))

    __table_args__ = (
        Index("ix_coverage_person", "person_id", "scheme"),
        Index("ix_coverage_summary_2025", "province_2025", "scheme", "valid_from"),
        Index("ix_coverage_summary_2008", "province_2008", "scheme", "valid_from"),
        Index("ix_coverage_org_unit", "org_unit_id"),
        Index("ix_coverage_overlapping", "person_id", postgresql_where=text("overlapping"),
              sqlite_where=text("overlapping")),
    )


class Declaration(Base):
    """An employer's report: a worker joins, leaves, or changes salary, from a month."""

    __tablename__ = "declaration"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[DeclarationKind] = mapped_column(Enum(DeclarationKind, native_enum=False, length=16))
    effective_month: Mapped[date] = mapped_column(Date)  # the first day of the month it takes effect
    insured_salary: Mapped[int | None] = mapped_column(BigInteger)
    hi_group: Mapped[str | None] = mapped_column(String(2))
    retroactive: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_rebilling: Mapped[bool] = mapped_column(Boolean, default=False)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    submitted_by: Mapped[str] = mapped_column(String(64))
