"""Tables of the targets domain: plan versions and their targets, and the reports issued (frozen).

A plan is what VSS assigns a province (or the country, province ``00``) for a year: one target per indicator, for
the whole year or a quarter, optionally for a local office of the province. Plans are versioned per province and
year: a revision (an import, an edit on the web) makes a new version holding the whole set of that province's
targets for the year; earlier versions are kept and a report names the version it compared against. A version has
an effective date: a report compares a period with the latest version in effect on the period's last day.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, Numeric, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId

#: The province code of the country's own plan and report.
NATIONAL = "00"


class PlanVersion(Base):
    """One version of a province's (or the country's) plan for a year."""

    __tablename__ = "plan_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    province: Mapped[str] = mapped_column(String(8))  # 2025 province code; "00" = national
    year: Mapped[int] = mapped_column(SmallInteger)
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per province and year
    effective_from: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200))  # the decision(s) assigning it, e.g. "QĐ 546/QĐ-TTg"
    note: Mapped[str | None] = mapped_column(String(300))  # why it was revised (an edit's reason, a file's name)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("province", "year", "version"),)


class PlanTarget(Base):
    """One target of a plan version: an indicator's value for the year (``quarter`` null) or a quarter, for the
    province or one of its local offices (``office_code``)."""

    __tablename__ = "plan_target"
    __audit__ = False  # written with its version, which is audited

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_version.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(64))
    office_code: Mapped[str | None] = mapped_column(String(20))  # an org unit code under the province; null = all
    quarter: Mapped[int | None] = mapped_column(SmallInteger)  # 1-4; null = the whole year
    value: Mapped[Decimal] = mapped_column(Numeric(20, 4))  # in the indicator's unit (percent for rates)
    source: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("plan_version_id", "indicator", "office_code", "quarter"),)


class IssuedReport(Base):
    """A province report (or the national one) issued for a period: its figures and the plan version frozen, so
    later corrections of the records do not change what was issued. Re-issuing makes a new version."""

    __tablename__ = "issued_report"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    province: Mapped[str] = mapped_column(String(8))  # "00" = national
    period: Mapped[str] = mapped_column(String(12))  # 2026-11, 2026-Q3, 2026, 2026-YTD@2026-11-30
    version: Mapped[int] = mapped_column(Integer)
    plan_version_id: Mapped[int | None] = mapped_column(ForeignKey("plan_version.id"))
    figures: Mapped[dict] = mapped_column(JSON)  # the report's JSON as issued
    reason: Mapped[str | None] = mapped_column(String(300))  # why it was re-issued
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(64))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)

    __table_args__ = (UniqueConstraint("province", "period", "version"),)


class IndicatorValue(Base):
    """An indicator's figure for a province (or the country) and a month, computed by the snapshot job
    (``ansinh indicators snapshot``): the trends and sparklines read these instead of recomputing a year of months
    from the records. A month's snapshot is replaced whole when taken again."""

    __tablename__ = "indicator_value"
    __audit__ = False  # figures derived from the records, taken by a job that is itself audited

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    indicator: Mapped[str] = mapped_column(String(64))
    province: Mapped[str] = mapped_column(String(8))
    period: Mapped[str] = mapped_column(String(12))  # a month, 2026-11
    numerator: Mapped[int] = mapped_column(BigInteger)
    denominator: Mapped[int | None] = mapped_column(BigInteger)  # a rate's; null for a count
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("period", "indicator", "province"),)
