"""2. Voluntary social insurance: what a participant owes for a payment period, and the State's and the
province's support.

- The participant chooses a monthly income between the floor and the cap in force on the date:
  floor = ``voluntary.rural_poverty_line``; cap = ``voluntary.income_cap_base_salary_multiple`` × base salary
  (the reference level from 2025-07-01, equal to the base salary). An income outside the band is refused
  (``income``), naming the accepted range on that date.
- Monthly contribution = ``voluntary.contribution_rate`` (22%) × chosen income.
- State support per month = ``voluntary.state_support_rate`` of the participant's group × 22% × rural poverty
  line: the support is reckoned on the poverty line, never on the chosen income (Decree 134/2015 Art 14,
  Decree 159/2025 Art 5). Decree 134/2015 had no ethnic-minority or island group: those get the 'other' rate
  until 2025-06-30 (the parameter holds a value for every group in every period).
- Province support per month = the province's rate for the participant's group on the date × 22% × rural
  poverty line, at most what the State leaves to pay. The rate is a dated parameter per province
  (``voluntary.local_support.<province code>``, a People's Council resolution: Sơn La's, code 14, +10% for poor,
  near-poor and ethnic-minority participants from 2023-01-01); a province without one gives 0
  (:mod:`ansinh.rules.local_support`). ``province_support_pct``, when given, replaces it (a what-if, in percent).
- Months paid at once: one of ``voluntary.payment_period_months`` (1, 3, 6 or 12).

Rounding: each monthly amount is rounded to the dong, halves up, on its own (the State support directly from
the exact product rate × 22% × poverty line); the period amounts are the monthly amounts × months, and
payable = due − State support − province support, never below 0.

Not modelled, and why:
- the 120-month limit on support (``voluntary.support_max_months``, reported as ``support_month_limit``): it
  depends on the person's history, which the caller (the collection domain) tracks;
- paying several years ahead (discounted) or the missing period at once (compounded): both use the SI fund's
  average monthly investment rate of the previous year, which VSS publishes and no source found gives;
- the transition of Decree 159/2025 Art 16(5) (a 3/6/12-month cycle that straddles 2025-07-01 keeps the old
  support until it ends): the caller asks with the date the cycle started.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.errors import ValidationFailed
from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.local_support import VOLUNTARY, local_support_column
from ansinh.rules.money import apply_ratio_expr
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.schemas import CalcInput, OnDate, PositiveMoney

VoluntaryGroup = Literal["poor", "near_poor", "ethnic_minority", "island", "other"]
#: A percentage in millionths (the unit of ratio columns).
_PERCENT = SCALE // 100


class VoluntaryInput(CalcInput):
    income: PositiveMoney = Field(description="Monthly income the participant chooses as the basis of contributions, "
                                              "in dong (between the rural poverty line and 20 × base salary).")
    on: OnDate
    group: VoluntaryGroup = Field("other", description="Support group: poor or near_poor household, ethnic_minority, "
                                                       "island (island commune or special zone), other.")
    months: int = Field(1, ge=1, le=12, description="Months paid at once: 1, 3, 6 or 12.")
    province: str | None = Field(None, pattern=r"^[0-9A-Za-z]{1,8}$",
                                 description="Code of the province where the participant lives (two digits, e.g. 14 "
                                             "for Sơn La): its own support by group, as in force on the date.")
    province_support_pct: int | None = Field(None, ge=0, le=100,
                                             description="Extra support of the province, in percent of the same base "
                                                         "as the State's (22% × rural poverty line); when given, "
                                                         "used instead of the province's resolution.")


class VoluntaryOutput(BaseModel):
    due: int
    state_support: int
    province_support: int
    payable: int
    months: int
    monthly_due: int
    monthly_state_support: int
    monthly_province_support: int
    support_base: int
    state_support_rate: float
    province_support_rate: float
    income_floor: int
    income_cap: int
    support_month_limit: int


def _first(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


def _check_months(frame: pl.DataFrame, p: ParameterSet) -> None:
    """Every row's ``months`` is a payment period in force on its date (checked once per distinct pair)."""
    modes = p["voluntary.payment_period_months"]
    pairs = frame.select(pl.col("on").cast(pl.Date), pl.col("months").cast(pl.Int64)).unique().sort("on", "months")
    on, months = pairs["on"], pairs["months"]
    allowed = pl.Series([False] * pairs.height)
    for key in modes.keys:
        allowed = allowed | (months == modes.column(on, pl.Series([key]).new_from_index(0, pairs.height)))
    if not allowed.all():
        row = _first(~allowed)
        day = on[row]
        accepted = sorted(set(modes.at(day).values()))
        raise ValidationFailed("months", "Months paid at once must be one of {accepted} on {date}; got {months}.",
                               accepted=", ".join(str(a) for a in accepted), date=day.isoformat(),
                               months=str(months[row]))


def province_rate(frame: pl.DataFrame, p: ParameterSet) -> pl.Series:
    """Per row, the province's support rate in millionths: ``province_support_pct`` where given, else the
    dated support of the row's ``province`` for its group (0 without a province or a resolution)."""
    height = frame.height
    null = pl.Series([None] * height)
    province = (frame["province"] if "province" in frame.columns else null).cast(pl.String)
    given = (frame["province_support_pct"] if "province_support_pct" in frame.columns else null).cast(pl.Int64)
    dated = local_support_column(p, VOLUNTARY, frame["on"], province, frame["group"])
    return (given * _PERCENT).fill_null(dated).rename("province_rate")


def voluntary_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``income, on, group, months`` and optionally ``province`` (code; null = none) and
    ``province_support_pct`` (null = the province's dated support) → the period's amounts."""
    on, group = frame["on"], frame["group"]
    base = p["salary.base_salary"].column(on)
    floor = p["voluntary.rural_poverty_line"].column(on)
    rate = p["voluntary.contribution_rate"].column(on)
    cap = (base * p["voluntary.income_cap_base_salary_multiple"].column(on)) // SCALE
    support_rate = p["voluntary.state_support_rate"].column(on, group, field_name="group")
    limit = p["voluntary.support_max_months"].column(on)
    _check_months(frame, p)
    income = frame["income"].cast(pl.Int64)
    outside = (income < floor) | (income > cap)
    if outside.any():
        row = _first(outside)
        raise ValidationFailed("income", "The chosen monthly income must be between {floor} and {cap} dong on {date}; "
                               "got {income}.", floor=int(floor[row]), cap=int(cap[row]),
                               date=on[row], income=int(income[row]))  # written by the reader's language
    work = pl.DataFrame({
        "income": income, "months": frame["months"].cast(pl.Int64), "floor": floor, "cap": cap, "rate": rate,
        "support_rate": support_rate, "province_rate": province_rate(frame, p), "limit": limit,
    })
    exact = SCALE * SCALE
    work = work.with_columns(
        monthly_due=apply_ratio_expr(pl.col("income"), pl.col("rate")),
        support_base=apply_ratio_expr(pl.col("floor"), pl.col("rate")),
        state_exact=(pl.col("floor") * pl.col("rate") * pl.col("support_rate") + exact // 2) // exact,
        province_exact=(pl.col("floor") * pl.col("rate") * pl.col("province_rate") + exact // 2) // exact,
    )
    work = work.with_columns(monthly_state_support=pl.min_horizontal("state_exact", "monthly_due"))
    work = work.with_columns(monthly_province_support=pl.min_horizontal(
        "province_exact", pl.col("monthly_due") - pl.col("monthly_state_support")))
    months = pl.col("months")
    return work.select(
        due=pl.col("monthly_due") * months,
        state_support=pl.col("monthly_state_support") * months,
        province_support=pl.col("monthly_province_support") * months,
        payable=(pl.col("monthly_due") - pl.col("monthly_state_support") - pl.col("monthly_province_support")) * months,
        months=months,
        monthly_due=pl.col("monthly_due"),
        monthly_state_support=pl.col("monthly_state_support"),
        monthly_province_support=pl.col("monthly_province_support"),
        support_base=pl.col("support_base"),
        state_support_rate=pl.col("support_rate"),
        province_support_rate=pl.col("province_rate"),
        income_floor=pl.col("floor"),
        income_cap=pl.col("cap"),
        support_month_limit=pl.col("limit"),
    )


def voluntary_single(inputs: VoluntaryInput, p: ParameterSet) -> dict:
    row = voluntary_columns(single_row(inputs), p).row(0, named=True)
    return {**row, "state_support_rate": row["state_support_rate"] / SCALE,
            "province_support_rate": row["province_support_rate"] / SCALE}


register(Calculator(
    name="voluntary",
    summary="Voluntary social insurance for a payment period, with State and province support",
    description=__doc__,
    inputs=VoluntaryInput,
    outputs=VoluntaryOutput,
    compute=voluntary_single,
    columns=voluntary_columns,
))
