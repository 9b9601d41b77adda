"""The yearly budget of health insurance medical costs of a province (``facility_code`` None) and the indicative
figure of each of its facilities, in versions: a new figure (an adjustment) is a new version from its own day, never
an overwrite (Decree 146/2018/NĐ-CP Art 36, as amended by Decree 75/2023/NĐ-CP; under Law 51/2024 and Decree
188/2025/NĐ-CP the facilities' "dự kiến chi")."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class HiBudget(Base):
    """One version of a figure: the province's yearly estimate (``facility_code`` None) or a facility's indicative
    figure, in dong, in force from ``valid_from`` until the next version's ``valid_from``."""

    __tablename__ = "hi_budget"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    province_2025: Mapped[str] = mapped_column(String(8), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    facility_code: Mapped[str | None] = mapped_column(String(5))
    #: ``facility_code`` or "" for the province's own figure (one key per figure, for the uniqueness of versions).
    budget_key: Mapped[str] = mapped_column(String(5))
    amount: Mapped[int] = mapped_column(BigInteger)  # dong
    source: Mapped[str] = mapped_column(String(300))  # the decision that assigns or adjusts it
    valid_from: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)  # the province's office
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("province_2025", "year", "budget_key", "version"),)
