"""13. Benefits on a death: the funeral grant (trợ cấp mai táng) and the survivor allowance (trợ cấp tuất), as of
the date of death, from the deceased's contribution record.

``funeral`` (Law 58/2014 Art 66, 80; Law 41/2024 Art 85, 109): the relative who arranges the funeral gets
``benefits.funeral.grant_base_salary_multiple`` (10) × the base salary (reference level) in force on the day of the
death when the deceased had at least ``minimum_compulsory_months`` (12) of compulsory social insurance, or at least
``minimum_voluntary_months`` (60) counting voluntary social insurance, or was a pensioner. Deaths from an
occupational accident or disease (Art 85(1)(b)) are not modelled.

``survivor`` (Law 58/2014 Art 67-70; Law 41/2024 Art 86-88):

- ``monthly``: when the deceased had at least ``benefits.survivor.minimum_compulsory_years`` (15) of compulsory
  social insurance, or was a pensioner, each eligible relative gets ``monthly_share_of_base_salary`` (50%) of the
  base salary in force on the day of the death, rounded to the dong, halves up; ``relatives`` of them. The 70% for a
  relative without a direct carer, the limit of four relatives and the relatives' own conditions (age, income,
  incapacity) are checked by the officer, not here;
- ``one_off``: ``one_off_months_per_year_before_2014`` (1.5) months of the deceased's average (revalued) salary per
  year of contributions before 2014 and ``one_off_months_per_year_from_2014`` (2) per year from 2014, counted in half
  years as the lump sum is (odd months before 2014 carried into the years from 2014), at least
  ``one_off_minimum_months`` (3) months; amount = months × average salary rounded once, halves up. The allowance of a
  pensioner's survivors (48 months of pension less half a month per month received) is not modelled.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import apply_ratio_expr, div_round_expr, scaled_product
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.pension import MONTHS_PER_YEAR, half_years
from ansinh.rules.schemas import BenefitSalary, CalcInput, OnDate

# --- funeral --------------------------------------------------------------------------------------------------------


class FuneralInput(CalcInput):
    compulsory_months: int = Field(ge=0, le=1200, description="Months of compulsory social insurance of the deceased.")
    si_months: int = Field(ge=0, le=1200, description="Months of social insurance of the deceased, voluntary counted.")
    pensioner: bool = Field(False, description="The deceased was drawing a pension.")
    on: OnDate = Field(description="Date of death (YYYY-MM-DD).")


class FuneralOutput(BaseModel):
    eligible: bool
    amount: int


def funeral_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``compulsory_months, si_months, pensioner, on`` → ``eligible, amount``."""
    on = frame["on"]
    work = pl.DataFrame({
        "compulsory": frame["compulsory_months"].cast(pl.Int64), "si": frame["si_months"].cast(pl.Int64),
        "pensioner": frame["pensioner"].cast(pl.Boolean),
        "min_compulsory": p["benefits.funeral.minimum_compulsory_months"].column(on),
        "min_si": p["benefits.funeral.minimum_voluntary_months"].column(on),
        "multiple": p["benefits.funeral.grant_base_salary_multiple"].column(on),
        "base": p["salary.base_salary"].column(on),
    })
    eligible = (pl.col("pensioner") | (pl.col("compulsory") >= pl.col("min_compulsory"))
                | (pl.col("si") >= pl.col("min_si")))
    return work.select(eligible=eligible, amount=pl.when(eligible).then(
        div_round_expr(pl.col("base") * pl.col("multiple"), SCALE)).otherwise(0).cast(pl.Int64))


def funeral_single(inputs: FuneralInput, p: ParameterSet) -> dict:
    return funeral_columns(single_row(inputs), p).row(0, named=True)


register(Calculator(
    name="funeral",
    summary="Funeral grant on the death of an insured person or a pensioner, as of the date of death",
    description=__doc__,
    inputs=FuneralInput,
    outputs=FuneralOutput,
    compute=funeral_single,
    columns=funeral_columns,
))


# --- survivor -------------------------------------------------------------------------------------------------------


class SurvivorInput(CalcInput):
    kind: Literal["monthly", "one_off"] = Field(description="monthly allowance, or the one-off allowance.")
    compulsory_months: int = Field(ge=0, le=1200, description="Months of compulsory social insurance of the deceased.")
    months_before_2014: int = Field(0, ge=0, le=1200, description="Months of contributions before 2014-01-01.")
    months_from_2014: int = Field(0, ge=0, le=1200, description="Months of contributions from 2014-01-01.")
    average_salary: BenefitSalary = Field(0, description="The deceased's average (revalued) monthly salary, in dong.")
    pensioner: bool = Field(False, description="The deceased was drawing a pension.")
    relatives: int = Field(1, ge=1, le=10, description="Relatives entitled to the monthly allowance.")
    on: OnDate = Field(description="Date of death (YYYY-MM-DD).")


class SurvivorOutput(BaseModel):
    eligible: bool
    monthly_amount: int
    months_of_salary: float
    amount: int


def survivor_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``kind, compulsory_months, months_before_2014, months_from_2014, average_salary, pensioner, relatives,
    on`` → ``eligible, monthly_amount, months_of_salary_millionths, amount``."""
    on = frame["on"]
    work = pl.DataFrame({
        "monthly": frame["kind"].cast(pl.Utf8) == "monthly",
        "compulsory": frame["compulsory_months"].cast(pl.Int64),
        "before": frame["months_before_2014"].cast(pl.Int64), "after": frame["months_from_2014"].cast(pl.Int64),
        "salary": frame["average_salary"].cast(pl.Int64), "pensioner": frame["pensioner"].cast(pl.Boolean),
        "relatives": frame["relatives"].cast(pl.Int64),
        "min_years": p["benefits.survivor.minimum_compulsory_years"].column(on),
        "share": p["benefits.survivor.monthly_share_of_base_salary"].column(on),
        "base": p["salary.base_salary"].column(on),
        "half_max": p["benefits.partial_year_half_max_months"].column(on),
        "per_year_before": p["benefits.survivor.one_off_months_per_year_before_2014"].column(on),
        "per_year_after": p["benefits.survivor.one_off_months_per_year_from_2014"].column(on),
        "minimum": p["benefits.survivor.one_off_minimum_months"].column(on),
    })
    carried = pl.when((pl.col("before") > 0) & (pl.col("after") > 0)).then(pl.col("before") % MONTHS_PER_YEAR).otherwise(0)
    halves_x2 = (half_years(pl.col("before") - carried, pl.col("half_max")) * pl.col("per_year_before")
                 + half_years(pl.col("after") + carried, pl.col("half_max")) * pl.col("per_year_after"))
    months_x2 = pl.max_horizontal(halves_x2, 2 * pl.col("minimum"))
    monthly_eligible = pl.col("pensioner") | (pl.col("compulsory") >= pl.col("min_years") * MONTHS_PER_YEAR)
    eligible = pl.when(pl.col("monthly")).then(monthly_eligible).otherwise(True)
    return work.select(
        eligible=eligible,
        monthly_amount=pl.when(pl.col("monthly") & monthly_eligible)
        .then(apply_ratio_expr(pl.col("base"), pl.col("share")) * pl.col("relatives")).otherwise(0).cast(pl.Int64),
        months_of_salary_millionths=pl.when(pl.col("monthly")).then(0).otherwise(months_x2 // 2).cast(pl.Int64),
        amount=pl.when(pl.col("monthly")).then(0)
        .otherwise(scaled_product(pl.col("salary"), months_x2, 2 * SCALE)).cast(pl.Int64),
    )


def survivor_single(inputs: SurvivorInput, p: ParameterSet) -> dict:
    row = survivor_columns(single_row(inputs), p).row(0, named=True)
    return {"eligible": row["eligible"], "monthly_amount": row["monthly_amount"],
            "months_of_salary": row["months_of_salary_millionths"] / SCALE, "amount": row["amount"]}


register(Calculator(
    name="survivor",
    summary="Survivor allowance on a death: the monthly allowance per relative or the one-off allowance",
    description=__doc__,
    inputs=SurvivorInput,
    outputs=SurvivorOutput,
    compute=survivor_single,
    columns=survivor_columns,
))
