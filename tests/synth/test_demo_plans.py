"""The demo's plans: a small demo loaded as ``ansinh demo load`` does, then plans for this year and last year for
the demo's provinces and the country, around the figures the records give."""

from datetime import date

import pytest
from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.synth.demo import DEFAULT_PROVINCES, load_demo, load_demo_registry, plan_demo
from ansinh.synth.targets import CEILINGS, REVISION_SOURCE, load_demo_plans
from ansinh.targets.indicators.service import indicator_results
from ansinh.targets.models import NATIONAL, PlanVersion
from ansinh.targets.periods import year_to_date
from ansinh.targets.plans.service import cascade_warnings, plans_json

TODAY = date(2026, 10, 20)


@pytest.fixture
def demo(db):
    plan = plan_demo()
    with audit_context(channel="job", actor_username="demo-loader"):
        with db.unit_of_work() as s:
            load_demo(s, plan)
        with db.unit_of_work() as s:
            load_demo_registry(s, plan, people=400, today=TODAY)
        with db.unit_of_work() as s:
            written = load_demo_plans(s, today=TODAY, provinces=DEFAULT_PROVINCES, seed=plan.seed)
    return written


def test_plans_for_both_years_that_add_up_with_one_revision(db, demo):
    # this year: one version per province and the country, and the revision of the first province and the
    # country; last year: one version each
    assert demo["plan versions"] == 2 * (len(DEFAULT_PROVINCES) + 1) + 2
    with db.unit_of_work() as s:
        versions = {(v.province, v.year): [] for v in s.scalars(select(PlanVersion))}
        for v in s.scalars(select(PlanVersion).order_by(PlanVersion.version)):
            versions[(v.province, v.year)].append(v)
        assert set(versions) == {(p, y) for p in (*DEFAULT_PROVINCES, NATIONAL) for y in (2025, 2026)}
        first = versions[(DEFAULT_PROVINCES[0], 2026)]
        assert len(first) == 2 and first[1].effective_from == date(2026, 7, 1) and first[1].source == REVISION_SOURCE
        assert len(versions[(DEFAULT_PROVINCES[1], 2026)]) == 1
        assert "QĐ 546/QĐ-TTg" in versions[(NATIONAL, 2026)][0].source
        assert "Nghị quyết HĐND tỉnh" in versions[(DEFAULT_PROVINCES[1], 2026)][0].source
        assert cascade_warnings(s, 2026) == [] and cascade_warnings(s, 2025) == []
        plans = {p["province"]: p for p in plans_json(s, None, year=2026)["plans"]}
        targets = {(t["indicator"], t["quarter"]): t["value"] for t in plans[DEFAULT_PROVINCES[1]]["targets"]}
        assert all(targets[(code, q)] == float(value) for code, value in CEILINGS.items() for q in (1, 2, 3, 4))
        assert targets[("participants.si_compulsory", None)] > 0 and ("coverage.hi_population_pct", None) in targets


def test_some_provinces_are_above_their_plan_and_some_below(db, demo):
    period = year_to_date(2026, TODAY)
    with db.unit_of_work() as s:
        percents = {}
        for province in DEFAULT_PROVINCES:
            [item] = indicator_results(s, None, province=province, period=period,
                                       codes=["participants.si_compulsory"])["indicators"]
            percents[province] = item["percent_of_plan"]
        national = indicator_results(s, None, province=NATIONAL, period=period,
                                     codes=["participants.si_compulsory"])["indicators"][0]
    assert all(value is not None for value in percents.values()), percents
    assert any(value > 100 for value in percents.values()) and any(value < 100 for value in percents.values())
    # the country's target is the sum of the provinces' (as revised), so its % of plan lies between theirs
    assert min(percents.values()) < national["percent_of_plan"] < max(percents.values())
