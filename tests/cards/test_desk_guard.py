"""The rate limit and the alerts of card lookups (ansinh.cards.desk_guard), alone and through the API."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.cards import service
from ansinh.cards.desk_guard import FAILED, UNRELATED, DeskGuard, use_desk_guard
from ansinh.cards.models import LookupAlert
from ansinh.db import utcnow
from ansinh.errors import TooManyRequests
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from tests.conftest import api_token


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_is_per_looker_and_per_sliding_minute():
    clock = Clock()
    guard = DeskGuard(per_minute=3, clock=clock)
    for _ in range(3):
        guard.admit("facility:01001")
    with pytest.raises(TooManyRequests) as refused:
        guard.admit("facility:01001")
    assert refused.value.status_code == 429 and 1 <= refused.value.retry_after_seconds <= 61
    guard.admit("facility:01002")  # another facility has its own minute
    clock.now += 30
    with pytest.raises(TooManyRequests):
        guard.admit("facility:01001")
    clock.now += 30.5  # the first three are more than a minute old
    guard.admit("facility:01001")


def test_alerts_once_an_hour_on_many_unrelated_people_or_failed_checks():
    clock = Clock()
    guard = DeskGuard(unrelated_per_hour=3, failed_per_hour=2, clock=clock)
    looker = "facility:01001"
    assert guard.observe(looker, person_id=1, related=True, failed=False) == []
    assert guard.observe(looker, person_id=2, related=False, failed=False) == []
    assert guard.observe(looker, person_id=2, related=False, failed=False) == []  # the same person counts once
    assert guard.observe(looker, person_id=3, related=False, failed=False) == []
    assert guard.observe(looker, person_id=4, related=False, failed=False) == [(UNRELATED, 3)]
    assert guard.observe(looker, person_id=5, related=False, failed=False) == []  # alerted this hour already
    assert guard.observe(looker, person_id=None, related=False, failed=True) == []
    assert guard.observe(looker, person_id=None, related=False, failed=True) == [(FAILED, 2)]
    clock.now += 3601
    assert guard.observe(looker, person_id=9, related=False, failed=False) == []  # a new hour starts from one
    assert guard.observe("facility:01002", person_id=2, related=False, failed=False) == []


@pytest.fixture
def people(db, org):
    """Ten insured people of Hà Nội, registered at no facility; their citizen IDs and names."""
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        made = []
        for index in range(10):
            citizen_id = f"0010900100{index:02d}"
            person = registry.create_person(s, registry.PersonData(
                full_name=f"Phạm Văn {chr(65 + index)}", date_of_birth=date(1990, 1, 1), sex=Sex.male,
                citizen_id=citizen_id), hanoi)
            made.append((citizen_id, person.full_name, person))
        participation.enrol_state_budget(s, group="CN", people=[p for _, _, p in made], start=date(2026, 1, 1),
                                         end=date(2027, 1, 1), org_unit=hanoi)
        service.issue_cards(s, on=date(2026, 6, 1))
        return [(citizen_id, name) for citizen_id, name, _ in made]


def test_a_facility_over_its_limit_gets_429_audited_and_an_enumeration_raises_an_alert(
        client, db, org, make_user, contracted_facility, people):
    """A Sơn La facility looks up Hà Nội people it has nothing to do with: past the threshold an alert is raised
    (once), which the Sơn La office sees and the Hà Nội office does not; past the minute's limit it is refused."""
    use_desk_guard(DeskGuard(per_minute=8, unrelated_per_hour=5, failed_per_hour=100))
    try:
        contracted_facility("14001", org_unit=org.sonla)
        make_user("benhvien", org.sonla, Role.facility, subject_ref="14001")
        headers = api_token(client, "benhvien")
        answers = [client.get("/api/v1/cards/lookup", params={"citizen_id": cid, "full_name": name, "on": "2026-06-02"},
                              headers=headers) for cid, name in people[:9]]
    finally:
        use_desk_guard(DeskGuard())
    assert [a.status_code for a in answers] == [200] * 8 + [429]
    assert answers[0].json()["covered"] is True
    assert answers[8].headers["retry-after"].isdigit() and answers[8].json()["error"]["code"] == "too_many_requests"
    with db.unit_of_work() as s:
        alerts = s.scalars(select(LookupAlert)).all()
        assert [(a.looker, a.kind, a.count, a.province_2025) for a in alerts] == [
            ("facility:14001", UNRELATED, 5, "14")]
        refusals = s.scalars(select(AuditEvent).where(AuditEvent.action == "refused")).all()
        assert [(r.actor_username, r.changes["status"]) for r in refusals] == [("benhvien", 429)]
    make_user("sl.officer", org.sonla, Role.provincial_officer)
    make_user("hn.officer", org.hanoi, Role.provincial_officer)
    # alerts are stamped with the wall clock's time
    params = {"since": "2000-01-01", "until": (utcnow().date() + timedelta(days=1)).isoformat()}
    seen = client.get("/api/v1/cards/lookup-alerts", params=params, headers=api_token(client, "sl.officer"))
    assert seen.status_code == 200 and [a["looker"] for a in seen.json()] == ["facility:14001"]
    other = client.get("/api/v1/cards/lookup-alerts", params=params, headers=api_token(client, "hn.officer"))
    assert other.status_code == 200 and other.json() == []
    assert client.get("/api/v1/cards/lookup-alerts", params=params, headers=headers).status_code == 403
