"""Invariants of household health insurance (hypothesis)."""

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.rules.household_hi import MONTHS_PER_YEAR, HouseholdHIInput, household_hi_columns, household_hi_single
from ansinh.rules.money import apply_ratio
from ansinh.rules.parameters import get_parameters

P = get_parameters()
dates = st.dates(min_value=date(2018, 12, 1), max_value=date(2028, 12, 31))
sizes = st.integers(min_value=1, max_value=20)


def compute(members, on):
    return household_hi_single(HouseholdHIInput(members=members, on=on), P)


@given(sizes, dates)
def test_members_add_up_and_pay_less_the_later_they_come(members, on):
    r = compute(members, on)
    assert [m["order"] for m in r["members"]] == list(range(1, members + 1))
    assert r["total_annual"] == sum(m["annual"] for m in r["members"])
    assert r["total_monthly"] == sum(m["monthly"] for m in r["members"])
    assert all(m["annual"] == MONTHS_PER_YEAR * m["monthly"] for m in r["members"])
    amounts = [m["monthly"] for m in r["members"]]
    assert amounts == sorted(amounts, reverse=True) and amounts[-1] > 0
    rate = P["health_insurance.base_salary_contribution_rate"].at(on)
    assert r["first_member_monthly"] == amounts[0] == apply_ratio(P["salary.base_salary"].at(on), rate)


@given(sizes, sizes, dates)
def test_a_larger_household_pays_more_in_total_but_less_per_head(a, b, on):
    small, large = sorted((a, b))
    s, l = compute(small, on), compute(large, on)
    assert s["total_annual"] <= l["total_annual"]
    assert s["total_annual"] * large >= l["total_annual"] * small


@settings(max_examples=25)
@given(st.lists(st.tuples(sizes, dates), min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(rows):
    batch = household_hi_columns(pl.DataFrame({"members": [r[0] for r in rows], "on": [r[1] for r in rows]}), P)
    assert batch.height == len(rows)
    for row, (members, on) in zip(batch.iter_rows(named=True), rows):
        single = compute(members, on)
        assert row["total_annual"] == single["total_annual"]
        assert row["member_annual"] == [m["annual"] for m in single["members"]]
