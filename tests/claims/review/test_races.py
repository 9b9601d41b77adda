"""Two appraisal runs of the same facility and month at once, on PostgreSQL with real commits: the second waits for
the first (the appraisal lock), then supersedes its findings — never two live copies of a finding."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.claims.appraisal.models import AppraisalRun, Finding
from ansinh.claims.appraisal.service import appraise_claims
from ansinh.claims.intake.service import receive_claim_file
from ansinh.claims.models import Claim
from ansinh.synth.claims import EpisodeSpec, claim_file
from tests.live import fresh_postgres, hanoi_facility

pytestmark = pytest.mark.postgres
ON = date(2026, 11, 30)


@pytest.fixture
def database():
    with fresh_postgres() as database:
        hanoi_facility(database, name="Bệnh viện Hà Đông", level="provincial", contract_from=date(2020, 1, 1))
        with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
            episodes = [EpisodeSpec(ma_lk=f"LK-{n}") for n in range(6)]
            receive_claim_file(s, content=claim_file("01001", episodes, seed=1, on=ON), file_name="a.xml",
                               principal=None, facility_code="01001", today=ON)
        yield database


def test_two_runs_at_once_take_turns_and_leave_one_live_set_of_findings(database):
    with database.unit_of_work() as s:
        claim = s.scalar(select(Claim).limit(1))
        month = date(claim.settlement_year, claim.settlement_month, 1)
    started = threading.Barrier(2)
    spans: list = []

    def appraise(name: str) -> None:
        try:
            started.wait(5)
            with audit_context(channel="cli", actor_username=name), database.unit_of_work() as s:
                begun = time.monotonic()
                run = appraise_claims(s, principal=None, facility_code="01001", month=month, started_by=name)
                time.sleep(0.5)  # still holding the lock: the other run must wait for this commit
                spans.append((begun, time.monotonic(), run.findings))
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted
            spans.append(exc)

    threads = [threading.Thread(target=appraise, args=(f"run-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(isinstance(span, tuple) for span in spans), spans
    first, second = sorted(spans)
    assert first[2] == second[2] > 0
    with database.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(AppraisalRun)) == 2
        live = s.execute(select(Finding.claim_id, Finding.line_id, Finding.rule, func.count())
                         .where(Finding.superseded_at.is_(None))
                         .group_by(Finding.claim_id, Finding.line_id, Finding.rule)).all()
        assert len(live) == first[2] and all(count == 1 for *_, count in live)
        latest = s.scalar(select(func.max(AppraisalRun.id)))
        assert set(s.scalars(select(Finding.run_id).where(Finding.superseded_at.is_(None)))) == {latest}


def test_the_same_finding_overridden_four_times_at_once_is_set_aside_once(database):
    from ansinh.claims.review.service import override_finding
    from ansinh.errors import Conflict

    with database.unit_of_work() as s:
        claim = s.scalar(select(Claim).limit(1))
        month = date(claim.settlement_year, claim.settlement_month, 1)
    with audit_context(channel="cli", actor_username="run"), database.unit_of_work() as s:
        appraise_claims(s, principal=None, facility_code="01001", month=month)
    with database.unit_of_work() as s:
        finding = s.scalar(select(Finding).where(Finding.superseded_at.is_(None), Finding.amount > 0)
                           .order_by(Finding.id).limit(1))
        assert finding is not None
        finding_id, claim_id = finding.id, finding.claim_id
    started = threading.Barrier(4)
    outcome: list = []

    def override(n: int) -> None:
        try:
            started.wait(5)
            with audit_context(channel="api", actor_username=f"t{n}"), database.unit_of_work() as s:
                outcome.append(override_finding(s, principal=None, finding_id=finding_id, reason=f"reason {n}",
                                                actor=f"t{n}"))
        except Conflict as exc:
            outcome.append(exc)

    threads = [threading.Thread(target=override, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    done = [o for o in outcome if isinstance(o, dict)]
    assert len(outcome) == 4 and len(done) == 1, outcome  # one sets it aside, three are told it already is
    with database.unit_of_work() as s:
        row = s.get(Finding, finding_id)
        assert row.overridden_at is not None and row.overridden_by in {f"t{n}" for n in range(4)}
        assert s.scalar(select(func.count()).select_from(Finding).where(Finding.overridden_at.is_not(None))) == 1
        assert s.get(Claim, claim_id).disallowed == done[0]["disallowed"]
