"""Cost monitoring and budget use, through the services, on claims received through the intake."""

from __future__ import annotations

import statistics
from datetime import date
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.auth.service import principal_for
from ansinh.claims.budgets.service import set_budget
from ansinh.claims.monitoring import service
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.rules.parameters import get_parameters, track_parameter_use
from tests.claims.monitoring.conftest import LAST_YEAR, MONTH, episodes, send, sums


def _principal(make_user, name, unit, role, **fields):
    return principal_for(make_user(name, unit, role, **fields))


# --- the figures, from the claims ---------------------------------------------------------------------------------

def test_the_costs_of_a_province_month_are_those_of_its_current_claims(db, monitoring_world):
    with db.unit_of_work() as s:
        report = service.facility_costs(s, principal=None, month="2026-10", province="01")
    rows = {row["code"]: row for row in report.rows}
    assert set(rows) == {"01001", "01002", "01003"}  # Sơn La's facility is not shown, but counts among the peers
    truth = sums(db, "01001")
    row = rows["01001"]
    assert (row["visits"], row["inpatient_visits"], row["outpatient_visits"]) == (6, 2, 4) == (
        truth["visits"], truth["inpatient_visits"], truth["visits"] - truth["inpatient_visits"])
    assert (row["cost"], row["fund_cost"], row["inpatient_cost"]) == (truth["cost"], truth["fund"],
                                                                       truth["inpatient_cost"])
    assert row["cost_per_inpatient_visit"] == pytest.approx(truth["inpatient_cost"] / 2)
    assert row["cost_per_outpatient_visit"] == pytest.approx((truth["cost"] - truth["inpatient_cost"]) / 4)
    assert row["average_stay"] == pytest.approx(truth["inpatient_days"] / 2) and truth["inpatient_days"] == 2 * 4
    # the same month last year had 3 visits: up 100%, above 30%
    assert (row["visits_last_year"], row["visit_growth"]) == (3, pytest.approx(1.0))
    assert {"kind": "visit_growth", "growth": pytest.approx(1.0), "threshold": 0.3} in row["alerts"]
    # no visits a year before: no growth, no growth alert
    assert rows["01002"]["visit_growth"] is None
    assert not [a for a in rows["01002"]["alerts"] if a["kind"] == "visit_growth"]
    # peers: provincial general hospitals; in Hà Nội 01001 and 01002 (even: the mean of both), in the country also
    # 14001 (odd: the middle one); 01003 (district, obstetrics) is alone in its group
    outpatient = {code: sums(db, code) for code in ("01001", "01002", "14001")}
    per_visit = {code: (t["cost"] - t["inpatient_cost"]) / (t["visits"] - t["inpatient_visits"])
                 for code, t in outpatient.items()}
    assert row["outpatient_province_median"] == pytest.approx((per_visit["01001"] + per_visit["01002"]) / 2)
    assert row["outpatient_country_median"] == pytest.approx(statistics.median(per_visit.values()))
    assert (row["outpatient_province_peers"], row["outpatient_country_peers"]) == (2, 3)
    assert row["outpatient_country_ratio"] == pytest.approx(per_visit["01001"] / statistics.median(per_visit.values()))
    assert rows["01003"]["peer_group"] == "district/obstetrics" and rows["01003"]["outpatient_country_ratio"] == 1
    assert {g["peer_group"] for g in report.peer_groups} == {"provincial/general", "district/obstetrics"}


def test_a_resent_episode_counts_once_and_another_month_not_at_all(db, monitoring_world):
    before = sums(db, "01002")
    send(db, "01002", episodes(2), seed=2)  # the same file again: a replay, nothing new
    send(db, "01002", episodes(1, month=date(2026, 9, 1)), month=date(2026, 9, 1), seed=9)
    with db.unit_of_work() as s:
        row = service.facility_costs(s, principal=None, month=MONTH, facility_code="01002").rows[0]
    assert row["visits"] == before["visits"] == 2 and row["cost"] == before["cost"]


def test_the_trend_has_twelve_months_with_zeros_where_nothing_was_claimed(db, monitoring_world):
    with db.unit_of_work() as s:
        trend = service.facility_trend(s, principal=None, facility_code="01001", month="2026-10")
    assert [t["month"] for t in trend][0::11] == ["2025-11", "2026-10"] and len(trend) == 12
    assert trend[-1]["visits"] == 6 and trend[-1]["cost"] == sums(db, "01001")["cost"]
    assert all(t["visits"] == 0 and t["cost_per_outpatient_visit"] is None for t in trend[:-1])
    with db.unit_of_work() as s:  # October 2025 is in the trend of 2026-09
        earlier = service.facility_trend(s, principal=None, facility_code="01001", month="2026-09")
    assert earlier[0]["month"] == "2025-10" and earlier[0]["visits"] == 3


# --- thresholds, medians (pure) -----------------------------------------------------------------------------------

def _aggregates(rows: list[tuple]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(code, province, level, specialty, visits, cost, visits last year) → aggregates and facts (outpatient)."""
    aggregates = pl.DataFrame(
        [(code, 2026, visits, 0, cost, 0, cost, 0) for code, _, _, _, visits, cost, _ in rows]
        + [(code, 2025, last, 0, 0, 0, 0, 0) for code, _, _, _, _, _, last in rows if last],
        schema=["code", "year", "visits", "inpatient_visits", "cost", "inpatient_cost", "fund_cost",
                "inpatient_days"], orient="row")
    facts = pl.DataFrame([(code, code, province, specialty, 1, level, True)
                          for code, province, level, specialty, *_ in rows],
                         schema=["code", "name", "province", "specialty", "org_unit_id", "level", "level_is_2025"],
                         orient="row")
    return aggregates, facts


def _rows(rows):
    table = service.cost_table(*_aggregates(rows), date(2026, 10, 1))
    return {row["code"]: row for row in table.iter_rows(named=True)}


RATIO, GROWTH = Fraction(13, 10), Fraction(3, 10)


@pytest.mark.parametrize(("cost", "alert"), [(1_300_000, False), (1_300_001, True)])
def test_the_cost_alert_is_over_the_multiple_of_the_peer_median_not_at_it(cost, alert):
    rows = _rows([("a", "01", "basic", "general", 10, 1_000_000, 0), ("b", "01", "basic", "general", 10, 1_000_000, 0),
                  ("c", "01", "basic", "general", 10, cost, 0), ("d", "02", "basic", "paediatrics", 10, 10**9, 0)])
    assert rows["c"]["outpatient_country_median"] == 100_000  # the middle of three
    found = service.alerts_of(rows["c"], RATIO, GROWTH)
    assert bool(found) is alert
    if alert:
        assert {(a["setting"], a["scope"]) for a in found} == {("outpatient", "province"), ("outpatient", "country")}
    assert service.alerts_of(rows["d"], RATIO, GROWTH) == []  # alone in its group: its own median


@pytest.mark.parametrize(("visits", "alert"), [(130, False), (131, True)])
def test_the_visit_alert_is_above_the_growth_share_not_at_it(visits, alert):
    rows = _rows([("a", "01", "basic", "general", visits, visits * 100, 100)])
    assert rows["a"]["visit_growth"] == pytest.approx(visits / 100 - 1)
    assert [a["kind"] for a in service.alerts_of(rows["a"], RATIO, GROWTH)] == (["visit_growth"] if alert else [])


def test_medians_of_even_and_odd_peer_groups_in_the_province_and_the_country():
    rows = _rows([("a", "01", "basic", "general", 1, 100, 0), ("b", "01", "basic", "general", 1, 300, 0),
                  ("c", "02", "basic", "general", 1, 1_000, 0), ("d", "01", "initial", "general", 1, 7, 0)])
    assert rows["a"]["outpatient_province_median"] == 200 and rows["a"]["outpatient_province_peers"] == 2
    assert rows["a"]["outpatient_country_median"] == 300 and rows["c"]["outpatient_province_median"] == 1_000
    assert rows["d"]["outpatient_country_median"] == 7  # another level: another group
    assert rows["a"]["inpatient_country_median"] is None and rows["a"]["cost_per_inpatient_visit"] is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 10**9)), min_size=1, max_size=12))
def test_the_country_median_is_the_median_of_the_peers_costs_per_visit(peers):
    rows = _rows([(f"f{i}", "01" if i % 2 else "02", "basic", "general", visits, cost, 0)
                  for i, (visits, cost) in enumerate(peers)])
    expected = statistics.median(cost / visits for visits, cost in peers)
    assert all(row["outpatient_country_median"] == pytest.approx(expected) for row in rows.values())
    assert all(row["outpatient_country_ratio"] == pytest.approx(row["cost_per_outpatient_visit"] / expected)
               if expected else row["outpatient_country_ratio"] is None or expected == 0 for row in rows.values())


# --- budget use ---------------------------------------------------------------------------------------------------

def test_days_elapsed_count_the_leap_day():
    assert service.days_elapsed(2028, date(2028, 2, 29)) == (60, 366)
    assert service.days_elapsed(2028, date(2028, 3, 1)) == (61, 366)
    assert service.days_elapsed(2026, date(2026, 3, 1)) == (60, 365)
    assert service.days_elapsed(2026, date(2025, 12, 31)) == (0, 365)
    assert service.days_elapsed(2026, date(2027, 6, 1)) == (365, 365)


@pytest.mark.parametrize(("spent", "level"), [(84_999, "ok"), (85_000, "warning"), (99_999, "warning"),
                                              (100_000, "over")])
def test_budget_levels_at_85_and_100_percent_of_the_pro_rated_figure(spent, level):
    # 366 000 000 for 2028, on 2028-01-10: 10 days of 366 expected, 10 000 000 … spent of 100 000 expected
    found, share = service.budget_level(spent, 3_660_000, 10, 366, Fraction(85, 100), Fraction(1))
    assert (found, share) == (level, Fraction(spent, 100_000))
    assert service.budget_level(spent, None, 10, 366, Fraction(85, 100), Fraction(1)) == ("none", None)


def test_budget_use_pro_rates_the_estimate_and_warns(db, org, monitoring_world):
    spent = sums(db, "01001")["fund"] + sums(db, "01002")["fund"] + sums(db, "01003")["fund"]
    on = date(2026, 10, 31)
    elapsed = (on - date(2026, 1, 1)).days + 1
    # an estimate whose pro-rated share is just above the spending / 0.9: spending is 90% of it, a warning
    estimate = spent * 365 * 10 // (9 * elapsed)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        set_budget(s, province="01", year=2026, amount=estimate, source="QĐ 1/QĐ-BHXH", valid_from=date(2026, 1, 1),
                   actor="test-fixture")
        set_budget(s, province="01", year=2026, amount=1, source="QĐ 2/QĐ-BHXH", valid_from=date(2026, 1, 1),
                   facility_code="01001", actor="test-fixture")
        set_budget(s, province="01", year=2026, amount=10**12, source="QĐ 3/QĐ-BHXH", valid_from=date(2026, 11, 1),
                   actor="test-fixture")  # in force after the day asked: not used
    with db.unit_of_work() as s:
        use = service.budget_use(s, principal=None, year=2026, on=on)
    provinces = {row["province"]: row for row in use.provinces}
    assert provinces["01"]["spent"] == spent and provinces["01"]["budget"] == estimate
    assert provinces["01"]["level"] == "warning" and 0.85 <= provinces["01"]["share_of_expected"] < 1
    assert provinces["01"]["expected_to_date"] == estimate * elapsed // 365
    assert provinces["14"]["level"] == "none" and provinces["14"]["spent"] == sums(db, "14001")["fund"]
    facility_rows = {row["facility_code"]: row for row in use.facilities}
    assert facility_rows["01001"]["level"] == "over" and facility_rows["01001"]["budget"] == 1
    assert facility_rows["01002"]["budget"] is None and facility_rows["01002"]["level"] == "none"
    with db.unit_of_work() as s:  # on 30 September the October claims are not yet spending
        september = service.budget_use(s, principal=None, year=2026, on=date(2026, 9, 30), province="01")
    assert [row["spent"] for row in september.provinces] == [0]


# --- frequent cards -----------------------------------------------------------------------------------------------

def test_cards_used_more_than_the_many_visits_figure_are_listed_and_the_read_audited(db, org, make_user,
                                                                                       monitoring_world):
    send(db, "01002", episodes(11, card="DN4010123456789"), seed=11)
    send(db, "01003", episodes(10, card="DN4010987654321"), seed=12)
    officer = _principal(make_user, "hn.monitor", org.hanoi, Role.provincial_officer)
    with audit_context(channel="web", actor_username="hn.monitor"), db.unit_of_work() as s:
        found = service.frequent_cards(s, principal=officer, month="2026-10", province="01")
    assert found["more_than"] == get_parameters()["claims.many_visits_max"].at(date(2026, 10, 31)) == 10
    assert [(c["card_code"], c["visits"]) for c in found["cards"]] == [("DN4010123456789", 11)]
    with db.unit_of_work() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "frequent_cards")).one()
        assert event.action == "read" and event.actor_username == "hn.monitor"
    sonla = _principal(make_user, "sl.monitor", org.sonla, Role.provincial_officer)
    with db.unit_of_work() as s:
        assert service.frequent_cards(s, principal=sonla, month="2026-10")["cards"] == []
        with pytest.raises(PermissionDenied):
            service.frequent_cards(s, principal=sonla, month="2026-10", province="01")


# --- scope --------------------------------------------------------------------------------------------------------

def test_scope_another_province_a_facility_and_roles_without_the_permission(db, org, make_user, monitoring_world):
    sonla = _principal(make_user, "sl.officer", org.sonla, Role.provincial_officer)
    national = _principal(make_user, "vn.officer", org.national, Role.national_officer)
    hospital = _principal(make_user, "bv14001", org.sonla, Role.facility, subject_ref="14001")
    district = _principal(make_user, "hd.officer", org.hanoi_office, Role.district_officer)
    with db.unit_of_work() as s:
        for call in (lambda: service.facility_costs(s, principal=sonla, month=MONTH, province="01"),
                     lambda: service.facility_costs(s, principal=sonla, month=MONTH, facility_code="01001"),
                     lambda: service.facility_trend(s, principal=sonla, facility_code="01001", month=MONTH),
                     lambda: service.budget_use(s, principal=sonla, year=2026, on=date(2026, 10, 31), province="01"),
                     lambda: service.facility_costs(s, principal=hospital, month=MONTH, facility_code="01001"),
                     lambda: service.facility_costs(s, principal=hospital, month=MONTH, province="01"),
                     lambda: service.budget_use(s, principal=hospital, year=2026, on=date(2026, 10, 31)),
                     lambda: service.frequent_cards(s, principal=hospital, month=MONTH),
                     lambda: service.facility_costs(s, principal=district, month=MONTH)):
            with pytest.raises(PermissionDenied):
                call()
        assert {r["code"] for r in service.facility_costs(s, principal=sonla, month=MONTH).rows} == {"14001"}
        assert {r["code"] for r in service.facility_costs(s, principal=national, month=MONTH).rows} == set(
            monitoring_world.codes)
        own = service.facility_costs(s, principal=hospital, month=MONTH)
        assert [r["code"] for r in own.rows] == ["14001"] and own.rows[0]["outpatient_country_peers"] == 3
        assert {r["province"] for r in service.budget_use(s, principal=sonla, year=2026,
                                                           on=date(2026, 10, 31)).provinces} == {"14"}
        with pytest.raises(NotFound):
            service.facility_costs(s, principal=national, month=MONTH, facility_code="01999")
        with pytest.raises(NotFound):
            service.facility_costs(s, principal=national, month=MONTH, province="99")


@pytest.mark.parametrize(("month", "field"), [("2026-13", "month"), ("10/2026", "month"), ("", "month")])
def test_a_bad_month_names_the_field(db, month, field):
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as error:
        service.facility_costs(s, principal=None, month=month)
    assert error.value.field == field


def test_every_dated_entry_of_the_monitoring_parameters_is_read(db, monitoring_world):
    names = {n for n in get_parameters().names() if n.startswith("claims.monitoring.")}
    assert names == {service.COST_RATIO, service.VISIT_GROWTH, service.BUDGET_WARNING, service.BUDGET_EXCEEDED}
    with track_parameter_use() as hits, db.unit_of_work() as s:
        service.facility_costs(s, principal=None, month=MONTH)
        service.budget_use(s, principal=None, year=2026, on=date(2026, 10, 31))
    for name in names:
        assert hits.get(name) == set(range(len(get_parameters()[name].values))), name
    assert LAST_YEAR.year == 2025


@pytest.mark.parametrize(("cost", "alert"), [(3_900_000, False), (3_900_001, True)])
def test_the_inpatient_cost_alert_on_both_sides(cost, alert):
    aggregates = pl.DataFrame([(code, 2026, 1, 1, amount, amount, amount, 4) for code, amount in
                               (("a", 3_000_000), ("b", 3_000_000), ("c", cost))],
                              schema=["code", "year", "visits", "inpatient_visits", "cost", "inpatient_cost",
                                      "fund_cost", "inpatient_days"], orient="row")
    facts = pl.DataFrame([(code, code, "01", "general", 1, "basic", True) for code in "abc"],
                         schema=["code", "name", "province", "specialty", "org_unit_id", "level", "level_is_2025"],
                         orient="row")
    rows = {row["code"]: row for row in service.cost_table(aggregates, facts, date(2026, 10, 1)).iter_rows(named=True)}
    assert rows["c"]["inpatient_country_median"] == 3_000_000 and rows["c"]["average_stay"] == 4
    assert rows["c"]["outpatient_country_median"] is None and rows["c"]["cost_per_outpatient_visit"] is None
    found = service.alerts_of(rows["c"], RATIO, GROWTH)
    assert {(a["setting"], a["scope"]) for a in found} == ({("inpatient", "province"), ("inpatient", "country")}
                                                           if alert else set())


def test_claims_per_province_of_a_period_for_the_targets(db, monitoring_world):
    with db.unit_of_work() as s:
        october = service.claims_by_province(s, since=date(2026, 10, 1), until=date(2026, 10, 31))
        year = service.claims_by_province(s, since=date(2025, 1, 1), until=date(2026, 12, 31), province="01")
        nothing = service.claims_by_province(s, since=date(2026, 11, 1), until=date(2026, 12, 31))
    hanoi = [sums(db, code) for code in ("01001", "01002", "01003")]
    assert october["01"] == {"claims": sum(t["visits"] for t in hanoi), "claimed": sum(t["fund"] for t in hanoi),
                             "disallowed": 0}  # not yet appraised: nothing disallowed
    assert october["14"]["claims"] == sums(db, "14001")["visits"]
    assert set(year) == {"01"} and year["01"]["claims"] == october["01"]["claims"] + 3  # October 2025's three
    assert nothing == {}
