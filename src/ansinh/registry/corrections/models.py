"""A citizen's request to correct their registry data (name, date of birth, sex, ethnicity, address, phone): filed
from the portal, resolved by a registry officer of the person's office (accepted: applied through the registry's
update service; rejected: with a reason). The person's record is never edited by the request itself."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class CorrectionStatus(str, enum.Enum):
    open = "open"
    accepted = "accepted"
    rejected = "rejected"


class CorrectionRequest(Base):
    """One request: the fields to change with their new values (and the values they had when it was filed)."""

    __tablename__ = "correction_request"
    __audit_person_ref__ = "person_ref"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    person_ref: Mapped[str | None] = mapped_column(String(12))
    #: ``{field: new value}`` (dates as ISO text).
    changes: Mapped[dict] = mapped_column(JSON)
    #: ``{field: value on the record when filed}``.
    previous: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[CorrectionStatus] = mapped_column(Enum(CorrectionStatus, native_enum=False, length=12))
    filed_on: Mapped[date] = mapped_column(Date)
    filed_by: Mapped[str] = mapped_column(String(64))
    resolved_on: Mapped[date | None] = mapped_column(Date)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    province_2025: Mapped[str | None] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_correction_request_status_unit", "status", "org_unit_id"),)
