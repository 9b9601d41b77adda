"""Input field types shared by the calculations (ranges are part of the type, so that the CLI, the API and
the OpenAPI document all state them)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ansinh.rules.money import MAX_AMOUNT

Money = Annotated[int, Field(ge=0, le=MAX_AMOUNT, description="An amount in dong (0 to 10^12).")]
PositiveMoney = Annotated[int, Field(gt=0, le=MAX_AMOUNT, description="An amount in dong (1 to 10^12).")]
Region = Literal["I", "II", "III", "IV"]
Sector = Literal["private", "state"]
#: Upper bound of a benefit salary input (10^10 dong a month, 200 × the highest insured salary so far): keeps
#: every intermediate product of the benefit calculations inside Int64.
MAX_BENEFIT_SALARY = 10_000_000_000
BenefitSalary = Annotated[int, Field(ge=0, le=MAX_BENEFIT_SALARY, description="An amount in dong a month (0 to 10^10).")]
OnDate = Annotated[date, Field(description="The date the answer is asked for (YYYY-MM-DD).")]


class CalcInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CalcOutput(BaseModel):
    pass
