"""Reset codes issued at the office: one live code per account, stored hashed, used once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow


class ResetCode(Base):
    """The account's current reset code: a new one replaces the old (same row); ``used_at`` set once, by a guarded
    update, when the citizen sets their new password with it."""

    __tablename__ = "account_reset_code"
    __audit_redact__ = ("code_hash",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), unique=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
