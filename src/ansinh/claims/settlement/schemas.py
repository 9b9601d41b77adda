"""Bodies of the settlement routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ansinh.bounds import Day
from ansinh.claims.settlement.service import MAX_ADVANCE, MAX_REFERENCE

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class SettleIn(BaseModel):
    facility_code: str = Field(pattern=r"^\d{5}$", description="The facility's code")
    month: str = Field(pattern=MONTH_PATTERN, description="The settlement month (THANG_QT, NAM_QT), YYYY-MM")


class AdvanceIn(BaseModel):
    facility_code: str = Field(pattern=r"^\d{5}$", description="The facility's code")
    reference: str = Field(min_length=1, max_length=MAX_REFERENCE,
                           description="The payment's reference: the same reference again changes nothing")
    paid_on: Day
    amount: int = Field(ge=1, le=MAX_ADVANCE, description="Whole dong")
    period_from: str = Field(pattern=MONTH_PATTERN, description="The first month it advances, YYYY-MM")
    period_to: str | None = Field(default=None, pattern=MONTH_PATTERN,
                                  description="The last month (a quarter: two months later); default the first")
