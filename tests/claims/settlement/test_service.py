"""Settling a facility's month, on SQLite and PostgreSQL: the figures, the claims marked, advances offset, the ledger
balanced, replays, refusals (not over, not appraised, no claims), the closed month refusing claim files, and who may
do and read what."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.claims.intake import service as intake
from ansinh.claims.models import Claim, claim_is_settled
from ansinh.claims.settlement import service
from ansinh.claims.settlement.models import Advance, Settlement
from ansinh.collection import ledger
from ansinh.collection.models import LedgerEntry
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.synth.claims import EpisodeSpec, claim_file
from tests.claims.settlement.conftest import HANOI, HANOI_2, MONTH, ON, SONLA, add_claims, principal


def settle(session, code=HANOI, month=MONTH, on=ON, who="qt_hanoi"):
    return service.settle_month(session, principal=principal(session, who) if who else None, facility_code=code,
                                month=month, on=on)


def test_settling_a_month_adds_up_marks_the_claims_and_posts_the_ledger(session, settlement_world):
    ids = add_claims(session, HANOI, MONTH, [(100_000, 0), (250_000, 50_000), (80_000, 80_000)])
    other = add_claims(session, HANOI, date(2026, 9, 1), [(7_000, 0)], prefix="SEP")
    done = settle(session)
    s = done.settlement
    assert not done.replayed
    assert (s.claims, s.claimed, s.disallowed, s.accepted, s.advances, s.due) == (
        3, 430_000, 130_000, 300_000, 0, 300_000)
    assert (s.facility_code, s.year, s.month, s.province_2025, s.status, s.settled_on, s.settled_by) == (
        HANOI, 2026, 10, "01", "settled", ON, "qt_hanoi")
    session.expire_all()
    states = {claim.id: claim.state for claim in session.scalars(select(Claim))}
    assert {states[i] for i in ids} == {"settled"} and states[other[0]] == "appraised"
    assert set(session.scalars(select(Claim.id).where(claim_is_settled()))) == set(ids)
    assert ledger.trial_balance(session) == {"hi_medical_expense": 300_000, "facility_payable": -300_000}
    assert {e.txn for e in session.scalars(select(LedgerEntry))} == {s.ledger_txn}
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "settle", AuditEvent.entity_type == "claim_settlement")) == 1


def test_the_same_month_again_answers_the_settlement_and_changes_nothing(session, settlement_world):
    add_claims(session, HANOI, MONTH, [(100_000, 0)])
    first = settle(session).settlement
    entries = session.scalar(select(func.count()).select_from(LedgerEntry))
    again = settle(session, on=date(2026, 12, 1))
    assert again.replayed and again.settlement.id == first.id and again.settlement.settled_on == ON
    assert session.scalar(select(func.count()).select_from(Settlement)) == 1
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == entries


def test_a_month_with_claims_not_appraised_is_refused_naming_how_many(session, settlement_world):
    add_claims(session, HANOI, MONTH, [(100_000, 0)])
    add_claims(session, HANOI, MONTH, [(5_000, 0), (6_000, 0)], status="received", prefix="NEW")
    with pytest.raises(Conflict) as refused:
        settle(session)
    assert refused.value.params["count"] == 2
    assert session.scalar(select(func.count()).select_from(Settlement)) == 0
    assert set(session.scalars(select(Claim.status))) == {"appraised", "received"}


def test_a_month_not_over_or_without_claims_is_refused(session, settlement_world):
    add_claims(session, HANOI, MONTH, [(100_000, 0)])
    with pytest.raises(ValidationFailed) as early:
        settle(session, on=date(2026, 10, 31))
    assert early.value.field == "month"
    with pytest.raises(ValidationFailed) as empty:
        settle(session, code=HANOI_2)
    assert empty.value.field == "month"
    assert settle(session, on=date(2026, 11, 1)).settlement.accepted == 100_000  # the first day after: over


def test_only_the_current_version_of_an_episode_is_settled(session, settlement_world):
    from ansinh.db import utcnow

    old, new = add_claims(session, HANOI, MONTH, [(999_000, 0), (100_000, 0)])
    session.get(Claim, old).superseded_at = utcnow()
    session.flush()
    s = settle(session).settlement
    assert (s.claims, s.claimed) == (1, 100_000)
    assert session.get(Claim, old).status == "appraised"


def test_advances_are_recorded_once_and_offset_by_the_settlements_of_their_period(session, settlement_world):
    officer = principal(session, "qt_hanoi")
    quarter = service.record_advance(session, principal=officer, facility_code=HANOI, reference="UT-2026-Q4",
                                     paid_on=date(2026, 10, 2), amount=500_000, period_from=date(2026, 10, 1),
                                     period_to=date(2026, 12, 1))
    again = service.record_advance(session, principal=officer, facility_code=HANOI, reference="UT-2026-Q4",
                                   paid_on=date(2026, 10, 2), amount=500_000, period_from=date(2026, 10, 1),
                                   period_to=date(2026, 12, 1))
    assert again.replayed and again.advance.id == quarter.advance.id
    assert session.scalar(select(func.count()).select_from(Advance)) == 1
    with pytest.raises(Conflict):
        service.record_advance(session, principal=officer, facility_code=HANOI, reference="UT-2026-Q4",
                               paid_on=date(2026, 10, 2), amount=600_000, period_from=date(2026, 10, 1))
    assert ledger.trial_balance(session) == {"facility_advance": 500_000, "bank": -500_000}

    add_claims(session, HANOI, MONTH, [(300_000, 0)])
    october = settle(session).settlement  # the advance covers it: 300,000 of it offset, 200,000 left
    assert (october.accepted, october.advances, october.due) == (300_000, 300_000, 0)
    add_claims(session, HANOI, date(2026, 11, 1), [(120_000, 20_000)], prefix="NOV")
    november = settle(session, month=date(2026, 11, 1), on=date(2026, 12, 5)).settlement
    assert (november.accepted, november.advances, november.due) == (100_000, 100_000, 0)
    add_claims(session, HANOI, date(2026, 12, 1), [(40_000, 0)], prefix="DEC")
    december = settle(session, month=date(2026, 12, 1), on=date(2027, 1, 5)).settlement
    # the advance's last month offsets all that is left: the facility owes 60,000 back
    assert (december.accepted, december.advances, december.due) == (40_000, 100_000, -60_000)
    advance = session.get(Advance, quarter.advance.id)
    assert advance.offset_amount == advance.amount == 500_000
    balances = ledger.trial_balance(session)
    assert balances == {"facility_advance": 60_000, "bank": -500_000, "hi_medical_expense": 440_000,
                        "facility_payable": 0}
    assert sum(balances.values()) == 0
    with pytest.raises(ValidationFailed) as late:  # an advance for a settled month could never be offset
        service.record_advance(session, principal=officer, facility_code=HANOI, reference="LATE",
                               paid_on=date(2027, 1, 6), amount=1_000, period_from=date(2026, 12, 1))
    assert late.value.field == "period_to"


def test_bad_advances_name_their_field(session, settlement_world):
    officer = principal(session, "qt_hanoi")
    for kwargs, field in (({"reference": " "}, "reference"), ({"reference": "x" * 65}, "reference"),
                          ({"amount": 0}, "amount"), ({"amount": 10**16}, "amount"),
                          ({"period_to": date(2026, 9, 1)}, "period_to")):
        arguments = {"reference": "R1", "amount": 1_000, "period_from": date(2026, 10, 1)} | kwargs
        with pytest.raises(ValidationFailed) as refused:
            service.record_advance(session, principal=officer, facility_code=HANOI, paid_on=date(2026, 10, 2),
                                   **arguments)
        assert refused.value.field == field
    assert session.scalar(select(func.count()).select_from(Advance)) == 0


def test_who_may_settle_and_read(session, settlement_world):
    add_claims(session, HANOI, MONTH, [(100_000, 0)])
    add_claims(session, SONLA, MONTH, [(70_000, 0)])
    for who, error in (("qt_sonla", PermissionDenied), ("bv_hadong", PermissionDenied),
                       ("qt_district", PermissionDenied)):
        with pytest.raises(error):
            settle(session, who=who)
    assert session.scalar(select(func.count()).select_from(Settlement)) == 0
    hanoi = settle(session, who="qt_vn").settlement  # national staff: every province
    sonla = settle(session, code=SONLA, who="qt_sonla").settlement
    assert [s.id for s in session.scalars(service.settlements_query(principal(session, "qt_hanoi")))] == [hanoi.id]
    assert [s.id for s in session.scalars(service.settlements_query(principal(session, "bv_hadong")))] == [hanoi.id]
    assert {s.id for s in session.scalars(service.settlements_query(principal(session, "qt_vn")))} == {
        hanoi.id, sonla.id}
    assert service.get_settlement(session, principal(session, "bv_hadong"), hanoi.id).id == hanoi.id
    with pytest.raises(NotFound):
        service.get_settlement(session, principal(session, "bv_hadong"), sonla.id)
    with pytest.raises(PermissionDenied):
        service.get_settlement(session, principal(session, "qt_hanoi"), sonla.id)
    totals = service.settlement_totals(session, principal(session, "qt_vn"), month=MONTH)
    assert totals == {"settlements": 2, "claims": 2, "claimed": 170_000, "disallowed": 0, "accepted": 170_000,
                      "advances": 0, "due": 170_000}


def test_a_settled_month_refuses_later_claim_files(session, settlement_world):
    on = date(2026, 11, 30)  # the files' episodes are of November
    first = intake.receive_claim_file(session, content=claim_file(HANOI, [EpisodeSpec(
        ma_lk="A-1", care_type="01", arrived_at=datetime(2026, 11, 3, 8))], seed=1, on=on),
                                      file_name="a.xml", principal=None, facility_code=HANOI, today=on)
    assert first.accepted
    month = date(2026, 11, 1)
    session.execute(Claim.__table__.update().values(status="appraised"))
    settle(session, month=month, on=date(2026, 12, 2))
    visits = [EpisodeSpec(ma_lk=key, care_type="01", arrived_at=datetime(2026, 11, 10 + n, 8))
              for n, key in enumerate(("B-1", "B-2"))]
    later = intake.receive_claim_file(session, content=claim_file(HANOI, visits, seed=2, on=on),
                                      file_name="b.xml", principal=None, facility_code=HANOI, today=on)
    assert not later.accepted
    assert [(p.ma_lk, p.table, p.field, p.value) for p in later.problems] == [
        ("B-1", "XML1", "THANG_QT", "11"), ("B-2", "XML1", "THANG_QT", "11")]
    assert "11/2026" in later.problems[0].text()
    assert session.scalar(select(func.count()).select_from(Claim)) == 1
    # another facility, or another month of the same facility, is still open
    other = intake.receive_claim_file(session, content=claim_file(HANOI_2, [EpisodeSpec(ma_lk="C-1")], seed=3, on=on),
                                      file_name="c.xml", principal=None, facility_code=HANOI_2, today=on)
    december = intake.receive_claim_file(
        session, content=claim_file(HANOI, [EpisodeSpec(ma_lk="D-1")], seed=4, on=date(2026, 12, 20)),
        file_name="d.xml", principal=None, facility_code=HANOI, today=date(2026, 12, 20))
    assert other.accepted and december.accepted


def test_settled_claims_are_listed_and_the_read_audited(session, settlement_world):
    add_claims(session, HANOI, MONTH, [(100_000, 10_000), (50_000, 0)])
    s = settle(session).settlement
    rows = service.settled_claims(session, s)
    assert [(r["episode_key"], r["fund_claimed"], r["disallowed"], r["accepted"]) for r in rows] == [
        ("LK-202610-0", 100_000, 10_000, 90_000), ("LK-202610-1", 50_000, 0, 50_000)]
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.entity_type == "claim_settlement")) == 1


def test_parse_month():
    assert service.parse_month("2026-10") == date(2026, 10, 1)
    assert service.parse_month("2026-10-17") == date(2026, 10, 1)
    for bad in ("", "10/2026", "2026-13", "1999-01", "26-10"):
        with pytest.raises(ValidationFailed):
            service.parse_month(bad)


def test_the_facilities_still_to_settle_for_a_month(session, settlement_world):
    """Each facility with claims of the month and no settlement: its claims, those still to appraise, whether it is
    ready; settled ones leave the list; each caller sees its scope only."""
    add_claims(session, HANOI, MONTH, [(100_000, 10_000), (50_000, 0)])
    add_claims(session, HANOI_2, MONTH, [(30_000, 0)])
    add_claims(session, HANOI_2, MONTH, [(20_000, 0)], status="received", prefix="NEW")
    add_claims(session, SONLA, MONTH, [(70_000, 0)])
    add_claims(session, HANOI, date(2026, 9, 1), [(1_000, 0)], prefix="SEP")  # another month
    officer = principal(session, "qt_hanoi")
    rows = service.months_to_settle(session, officer, month=MONTH)
    assert rows == [  # the one waiting for its appraisal first
        {"facility_code": HANOI_2, "claims": 2, "to_appraise": 1, "claimed": 50_000, "disallowed": 0, "ready": False},
        {"facility_code": HANOI, "claims": 2, "to_appraise": 0, "claimed": 150_000, "disallowed": 10_000,
         "ready": True}]
    assert [r["facility_code"] for r in service.months_to_settle(session, principal(session, "bv_sonla"),
                                                                 month=MONTH)] == [SONLA]
    assert {r["facility_code"] for r in service.months_to_settle(session, None, month=MONTH)} == {
        HANOI, HANOI_2, SONLA}
    settle(session)
    assert [r["facility_code"] for r in service.months_to_settle(session, officer, month=MONTH)] == [HANOI_2]
