"""What crosses the benefits API, and the type-specific part of a claim as it is filed (validated per type)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ansinh.benefits.models import ClaimType
from ansinh.errors import ValidationFailed


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LumpSumDetails(_Details):
    """Lump sum: the ground is the claim's ``ground``; evidence is checked by the officer (``missing``)."""
    incapacity_percent: int | None = Field(None, ge=0, le=100, description="Assessed loss of working capacity (%).")
    illness: str | None = Field(None, max_length=200, description="The grave illness, as the medical file names it.")


class PensionDetails(_Details):
    retire_on: date | None = Field(None, description="Retirement date (first day of the pension); default: the "
                                                     "first day of the month after filing.")
    incapacity_percent: int | None = Field(None, ge=0, le=100, description="Loss of working capacity (%), for an "
                                                                           "early pension.")


class SicknessDetails(_Details):
    leave_from: date
    days: int = Field(ge=1, le=365, description="Working days of sick leave certified.")
    hazardous: bool = False
    employer_id: int | None = None


class MaternityDetails(_Details):
    birth_on: date
    children: int = Field(1, ge=1, le=10)
    child_order: int = Field(1, ge=1, le=20, description="Order of the (first) child of this birth.")
    direct: bool = Field(False, description="Filed directly by a mother who left work before the birth.")


class UnemploymentDetails(_Details):
    """The employment office decides the benefit; the agency pays it (an external event)."""
    decision_number: str = Field(min_length=1, max_length=60)
    decision_on: date
    employment_ended_on: date
    benefit_months: int | None = Field(None, ge=1, le=12)
    monthly_amount: int | None = Field(None, ge=1, le=10**9)
    first_month: date | None = None


class DeathDetails(_Details):
    died_on: date
    claimant_citizen_id: str | None = Field(None, min_length=12, max_length=12, pattern=r"^\d{12}$")
    survivor_kind: Literal["monthly", "one_off"] = "one_off"


DETAILS: dict[ClaimType, type[_Details]] = {
    ClaimType.lump_sum: LumpSumDetails,
    ClaimType.pension: PensionDetails,
    ClaimType.sickness: SicknessDetails,
    ClaimType.maternity: MaternityDetails,
    ClaimType.unemployment: UnemploymentDetails,
    ClaimType.funeral: DeathDetails,
    ClaimType.survivor: DeathDetails,
}


def parse_details(claim_type: ClaimType, raw: dict | None) -> dict:
    """The type-specific part checked against its model; JSON-ready (dates as ISO strings). A wrong field is a
    ValidationFailed naming ``details.<field>``."""
    model = DETAILS[claim_type]
    try:
        parsed = model.model_validate(raw or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "details"
        raise ValidationFailed(f"details.{where}", "{name}: {problem}", name=where, problem=error["msg"]) from None
    return parsed.model_dump(mode="json", exclude_none=True)


class FileClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim_type: ClaimType = Field(alias="type")
    citizen_id: str = Field(min_length=12, max_length=12, pattern=r"^\d{12}$")
    filed_on: date
    channel: Literal["counter", "post", "employer", "portal"] = "counter"
    ground: str | None = Field(None, max_length=40)
    details: dict = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list, max_length=20)
    external_ref: str | None = Field(None, max_length=80)


class ClaimAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date
    reason: str | None = Field(None, max_length=1000)


class IncompleteAction(ClaimAction):
    missing: list[str] = Field(min_length=1, max_length=20)


class DecideAction(ClaimAction):
    refuse: str | None = Field(None, max_length=1000, description="Refuse with this written reason.")
