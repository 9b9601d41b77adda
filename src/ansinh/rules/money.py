"""Exact money arithmetic: integer dong, ratios in millionths, explicit rounding.

Rounding rule (documented once, used everywhere): an amount times a ratio is rounded to the nearest dong,
halves up (``làm tròn đến đồng``). Every fund and payer share is rounded on its own; totals are the sums of
the rounded shares, so that a bill's lines always add up to its total.
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl

from ansinh.rules.parameters import SCALE

#: The largest amount the calculators accept (10^12 dong): keeps every product inside Int64.
MAX_AMOUNT = 1_000_000_000_000


def round_half_up(value: Fraction | int) -> int:
    """Nearest integer, halves away from zero for non-negative values (all amounts here are)."""
    value = Fraction(value)
    if value < 0:
        return -round_half_up(-value)
    return int((value * 2 + 1) // 2)


def apply_ratio(amount: int, ratio: Fraction) -> int:
    """``amount × ratio`` rounded to the dong (halves up)."""
    return round_half_up(amount * ratio)


def apply_ratio_expr(amount: pl.Expr, ratio_millionths: pl.Expr) -> pl.Expr:
    """The same on columns: ``amount × ratio`` with the ratio in millionths, rounded halves up."""
    return (amount * ratio_millionths + SCALE // 2) // SCALE


def div_round_expr(numerator: pl.Expr, denominator: int | pl.Expr) -> pl.Expr:
    """Integer division rounded to the nearest whole, halves up (non-negative operands)."""
    return (numerator * 2 + denominator) // (denominator * 2)


def scaled_product(amount: pl.Expr, numerator: pl.Expr, denominator: int) -> pl.Expr:
    """``amount × numerator / denominator`` rounded to the nearest whole, halves up, without overflowing Int64:
    the numerator is split into whole multiples of the denominator and a remainder (non-negative operands,
    amount × denominator × 2 within Int64, e.g. amount ≤ 10^12 and denominator ≤ 4 × 10^6)."""
    whole, rest = numerator // denominator, numerator % denominator
    return amount * whole + (amount * rest * 2 + denominator) // (2 * denominator)


def ratio_floats(scaled: pl.Series, scale: int) -> pl.Series:
    """Exact scaled integers as the nearest floats, computed once per distinct value in Python (a vectorised
    float division multiplies by the reciprocal and may differ in the last bit between one row and many)."""
    distinct = scaled.unique().to_list()
    return scaled.replace_strict(distinct, [value / scale for value in distinct], return_dtype=pl.Float64)
