"""A user's second factor: the shared secret of their authenticator app, and the last time step accepted (a code is
never accepted twice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow


class SecondFactor(Base):
    """One per user. Unconfirmed (``confirmed_at`` empty) while the user enrols: the secret is shown then, and never
    again once confirmed."""

    __tablename__ = "user_second_factor"
    __audit_redact__ = ("secret",)
    __audit_ignore__ = ("last_step",)  # each accepted code moves it: a sign-in, audited as its own event

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: The 30-second time step of the last code accepted: a code of this step or an earlier one is refused.
    last_step: Mapped[int | None] = mapped_column(BigInteger())
