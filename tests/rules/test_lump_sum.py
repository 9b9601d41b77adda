"""Invariants of the lump-sum withdrawal over random records (hypothesis)."""

from datetime import date
from fractions import Fraction

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.rules.lump_sum import LumpSumInput, lump_sum_columns, lump_sum_single
from ansinh.rules.money import round_half_up
from ansinh.rules.parameters import get_parameters

P = get_parameters()
dates = st.dates(min_value=date(2018, 1, 1), max_value=date(2027, 12, 31))
months = st.integers(min_value=0, max_value=1200)
salaries = st.integers(min_value=0, max_value=10_000_000_000)


def compute(before, after, salary, on):
    return lump_sum_single(LumpSumInput(months_before_2014=before, months_from_2014=after, average_salary=salary,
                                        on=on), P)


@settings(deadline=None)
@given(months, months, salaries, dates)
def test_amount_is_the_months_of_salary_times_the_salary_rounded(before, after, salary, on):
    result = compute(before, after, salary, on)
    assert result["amount"] >= 0
    assert abs(Fraction(result["amount"]) - Fraction(result["months_of_salary"]).limit_denominator(10**6) * salary) <= Fraction(1, 2)


@settings(deadline=None)
@given(months, months, salaries, dates)
def test_between_the_lowest_and_highest_multiple_per_half_year(before, after, salary, on):
    months_of_salary = Fraction(compute(before, after, salary, on)["months_of_salary"]).limit_denominator(10**6)
    total = before + after
    if total < 12:
        assert months_of_salary <= P["benefits.lump_sum.max_months_under_one_year"].at(on)
    else:
        low = P["benefits.lump_sum.months_per_year_before_2014"].at(on)
        high = P["benefits.lump_sum.months_per_year_from_2014"].at(on)
        # Every month is worth between 1.5/12 and 2/12 months of salary, and rounding up adds at most a year's worth.
        assert Fraction(total, 12) * low - high <= months_of_salary <= Fraction(total, 12) * high + high


@settings(deadline=None)
@given(months, months, st.integers(min_value=0, max_value=1200), salaries, dates)
def test_more_months_from_2014_never_pay_less(before, after, more, salary, on):
    if before + after >= 12 and after + more <= 1200:
        assert compute(before, after + more, salary, on)["amount"] >= compute(before, after, salary, on)["amount"]


@settings(deadline=None)
@given(months, months, salaries, salaries, dates)
def test_monotone_in_salary(before, after, a, b, on):
    low, high = sorted((a, b))
    assert compute(before, after, low, on)["amount"] <= compute(before, after, high, on)["amount"]


def test_exact_at_the_largest_inputs():
    result = compute(1200, 1200, 10_000_000_000, date(2026, 1, 1))
    assert result == {"months_of_salary": 350.0, "amount": 3_500_000_000_000}
    assert compute(0, 7, 10_000_000_000, date(2026, 1, 1))["amount"] == round_half_up(Fraction(154, 100) * 10**10)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(months, months, salaries, dates), min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(rows):
    frame = pl.DataFrame({"months_before_2014": [r[0] for r in rows], "months_from_2014": [r[1] for r in rows],
                          "average_salary": [r[2] for r in rows], "on": [r[3] for r in rows]})
    batch = lump_sum_columns(frame, P)
    for row, args in zip(batch.iter_rows(named=True), rows):
        single = compute(*args)
        assert row["amount"] == single["amount"]
        assert row["months_of_salary_millionths"] / 1_000_000 == single["months_of_salary"]
