"""Indicators on a hand-built world: Hà Nội (01) and Sơn La (14), every figure counted by hand."""

from datetime import date
from decimal import Decimal

import pytest

from ansinh.auth.models import OrgUnit
from ansinh.errors import NotFound, PermissionDenied
from ansinh.participation import service as participation
from ansinh.registry import imports
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from ansinh.registry.places import load_places
from ansinh.targets.indicators.registry import Figure, indicators
from ansinh.targets.indicators.service import compare, indicator_results, ranking, ranks
from ansinh.targets.periods import parse_period
from ansinh.targets.plans import service as plans

TODAY = date(2026, 11, 22)
PARTICIPATION = ["participants.si_compulsory", "participants.si_voluntary", "participants.si_total",
                 "participants.hi", "participants.ui", "participants.hi_pupils_students",
                 "coverage.hi_population_pct", "coverage.si_working_age_pct", "flows.si_compulsory_leavers",
                 "flows.si_voluntary_new", "flows.si_voluntary_returning", "registry.citizen_id_pct",
                 "employers.e_transactions_pct", "hi.uncovered_people"]


def person(session, unit, serial, born=date(1990, 5, 1), citizen_id=True):
    century = 0 if born.year < 2000 else 2
    return registry.create_person(session, registry.PersonData(
        full_name=f"Người {serial}", date_of_birth=born, sex=Sex.male,
        citizen_id=f"001{century}{born.year % 100:02d}{serial:06d}" if citizen_id else None), unit)


def declare(session, employer, who, kind, month):
    participation.apply_declaration(session, employer=employer, person=who, kind=kind, effective_month=month,
                                    insured_salary=10_000_000 if kind == "join" else None, submitted_by="test",
                                    today=TODAY)


@pytest.fixture
def world(session, org):
    return build_world(session, org)


def build_world(session, org):
    """Hà Nội: 3 workers of one employer from 2025-01 (one leaves from 2026-09: a leaver of Q3), a voluntary
    participant from 2026-08 (new in Q3), a person with no cover and no citizen ID. Sơn La: 1 worker from 2026-01,
    1 uncovered person. Population: Hà Nội 100 (working age 50), Sơn La 40 (20)."""
    load_places(session)
    hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)
    a = registry.create_employer(session, registry.EmployerData(tax_code="0100109106", name="Công ty An Bình",
                                                                ownership=Ownership.private, region="I",
                                                                e_transactions=True), hanoi)
    registry.create_employer(session, registry.EmployerData(tax_code="0100112437", name="Công ty Bình Minh",
                                                            ownership=Ownership.private, region="I"), hanoi)
    c = registry.create_employer(session, registry.EmployerData(tax_code="5500001000", name="HTX Mộc Châu",
                                                                ownership=Ownership.private, region="III"), sonla)
    workers = [person(session, hanoi, n) for n in (1, 2, 3)]
    for worker in workers:
        declare(session, a, worker, "join", date(2025, 1, 1))
    declare(session, a, workers[2], "leave", date(2026, 9, 1))
    volunteer = person(session, hanoi, 4)
    participation.enrol_voluntary(session, person=volunteer, income=3_000_000, months=1, group="other",
                                  start=date(2026, 8, 1), org_unit=hanoi, today=TODAY)
    person(session, hanoi, 5, citizen_id=False)
    declare(session, c, person(session, sonla, 6), "join", date(2026, 1, 1))
    person(session, sonla, 7)
    header = ["province_code", "year", "population", "working_age_population"]
    content = ("\n".join(",".join(row) for row in [header, ["01", "2025", "100", "50"],
                                                   ["14", "2025", "40", "20"]]) + "\n").encode()
    report = imports.import_file(session, kind="population_figures", content=content, file_name="pop.csv",
                                 principal_or_context="tester", org_unit=org.national, today=TODAY)
    assert report.status == "applied", report.errors
    return workers


def values(result):
    return {item["code"]: item["value"] for item in result["indicators"]}


def test_each_indicator_of_a_province_as_counted_by_hand(session, world):
    q3 = parse_period("2026-Q3")
    hanoi = values(indicator_results(session, None, province="01", period=q3, codes=PARTICIPATION))
    assert hanoi == {
        "participants.si_compulsory": 2, "participants.si_voluntary": 1, "participants.si_total": 3,
        "participants.hi": 2, "participants.ui": 2, "participants.hi_pupils_students": 0,
        "coverage.hi_population_pct": 2.0, "coverage.si_working_age_pct": 6.0,  # 2 / 100; 3 / 50
        "flows.si_compulsory_leavers": 1, "flows.si_voluntary_new": 1, "flows.si_voluntary_returning": 0,
        "registry.citizen_id_pct": 80.0,  # 4 of 5 people
        "employers.e_transactions_pct": 50.0,  # 1 of 2 employers
        "hi.uncovered_people": 3,  # the leaver, the volunteer (SI only) and the person with nothing
    }
    sonla = values(indicator_results(session, None, province="14", period=q3, codes=PARTICIPATION))
    assert (sonla["participants.si_compulsory"], sonla["coverage.hi_population_pct"],
            sonla["hi.uncovered_people"]) == (1, 2.5, 1)
    country = values(indicator_results(session, None, province="00", period=q3, codes=PARTICIPATION))
    assert (country["participants.si_compulsory"], country["coverage.hi_population_pct"],
            country["registry.citizen_id_pct"]) == (3, 2.14, 85.71)  # 3 / 140; 6 of 7 people


def test_last_year_change_plan_percent_gap_and_rank(session, world):
    plans.import_plans(session, content=(
        "indicator,province,year,quarter,value,source,effective_from\n"
        "participants.si_compulsory,01,2026,,4,QĐ 546/QĐ-TTg,2026-01-01\n"
        "participants.si_compulsory,14,2026,,1,QĐ 546/QĐ-TTg,2026-01-01\n"
        "flows.si_voluntary_new,01,2026,,8,QĐ 546/QĐ-TTg,2026-01-01\n"
        "coverage.hi_population_pct,01,2026,3,1.5,QĐ 546/QĐ-TTg,2026-01-01\n").encode(),
        file_name="p.csv", principal=None, actor="t")
    result = indicator_results(session, None, province="01", period=parse_period("2026-Q3"),
                               codes=["participants.si_compulsory", "flows.si_voluntary_new",
                                      "coverage.hi_population_pct"])
    by_code = {item["code"]: item for item in result["indicators"]}
    workers = by_code["participants.si_compulsory"]
    # Q3 2025: the three were working; now two. Plan 4: 50%, 2 people still needed; first of the 2 provinces.
    assert (workers["value"], workers["last_year"], workers["change"], workers["plan"], workers["percent_of_plan"],
            workers["gap"], workers["rank"], workers["ranked"]) == (2, 3, -1, 4, 50.0, 2, 1, 34)
    new = by_code["flows.si_voluntary_new"]  # a flow: the year's 8 pro-rated to Q3's 92 days = 2
    assert (new["value"], new["plan"], new["percent_of_plan"], new["gap"]) == (1, 2, 50.0, 1)
    coverage = by_code["coverage.hi_population_pct"]  # the quarter's target; beaten: a negative gap
    assert (coverage["plan"], coverage["gap"], coverage["percent_of_plan"]) == (1.5, -0.5, 133.33)
    assert result["plan_version"] == 1 and result["plan"]["source"] == "QĐ 546/QĐ-TTg"


def test_the_stock_of_a_month_equals_the_participation_report_on_its_last_day(session, world):
    summary = participation.participation_summary(session, None, on=date(2026, 11, 30), province="01")
    result = values(indicator_results(session, None, province="01", period=parse_period("2026-11"),
                                      codes=["participants.si_compulsory", "participants.hi", "participants.ui"]))
    assert result == {"participants.si_compulsory": summary["si_compulsory"], "participants.hi": summary["hi"],
                      "participants.ui": summary["ui"]}


def test_the_ranking_of_provinces_with_their_targets(session, world):
    plans.import_plans(session, content=(
        "indicator,province,year,quarter,value,source,effective_from\n"
        "coverage.hi_population_pct,01,2026,,5,QĐ 1167,2026-01-01\n"
        "coverage.hi_population_pct,14,2026,,2,QĐ 1167,2026-01-01\n").encode(),
        file_name="p.csv", principal=None, actor="t")
    rows = ranking(session, None, code="coverage.hi_population_pct", period=parse_period("2026-Q3"))
    ranked = [(r["province"], r["value"], r["rank"], r["gap"], r["on_target"]) for r in rows if r["rank"]]
    assert ranked == [("14", 2.5, 1, -0.5, True), ("01", 2.0, 2, 3.0, False)]
    assert len(rows) == 34 and all(r["value"] is None for r in rows if r["province"] not in ("01", "14"))


def test_who_may_read_what(session, world, people):
    q3 = parse_period("2026-Q3")
    assert indicator_results(session, people.hanoi, province="01", period=q3, codes=["participants.hi"])
    for principal, province in ((people.hanoi, "14"), (people.hanoi, "00"), (people.sonla, "01")):
        with pytest.raises(PermissionDenied):
            indicator_results(session, principal, province=province, period=q3, codes=["participants.hi"])
    with pytest.raises(PermissionDenied):
        indicator_results(session, people.employer, province="01", period=q3, codes=["participants.hi"])
    assert ranking(session, people.supervisor, code="participants.hi", period=q3)[0]["province"] == "01"
    with pytest.raises(NotFound):
        ranking(session, None, code="participants.nobody", period=q3)


def test_ranks_share_ties_and_follow_the_better_direction():
    higher, lower = indicators()["participants.hi"], indicators()["arrears.overdue_rate"]
    counts = {"01": Figure(5), "14": Figure(7), "02": Figure(5), "00": Figure(17)}
    assert ranks(higher, counts) == {"14": 1, "01": 2, "02": 2}
    rates = {"01": Figure(1, 100), "14": Figure(3, 100), "02": Figure(0, 0)}
    assert ranks(lower, rates) == {"01": 1, "14": 2}  # a rate without a denominator is not ranked
    assert compare(lower, 1.41, 1.2, None)["change"] == 0.21
    assert compare(lower, 1.41, None, Decimal("1.2"))["gap"] == 0.21  # 0.21 points above the ceiling
    assert compare(higher, 60393, None, Decimal("63100"))["percent_of_plan"] == 95.71


def test_every_indicator_answers_for_a_province_and_the_country(session, world):
    q3 = parse_period("2026-Q3")
    for province in ("01", "00"):
        result = values(indicator_results(session, None, province=province, period=q3))
        assert set(result) == set(indicators())
        # no bills, payments, facilities or lookups in this world: counts are 0, rates without a base are None
        assert (result["collection.collected"], result["arrears.amount"], result["arrears.overdue_rate"],
                result["facilities.contracted"], result["cards.lookups"], result["selfservice.app_installs"]) == (
            0, 0, None, 0, 0, None)


def test_the_money_cards_and_facility_indicators_from_their_domains_figures(session, world, monkeypatch):
    """What the catalogue makes of the figures the collection, cards and facilities services answer (those services
    are tested on hand-built bills, payments, contracts and lookups in their own domains)."""
    from ansinh.targets.indicators import sources

    arrears = {"01": {"due": 1_000_000, "arrears": 14_100, "interest_bearing": 1_700, "employers_3_months": 3},
               "14": {"due": 500_000, "arrears": 1_000, "interest_bearing": 0, "employers_3_months": 0}}
    monkeypatch.setattr(sources.Sources, "arrears", lambda self, on: arrears)
    monkeypatch.setattr(sources.Sources, "collected", lambda self, since, until: {"01": 700, "14": 300})
    monkeypatch.setattr(sources.Sources, "contracted", lambda self, on: {"01": {"1": 2, "2": 5}, "14": {"2": 1}})
    monkeypatch.setattr(sources.Sources, "lookups", lambda self, since, until: {"01": (638_626, 534_652),
                                                                                "14": (10, 10)})
    codes = ["arrears.amount", "arrears.overdue_rate", "arrears.interest_bearing_rate", "arrears.employers_3_months",
             "collection.collected", "facilities.contracted", "cards.lookups", "cards.lookups_successful",
             "cards.lookups_success_pct"]
    result = indicator_results(session, None, province="01", period=parse_period("2026-Q3"), codes=codes)
    by_code = {item["code"]: item for item in result["indicators"]}
    assert values(result) == {
        "arrears.amount": 14_100, "arrears.overdue_rate": 1.41, "arrears.interest_bearing_rate": 0.17,
        "arrears.employers_3_months": 3, "collection.collected": 700, "facilities.contracted": 7,
        "cards.lookups": 638_626, "cards.lookups_successful": 534_652, "cards.lookups_success_pct": 83.72}
    assert by_code["facilities.contracted"]["parts"] == {"1": 2, "2": 5}
    assert (by_code["arrears.overdue_rate"]["rank"], by_code["collection.collected"]["rank"]) == (2, 1)
    country = values(indicator_results(session, None, province="00", period=parse_period("2026-Q3"), codes=codes))
    assert (country["arrears.overdue_rate"], country["collection.collected"], country["facilities.contracted"]) == (
        1.01, 1000, 8)  # 15,100 / 1,500,000
