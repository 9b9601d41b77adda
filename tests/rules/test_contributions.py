"""Invariants of the compulsory contributions, over random salaries, dates and regions (hypothesis)."""

from datetime import date, timedelta
from fractions import Fraction

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.rules.contributions import FUNDS, ContributionsInput, contributions_columns, contributions_single
from ansinh.rules.parameters import get_parameters

P = get_parameters()
dates = st.dates(min_value=date(2019, 1, 1), max_value=date(2027, 12, 31))
salaries = st.integers(min_value=0, max_value=500_000_000)
regions = st.sampled_from(["I", "II", "III", "IV"])
sectors = st.sampled_from(["private", "state"])


def compute(salary, on, region, sector="private"):
    return contributions_single(ContributionsInput(salary=salary, on=on, region=region, sector=sector), P)


@given(salaries, dates, regions, sectors)
def test_shares_add_up_and_never_exceed_the_capped_salary_times_the_rates(salary, on, region, sector):
    result = compute(salary, on, region, sector)
    for payer in ("employer", "employee"):
        assert result[payer]["total"] == sum(result[payer][fund] for fund in FUNDS)
        assert all(result[payer][fund] >= 0 for fund in FUNDS)
    assert result["total"] == result["employer"]["total"] + result["employee"]["total"]
    insured = result["insured_salary"]
    bound = Fraction(0)
    for payer in ("employer", "employee"):
        for fund in FUNDS:
            base = insured["hi" if fund == "health" else "ui" if fund == "unemployment" else "si"]
            bound += base * P[f"contributions.{payer}.{fund}"].at(on)
    assert result["total"] <= bound + len(FUNDS)  # each rounded share is at most half a dong above its exact value
    base_salary = P["salary.base_salary"].at(on)
    assert insured["si"] <= P["contributions.si_salary_cap_multiple"].at(on) * base_salary
    assert insured["hi"] <= P["contributions.hi_salary_cap_multiple"].at(on) * base_salary


@given(salaries, salaries, dates, regions, sectors)
def test_contributions_are_monotone_in_salary(a, b, on, region, sector):
    low, high = sorted((a, b))
    lower, higher = compute(low, on, region, sector), compute(high, on, region, sector)
    assert lower["total"] <= higher["total"]
    for payer in ("employer", "employee"):
        for fund in FUNDS:
            assert lower[payer][fund] <= higher[payer][fund]


@settings(max_examples=25)
@given(st.lists(st.tuples(salaries, dates, regions, sectors), min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(rows):
    frame = pl.DataFrame({"salary": [r[0] for r in rows], "on": [r[1] for r in rows],
                          "region": [r[2] for r in rows], "sector": [r[3] for r in rows]})
    batch = contributions_columns(frame, P)
    for row, (salary, on, region, sector) in zip(batch.iter_rows(named=True), rows):
        assert row["total"] == compute(salary, on, region, sector)["total"]


def test_the_day_before_and_the_day_of_a_change_of_base_salary():
    change = date(2026, 7, 1)
    before = compute(100_000_000, change - timedelta(days=1), "I")
    after = compute(100_000_000, change, "I")
    assert before["insured_salary"]["si"] == 20 * 2_340_000
    assert after["insured_salary"]["si"] == 20 * 2_530_000
