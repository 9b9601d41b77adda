"""12. Revaluation of past insured salaries and voluntary incomes (điều chỉnh tiền lương, thu nhập đã đóng BHXH).

The salaries (and voluntary incomes) of past years are revalued before they are averaged for a pension, a lump
sum or a one-off survivor allowance: each month's salary times the coefficient of its year of contribution in the
table in force on the date of the benefit, ``benefits.salary_revaluation`` (Law 41/2024 Art 72(3), 104; Law 58/2014
Art 63, 79; the Ministry's yearly circular, e.g. Circular 01/2025/TT-BLĐTBXH for benefits settled in 2025). The
table is a scale on the year: the years before 1995 share one coefficient; a year later than the table's last takes
that last coefficient (1.00).

``revalued`` = salary × coefficient rounded to the dong, halves up. The average revalued salary of a record is the
sum of the months' revalued salaries divided by the months (``benefits.records``).
"""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, Field

from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import apply_ratio_expr, ratio_floats
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.schemas import BenefitSalary, CalcInput, OnDate

REVALUATION = "benefits.salary_revaluation"


class RevaluationInput(CalcInput):
    salary: BenefitSalary = Field(description="Monthly insured salary (or voluntary income) of that year, in dong.")
    year: int = Field(ge=1960, le=2100, description="Year of contribution.")
    on: OnDate = Field(description="Date of the benefit (YYYY-MM-DD).")


class RevaluationOutput(BaseModel):
    coefficient: float
    revalued: int


def coefficients(on: pl.Series, years: pl.Series, p: ParameterSet) -> pl.Series:
    """The coefficient (millionths) of each row's year of contribution, in the table in force on its date."""
    return p[REVALUATION].scale_column(on, years.cast(pl.Int64))


def revaluation_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``salary, year, on`` → ``coefficient_millionths, revalued``."""
    coefficient = coefficients(frame["on"], frame["year"], p)
    return pl.DataFrame({"salary": frame["salary"].cast(pl.Int64), "c": coefficient}).select(
        coefficient_millionths="c", revalued=apply_ratio_expr(pl.col("salary"), pl.col("c")))


def revaluation_single(inputs: RevaluationInput, p: ParameterSet) -> dict:
    row = revaluation_columns(single_row(inputs), p)
    return {"coefficient": ratio_floats(row["coefficient_millionths"], SCALE)[0], "revalued": row["revalued"][0]}


register(Calculator(
    name="salary-revaluation",
    summary="Revaluation of a past year's insured salary or voluntary income, as of the date of the benefit",
    description=__doc__,
    inputs=RevaluationInput,
    outputs=RevaluationOutput,
    compute=revaluation_single,
    columns=revaluation_columns,
))
