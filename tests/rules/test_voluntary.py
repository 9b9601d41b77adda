"""Invariants of voluntary social insurance, over random incomes, dates, groups and periods (hypothesis)."""

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.errors import ValidationFailed
from ansinh.rules.parameters import get_parameters
from ansinh.rules.voluntary import VoluntaryInput, voluntary_columns, voluntary_single

P = get_parameters()
GROUPS = ["poor", "near_poor", "ethnic_minority", "island", "other"]
dates = st.dates(min_value=date(2018, 7, 1), max_value=date(2028, 12, 31))
groups = st.sampled_from(GROUPS)
months = st.sampled_from([1, 3, 6, 12])
percents = st.integers(min_value=0, max_value=100)


def band(on: date) -> tuple[int, int]:
    floor = P["voluntary.rural_poverty_line"].at(on)
    cap = int(P["voluntary.income_cap_base_salary_multiple"].at(on) * P["salary.base_salary"].at(on))
    return floor, cap


@st.composite
def cases(draw):
    on = draw(dates)
    floor, cap = band(on)
    return dict(income=draw(st.integers(min_value=floor, max_value=cap)), on=on, group=draw(groups),
                months=draw(months), province_support_pct=draw(percents))


def compute(**kwargs):
    return voluntary_single(VoluntaryInput(**kwargs), P)


@given(cases())
def test_the_payers_add_up_and_nothing_is_negative(case):
    r = compute(**case)
    assert r["due"] == r["monthly_due"] * case["months"]
    assert r["payable"] == r["due"] - r["state_support"] - r["province_support"]
    assert min(r["payable"], r["state_support"], r["province_support"]) >= 0
    assert r["state_support"] + r["province_support"] <= r["due"]


@given(cases(), st.integers(min_value=0, max_value=10**9))
def test_support_depends_on_the_poverty_line_not_on_the_chosen_income(case, other):
    floor, cap = band(case["on"])
    a = compute(**case)
    b = compute(**{**case, "income": floor + other % (cap - floor + 1)})
    assert a["state_support"] == b["state_support"]
    assert a["support_base"] == b["support_base"]


@given(cases(), st.integers(min_value=0, max_value=10**9))
def test_the_contribution_is_monotone_in_income(case, other):
    floor, cap = band(case["on"])
    low, high = sorted((case["income"], floor + other % (cap - floor + 1)))
    assert compute(**{**case, "income": low})["due"] <= compute(**{**case, "income": high})["due"]


@given(dates, groups)
def test_an_income_outside_the_band_is_refused_naming_income(on, group):
    floor, cap = band(on)
    for income in (floor - 1, cap + 1):
        with pytest.raises(ValidationFailed) as excinfo:
            compute(income=income, on=on, group=group)
        assert excinfo.value.field == "income"


@settings(max_examples=25)
@given(st.lists(cases(), min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(rows):
    batch = voluntary_columns(pl.DataFrame(rows), P)
    for row, case in zip(batch.iter_rows(named=True), rows):
        single = compute(**case)
        assert (row["due"], row["state_support"], row["province_support"], row["payable"]) == (
            single["due"], single["state_support"], single["province_support"], single["payable"])


def test_the_day_before_and_the_day_of_decree_159_2025():
    change = date(2025, 7, 1)
    before = compute(income=1_500_000, on=change - timedelta(days=1), group="poor")
    after = compute(income=1_500_000, on=change, group="poor")
    assert (before["state_support"], after["state_support"]) == (99_000, 165_000)


def test_the_month_limit_is_reported_for_the_caller():
    assert compute(income=1_500_000, on=date(2025, 7, 1))["support_month_limit"] == 120
