"""4. Health insurance paid or supported by the State budget: the contribution of one person for a period and
who pays it.

Monthly contribution = ``health_insurance.base_salary_contribution_rate`` (4.5%) × base salary. The State pays
``health_insurance.state_support_share`` of it by group: in full for the groups it insures (poor households,
children under 6, ethnic minorities in areas of hardship, island communes / special zones, monthly social-
protection allowance recipients, people with meritorious service; HI Law Art 12(3), Decree 146/2018 Art 3), and
at least 70% for near-poor households, 30% for students (50% from 2025-07-01, [secondary]) and 30% for
agricultural, forestry, fishery and salt-making households of average living standard (Decree 146/2018 Art 8 as
amended by Decree 75/2023; Decree 188/2025 from 2025-07-01/08-15). The law sets minimums; a province may pay more
(``province_support_pct``, percent of the contribution), up to what the State leaves to pay. The person pays
the rest, never below 0.

Rounding: the monthly contribution is rounded to the dong (halves up), then each payer's monthly share of it
is rounded on its own; period amounts are the monthly amounts × months, so that the shares always add up to
the contribution.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import apply_ratio_expr
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.schemas import CalcInput, OnDate

StateHIGroup = Literal["poor", "child_under_6", "ethnic_minority_hardship", "island", "social_protection",
                       "meritorious", "near_poor", "student", "agro_household"]
#: A percentage in millionths (the unit of ratio columns).
_PERCENT = SCALE // 100
#: The longest period the calculator answers for at once (a card is issued for at most a year; a tool limit).
MAX_MONTHS = 12


class StateHIInput(CalcInput):
    group: StateHIGroup = Field(description="Group of the insured person: poor, child_under_6, "
                                            "ethnic_minority_hardship, island, social_protection, meritorious "
                                            "(paid in full); near_poor, student, agro_household (supported in part).")
    on: OnDate
    months: int = Field(MAX_MONTHS, ge=1, le=MAX_MONTHS, description="Months of cover paid for (1 to 12).")
    province_support_pct: int = Field(0, ge=0, le=100, description="Extra support of the province, in percent of "
                                                                   "the contribution.")


class StateHIOutput(BaseModel):
    contribution: int
    state_support: int
    province_support: int
    payable: int
    months: int
    monthly_contribution: int
    monthly_state_support: int
    monthly_province_support: int
    monthly_payable: int
    support_rate: float


def state_hi_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``group, on, months, province_support_pct`` → the period's contribution and its payers."""
    on = frame["on"]
    work = pl.DataFrame({
        "base": p["salary.base_salary"].column(on),
        "rate": p["health_insurance.base_salary_contribution_rate"].column(on),
        "share": p["health_insurance.state_support_share"].column(on, frame["group"], field_name="group"),
        "province_rate": frame["province_support_pct"].cast(pl.Int64) * _PERCENT,
        "months": frame["months"].cast(pl.Int64),
    })
    work = work.with_columns(monthly_contribution=apply_ratio_expr(pl.col("base"), pl.col("rate")))
    work = work.with_columns(monthly_state_support=apply_ratio_expr(pl.col("monthly_contribution"), pl.col("share")))
    work = work.with_columns(monthly_province_support=pl.min_horizontal(
        apply_ratio_expr(pl.col("monthly_contribution"), pl.col("province_rate")),
        pl.col("monthly_contribution") - pl.col("monthly_state_support")))
    work = work.with_columns(monthly_payable=pl.col("monthly_contribution") - pl.col("monthly_state_support")
                             - pl.col("monthly_province_support"))
    months = pl.col("months")
    return work.select(
        contribution=pl.col("monthly_contribution") * months,
        state_support=pl.col("monthly_state_support") * months,
        province_support=pl.col("monthly_province_support") * months,
        payable=pl.col("monthly_payable") * months,
        months=months,
        monthly_contribution=pl.col("monthly_contribution"),
        monthly_state_support=pl.col("monthly_state_support"),
        monthly_province_support=pl.col("monthly_province_support"),
        monthly_payable=pl.col("monthly_payable"),
        support_rate=pl.col("share"),
    )


def state_hi_single(inputs: StateHIInput, p: ParameterSet) -> dict:
    row = state_hi_columns(single_row(inputs), p).row(0, named=True)
    return {**row, "support_rate": row["support_rate"] / SCALE}


register(Calculator(
    name="state-hi",
    summary="Health insurance paid or supported by the State budget, for one person and period",
    description=__doc__,
    inputs=StateHIInput,
    outputs=StateHIOutput,
    compute=state_hi_single,
    columns=state_hi_columns,
))
