"""1. Compulsory contributions for a worker and month.

Insured salary per scheme, after floor and caps:

- social insurance (retirement, sickness-maternity, occupational funds): at least the floor, at most
  ``contributions.si_salary_cap_multiple`` × base salary (the reference level from 2025-07-01);
- health insurance: the same floor, at most ``contributions.hi_salary_cap_multiple`` × base salary;
- unemployment insurance: the same floor, at most (multiple × base salary) + (multiple × regional minimum
  wage), the multiples depending on sector and date (Law 38/2013 Art 58; Law 74/2025 Art 34(2));
- the floor is (multiple × regional minimum wage) + (multiple × base salary), by sector and date.

A salary under the floor is raised to it (contributions are never computed on less). Each fund and payer
amount is the insured salary times its rate, rounded to the dong halves up; totals are sums of the rounded
amounts. The 0.3% occupational rate of eligible employers is not modelled.
"""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, Field

from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import apply_ratio_expr
from ansinh.rules.parameters import DateIndex, ParameterSet
from ansinh.rules.schemas import CalcInput, Money, OnDate, Region, Sector

FUNDS = ("retirement", "sickness_maternity", "occupational", "health", "unemployment")
PAYERS = ("employer", "employee")
#: Which insured salary each fund is a share of.
FUND_BASE = {"retirement": "si", "sickness_maternity": "si", "occupational": "si", "health": "hi",
             "unemployment": "ui"}


class ContributionsInput(CalcInput):
    salary: Money = Field(description="Monthly salary declared for insurance, in dong.")
    on: OnDate
    region: Region = Field(description="Minimum-wage region of the workplace: I, II, III or IV.")
    sector: Sector = Field("private", description="private: employer-set pay; state: pay set by the State.")


class InsuredSalary(BaseModel):
    si: int
    hi: int
    ui: int


class PayerShares(BaseModel):
    retirement: int
    sickness_maternity: int
    occupational: int
    health: int
    unemployment: int
    total: int


class ContributionsOutput(BaseModel):
    insured_salary: InsuredSalary
    employer: PayerShares
    employee: PayerShares
    total: int


def _multiple_of(amount: pl.Series, multiple_millionths: pl.Series) -> pl.Series:
    return (amount * multiple_millionths) // 1_000_000


def contributions_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``salary, on, region, sector`` → insured salaries and every fund and payer amount."""
    on = DateIndex.of(frame["on"])  # prepared once for every lookup below
    # Keys encoded once for all the mapping lookups below.
    region = p["salary.regional_minimum_wage"].encode_keys(frame["region"], "region")
    sector = p["contributions.ui_salary_cap_base_salary_multiple"].encode_keys(frame["sector"], "sector")
    base = p["salary.base_salary"].column(on)
    minimum = p["salary.regional_minimum_wage"].column(on, region)
    floor = (_multiple_of(minimum, p["contributions.salary_floor_minimum_wage_multiple"].column(on, sector))
             + _multiple_of(base, p["contributions.salary_floor_base_salary_multiple"].column(on, sector)))
    si_cap = _multiple_of(base, p["contributions.si_salary_cap_multiple"].column(on))
    hi_cap = _multiple_of(base, p["contributions.hi_salary_cap_multiple"].column(on))
    ui_cap = (_multiple_of(base, p["contributions.ui_salary_cap_base_salary_multiple"].column(on, sector))
              + _multiple_of(minimum, p["contributions.ui_salary_cap_minimum_wage_multiple"].column(on, sector)))
    salary = pl.col("salary").cast(pl.Int64)
    work = frame.select(salary.alias("salary")).with_columns(
        floor=floor, si_cap=si_cap, hi_cap=hi_cap, ui_cap=ui_cap,
        **{f"rate_{payer}_{fund}": p[f"contributions.{payer}.{fund}"].column(on) for payer in PAYERS for fund in FUNDS},
    )
    work = work.with_columns(
        insured_si=pl.max_horizontal("salary", "floor").clip(upper_bound=pl.col("si_cap")),
        insured_hi=pl.max_horizontal("salary", "floor").clip(upper_bound=pl.col("hi_cap")),
        insured_ui=pl.max_horizontal("salary", "floor").clip(upper_bound=pl.col("ui_cap")),
    )
    work = work.with_columns(**{
        f"{payer}_{fund}": apply_ratio_expr(pl.col(f"insured_{FUND_BASE[fund]}"), pl.col(f"rate_{payer}_{fund}"))
        for payer in PAYERS for fund in FUNDS
    })
    work = work.with_columns(**{f"{payer}_total": pl.sum_horizontal(*(f"{payer}_{fund}" for fund in FUNDS))
                                for payer in PAYERS})
    return work.select(
        "insured_si", "insured_hi", "insured_ui",
        *(f"{payer}_{fund}" for payer in PAYERS for fund in (*FUNDS, "total")),
        total=pl.col("employer_total") + pl.col("employee_total"),
    )


def contributions_single(inputs: ContributionsInput, p: ParameterSet) -> dict:
    row = contributions_columns(single_row(inputs), p).row(0, named=True)
    return {
        "insured_salary": {"si": row["insured_si"], "hi": row["insured_hi"], "ui": row["insured_ui"]},
        **{payer: {key: row[f"{payer}_{key}"] for key in (*FUNDS, "total")} for payer in PAYERS},
        "total": row["total"],
    }


register(Calculator(
    name="contributions",
    summary="Compulsory contributions for one worker and month",
    description=__doc__,
    inputs=ContributionsInput,
    outputs=ContributionsOutput,
    compute=contributions_single,
    columns=contributions_columns,
))
