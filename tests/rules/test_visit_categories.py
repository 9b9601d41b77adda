"""The visit-category catalogue (MA_DOITUONG_KCB) and the calculator agree, code by code, on both sides of the
2026-07-01 step of the roadmap."""

from datetime import date

import pytest

from ansinh.rules.hi_cost_sharing import CASES_2025, HiShareInput, hi_share_single
from ansinh.rules.parameters import get_parameters
from ansinh.rules.visit_categories import visit_catalogue

P = get_parameters()
CATALOGUE = visit_catalogue()
PAID = [c for c in CATALOGUE.categories.values() if c.case is not None]


def test_every_case_of_the_table_has_a_category_and_a_share():
    cases = {c.case for c in PAID}
    assert cases <= set(P["hi_benefits.self_referred_share"].keys)
    # Every case but the score of 70 and more (not reached by the roadmap) is carried by a category.
    assert set(CASES_2025) - cases == {"basic_outpatient_score_70_and_more", "specialised_outpatient"}
    assert CATALOGUE.valid_from == P["hi_benefits.self_referred_share"].first_date


@pytest.mark.parametrize("on", [date(2025, 1, 1), date(2026, 6, 30), date(2026, 7, 1)])
@pytest.mark.parametrize("category", PAID, ids=[c.code for c in PAID])
def test_the_example_of_each_category_is_paid_under_its_case(category, on):
    inputs = HiShareInput(cost=10_000_000, card_level=4, on=on, **category.example)
    result = hi_share_single(inputs, P)
    assert result["case"] == category.case
    expected_code = category.code if category.code not in {"1.3", "1.4", "1.5", "1.6", "1.7"} else "1.1"
    assert result["visit_category"] == expected_code
    share = P["hi_benefits.self_referred_share"].at(on, category.case)
    if category.full_cost:
        assert result["fund_pays"] == 10_000_000 and result["rule"] == "health_station"
    else:
        assert result["fund_pays"] == 10_000_000 * 0.8 * share
