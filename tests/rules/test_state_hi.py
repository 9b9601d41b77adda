"""Invariants of health insurance paid or supported by the State budget (hypothesis)."""

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.rules.parameters import get_parameters
from ansinh.rules.state_hi import StateHIInput, state_hi_columns, state_hi_single

P = get_parameters()
GROUPS = list(P["health_insurance.state_support_share"].keys)
dates = st.dates(min_value=date(2018, 12, 1), max_value=date(2028, 12, 31))
cases = st.fixed_dictionaries({"group": st.sampled_from(GROUPS), "on": dates,
                               "months": st.integers(min_value=1, max_value=12),
                               "province_support_pct": st.integers(min_value=0, max_value=100)})


def compute(**kwargs):
    return state_hi_single(StateHIInput(**kwargs), P)


@given(cases)
def test_the_payers_add_up_and_nothing_is_negative(case):
    r = compute(**case)
    assert r["contribution"] == r["monthly_contribution"] * case["months"]
    assert r["contribution"] == r["state_support"] + r["province_support"] + r["payable"]
    assert min(r["state_support"], r["province_support"], r["payable"]) >= 0
    if r["support_rate"] == 1:
        assert r["payable"] == 0 and r["province_support"] == 0


@given(cases, st.integers(min_value=0, max_value=100))
def test_more_provincial_support_never_makes_the_person_pay_more(case, other):
    low, high = sorted((case["province_support_pct"], other))
    assert compute(**{**case, "province_support_pct": high})["payable"] <= \
        compute(**{**case, "province_support_pct": low})["payable"]


@settings(max_examples=25)
@given(st.lists(cases, min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(rows):
    batch = state_hi_columns(pl.DataFrame(rows), P)
    for row, case in zip(batch.iter_rows(named=True), rows):
        single = compute(**case)
        assert (row["contribution"], row["state_support"], row["province_support"], row["payable"]) == (
            single["contribution"], single["state_support"], single["province_support"], single["payable"])
