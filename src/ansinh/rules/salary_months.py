"""15. How many months of salary a benefit averages (the last months contributed before the leave or the end of
employment), as of the benefit's date: ``benefits.maternity.average_salary_months`` (6, Law 58/2014 Art 39(1)(a);
Law 41/2024 Art 59(1)(a)) and ``benefits.unemployment.average_salary_months`` (6, Law 38/2013 Art 50(1); Law
74/2025 Art 39(1)). The benefits' records average the salaries of that many last months contributed
(``benefits.records.Record.average_of_last``)."""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.parameters import ParameterSet
from ansinh.rules.schemas import CalcInput, OnDate

PARAMETERS = {"maternity": "benefits.maternity.average_salary_months",
              "unemployment": "benefits.unemployment.average_salary_months"}


class SalaryMonthsInput(CalcInput):
    benefit: Literal["maternity", "unemployment"] = Field(description="maternity or unemployment.")
    on: OnDate = Field(description="Date of the birth or of the end of employment (YYYY-MM-DD).")


class SalaryMonthsOutput(BaseModel):
    months: int


def salary_months_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``benefit, on`` → ``months`` (each parameter looked up on its own rows only)."""
    months = pl.Series([None] * frame.height, dtype=pl.Int64)
    for benefit, name in PARAMETERS.items():
        rows = (frame["benefit"].cast(pl.Utf8) == benefit).arg_true()
        if len(rows):
            months.scatter(rows, p[name].column(frame["on"].gather(rows)))
    return pl.DataFrame({"months": months})


def salary_months(benefit: str, on, p: ParameterSet) -> int:
    """The months averaged for ``benefit`` on a date."""
    return int(p[PARAMETERS[benefit]].at(on))


def salary_months_single(inputs: SalaryMonthsInput, p: ParameterSet) -> dict:
    return salary_months_columns(single_row(inputs), p).row(0, named=True)


register(Calculator(
    name="salary-months",
    summary="Months of salary averaged for a maternity or unemployment benefit, as of its date",
    description=__doc__,
    inputs=SalaryMonthsInput,
    outputs=SalaryMonthsOutput,
    compute=salary_months_single,
    columns=salary_months_columns,
))
