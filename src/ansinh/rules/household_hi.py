"""3. Household health insurance: what each member of a household enrolling together pays for a year.

The first member pays ``health_insurance.base_salary_contribution_rate`` (4.5%) of the base salary per month;
each further member pays a share of the first member's amount by his or her order in the household,
``health_insurance.household_member_share``: 70% for the 2nd, 60% for the 3rd, 50% for the 4th, 40% from the 5th
(Decree 146/2018 Art 7(1)(e); kept by Decree 188/2025 from 2025-08-15).

Rounding, explicitly: (1) the first member's monthly amount = 4.5% × base salary, rounded to the dong (halves
up); (2) each member's monthly amount = his or her share × that rounded amount, rounded to the dong on its own;
(3) each member's annual amount = 12 × the monthly amount; the household total is the sum of the members'
annual amounts. (With every base salary so far all these products are whole dong, so the rounding never
changes a figure; it is fixed here so that it stays deterministic if that ever changes.)

Province support: a province may pay part of each member's contribution from its own budget (a People's
Council resolution), a dated parameter per province, ``health_insurance.household_local_support.<province code>``
(a ratio of each member's monthly amount; :mod:`ansinh.rules.local_support`). No province's resolution is recorded
yet, so every province gives 0 until its file is added. Each member's monthly support = that ratio × the
member's monthly amount, rounded to the dong on its own; the household pays the rest (``member_payable``,
``total_payable_annual``).

Columns form: one row per household (``members``, ``on``, optionally ``province``). Households of the same
size on the same date with the same province support pay the same, so each distinct (date, size, support) is
computed once: it is exploded into one row per member (order 1..members), the shares are looked up for the
whole exploded column at once, the members are gathered back into list columns (``member_monthly``,
``member_annual``, ...), and every household gets the row of its (date, size, support). No Python code runs per
row.
"""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, Field

from ansinh.errors import ValidationFailed
from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.local_support import HOUSEHOLD_HI, local_support_column
from ansinh.rules.money import apply_ratio_expr
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.schemas import CalcInput, OnDate

#: Calendar months in a year: the annual amount is twelve monthly amounts (a calendar fact, not a legal figure).
MONTHS_PER_YEAR = 12
#: The largest household the calculator accepts (a limit of the tool, not of the law).
MAX_MEMBERS = 20


class HouseholdHIInput(CalcInput):
    members: int = Field(ge=1, le=MAX_MEMBERS, description="Number of household members enrolling together (1 to 20).")
    on: OnDate
    province: str | None = Field(None, pattern=r"^[0-9A-Za-z]{1,8}$",
                                 description="Code of the province where the household lives (two digits): its own "
                                             "support, as in force on the date.")


class MemberAmount(BaseModel):
    order: int
    monthly: int
    annual: int
    monthly_province_support: int
    monthly_payable: int


class HouseholdHIOutput(BaseModel):
    members: list[MemberAmount]
    first_member_monthly: int
    total_monthly: int
    total_annual: int
    province_support_rate: float
    total_province_support_annual: int
    total_payable_annual: int


def household_hi_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``members, on`` (and optionally ``province``, a code; null = none) → one row per household:
    ``first_member_monthly``, ``member_monthly``, ``member_annual``, ``member_province_support`` and
    ``member_payable`` (monthly; lists, in the order of the members), ``total_monthly``, ``total_annual``,
    ``province_support_rate`` (millionths), ``total_province_support_annual``, ``total_payable_annual``."""
    on = frame["on"].cast(pl.Date)
    members = frame["members"].cast(pl.Int64)
    if frame.height and members.min() < 1:
        raise ValidationFailed("members", "A household has at least 1 member; got {members}.",
                               members=str(members.min()))
    province = (frame["province"] if "province" in frame.columns else pl.Series([None] * frame.height))
    local = local_support_column(p, HOUSEHOLD_HI, on, province.cast(pl.String))
    # Households with the same date, size and province support pay the same: compute each distinct triple once,
    # then hand each household the row of its triple.
    keys = pl.DataFrame({"on": on, "members": members, "local": local})
    distinct = keys.unique().sort("on", "members", "local").with_row_index("key")
    position = keys.join(distinct, on=["on", "members", "local"], how="left", maintain_order="left")["key"]
    base = p["salary.base_salary"].column(distinct["on"])
    rate = p["health_insurance.base_salary_contribution_rate"].column(distinct["on"])
    distinct = distinct.with_columns(first=apply_ratio_expr(base, rate))
    people = distinct.select("key", "on", "first", "local", order=pl.int_ranges(1, pl.col("members") + 1)) \
        .explode("order")
    share = p["health_insurance.household_member_share"].scale_column(people["on"], people["order"], field_name="on")
    people = people.with_columns(share=share).with_columns(monthly=apply_ratio_expr(pl.col("first"), pl.col("share")))
    people = people.with_columns(annual=pl.col("monthly") * MONTHS_PER_YEAR,
                                 support=apply_ratio_expr(pl.col("monthly"), pl.col("local")))
    people = people.with_columns(payable=pl.col("monthly") - pl.col("support"))
    grouped = people.group_by("key", maintain_order=True).agg(
        first_member_monthly=pl.col("first").first(), member_monthly=pl.col("monthly"),
        member_annual=pl.col("annual"), member_province_support=pl.col("support"),
        member_payable=pl.col("payable"), total_monthly=pl.col("monthly").sum(), total_annual=pl.col("annual").sum(),
        province_support_rate=pl.col("local").first(),
        total_province_support_annual=pl.col("support").sum() * MONTHS_PER_YEAR,
        total_payable_annual=pl.col("payable").sum() * MONTHS_PER_YEAR,
    ).sort("key")
    return grouped.drop("key")[position]


def household_hi_single(inputs: HouseholdHIInput, p: ParameterSet) -> dict:
    row = household_hi_columns(single_row(inputs), p).row(0, named=True)
    amounts = zip(row["member_monthly"], row["member_annual"], row["member_province_support"], row["member_payable"])
    return {
        "members": [{"order": order, "monthly": monthly, "annual": annual, "monthly_province_support": support,
                     "monthly_payable": payable}
                    for order, (monthly, annual, support, payable) in enumerate(amounts, 1)],
        "first_member_monthly": row["first_member_monthly"],
        "total_monthly": row["total_monthly"],
        "total_annual": row["total_annual"],
        "province_support_rate": row["province_support_rate"] / SCALE,
        "total_province_support_annual": row["total_province_support_annual"],
        "total_payable_annual": row["total_payable_annual"],
    }


register(Calculator(
    name="household-hi",
    summary="Household health insurance: each member's annual contribution",
    description=__doc__,
    inputs=HouseholdHIInput,
    outputs=HouseholdHIOutput,
    compute=household_hi_single,
    columns=household_hi_columns,
))
