"""The notices table: one message from the agency to one citizen or one employer.

A notice names its ``kind`` (registered once in :mod:`ansinh.notices.kinds` with its title and text in English msgids,
translated when shown) and the ``params`` its text is filled with, so that it reads in the reader's language. ``key``
makes sending idempotent: the same reminder sent twice (a renewal job run again) is one notice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class Notice(Base):
    __tablename__ = "notice"
    __audit_person_ref__ = "person_ref"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    person_ref: Mapped[str | None] = mapped_column(String(12))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Where the notice leads (a page of the portal), if anywhere.
    link: Mapped[str | None] = mapped_column(String(200))
    sent_on: Mapped[date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (employer_id IS NULL)", name="ck_notice_one_addressee"),
        Index("ix_notice_person", "person_id", "sent_on"),
        Index("ix_notice_employer", "employer_id", "sent_on"),
    )
