"""Price lists of facilities: the approved price of each service, drug, supply and bed, with its validity. A list
imported later supersedes the earlier prices of the same items from its own date; history is kept."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class PriceList(Base):
    """One imported list (a file), all or nothing."""

    __tablename__ = "price_list"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    facility_code: Mapped[str] = mapped_column(String(5), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    items: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(64))


class PriceItem(Base):
    """The approved price of one item at one facility from ``valid_from`` to ``valid_to`` (inclusive; None: open).
    ``superseded_from``: the first day a later list replaced it (the item is in force until the day before)."""

    __tablename__ = "price_item"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("price_list.id"), index=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    kind: Mapped[str] = mapped_column(String(8))  # service | drug | supply | bed
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(1024))
    unit: Mapped[str | None] = mapped_column(String(50))
    price: Mapped[int] = mapped_column(BigInteger)  # dong
    tender: Mapped[str | None] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    superseded_from: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_price_item_lookup", "facility_code", "kind", "code", "valid_from"),)
