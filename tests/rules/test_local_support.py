"""Provincial support (``rules/local_support.py``): looked up per province, group and date on columns; applied by
the voluntary and household HI calculators on top of the State's support."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.rules.household_hi import HouseholdHIInput, household_hi_columns, household_hi_single
from ansinh.rules.local_support import HOUSEHOLD_HI, VOLUNTARY, local_support_column, provinces_with_support
from ansinh.rules.parameters import SCALE, ParameterSet, get_parameters, parse_parameter
from ansinh.rules.voluntary import VoluntaryInput, voluntary_columns, voluntary_single

P = get_parameters()
GROUPS = ["poor", "near_poor", "ethnic_minority", "island", "other"]


def with_household_support(province: str, ratio: str, start: str) -> ParameterSet:
    name = f"{HOUSEHOLD_HI}.{province}"
    document = yaml.safe_load(f"""
description: test - a province pays part of each household member's contribution
metadata: {{unit: ratio, reference: test resolution, verified: false}}
values:
  '{start}': {{value: {ratio}, metadata: {{reference: test resolution}}}}
""")
    return ParameterSet({**{p.name: p for p in P}, name: parse_parameter(Path(f"{name}.yaml"), name, document)})


def test_son_la_is_the_only_province_with_a_voluntary_support_recorded():
    assert provinces_with_support(P, VOLUNTARY) == {"14": "voluntary.local_support.14"}
    assert provinces_with_support(P, HOUSEHOLD_HI) == {}


def test_the_lookup_gives_0_before_the_resolution_outside_the_groups_and_without_a_province():
    frame = pl.DataFrame({
        "on": [date(2022, 12, 31), date(2023, 1, 1), date(2023, 1, 1), date(2023, 1, 1), date(2030, 5, 1),
               date(2023, 1, 1)],
        "province": ["14", "14", "14", "01", "14", None],
        "group": ["ethnic_minority", "ethnic_minority", "other", "ethnic_minority", "near_poor", "poor"],
    })
    rates = local_support_column(P, VOLUNTARY, frame["on"], frame["province"], frame["group"])
    # Sơn La, Resolution 49/2022/NQ-HĐND: 10% from 2023-01-01 for the supported groups, still in force in 2030.
    assert rates.to_list() == [0, SCALE // 10, 0, 0, SCALE // 10, 0]


def test_household_members_each_get_the_province_share_of_their_own_amount():
    p = with_household_support("14", "0.25", "2024-07-01")
    before = household_hi_single(HouseholdHIInput(members=3, on=date(2024, 6, 30), province="14"), p)
    after = household_hi_single(HouseholdHIInput(members=3, on=date(2024, 7, 1), province="14"), p)
    # Before: base salary 1,800,000 (Decree 24/2023) × 4.5% = 81,000; 70% 56,700; 60% 48,600; no support.
    assert [m["monthly_payable"] for m in before["members"]] == [81_000, 56_700, 48_600]
    # From 2024-07-01: 4.5% × 2,340,000 = 105,300; 73,710; 63,180. 25% of each, rounded halves up: 26,325 (105,300
    # / 4 exactly); 18,427.5 → 18,428; 15,795. Payable 78,975, 55,282, 47,385 = 181,642 a month.
    assert [m["monthly_province_support"] for m in after["members"]] == [26_325, 18_428, 15_795]
    assert [m["monthly_payable"] for m in after["members"]] == [78_975, 55_282, 47_385]
    assert after["total_province_support_annual"] == 12 * 60_548 == 726_576
    assert after["total_payable_annual"] == 12 * 181_642 == 2_179_704
    assert after["total_annual"] == after["total_payable_annual"] + after["total_province_support_annual"]
    elsewhere = household_hi_single(HouseholdHIInput(members=3, on=date(2024, 7, 1), province="01"), p)
    assert elsewhere["total_payable_annual"] == elsewhere["total_annual"] == 12 * 242_190


dates = st.dates(min_value=date(2022, 1, 1), max_value=date(2026, 12, 31))
provinces = st.sampled_from(["14", "01", None])


@st.composite
def voluntary_cases(draw):
    # incomes inside the band of every date drawn: floor 1,500,000 (2022-2026), cap 20 × 1,490,000 (until 2023-06)
    return {"income": draw(st.integers(min_value=1_500_000, max_value=29_800_000)), "on": draw(dates),
            "group": draw(st.sampled_from(GROUPS)), "months": draw(st.sampled_from([1, 3, 6, 12])),
            "province": draw(provinces)}


@settings(max_examples=15, deadline=None)
@given(voluntary_cases())
def test_province_support_never_exceeds_what_the_state_leaves_and_only_son_la_from_2023_gives_it(case):
    result = voluntary_single(VoluntaryInput(**case), P)
    assert 0 <= result["province_support"] <= result["due"] - result["state_support"]
    assert result["payable"] == result["due"] - result["state_support"] - result["province_support"]
    supported = (case["province"] == "14" and case["on"] >= date(2023, 1, 1)
                 and case["group"] in ("poor", "near_poor", "ethnic_minority"))
    # Sơn La's 10% of the support base 330,000 (22% × 1,500,000, the line of 2022-2026) = 33,000 a month.
    assert result["monthly_province_support"] == (33_000 if supported else 0)


@settings(max_examples=5, deadline=None)
@given(st.lists(voluntary_cases(), min_size=1, max_size=30), st.lists(provinces, min_size=30, max_size=30))
def test_a_batch_of_several_provinces_gives_the_single_answers(rows, household_provinces):
    batch = voluntary_columns(pl.DataFrame(rows, schema_overrides={"province": pl.String}), P)
    for row, case in zip(batch.iter_rows(named=True), rows):
        assert row["payable"] == voluntary_single(VoluntaryInput(**case), P)["payable"]
    p = with_household_support("14", "0.3", "2023-01-01")
    households = pl.DataFrame({"members": [1 + i % 5 for i in range(len(rows))], "on": [r["on"] for r in rows],
                               "province": household_provinces[:len(rows)]}, schema_overrides={"province": pl.String})
    together = household_hi_columns(households, p)
    for row, alone in zip(together.iter_rows(named=True), households.iter_rows(named=True)):
        single = household_hi_single(HouseholdHIInput(**alone), p)
        assert row["total_payable_annual"] == single["total_payable_annual"]
