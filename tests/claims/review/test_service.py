"""Claim detail, lists, the review queue and sample, overrides (and overrides standing through a new run)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.auth import service as auth_service
from ansinh.auth.models import Role, User
from ansinh.claims.appraisal.models import Finding
from ansinh.claims.appraisal.service import appraise_claims
from ansinh.claims.models import Claim, ClaimLine
from ansinh.claims.settlement.models import Settlement
from ansinh.claims.review import service
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.claims.appraisal.test_service import DAY, icd, prices


def run(session, principal=None, **kwargs):
    return appraise_claims(session, principal=principal, facility_code="01001", month=DAY, prices_for=prices,
                           icd_known=icd, **kwargs)


def state(session) -> list[tuple]:
    """Every claim's outcome and line amounts, and the live findings (claim, line, rule, amount, override)."""
    session.expire_all()
    claims = session.execute(select(Claim.id, Claim.status, Claim.outcome_status, Claim.disallowed)
                             .order_by(Claim.id)).all()
    lines = session.execute(select(ClaimLine.id, ClaimLine.disallowed).order_by(ClaimLine.id)).all()
    live = session.execute(select(Finding.claim_id, Finding.line_id, Finding.rule, Finding.amount,
                                  Finding.overridden_by, Finding.override_reason)
                           .where(Finding.superseded_at.is_(None))
                           .order_by(Finding.claim_id, Finding.line_id, Finding.rule)).all()
    return [claims, lines, live]


def finding_of(session, claim: Claim, rule: str) -> Finding:
    return session.scalar(select(Finding).where(Finding.claim_id == claim.id, Finding.rule == rule,
                                                Finding.superseded_at.is_(None)))


@pytest.fixture
def reviewer(session, org, make_user):
    return auth_service.principal_for(session.get(User, make_user("thamdinh", org.hanoi, Role.provincial_officer).id))


def test_a_command_appraises_and_the_claim_answers_claimed_disallowed_and_findings(session, claims, officer):
    run(session, started_by="cli:ops")
    detail = service.claim_detail(session, principal=officer, facility_code="01001", episode_key="C1", locale="en")
    assert (detail["status"], detail["outcome"], detail["claimed"], detail["disallowed"]) == \
        ("appraised", "partly_accepted", claims["price"].fund_claimed, 2_400)
    assert detail["accepted_amount"] == detail["claimed"] - 2_400
    [price] = [f for f in detail["findings"] if f["rule"] == "PRICE_ABOVE"]
    assert (price["line"], price["table"], price["amount"], price["overridden"]) == (2, "XML2", 2_400, None)
    assert "price" in price["message"].lower()
    vietnamese = service.claim_detail(session, principal=officer, facility_code="01001", episode_key="C1",
                                      locale="vi")
    assert [f["message"] for f in vietnamese["findings"]] != [f["message"] for f in detail["findings"]]
    assert [(line["table"], line["disallowed"]) for line in detail["lines"]] == [("XML2", 2_400), ("XML3", 0)]
    assert [v["version"] for v in detail["versions"]] == [1]
    reads = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.entity_type == "claim", AuditEvent.entity_id == str(claims["price"].id)))
    assert reads == 2
    ok = service.claim_detail(session, principal=None, facility_code="01001", episode_key="A1", locale="en")
    assert (ok["outcome"], ok["disallowed"], ok["accepted_amount"], ok["findings"]) == \
        ("accepted", 0, ok["claimed"], [])


def test_a_claim_outside_the_callers_scope_is_refused(session, org, make_user, claims):
    run(session)
    sonla = auth_service.principal_for(session.get(User, make_user("sl", org.sonla, Role.provincial_officer).id))
    with pytest.raises(PermissionDenied):
        service.claim_detail(session, principal=sonla, facility_code="01001", episode_key="C1", locale="en")
    other = auth_service.principal_for(session.get(User, make_user("bv", org.hanoi, Role.facility,
                                                                   subject_ref="01002").id))
    with pytest.raises(NotFound):
        service.claim_detail(session, principal=other, facility_code="01001", episode_key="C1", locale="en")
    own = auth_service.principal_for(session.get(User, make_user("bv1", org.hanoi, Role.facility,
                                                                 subject_ref="01001").id))
    assert service.claim_detail(session, principal=own, facility_code="01001", episode_key="C1",
                                locale="en")["ma_lk"] == "C1"
    assert session.scalars(service.claims_query(other)).all() == []
    assert len(session.scalars(service.claims_query(own)).all()) == 4
    assert session.scalars(service.claims_query(sonla)).all() == []
    with pytest.raises(NotFound):
        service.claim_detail(session, principal=own, facility_code="01001", episode_key="NOPE", locale="en")


def test_the_claim_list_filters_each_way(session, claims, officer):
    run(session)

    def keys(**filters) -> set[str]:
        return {c.episode_key for c in session.scalars(service.claims_query(officer, **filters))}

    assert keys() == {"A1", "A2", "B1", "C1"}
    assert keys(facility_code="01001") == keys() and keys(facility_code="01002") == set()
    assert keys(month=date(2026, 11, 1)) == keys() and keys(month=date(2026, 10, 1)) == set()
    assert keys(status="appraised") == keys() and keys(status="received") == set()
    assert keys(outcome="accepted") == {"A1"} and keys(outcome="rejected") == {"A2", "B1"}
    assert keys(rule="PRICE_ABOVE") == {"C1"} and keys(rule="DUPLICATE") == {"A2"}
    assert keys(min_disallowed=2_400) == {"A2", "B1", "C1"} and keys(min_disallowed=2_401) == {"A2", "B1"}
    assert keys(search="C1") == {"C1"} and keys(search=claims["birth"].card_code) == {"B1"}
    assert keys(search="ZZ") == set()
    ordered = session.scalars(service.sorted_claims(service.claims_query(officer), "disallowed", True)).all()
    assert [c.disallowed for c in ordered] == sorted((c.disallowed for c in ordered), reverse=True)
    cheap_first = session.scalars(service.sorted_claims(service.claims_query(officer), "claimed", False)).all()
    assert [c.fund_claimed for c in cheap_first] == sorted(c.fund_claimed for c in cheap_first)
    with pytest.raises(ValidationFailed) as refused:
        service.claims_query(officer, outcome="maybe")
    assert refused.value.field == "outcome"
    with pytest.raises(ValidationFailed):
        service.parse_month("2026-13")


def test_the_queue_holds_the_flagged_claims_largest_first_and_the_sample_is_reproducible(session, org, make_user,
                                                                                          claims, reviewer):
    run(session)

    def queue(**filters) -> list[str]:
        return [c.episode_key for c in session.scalars(service.review_queue_query(reviewer, **filters))]

    assert queue()[-1] == "C1" and set(queue()) == {"A2", "B1", "C1"}
    assert queue(rule="PRICE_ABOVE") == ["C1"] and queue(rule="TOTALS") == []
    assert "C1" not in queue(min_amount=2_401) and "C1" in queue(min_amount=2_400)
    assert queue(facility_code="01002") == []
    sample = service.review_sample(session, principal=reviewer, on=DAY, seed=7)
    assert [c.episode_key for c in sample] == ["A1"]  # the only accepted claim: at least one is drawn
    assert service.review_sample(session, principal=reviewer, on=DAY, seed=7, month=date(2026, 10, 1)) == []
    district = auth_service.principal_for(session.get(User, make_user("qh", org.hanoi, Role.supervisor).id))
    with pytest.raises(PermissionDenied):
        service.review_queue_query(district)
    # an overridden finding leaves the queue
    service.override_finding(session, principal=reviewer, finding_id=finding_of(session, claims["price"],
                                                                                 "PRICE_ABOVE").id,
                             reason="Price approved by letter 12/BV")
    assert queue(rule="PRICE_ABOVE") == [] and "C1" not in queue()
    assert "C1" in [c.episode_key for c in session.scalars(service.claims_query(reviewer, outcome="accepted"))]


def test_an_override_recomputes_the_claim_and_stands_through_new_runs(session, claims, reviewer):
    run(session)
    again = finding_of(session, claims["again"], "DUPLICATE")
    answer = service.override_finding(session, principal=reviewer, finding_id=again.id,
                                      reason="  A second visit the same day, on referral  ")
    assert (answer["outcome"], answer["disallowed"], answer["accepted_amount"]) == \
        ("accepted", 0, claims["again"].fund_claimed)
    assert answer["finding"]["overridden"]["reason"] == "A second visit the same day, on referral"
    lines = session.scalars(select(ClaimLine.disallowed).where(ClaimLine.claim_id == claims["again"].id)).all()
    assert lines == [0]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "override"))
    assert event.entity_id == str(again.id) and event.changes["before"]["disallowed"] == 30_960
    detail = service.claim_detail(session, principal=reviewer, facility_code="01001", episode_key="A2", locale="en")
    assert detail["findings"][0]["overridden"]["by"] == "thamdinh"

    after_override = state(session)
    run(session)
    after_run = state(session)
    assert after_run == after_override  # the new run finds it again: the override is carried, the outcome stands
    run(session)
    assert state(session) == after_run  # and again: exactly the same result
    carried = finding_of(session, claims["again"], "DUPLICATE")
    assert carried.id != again.id and carried.overridden_by == "thamdinh"


def test_an_override_is_refused_when_it_should_be_and_changes_nothing(session, org, make_user, claims, reviewer):
    run(session)
    price = finding_of(session, claims["price"], "PRICE_ABOVE")
    before = state(session)
    sonla = auth_service.principal_for(session.get(User, make_user("sl", org.sonla, Role.provincial_officer).id))
    with pytest.raises(PermissionDenied):
        service.override_finding(session, principal=sonla, finding_id=price.id, reason="no")
    district = auth_service.principal_for(session.get(User, make_user("qh", org.hanoi, Role.supervisor).id))
    with pytest.raises(PermissionDenied):
        service.override_finding(session, principal=district, finding_id=price.id, reason="no")
    for reason in ("", "   ", "x" * (service.REASON_MAX + 1)):
        with pytest.raises(ValidationFailed) as refused:
            service.override_finding(session, principal=reviewer, finding_id=price.id, reason=reason)
        assert refused.value.field == "reason"
    with pytest.raises(NotFound):
        service.override_finding(session, principal=reviewer, finding_id=price.id + 10_000, reason="ok")
    assert state(session) == before
    service.override_finding(session, principal=reviewer, finding_id=price.id, reason="ok")
    with pytest.raises(Conflict):
        service.override_finding(session, principal=reviewer, finding_id=price.id, reason="again")
    birth = finding_of(session, claims["birth"], "CARD_MISMATCH")
    birth_claim = session.get(Claim, claims["birth"].id)
    session.add(Settlement(facility_code=birth_claim.facility_code, org_unit_id=birth_claim.org_unit_id,
                           province_2025=birth_claim.province_2025, year=birth_claim.settlement_year,
                           month=birth_claim.settlement_month, claims=1, claimed=0, disallowed=0, accepted=0,
                           advances=0, due=0, settled_on=date(2026, 12, 5), settled_by="test"))
    session.flush()
    with pytest.raises(Conflict):
        service.override_finding(session, principal=reviewer, finding_id=birth.id, reason="ok")
    assert session.get(Finding, birth.id).overridden_at is None
