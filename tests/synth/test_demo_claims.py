"""The demo's year of claims: a small demo loaded as ``ansinh demo load`` does, then every appraisal rule has found
something, every facility user's facility has claims in each of the twelve months (and sees its own), this month's
files wait for their appraisal."""

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.claims.appraisal.models import Finding
from ansinh.claims.appraisal.rules import appraisal_rules
from ansinh.claims.models import Claim, ClaimFile
from ansinh.synth.claims import ANOMALIES, DEMO_MONTHS, demo_months, load_demo_claims
from ansinh.synth.demo import load_demo, load_demo_registry, plan_demo

TODAY = date(2026, 10, 20)


def test_the_demo_year_is_the_twelve_months_before_this_one():
    months = demo_months(TODAY)
    assert months[0] == date(2025, 10, 1) and months[-1] == date(2026, 9, 1) and len(months) == DEMO_MONTHS
    assert demo_months(date(2027, 1, 5))[-1] == date(2026, 12, 1) and demo_months(date(2027, 1, 5))[0] == \
        date(2026, 1, 1)


@pytest.fixture
def demo(db):
    from ansinh.synth.facilities import load_demo_health_insurance

    plan = plan_demo()
    with audit_context(channel="job", actor_username="demo-loader"):
        with db.unit_of_work() as s:
            load_demo(s, plan)
        with db.unit_of_work() as s:
            load_demo_registry(s, plan, people=400, today=TODAY)
        with db.unit_of_work() as s:
            load_demo_health_insurance(s, plan, today=TODAY, facilities_per_province=4, lookups=20)
        with db.unit_of_work() as s:
            written = load_demo_claims(s, plan, today=TODAY)
    return plan, written


def test_every_rule_finds_something_and_every_facility_has_a_year_of_claims(db, demo):
    from ansinh.auth import service as auth_service
    from ansinh.claims.intake.service import files_in_scope

    plan, written = demo
    assert set(ANOMALIES) == set(appraisal_rules())  # an anomaly for each rule
    assert written["findings"] > 0 and written["claims"] > DEMO_MONTHS * 4
    months = demo_months(TODAY)
    with db.unit_of_work() as s:
        found = dict(s.execute(select(Finding.rule, func.count()).where(Finding.superseded_at.is_(None))
                               .group_by(Finding.rule)).all())
        assert set(found) == set(appraisal_rules()), sorted(set(appraisal_rules()) - set(found))
        facilities = sorted({u.subject_ref for u in plan.users if Role.facility in u.roles})
        for code in facilities:
            per_month = {(y, m): n for y, m, n in s.execute(
                select(Claim.settlement_year, Claim.settlement_month, func.count())
                .where(Claim.facility_code == code).group_by(Claim.settlement_year, Claim.settlement_month))}
            assert all(per_month.get((m.year, m.month), 0) >= 4 for m in months), (code, per_month)
            assert per_month.get((TODAY.year, TODAY.month), 0) > 0  # this month's file, through intake
            year = [Claim.facility_code == code, Claim.status == "appraised"]
            outcomes = dict(s.execute(select(Claim.outcome_status, func.count()).where(*year)
                                      .group_by(Claim.outcome_status)).all())
            assert sum(outcomes.values()) == sum(n for (y, m), n in per_month.items() if (y, m) != (TODAY.year,
                                                                                                  TODAY.month))
            assert None not in outcomes and outcomes["accepted"] > outcomes.get("rejected", 0) > 0, outcomes
            assert outcomes.get("partly_accepted", 0) > 0
            current = s.scalars(select(Claim.status).where(
                Claim.facility_code == code, Claim.settlement_year == TODAY.year,
                Claim.settlement_month == TODAY.month)).all()
            assert set(current) == {"received"}  # this month's claims wait for their appraisal
            rules = set(s.scalars(select(Finding.rule).join(Claim, Claim.id == Finding.claim_id)
                                  .where(Claim.facility_code == code, Finding.superseded_at.is_(None))))
            assert len(rules) >= len(appraisal_rules()) - 4, (code, sorted(set(appraisal_rules()) - rules))
        # every facility user sees its own files, and only those
        for user in (u for u in plan.users if Role.facility in u.roles):
            principal = auth_service.principal_for(auth_service.get_user_by_username(s, user.username))
            seen = set(s.scalars(select(ClaimFile.facility_code).where(files_in_scope(principal))))
            assert seen == {user.subject_ref}
            assert s.scalar(select(func.count()).select_from(ClaimFile).where(files_in_scope(principal))) \
                >= DEMO_MONTHS
