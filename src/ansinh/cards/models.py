"""Tables of health insurance cards: card versions issued from coverage periods, and the log of lookups made at
medical facilities (the seed reports count lookups and successful lookups per province, facility and month)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, utcnow
from ansinh.registry.models import BigId


class HICard(Base):
    """One version of a person's card. A change of group, validity or place makes a new version; the old one is
    kept, marked ``superseded_at``. ``card_code``: group (2 letters) + benefit digit + province (2 digits) + SI
    number (10 digits)."""

    __tablename__ = "hi_card"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    card_code: Mapped[str] = mapped_column(String(15), index=True)
    hi_group: Mapped[str] = mapped_column(String(2))
    benefit_digit: Mapped[str] = mapped_column(String(1))
    province_code: Mapped[str] = mapped_column(String(2))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)  # inclusive, as printed; None = open-ended
    registered_facility: Mapped[str | None] = mapped_column(String(10))
    five_years_from: Mapped[date | None] = mapped_column(Date)
    coverage_period_id: Mapped[int | None] = mapped_column(BigId)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_hi_card_current", "person_id", "superseded_at"),)


class CardLookup(Base):
    """One lookup at a facility desk (or by agency staff): who, with which key, for which day, and the answer."""

    __tablename__ = "card_lookup"
    __audit__ = False  # the log itself; reads of the person are audited separately

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    looked_up_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer)
    facility_code: Mapped[str | None] = mapped_column(String(10))
    province_2025: Mapped[str | None] = mapped_column(String(8))
    key_type: Mapped[str] = mapped_column(String(12))  # citizen_id | card_code | si_number
    on: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(16))  # covered | not_covered | unknown_person
    reason: Mapped[str | None] = mapped_column(String(24))
    person_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (Index("ix_card_lookup_kpi", "province_2025", "looked_up_at"),
                      Index("ix_card_lookup_facility", "facility_code", "looked_up_at"))
