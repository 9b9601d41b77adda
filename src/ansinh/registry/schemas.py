"""What crosses the API for the registry. Every field is bounded (:mod:`ansinh.bounds`): ids fit the database,
dates fall between 1900 and a few years ahead, text has the length of its column; the services check the same
rules again for the CLI and the imports (:func:`ansinh.registry.service.validate_person`, ``validate_employer``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ansinh.bounds import Day, RecordRef
from ansinh.registry.models import Ownership, Sex

#: The code of the office a new record belongs to (``BHXH-01-01``); default: the caller's own.
OrgUnitCode = Annotated[str, StringConstraints(max_length=40)]


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=120)
    date_of_birth: Day
    sex: Sex
    citizen_id: str | None = Field(default=None, max_length=12, description="12 digits")
    si_number: str | None = Field(default=None, max_length=10, description="10 digits; issued when omitted")
    ethnicity: str | None = Field(default=None, max_length=40)
    residence_place_id: RecordRef | None = None
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=20)
    org_unit_code: OrgUnitCode | None = None


class PersonPatch(BaseModel):
    """Only the fields sent are changed. Name, date of birth and sex may be left out but not emptied (null)."""

    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(default=None, min_length=1, max_length=120)  # type: ignore[assignment]
    date_of_birth: Day = Field(default=None)  # type: ignore[assignment]
    sex: Sex = Field(default=None)  # type: ignore[assignment]
    citizen_id: str | None = Field(default=None, max_length=12)
    ethnicity: str | None = Field(default=None, max_length=40)
    residence_place_id: RecordRef | None = None
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=20)


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    citizen_id: str | None
    si_number: str
    full_name: str
    date_of_birth: date
    sex: Sex
    ethnicity: str | None
    residence_place_id: int | None
    address: str | None
    phone: str | None
    household_id: int | None
    org_unit_id: int
    province_2008: str | None
    province_2025: str | None


class HouseholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    head_person_id: RecordRef
    member_person_ids: list[RecordRef] = Field(default_factory=list, max_length=50)
    address: str | None = Field(default=None, max_length=300)
    org_unit_code: OrgUnitCode | None = None


class HouseholdOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    head_person_id: int | None
    address: str | None
    org_unit_id: int
    members: list[PersonOut] = []


class EmployerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tax_code: str = Field(max_length=14, description="10 digits, or 13 for a branch (a hyphen allowed)")
    name: str = Field(min_length=1, max_length=200)
    ownership: Ownership
    region: str = Field(pattern="^(I|II|III|IV)$")
    sector: str = Field(default="private", pattern="^(private|state)$")
    place_id: RecordRef | None = None
    address: str | None = Field(default=None, max_length=300)
    e_transactions: bool = False
    contact_name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    org_unit_code: OrgUnitCode | None = None


class EmployerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tax_code: str
    name: str
    ownership: Ownership
    region: str
    sector: str
    place_id: int | None
    address: str | None
    e_transactions: bool
    e_transactions_since: date | None = None  # the registration in force began (ansinh.portal.employer)
    contact_name: str | None
    phone: str | None
    email: str | None
    org_unit_id: int
    province_2025: str | None
