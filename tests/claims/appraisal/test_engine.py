"""The engine: how findings add up, the registry, and properties over random batches (hypothesis)."""

from __future__ import annotations

import random
import string
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ansinh.claims.appraisal.engine import AppraisalBatch, appraise
from ansinh.claims.appraisal.rules import AppraisalRule, appraisal_rules, register_rule
from ansinh.claims.intake.parser import INTAKE_PARAMETERS
from ansinh.rules.parameters import get_parameters, track_parameter_use
from tests.claims.appraisal.builders import (
    DAY,
    at,
    batch,
    bed,
    card_code,
    cards_of,
    claim,
    coverage_of,
    drug,
    facilities_of,
    icd_known,
    inpatient,
    line,
    people_of,
    with_totals,
)

# --- adding up --------------------------------------------------------------------------------------------------


def test_a_line_refused_by_two_rules_loses_the_larger_amount_not_the_sum():
    # a drug dearer than approved (price excess) and ordered before arrival (the whole line)
    lines = [drug(1, price=1_500, quantity=10, unit_price_milli=1_800_000, ordered_at=at(DAY, 7),
                  performed_at=at(DAY, 8, 30)), line(2, when=at(DAY, 8, 30))]
    prices = pl.DataFrame({"facility_code": ["01001", "01001"], "kind": ["drug", "service"],
                           "code": ["40.17", "02.1896"], "price": [1_500, 38_700],
                           "valid_from": [date(2025, 1, 1)] * 2, "in_force_until": [None, None]})
    result = appraise(batch([claim()], lines, prices=prices))
    rules = result.findings.filter(pl.col("line_id") == 1)["rule"].to_list()
    assert rules == ["ORDER_OUTSIDE_STAY", "PRICE_ABOVE"]
    assert result.lines.filter(pl.col("line_id") == 1).row(0, named=True) == {
        "line_id": 1, "claim_id": 1, "fund_amount": 12_000, "disallowed": 12_000, "outcome": "rejected"}
    assert result.claims.row(0, named=True) == {"claim_id": 1, "fund_claimed": 42_960, "disallowed": 12_000,
                                                "outcome": "partly_accepted", "findings": 2, "flags": 0}


def test_a_claim_never_loses_more_than_its_fund_claimed():
    rows = with_totals([claim()], [line(1)])
    row = {**rows[0], "fund_claimed": 30_960 + 500}  # claims 500 more than its lines: TOTALS refuses 500
    cards = cards_of([claim()]).with_columns(status=pl.lit("suspended"))  # and the card refuses all
    result = appraise(batch([row], [line(1)], cards=cards))
    assert set(result.findings["rule"]) == {"CARD_NOT_VALID", "TOTALS"}
    assert result.claims.row(0, named=True)["disallowed"] == 31_460
    assert result.claims.row(0, named=True)["outcome"] == "rejected"


def test_flags_leave_a_claim_accepted_and_are_counted():
    result = appraise(batch([claim(treatment_days=2)], [line(1)]))
    assert result.findings["rule"].to_list() == ["CARE_DAYS"]
    assert result.claims.row(0, named=True) == {"claim_id": 1, "fund_claimed": 30_960, "disallowed": 0,
                                                "outcome": "accepted", "findings": 1, "flags": 1}


def test_a_rule_applies_only_to_visits_within_its_dates():
    # the bed rules start on 2018-07-15 (Circular 15/2018/TT-BYT): a short stay the day before is not checked
    def short(day):
        return inpatient(day=day, admitted_at=at(day, 9), discharged_at=at(day, 10), treatment_days=1)

    rule = [appraisal_rules()["BED_UNDER_4H"]]
    before = date(2018, 7, 14)
    assert appraise(batch([short(before)], [bed(1, when=at(before, 9))], prices=None), rule).findings.is_empty()
    first = date(2018, 7, 15)
    assert appraise(batch([short(first)], [bed(1, when=at(first, 9))], prices=None), rule).findings.height == 1


def test_claims_outside_a_rules_dates_still_count_for_claims_inside():
    """A claim before a rule's first day gets no finding from it but still counts for the claims after."""
    import dataclasses

    first_day = DAY + timedelta(days=1)
    rule = dataclasses.replace(appraisal_rules()["OVERLAPPING_STAYS"], valid_from=first_day)
    before = inpatient(1, day=DAY, days=3)
    inside = inpatient(2, day=first_day, days=3, facility_code="01002")
    found = appraise(batch([before, inside], [line(1, 1), line(2, 2)]), [rule]).findings
    assert found["claim_id"].to_list() == [2]
    assert appraise(batch([before, inside], [line(1, 1), line(2, 2)]),
                    [appraisal_rules()["OVERLAPPING_STAYS"]]).findings["claim_id"].to_list() == [1, 2]


# --- the registry -------------------------------------------------------------------------------------------------

REQUIRED_RULES = {"CARD_NOT_VALID", "CARD_MISMATCH", "NO_CONTRACT", "BENEFIT_LEVEL", "TOTALS", "PRICE_ABOVE",
                  "NOT_IN_PRICE_LIST", "ICD_UNKNOWN", "CARE_DAYS", "BED_UNDER_4H", "BED_DAYS", "ORDER_OUTSIDE_STAY",
                  "EXAM_FEE_TWICE", "OVERLAPPING_STAYS", "DUPLICATE", "SAME_DAY_VISITS", "MANY_VISITS"}


def test_every_rule_is_declared_once_with_descriptions_reference_and_dates():
    rules = appraisal_rules()
    assert REQUIRED_RULES <= set(rules)
    parameters = get_parameters()
    for code, rule in rules.items():
        assert code == rule.code and set(code) <= set(string.ascii_uppercase + string.digits + "_")
        assert rule.description_en.strip() and rule.description_vi.strip() and rule.reference.strip()
        assert rule.level in ("claim", "line")
        for name in rule.parameters:
            assert rule.valid_from >= parameters[name].first_date, (code, name)
    with pytest.raises(ValueError, match="already registered"):
        register_rule(AppraisalRule(**{**rules["TOTALS"].__dict__, "description_en": "another"}))


def test_every_claims_parameter_is_read_by_a_rule_that_declares_it():
    declared = {name for rule in appraisal_rules().values() for name in rule.parameters}
    # the claims parameters of intake (read by the parser, tested there) are not the rules'
    # nor are the review's (the spot-check sample) and the cost monitoring's (tests/claims/monitoring)
    claims_parameters = {name for name in get_parameters().names() if name.startswith("claims.")
                         and name not in INTAKE_PARAMETERS
                         and not name.startswith(("claims.review.", "claims.monitoring."))}
    assert claims_parameters <= declared and not declared & set(INTAKE_PARAMETERS)
    # and a batch that trips every rule reads every dated entry of them
    with track_parameter_use() as hits:
        appraise(_everything_batch())
    for name in claims_parameters:
        entries = get_parameters()[name].values
        assert hits.get(name) == set(range(len(entries))), name


def _everything_batch() -> AppraisalBatch:
    stay = inpatient(1, days=30, day=DAY)
    cards = cards_of([stay]).with_columns(valid_until=pl.lit(DAY + timedelta(days=2)))
    lines = [bed(1, days=1, when=at(DAY, 10)), line(2, when=at(DAY, 10)), line(3, when=at(DAY, 11)),
             bed(5, days=1, when=at(DAY + timedelta(days=20), 10))]
    return batch([stay, claim(2, person_id=2)], lines + [line(4, 2)], cards=pl.concat(
        [cards, cards_of([claim(2, person_id=2)])]))


# --- properties over random batches -------------------------------------------------------------------------------

ITEMS = {  # kind, code, cost group, approved price (None: not in the list)
    "exam": ("service", "02.1896", "13", 38_700), "xray": ("service", "18.0001", "8", 1_000_000),
    "drug": ("drug", "40.17", "4", 1_500), "unlisted": ("drug", "40.99", "4", None),
    "bed": ("bed", "K01.1941", "14", 200_000),
}


def _spec(generator, span: int = 40) -> dict:
    """One random claim: who, where, when, what care, how it is coded and paid, and its lines."""
    care = generator.choice(["01", "01", "03", "02"])
    return {"person_id": generator.choice([1, 1, 2, 3, None]), "facility": generator.choice(["01001", "01002"]),
            "day": DAY + timedelta(days=generator.randint(0, span)), "care": care, "hour": generator.randint(6, 20),
            "days": generator.randint(0, 5) if care != "01" else 0, "days_off": generator.choice([0, 0, 0, 0, 1]),
            "extra_fund": generator.choice([0, 0, 0, 5, -5, 1_000]),
            "category": generator.choice(["1.1", "1.1", "1.12", "3.1", "2"]),
            "icd": generator.choice(["J06.9", "J06.9", "X99"]),
            "lines": [{"item": generator.choice(sorted(ITEMS)), "quantity": generator.choice([0.5, 1, 2, 3]),
                       "markup": generator.choice([0, 0, 0, 1, 300]), "benefit": generator.choice([80, 80, 95, 100]),
                       "offset_hours": generator.randint(-2, 150)} for _ in range(generator.randint(0, 4))]}


#: A random claim from a seed (hypothesis draws and shrinks the seeds).
claim_specs = st.integers(0, 2**32 - 1).map(lambda seed: _spec(random.Random(seed)))


def build(specs: list[dict]) -> tuple[list[dict], list[dict]]:
    claims, lines = [], []
    line_id = 0
    for claim_id, spec in enumerate(specs, start=1):
        start = at(spec["day"], spec["hour"])
        end = start + timedelta(days=spec["days"], hours=1)
        claims.append(claim(
            claim_id, person_id=spec["person_id"], day=spec["day"], facility_code=spec["facility"],
            care_type=spec["care"], arrived_at=start, discharged_at=end, visit_category=spec["category"],
            main_icd=spec["icd"],
            treatment_days=(spec["days"] + 1 if spec["care"] != "01" else 0) + spec["days_off"]))
        for item in spec["lines"]:
            line_id += 1
            kind, code, group, price = ITEMS[item["item"]]
            when = start + timedelta(hours=item["offset_hours"])
            lines.append(line(line_id, claim_id, kind=kind, code=code, cost_group=group,
                              price=(price or 5_000) + item["markup"], quantity=item["quantity"],
                              benefit=item["benefit"], when=when))
    claims = with_totals(claims, lines)
    for row, spec in zip(claims, specs):
        row["fund_claimed"] = max(0, row["fund_claimed"] + spec["extra_fund"])
    return claims, lines


def frames(claims: list[dict], lines: list[dict]) -> dict:
    listed = [(facility, kind, code, price) for facility in ("01001", "01002")
              for kind, code, _, price in ITEMS.values() if price is not None]
    prices = pl.DataFrame(listed, schema={"facility_code": pl.String, "kind": pl.String, "code": pl.String,
                                          "price": pl.Int64}, orient="row").with_columns(
        valid_from=pl.lit(date(2025, 1, 1)), in_force_until=pl.lit(None, pl.Date))
    everyone = [claim(1, person_id=person) for person in (1, 2, 3)]
    cards = cards_of(everyone).with_columns(  # person 3's card ends on the 20th day
        valid_until=pl.when(pl.col("person_id") == 3).then(pl.lit(DAY + timedelta(days=20)))
        .otherwise(pl.col("valid_until")))
    days = [claim(1, facility_code=facility, day=DAY + timedelta(days=offset))
            for facility in ("01001", "01002") for offset in range(41)]
    return {"people": people_of(everyone), "cards": cards, "coverage": coverage_of(everyone),
            "facilities": facilities_of(days), "prices": prices}


def make(claims: list[dict], lines: list[dict], **extra) -> AppraisalBatch:
    line_frame = pl.DataFrame(lines, infer_schema_length=None) if lines else pl.DataFrame(
        schema={"line_id": pl.Int64, "claim_id": pl.Int64, "fund_amount": pl.Int64})
    return AppraisalBatch(claims=pl.DataFrame(claims, infer_schema_length=None), lines=line_frame,
                          icd_known=icd_known, **{**frames(claims, lines), **extra})


batches = st.lists(claim_specs, min_size=1, max_size=12)
PROPERTY = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(batches)
def test_disallowed_never_exceeds_what_was_claimed(specs):
    claims, lines = build(specs)
    result = appraise(make(claims, lines))
    outcome = result.claims
    assert (outcome["disallowed"] >= 0).all()
    assert (outcome["disallowed"] <= outcome["fund_claimed"]).all()
    per_line = result.lines
    assert (per_line["disallowed"] >= 0).all()
    assert (per_line["disallowed"] <= per_line["fund_amount"].clip(lower_bound=0)).all()
    assert (result.findings["amount"] >= 0).all()
    assert set(outcome["outcome"]) <= {"accepted", "partly_accepted", "rejected"}
    rejected = outcome.filter(pl.col("outcome") == "rejected")
    assert ((rejected["disallowed"] == rejected["fund_claimed"])).all()


@PROPERTY
@given(batches, st.randoms(use_true_random=False))
def test_the_same_data_gives_the_same_findings_in_any_order(specs, rng):
    claims, lines = build(specs)
    first = appraise(make(claims, lines))
    again = appraise(make(claims, lines))
    shuffled_claims, shuffled_lines = claims[:], lines[:]
    rng.shuffle(shuffled_claims)
    rng.shuffle(shuffled_lines)
    extra = frames(claims, lines)
    shuffled = appraise(make(shuffled_claims, shuffled_lines,
                             **{name: frame.sample(fraction=1.0, shuffle=True, seed=rng.randint(0, 10**6))
                                for name, frame in extra.items()}))
    for other in (again, shuffled):
        assert_frame_equal(first.findings, other.findings)
        assert_frame_equal(first.lines, other.lines)
        assert_frame_equal(first.claims, other.claims)


@PROPERTY
@given(batches, st.data())
def test_a_claim_alone_gives_what_it_gives_inside_the_batch(specs, data):
    claims, lines = build(specs)
    whole = appraise(make(claims, lines))
    chosen = data.draw(st.sampled_from([row["claim_id"] for row in claims]))
    mine = [row for row in claims if row["claim_id"] == chosen]
    history = [{key: row[key] for key in ("claim_id", "facility_code", "person_id", "card_code", "care_type",
                                          "arrived_at", "admitted_at", "discharged_at")}
               for row in claims if row["claim_id"] != chosen]
    alone = appraise(make(mine, [item for item in lines if item["claim_id"] == chosen],
                          history=pl.DataFrame(history, infer_schema_length=None) if history else None))
    assert_frame_equal(alone.findings, whole.findings.filter(pl.col("claim_id") == chosen))
    assert_frame_equal(alone.claims, whole.claims.filter(pl.col("claim_id") == chosen))
    assert_frame_equal(alone.lines, whole.lines.filter(pl.col("claim_id") == chosen))


def test_the_random_batches_trip_every_rule():
    """The generator of the property tests is not too tame: a fixed sample of its batches trips every rule (but the
    contract and the card code, which its registry always matches)."""
    seen: set[str] = set()
    generator = random.Random(7)
    for size, span in ((10, 40), (30, 10)):
        for _ in range(10):
            claims, lines = build([_spec(generator, span) for _ in range(size)])
            seen |= set(appraise(make(claims, lines)).findings["rule"])
    assert REQUIRED_RULES - seen == {"NO_CONTRACT", "CARD_MISMATCH"} - seen


def test_card_code_helper_is_the_registry_shape():
    assert card_code(1) == "DN4010000000001" and len(card_code(12)) == 15
