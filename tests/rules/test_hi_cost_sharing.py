"""Invariants of the health insurance cost sharing for one visit (hypothesis)."""

from datetime import date
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.errors import ValidationFailed
from ansinh.rules.hi_cost_sharing import HiShareInput, hi_share_columns, hi_share_single
from ansinh.rules.money import round_half_up
from ansinh.rules.parameters import get_parameters

P = get_parameters()
costs = st.integers(min_value=0, max_value=10**12)
cards = st.integers(min_value=1, max_value=5)
dates = st.dates(min_value=date(2018, 7, 1), max_value=date(2027, 12, 31))
levels = st.sampled_from(["central", "provincial", "district", "commune"])
routes = st.sampled_from(["in", "out"])
cares = st.sampled_from(["inpatient", "outpatient"])
flags = st.booleans()
visits = st.tuples(costs, cards, dates, levels, routes, cares, flags)


def compute(cost, card, on, level, route, care, five):
    return hi_share_single(HiShareInput(cost=cost, card_level=card, on=on, facility_level=level, route=route,
                                        care=care, five_years_over_cap=five), P)


def expected(cost, card, on, level, route, care, five):
    """The rule restated with exact fractions and single lookups."""
    base = P["salary.base_salary"].at(on)
    low_cost = cost < P["hi_benefits.low_cost_threshold_base_salary_multiple"].at(on) * base
    full = level == "commune" or low_cost or (five and route == "in")
    applied = Fraction(1) if full else P["hi_benefits.benefit_level"].at(on, str(card))
    multiplier = P["hi_benefits.out_of_network_multiplier"].at(on, f"{care}_{level}") if route == "out" else 1
    return round_half_up(cost * applied * multiplier)


@settings(deadline=None)  # several calls per example; the machine may be busy
@given(visits)
def test_shares_add_up_to_the_cost_and_match_the_rule(visit):
    result = compute(*visit)
    assert result["fund_pays"] + result["patient_pays"] == visit[0]
    assert 0 <= result["fund_pays"] <= visit[0]
    assert 0 <= result["rate"] <= 1
    assert result["fund_pays"] == expected(*visit)


@settings(deadline=None)  # several calls per example; the machine may be busy
@given(visits)
def test_in_network_never_pays_less_than_out_of_network(visit):
    cost, card, on, level, _, care, five = visit
    assert compute(cost, card, on, level, "in", care, five)["fund_pays"] >= \
        compute(cost, card, on, level, "out", care, five)["fund_pays"]


@settings(deadline=None)  # several calls per example; the machine may be busy
@given(costs, dates, levels, routes, cares, flags)
def test_a_higher_benefit_digit_group_never_pays_more(cost, on, level, route, care, five):
    """Digit 3 (95%) pays at least digit 4 (80%); digits 1, 2, 5 (100%) at least digit 3."""
    paid = {card: compute(cost, card, on, level, route, care, five)["fund_pays"] for card in range(1, 6)}
    assert paid[1] == paid[2] == paid[5] >= paid[3] >= paid[4]


@settings(deadline=None)  # several calls per example; the machine may be busy
@given(costs, cards, dates, routes, cares, flags)
def test_commune_visits_are_paid_at_the_full_out_of_network_share(cost, card, on, route, care, five):
    result = compute(cost, card, on, "commune", route, care, five)
    assert result["rule"] == "commune" and result["fund_pays"] == cost


@settings(max_examples=25, deadline=None)
@given(st.lists(visits, min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(rows):
    names = ("cost", "card_level", "on", "facility_level", "route", "care", "five_years_over_cap")
    frame = pl.DataFrame({name: [row[i] for row in rows] for i, name in enumerate(names)})
    batch = hi_share_columns(frame, P)
    for row, visit in zip(batch.iter_rows(named=True), rows):
        assert row == compute(*visit)


@pytest.mark.parametrize(("column", "value"), [("card_level", 0), ("facility_level", "ward"), ("route", "x"),
                                               ("care", "day")])
def test_a_bad_row_in_a_batch_names_its_field(column, value):
    row = {"cost": 1_000, "card_level": 4, "on": date(2025, 3, 1), "facility_level": "district",
           "route": "in", "care": "outpatient", "five_years_over_cap": False}
    frame = pl.DataFrame([row, {**row, column: value}])
    with pytest.raises(ValidationFailed) as excinfo:
        hi_share_columns(frame, P)
    assert excinfo.value.field == column
