"""What crosses the API for participation. Every field is bounded (:mod:`ansinh.bounds`); the services check the
ranges of the scheme (a month not before the scheme existed, not more than a year ahead) for every caller."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ansinh.bounds import Amount, Day, PositiveAmount, RecordRef
from ansinh.participation.models import DeclarationKind, Payer, Scheme

OrgUnitCode = Annotated[str, StringConstraints(max_length=40)]


class DeclarationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employer_tax_code: str = Field(max_length=14)
    citizen_id: str | None = Field(default=None, max_length=12)
    si_number: str | None = Field(default=None, max_length=10)
    kind: DeclarationKind
    effective_month: Day = Field(description="Any day of the month it takes effect (the first is used)")
    insured_salary: Amount | None = None
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

    person_id: RecordRef
    income: PositiveAmount
    months: int = Field(1, ge=1, le=12)
    group: str = Field(default="other", max_length=40)
    start: Day


class HouseholdEnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household_id: RecordRef
    member_person_ids: list[RecordRef] = Field(min_length=1, max_length=50)
    start: Day
    months: int = Field(12, ge=1, le=12)


class StateBudgetEnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = Field(max_length=4)
    person_ids: list[RecordRef] = Field(min_length=1, max_length=10_000)
    start: Day
    end: Day
    org_unit_code: OrgUnitCode | None = None


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
