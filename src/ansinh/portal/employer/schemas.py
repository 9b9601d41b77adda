"""What crosses the employer's API. Every field is bounded; the services check the rest."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ansinh.bounds import Amount, Day
from ansinh.participation.models import DeclarationKind
from ansinh.portal.employer.models import Duty


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_name: str = Field(max_length=120)
    email: str = Field(max_length=254)
    phone: str = Field(max_length=20)


class EmployerUserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64)
    full_name: str = Field(max_length=200)
    password: str = Field(max_length=200)
    duty: Duty
    email: str | None = Field(default=None, max_length=254)


class EmployerDeclarationIn(BaseModel):
    """A declaration of the caller's own employer (no employer named: the account's)."""
    model_config = ConfigDict(extra="forbid")

    citizen_id: str | None = Field(default=None, max_length=12)
    si_number: str | None = Field(default=None, max_length=10)
    kind: DeclarationKind
    effective_month: Day = Field(description="Any day of the month it takes effect (the first is used)")
    insured_salary: Amount | None = None
    hi_group: str | None = Field(default=None, max_length=2)
