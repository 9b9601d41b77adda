"""Notices: sent once per key, read only by their addressee, shown in the reader's language."""

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.auth.models import OrgUnit
from ansinh.errors import NotFound, ValidationFailed
from ansinh.i18n import use_locale
from ansinh.notices import service
from ansinh.notices.models import Notice
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex


@pytest.fixture
def addressees(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    people = [registry.create_person(session, registry.PersonData(
        full_name=name, date_of_birth=date(1990, 1, 1), sex=sex, citizen_id=cid), hanoi)
        for name, sex, cid in (("Lê Thị Mai", Sex.female, "001190000001"), ("Phạm Văn Hùng", Sex.male, "001090000002"))]
    employer = registry.create_employer(session, registry.EmployerData(
        tax_code="0100109106", name="Công ty Mai Hùng", ownership=Ownership.private, region="I"), hanoi)
    return people[0], people[1], employer


def test_a_notice_is_sent_once_per_key_and_read_by_its_addressee_only(session, addressees):
    mai, hung, _ = addressees
    first = service.send_notice(session, kind="card_renewal", key="renewal:card:42:2027-01", on=date(2026, 12, 1),
                                person_id=mai.id, params={"card_number": "GD4010120000001",
                                                          "valid_to": date(2026, 12, 31)})
    again = service.send_notice(session, kind="card_renewal", key="renewal:card:42:2027-01", on=date(2026, 12, 2),
                                person_id=mai.id, params={"card_number": "GD4010120000001",
                                                          "valid_to": date(2026, 12, 31)})
    assert again.id == first.id
    assert session.scalar(select(func.count()).select_from(Notice)) == 1
    assert [n.id for n in service.list_notices(session, person_id=mai.id)] == [first.id]
    assert service.list_notices(session, person_id=hung.id) == []
    assert service.count_unread(session, person_id=mai.id) == 1

    with pytest.raises(NotFound):
        service.mark_read(session, first.id, person_id=hung.id)
    assert service.count_unread(session, person_id=mai.id) == 1
    service.mark_read(session, first.id, person_id=mai.id)
    assert service.count_unread(session, person_id=mai.id) == 0


def test_a_notice_reads_in_the_readers_language_with_its_date_written_that_way(session, addressees):
    mai, _, _ = addressees
    notice = service.send_notice(session, kind="card_renewal", key="k1", on=date(2026, 12, 1), person_id=mai.id,
                                 params={"card_number": "GD4010120000001", "valid_to": date(2026, 12, 31)})
    with use_locale("en"):
        english = service.notice_view(notice)
    with use_locale("vi"):
        vietnamese = service.notice_view(notice)
    assert "GD4010120000001" in english["text"] and "31/12/2026" in vietnamese["text"]
    assert english["title"] == "Your health insurance card ends soon"
    assert vietnamese["title"] != english["title"]


def test_a_notice_needs_one_addressee_a_known_kind_and_its_values(session, addressees):
    mai, _, employer = addressees
    with pytest.raises(ValidationFailed):
        service.send_notice(session, kind="no_such_kind", key="k", on=date(2026, 12, 1), person_id=mai.id)
    with pytest.raises(ValidationFailed):
        service.send_notice(session, kind="general", key="k", on=date(2026, 12, 1), person_id=mai.id,
                            employer_id=employer.id, params={"message": "x"})
    with pytest.raises(ValidationFailed):
        service.send_notice(session, kind="card_renewal", key="k", on=date(2026, 12, 1), person_id=mai.id,
                            params={"card_number": "GD4010120000001"})
    to_employer = service.send_notice(session, kind="general", key="k", on=date(2026, 12, 1),
                                      employer_id=employer.id, params={"message": "Hello"})
    assert service.list_notices(session, employer_id=employer.id) == [to_employer]


def test_an_outcome_is_translated_when_read_and_filled_with_the_other_values(session, addressees):
    mai, _, _ = addressees
    notice = service.send_notice(session, kind="correction_resolved", key="k2", on=date(2026, 12, 1),
                                 person_id=mai.id, params={"request_id": 7, "outcome": "refused: {reason}",
                                                           "reason": "giấy tờ không khớp"})
    with use_locale("en"):
        assert service.notice_view(notice)["text"] == "Request 7: refused: giấy tờ không khớp."
    with use_locale("vi"):
        assert service.notice_view(notice)["text"] == "Yêu cầu 7: bị từ chối: giấy tờ không khớp."
