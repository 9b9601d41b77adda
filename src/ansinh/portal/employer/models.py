"""Tables of the employer's electronic transactions: the registrations (one row per registration, closed by a
deregistration: the history stays) and the duty of each user of an employer.

``employer.e_transactions`` and ``employer.e_transactions_since`` (the registry's columns) follow the registration
open now: :func:`ansinh.portal.employer.service.register_e_transactions` sets them, and deregistration clears them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class Duty(str, enum.Enum):
    """What a user of an employer does: the administrator everything (and manages the other users); declarations
    the workers, their declarations, cards and sickness and maternity lists; accounting the statement of account,
    the bills and the payments."""
    administrator = "administrator"
    declarations = "declarations"
    accounting = "accounting"


class ETransactionRegistration(Base):
    """An employer's registration for electronic transactions: from when, by whom (the employer's own user or an
    officer), its contact; ``ended_on`` once deregistered."""

    __tablename__ = "employer_e_registration"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"))
    registered_on: Mapped[date] = mapped_column(Date)
    registered_by: Mapped[str] = mapped_column(String(64))
    contact_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(20))
    ended_on: Mapped[date | None] = mapped_column(Date)
    ended_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_employer_e_registration_employer", "employer_id", "ended_on"),)


class EmployerUserDuty(Base):
    """The duty of a user acting for an employer. An employer account without a row is the employer's first
    account, its administrator."""

    __tablename__ = "employer_user_duty"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    duty: Mapped[Duty] = mapped_column(Enum(Duty, native_enum=False, length=16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


__all__ = ["Duty", "ETransactionRegistration", "EmployerUserDuty"]
