"""Every appraisal rule on both sides of its condition: a claim that just passes, one that just fails."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl
import pytest

from ansinh.claims.appraisal.engine import appraise
from ansinh.claims.appraisal.rules import appraisal_rules, describe
from ansinh.i18n import use_locale
from tests.claims.appraisal.builders import (
    BIRTH,
    DAY,
    EXAM_PRICE,
    at,
    batch,
    bed,
    card_code,
    cards_of,
    claim,
    drug,
    inpatient,
    line,
    prices_of,
    with_totals,
)


def found(the_batch, code: str) -> list[dict]:
    """The findings of one rule, with their details decoded."""
    result = appraise(the_batch, [appraisal_rules()[code]])
    rows = result.findings.to_dicts()
    for row in rows:
        row["details"] = json.loads(row["details"])
    return rows


def only(the_batch, code: str) -> dict:
    rows = found(the_batch, code)
    assert len(rows) == 1, rows
    return rows[0]


# --- card and person ------------------------------------------------------------------------------------

def test_card_mismatch_passes_a_card_and_birth_date_of_the_registry():
    assert found(batch([claim()], [line()]), "CARD_MISMATCH") == []


def test_card_mismatch_refuses_a_card_code_not_the_persons():
    hit = only(batch([claim(card_code=card_code(2))], [line()]), "CARD_MISMATCH")
    assert hit["details"]["reason"] == "card_code" and hit["details"]["card_code"] == card_code(2)
    assert hit["amount"] == 30_960 and hit["line_id"] is None


def test_card_mismatch_checks_every_code_of_a_claim_with_two_cards():
    other = card_code(1, digit=2, group="HT")
    cards = pl.concat([cards_of([claim()]), cards_of([claim()]).with_columns(card_code=pl.lit(other))])
    assert found(batch([claim(card_code=f"{card_code(1)};{other}")], [line()], cards=cards), "CARD_MISMATCH") == []
    hit = only(batch([claim(card_code=f"{card_code(1)};XX4019999999999")], [line()], cards=cards), "CARD_MISMATCH")
    assert hit["details"]["card_code"] == "XX4019999999999"


def test_card_mismatch_refuses_a_birth_date_one_day_off_and_an_unknown_person():
    hit = only(batch([claim(date_of_birth=BIRTH + timedelta(days=1))], [line()]), "CARD_MISMATCH")
    assert hit["details"] == {"reason": "date_of_birth", "card_code": card_code(1),
                              "date_of_birth": "1980-05-02", "registry_date_of_birth": "1980-05-01"}
    assert only(batch([claim(person_id=None)], [line()]), "CARD_MISMATCH")["details"]["reason"] == "unknown_person"


def test_card_not_valid_on_the_last_day_of_the_card_and_the_day_after():
    cards = cards_of([claim()]).with_columns(valid_until=pl.lit(DAY))
    assert found(batch([claim()], [line()], cards=cards), "CARD_NOT_VALID") == []
    cards = cards.with_columns(valid_until=pl.lit(DAY - timedelta(days=1)))
    hit = only(batch([claim()], [line()], cards=cards), "CARD_NOT_VALID")
    assert hit["details"]["reason"] == "no_card" and hit["amount"] == 30_960


def test_card_not_valid_when_suspended_replaced_or_without_coverage():
    suspended = cards_of([claim()]).with_columns(status=pl.lit("suspended"))
    assert only(batch([claim()], [line()], cards=suspended), "CARD_NOT_VALID")["details"]["reason"] == "suspended"
    new_code = card_code(1, digit=3, group="HT")
    replaced = pl.concat([
        cards_of([claim()]).with_columns(superseded_on=pl.lit(DAY)),  # replaced on the visit day itself
        cards_of([claim()]).with_columns(card_code=pl.lit(new_code), valid_from=pl.lit(DAY))])
    assert only(batch([claim()], [line()], cards=replaced), "CARD_NOT_VALID")["details"]["reason"] == "replaced"
    still = replaced.with_columns(superseded_on=pl.when(pl.col("card_code") == card_code(1))
                                  .then(pl.lit(DAY + timedelta(days=1))))
    assert found(batch([claim()], [line()], cards=still), "CARD_NOT_VALID") == []
    coverage = pl.DataFrame({"person_id": [1], "valid_from": [date(2025, 1, 1)], "valid_to": [DAY - timedelta(days=1)]})
    assert only(batch([claim()], [line()], coverage=coverage), "CARD_NOT_VALID")["details"]["reason"] == "no_coverage"


def test_a_refused_card_rejects_every_line_of_the_claim():
    cards = cards_of([claim()]).with_columns(status=pl.lit("suspended"))
    result = appraise(batch([claim()], [line(1), drug(2)], cards=cards), [appraisal_rules()["CARD_NOT_VALID"]])
    assert result.lines["outcome"].to_list() == ["rejected", "rejected"]
    assert result.claims.row(0, named=True)["outcome"] == "rejected"
    assert result.claims["disallowed"][0] == result.claims["fund_claimed"][0]


def test_card_expired_during_the_stay_pays_15_days_after_its_end():
    end = DAY + timedelta(days=2)
    cards = cards_of([inpatient(days=20)]).with_columns(valid_until=pl.lit(end))
    lines = [bed(1, days=1, when=at(end + timedelta(days=15), 10)), bed(2, days=1, when=at(end + timedelta(days=16), 10))]
    hits = found(batch([inpatient(days=20)], lines, cards=cards), "CARD_EXPIRED_DURING_STAY")
    assert [hit["line_id"] for hit in hits] == [2]
    assert hits[0]["details"] == {"day": "2026-03-28", "grace_days": 15, "valid_until": "2026-03-12"}


def test_card_expired_during_the_stay_is_not_checked_before_decree_188():
    day = date(2025, 6, 1)
    end = day + timedelta(days=2)
    cards = cards_of([inpatient(day=day, days=30)]).with_columns(valid_until=pl.lit(end))
    lines = [bed(1, days=1, when=at(end + timedelta(days=20), 10))]
    assert found(batch([inpatient(day=day, days=30)], lines, cards=cards), "CARD_EXPIRED_DURING_STAY") == []


# --- facility ----------------------------------------------------------------------------------------------

def test_no_contract():
    assert found(batch([claim()], [line()]), "NO_CONTRACT") == []
    hit = only(batch([claim()], [line()], contract=False), "NO_CONTRACT")
    assert hit["details"] == {"day": "2026-03-10", "facility_code": "01001"} and hit["amount"] == 30_960
    empty = pl.DataFrame(schema={"facility_code": pl.String, "on": pl.Date})
    assert only(batch([claim()], [line()], facilities=empty), "NO_CONTRACT")["amount"] == 30_960


# --- benefit level ---------------------------------------------------------------------------------------------

def expensive(claim_id: int = 1, *, benefit: int = 80, **values) -> tuple[dict, list[dict]]:
    """A visit costing 1,000,000 (above the low-cost threshold)."""
    return claim(claim_id, **values), [line(claim_id, claim_id, code="18.0001", price=1_000_000, cost_group="8",
                                            benefit=benefit)]


def test_benefit_level_at_the_card_level_passes_and_one_point_above_fails():
    row, lines = expensive(benefit=80)
    assert found(batch([row], lines), "BENEFIT_LEVEL") == []
    row, lines = expensive(benefit=81)
    hit = only(batch([row], lines), "BENEFIT_LEVEL")
    assert hit["amount"] == 10_000
    assert hit["details"] == {"allowed_pct": 80.0, "case": "referred", "claimed_pct": 81, "clause": "22(3)",
                              "visit_category": "1.1"}


def test_benefit_level_of_a_self_referred_outpatient_at_a_basic_facility_by_its_score():
    # 1.12 claims "under 50 points": at a facility of 50 points nothing was due until 2026-06-30, half from 2026-07-01
    new = {"former_level": None}  # a facility without a level before 2025
    row, lines = expensive(visit_category="1.12")
    hit = only(batch([row], lines, score=50, **new), "BENEFIT_LEVEL")
    assert hit["details"]["case"] == "basic_outpatient_score_50_to_70" and hit["amount"] == 800_000
    assert found(batch([row], lines, score=49, **new), "BENEFIT_LEVEL") == []
    july = date(2026, 7, 1)
    row, lines = expensive(visit_category="1.12", day=july)
    assert only(batch([row], lines, score=50, **new), "BENEFIT_LEVEL")["amount"] == 400_000
    row, lines = expensive(visit_category="1.12", day=july, benefit=40)
    assert found(batch([row], lines, score=50, **new), "BENEFIT_LEVEL") == []
    # formerly a district hospital: 100% of the level whatever the score (Art 22(4)(đ))
    row, lines = expensive(visit_category="1.12")
    assert found(batch([row], lines, score=50, former_level="district"), "BENEFIT_LEVEL") == []


def test_benefit_level_counts_the_low_cost_rule_and_five_years():
    # under 15% of the base salary the fund pays 100% whatever the card level
    cheap = [line(1, code="18.0001", price=351_000 - 1, cost_group="8", benefit=100)]
    assert found(batch([claim()], cheap), "BENEFIT_LEVEL") == []
    at_threshold = [line(1, code="18.0001", price=351_000, cost_group="8", benefit=100)]
    assert only(batch([claim()], at_threshold), "BENEFIT_LEVEL")["amount"] == 351_000 - 280_800
    five = cards_of([claim()]).with_columns(five_years_from=pl.lit(date(2024, 1, 1)))
    assert found(batch([claim()], at_threshold, cards=five), "BENEFIT_LEVEL") == []


def test_benefit_level_skips_visits_before_2025_and_categories_without_a_case():
    row, lines = expensive(benefit=100, day=date(2024, 12, 31))
    assert found(batch([row], lines), "BENEFIT_LEVEL") == []
    row, lines = expensive(benefit=100, visit_category="9")
    assert found(batch([row], lines), "BENEFIT_LEVEL") == []


def test_benefit_level_of_an_inpatient_self_referred_at_a_former_central_specialised_hospital():
    stay = inpatient(visit_category="3.1")
    lines = [line(1, code="18.0001", price=1_000_000, cost_group="8", benefit=32, when=at(DAY, 10))]
    assert found(batch([stay], lines, level_2025="specialised", former_level="central", score=None),
                 "BENEFIT_LEVEL") == []
    lines = [line(1, code="18.0001", price=1_000_000, cost_group="8", benefit=80, when=at(DAY, 10))]
    hit = only(batch([stay], lines, level_2025="specialised", former_level="central", score=None), "BENEFIT_LEVEL")
    assert hit["amount"] == 800_000 - 320_000 and hit["details"]["allowed_pct"] == 32.0


# --- totals --------------------------------------------------------------------------------------------------

def test_totals_within_a_dong_per_line_pass_and_beyond_fail():
    lines = [line(1), drug(2)]
    assert found(batch([claim(fund_claimed=30_960 + 12_000 + 2)], lines), "TOTALS") == []
    hit = only(batch([claim(fund_claimed=30_960 + 12_000 + 3)], lines), "TOTALS")
    assert hit["details"]["reason"] == "fund_lines" and hit["amount"] == 3


def test_totals_fund_formula_and_summary_amounts():
    lines = [line(1)]
    rows = with_totals([claim()], lines)
    hit = only(batch([{**rows[0], "patient_copay": rows[0]["patient_copay"] + 100}], lines), "TOTALS")
    assert hit["details"]["reason"] == "fund_formula" and hit["amount"] == 100
    hit = only(batch([{**rows[0], "total_hospital": EXAM_PRICE + 5}], lines), "TOTALS")
    assert hit["details"]["reason"] == "hospital_lines" and hit["amount"] == 0
    hit = only(batch([{**rows[0], "total_insured": EXAM_PRICE - 5, "patient_copay": EXAM_PRICE - 5 - 30_960}], lines),
               "TOTALS")
    assert hit["details"]["reason"] == "insured_lines"


# --- prices ----------------------------------------------------------------------------------------------------

def test_price_above_the_approved_price_refuses_the_fund_share_of_the_excess():
    lines = [drug(1, price=1_500, quantity=10, benefit=80)]
    prices = prices_of([claim()], lines)
    assert found(batch([claim()], lines, prices=prices), "PRICE_ABOVE") == []
    dearer = [drug(1, price=1_500, quantity=10, benefit=80, unit_price_milli=1_500_001)]
    hit = only(batch([claim()], dearer, prices=prices), "PRICE_ABOVE")
    assert hit["amount"] == 0  # 0.001 dong × 10 × 80% rounds to nothing
    dearer = [drug(1, price=1_500, quantity=10, benefit=80, rate=50, unit_price_milli=1_800_000)]
    hit = only(batch([claim()], dearer, prices=prices), "PRICE_ABOVE")
    assert hit["amount"] == 300 * 10 * 50 * 80 // 10_000
    assert hit["details"] == {"approved_price": 1500, "code": "40.17", "day": "2026-03-10", "quantity": 10.0,
                              "unit_price": 1800.0}


def test_price_in_force_on_the_day_of_the_line():
    lines = [drug(1, price=1_600, when=at(DAY, 10))]
    prices = pl.DataFrame({"facility_code": ["01001", "01001"], "kind": ["drug", "drug"], "code": ["40.17", "40.17"],
                           "price": [1_500, 1_600], "valid_from": [date(2025, 1, 1), DAY],
                           "in_force_until": [DAY - timedelta(days=1), None]})
    assert found(batch([claim()], lines, prices=prices), "PRICE_ABOVE") == []
    # the day before, the new price was not yet in force
    yesterday = DAY - timedelta(days=1)
    early = [drug(1, price=1_600, when=at(yesterday, 10))]
    hits = found(batch([claim(day=yesterday)], early, prices=prices), "PRICE_ABOVE")
    assert [(hit["details"]["approved_price"], hit["details"]["day"]) for hit in hits] == [(1_500, "2026-03-09")]


def test_not_in_price_list_on_the_day():
    lines = [drug(1)]
    prices = prices_of([claim()], lines)
    assert found(batch([claim()], lines, prices=prices), "NOT_IN_PRICE_LIST") == []
    ended = prices.with_columns(in_force_until=pl.lit(DAY - timedelta(days=1)))
    hit = only(batch([claim()], lines, prices=ended), "NOT_IN_PRICE_LIST")
    assert hit["amount"] == 12_000 and hit["details"]["kind"] == "drug"
    later = prices.with_columns(valid_from=pl.lit(DAY + timedelta(days=1)))
    assert only(batch([claim()], lines, prices=later), "NOT_IN_PRICE_LIST")["line_id"] == 1
    other_facility = prices.with_columns(facility_code=pl.lit("01002"))
    assert only(batch([claim()], lines, prices=other_facility), "NOT_IN_PRICE_LIST")["line_id"] == 1


def test_price_rules_need_the_price_lists():
    assert found(batch([claim()], [drug(1)], prices=None), "NOT_IN_PRICE_LIST") == []


# --- diagnosis --------------------------------------------------------------------------------------------------

def test_icd_unknown_main_refuses_the_claim_and_secondary_is_a_flag():
    assert found(batch([claim(other_icd="I10;E11.9")], [line()]), "ICD_UNKNOWN") == []
    hit = only(batch([claim(main_icd="J06.99")], [line()]), "ICD_UNKNOWN")
    assert hit["details"] == {"codes": "J06.99", "reason": "main"} and hit["amount"] == 30_960
    hit = only(batch([claim(other_icd="I10; X99.9;Z00")], [line()]), "ICD_UNKNOWN")
    assert hit["details"] == {"codes": "X99.9;Z00", "reason": "secondary"} and hit["amount"] == 0
    assert only(batch([claim(main_icd=None)], [line()]), "ICD_UNKNOWN")["details"]["reason"] == "main"


# --- days, beds, times -------------------------------------------------------------------------------------------

def test_care_days_by_care_type():
    assert found(batch([claim(treatment_days=0), inpatient(2, person_id=2, days=3)], [line()]), "CARE_DAYS") == []
    hits = found(batch([claim(treatment_days=1), inpatient(2, person_id=2, days=3, treatment_days=3)], [line()]),
                 "CARE_DAYS")
    assert [(hit["claim_id"], hit["details"]["expected"], hit["amount"]) for hit in hits] == [(1, 0, 0), (2, 4, 0)]


def test_care_days_of_chronic_care_with_services_counts_the_days_with_a_service():
    row = claim(care_type="08", discharged_at=at(DAY + timedelta(days=20), 9), treatment_days=2)
    lines = [line(1, code="37.8B00", cost_group="8", when=at(DAY, 9)),
             line(2, code="37.8B00", cost_group="8", when=at(DAY + timedelta(days=2), 9)),
             line(3, code="37.8B00", cost_group="8", when=at(DAY + timedelta(days=2), 15))]
    assert found(batch([row], lines), "CARE_DAYS") == []
    assert only(batch([{**row, "treatment_days": 3}], lines), "CARE_DAYS")["details"]["expected"] == 2


def test_bed_under_4_hours():
    start = at(DAY, 9)
    ok = inpatient(admitted_at=start, discharged_at=start + timedelta(hours=4), care_type="03", treatment_days=1)
    assert found(batch([ok], [bed(1, days=1, when=start)]), "BED_UNDER_4H") == []
    short = {**ok, "discharged_at": start + timedelta(hours=3, minutes=59)}
    hit = only(batch([short], [bed(1, days=1, when=start), drug(2, when=start)]), "BED_UNDER_4H")
    assert hit["line_id"] == 1 and hit["details"] == {"hours": 4, "minutes": 239} and hit["amount"] == 160_000


def test_bed_days_above_the_stay_plus_one():
    stay = inpatient(days=3)  # admitted day 0, discharged day 3: 3 + 1 bed days allowed
    lines = [bed(1, days=2, when=at(DAY, 10)), bed(2, days=2, when=at(DAY + timedelta(days=2), 10))]
    assert found(batch([stay], lines), "BED_DAYS") == []
    lines = [bed(1, days=2, when=at(DAY, 10)), bed(2, days=2.5, when=at(DAY + timedelta(days=2), 10))]
    hit = only(batch([stay], lines), "BED_DAYS")
    assert hit["line_id"] == 2 and hit["amount"] == 80_000  # half a day of 200,000 at 80%
    assert hit["details"] == {"allowed_days": 4, "bed_days": 4.5}


def test_order_outside_stay():
    stay = inpatient(days=2)
    inside = [line(1, ordered_at=at(DAY, 8), performed_at=at(DAY, 8)),
              drug(2, ordered_at=stay["discharged_at"], performed_at=stay["discharged_at"])]
    assert found(batch([stay], inside), "ORDER_OUTSIDE_STAY") == []
    lines = [line(1, ordered_at=at(DAY, 7, 59), performed_at=at(DAY, 8)),
             drug(2, ordered_at=at(DAY, 9), performed_at=stay["discharged_at"] + timedelta(minutes=1)),
             drug(3, ordered_at=at(DAY, 9), performed_at=at(DAY, 8, 59), code="40.18")]
    hits = found(batch([stay], lines), "ORDER_OUTSIDE_STAY")
    assert [(hit["line_id"], hit["details"]["reason"]) for hit in hits] == [
        (1, "ordered_outside"), (2, "performed_outside"), (3, "performed_before_ordered")]
    assert hits[0]["amount"] == 30_960


def test_exam_fee_twice_in_an_inpatient_stay():
    stay = inpatient(days=3)
    assert found(batch([stay], [line(1, when=at(DAY, 8))]), "EXAM_FEE_TWICE") == []
    hits = found(batch([stay], [line(1, when=at(DAY, 8)), line(2, when=at(DAY + timedelta(days=1), 8))]),
                 "EXAM_FEE_TWICE")
    assert [(hit["line_id"], hit["amount"]) for hit in hits] == [(2, 30_960)]
    # an outpatient examination claim may hold several examinations (several clinics)
    assert found(batch([claim()], [line(1), line(2)]), "EXAM_FEE_TWICE") == []


# --- claims compared with other claims --------------------------------------------------------------------------

def test_overlapping_stays_at_two_facilities():
    first = inpatient(1, days=3)
    after = inpatient(2, day=DAY + timedelta(days=3), facility_code="01002", admitted_at=first["discharged_at"])
    assert found(batch([first, after], [line(1, 1), line(2, 2)]), "OVERLAPPING_STAYS") == []
    overlap = {**after, "admitted_at": first["discharged_at"] - timedelta(minutes=1)}
    hits = found(batch([first, overlap], [line(1, 1), line(2, 2)]), "OVERLAPPING_STAYS")
    assert [(hit["claim_id"], hit["details"]["other_claim_id"], hit["amount"]) for hit in hits] == [(1, 2, 0), (2, 1, 0)]
    same_facility = {**overlap, "facility_code": "01001"}
    assert found(batch([first, same_facility], [line(1, 1), line(2, 2)]), "OVERLAPPING_STAYS") == []


def test_duplicate_keeps_the_first_claim():
    one, two = claim(1), claim(2, arrived_at=at(DAY, 15), discharged_at=at(DAY, 16))
    hit = only(batch([one, two], [line(1, 1), line(2, 2)]), "DUPLICATE")
    assert hit["claim_id"] == 2 and hit["details"]["first_claim_id"] == 1 and hit["amount"] == 30_960
    other_day = claim(2, day=DAY + timedelta(days=1))
    assert found(batch([one, other_day], [line(1, 1), line(2, 2)]), "DUPLICATE") == []
    other_type = claim(2, care_type="02", treatment_days=1)
    assert found(batch([one, other_type], [line(1, 1), line(2, 2)]), "DUPLICATE") == []


def test_duplicate_of_a_claim_received_earlier_in_the_history():
    history = [{"claim_id": 0, "facility_code": "01001", "person_id": 1, "card_code": card_code(1), "care_type": "01",
                "arrived_at": at(DAY, 7), "admitted_at": None, "discharged_at": at(DAY, 7, 30)}]
    assert only(batch([claim(1)], [line(1, 1)], history=history), "DUPLICATE")["details"]["first_claim_id"] == 0


def test_same_day_visits():
    one = claim(1)
    two = claim(2, facility_code="01002", arrived_at=at(DAY, 14), discharged_at=at(DAY, 15))
    hit = only(batch([one, two], [line(1, 1), line(2, 2)]), "SAME_DAY_VISITS")
    assert hit["claim_id"] == 2 and hit["details"] == {"day": "2026-03-10", "first_claim_id": 1, "visits": 2}
    next_day = claim(2, facility_code="01002", day=DAY + timedelta(days=1))
    assert found(batch([one, next_day], [line(1, 1), line(2, 2)]), "SAME_DAY_VISITS") == []


def test_many_visits_in_the_period():
    # 10 visits in 30 days pass; the 11th within 30 days is flagged; the 11th on day 31 is not
    days = [DAY + timedelta(days=3 * index) for index in range(10)]
    claims = [claim(index + 1, day=day, facility_code=f"0100{index % 3 + 1}") for index, day in enumerate(days)]
    lines = [line(index + 1, index + 1) for index in range(10)]
    assert found(batch(claims, lines), "MANY_VISITS") == []
    eleventh = claim(11, day=DAY + timedelta(days=29), facility_code="01005")
    hits = found(batch(claims + [eleventh], lines + [line(11, 11)]), "MANY_VISITS")
    assert [(hit["claim_id"], hit["details"]["visits"]) for hit in hits] == [(11, 11)]
    later = claim(11, day=DAY + timedelta(days=30), facility_code="01005")
    assert found(batch(claims + [later], lines + [line(11, 11)]), "MANY_VISITS") == []


# --- messages ---------------------------------------------------------------------------------------------------

def test_findings_read_as_sentences_in_both_languages():
    hit = found(batch([claim(date_of_birth=BIRTH + timedelta(days=1))], [line()]), "CARD_MISMATCH")[0]
    with use_locale("en"):
        assert describe("CARD_MISMATCH", hit["details"]) == (
            "Date of birth 2 May 1980 differs from the registry's 1 May 1980: the whole claim is refused.")
    with use_locale("vi"):
        assert describe("CARD_MISMATCH", json.dumps(hit["details"])) == (
            "Ngày sinh 02/05/1980 khác ngày sinh 01/05/1980 trong dữ liệu quản lý: từ chối toàn bộ hồ sơ.")


def test_amounts_and_moments_in_messages_are_written_the_readers_way():
    """A whole price has no ``.0``, a fraction and large amounts are grouped per language, local moments stay
    Vietnam's, ids are not grouped."""
    price = {"unit_price": 12500.5, "approved_price": 12000.0, "code": "40.17", "day": "2026-11-10"}
    with use_locale("vi"):
        assert describe("PRICE_ABOVE", price).startswith("Đơn giá 12.500,5 của 40.17 cao hơn giá được duyệt 12.000 "
                                                         "ngày 10/11/2026")
    with use_locale("en"):
        assert describe("PRICE_ABOVE", price).startswith("Unit price 12,500.5 of 40.17 is above the approved price "
                                                         "12,000 on 10 Nov 2026")
        duplicate = describe("DUPLICATE", {"day": "2026-11-10", "first_claim_id": 1234567})
        assert "1234567" in duplicate and "1,234,567" not in duplicate


@pytest.mark.parametrize("code", sorted(appraisal_rules()))
def test_every_message_of_every_rule_formats_with_the_details_it_gets(code):
    """Each placeholder of a rule's messages is a key its details carry (checked on a batch that trips them)."""
    import string

    rule = appraisal_rules()[code]
    for reason, message in rule.messages.items():
        names = {name for _, name, _, _ in string.Formatter().parse(message) if name}
        assert names <= KNOWN_DETAILS[code], (code, reason, names - KNOWN_DETAILS[code])


KNOWN_DETAILS = {
    "BED_DAYS": {"bed_days", "allowed_days"}, "BED_UNDER_4H": {"minutes", "hours"},
    "BENEFIT_LEVEL": {"claimed_pct", "allowed_pct", "visit_category", "case", "clause"},
    "CARD_EXPIRED_DURING_STAY": {"valid_until", "day", "grace_days"},
    "CARD_MISMATCH": {"reason", "card_code", "date_of_birth", "registry_date_of_birth"},
    "CARD_NOT_VALID": {"reason", "day", "card_code"}, "CARE_DAYS": {"care_type", "treatment_days", "expected"},
    "DUPLICATE": {"first_claim_id", "day"}, "EXAM_FEE_TWICE": {"fees", "allowed"}, "ICD_UNKNOWN": {"reason", "codes"},
    "MANY_VISITS": {"visits", "period_days", "allowed", "day"}, "NO_CONTRACT": {"facility_code", "day"},
    "NOT_IN_PRICE_LIST": {"kind", "code", "facility_code", "day"},
    "ORDER_OUTSIDE_STAY": {"reason", "ordered_at", "performed_at", "arrived_at", "discharged_at"},
    "OVERLAPPING_STAYS": {"other_claim_id", "other_facility_code", "other_from", "other_to"},
    "PRICE_ABOVE": {"code", "unit_price", "approved_price", "quantity", "day"},
    "SAME_DAY_VISITS": {"visits", "day", "first_claim_id"},
    "TOTALS": {"reason", "total_hospital", "lines_hospital", "total_insured", "lines_insured", "fund_claimed",
               "lines_fund", "fund_due"},
}


def test_a_page_shows_the_codes_of_a_message_as_code_and_escapes_the_rest():
    details = {"claimed_pct": 100.0, "allowed_pct": 80, "visit_category": "1.1", "case": "<b>", "clause": "22(1)(a)"}
    with use_locale("vi"):
        plain = describe("BENEFIT_LEVEL", details)
        html = describe("BENEFIT_LEVEL", details, markup=True)
    assert "1.1" in plain and "<code>1.1</code>" not in plain and "100.0" not in plain
    assert "<code>1.1</code>" in html and "<b>" not in html and "100.0" not in html
