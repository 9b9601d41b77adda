"""What crosses the API for the registry."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from ansinh.registry.models import Ownership, Sex


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=120)
    date_of_birth: date
    sex: Sex
    citizen_id: str | None = Field(default=None, description="12 digits")
    si_number: str | None = Field(default=None, description="10 digits; issued when omitted")
    ethnicity: str | None = Field(default=None, max_length=40)
    residence_place_id: int | None = None
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=20)
    org_unit_code: str | None = Field(default=None, description="The office the person belongs to; default: yours")


class PersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, min_length=1, max_length=120)
    date_of_birth: date | None = None
    sex: Sex | None = None
    citizen_id: str | None = None
    ethnicity: str | None = None
    residence_place_id: int | None = None
    address: str | None = None
    phone: str | None = None


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

    head_person_id: int
    member_person_ids: list[int] = Field(default_factory=list, max_length=50)
    address: str | None = None
    org_unit_code: str | None = None


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

    tax_code: str
    name: str = Field(min_length=1, max_length=200)
    ownership: Ownership
    region: str = Field(pattern="^(I|II|III|IV)$")
    sector: str = Field(default="private", pattern="^(private|state)$")
    place_id: int | None = None
    address: str | None = None
    e_transactions: bool = False
    contact_name: str | None = None
    phone: str | None = None
    email: str | None = None
    org_unit_code: str | None = None


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
    contact_name: str | None
    phone: str | None
    email: str | None
    org_unit_id: int
    province_2025: str | None
