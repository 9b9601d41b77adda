"""10. Sickness and maternity benefits, as of the date of the leave or of the birth.

``sickness`` (Law 58/2014 Art 26, 28; Law 41/2024 Art 43, 45):

- days a year: ``benefits.sickness.days_per_year`` by whole years of compulsory contributions (30 under 15
  years, 40 for 15 to under 30, 60 for 30 or more), or ``days_per_year_hazardous`` (40 / 50 / 70) for heavy or
  hazardous work, or work in a hardship area;
- daily amount = ``benefit_rate`` (75%) × the insured salary of the month before the leave ÷ ``days_per_month``
  (24), rounded to the dong, halves up;
- amount = 75% × salary × days paid ÷ 24, computed exactly and rounded once (so it can differ from
  daily amount × days by less than a dong per day); days paid = min(days asked, days a year).
  Not modelled: days already taken this year, half days, long-term illness (Art 43(2), 45(3)), child care.

``maternity`` (Law 58/2014 Art 31, 34, 38, 39; Law 41/2024 Art 50, 53, 58, 59; Labour Code Art 139(1)):

- eligible with at least ``benefits.maternity.minimum_months`` (6) months of compulsory contributions in the 12
  months before the birth (Art 50(2)); the 3-month rule for prescribed rest in pregnancy (Art 50(3)) is not
  modelled;
- leave months by child order (``leave_months``: 6; 7 for a second child from 2026-07-01, Law on Population
  113/2025 Art 29(1)), plus ``extra_leave_months_per_additional_child`` (1) for each child after the first of a
  multiple birth; ``child_order`` is the order of the (first) child of this birth;
- leave pay = (``benefit_rate`` (100%) × average insured salary of the last 6 months, rounded to the dong) ×
  leave months;
- grant = ``birth_grant_base_salary_multiple`` (2) × base salary (= reference level, Law 41/2024 Art 141(13))
  of the month of birth, per child;
- total = leave pay + grant; not eligible: everything 0.
"""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, Field

from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import apply_ratio_expr, div_round_expr
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.schemas import BenefitSalary, CalcInput, OnDate

# --- sickness --------------------------------------------------------------------------------------

class SicknessInput(CalcInput):
    monthly_salary: BenefitSalary = Field(description="Insured salary of the month before the leave, in dong.")
    years_contributed: int = Field(ge=0, le=60, description="Whole years of compulsory social insurance.")
    hazardous: bool = Field(False, description="Heavy, hazardous or dangerous work, or work in a hardship area.")
    days: int = Field(0, ge=0, le=365, description="Working days of sick leave asked for.")
    on: OnDate = Field(description="Date of the leave (YYYY-MM-DD).")


class SicknessOutput(BaseModel):
    days_per_year: int
    days_paid: int
    daily_amount: int
    amount: int


def sickness_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``monthly_salary, years_contributed, hazardous, days, on`` → ``days_per_year, days_paid,
    daily_amount, amount``."""
    on = frame["on"]
    years = frame["years_contributed"].cast(pl.Int64)
    work = pl.DataFrame({
        "salary": frame["monthly_salary"].cast(pl.Int64),
        "days": frame["days"].cast(pl.Int64),
        "hazardous": frame["hazardous"].cast(pl.Boolean),
        "normal_days": p["benefits.sickness.days_per_year"].scale_column(on, years),
        "hazardous_days": p["benefits.sickness.days_per_year_hazardous"].scale_column(on, years),
        "rate": p["benefits.sickness.benefit_rate"].column(on),
        "per_month": p["benefits.sickness.days_per_month"].column(on),
    })
    work = work.with_columns(
        days_per_year=pl.when(pl.col("hazardous")).then(pl.col("hazardous_days")).otherwise(pl.col("normal_days")))
    work = work.with_columns(days_paid=pl.min_horizontal("days", "days_per_year"))
    monthly_benefit_millionths = pl.col("salary") * pl.col("rate")
    return work.select(
        "days_per_year", "days_paid",
        daily_amount=div_round_expr(monthly_benefit_millionths, pl.col("per_month") * SCALE),
        amount=div_round_expr(monthly_benefit_millionths * pl.col("days_paid"), pl.col("per_month") * SCALE),
    )


def sickness_single(inputs: SicknessInput, p: ParameterSet) -> dict:
    return sickness_columns(single_row(inputs), p).row(0, named=True)


register(Calculator(
    name="sickness",
    summary="Sickness benefit: days a year, daily amount and amount for the days asked, as of the leave date",
    description=__doc__,
    inputs=SicknessInput,
    outputs=SicknessOutput,
    compute=sickness_single,
    columns=sickness_columns,
))


# --- maternity -------------------------------------------------------------------------------------

class MaternityInput(CalcInput):
    average_salary: BenefitSalary = Field(description="Average insured salary of the last 6 months, in dong.")
    months_contributed_last_12: int = Field(ge=0, le=12, description="Months of compulsory social insurance in "
                                                                     "the 12 months before the birth.")
    on: OnDate = Field(description="Date of birth (YYYY-MM-DD).")
    child_order: int = Field(1, ge=1, le=20, description="Order of the (first) child of this birth: 1, 2, ...")
    children: int = Field(1, ge=1, le=10, description="Number of children born.")


class MaternityOutput(BaseModel):
    eligible: bool
    leave_months: int
    monthly_benefit: int
    leave_pay: int
    grant: int
    total: int


def maternity_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``average_salary, months_contributed_last_12, on, child_order, children`` → ``eligible,
    leave_months, monthly_benefit, leave_pay, grant, total``."""
    on = frame["on"]
    order = frame["child_order"].cast(pl.Int64)
    order_key = pl.select(pl.when(order == 1).then(pl.lit("first")).when(order == 2).then(pl.lit("second"))
                          .otherwise(pl.lit("third_or_later"))).to_series()
    leave = p["benefits.maternity.leave_months"]
    work = pl.DataFrame({
        "salary": frame["average_salary"].cast(pl.Int64),
        "months": frame["months_contributed_last_12"].cast(pl.Int64),
        "children": frame["children"].cast(pl.Int64),
        "minimum": p["benefits.maternity.minimum_months"].column(on),
        "leave": leave.column(on, leave.encode_keys(order_key, "child_order")),
        "extra": p["benefits.maternity.extra_leave_months_per_additional_child"].column(on),
        "rate": p["benefits.maternity.benefit_rate"].column(on),
        "grant_multiple": p["benefits.maternity.birth_grant_base_salary_multiple"].column(on),
        "base_salary": p["salary.base_salary"].column(on),
    })
    eligible = pl.col("months") >= pl.col("minimum")
    work = work.with_columns(
        eligible=eligible,
        leave_months=pl.when(eligible).then(pl.col("leave") + pl.col("extra") * (pl.col("children") - 1)).otherwise(0),
        monthly_benefit=pl.when(eligible).then(apply_ratio_expr(pl.col("salary"), pl.col("rate"))).otherwise(0),
        grant=pl.when(eligible)
        .then(div_round_expr(pl.col("base_salary") * pl.col("grant_multiple"), SCALE) * pl.col("children")).otherwise(0),
    )
    work = work.with_columns(leave_pay=pl.col("monthly_benefit") * pl.col("leave_months"))
    return work.select(
        "eligible",
        pl.col("leave_months").cast(pl.Int64), pl.col("monthly_benefit").cast(pl.Int64),
        pl.col("leave_pay").cast(pl.Int64), pl.col("grant").cast(pl.Int64),
        total=(pl.col("leave_pay") + pl.col("grant")).cast(pl.Int64),
    )


def maternity_single(inputs: MaternityInput, p: ParameterSet) -> dict:
    return maternity_columns(single_row(inputs), p).row(0, named=True)


register(Calculator(
    name="maternity",
    summary="Maternity benefit for a birth: leave months, leave pay and birth grant, as of the date of birth",
    description=__doc__,
    inputs=MaternityInput,
    outputs=MaternityOutput,
    compute=maternity_single,
    columns=maternity_columns,
))
