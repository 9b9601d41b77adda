"""11. Pension age (tuổi nghỉ hưu) by sex and date of birth, on the 2021-2035 roadmap.

``benefits.pension.age_months`` is the age (in months) a person must reach, by the year they reach it: 60 years for
men and 55 for women until 2020; from 2021 men 60 years 3 months and 3 months more each year up to 62 in 2028, women
55 years 4 months and 4 months more each year up to 60 in 2035 (Labour Code 45/2019/QH14 Art 169(2); Decree
135/2020/NĐ-CP Art 4). A person reaches the pension age on the first day ``d`` on which their age is at least the
age in force on ``d``: the day they turn the age of the year they turn it (the ages only grow, so that day is the
fixed point of ``d = birth + age(d)``, found in as many steps as there are dated entries at most).

Reduced working capacity (Law 58/2014 Art 55(1)(a) as amended by the Labour Code 2019; Law 41/2024 Art 65(1)(a)):
with a loss of at least ``reduced_capacity_min_share`` (61%), a pension may start up to
``reduced_capacity_max_months_early`` (60) months before the pension age: ``earliest_on``. ``months_early`` is the
months from ``on`` (the retirement date) to the pension age, when the person retires before it and may (0 at or
after the pension age). ``reached``: ``on`` is at or after the pension age, or at or after ``earliest_on`` with the
reduced capacity.

Ages are whole months added to the date of birth (a 31st becomes the month's last day).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.pension import MONTHS_PER_YEAR
from ansinh.rules.schemas import CalcInput, OnDate

AGE = "benefits.pension.age_months"
#: Dates of birth the calculation accepts (keeps every date it computes inside the calendar).
BORN_FROM, BORN_TO = date(1900, 1, 1), date(2100, 12, 31)


class PensionAgeInput(CalcInput):
    sex: Literal["male", "female"] = Field(description="male or female.")
    date_of_birth: date = Field(ge=BORN_FROM, le=BORN_TO, description="Date of birth (YYYY-MM-DD).")
    on: OnDate = Field(description="Retirement date asked about (YYYY-MM-DD).")
    incapacity_percent: int = Field(0, ge=0, le=100, description="Assessed loss of working capacity (%), 0 if none.")


class PensionAgeOutput(BaseModel):
    pension_age_years: int
    pension_age_months: int = Field(description="Months beyond the whole years of the pension age.")
    reached_on: date = Field(description="The day the person reaches the pension age.")
    earliest_on: date = Field(description="The earliest day a pension may start (reduced capacity), else reached_on.")
    reached: bool
    months_early: int


def _plus_months(born: pl.Expr, months: pl.Expr) -> pl.Expr:
    return born.dt.offset_by(pl.format("{}mo", months))


def month_index(day: pl.Expr) -> pl.Expr:
    """A date's month as a count of months (year × 12 + month − 1), to subtract months."""
    return day.dt.year().cast(pl.Int64) * MONTHS_PER_YEAR + day.dt.month().cast(pl.Int64) - 1


def pension_age_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``sex, date_of_birth, on[, incapacity_percent]`` → ``pension_age_months_total, reached_on,
    earliest_on, reached, months_early``."""
    age = p[AGE]
    sex = age.encode_keys(frame["sex"], "sex")
    born = frame["date_of_birth"].cast(pl.Date)
    on = frame["on"].cast(pl.Date)
    first = age.first_date
    probe = pl.Series([first] * frame.height, dtype=pl.Date)
    months = age.column(probe, sex, field_name="date_of_birth")
    for _ in range(len(age.values) + 1):
        reached_on = pl.DataFrame({"b": born, "m": months}).select(_plus_months(pl.col("b"), pl.col("m"))).to_series()
        probe = reached_on.clip(lower_bound=first)
        again = age.column(probe, sex, field_name="date_of_birth")
        if (again == months).all():
            break
        months = again
    work = pl.DataFrame({"born": born, "on": on, "months": months, "reached_on": reached_on,
                         "incapacity": (frame["incapacity_percent"].cast(pl.Int64) if "incapacity_percent" in frame.columns
                                        else pl.zeros(frame.height, dtype=pl.Int64, eager=True))})
    # The reduced-capacity rule is looked up only on the rows that claim a loss (it has no value before 2021).
    early_allowed = pl.zeros(frame.height, dtype=pl.Int64, eager=True)
    rows = (work["incapacity"] > 0).arg_true()
    if len(rows):
        dates = on.gather(rows)
        share = p["benefits.pension.reduced_capacity_min_share"].column(dates)
        allowed = p["benefits.pension.reduced_capacity_max_months_early"].column(dates)
        qualifies = work["incapacity"].gather(rows) * (SCALE // 100) >= share
        early_allowed.scatter(rows, pl.select(pl.when(qualifies).then(allowed).otherwise(0)).to_series())
    work = work.with_columns(early_allowed=early_allowed).with_columns(
        earliest_on=_plus_months(pl.col("born"), pl.col("months") - pl.col("early_allowed")))
    before = month_index(pl.col("reached_on")) - month_index(pl.col("on"))
    return work.select(
        pension_age_months_total=pl.col("months").cast(pl.Int64),
        reached_on="reached_on", earliest_on="earliest_on",
        reached=pl.col("on") >= pl.col("earliest_on"),
        months_early=pl.when((pl.col("on") < pl.col("reached_on")) & (pl.col("on") >= pl.col("earliest_on")))
        .then(before.clip(lower_bound=0)).otherwise(0).cast(pl.Int64),
    )


def pension_age_single(inputs: PensionAgeInput, p: ParameterSet) -> dict:
    row = pension_age_columns(single_row(inputs), p).row(0, named=True)
    total = row.pop("pension_age_months_total")
    return {"pension_age_years": total // MONTHS_PER_YEAR, "pension_age_months": total % MONTHS_PER_YEAR, **row}


register(Calculator(
    name="pension-age",
    summary="Pension age by sex and date of birth on the 2021-2035 roadmap, and whether it is reached on a date",
    description=__doc__,
    inputs=PensionAgeInput,
    outputs=PensionAgeOutput,
    compute=pension_age_single,
    columns=pension_age_columns,
))
