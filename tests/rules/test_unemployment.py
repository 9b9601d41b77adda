"""Invariants of the unemployment benefit over random claims (hypothesis)."""

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.rules.parameters import get_parameters
from ansinh.rules.unemployment import UnemploymentInput, unemployment_columns, unemployment_single

P = get_parameters()
dates = st.dates(min_value=date(2019, 1, 1), max_value=date(2027, 12, 31))
salaries = st.integers(min_value=0, max_value=10_000_000_000)
months = st.integers(min_value=0, max_value=600)
regions = st.sampled_from(["I", "II", "III", "IV"])
sectors = st.sampled_from(["private", "state"])


def compute(salary, contributed, region, on, sector="private"):
    return unemployment_single(UnemploymentInput(average_salary=salary, months_contributed=contributed,
                                                 region=region, on=on, sector=sector), P)


@settings(deadline=None)
@given(salaries, months, regions, dates, sectors)
def test_benefit_is_at_most_60_percent_and_the_cap(salary, contributed, region, on, sector):
    result = compute(salary, contributed, region, on, sector)
    assert 0 <= result["monthly_benefit"] <= salary * P["benefits.unemployment.benefit_rate"].at(on) + 0.5
    assert 0 <= result["months"] <= P["benefits.unemployment.max_benefit_months"].at(on)
    minimum = P["salary.regional_minimum_wage"].at(on, region)
    base = P["salary.base_salary"].at(on)
    cap = (P["benefits.unemployment.benefit_cap_base_salary_multiple"].at(on, sector) * base
           + P["benefits.unemployment.benefit_cap_minimum_wage_multiple"].at(on, sector) * minimum)
    assert result["monthly_benefit"] <= cap
    assert result["eligible"] == (min(contributed, 24) >= 12)
    if not result["eligible"]:
        assert result["monthly_benefit"] == 0 and result["months"] == 0


@settings(deadline=None)
@given(salaries, salaries, months, regions, dates, sectors)
def test_monotone_in_salary_and_months(a, b, contributed, region, on, sector):
    low, high = sorted((a, b))
    assert compute(low, contributed, region, on, sector)["monthly_benefit"] <= \
        compute(high, contributed, region, on, sector)["monthly_benefit"]
    if contributed < 600:
        assert compute(a, contributed, region, on, sector)["months"] <= \
            compute(a, contributed + 1, region, on, sector)["months"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(salaries, months, regions, dates, sectors), min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(rows):
    frame = pl.DataFrame({"average_salary": [r[0] for r in rows], "months_contributed": [r[1] for r in rows],
                          "region": [r[2] for r in rows], "on": [r[3] for r in rows], "sector": [r[4] for r in rows]})
    batch = unemployment_columns(frame, P)
    for row, args in zip(batch.iter_rows(named=True), rows):
        single = compute(*args)
        assert (row["eligible"], row["monthly_benefit"], row["months"]) == \
            (single["eligible"], single["monthly_benefit"], single["months"])
