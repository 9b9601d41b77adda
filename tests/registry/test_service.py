from datetime import date

import pytest
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.errors import Conflict, PermissionDenied, ValidationFailed
from ansinh.registry import service
from ansinh.registry.models import Ownership, Sex


def principal(session, user):
    return auth_service.principal_for(session.get(User, user.id))


def person(session, unit, name="Nguyễn Văn An", citizen_id="001090012345", born=date(1990, 5, 1), sex=Sex.male):
    return service.create_person(session, service.PersonData(full_name=name, date_of_birth=born, sex=sex,
                                                             citizen_id=citizen_id), session.get(OrgUnit, unit.id))


def test_new_people_get_sequential_si_numbers_with_the_province_prefix(session, org):
    first = person(session, org.hanoi)
    second = person(session, org.hanoi_office, "Trần Thị Bình", "001190012346", sex=Sex.female)
    third = person(session, org.sonla, "Lò Văn Cường", "014090012347")
    assert (first.si_number, second.si_number) == ("0100000001", "0100000002")
    assert third.si_number == "1400000001"
    assert first.name_search == "nguyen van an" and first.province_2025 == "01"


def test_identity_is_checked_and_unique(session, org):
    person(session, org.hanoi)
    with pytest.raises(Conflict, match="already registered"):
        person(session, org.hanoi, "Someone Else")
    with pytest.raises(ValidationFailed) as bad:
        person(session, org.hanoi, citizen_id="001091099999")  # year 91 vs born 1990
    assert bad.value.field == "citizen_id"
    with pytest.raises(ValidationFailed) as future:
        person(session, org.hanoi, citizen_id=None, born=date(2999, 1, 1))
    assert future.value.field == "date_of_birth"
    with pytest.raises(ValidationFailed) as national:
        service.create_person(session, service.PersonData(full_name="X", date_of_birth=date(1990, 1, 1),
                                                          sex=Sex.male), session.get(OrgUnit, org.national.id))
    assert national.value.field == "org_unit"


def test_search_without_accents_and_by_identifiers_within_scope(session, org, make_user):
    an = person(session, org.hanoi)
    person(session, org.hanoi_office, "Nguyễn Văn Anh", "001090012399")
    person(session, org.sonla, "Nguyễn Văn Ân", "014090012348")
    officer = principal(session, make_user("hn", org.hanoi, Role.provincial_officer))
    names = [p.full_name for p in service.search_people(session, officer, "nguyen van an")[0]]
    assert names == ["Nguyễn Văn An", "Nguyễn Văn Anh"]  # not the Sơn La one
    assert {p.full_name for p in service.search_people(session, officer, "van an")[0]} == set(names)  # inside the name
    assert service.search_people(session, officer, an.citizen_id)[0][0].id == an.id
    assert service.search_people(session, officer, an.si_number)[1] == 1
    sonla = principal(session, make_user("sl", org.sonla, Role.provincial_officer))
    assert service.search_people(session, sonla, "nguyen")[1] == 1


NAMES = ("Nguyễn Văn An", "Nguyễn Văn Anh", "Lê Nguyễn Văn Bình", "Tôn Nữ Hoàng Anh", "Nguyễn Thị Minh Khai",
         "Nguyễnvăn Cường", "Đặng Thị Thanh Hương", "Hoàng Văn Anh Tuấn", "Lò Văn Xuân Thủy Tiên")


def _starts_a_word(name: str, key: str) -> bool:
    words = name.split(" ")
    return any(" ".join(words[k:]).startswith(key) for k in range(len(words)))


def test_name_search_finds_exactly_the_names_with_a_word_starting_so(session, org, make_user):
    """The index of word-initial prefixes (PostgreSQL) and LIKE (SQLite) find the same people as the definition,
    for short keys, keys spanning words, and keys longer than the prefixes the index holds."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from ansinh.registry.identifiers import search_key

    people = {person(session, org.hanoi, name, citizen_id=None, born=date(1980 + i, 1, 1)).id: search_key(name)
              for i, name in enumerate(NAMES)}
    officer = principal(session, make_user("hn", org.hanoi, Role.provincial_officer))
    suffixes = sorted({" ".join(key.split(" ")[k:]) for key in people.values() for k in range(len(key.split(" ")))})

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(st.builds(lambda s, n: s[:n], st.sampled_from(suffixes), st.integers(1, 25)),
                     st.text(alphabet="anguyeˆvt hi", min_size=1, max_size=16)))
    def check(text):
        key = search_key(text)
        if not key:
            return
        found, total = service.search_people(session, officer, text, limit=100)
        assert {p.id for p in found} == {pid for pid, name in people.items() if _starts_a_word(name, key)}
        assert total == len(found)

    check()
    # Spanning words and longer than the index's twelve letters, and not inside a word.
    assert [p.full_name for p in service.search_people(session, officer, "nguyen thi minh khai")[0]] == \
        ["Nguyễn Thị Minh Khai"]
    assert {p.full_name for p in service.search_people(session, officer, "Nguyễn Văn")[0]} == \
        {"Nguyễn Văn An", "Nguyễn Văn Anh", "Lê Nguyễn Văn Bình"}
    assert service.search_people(session, officer, "uyen")[1] == 0


def test_reading_a_person_is_audited_and_scoped(session, org, make_user):
    an = person(session, org.hanoi)
    officer = principal(session, make_user("hn2", org.hanoi, Role.provincial_officer))
    service.get_person(session, officer, an.id)
    reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.entity_type == "person")).all()
    assert [(e.entity_id, e.person_ref) for e in reads] == [(str(an.id), an.citizen_id)]
    sonla = principal(session, make_user("sl2", org.sonla, Role.provincial_officer))
    with pytest.raises(PermissionDenied):
        service.get_person(session, sonla, an.id)
    citizen = principal(session, make_user("me", org.hanoi, Role.citizen, subject_ref=an.citizen_id))
    assert service.get_person(session, citizen, an.id).id == an.id
    other = person(session, org.hanoi, "Lê Văn Cư", "001090077777")
    with pytest.raises(PermissionDenied):
        service.get_person(session, citizen, other.id)


def test_changes_are_validated_and_audited_with_old_and_new_values(session, org, make_user):
    an = person(session, org.hanoi)
    officer = principal(session, make_user("hn3", org.hanoi, Role.provincial_officer))
    service.update_person(session, officer, an.id, {"full_name": "Nguyễn Văn Ân", "phone": "0912345678"})
    assert an.name_search == "nguyen van an" and an.phone == "0912345678"
    [update] = session.scalars(select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.entity_type == "person"))
    assert update.changes["full_name"] == ["Nguyễn Văn An", "Nguyễn Văn Ân"] and update.person_ref == an.citizen_id
    with pytest.raises(ValidationFailed) as bad:
        service.update_person(session, officer, an.id, {"sex": "female"})  # the citizen ID says male
    assert bad.value.field == "citizen_id"
    with pytest.raises(ValidationFailed):
        service.update_person(session, officer, an.id, {"si_number": "0100000099"})


def test_households_link_their_members(session, org):
    head = person(session, org.hanoi)
    wife = person(session, org.hanoi, "Trần Thị Bình", "001190012346", sex=Sex.female)
    household = service.create_household(session, head=head, members=[wife], org_unit=session.get(OrgUnit, org.hanoi.id))
    assert household.code == f"HGD01{household.id:09d}"
    assert [m.relation_to_head for m in service.household_members(session, household.id)] == ["head", "member"]
    with pytest.raises(Conflict):
        service.create_household(session, head=wife, org_unit=session.get(OrgUnit, org.hanoi.id))


def employer(session, unit, tax_code="0100109106", **fields):
    data = service.EmployerData(tax_code=tax_code, name=fields.pop("name", "Công ty TNHH An Bình"),
                                ownership=fields.pop("ownership", Ownership.private), region=fields.pop("region", "I"),
                                **fields)
    return service.create_employer(session, data, session.get(OrgUnit, unit.id))


def test_employers_are_validated(session, org):
    parent = employer(session, org.hanoi)
    assert parent.name_search == "cong ty tnhh an binh" and parent.province_2025 == "01"
    branch = employer(session, org.hanoi, "0100109106-002", name="Chi nhánh")
    assert branch.tax_code == "0100109106002"
    for bad, field in [({"tax_code": "0100109107"}, "tax_code"), ({"tax_code": "0300588569001"}, "tax_code"),
                       ({"tax_code": "0300588569", "region": "V"}, "region"),
                       ({"tax_code": "0300588569", "ownership": "mafia"}, "ownership")]:
        with pytest.raises(ValidationFailed) as excinfo:
            employer(session, org.hanoi, **bad)
        assert excinfo.value.field == field
    with pytest.raises(Conflict):
        employer(session, org.hanoi)


def test_employer_users_see_only_their_own_employer(session, org, make_user):
    mine = employer(session, org.hanoi)
    other = employer(session, org.hanoi, "0300588569", name="Công ty Khác")
    user = principal(session, make_user("boss", org.hanoi, Role.employer, subject_ref=mine.tax_code))
    assert service.get_employer(session, user, mine.id).id == mine.id
    with pytest.raises(PermissionDenied):
        service.get_employer(session, user, other.id)
    assert [e.id for e in service.list_employers(session, user)[0]] == [mine.id]
