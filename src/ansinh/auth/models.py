"""Tables of the auth domain: the org unit tree, users and their roles, web sessions, API tokens,
login attempts (for throttling)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ansinh.db import Base, UtcDateTime, utcnow


class OrgLevel(str, enum.Enum):
    national = "national"
    province = "province"
    district = "district"


class Role(str, enum.Enum):
    administrator = "administrator"
    national_officer = "national_officer"
    provincial_officer = "provincial_officer"
    district_officer = "district_officer"
    employer = "employer"
    citizen = "citizen"
    facility = "facility"
    supervisor = "supervisor"


class OrgUnit(Base):
    """A node of the agency's tree: national HQ → provincial office → district office.

    ``path`` is the materialised path of ids (``/1/4/17/``) so that a whole subtree is one indexed
    prefix query on SQLite and PostgreSQL alike.
    """

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[OrgLevel] = mapped_column(Enum(OrgLevel, native_enum=False, length=16))
    place_code: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])

    __table_args__ = (Index("ix_org_unit_path", "path", postgresql_ops={"path": "text_pattern_ops"}),)

    def __repr__(self) -> str:
        return f"OrgUnit({self.code!r})"


class User(Base):
    __tablename__ = "app_user"
    __audit_redact__ = ("password_hash",)
    __audit_ignore__ = ("last_login_at",)  # a sign-in is its own event (``login``), not a change of the user

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # For employer, citizen and facility users: what they act for (tax code, citizen ID, facility code).
    subject_ref: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def role_enums(self) -> list[Role]:
        return [r.role for r in self.roles]


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=32), primary_key=True)


class UserSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_session"
    __audit__ = False  # sign-in and sign-out are audited as events, not as row changes

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for the API. Only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __audit_redact__ = ("token_hash",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="api")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """Every sign-in attempt, kept for throttling repeated failures by username and by address."""

    __tablename__ = "login_attempt"
    __audit__ = False  # failures are audited as events

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "attempted_at"),
        Index("ix_login_attempt_ip_at", "ip", "attempted_at"),
    )


class LoginThrottle(Base):
    """Sign-in attempts counted per username and per address in a window, claimed atomically **before** the password
    is checked (``ansinh.auth.service.claim_sign_in``): parallel guesses get no more tries than sequential ones."""

    __tablename__ = "login_throttle"
    __audit__ = False  # failures are audited as events

    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # "user:<username>" or "ip:<address>"
    attempts: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime())
