"""Eligibility and amounts of every claim type from records built through the participation services (the
employer's declarations; periods before 2019, where the declaration rules of this system begin, are written as the
legacy history the agency migrated). Expected figures are computed by hand in the comments. Revaluation: the 2025
table (Circular 01/2025/TT-BLĐTBXH): 2010 1.92, 2011 1.63, 2012 1.49, 2013 1.41, 2014 1.37, 2015 1.36, 2016 1.32,
2017 1.27, 2018 1.23, 2019 1.19, 2020 1.16, 2021 1.14, 2022 1.10, 2023 1.07, 2024 1.03, 2025 1.00."""

from datetime import date

import pytest
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.benefits import eligibility, records, service
from ansinh.benefits.models import BenefitClaim, ClaimStatus, ClaimType
from ansinh.errors import ValidationFailed
from ansinh.participation.models import CoveragePeriod, Payer, Scheme
from ansinh.registry.models import Sex


def legacy(session, who, employer, start, end, salary):
    """Compulsory SI and UI of the history before 2019 (migrated, not declared): ``[start, end)``."""
    for scheme in (Scheme.si_compulsory, Scheme.ui):
        session.add(CoveragePeriod(person_id=who.id, scheme=scheme, valid_from=start, valid_to=end,
                                   insured_salary=salary, payer=Payer.employer, employer_id=employer.id,
                                   org_unit_id=employer.org_unit_id, province_2025=employer.province_2025))
    session.flush()
    return who


def file(session, bworld, who, claim_type, filed_on, *, ground=None, **details):
    claim, _ = service.file_claim(session, bworld.officer, claim_type=claim_type, citizen_id=who.citizen_id,
                                  filed_on=filed_on, channel="counter", ground=ground, details=details)
    return claim


def assessed(session, bworld, claim, on=None):
    return service.assess(session, bworld.officer, claim.id, on=on or claim.filed_on)


def unfiled(who, claim_type, filed_on, ground=None, **details):
    """A claim as it would be filed (not saved): to assess a ground the filing itself refuses."""
    return BenefitClaim(claim_type=claim_type, person_id=who.id, filed_on=filed_on, ground=ground, details=details)


# --- lump sum: the law of the filing date ---------------------------------------------------------------------------

@pytest.fixture
def out_of_work(session, bworld):
    """10,000,000 a month from January 2019 to May 2024 (65 months), nothing since."""
    who = bworld.person("Đỗ Văn Khoa", born=date(1985, 5, 1))
    return bworld.work(who, bworld.employer_hn, date(2019, 1, 1), date(2024, 6, 1))


# 65 months = 5 years 5 months -> 5.5 years x 2 = 11 months of salary.
# Revalued: 12 x 10M x (1.19 + 1.16 + 1.14 + 1.10 + 1.07) + 5 x 10M x 1.03 = 679.2M + 51.5M = 730.7M; / 65 = 11,241,538.46
# -> 11,241,538; x 11 = 123,656,918.
AVERAGE, AMOUNT = 11_241_538, 123_656_918


def test_the_old_ground_on_30_june_2025_is_granted(session, bworld, out_of_work):
    claim = file(session, bworld, out_of_work, "lump_sum", date(2025, 6, 30), ground="out_of_work_12_months")
    assessed(session, bworld, claim)
    result = claim.assessment
    assert (claim.eligible, claim.amount) == (True, AMOUNT)
    assert result["record"]["si_months"] == 65 and result["record"]["months_from_2014"] == 65
    assert result["record"]["average_salary_revalued"] == AVERAGE
    assert result["figures"]["months_without_contributions"] == 12  # June 2024 to May 2025
    assert result["figures"]["article"] == "Resolution 93/2015/QH13 Art 1(1)"
    assert result["figures"]["months_of_salary"] == 11.0


def test_the_old_ground_on_1_july_2025_is_refused_with_the_article(session, bworld, out_of_work):
    with pytest.raises(ValidationFailed) as refused:  # the filing itself names the grounds of the new law
        file(session, bworld, out_of_work, "lump_sum", date(2025, 7, 1), ground="out_of_work_12_months")
    assert refused.value.field == "ground"
    result = eligibility.assess(session, unfiled(out_of_work, ClaimType.lump_sum, date(2025, 7, 1),
                                                 "out_of_work_12_months"), on=date(2025, 7, 1))
    assert not result.eligible and result.amount == 0
    [reason] = result.reasons
    assert (reason.code, reason.article) == ("ground_not_in_force", "Law 41/2024/QH15 Art 70(1)")
    assert "01/07/2025" in reason.text_vi and "out_of_work_12_months" in reason.text_en
    assert reason.text_vi.startswith("out_of_work_12_months không phải là trường hợp hưởng BHXH một lần")


def test_the_transitional_ground_on_1_july_2025_is_granted(session, bworld, out_of_work):
    claim = file(session, bworld, out_of_work, "lump_sum", date(2025, 7, 1), ground="transitional_12_months")
    assessed(session, bworld, claim)
    # Begun in January 2019, before the law; 13 months without SI (June 2024 - June 2025); 65 months < 20 years.
    assert (claim.eligible, claim.amount) == (True, AMOUNT)
    assert claim.assessment["figures"]["article"] == "Law 41/2024/QH15 Art 70(1)(đ)"


def test_the_transitional_ground_on_30_june_2025_is_refused_with_the_article(session, bworld, out_of_work):
    result = eligibility.assess(session, unfiled(out_of_work, ClaimType.lump_sum, date(2025, 6, 30),
                                                 "transitional_12_months"), on=date(2025, 6, 30))
    [reason] = result.reasons
    assert (result.eligible, reason.code) == (False, "ground_not_in_force")
    assert reason.article == "Law 58/2014/QH13 Art 60(1); Resolution 93/2015/QH13 Art 1(1)"


def test_transitional_needs_12_months_without_social_insurance(session, bworld):
    who = bworld.person("Vũ Thị Lan", born=date(1992, 2, 2), sex=Sex.female)
    bworld.work(who, bworld.employer_hn, date(2020, 1, 1), date(2024, 8, 1))  # last month July 2024
    # Filed 1 July 2025: August 2024 to June 2025 = 11 months out -> refused; 1 August 2025: 12 -> granted.
    early = eligibility.assess(session, unfiled(who, ClaimType.lump_sum, date(2025, 7, 1), "transitional_12_months"),
                               on=date(2025, 7, 1))
    assert [r.code for r in early.reasons] == ["still_contributing"]
    assert early.reasons[0].article == "Law 41/2024/QH15 Art 70(1)(đ)"
    assert early.figures["months_without_contributions"] == 11
    claim = file(session, bworld, who, "lump_sum", date(2025, 8, 1), ground="transitional_12_months")
    assessed(session, bworld, claim)
    # 55 months = 4 years 7 months -> 5 years x 2 = 10 months; revalued 12 x 10M x (1.16 + 1.14 + 1.10 + 1.07)
    # + 7 x 10M x 1.03 = 536.4M + 72.1M = 608.5M; / 55 = 11,063,636.36 -> 11,063,636; x 10 = 110,636,360.
    assert (claim.eligible, claim.amount) == (True, 110_636_360)


def test_transitional_needs_contributions_begun_before_the_law(session, bworld):
    before = bworld.person("Ngô Văn Minh", born=date(1995, 1, 1))
    bworld.work(before, bworld.employer_hn, date(2025, 6, 1), date(2025, 8, 1))  # June and July 2025
    after = bworld.person("Ngô Văn Nam", born=date(1995, 1, 1))
    bworld.work(after, bworld.employer_hn, date(2025, 7, 1), date(2025, 8, 1))  # July 2025 only
    granted = file(session, bworld, before, "lump_sum", date(2026, 9, 1), ground="transitional_12_months")
    assessed(session, bworld, granted)
    # Under a year: what was paid, 22% x 2 = 0.44 months of the average (2025: x 1.00 = 10,000,000) = 4,400,000.
    assert (granted.eligible, granted.amount) == (True, 4_400_000)
    refused = file(session, bworld, after, "lump_sum", date(2026, 9, 1), ground="transitional_12_months")
    assessed(session, bworld, refused)
    assert refused.eligible is False and refused.amount == 0
    assert refused.assessment["reasons"][0]["code"] == "began_after_law"
    assert "01/07/2025" in refused.assessment["reasons"][0]["text_vi"]


def test_transitional_is_for_under_20_years(session, bworld):
    who = bworld.person("Mai Văn Phúc", born=date(1975, 1, 1))
    legacy(session, who, bworld.employer_hn, date(2005, 1, 1), date(2019, 1, 1), 6_000_000)  # 168 months
    bworld.work(who, bworld.employer_hn, date(2019, 1, 1), date(2024, 12, 1))  # 71 months: 239 in all
    claim = file(session, bworld, who, "lump_sum", date(2026, 1, 5), ground="transitional_12_months")
    assessed(session, bworld, claim)
    assert claim.eligible and claim.assessment["record"]["si_months"] == 239  # 19 years 11 months: under 20
    longer = bworld.person("Mai Văn Quang", born=date(1975, 1, 1))
    legacy(session, longer, bworld.employer_hn, date(2005, 1, 1), date(2019, 1, 1), 6_000_000)
    bworld.work(longer, bworld.employer_hn, date(2019, 1, 1), date(2025, 1, 1))  # 72 months: 240 = 20 years
    refused = file(session, bworld, longer, "lump_sum", date(2026, 1, 5), ground="transitional_12_months")
    assessed(session, bworld, refused)
    assert refused.eligible is False
    assert refused.assessment["reasons"][0]["code"] == "too_many_years"


def test_incapacity_needs_81_percent(session, bworld, out_of_work):
    low = eligibility.assess(session, unfiled(out_of_work, ClaimType.lump_sum, date(2025, 9, 1), "incapacity_81",
                                              incapacity_percent=80), on=date(2025, 9, 1))
    assert [(r.code, r.article) for r in low.reasons] == [("incapacity_below", "Law 41/2024/QH15 Art 70(1)(d)")]
    assert "80%" in low.reasons[0].text_en and "81%" in low.reasons[0].text_vi
    high = eligibility.assess(session, unfiled(out_of_work, ClaimType.lump_sum, date(2025, 9, 1), "incapacity_81",
                                               incapacity_percent=81), on=date(2025, 9, 1))
    assert high.eligible and high.amount == AMOUNT


# --- pension ------------------------------------------------------------------------------------------------------

def test_pension_of_a_woman_with_15_years_11_months(session, bworld):
    who = bworld.person("Trịnh Thị Hạnh", born=date(1969, 3, 20), sex=Sex.female)
    legacy(session, who, bworld.employer_hn, date(2010, 1, 1), date(2019, 1, 1), 8_000_000)  # 108 months
    bworld.work(who, bworld.employer_hn, date(2019, 1, 1), date(2025, 12, 1), salary=8_000_000)  # 83 months
    claim = file(session, bworld, who, "pension", date(2025, 11, 24), retire_on="2025-12-01")
    assessed(session, bworld, claim)
    figures = claim.assessment["figures"]
    # 191 months = 15 years 11 months -> 16 years; women 45% at 15 years + 2% -> 47%.
    assert (figures["years"], figures["extra_months"], figures["rate"]) == (15, 11, 0.47)
    # Revalued: 12 x 8M x (1.92 + 1.63 + 1.49 + 1.41 + 1.37 + 1.36 + 1.32 + 1.27 + 1.23 + 1.19 + 1.16 + 1.14 + 1.10
    # + 1.07 + 1.03) + 11 x 8M = 1,890.24M + 88M = 1,978.24M; / 191 = 10,357,277.49 -> 10,357,277.
    assert figures["average_salary"] == 10_357_277
    # 47% x 10,357,277 = 4,867,920.19 -> 4,867,920; no bonus under 30 years.
    assert (claim.eligible, claim.monthly_amount, claim.amount) == (True, 4_867_920, 0)
    assert claim.first_month == date(2025, 12, 1)
    # She reached the pension age on 2025-11-20: 56 years 8 months, the age of 2025 (Decree 135/2020 Art 4).
    assert figures["pension_age_reached_on"] == "2025-11-20"


@pytest.mark.parametrize(("retire_on", "reached"), [(date(2025, 11, 19), False), (date(2025, 11, 20), True)])
def test_pension_age_of_a_woman_on_both_sides_of_it(session, bworld, retire_on, reached):
    who = bworld.person("Lý Thị Oanh", born=date(1969, 3, 20), sex=Sex.female)
    legacy(session, who, bworld.employer_hn, date(2008, 1, 1), date(2019, 1, 1), 8_000_000)
    bworld.work(who, bworld.employer_hn, date(2019, 1, 1), date(2025, 11, 1), salary=8_000_000)
    result = eligibility.assess(session, unfiled(who, ClaimType.pension, date(2025, 11, 3),
                                                 retire_on=retire_on.isoformat()), on=date(2025, 11, 3))
    assert result.eligible is reached
    if not reached:
        [reason] = result.reasons
        assert (reason.code, reason.article) == ("pension_age_not_reached", "Law 41/2024/QH15 Art 64(1)")
        assert "20/11/2025" in reason.text_vi


@pytest.mark.parametrize(("retire_on", "reached"), [(date(2025, 11, 14), False), (date(2025, 11, 15), True)])
def test_pension_age_of_a_man_on_both_sides_of_it(session, bworld, retire_on, reached):
    # Born 1964-08-15: 61 years (the age of 2024) would be 2025-08-15, in 2025, whose age is 61 years 3 months:
    # 2025-11-15.
    who = bworld.person("Lâm Văn Sơn", born=date(1964, 8, 15))
    legacy(session, who, bworld.employer_hn, date(2005, 1, 1), date(2019, 1, 1), 7_000_000)  # 168 months
    bworld.work(who, bworld.employer_hn, date(2019, 1, 1), date(2025, 11, 1), salary=9_000_000)  # 82 months
    result = eligibility.assess(session, unfiled(who, ClaimType.pension, date(2025, 11, 3),
                                                 retire_on=retire_on.isoformat()), on=date(2025, 11, 3))
    assert result.eligible is reached
    assert result.figures["pension_age_reached_on"] == "2025-11-15"
    if reached:  # 250 months = 20 years 10 months -> 21 years; men 45% at 20 + 2% = 47%.
        assert result.figures["rate"] == 0.47 and result.first_month == date(2025, 11, 1)
    else:
        assert [r.code for r in result.reasons] == ["pension_age_not_reached"]


def test_pension_refused_with_too_few_years(session, bworld):
    who = bworld.person("Cao Văn Tài", born=date(1963, 1, 10))
    bworld.work(who, bworld.employer_hn, date(2019, 1, 1), date(2025, 1, 1))  # 72 months
    result = eligibility.assess(session, unfiled(who, ClaimType.pension, date(2025, 12, 1)), on=date(2025, 12, 1))
    assert not result.eligible
    assert [(r.code, r.article) for r in result.reasons] == [("too_few_years", "Law 41/2024/QH15 Art 64(1)")]
    assert "72 months" in result.reasons[0].text_en and "15" in result.reasons[0].text_vi


# --- sickness and maternity ---------------------------------------------------------------------------------------

def test_sickness_from_the_salary_of_the_month_before(session, bworld):
    who = bworld.person("Đinh Văn Tú")
    legacy(session, who, bworld.employer_hn, date(2016, 1, 1), date(2019, 1, 1), 10_000_000)
    bworld.work(who, bworld.employer_hn, date(2019, 1, 1), raises=[(date(2026, 1, 1), 12_000_000)])
    claim = file(session, bworld, who, "sickness", date(2026, 2, 12), leave_from="2026-02-02", days=5)
    assessed(session, bworld, claim)
    figures = claim.assessment["figures"]
    # January 2026: 12,000,000; January 2016 - January 2026 = 121 months -> 10 years -> 30 days a year;
    # 75% x 12,000,000 x 5 / 24 = 1,875,000.
    assert (figures["monthly_salary"], figures["years_contributed"], figures["days_per_year"]) == (12_000_000, 10, 30)
    assert (claim.eligible, claim.amount) == (True, 1_875_000)


def test_sickness_refused_when_not_covered_at_the_leave(session, bworld):
    who = bworld.person("Đinh Văn Út")
    bworld.work(who, bworld.employer_hn, date(2024, 1, 1), date(2025, 10, 1))
    result = eligibility.assess(session, unfiled(who, ClaimType.sickness, date(2026, 2, 12), leave_from="2026-02-02",
                                                 days=5), on=date(2026, 2, 12))
    assert [(r.code, r.article) for r in result.reasons] == [("not_covered", "Law 41/2024/QH15 Art 42")]


def test_maternity_from_the_last_six_months(session, bworld):
    who = bworld.person("Hà Thị Vân", born=date(1994, 4, 4), sex=Sex.female)
    bworld.work(who, bworld.employer_hn, date(2025, 6, 1), salary=9_000_000, raises=[(date(2025, 10, 1), 10_200_000)])
    claim = file(session, bworld, who, "maternity", date(2026, 2, 20), birth_on="2026-02-15")
    assessed(session, bworld, claim)
    figures = claim.assessment["figures"]
    # June 2025 - January 2026: 8 months in the 12 before the birth; last 6: 2 x 9.0M + 4 x 10.2M = 58.8M / 6 = 9.8M.
    assert (figures["months_last_12"], figures["average_salary"]) == (8, 9_800_000)
    # 6 months x 9,800,000 = 58,800,000 + grant 2 x 2,340,000 = 4,680,000 -> 63,480,000.
    assert (claim.eligible, claim.amount) == (True, 63_480_000)


def test_maternity_refused_with_five_months(session, bworld):
    who = bworld.person("Hà Thị Xuân", born=date(1994, 4, 4), sex=Sex.female)
    bworld.work(who, bworld.employer_hn, date(2025, 9, 1))  # September 2025 - January 2026: 5 months
    result = eligibility.assess(session, unfiled(who, ClaimType.maternity, date(2026, 2, 20), birth_on="2026-02-15"),
                                on=date(2026, 2, 20))
    assert [(r.code, r.article) for r in result.reasons] == [("too_few_months", "Law 41/2024/QH15 Art 50(2)")]


# --- unemployment -------------------------------------------------------------------------------------------------

def unemployment_details(**extra):
    return {"decision_number": "123/QĐ-TTDVVL", "decision_on": "2026-03-20", "employment_ended_on": "2026-02-28",
            **extra}


@pytest.fixture
def laid_off(session, bworld):
    """10,000,000 a month in region I from January 2023 to February 2026: 38 months of UI."""
    who = bworld.person("Kiều Văn Yên", born=date(1990, 1, 1))
    return bworld.work(who, bworld.employer_hn, date(2023, 1, 1), date(2026, 3, 1))


def test_unemployment_computed_from_the_record(session, bworld, laid_off):
    claim = file(session, bworld, laid_off, "unemployment", date(2026, 3, 21), **unemployment_details())
    assessed(session, bworld, claim)
    figures = claim.assessment["figures"]
    # 24 months in the window (March 2024 - February 2026), 38 in all; 60% x 10,000,000 = 6,000,000 (cap 5 x 5,310,000);
    # 3 months for up to 36 months, (38 - 36) // 12 = 0 more.
    assert (figures["months_in_window"], figures["ui_months"], figures["region"]) == (24, 38, "I")
    assert (claim.monthly_amount, claim.benefit_months, claim.first_month) == (6_000_000, 3, date(2026, 3, 1))
    assert figures["source"] == "record" and figures["warnings"] == []


def test_unemployment_the_decision_decides_and_a_difference_is_a_warning(session, bworld, laid_off):
    claim = file(session, bworld, laid_off, "unemployment", date(2026, 3, 21),
                 **unemployment_details(monthly_amount=6_500_000, benefit_months=3))
    assessed(session, bworld, claim)
    figures = claim.assessment["figures"]
    assert (claim.monthly_amount, claim.benefit_months) == (6_500_000, 3)  # the decision's, not changed
    assert [w["code"] for w in figures["warnings"]] == ["amount_differs"]
    assert "6.500.000" in figures["warnings"][0]["text_vi"] and "6.000.000" in figures["warnings"][0]["text_vi"]


# --- funeral and survivor -----------------------------------------------------------------------------------------

def test_funeral_grant_and_one_off_survivor_allowance(session, bworld):
    deceased = bworld.person("Tạ Văn Bảo", born=date(1970, 1, 1))
    bworld.work(deceased, bworld.employer_hn, date(2025, 1, 1), date(2026, 1, 1))  # 12 months
    relative = bworld.person("Tạ Thị Cúc", born=date(1972, 1, 1), sex=Sex.female)
    funeral = file(session, bworld, deceased, "funeral", date(2026, 3, 20), died_on="2026-03-10",
                   claimant_citizen_id=relative.citizen_id)
    assessed(session, bworld, funeral)
    assert (funeral.eligible, funeral.amount) == (True, 23_400_000)  # 10 x 2,340,000
    survivor = file(session, bworld, deceased, "survivor", date(2026, 3, 20), died_on="2026-03-10",
                    claimant_citizen_id=relative.citizen_id, survivor_kind="one_off")
    assessed(session, bworld, survivor)
    # 12 months from 2014: 1 year x 2 = 2 months < the minimum 3; average 10,000,000 x 1.00 -> 30,000,000.
    assert (survivor.eligible, survivor.amount) == (True, 30_000_000)


def test_funeral_refused_with_eleven_months(session, bworld):
    deceased = bworld.person("Tạ Văn Dũng", born=date(1970, 1, 1))
    bworld.work(deceased, bworld.employer_hn, date(2025, 1, 1), date(2025, 12, 1))  # 11 months
    result = eligibility.assess(session, unfiled(deceased, ClaimType.funeral, date(2026, 3, 20),
                                                 died_on="2026-03-10"), on=date(2026, 3, 20))
    assert [(r.code, r.article) for r in result.reasons] == [("too_few_months", "Law 41/2024/QH15 Art 85(1), 109(1)")]


def test_monthly_survivor_allowance_with_15_years(session, bworld):
    deceased = bworld.person("Tạ Văn Giang", born=date(1968, 1, 1))
    legacy(session, deceased, bworld.employer_hn, date(2008, 1, 1), date(2019, 1, 1), 6_000_000)  # 132 months
    bworld.work(deceased, bworld.employer_hn, date(2019, 1, 1), date(2023, 1, 1))  # 48 months: 180
    relative = bworld.person("Tạ Thị Hoa", born=date(1970, 1, 1), sex=Sex.female)
    claim = file(session, bworld, deceased, "survivor", date(2026, 8, 10), died_on="2026-08-01",
                 claimant_citizen_id=relative.citizen_id, survivor_kind="monthly")
    assessed(session, bworld, claim)
    # 50% x 2,530,000 (from 2026-07-01) = 1,265,000 a month from the month after the death.
    assert (claim.eligible, claim.monthly_amount, claim.first_month) == (True, 1_265_000, date(2026, 9, 1))
    short = bworld.person("Tạ Văn Khánh", born=date(1968, 1, 1))
    bworld.work(short, bworld.employer_hn, date(2019, 1, 1), date(2023, 1, 1))
    refused = eligibility.assess(session, unfiled(short, ClaimType.survivor, date(2026, 8, 10), died_on="2026-08-01",
                                                  survivor_kind="monthly"), on=date(2026, 8, 10))
    assert [(r.code, r.article) for r in refused.reasons] == [("too_few_years", "Law 41/2024/QH15 Art 86(1)")]


# --- the decision follows the assessment ----------------------------------------------------------------------------

def test_a_refused_assessment_is_decided_as_a_refusal_citing_the_article(session, bworld):
    who = bworld.person("Quách Văn Lộc")
    bworld.work(who, bworld.employer_hn, date(2024, 1, 1), date(2025, 10, 1))
    claim = file(session, bworld, who, "sickness", date(2026, 2, 12), leave_from="2026-02-02", days=5)
    assessed(session, bworld, claim)
    service.decide(session, bworld.officer, claim.id, on=date(2026, 2, 13))
    assert claim.status is ClaimStatus.refused
    assert claim.refusal_article == "Law 41/2024/QH15 Art 42"


# --- what the intake page shows -------------------------------------------------------------------------------------

def test_preview_shows_what_the_record_supports(session, bworld, out_of_work):
    before = {item["type"] + item.get("kind", ""): item for item in eligibility.preview(session, out_of_work,
                                                                                         date(2025, 6, 30))}
    after = {item["type"] + item.get("kind", ""): item for item in eligibility.preview(session, out_of_work,
                                                                                        date(2025, 7, 1))}
    # Settling abroad and a grave illness need only contributions (the evidence is the officer's); the rest by law.
    assert before["lump_sum"]["grounds"] == ["abroad", "grave_illness", "out_of_work_12_months"]
    assert after["lump_sum"]["grounds"] == ["abroad", "grave_illness", "transitional_12_months"]
    assert after["lump_sum"]["figure"] == AMOUNT
    assert after["sickness"]["eligible"] is False and after["sickness"]["reasons"][0]["code"] == "not_covered"
    assert after["pension"]["eligible"] is False
    assert {"lump_sum", "pension", "sickness", "maternity", "unemployment", "funeral", "survivormonthly",
            "survivorone_off"} == set(after)
    assert records.record_of(session, out_of_work.id, date(2025, 7, 1)).si_months == 65
    reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.entity_type == "person",
                                                     AuditEvent.entity_id == str(out_of_work.id))).all()
    assert len(reads) == 2  # each preview's read of the record is audited


def test_the_grounds_come_from_the_registry():
    assert eligibility.lump_sum_grounds(date(2025, 6, 30)) == ("retirement_age_under_20_years", "abroad",
                                                               "grave_illness", "out_of_work_12_months")
    assert eligibility.lump_sum_grounds(date(2025, 7, 1)) == ("retirement_age_under_15_years", "abroad",
                                                              "grave_illness", "incapacity_81",
                                                              "transitional_12_months")
    assert eligibility.LAW_2024_FROM == date(2025, 7, 1)
    assert eligibility.lump_sum_grounds(date(2015, 12, 31)) == ()


def test_sickness_before_the_revaluation_tables_needs_none(session, bworld):
    who = bworld.person("Quách Văn Mạnh")
    bworld.work(who, bworld.employer_hn, date(2019, 1, 1), salary=8_000_000)
    result = eligibility.assess(session, unfiled(who, ClaimType.sickness, date(2023, 3, 10), leave_from="2023-03-06",
                                                 days=4), on=date(2023, 3, 10))
    # 75% x 8,000,000 x 4 / 24 = 1,000,000 (4 years: 30 days a year).
    assert (result.eligible, result.amount, result.record["average_salary_revalued"]) == (True, 1_000_000, None)
