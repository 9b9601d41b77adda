"""Merging a duplicate person into the record kept: everything moves, nothing is counted twice, a replay changes
nothing, outsiders are refused."""

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh import clock
from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.cards.models import HICard
from ansinh.collection.models import Payment
from ansinh.errors import Conflict, PermissionDenied, ValidationFailed
from ansinh.participation import service as participation
from ansinh.participation.models import CoveragePeriod, Declaration
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Person, Sex

HTML = {"Accept": "text/html"}


@pytest.fixture
def duplicate(db, org, data):
    """The worker registered a second time without a citizen ID, working for a second employer, with a card and a
    payment on his own account."""
    from ansinh.cards import service as cards

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109113", name="Công ty Hai", ownership=Ownership.private, region="I"), hanoi)
        twin = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, phone="0900000001",
            address="Số 1 Ngõ Huế"), hanoi)
        participation.apply_declaration(s, employer=employer, person=twin, kind="join",
                                        effective_month=date(2026, 3, 1), insured_salary=8_000_000,
                                        submitted_by="test", today=date(2026, 3, 10))
        cards.issue_cards(s, on=date(2026, 3, 15), person_ids=[twin.id, data["worker"]])
        s.add(Payment(bank_transaction_id="VCB-DUP-1", paid_on=date(2026, 3, 20), amount=500_000,
                      payer_key=f"P:{twin.id}", matched_by="officer", status="matched", org_unit_id=hanoi.id))
        return twin.id


def _principal(session, make_user, name="merger", unit=None, org=None):
    user = make_user(name, unit or org.hanoi, Role.provincial_officer)
    return auth_service.principal_for(session.get(User, user.id))


def _counts(session, person_id):
    return {
        "periods": session.scalar(select(func.count()).where(CoveragePeriod.person_id == person_id)),
        "declarations": session.scalar(select(func.count()).where(Declaration.person_id == person_id)),
        "cards": session.scalar(select(func.count()).where(HICard.person_id == person_id)),
        "current_cards": session.scalar(select(func.count()).where(HICard.person_id == person_id,
                                                                   HICard.superseded_at.is_(None))),
        "payments": session.scalar(select(func.count()).where(Payment.payer_key == f"P:{person_id}")),
    }


def test_merge_moves_everything_and_counts_once(db, org, data, duplicate, make_user):
    keep_id = data["worker"]
    today = clock.today()
    with db.unit_of_work() as s:
        before_keep, before_dup = _counts(s, keep_id), _counts(s, duplicate)
        assert before_dup["periods"] and before_dup["declarations"] and before_dup["payments"] == 1
        covered_before = participation.participation_summary(s, None, on=today)["si_compulsory"]
    assert covered_before == 2  # the same man counted twice
    with audit_context(channel="web", actor_username="merger"), db.unit_of_work() as s:
        principal = _principal(s, make_user, org=org)
        result = registry.merge_people(s, principal, keep_id, duplicate, "Cùng một người, đăng ký hai lần")
        assert not result.replayed and result.moved["coverage_period"] == before_dup["periods"]
    with db.unit_of_work() as s:
        after_keep, after_dup = _counts(s, keep_id), _counts(s, duplicate)
        assert after_dup == {"periods": 0, "declarations": 0, "cards": 0, "current_cards": 0, "payments": 0}
        for key in ("periods", "declarations", "cards", "payments"):
            assert after_keep[key] == before_keep[key] + before_dup[key]
        assert after_keep["current_cards"] == 1  # the duplicate's card was replaced, the kept one stays
        assert participation.participation_summary(s, None, on=today)["si_compulsory"] == 1
        kept, gone = s.get(Person, keep_id), s.get(Person, duplicate)
        assert gone.merged_into_id == keep_id and kept.merged_into_id is None
        assert kept.citizen_id == "001090012345" and kept.phone == "0987654321"  # the kept values win
        assert kept.address == "Số 1 Ngõ Huế"  # a value it lacked is taken from the duplicate
        merges = s.scalars(select(AuditEvent).where(AuditEvent.action == "merge")).all()
        assert len(merges) == 1 and merges[0].actor_username == "merger"
        assert merges[0].changes["kept_id"] == keep_id and merges[0].changes["duplicate_id"] == duplicate
        assert merges[0].changes["reason"] == "Cùng một người, đăng ký hai lần"
        snapshot = (_counts(s, keep_id), _counts(s, duplicate))

    # A replay (the same form posted twice) changes nothing.
    with audit_context(channel="web", actor_username="merger"), db.unit_of_work() as s:
        principal = auth_service.principal_for(s.scalar(select(User).where(User.username == "merger")))
        assert registry.merge_people(s, principal, keep_id, duplicate, "lại").replayed
    with db.unit_of_work() as s:
        assert (_counts(s, keep_id), _counts(s, duplicate)) == snapshot
        assert s.scalar(select(func.count()).where(AuditEvent.action == "merge")) == 1
        # The merged record leaves the lists and the search.
        people, _ = registry.search_people(s, auth_service.principal_for(
            s.scalar(select(User).where(User.username == "merger"))), "nguyen van an")
        assert [p.id for p in people] == [keep_id]


def test_merge_refusals(db, org, data, duplicate, make_user):
    with audit_context(channel="web", actor_username="x"), db.unit_of_work() as s:
        hanoi = _principal(s, make_user, org=org)
        sonla = _principal(s, make_user, "sl", org.sonla, org=org)
        with pytest.raises(ValidationFailed) as different:  # two citizen IDs: two people
            registry.merge_people(s, hanoi, data["worker"], data["spouse"], "nhầm")
        assert different.value.field == "duplicate"
        with pytest.raises(ValidationFailed):
            registry.merge_people(s, hanoi, data["worker"], data["worker"], "nhầm")
        with pytest.raises(ValidationFailed) as no_reason:
            registry.merge_people(s, hanoi, data["worker"], duplicate, "  ")
        assert no_reason.value.field == "reason"
        with pytest.raises(PermissionDenied):  # the duplicate is in another province
            registry.merge_people(s, hanoi, data["worker"], data["other"], "nhầm")
        with pytest.raises(PermissionDenied):  # both outside the caller's scope
            registry.merge_people(s, sonla, data["worker"], duplicate, "nhầm")
        s.rollback()
    with db.unit_of_work() as s:
        assert s.get(Person, duplicate).merged_into_id is None
        assert s.scalar(select(func.count()).where(AuditEvent.action == "merge")) == 0


def test_merge_refuses_two_households(db, org, data, make_user):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        twin = registry.create_person(s, registry.PersonData(full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1),
                                                             sex=Sex.male), hanoi)
        registry.create_household(s, head=twin, org_unit=hanoi)
        twin_id = twin.id
    with audit_context(channel="web", actor_username="x"), db.unit_of_work() as s:
        with pytest.raises(Conflict):
            registry.merge_people(s, _principal(s, make_user, org=org), data["worker"], twin_id, "trùng")


def test_merge_page(officer, data, duplicate, db):
    page = officer.get(f"/registry/people/{data['worker']}/merge")
    assert page.status_code == 200 and 'data-testid="merge-form"' not in page.text
    with db.unit_of_work() as s:
        twin_si = s.get(Person, duplicate).si_number
    unknown = officer.get(f"/registry/people/{data['worker']}/merge?duplicate=0000000000")
    assert unknown.status_code == 422 and 'data-error="duplicate"' in unknown.text
    found = officer.get(f"/registry/people/{data['worker']}/merge?duplicate={twin_si}")
    assert found.status_code == 200 and 'data-confirm=' in found.text and twin_si in found.text
    token = found.text.split('name="csrf_token" value="')[1].split('"')[0]
    missing = officer.post(f"/registry/people/{data['worker']}/merge",
                           data={"csrf_token": token, "duplicate_id": str(duplicate), "reason": ""})
    assert missing.status_code == 422 and 'data-error="reason"' in missing.text
    merged = officer.post(f"/registry/people/{data['worker']}/merge", follow_redirects=False,
                          data={"csrf_token": token, "duplicate_id": str(duplicate), "reason": "trùng hồ sơ"})
    assert merged.status_code == 303 and merged.headers["location"].endswith("?notice=merged")
    assert "has been merged" in officer.get(merged.headers["location"]).text
    gone = officer.get(f"/registry/people/{duplicate}").text
    assert 'data-testid="merged-into"' in gone and 'data-testid="merge-person"' not in gone
    with db.unit_of_work() as s:
        assert s.get(Person, duplicate).merged_into_id == data["worker"]
    # An outsider's person cannot be taken in.
    refused = officer.post(f"/registry/people/{data['worker']}/merge",
                           data={"csrf_token": token, "duplicate_id": str(data["other"]), "reason": "x"})
    assert refused.status_code in (403, 422)
    with db.unit_of_work() as s:
        assert s.get(Person, data["other"]).merged_into_id is None
