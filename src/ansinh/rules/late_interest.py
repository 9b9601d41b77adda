"""5. Interest on a late contribution payment (lãi chậm đóng).

Days late: the days after the due date (the deadline) up to and including the payment date, i.e. the days
``due + 1 … paid``. Paid on the deadline: 0 days late; paid the day after: 1 day late. A payment before the
due date is refused (``paid`` must be on or after ``due``).

Each day late is charged under the rule in force on that day, so a debt straddling 2025-07-01 is split:

- until 2025-06-30 (Law 58/2014 Art 122(3); Decision 595/QĐ-BHXH Art 37): interest =
  amount × ``late_payment.old_regime_rate_multiple`` (2) × the annual reference rate of the calendar year of
  each day (``late_payment.old_regime_reference_rate``: the social insurance fund's average investment rate of
  the previous year for si and ui, the interbank rate for hi) ÷ ``late_payment.old_regime_days_per_year``
  (365, a convention: VSS practice charges whole months at rate ÷ 12, which is the same over whole years) per
  day. No interest under this rule unless the debt is late by at least
  ``late_payment.old_regime_min_days_late`` (30) days in total (counted to the payment date, also across
  2025-07-01); then every old-rule day is charged.
- from 2025-07-01 (Law 41/2024 Art 40(1), 41(1), 141(12)): amount × ``late_payment.daily_rate`` (0.03%) per
  day late.

Rounding: the interest of each rule's segment is computed exactly (integer arithmetic over all its days and
yearly rates) and rounded to the dong, halves up; the total is the sum of the two rounded segments.

Columns: the calendar is cut at every date on which one of the parameters above changes (a dozen periods);
for each period the overlap of every row's late days with it is computed with date arithmetic on whole
columns, so the work grows with the number of periods, never with a loop over rows. Per rule, each row's
``Σ rate × days`` is an integer (the weights reduced by their common divisor with the denominator), multiplied
by the amount once: in Int64 when no product can overflow, in Int128 otherwise.
"""

from __future__ import annotations

from datetime import date, timedelta
from math import gcd, lcm
from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.errors import ValidationFailed
from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.parameters import SCALE, Parameter, ParameterSet
from ansinh.rules.schemas import CalcInput, PositiveMoney

DAILY_RATE = "late_payment.daily_rate"
OLD_MULTIPLE = "late_payment.old_regime_rate_multiple"
OLD_RATE = "late_payment.old_regime_reference_rate"
OLD_MIN_DAYS = "late_payment.old_regime_min_days_late"
OLD_DAYS_PER_YEAR = "late_payment.old_regime_days_per_year"
PARAMETERS = (DAILY_RATE, OLD_MULTIPLE, OLD_RATE, OLD_MIN_DAYS, OLD_DAYS_PER_YEAR)
_EPOCH = date(1970, 1, 1)
_I128 = pl.Int128

Fund = Literal["si", "ui", "hi"]


class LateInterestInput(CalcInput):
    amount: PositiveMoney = Field(description="The amount owed and paid late, in dong.")
    due: date = Field(description="The deadline: the last day on which the payment was on time (YYYY-MM-DD).")
    paid: date = Field(description="The day the amount was paid (YYYY-MM-DD), on or after the due date.")
    fund: Fund = Field("si", description="si: social insurance; ui: unemployment insurance; "
                                         "hi: health insurance.")


class LateInterestOutput(BaseModel):
    days_late: int
    interest: int
    old_regime_days: int
    old_regime_interest: int
    new_regime_days: int
    new_regime_interest: int


def _in_force(parameter: Parameter, day: date):
    """The value in force on a day without recording a use (None before the first entry or on a null one)."""
    value = None
    for entry in parameter.values:
        if entry.start <= day:
            value = entry.value
    return value


def _periods(p: ParameterSet) -> list[tuple[date, date | None]]:
    starts = sorted({entry.start for name in PARAMETERS for entry in p[name].values})
    ends: list[date | None] = [start - timedelta(days=1) for start in starts[1:]] + [None]
    return [(date(1900, 1, 1), starts[0] - timedelta(days=1)), *zip(starts, ends)]


def _day_number(day: date) -> int:
    return (day - _EPOCH).days


def late_interest_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``amount, due, paid, fund`` → days late and interest, per rule segment and in total.

    Per fund key and rule, the weights ``Σ rate × days`` over the periods are summed in Int64 (rates in
    millionths), then multiplied by the amount once in Int128 and rounded once per segment."""
    due = frame["due"].cast(pl.Date)
    paid = frame["paid"].cast(pl.Date)
    if (paid < due).any():
        row = frame.filter(paid < due).row(0, named=True)
        raise ValidationFailed(
            "paid", "The payment date {paid} is before the due date {due}; it must be on or after it.",
            paid=str(row["paid"]), due=str(row["due"]))
    keys = p[OLD_RATE].keys
    if p[DAILY_RATE].keys != keys:
        raise TypeError(f"{DAILY_RATE} and {OLD_RATE} must have the same keys")
    fund = frame["fund"].cast(pl.Utf8).cast(pl.Enum(list(keys)), strict=False)
    if fund.null_count():
        raise ValidationFailed("fund", "Unknown fund {fund}; accepted: {accepted}.",
                               fund=str(frame["fund"].filter(fund.is_null())[0]), accepted=", ".join(keys))
    work = pl.DataFrame({
        "amount": frame["amount"].cast(pl.Int64),
        "first": due.to_physical().cast(pl.Int32) + 1,
        "last": paid.to_physical().cast(pl.Int32),
        "fund": fund.to_physical().cast(pl.Int8),
    }).with_columns(days_late=pl.col("last") - pl.col("first") + 1)
    periods = _periods(p)
    def overlap(start: date, end: date | None) -> pl.Expr:
        """Days of each row's late days ``first … last`` inside the period ``start … end``."""
        high = pl.col("last")
        if end is not None:
            high = pl.min_horizontal("last", pl.lit(_day_number(end), dtype=pl.Int32))
        low = pl.max_horizontal("first", pl.lit(_day_number(start), dtype=pl.Int32))
        return (high - low + 1).clip(lower_bound=0)

    overlaps = work.select(overlap(start, end).alias(f"days_{index}")
                           for index, (start, end) in enumerate(periods))
    longest = overlaps.max().row(0)
    work = pl.concat([work, overlaps], how="horizontal")
    days_per_year = lcm(*(int(e.value) for e in p[OLD_DAYS_PER_YEAR].values if e.value is not None))
    # per rule: (overlap column, weight per fund key, minimum days late or None) of each period touched
    old_parts: list[tuple[str, list[int], int]] = []
    new_parts: list[tuple[str, list[int], None]] = []
    for index, (start, _end) in enumerate(periods):
        if not longest[index]:
            continue
        name = f"days_{index}"
        if _in_force(p[DAILY_RATE], start) is not None:
            new_parts.append((name, [int(p[DAILY_RATE].at(start, key) * SCALE) for key in keys], None))
        elif _in_force(p[OLD_MULTIPLE], start) is not None:
            multiple = int(p[OLD_MULTIPLE].at(start) * SCALE)
            per_day = days_per_year // p[OLD_DAYS_PER_YEAR].at(start)
            weights = [multiple * per_day * int(p[OLD_RATE].at(start, key) * SCALE) for key in keys]
            old_parts.append((name, weights, p[OLD_MIN_DAYS].at(start)))
        else:
            first_day = work.filter(pl.col(name) > 0).select(
                pl.max_horizontal(pl.col("first"), pl.lit(_day_number(start))).min()).item()
            raise ValidationFailed(
                "due", "No late-payment interest rule is in force on {date}: the first is from {first}.",
                date=_EPOCH + timedelta(days=first_day), first=min(p[name_].first_date for name_ in PARAMETERS))
    old_weight, old_denominator = _weighted_days(old_parts, keys, SCALE * SCALE * days_per_year)
    new_weight, new_denominator = _weighted_days(new_parts, keys, SCALE)
    work = work.select(
        "amount", pl.col("days_late").cast(pl.Int64),
        old_weight=old_weight, new_weight=new_weight,
        old_regime_days=pl.sum_horizontal([pl.col(name) for name, _, _ in old_parts] or [pl.lit(0)]).cast(pl.Int64),
        new_regime_days=pl.sum_horizontal([pl.col(name) for name, _, _ in new_parts] or [pl.lit(0)]).cast(pl.Int64),
    )
    work = work.with_columns(
        old_regime_interest=_amount_times(work, "old_weight", old_denominator),
        new_regime_interest=_amount_times(work, "new_weight", new_denominator),
    )
    return work.select(
        "days_late",
        interest=pl.col("old_regime_interest") + pl.col("new_regime_interest"),
        old_regime_days="old_regime_days", old_regime_interest="old_regime_interest",
        new_regime_days="new_regime_days", new_regime_interest="new_regime_interest",
    )


def _weighted_days(parts: list[tuple[str, list[int], int | None]], keys: tuple[str, ...],
                   denominator: int) -> tuple[pl.Expr, int]:
    """Per row, ``Σ weight[fund] × days`` over the periods (Int64), with the weights and the denominator
    divided by their greatest common divisor (an exact reduction that keeps the numbers small)."""
    common = gcd(denominator, *(w for _, weights, _ in parts for w in weights))
    per_key = []
    for position in range(len(keys)):
        terms = []
        for name, weights, minimum in parts:
            days = pl.col(name).cast(pl.Int64)
            if minimum is not None:
                days = pl.when(pl.col("days_late") >= minimum).then(days).otherwise(0)
            terms.append(days * (weights[position] // common))
        per_key.append(pl.sum_horizontal(terms) if terms else pl.lit(0, dtype=pl.Int64))
    fund = pl.col("fund")
    chain = pl.when(fund == 0).then(per_key[0])
    for code, value in enumerate(per_key[1:], start=1):
        chain = chain.when(fund == code).then(value)
    return chain.otherwise(None).cast(pl.Int64), denominator // common


def _amount_times(work: pl.DataFrame, weight: str, denominator: int) -> pl.Series:
    """``amount × weight / denominator`` rounded halves up: in Int64 when the largest product cannot
    overflow it, else in Int128 (slower)."""
    largest = (work["amount"].max() or 0) * (work[weight].max() or 0)
    dtype = pl.Int64 if 2 * largest + denominator < 2**63 else _I128
    numerator = pl.col("amount").cast(dtype) * pl.col(weight).cast(dtype)
    doubled = numerator * 2 + pl.lit(denominator, dtype=dtype)
    return work.select((doubled // pl.lit(2 * denominator, dtype=dtype)).cast(pl.Int64)).to_series()


def late_interest_single(inputs: LateInterestInput, p: ParameterSet) -> dict:
    return late_interest_columns(single_row(inputs), p).row(0, named=True)


register(Calculator(
    name="late-interest",
    summary="Interest on a contribution paid late (split at 2025-07-01)",
    description=__doc__,
    inputs=LateInterestInput,
    outputs=LateInterestOutput,
    compute=late_interest_single,
    columns=late_interest_columns,
))
