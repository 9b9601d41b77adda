"""Facilities' classification into the levels of 2025: the rules, the dated lookup, the set-based lookup, and the
arguments the HI cost-sharing calculator takes."""

from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.auth.models import OrgUnit
from ansinh.cards import facilities
from ansinh.cards.models import FacilityClassification
from ansinh.errors import Conflict, NotFound, ValidationFailed

FROM_2025 = date(2025, 1, 1)


def _facility(session, org, code: str, level: str = "district", name: str | None = None):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    return facilities.create_facility(session, facilities.FacilityData(
        code=code, name=name or f"Cơ sở {code}", level=level), hanoi)


@pytest.mark.parametrize(("arguments", "field"), [
    ({"level_2025": "middle"}, "level_2025"),
    ({"level_2025": "basic"}, "score"),  # a basic facility has its score or is provisional
    ({"level_2025": "basic", "score": 101}, "score"),
    ({"level_2025": "basic", "score": -1}, "score"),
    ({"level_2025": "basic", "score": True}, "score"),
    ({"level_2025": "specialised", "score": 80}, "score"),
    ({"level_2025": "initial", "score": 40}, "score"),
    ({"level_2025": "basic", "score": 60, "provisional": True}, "provisional"),
    ({"level_2025": "basic", "provisional": True, "health_station": True}, "health_station"),
    ({"level_2025": "specialised", "health_station": True}, "health_station"),
    ({"level_2025": "initial", "decision": "QĐ " + "1" * 120}, "decision"),
    ({"level_2025": "initial", "valid_from": date(2024, 12, 31)}, "valid_from"),
    ({"level_2025": "initial", "valid_from": date(2200, 1, 1)}, "valid_from"),
])
def test_a_classification_follows_the_rules_of_its_level(session, org, arguments, field):
    facility = _facility(session, org, "01301")
    arguments = {"valid_from": FROM_2025, **arguments}
    with pytest.raises(ValidationFailed) as error:
        facilities.classify_facility(session, facility, **arguments)
    assert error.value.field == field
    assert session.scalar(select(func.count()).select_from(FacilityClassification)) == 0


def test_good_classifications_are_recorded_and_audited(session, org):
    facility = _facility(session, org, "01302")
    basic = facilities.classify_facility(session, facility, valid_from=FROM_2025, level_2025="basic", score=0,
                                         decision="  QĐ 123/QĐ-SYT ")
    assert (basic.level_2025.value, basic.score, basic.provisional, basic.health_station, basic.decision) == \
        ("basic", 0, False, False, "QĐ 123/QĐ-SYT")
    assert facilities.classify_facility(session, facility, valid_from=date(2025, 7, 1), level_2025="basic",
                                        provisional=True).score is None
    station = facilities.classify_facility(session, _facility(session, org, "01303", "commune"),
                                           valid_from=FROM_2025, level_2025="initial", health_station=True)
    assert station.health_station is True and station.org_unit_id == org.hanoi.id
    facilities.classify_facility(session, _facility(session, org, "01304", "central"), valid_from=FROM_2025,
                                 level_2025="specialised")
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "facility_classification")).all()
    assert len(events) == 4 and {e.action for e in events} == {"create"}
    assert {e.org_unit_id for e in events} == {org.hanoi.id}


def test_a_replay_changes_nothing_and_another_classification_of_the_same_day_is_refused(session, org):
    facility = _facility(session, org, "01305")
    first = facilities.classify_facility(session, facility, valid_from=FROM_2025, level_2025="basic", score=65,
                                         decision="QĐ 1/QĐ-SYT")
    again = facilities.classify_facility(session, facility, valid_from=FROM_2025, level_2025="basic", score=65,
                                         decision="QĐ 1/QĐ-SYT")
    assert again.id == first.id
    with pytest.raises(Conflict) as error:
        facilities.classify_facility(session, facility, valid_from=FROM_2025, level_2025="basic", score=72,
                                     decision="QĐ 1/QĐ-SYT")
    assert "01305" in error.value.message and "another day" in error.value.message
    assert [(c.valid_from, c.score) for c in facilities.facility_classifications(session, facility)] == \
        [(FROM_2025, 65)]


def test_the_classification_in_force_on_a_day(session, org):
    facility = _facility(session, org, "01306")
    assert facilities.facility_classification_on(session, "01306", date(2026, 1, 1)) is None
    facilities.classify_facility(session, facility, valid_from=date(2025, 3, 1), level_2025="basic", score=48)
    facilities.classify_facility(session, facility, valid_from=date(2026, 3, 1), level_2025="basic", score=75,
                                 decision="QĐ 9/QĐ-SYT")
    facilities.classify_facility(session, facility, valid_from=date(2025, 9, 1), level_2025="basic",
                                 provisional=True)  # history may be filled in out of order
    assert facilities.facility_classification_on(session, "01306", date(2025, 2, 28)) is None  # before the first
    on = {day: facilities.facility_classification_on(session, key, day)
          for key, day in (("01306", date(2025, 3, 1)), (facility.id, date(2025, 8, 31)),
                           (facility, date(2025, 9, 1)), ("01306", date(2026, 2, 28)), ("01306", date(2026, 3, 1)),
                           ("01306", date(2030, 1, 1)))}
    assert [(c.score, c.provisional) for c in on.values()] == \
        [(48, False), (48, False), (None, True), (None, True), (75, False), (75, False)]
    with pytest.raises(NotFound):
        facilities.facility_classification_on(session, "01999", date(2026, 1, 1))
    with pytest.raises(NotFound):
        facilities.facility_classification_on(session, 10**9, date(2026, 1, 1))


def test_the_set_based_lookup_answers_what_the_lookup_of_each_facility_answers(session, org):
    stations = [_facility(session, org, f"01{400 + n}", "commune") for n in range(3)]
    district = _facility(session, org, "01410", "district")
    provincial = _facility(session, org, "01411", "provincial")
    _facility(session, org, "01412", "district")  # never classified
    for station in stations[:2]:
        facilities.classify_facility(session, station, valid_from=FROM_2025, level_2025="initial",
                                     health_station=True)
    facilities.classify_facility(session, stations[2], valid_from=date(2025, 6, 1), level_2025="initial")
    facilities.classify_facility(session, district, valid_from=FROM_2025, level_2025="basic", provisional=True)
    facilities.classify_facility(session, district, valid_from=date(2025, 10, 1), level_2025="basic", score=55)
    facilities.classify_facility(session, provincial, valid_from=FROM_2025, level_2025="basic", score=80)
    facilities.classify_facility(session, provincial, valid_from=date(2026, 1, 1), level_2025="specialised")
    codes = ["01411", "01400", "01410", "01412", "01402", "01999", "01400", "01401"]
    for day in (date(2024, 12, 31), FROM_2025, date(2025, 6, 1), date(2025, 12, 31), date(2026, 1, 1)):
        frame = facilities.classifications_on(session, pl.Series(codes), day)
        assert frame.columns == ["code", "level_2025", "former_level", "score", "provisional", "health_station"]
        assert frame["code"].to_list() == list(dict.fromkeys(codes))
        for row in frame.iter_rows(named=True):
            if row["code"] == "01999":
                assert row == {"code": "01999", "level_2025": None, "former_level": None, "score": None,
                               "provisional": None, "health_station": None}
                continue
            one = facilities.facility_classification_on(session, row["code"], day)
            former = facilities.get_facility(session, row["code"]).level.value
            expected = {"code": row["code"], "former_level": former, "level_2025": None, "score": None,
                        "provisional": None, "health_station": None} if one is None else {
                "code": row["code"], "former_level": former, "level_2025": one.level_2025.value, "score": one.score,
                "provisional": one.provisional, "health_station": one.health_station}
            assert row == expected, (day, row)
    on = facilities.classifications_on(session, codes, date(2025, 12, 31)).rows_by_key("code", named=True,
                                                                                      unique=True)
    assert on["01410"]["score"] == 55 and on["01411"]["level_2025"] == "basic"
    assert on["01402"]["health_station"] is False and on["01412"]["level_2025"] is None
    assert facilities.classifications_on(session, [], FROM_2025).height == 0
    # a list longer than one query takes (every facility read once, the ones asked kept)
    many = facilities.classifications_on(session, [f"{n:05d}" for n in range(6000)] * 2, date(2026, 1, 1))
    assert many.height == 6000 and many.filter(pl.col("level_2025").is_not_null()).height == 5
    assert many.filter(pl.col("former_level").is_not_null()).height == 6


def test_the_calculators_arguments_about_the_facility(session, org):
    district = _facility(session, org, "01420", "district")
    station = _facility(session, org, "01421", "commune")
    scored = facilities.classify_facility(session, district, valid_from=FROM_2025, level_2025="basic", score=68)
    provisional = facilities.classify_facility(session, district, valid_from=date(2026, 1, 1), level_2025="basic",
                                               provisional=True)
    initial = facilities.classify_facility(session, station, valid_from=FROM_2025, level_2025="initial",
                                           health_station=True)
    assert facilities.hi_share_facility_args(scored, district.level) == {
        "facility_level": "basic", "former_level": "district", "facility_score": 68, "provisional": False,
        "health_station": False}
    assert facilities.hi_share_facility_args(provisional, "district")["facility_score"] is None
    assert facilities.hi_share_facility_args(provisional, "district")["provisional"] is True
    assert facilities.hi_share_facility_args(initial, "commune") == {
        "facility_level": "initial", "former_level": "commune", "facility_score": None, "provisional": False,
        "health_station": True}
    row = facilities.classifications_on(session, ["01420"], date(2025, 5, 1)).row(0, named=True)
    assert facilities.hi_share_facility_args(row, row["former_level"]) == \
        facilities.hi_share_facility_args(scored, "district")
    for classification, former, field in ((None, "district", "level_2025"), (scored, "ward", "former_level"),
                                          ({"level_2025": None}, "district", "level_2025")):
        with pytest.raises(ValidationFailed) as error:
            facilities.hi_share_facility_args(classification, former)
        assert error.value.field == field


def test_a_classified_facility_is_paid_by_the_2025_table(session, org):
    """The facility's own classification, through hi_share_facility_args, decides a self-referred visit: a former
    district hospital classed basic with 68 points is case (đ) of HI Law Art 22(4) (100% of the level), whatever
    its score; a health station pays the cost in full (Art 22(1)(c))."""
    from ansinh.rules.hi_cost_sharing import HiShareInput, hi_share_single
    from ansinh.rules.parameters import get_parameters

    district = _facility(session, org, "01430", "district")
    station = _facility(session, org, "01431", "commune")
    facilities.classify_facility(session, district, valid_from=FROM_2025, level_2025="basic", score=68)
    facilities.classify_facility(session, station, valid_from=FROM_2025, level_2025="initial", health_station=True)
    frame = facilities.classifications_on(session, ["01430", "01431"], date(2026, 3, 2)).rows_by_key(
        "code", named=True, unique=True)
    answers = {}
    for code, row in frame.items():
        args = facilities.hi_share_facility_args(row, row["former_level"])
        answers[code] = hi_share_single(HiShareInput(cost=1_000_000, card_level=4, on=date(2026, 3, 2), route="out",
                                                     care="outpatient", **args), get_parameters())
    assert (answers["01430"]["case"], answers["01430"]["fund_pays"]) == ("former_district", 800_000)
    assert (answers["01431"]["rule"], answers["01431"]["fund_pays"]) == ("health_station", 1_000_000)
