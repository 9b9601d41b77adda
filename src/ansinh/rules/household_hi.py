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

Columns form: one row per household (``members``, ``on``). Households of the same size on the same date pay the
same, so each distinct (date, size) is computed once: it is exploded into one row per member (order
1..members), the shares are looked up for the whole exploded column at once, the members are gathered back
into list columns (``member_monthly``, ``member_annual``), and every household gets the row of its (date, size).
No Python code runs per row.
"""

from __future__ import annotations

import polars as pl
from pydantic import BaseModel, Field

from ansinh.errors import ValidationFailed
from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import apply_ratio_expr
from ansinh.rules.parameters import ParameterSet
from ansinh.rules.schemas import CalcInput, OnDate

#: Calendar months in a year: the annual amount is twelve monthly amounts (a calendar fact, not a legal figure).
MONTHS_PER_YEAR = 12
#: The largest household the calculator accepts (a limit of the tool, not of the law).
MAX_MEMBERS = 20
#: Packs (date, size) into one integer key: days after the earliest date × span + size (sizes stay far below it).
_CODE_SPAN = 1 << 32


class HouseholdHIInput(CalcInput):
    members: int = Field(ge=1, le=MAX_MEMBERS, description="Number of household members enrolling together (1 to 20).")
    on: OnDate


class MemberAmount(BaseModel):
    order: int
    monthly: int
    annual: int


class HouseholdHIOutput(BaseModel):
    members: list[MemberAmount]
    first_member_monthly: int
    total_monthly: int
    total_annual: int


def household_hi_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``members, on`` → one row per household: ``first_member_monthly``, ``member_monthly`` and
    ``member_annual`` (lists, in the order of the members), ``total_monthly``, ``total_annual``."""
    on = frame["on"]
    members = frame["members"].cast(pl.Int64)
    if frame.height and members.min() < 1:
        raise ValidationFailed("members", "A household has at least 1 member; got {members}.",
                               members=str(members.min()))
    # Households with the same date and size pay the same: compute each distinct (date, size) once, then hand
    # each household the row of its (date, size) by position.
    days = on.cast(pl.Date).cast(pl.Int64)
    first_day = days.min() if frame.height else 0
    code = (days - first_day) * _CODE_SPAN + members
    codes = code.unique().sort()
    position = codes.search_sorted(code)
    distinct = pl.DataFrame({"key": pl.int_range(0, codes.len(), eager=True, dtype=pl.Int64),
                             "on": (codes // _CODE_SPAN + first_day).cast(pl.Int32).cast(pl.Date),
                             "members": codes % _CODE_SPAN})
    base = p["salary.base_salary"].column(distinct["on"])
    rate = p["health_insurance.base_salary_contribution_rate"].column(distinct["on"])
    distinct = distinct.with_columns(first=apply_ratio_expr(base, rate))
    people = distinct.select("key", "on", "first", order=pl.int_ranges(1, pl.col("members") + 1)).explode("order")
    share = p["health_insurance.household_member_share"].scale_column(people["on"], people["order"], field_name="on")
    people = people.with_columns(share=share).with_columns(monthly=apply_ratio_expr(pl.col("first"), pl.col("share")))
    people = people.with_columns(annual=pl.col("monthly") * MONTHS_PER_YEAR)
    grouped = people.group_by("key", maintain_order=True).agg(
        first_member_monthly=pl.col("first").first(), member_monthly=pl.col("monthly"),
        member_annual=pl.col("annual"), total_monthly=pl.col("monthly").sum(), total_annual=pl.col("annual").sum(),
    )
    return grouped.drop("key")[position]


def household_hi_single(inputs: HouseholdHIInput, p: ParameterSet) -> dict:
    row = household_hi_columns(single_row(inputs), p).row(0, named=True)
    return {
        "members": [{"order": order, "monthly": monthly, "annual": annual}
                    for order, (monthly, annual) in enumerate(zip(row["member_monthly"], row["member_annual"]), 1)],
        "first_member_monthly": row["first_member_monthly"],
        "total_monthly": row["total_monthly"],
        "total_annual": row["total_annual"],
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
