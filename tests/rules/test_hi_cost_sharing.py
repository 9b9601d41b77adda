"""Invariants of the health insurance cost sharing for one visit (hypothesis), under both tables of Art 22."""

from datetime import date, timedelta
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
LAW_51 = date(2025, 1, 1)  # HI Law Art 22 as replaced by Law 51/2024 Art 1(17), in force by its Art 3(2)
costs = st.integers(min_value=0, max_value=10**12)
cards = st.integers(min_value=1, max_value=5)
cares = st.sampled_from(["inpatient", "outpatient"])
flags = st.booleans()

# --- the 2015 table (Law 46/2014) -----------------------------------------------------------------

dates_2015 = st.dates(min_value=date(2018, 7, 1), max_value=LAW_51 - timedelta(days=1))
tiers = st.sampled_from(["central", "provincial", "district", "commune"])
routes_2015 = st.sampled_from(["in", "out"])
visits_2015 = st.tuples(costs, cards, dates_2015, tiers, routes_2015, cares, flags)


def compute(cost, card, on, level, route, care, five, **more):
    return hi_share_single(HiShareInput(cost=cost, card_level=card, on=on, facility_level=level, route=route,
                                        care=care, five_years_over_cap=five, **more), P)


def expected_2015(cost, card, on, level, route, care, five):
    """The 2015 rule restated with exact fractions and single lookups."""
    base = P["salary.base_salary"].at(on)
    low_cost = cost < P["hi_benefits.low_cost_threshold_base_salary_multiple"].at(on) * base
    full = level == "commune" or low_cost or (five and route == "in")
    applied = Fraction(1) if full else P["hi_benefits.benefit_level"].at(on, str(card))
    multiplier = P["hi_benefits.out_of_network_multiplier"].at(on, f"{care}_{level}") if route == "out" else 1
    return round_half_up(cost * applied * multiplier)


@settings(deadline=None)  # several calls per example; the machine may be busy
@given(visits_2015)
def test_2015_shares_add_up_to_the_cost_and_match_the_rule(visit):
    result = compute(*visit)
    assert result["fund_pays"] + result["patient_pays"] == visit[0]
    assert 0 <= result["fund_pays"] <= visit[0]
    assert 0 <= result["rate"] <= 1
    assert result["fund_pays"] == expected_2015(*visit)
    assert result["table"] == 2015 and result["counts_toward_cap"] == (visit[4] == "in")


@settings(deadline=None)
@given(visits_2015)
def test_2015_in_network_never_pays_less_than_out_of_network(visit):
    cost, card, on, level, _, care, five = visit
    assert compute(cost, card, on, level, "in", care, five)["fund_pays"] >= \
        compute(cost, card, on, level, "out", care, five)["fund_pays"]


@settings(deadline=None)
@given(costs, cards, dates_2015, routes_2015, cares, flags)
def test_commune_visits_are_paid_at_the_full_out_of_network_share(cost, card, on, route, care, five):
    result = compute(cost, card, on, "commune", route, care, five)
    assert result["rule"] == "commune" and result["fund_pays"] == cost


# --- the 2025 table (Law 51/2024) -----------------------------------------------------------------

dates_2025 = st.dates(min_value=LAW_51, max_value=date(2027, 12, 31))
formers = st.sampled_from([None, "central", "provincial", "district", "commune"])
routes_2025 = st.sampled_from(["in", "out", "emergency"])


@st.composite
def facilities_2025(draw):
    """A facility as the classification would give it: a level, its former level, and for a basic facility a score
    or a provisional classification; a health station is initial."""
    level = draw(st.sampled_from(["initial", "basic", "specialised"]))
    facts = {"facility_level": level, "former_level": draw(formers)}
    if level == "basic":
        if draw(st.booleans()):
            facts["provisional"] = True
        else:
            facts["facility_score"] = draw(st.integers(min_value=0, max_value=100))
    if level == "initial":
        facts["health_station"] = draw(st.booleans())
    return facts


visits_2025 = st.tuples(costs, cards, dates_2025, facilities_2025(), routes_2025, cares, flags, flags, flags)


def compute_2025(cost, card, on, facility, route, care, five, listed, remote):
    return hi_share_single(HiShareInput(cost=cost, card_level=card, on=on, route=route, care=care,
                                        five_years_over_cap=five, listed_condition=listed, remote_resident=remote,
                                        **facility), P)


def case_2025(facility, route, care, listed, remote, on):
    """HI Law Art 22(3)-(5) as replaced by Law 51/2024, restated case by case (Decree 188/2025 Art 19)."""
    level, former = facility["facility_level"], facility.get("former_level")
    bands = P["hi_benefits.basic_facility_score_bands"].at(on)
    if route == "emergency":
        return "emergency"
    if route == "in":
        return "referred"
    if level == "initial":
        return "initial"
    if listed:
        return "listed_condition"
    if former == "district":
        return "former_district"
    if level == "specialised":
        if care == "inpatient" and remote:
            return "remote_resident_inpatient"
        suffix = "_former_provincial" if former == "provincial" else ""
        return f"specialised_{care}{suffix}"
    if care == "inpatient":
        return "basic_inpatient"
    if former in ("provincial", "central"):
        return "basic_outpatient_former_provincial_or_central"
    score = facility.get("facility_score")
    if facility.get("provisional") or score < bands["full_below"]:
        return "basic_outpatient_score_under_50"
    if score < bands["roadmap_below"]:
        return "basic_outpatient_score_50_to_70"
    return "basic_outpatient_score_70_and_more"


@settings(deadline=None)
@given(visits_2025)
def test_2025_shares_add_up_to_the_cost_and_match_the_rule(visit):
    cost, card, on, facility, route, care, five, listed, remote = visit
    result = compute_2025(*visit)
    case = case_2025(facility, route, care, listed, remote, on)
    outside_cap = case.startswith("specialised_")  # (g) and (h)
    base = P["salary.base_salary"].at(on)
    low_cost = cost < P["hi_benefits.low_cost_threshold_base_salary_multiple"].at(on) * base
    full = facility.get("health_station") or low_cost or (five and not outside_cap)
    applied = Fraction(1) if full else P["hi_benefits.benefit_level"].at(on, str(card))
    share = P["hi_benefits.self_referred_share"].at(on, case)
    assert (result["case"], result["table"]) == (case, 2025)
    assert result["fund_pays"] == round_half_up(cost * applied * share)
    assert result["fund_pays"] + result["patient_pays"] == cost
    assert result["counts_toward_cap"] == (not outside_cap)


@settings(deadline=None)
@given(visits_2025)
def test_2025_referred_or_emergency_never_pays_less_than_self_referred(visit):
    cost, card, on, facility, _, care, five, listed, remote = visit
    out = compute_2025(cost, card, on, facility, "out", care, five, listed, remote)["fund_pays"]
    for route in ("in", "emergency"):
        assert compute_2025(cost, card, on, facility, route, care, five, listed, remote)["fund_pays"] >= out


@settings(deadline=None)
@given(st.tuples(costs, cards, st.just(date(2026, 6, 30)), facilities_2025(), routes_2025, cares, flags, flags, flags))
def test_the_2026_roadmap_step_never_lowers_a_share(visit):
    """Decree 188/2025 Art 19: from 2026-07-01 the shares that were nothing become 50%; none goes down."""
    before = compute_2025(*visit)
    after = compute_2025(*(visit[:2] + (date(2026, 7, 1),) + visit[3:]))
    assert after["route_share"] >= before["route_share"]
    assert after["case"] == before["case"]


# --- both tables ------------------------------------------------------------------------------------

@settings(deadline=None)
@given(st.one_of(costs.flatmap(lambda c: st.tuples(st.just(c), dates_2015)),
                 costs.flatmap(lambda c: st.tuples(st.just(c), dates_2025))), tiers, cares, flags)
def test_a_higher_benefit_digit_group_never_pays_more(cost_on, tier, care, five):
    """Digit 3 (95%) pays at least digit 4 (80%); digits 1, 2, 5 (100%) at least digit 3."""
    cost, on = cost_on
    level = tier if on < LAW_51 else {"central": "specialised", "provincial": "specialised",
                                      "district": "basic", "commune": "initial"}[tier]
    more = {"former_level": tier, "provisional": True} if level == "basic" else {"former_level": tier}
    if on < LAW_51:
        more = {}
    paid = {card: compute(cost, card, on, level, "out", care, five, **more)["fund_pays"] for card in range(1, 6)}
    assert paid[1] == paid[2] == paid[5] >= paid[3] >= paid[4]


@settings(max_examples=25, deadline=None)
@given(st.lists(visits_2015, min_size=1, max_size=20), st.lists(visits_2025, min_size=0, max_size=20),
       st.randoms(use_true_random=False))
def test_a_batch_of_both_tables_gives_the_same_answers_as_single_cases(old, new, rng):
    rows = [{"cost": v[0], "card_level": v[1], "on": v[2], "facility_level": v[3], "route": v[4], "care": v[5],
             "five_years_over_cap": v[6]} for v in old]
    rows += [{"cost": v[0], "card_level": v[1], "on": v[2], "route": v[4], "care": v[5], "five_years_over_cap": v[6],
              "listed_condition": v[7], "remote_resident": v[8], **v[3]} for v in new]
    rng.shuffle(rows)
    columns = ("cost", "card_level", "on", "facility_level", "former_level", "facility_score", "provisional",
               "health_station", "route", "care", "five_years_over_cap", "listed_condition", "remote_resident")
    defaults = {"provisional": False, "health_station": False, "listed_condition": False, "remote_resident": False}
    frame = pl.DataFrame([{c: row.get(c, defaults.get(c)) for c in columns} for row in rows],
                         schema_overrides={"former_level": pl.Utf8, "facility_score": pl.Int64})
    batch = hi_share_columns(frame, P)
    for answer, row in zip(batch.iter_rows(named=True), rows):
        assert answer == hi_share_single(HiShareInput(**row), P)


@pytest.mark.parametrize(("column", "value"), [("card_level", 0), ("facility_level", "ward"), ("route", "x"),
                                               ("care", "day"), ("facility_level", "basic")])
def test_a_bad_row_in_a_batch_names_its_field(column, value):
    row = {"cost": 1_000, "card_level": 4, "on": date(2024, 3, 1), "facility_level": "district",
           "route": "in", "care": "outpatient", "five_years_over_cap": False}
    frame = pl.DataFrame([row, {**row, column: value}])
    with pytest.raises(ValidationFailed) as excinfo:
        hi_share_columns(frame, P)
    assert excinfo.value.field == column
