"""What the automatic appraisal found: one row per rule that refused part of a claim (or a line), with the fund's
share it disallows; an appraiser's override keeps the finding and records who, when and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class AppraisalRun(Base):
    __tablename__ = "appraisal_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    started_by: Mapped[str] = mapped_column(String(64))
    facility_code: Mapped[str | None] = mapped_column(String(5))
    settlement_year: Mapped[int | None] = mapped_column(Integer)
    settlement_month: Mapped[int | None] = mapped_column(Integer)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)


class Finding(Base):
    __tablename__ = "appraisal_finding"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("appraisal_run.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"))
    line_id: Mapped[int | None] = mapped_column(BigId)
    rule: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)  # the fund's share disallowed, dong
    details: Mapped[dict | None] = mapped_column(JSON)  # the values the message names
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # a later run replaced it
    overridden_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    overridden_by: Mapped[str | None] = mapped_column(String(64))
    override_reason: Mapped[str | None] = mapped_column(String(500))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)

    __table_args__ = (Index("ix_appraisal_finding_claim", "claim_id", "superseded_at"),
                      Index("ix_appraisal_finding_rule", "rule", "superseded_at"))
