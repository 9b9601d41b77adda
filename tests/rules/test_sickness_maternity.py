"""Invariants of the sickness and maternity benefits over random claims (hypothesis)."""

from datetime import date
from fractions import Fraction

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.rules.parameters import get_parameters
from ansinh.rules.sickness_maternity import (MaternityInput, SicknessInput, maternity_columns, maternity_single,
                                             sickness_columns, sickness_single)

P = get_parameters()
salaries = st.integers(min_value=0, max_value=10_000_000_000)


def sickness(salary, years, hazardous, days, on):
    return sickness_single(SicknessInput(monthly_salary=salary, years_contributed=years, hazardous=hazardous,
                                         days=days, on=on), P)


def maternity(salary, months, on, order, children):
    return maternity_single(MaternityInput(average_salary=salary, months_contributed_last_12=months, on=on,
                                           child_order=order, children=children), P)


sickness_args = st.tuples(salaries, st.integers(0, 60), st.booleans(), st.integers(0, 365),
                          st.dates(min_value=date(2016, 1, 1), max_value=date(2027, 12, 31)))
maternity_args = st.tuples(salaries, st.integers(0, 12), st.dates(min_value=date(2018, 7, 1), max_value=date(2027, 12, 31)),
                           st.integers(1, 20), st.integers(1, 10))


@settings(deadline=None)
@given(sickness_args)
def test_sickness_amount_is_exact_to_half_a_dong(args):
    salary, years, hazardous, days, on = args
    result = sickness(*args)
    exact = salary * P["benefits.sickness.benefit_rate"].at(on) * result["days_paid"] / P["benefits.sickness.days_per_month"].at(on)
    assert abs(result["amount"] - exact) <= Fraction(1, 2)
    assert result["days_paid"] == min(days, result["days_per_year"])
    assert abs(result["daily_amount"] * result["days_paid"] - result["amount"]) <= result["days_paid"]


@settings(deadline=None)
@given(sickness_args)
def test_hazardous_work_gives_more_days_and_more_years_never_fewer(args):
    salary, years, _hazardous, days, on = args
    normal, hard = sickness(salary, years, False, days, on), sickness(salary, years, True, days, on)
    assert hard["days_per_year"] > normal["days_per_year"]
    if years < 60:
        assert sickness(salary, years + 1, False, days, on)["days_per_year"] >= normal["days_per_year"]


@settings(deadline=None)
@given(maternity_args)
def test_maternity_total_is_leave_pay_plus_grant(args):
    result = maternity(*args)
    assert result["total"] == result["leave_pay"] + result["grant"]
    assert result["eligible"] == (args[1] >= 6)
    if result["eligible"]:
        assert result["leave_months"] >= 6 + (args[4] - 1)
        assert result["grant"] == 2 * P["salary.base_salary"].at(args[2]) * args[4]
    else:
        assert result["total"] == 0 and result["leave_months"] == 0


@settings(max_examples=25, deadline=None)
@given(st.lists(sickness_args, min_size=1, max_size=40), st.lists(maternity_args, min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(sick_rows, birth_rows):
    frame = pl.DataFrame(sick_rows, schema=["monthly_salary", "years_contributed", "hazardous", "days", "on"], orient="row")
    for row, args in zip(sickness_columns(frame, P).iter_rows(named=True), sick_rows):
        assert row == sickness(*args)
    frame = pl.DataFrame(birth_rows, schema=["average_salary", "months_contributed_last_12", "on", "child_order", "children"],
                         orient="row")
    for row, args in zip(maternity_columns(frame, P).iter_rows(named=True), birth_rows):
        assert row == maternity(*args)
