"""8. Pension rate (tỷ lệ hưởng lương hưu) and one-off retirement bonus, as of the retirement date.

Contribution time is counted in half years: whole years, plus half a year for 1 to
``benefits.partial_year_half_max_months`` (6) odd months and a whole year for more (Law 58/2014 Art 85(7)).

Rate, for someone with at least ``benefits.pension.minimum_years`` (20 under Law 58/2014 Art 54, 15 under Law
41/2024 Art 64; ``minimum_years_reduced_capacity`` = 20 when retiring early, Art 55 / Art 65) of contributions:

- from the base years ``B`` (by sex and retirement date: women 15; men 16 in 2018, 17 in 2019, 18 in 2020,
  19 in 2021, 20 from 2022; both 15 before 2018) the rate is ``base_rate`` (45%) plus ``rate_per_year`` (2%;
  women 3% before 2018) per further year, at most ``max_rate`` (75%);
- below ``B`` (men with 15-19 years from 2025-07-01, Law 41/2024 Art 66(1)(b)): ``short_career_base_rate``
  (40%) at the minimum years plus ``short_career_rate_per_year`` (1%) per further year;
- then, for early retirement, minus ``early_reduction_per_year`` (2%) per whole year early and
  ``early_reduction_partial_year`` (1%) when the odd months early are at least ``early_partial_year_min_months``
  (6) (Law 58/2014 Art 56(3); Law 41/2024 Art 66(3)); never below 0.

A half year counts half the yearly step (e.g. 20 years 3 months for a man in 2025 = 20.5 years → 46%).
Below the minimum years the person gets no pension: ``eligible`` false, rate 0, bonus 0.

One-off bonus (Law 58/2014 Art 58; Law 41/2024 Art 68(1)): ``bonus_months_per_year`` (0.5) months of average
salary per year above the years that give the highest rate, B + (max_rate − base_rate) / rate_per_year: 35 for
men and 30 for women from 2022 (Law 41/2024 states these figures), 31-34 for men retiring in 2018-2021, 30 / 25
before 2018. Half years count half. Not modelled: the 2 × bonus for years worked after the pension age
(Law 41/2024 Art 68(2) second paragraph), the 2.25% per year of treaty periods (Art 66(4)), the missing
months paid at once (Art 33(7)) and special groups (armed forces, miners, commune officials).

All arithmetic is exact on integers (rates in millionths); ``rate`` is turned into a decimal fraction only on
output (0.65 prints as 0.65).
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.schemas import CalcInput, OnDate

#: Months in a year (the calendar, not a legal figure).
MONTHS_PER_YEAR = 12

Sex = Literal["male", "female"]


def half_years(months: pl.Expr, half_max_months: pl.Expr) -> pl.Expr:
    """Contribution months as a count of half years: 2 per whole year, plus 1 for 1 to ``half_max_months``
    odd months and 2 for more (Law 58/2014 Art 85(7); Law 41/2024 Art 70(3))."""
    odd = months % MONTHS_PER_YEAR
    part = pl.when(odd == 0).then(0).when(odd <= half_max_months).then(1).otherwise(2)
    return (months // MONTHS_PER_YEAR) * 2 + part


class PensionRateInput(CalcInput):
    sex: Sex = Field(description="male or female.")
    years: int = Field(ge=0, le=60, description="Whole years of social insurance contributions.")
    extra_months: int = Field(0, ge=0, le=11, description="Odd months of contributions beyond the whole years.")
    months_early: int = Field(0, ge=0, le=120, description="Months of retirement before the pension age "
                                                            "(reduced working capacity); 0 at the pension age.")
    on: OnDate


class PensionRateOutput(BaseModel):
    eligible: bool
    rate: float = Field(description="Pension rate as a decimal fraction of the average insured salary (0.65 = 65%).")
    one_off_bonus_months: float = Field(description="One-off retirement bonus, in months of average insured salary.")


def pension_rate_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``sex, years, extra_months, months_early, on`` → ``eligible, rate_millionths,
    one_off_bonus_months_millionths`` (exact, in millionths: 650000 = 0.65)."""
    on = frame["on"]
    sex = p["benefits.pension.base_years"].encode_keys(frame["sex"], "sex")
    work = frame.select(
        months=pl.col("years").cast(pl.Int64) * MONTHS_PER_YEAR + pl.col("extra_months").cast(pl.Int64),
        early=pl.col("months_early").cast(pl.Int64),
    ).with_columns(
        half_max=p["benefits.partial_year_half_max_months"].column(on),
        minimum=p["benefits.pension.minimum_years"].column(on),
        minimum_early=p["benefits.pension.minimum_years_reduced_capacity"].column(on),
        base_years=p["benefits.pension.base_years"].column(on, sex),
        step=p["benefits.pension.rate_per_year"].column(on, sex),
        base_rate=p["benefits.pension.base_rate"].column(on),
        max_rate=p["benefits.pension.max_rate"].column(on),
        short_base=p["benefits.pension.short_career_base_rate"].column(on, sex),
        short_step=p["benefits.pension.short_career_rate_per_year"].column(on, sex),
        early_step=p["benefits.pension.early_reduction_per_year"].column(on),
        early_partial=p["benefits.pension.early_reduction_partial_year"].column(on),
        early_min=p["benefits.pension.early_partial_year_min_months"].column(on),
        bonus_per_year=p["benefits.pension.bonus_months_per_year"].column(on),
    )
    work = work.with_columns(halves=half_years(pl.col("months"), pl.col("half_max")))
    required = pl.when(pl.col("early") > 0).then(pl.col("minimum_early")).otherwise(pl.col("minimum"))
    # Rates are millionths; a half year adds half a yearly step, so work with twice the rate and halve at the end
    # (every step in the parameters is an even number of millionths, so the halving is exact).
    regular_x2 = 2 * pl.col("base_rate") + pl.col("step") * (pl.col("halves") - 2 * pl.col("base_years"))
    short_x2 = 2 * pl.col("short_base") + pl.col("short_step") * (pl.col("halves") - 2 * pl.col("minimum"))
    rate_x2 = pl.when(pl.col("halves") < 2 * pl.col("base_years")).then(short_x2).otherwise(regular_x2)
    reduction = (pl.col("early_step") * (pl.col("early") // MONTHS_PER_YEAR)
                 + pl.when(pl.col("early") % MONTHS_PER_YEAR >= pl.col("early_min"))
                 .then(pl.col("early_partial")).otherwise(0))
    # Half years above those giving the highest rate: B + (max − base) / step years.
    halves_for_max = 2 * pl.col("base_years") + (2 * (pl.col("max_rate") - pl.col("base_rate"))) // pl.col("step")
    work = work.with_columns(
        eligible=pl.col("months") >= required * MONTHS_PER_YEAR,
        rate_capped=(rate_x2 // 2).clip(upper_bound=pl.col("max_rate")),
        bonus_halves=(pl.col("halves") - halves_for_max).clip(lower_bound=0),
    )
    work = work.with_columns(
        rate_millionths=pl.when(pl.col("eligible"))
        .then((pl.col("rate_capped") - reduction).clip(lower_bound=0)).otherwise(0).cast(pl.Int64),
        bonus_millionths=pl.when(pl.col("eligible"))
        .then(pl.col("bonus_halves") * pl.col("bonus_per_year") // 2).otherwise(0).cast(pl.Int64),
    )
    # Exact integers in millionths; the decimal fraction is made per row in Python (a vectorised float division
    # may differ in the last bit, e.g. 0.39999999999999997 for 0.4).
    return work.select("eligible", "rate_millionths", one_off_bonus_months_millionths="bonus_millionths")


def pension_rate_single(inputs: PensionRateInput, p: ParameterSet) -> dict:
    row = pension_rate_columns(single_row(inputs), p).row(0, named=True)
    return {"eligible": row["eligible"], "rate": row["rate_millionths"] / SCALE,
            "one_off_bonus_months": row["one_off_bonus_months_millionths"] / SCALE}


register(Calculator(
    name="pension-rate",
    summary="Pension rate and one-off retirement bonus for a contribution record, as of the retirement date",
    description=__doc__,
    inputs=PensionRateInput,
    outputs=PensionRateOutput,
    compute=pension_rate_single,
    columns=pension_rate_columns,
))
