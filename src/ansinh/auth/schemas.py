"""What crosses the API for the auth domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ansinh.auth.models import OrgLevel, Role


class OrgUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    level: OrgLevel
    place_code: str
    parent_id: int | None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    email: str | None
    org_unit_id: int
    roles: list[Role] = Field(validation_alias="role_enums")
    subject_ref: str | None
    locale: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    full_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    org_unit_code: str
    roles: list[Role] = Field(min_length=1)
    subject_ref: str | None = Field(default=None, max_length=32)
    locale: str = Field(default="vi", pattern="^(vi|en)$")


class UserUpdate(BaseModel):
    """A change of a user's roles (and, for an outside role, of what the account acts for)."""

    model_config = ConfigDict(extra="forbid")

    roles: list[Role] = Field(min_length=1)
    subject_ref: str | None = Field(default=None, max_length=32)


class PasswordReset(BaseModel):
    """A temporary password chosen by the officer; without one, a password is generated and answered once."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, max_length=256)


class PasswordResetOut(BaseModel):
    user_id: int
    #: The generated password, shown this once; ``None`` when the officer chose it.
    temporary_password: str | None


class Me(BaseModel):
    user: UserOut
    org_unit: OrgUnitOut
    permissions: list[str]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The username, or a citizen's 12-digit citizen ID.
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field(default="api", max_length=100)
    #: The six-digit code of the authenticator app, for an account with a second factor (401
    #: ``second_factor_required`` without it, ``second_factor_invalid`` when wrong or used already).
    otp: str | None = Field(default=None, max_length=12)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
