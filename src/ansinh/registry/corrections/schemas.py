"""What crosses the corrections API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FileCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: str | None = Field(None, max_length=120)
    date_of_birth: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    sex: str | None = Field(None, max_length=8, description="male or female")
    ethnicity: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=20)
    note: str | None = Field(None, max_length=500, description="Why the record is wrong (the document that shows it).")

    def changes(self) -> dict:
        return self.model_dump(exclude={"note"}, exclude_none=True)


class RejectCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)
