"""Invariants of the pension rate over random records (hypothesis)."""

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.rules.parameters import get_parameters
from ansinh.rules.pension import PensionRateInput, pension_rate_columns, pension_rate_single

P = get_parameters()
dates = st.dates(min_value=date(2016, 1, 1), max_value=date(2027, 12, 31))
sexes = st.sampled_from(["male", "female"])
years = st.integers(min_value=0, max_value=60)
extra = st.integers(min_value=0, max_value=11)
early = st.integers(min_value=0, max_value=120)


def compute(sex, y, m, e, on):
    return pension_rate_single(PensionRateInput(sex=sex, years=y, extra_months=m, months_early=e, on=on), P)


@settings(deadline=None)
@given(sexes, years, extra, early, dates)
def test_rate_between_0_and_the_highest_rate(sex, y, m, e, on):
    result = compute(sex, y, m, e, on)
    assert 0 <= result["rate"] <= float(P["benefits.pension.max_rate"].at(on))
    assert result["one_off_bonus_months"] >= 0
    if not result["eligible"]:
        assert result["rate"] == 0 and result["one_off_bonus_months"] == 0


@settings(deadline=None)
@given(sexes, years, extra, dates)
def test_more_years_never_lower_the_rate(sex, y, m, on):
    if y < 60:
        assert compute(sex, y + 1, m, 0, on)["rate"] >= compute(sex, y, m, 0, on)["rate"]


@settings(deadline=None)
@given(sexes, st.integers(min_value=20, max_value=60), extra, early, dates)
def test_retiring_earlier_never_raises_the_rate(sex, y, m, e, on):
    if e < 120:
        assert compute(sex, y, m, e + 1, on)["rate"] <= compute(sex, y, m, e, on)["rate"]


@settings(deadline=None)
@given(sexes, years, extra, dates)
def test_eligible_exactly_from_the_minimum_years(sex, y, m, on):
    assert compute(sex, y, m, 0, on)["eligible"] == (y >= P["benefits.pension.minimum_years"].at(on))


def test_bonus_thresholds_of_law_41_are_35_and_30_years():
    on = date(2025, 7, 1)
    assert compute("male", 35, 0, 0, on)["one_off_bonus_months"] == 0
    assert compute("male", 36, 0, 0, on)["one_off_bonus_months"] == 0.5
    assert compute("female", 30, 0, 0, on)["one_off_bonus_months"] == 0
    assert compute("female", 31, 0, 0, on)["one_off_bonus_months"] == 0.5


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(sexes, years, extra, early, dates), min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(rows):
    frame = pl.DataFrame({"sex": [r[0] for r in rows], "years": [r[1] for r in rows],
                          "extra_months": [r[2] for r in rows], "months_early": [r[3] for r in rows],
                          "on": [r[4] for r in rows]})
    batch = pension_rate_columns(frame, P)
    for row, args in zip(batch.iter_rows(named=True), rows):
        single = compute(*args)
        assert row["eligible"] == single["eligible"]
        assert row["rate_millionths"] / 1_000_000 == single["rate"]
