"""The claim's workflow: filing with or without a complete file, the paused clock, withdrawal, illegal steps,
idempotent filing by reference, scope, and the timeline of every step."""

from datetime import date

import pytest

from ansinh.benefits import service
from ansinh.benefits.models import ClaimStatus
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


def file_sickness(session, who, principal, *, on=date(2026, 2, 12), missing=(), ref=None):
    claim, _ = service.file_claim(session, principal, claim_type="sickness", citizen_id=who.citizen_id, filed_on=on,
                                  channel="counter", details={"leave_from": "2026-02-02", "days": 5},
                                  missing=missing, external_ref=ref)
    return claim


def test_a_complete_file_is_accepted_with_its_deadline(session, bworld):
    who = bworld.person("Trần Văn An")
    claim = file_sickness(session, who, bworld.officer)
    assert claim.status is ClaimStatus.accepted
    assert (claim.complete_on, claim.deadline) == (date(2026, 2, 12), date(2026, 3, 2))  # across Tết 2026
    steps = [(e.from_status, e.to_status) for e in service.claim_events(session, claim.id)]
    assert steps == [(None, "received"), ("received", "accepted")]


def test_an_incomplete_file_pauses_the_clock_until_completed(session, bworld):
    who = bworld.person("Lê Văn Bình")
    claim = file_sickness(session, who, bworld.officer, missing=["Giấy ra viện"])
    assert (claim.status, claim.deadline, claim.missing) == (ClaimStatus.incomplete, None, ["Giấy ra viện"])
    service.complete_claim(session, bworld.officer, claim.id, on=date(2026, 3, 9))
    assert claim.status is ClaimStatus.accepted
    assert claim.deadline == date(2026, 3, 18)  # 7 working days from Monday 9 March
    due = service.due_claims(session, bworld.officer, on=date(2026, 3, 18))
    assert [c.id for c in due["due_today"]] == [claim.id]
    late = service.due_claims(session, bworld.officer, on=date(2026, 3, 19))
    assert [c.id for c in late["late"]] == [claim.id]


def test_illegal_steps_are_refused_and_change_nothing(session, bworld):
    who = bworld.person("Phạm Văn Cường")
    claim = file_sickness(session, who, bworld.officer)
    service.withdraw_claim(session, bworld.officer, claim.id, on=date(2026, 2, 13), reason="người lao động rút")
    with pytest.raises(Conflict):
        service.decide(session, bworld.officer, claim.id, on=date(2026, 2, 14))
    with pytest.raises(Conflict):
        service.complete_claim(session, bworld.officer, claim.id, on=date(2026, 2, 14))
    assert claim.status is ClaimStatus.withdrawn
    assert [e.to_status for e in service.claim_events(session, claim.id)] == ["received", "accepted", "withdrawn"]


def test_a_date_before_filing_is_refused(session, bworld):
    claim = file_sickness(session, bworld.person("Hoàng Văn Dũng"), bworld.officer)
    with pytest.raises(ValidationFailed):
        service.withdraw_claim(session, bworld.officer, claim.id, on=date(2026, 2, 1))


def test_the_same_reference_files_once(session, bworld):
    who = bworld.person("Vũ Văn Em")
    first = file_sickness(session, who, bworld.officer, ref="01B-2026-02-0001")
    again, new = service.file_claim(session, bworld.officer, claim_type="sickness", citizen_id=who.citizen_id,
                                    filed_on=date(2026, 2, 12), channel="counter",
                                    details={"leave_from": "2026-02-02", "days": 5}, external_ref="01B-2026-02-0001")
    assert (again.id, new) == (first.id, False)


def test_other_provinces_and_people_see_nothing(session, bworld):
    who = bworld.person("Đỗ Văn Giang")
    claim = file_sickness(session, who, bworld.officer)
    with pytest.raises(NotFound):
        service.get_claim(session, bworld.sonla_officer, claim.id)
    with pytest.raises(NotFound):
        service.withdraw_claim(session, bworld.citizen, claim.id, on=date(2026, 2, 13))
    with pytest.raises(NotFound):  # filing for a person of another province: not found, nothing written
        service.file_claim(session, bworld.sonla_officer, claim_type="sickness", citizen_id=who.citizen_id,
                           filed_on=date(2026, 2, 12), channel="counter", details={"leave_from": "2026-02-02",
                                                                                     "days": 5})
    with pytest.raises(PermissionDenied):
        service.file_claim(session, bworld.citizen, claim_type="sickness", citizen_id=who.citizen_id,
                           filed_on=date(2026, 2, 12), channel="portal", details={"leave_from": "2026-02-02",
                                                                                    "days": 5})
    assert claim.status is ClaimStatus.accepted


def test_a_citizen_files_their_own_claim_through_the_portal(session, bworld):
    claim, _ = service.file_claim(session, bworld.citizen, claim_type="maternity",
                                  citizen_id=bworld.citizen_person.citizen_id, filed_on=date(2026, 2, 12),
                                  channel="counter", details={"birth_on": "2026-02-01", "direct": True})
    assert claim.channel.value == "portal"
    assert claim.deadline == date(2026, 2, 26)
    assert service.get_claim(session, bworld.citizen, claim.id).id == claim.id


def test_details_and_grounds_are_checked(session, bworld):
    who = bworld.person("Ngô Văn Hải")
    with pytest.raises(ValidationFailed) as error:
        service.file_claim(session, bworld.officer, claim_type="sickness", citizen_id=who.citizen_id,
                           filed_on=date(2026, 2, 12), channel="counter", details={"days": 5})
    assert error.value.field == "details.leave_from"
    with pytest.raises(ValidationFailed) as error:
        service.file_claim(session, bworld.officer, claim_type="lump_sum", citizen_id=who.citizen_id,
                           filed_on=date(2025, 7, 1), channel="counter", ground="out_of_work_12_months")
    assert error.value.field == "ground"  # a ground of the old law, filed under the new one


def test_a_claim_by_post_waits_for_the_check_of_its_file(session, bworld):
    who = bworld.person("Lý Văn Khoa")
    claim, _ = service.file_claim(session, bworld.officer, claim_type="lump_sum", citizen_id=who.citizen_id,
                                  filed_on=date(2026, 4, 1), channel="post", ground="abroad")
    assert (claim.status, claim.deadline) == (ClaimStatus.received, None)
    service.complete_claim(session, bworld.officer, claim.id, on=date(2026, 4, 3))
    assert (claim.status, claim.complete_on, claim.deadline) == (ClaimStatus.accepted, date(2026, 4, 3),
                                                                 date(2026, 4, 13))  # 10 days, a Monday
