"""9. Unemployment benefit (trợ cấp thất nghiệp), as of the date the employment ended.

Law 38/2013 Art 49-50 until 2025-12-31; Law 74/2025 Art 38-39 from 2026-01-01.

- Eligible with at least ``benefits.unemployment.minimum_months_in_window`` (12) months of contributions in the
  ``window_months`` (24) before termination. ``months_in_window`` defaults to min(months contributed, 24); the
  36-month window of short contracts is covered by giving ``months_in_window`` (up to 36).
- Monthly benefit = ``benefit_rate`` (60%) × the average UI salary of the last 6 months, rounded to the dong
  (halves up), at most (multiple × base salary) + (multiple × regional minimum wage) with the multiples by sector
  and date: until 2025-12-31 5 × base salary for state-set pay and 5 × regional minimum wage for employer-set pay
  (Law 38/2013 Art 50(1)); from 2026-01-01 5 × regional minimum wage for everyone (Law 74/2025 Art 39(1)). The
  base salary and minimum wage are those in force on ``on`` (termination, i.e. the last month of contributions).
- Months of benefit: ``base_benefit_months`` (3) for up to ``base_contribution_months`` (36) months contributed,
  one more for each further complete ``contribution_months_per_extra_month`` (12), at most ``max_benefit_months``
  (12) (Art 50(2) / Art 39(2)); ``months_contributed`` are those not yet used for an earlier benefit.
- Not eligible: monthly benefit 0, months 0.
"""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, Field

from ansinh.errors import ValidationFailed
from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import apply_ratio_expr
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.schemas import BenefitSalary, CalcInput, OnDate, Region, Sector


class UnemploymentInput(CalcInput):
    average_salary: BenefitSalary = Field(description="Average monthly UI salary of the last 6 months paid, in dong.")
    months_contributed: int = Field(ge=0, le=600, description="Months of unemployment insurance contributions "
                                                             "not yet used for a benefit.")
    region: Region = Field(description="Minimum-wage region of the workplace: I, II, III or IV.")
    on: OnDate = Field(description="Date the employment ended (YYYY-MM-DD).")
    sector: Sector = Field("private", description="private: employer-set pay; state: pay set by the State.")
    months_in_window: int | None = Field(None, ge=0, le=36, description="Months contributed in the 24 months "
                                         "before termination (36 for contracts under 12 months); default: "
                                         "min(months contributed, 24).")


class UnemploymentOutput(BaseModel):
    eligible: bool
    monthly_benefit: int
    months: int


def unemployment_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``average_salary, months_contributed, region, on, sector[, months_in_window]`` → ``eligible,
    monthly_benefit, months, cap``."""
    on = frame["on"]
    region = p["salary.regional_minimum_wage"].encode_keys(frame["region"], "region")
    sector = p["benefits.unemployment.benefit_cap_base_salary_multiple"].encode_keys(frame["sector"], "sector")
    contributed = frame["months_contributed"].cast(pl.Int64)
    window = p["benefits.unemployment.window_months"].column(on)
    given = (frame["months_in_window"].cast(pl.Int64) if "months_in_window" in frame.columns
             else pl.Series([None] * frame.height, dtype=pl.Int64))
    too_many = given > contributed
    if too_many.any():
        bad = frame.filter(too_many).row(0, named=True)
        raise ValidationFailed("months_in_window", "Months in the window ({given}) cannot exceed the months "
                               "contributed ({contributed}).", given=bad["months_in_window"],
                               contributed=bad["months_contributed"])
    in_window = given.fill_null(pl.select(pl.min_horizontal(contributed, window)).to_series())
    base = p["salary.base_salary"].column(on)
    minimum = p["salary.regional_minimum_wage"].column(on, region)
    cap = ((base * p["benefits.unemployment.benefit_cap_base_salary_multiple"].column(on, sector)) // SCALE
           + (minimum * p["benefits.unemployment.benefit_cap_minimum_wage_multiple"].column(on, sector))
           // SCALE)
    work = pl.DataFrame({"salary": frame["average_salary"].cast(pl.Int64), "contributed": contributed,
                         "in_window": in_window, "cap": cap}).with_columns(
        rate=p["benefits.unemployment.benefit_rate"].column(on),
        minimum_months=p["benefits.unemployment.minimum_months_in_window"].column(on),
        base_months=p["benefits.unemployment.base_benefit_months"].column(on),
        base_contribution=p["benefits.unemployment.base_contribution_months"].column(on),
        per_extra=p["benefits.unemployment.contribution_months_per_extra_month"].column(on),
        max_months=p["benefits.unemployment.max_benefit_months"].column(on),
    )
    eligible = pl.col("in_window") >= pl.col("minimum_months")
    extra = ((pl.col("contributed") - pl.col("base_contribution")) // pl.col("per_extra")).clip(lower_bound=0)
    return work.select(
        eligible=eligible,
        monthly_benefit=pl.when(eligible)
        .then(pl.min_horizontal(apply_ratio_expr(pl.col("salary"), pl.col("rate")), pl.col("cap"))).otherwise(0),
        months=pl.when(eligible)
        .then(pl.min_horizontal(pl.col("base_months") + extra, pl.col("max_months"))).otherwise(0).cast(pl.Int64),
        cap="cap",
    )


def unemployment_single(inputs: UnemploymentInput, p: ParameterSet) -> dict:
    row = unemployment_columns(single_row(inputs), p).row(0, named=True)
    return {"eligible": row["eligible"], "monthly_benefit": row["monthly_benefit"], "months": row["months"]}


register(Calculator(
    name="unemployment",
    summary="Unemployment benefit: eligibility, monthly amount and months, as of the date the employment ended",
    description=__doc__,
    inputs=UnemploymentInput,
    outputs=UnemploymentOutput,
    compute=unemployment_single,
    columns=unemployment_columns,
))
