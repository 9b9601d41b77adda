"""The audit log table. Append-only: database triggers (see the first migration) refuse UPDATE and
DELETE on both SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __audit__ = False

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # who
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_org_unit_id: Mapped[int | None] = mapped_column(Integer)
    # what: create, update, delete, read, login, login_failed, logout, token_issued, export, ...
    action: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    # the org unit the record belongs to, so that the log itself can be scoped
    org_unit_id: Mapped[int | None] = mapped_column(Integer)
    # when the record concerns a person: their citizen ID or SI number (for "who looked at me")
    person_ref: Mapped[str | None] = mapped_column(String(32))
    changes: Mapped[dict | None] = mapped_column(JSON)
    # from where
    channel: Mapped[str] = mapped_column(String(16))  # web, api, cli, job
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_event_occurred_at", "occurred_at"),
        Index("ix_audit_event_actor", "actor_user_id", "occurred_at"),
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
        Index("ix_audit_event_person", "person_ref"),
        Index("ix_audit_event_org_unit", "org_unit_id", "occurred_at"),
    )
