"""What crosses the API for the reset of a password through the office."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ResetCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The 12-digit citizen ID of a registered person of the officer's scope.
    citizen_id: str = Field(min_length=1, max_length=20)


class ResetCodeOut(BaseModel):
    citizen_id: str
    username: str
    full_name: str
    #: The code, answered this once (only its hash is kept).
    code: str
    valid_until: datetime
    #: The person had no account: one was created (username: the citizen ID).
    account_created: bool


class PasswordResetByCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    citizen_id: str = Field(min_length=1, max_length=20)
    code: str = Field(min_length=1, max_length=20)
    password: str = Field(min_length=1, max_length=256)


class PasswordResetDone(BaseModel):
    #: The account's username (a citizen may also sign in with their citizen ID).
    username: str
