from datetime import date

import pytest
from sqlalchemy import select

from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.cards import service
from ansinh.cards.models import CardLookup, HICard
from ansinh.errors import ValidationFailed
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex

ON = date(2026, 11, 22)


@pytest.fixture
def world(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    employer = registry.create_employer(session, registry.EmployerData(
        tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
    worker = registry.create_person(session, registry.PersonData(
        full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id="001090012345"), hanoi)
    child = registry.create_person(session, registry.PersonData(
        full_name="Nguyễn Minh Châu", date_of_birth=date(2023, 8, 1), sex=Sex.female, citizen_id="001323012347"), hanoi)
    participation.apply_declaration(session, employer=employer, person=worker, kind="join",
                                    effective_month=date(2021, 1, 1), insured_salary=10_000_000,
                                    submitted_by="test", today=date(2021, 1, 5))
    participation.enrol_state_budget(session, group="TE", people=[child], start=date(2023, 8, 1),
                                     end=date(2029, 8, 1), org_unit=hanoi)
    return employer, worker, child


def officer(session, make_user, org):
    return auth_service.principal_for(session.get(User, make_user("desk", org.hanoi, Role.provincial_officer).id))


def test_cards_are_issued_from_coverage_with_their_code_and_five_year_date(session, world):
    _employer, worker, child = world
    assert service.issue_cards(session, on=ON) == {"issued": 2, "unchanged": 0, "superseded": 0}
    card = service.current_card(session, worker.id)
    # group DN, benefit digit 4, province 01, SI number (RULES.md §6)
    assert card.card_code == f"DN401{worker.si_number}" and card.valid_until is None
    assert card.five_years_from == date(2026, 1, 1)  # covered since 2021-01-01
    kid = service.current_card(session, child.id)
    assert kid.card_code == f"TE101{child.si_number}" and kid.valid_until == date(2029, 7, 31)
    assert service.issue_cards(session, on=ON) == {"issued": 0, "unchanged": 2, "superseded": 0}


def test_a_change_makes_a_new_version_and_keeps_the_old_one(session, world):
    employer, worker, _child = world
    service.issue_cards(session, on=ON)
    participation.apply_declaration(session, employer=employer, person=worker, kind="leave",
                                    effective_month=date(2026, 12, 1), submitted_by="test", today=ON)
    assert service.issue_cards(session, on=ON, person_ids=[worker.id]) == {"issued": 1, "unchanged": 0, "superseded": 1}
    history = service.card_history(session, worker.id)
    assert [c.superseded_at is not None for c in history] == [True, False]
    assert history[-1].valid_until == date(2026, 11, 30)


def test_five_years_join_short_gaps_only():
    import polars as pl

    periods = pl.DataFrame({"person_id": [1, 1, 2, 2], "valid_from": [date(2018, 1, 1), date(2021, 3, 1),
                                                                    date(2018, 1, 1), date(2021, 6, 1)],
                            "valid_to": [date(2021, 1, 1), None, date(2021, 1, 1), None]})
    result = dict(service.five_years_dates(periods, ON, 90, 5).iter_rows())
    assert result == {1: date(2023, 1, 1),  # a 59-day gap keeps 2018 as the start
                      2: date(2026, 6, 1)}  # a 151-day gap starts again in 2021


def test_lookup_answers_the_desk_and_logs_every_lookup(session, world, org, make_user):
    _employer, worker, _child = world
    service.issue_cards(session, on=ON)
    desk = officer(session, make_user, org)
    answer = service.lookup(session, desk, on=ON, citizen_id=worker.citizen_id, facility_code="01001")
    assert answer["covered"] and answer["card_code"] == f"DN401{worker.si_number}"
    assert (answer["benefit_level"], answer["benefit_percentage"]) == (4, 0.8)
    assert (answer["full_name"], answer["date_of_birth"]) == ("Nguyễn Văn An", "1990-05-01")
    by_code = service.lookup(session, desk, on=ON, card_code=answer["card_code"])
    assert by_code["covered"]
    unknown = service.lookup(session, desk, on=ON, citizen_id="001090099999")
    assert (unknown["covered"], unknown["reason"]) == (False, "unknown_person")
    early = service.lookup(session, desk, on=date(2020, 6, 1), si_number=worker.si_number)
    assert early["reason"] == "not_yet_valid"
    logged = session.scalars(select(CardLookup.result)).all()
    assert sorted(logged) == ["covered", "covered", "not_covered", "unknown_person"]
    kpis = service.lookup_kpis(session, None, since=date(2026, 1, 1), until=date(2030, 1, 1))
    assert kpis == [{"province": "01", "month": kpis[0]["month"], "lookups": 4, "successful": 2,
                     "success_rate": 0.5}]


@pytest.mark.parametrize(("key", "value", "field"), [
    ("citizen_id", "12345", "citizen_id"),
    ("card_code", "DN4011234", "card_code"),
    ("card_code", "ZZ4010100000001", "card_code"),
    ("si_number", "abc", "si_number"),
])
def test_bad_keys_are_refused_naming_the_field(session, world, key, value, field):
    with pytest.raises(ValidationFailed) as excinfo:
        service.lookup(session, None, on=ON, **{key: value})
    assert excinfo.value.field == field
    assert session.scalar(select(HICard.id).limit(1)) is None  # nothing issued by a lookup


def test_a_date_outside_the_parameters_is_refused(session, world):
    with pytest.raises(ValidationFailed) as excinfo:
        service.lookup(session, None, on=date(2010, 1, 1), citizen_id="001090012345")
    assert excinfo.value.field == "on"


def test_kpis_of_a_local_office_cover_its_province(session, world, org, make_user):
    _employer, worker, _child = world
    service.issue_cards(session, on=ON)
    local = auth_service.principal_for(session.get(User, make_user("coso", org.hanoi_office, Role.district_officer).id))
    service.lookup(session, local, on=ON, citizen_id=worker.citizen_id)
    service.lookup(session, local, on=ON, citizen_id="001090099999")  # unknown: logged under the office's province
    [row] = service.lookup_kpis(session, local, since=date(2026, 1, 1), until=date(2030, 1, 1))
    assert (row["province"], row["lookups"], row["successful"]) == ("01", 2, 1)
    sonla = auth_service.principal_for(session.get(User, make_user("sl", org.sonla, Role.provincial_officer).id))
    assert service.lookup_kpis(session, sonla, since=date(2026, 1, 1), until=date(2030, 1, 1)) == []


def test_a_suspended_card_answers_suspended_until_reinstated(session, world, org, make_user):
    _employer, worker, _child = world
    service.issue_cards(session, on=ON)
    principal = officer(session, make_user, org)
    with pytest.raises(ValidationFailed):
        service.suspend_card(session, worker.id, reason=" ")
    suspended = service.suspend_card(session, worker.id, reason="Thẻ cho người khác mượn")
    answer = service.lookup(session, principal, on=ON, citizen_id=worker.citizen_id)
    assert (answer["covered"], answer["reason"], answer["status"]) == (False, "suspended", "suspended")
    assert service.issue_cards(session, on=ON)["issued"] == 0  # a renewal does not lift the suspension
    assert service.current_card(session, worker.id).id == suspended.id
    service.reinstate_card(session, worker.id)
    assert service.lookup(session, principal, on=ON, citizen_id=worker.citizen_id)["covered"] is True
    history = service.card_history(session, worker.id)
    assert [c.status.value for c in history] == ["active", "suspended", "active"]
    assert [c.superseded_at is None for c in history] == [False, False, True]
    assert len({c.card_code for c in history}) == 1


# HI Law 25/2008/QH12 Art 16(3) as amended by Law 46/2014/QH13: a child's card is valid until the child is 72 months
# old; a child who reaches 72 months before the school year keeps it until 30 September of that year.
@pytest.mark.parametrize(("born", "last_day"), [
    (date(2020, 3, 15), date(2026, 9, 30)),   # 72 months on 2026-03-15, before school: extended to 30 September
    (date(2020, 9, 30), date(2026, 9, 30)),   # 72 months on the day itself
    (date(2020, 11, 3), date(2026, 11, 3)),   # 72 months after 30 September: the day they reach 72 months
    (date(2020, 2, 29), date(2026, 9, 30)),   # leap day: 72 months on 2026-02-28, then extended
])
def test_a_child_card_lasts_to_72_months_or_the_school_year(born, last_day):
    assert service.child_card_last_day(born, months=72, school_year_end=(9, 30)) == last_day


def test_a_birth_registration_gives_the_child_coverage_and_a_card(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    data = registry.PersonData(full_name="Trần Gia Bảo", date_of_birth=date(2026, 11, 2), sex=Sex.male,
                               citizen_id="001226012348")
    child, card = service.register_birth(session, data, org_unit=hanoi, registered_on=ON)
    assert card.card_code == f"TE101{child.si_number}" and card.hi_group == "TE"
    assert (card.valid_from, card.valid_until) == (date(2026, 11, 2), date(2032, 11, 2))
    periods = participation.coverage_history(session, child.id)
    assert [(p.hi_group, p.valid_from, p.valid_to) for p in periods] == [("TE", date(2026, 11, 2), date(2032, 11, 3))]
    answer = service.lookup(session, None, on=ON, citizen_id="001226012348")
    assert answer["covered"] and answer["benefit_percentage"] == 1.0
    later = registry.PersonData(full_name="Trần Gia Huy", date_of_birth=date(2026, 12, 1), sex=Sex.male)
    with pytest.raises(ValidationFailed) as error:
        service.register_birth(session, later, org_unit=hanoi, registered_on=ON)
    assert error.value.field == "date_of_birth"
    too_old = registry.PersonData(full_name="Trần Gia Khang", date_of_birth=date(2019, 1, 5), sex=Sex.male)
    with pytest.raises(ValidationFailed):
        service.register_birth(session, too_old, org_unit=hanoi, registered_on=ON)


def test_a_past_day_is_answered_from_the_card_version_valid_that_day(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    person = registry.create_person(session, registry.PersonData(
        full_name="Đỗ Văn Bình", date_of_birth=date(1970, 3, 3), sex=Sex.male, citizen_id="001070012349"), hanoi)
    participation.enrol_state_budget(session, group="CN", people=[person], start=date(2025, 1, 1),
                                     end=date(2026, 1, 1), org_unit=hanoi)
    service.issue_cards(session, on=date(2025, 6, 1))
    participation.enrol_state_budget(session, group="HN", people=[person], start=date(2026, 1, 1),
                                     end=date(2027, 1, 1), org_unit=hanoi)
    service.issue_cards(session, on=date(2026, 6, 1))
    assert len(service.card_history(session, person.id)) == 2
    last_year = service.lookup(session, None, on=date(2025, 3, 1), citizen_id="001070012349")
    this_year = service.lookup(session, None, on=date(2026, 3, 1), citizen_id="001070012349")
    before = service.lookup(session, None, on=date(2024, 3, 1), citizen_id="001070012349")
    assert (last_year["covered"], last_year["card_code"][:2]) == (True, "CN")
    assert (this_year["covered"], this_year["card_code"][:2]) == (True, "HN")
    assert (before["covered"], before["reason"]) == (False, "not_yet_valid")
