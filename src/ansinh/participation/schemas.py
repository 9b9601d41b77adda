"""What crosses the API for participation."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from ansinh.participation.models import DeclarationKind, Payer, Scheme


class DeclarationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employer_tax_code: str
    citizen_id: str | None = None
    si_number: str | None = None
    kind: DeclarationKind
    effective_month: date = Field(description="Any day of the month it takes effect (the first is used)")
    insured_salary: int | None = Field(default=None, ge=0, le=10**12)
    hi_group: str | None = Field(default=None, max_length=2)


class DeclarationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    employer_id: int
    person_id: int
    kind: DeclarationKind
    effective_month: date
    insured_salary: int | None
    hi_group: str | None
    retroactive: bool
    needs_rebilling: bool
    submitted_at: datetime
    submitted_by: str


class CoverageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scheme: Scheme
    hi_group: str | None
    valid_from: date
    valid_to: date | None
    insured_salary: int | None
    payer: Payer
    employer_id: int | None
    household_id: int | None
    member_order: int | None
    payment_months: int | None
    support_group: str | None
    superseded_at: datetime | None


class VoluntaryEnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: int
    income: int = Field(gt=0, le=10**12)
    months: int = Field(1, ge=1, le=12)
    group: str = "other"
    start: date


class HouseholdEnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household_id: int
    member_person_ids: list[int] = Field(min_length=1, max_length=50)
    start: date
    months: int = 12


class StateBudgetEnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str
    person_ids: list[int] = Field(min_length=1, max_length=10_000)
    start: date
    end: date
    org_unit_code: str | None = None


class Summary(BaseModel):
    on: date
    structure: str
    province: str | None
    si_compulsory: int
    si_voluntary: int
    hi: int
    ui: int
    hi_by_group: dict[str, int]
    population: int | None = None
    working_age_population: int | None = None
    population_year: int | None = None
    hi_coverage_rate: float | None = None
    si_working_age_rate: float | None = None
