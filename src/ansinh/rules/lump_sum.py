"""7. Lump-sum withdrawal of social insurance (BHXH một lần), as of the date of the claim.

Months of average insured salary (Law 58/2014 Art 60(2); Law 41/2024 Art 70(3)):

- ``benefits.lump_sum.months_per_year_before_2014`` (1.5) per year of contributions before 2014 and
  ``months_per_year_from_2014`` (2) per year from 2014;
- each period is counted in half years: 1 to ``benefits.partial_year_half_max_months`` (6) odd months are half a
  year, 7 to 11 a whole year;
- when there is time both before and from 2014, the odd months before 2014 are carried into the period from 2014
  (Law 41/2024 Art 70(3)(a) second paragraph; the same practice under Law 58/2014, Circular 59/2015/TT-BLĐTBXH);
  with time only before 2014 its odd months are rounded in that period;
- under one year of contributions in all (fewer than 12 months): the amount paid, at most
  ``max_months_under_one_year`` (2) months of average salary (Art 60(2)(c) / Art 70(3)(c)). The amount paid is
  taken as the compulsory retirement-fund rate in force on the claim date (``contributions.employee.retirement``
  + ``contributions.employer.retirement`` = 8% + 14% = 22%, the rate voluntary members pay too) × months ×
  average salary, i.e. as if every month was paid on the average salary at today's rate (the real record of
  what was paid is not an input). So ``months_of_salary`` = min(2, 0.22 × months).

``amount`` = months_of_salary × average_salary, rounded to the dong, halves up (computed exactly, once).
State support to voluntary contributions (excluded from the lump sum except for grave illness, Art 70(4)) is
not an input: ``average_salary`` is the (CPI-adjusted) average the agency computed.
"""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, Field

from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import scaled_product
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.pension import MONTHS_PER_YEAR, half_years
from ansinh.rules.schemas import BenefitSalary, CalcInput, OnDate


class LumpSumInput(CalcInput):
    months_before_2014: int = Field(ge=0, le=1200, description="Months of contributions before 2014-01-01.")
    months_from_2014: int = Field(ge=0, le=1200, description="Months of contributions from 2014-01-01.")
    average_salary: BenefitSalary = Field(description="Average monthly insured salary (adjusted), in dong.")
    on: OnDate


class LumpSumOutput(BaseModel):
    months_of_salary: float = Field(description="The lump sum in months of average salary (e.g. 21.5).")
    amount: int = Field(description="The lump sum in dong.")


def lump_sum_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``months_before_2014, months_from_2014, average_salary, on`` → ``months_of_salary_millionths``
    (exact: 21500000 = 21.5 months) and ``amount``."""
    on = frame["on"]
    before = frame["months_before_2014"].cast(pl.Int64)
    after = frame["months_from_2014"].cast(pl.Int64)
    total = before + after
    # The amount paid is only needed for the rows with under a year; its rates are looked up on those rows alone
    # (so that a claim outside the contribution rates' dates is only refused when the rates are needed).
    under = total < MONTHS_PER_YEAR
    paid_rate = pl.zeros(frame.height, dtype=pl.Int64, eager=True)
    rows = under.arg_true()
    if len(rows):
        under_on = on.gather(rows)
        paid_rate.scatter(rows, p["contributions.employee.retirement"].column(under_on)
                          + p["contributions.employer.retirement"].column(under_on))
    work = pl.DataFrame({"before": before, "after": after, "total": total, "under": under, "paid_rate": paid_rate,
                         "salary": frame["average_salary"].cast(pl.Int64)}).with_columns(
        half_max=p["benefits.partial_year_half_max_months"].column(on),
        per_year_before=p["benefits.lump_sum.months_per_year_before_2014"].column(on),
        per_year_after=p["benefits.lump_sum.months_per_year_from_2014"].column(on),
        max_under=p["benefits.lump_sum.max_months_under_one_year"].column(on),
    )
    carried = pl.when((pl.col("before") > 0) & (pl.col("after") > 0)).then(pl.col("before") % MONTHS_PER_YEAR).otherwise(0)
    work = work.with_columns(
        halves_before=half_years(pl.col("before") - carried, pl.col("half_max")),
        halves_after=half_years(pl.col("after") + carried, pl.col("half_max")),
    )
    # Twice the months of salary, in millionths (a half year is half of a yearly multiple).
    regular_x2 = pl.col("halves_before") * pl.col("per_year_before") + pl.col("halves_after") * pl.col("per_year_after")
    under_x2 = 2 * pl.min_horizontal(pl.col("paid_rate") * pl.col("total"), pl.col("max_under"))
    work = work.with_columns(months_x2=pl.when(pl.col("under")).then(under_x2).otherwise(regular_x2))
    return work.select(
        months_of_salary_millionths=pl.col("months_x2") // 2,
        amount=scaled_product(pl.col("salary"), pl.col("months_x2"), 2 * SCALE),
    )


def lump_sum_single(inputs: LumpSumInput, p: ParameterSet) -> dict:
    row = lump_sum_columns(single_row(inputs), p).row(0, named=True)
    return {"months_of_salary": row["months_of_salary_millionths"] / SCALE, "amount": row["amount"]}


register(Calculator(
    name="lump-sum",
    summary="Lump-sum withdrawal of social insurance (months of average salary and amount), as of the claim date",
    description=__doc__,
    inputs=LumpSumInput,
    outputs=LumpSumOutput,
    compute=lump_sum_single,
    columns=lump_sum_columns,
))
