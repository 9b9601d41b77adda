"""Bodies of the appraisal and review routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ansinh.claims.review.service import REASON_MAX

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
FACILITY_PATTERN = r"^\d{5}$"


class AppraisalIn(BaseModel):
    facility_code: str | None = Field(default=None, pattern=FACILITY_PATTERN, description="The facility (5 digits)")
    month: str | None = Field(default=None, pattern=MONTH_PATTERN, description="The settlement month, YYYY-MM")


class OverrideIn(BaseModel):
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="Why the finding is set aside")
