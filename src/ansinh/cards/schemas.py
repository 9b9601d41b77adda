"""Request and response bodies of the cards API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from ansinh.cards.models import CardStatus, FacilityLevel, FacilityLevel2025
from ansinh.registry.models import Sex


class CardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    card_code: str
    hi_group: str
    benefit_digit: str
    province_code: str
    valid_from: date
    valid_until: date | None
    registered_facility: str | None
    five_years_from: date | None
    status: CardStatus
    status_reason: str | None
    superseded: bool = False


class LookupAnswer(BaseModel):
    """The desk's answer (documents the API; the route returns the service's dict as it is)."""

    on: date
    covered: bool
    reason: str | None = Field(description="unknown_person, name_mismatch, birth_date_mismatch (no personal data "
                                           "then), no_coverage, expired, not_yet_valid, suspended or card_replaced "
                                           "when not covered")
    card_id: int | None
    card_code: str | None
    benefit_level: int | None = Field(description="The benefit digit, 1 to 5")
    benefit_percentage: float | None = Field(description="Share of covered costs paid by the fund, 0 to 1")
    valid_from: date | None
    valid_to: date | None = Field(description="Last day of validity, inclusive")
    registered_facility: str | None
    registered_facility_name: str | None
    five_years_from: date | None
    status: CardStatus | None
    full_name: str | None
    date_of_birth: date | None
    sex: str | None
    person_id: int | None


class FacilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="5 digits: province (2) and number (3)")
    name: str = Field(min_length=1, max_length=200)
    level: FacilityLevel
    primary_care: bool = True
    public: bool = True
    specialty: str = Field(default="general", max_length=24, description="A code of the facility specialty catalogue")
    place_id: int | None = Field(default=None, description="The commune (2025 structure)")
    org_unit_code: str | None = Field(default=None, description="The office that contracts it; default: yours")


class ClassificationIn(BaseModel):
    """A classification of the facility into the levels of 2025, from a day (until its next one)."""

    model_config = ConfigDict(extra="forbid")

    valid_from: date = Field(description="The day it takes effect (2025-01-01 or later)")
    level_2025: FacilityLevel2025
    score: int | None = Field(default=None, ge=0, le=100,
                              description="Classification score of a basic facility (points, 0 to 100)")
    provisional: bool = Field(default=False, description="Provisionally classified (a basic facility without "
                                                         "a score yet)")
    health_station: bool = Field(default=False, description="An initial-level facility of visit category 1.2 "
                                                            "(health station, family-medicine practice...)")
    decision: str | None = Field(default=None, max_length=120, description='The classifying decision, e.g. '
                                                                           '"QĐ 123/QĐ-SYT"')


class ClassificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    valid_from: date
    level_2025: FacilityLevel2025
    score: int | None
    provisional: bool
    health_station: bool
    decision: str | None


class FacilityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    level: FacilityLevel = Field(description="The level before 2025-01-01")
    primary_care: bool
    public: bool
    specialty: str = "general"
    place_id: int | None
    province_2025: str
    contract_in_force: bool = False
    classification: ClassificationOut | None = Field(
        default=None, description="The classification into the levels of 2025 in force on the day asked (today by "
                                  "default); none before the first")
    classifications: list[ClassificationOut] = Field(default_factory=list,
                                                     description="Every classification, the earliest first")


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contract_number: str = Field(min_length=1, max_length=40)
    valid_from: date
    valid_until: date


class ContractOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    facility_id: int
    contract_number: str
    valid_from: date
    valid_until: date
    terminated_on: date | None


class SuspensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


class RegisteredFacilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facility_code: str


class BirthIn(BaseModel):
    """One birth registration from the civil registry."""

    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=120)
    date_of_birth: date
    sex: Sex
    citizen_id: str | None = Field(default=None, description="The personal ID issued at registration (12 digits)")
    ethnicity: str | None = Field(default=None, max_length=40)
    residence_place_id: int | None = None
    address: str | None = Field(default=None, max_length=300)
    org_unit_code: str | None = Field(default=None, description="The office the child belongs to; default: yours")


class BirthsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registered_on: date | None = Field(default=None, description="Default: today")
    births: list[BirthIn] = Field(min_length=1, max_length=1000)


class BirthOut(BaseModel):
    person_id: int
    si_number: str
    full_name: str
    card: CardOut
