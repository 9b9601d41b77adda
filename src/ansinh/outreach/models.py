"""Tables of outreach: sponsors who pay the health insurance of named people (donated cards), their sponsorships,
the collection agents (post offices, commune agents) and the payments each agent took.

A sponsor is a payer of its own (``D:<sponsor id>``): the billing run bills it each month for the sponsorships in
force (:mod:`ansinh.outreach.sponsors`), and its payments are matched, allocated and posted as every payer's. A
sponsorship holds the coverage period it created (paid by ``other_budget``), so that the person's coverage names
the sponsor as who paid. An agent's collection links one payment (:class:`~ansinh.collection.models.Payment`)
to the agent, with the scheme and month that its commission is counted on.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId

SPONSOR_KINDS = ("organisation", "local_budget")
SPONSORED_SCHEMES = ("household_hi", "student_hi")
AGENT_KINDS = ("post_office", "commune_agent")
AGENT_SCHEMES = ("voluntary_si", "household_hi")


class Sponsor(Base):
    """An organisation or a local budget that pays the health insurance of people it names."""

    __tablename__ = "sponsor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # organisation | local_budget
    province_2025: Mapped[str] = mapped_column(String(8))
    tax_code: Mapped[str | None] = mapped_column(String(14))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("province_2025", "name"),)


class Sponsorship(Base):
    """A sponsor pays one person's household HI or student HI from ``from_month`` to ``to_month`` (first days of
    the months, both included); ``coverage_period_id``: the HI period it created."""

    __tablename__ = "sponsorship"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsor.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(16))  # household_hi | student_hi
    from_month: Mapped[date] = mapped_column(Date)
    to_month: Mapped[date] = mapped_column(Date)
    coverage_period_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CollectionAgent(Base):
    """A post office or a commune agent that collects voluntary SI and household HI for the agency."""

    __tablename__ = "collection_agent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # post_office | commune_agent
    province_2025: Mapped[str] = mapped_column(String(8))
    commune_code: Mapped[str | None] = mapped_column(String(8))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AgentCollection(Base):
    """A payment an agent took (one per payment): for which bill, scheme and month (of ``collected_on``)."""

    __tablename__ = "agent_collection"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("collection_agent.id"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), unique=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bill.id"))
    scheme: Mapped[str] = mapped_column(String(16))  # voluntary_si | household_hi
    receipt: Mapped[str] = mapped_column(String(40))
    collected_on: Mapped[date] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month of ``collected_on``
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_agent_collection_month", "agent_id", "month"),)
