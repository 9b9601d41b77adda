"""Tables of the monthly settlement: one settlement per facility and month (the month is closed once it exists),
the advances paid to facilities, and which advance was offset by which settlement.

Amounts are integer dong. ``due`` = ``accepted`` − ``advances``: negative, the facility owes the difference back.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId

Money = BigInteger


class Settlement(Base):
    """The settlement of one facility's claims of one settlement month (NAM_QT, THANG_QT)."""

    __tablename__ = "claim_settlement"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    province_2025: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(SmallInteger)
    month: Mapped[int] = mapped_column(SmallInteger)
    claims: Mapped[int] = mapped_column(Integer)
    claimed: Mapped[int] = mapped_column(Money)  # Σ T_BHTT of the current claims
    disallowed: Mapped[int] = mapped_column(Money)  # Σ what the appraisal disallowed
    accepted: Mapped[int] = mapped_column(Money)  # claimed − disallowed
    advances: Mapped[int] = mapped_column(Money)  # advances offset by this settlement
    due: Mapped[int] = mapped_column(Money)  # accepted − advances (negative: the facility owes it back)
    status: Mapped[str] = mapped_column(String(12), default="settled")
    settled_on: Mapped[date] = mapped_column(Date)  # the settlement's day (the ledger's posting day)
    settled_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    settled_by: Mapped[str] = mapped_column(String(64))
    ledger_txn: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (UniqueConstraint("facility_code", "year", "month"),)


class Advance(Base):
    """An advance paid to a facility for a period of months (one month or a quarter), offset against the settlements
    of that period: each settlement offsets what is left, up to what it accepted; the last month of the period
    offsets all that is left. The same reference for the same facility is recorded once."""

    __tablename__ = "claim_advance"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    province_2025: Mapped[str] = mapped_column(String(8))
    reference: Mapped[str] = mapped_column(String(64))
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Money)
    period_from: Mapped[date] = mapped_column(Date)  # first day of the first month
    period_to: Mapped[date] = mapped_column(Date)  # first day of the last month
    offset_amount: Mapped[int] = mapped_column(Money, default=0)  # offset so far by settlements
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    ledger_txn: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (UniqueConstraint("facility_code", "reference"),)


class AdvanceOffset(Base):
    """The part of an advance a settlement offset."""

    __tablename__ = "claim_advance_offset"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    advance_id: Mapped[int] = mapped_column(ForeignKey("claim_advance.id"), index=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("claim_settlement.id"), index=True)
    amount: Mapped[int] = mapped_column(Money)
