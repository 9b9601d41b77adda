from datetime import date, datetime

import polars as pl
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
from ansinh.rules.parameters import get_parameters

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
    answer = service.lookup(session, desk, on=ON, citizen_id=worker.citizen_id, full_name="Nguyễn Văn An",
                            facility_code="01001")
    assert answer["covered"] and answer["card_code"] == f"DN401{worker.si_number}"
    assert (answer["benefit_level"], answer["benefit_percentage"]) == (4, 0.8)
    assert (answer["full_name"], answer["date_of_birth"]) == ("Nguyễn Văn An", "1990-05-01")
    by_code = service.lookup(session, desk, on=ON, card_code=answer["card_code"], date_of_birth=date(1990, 5, 1))
    assert by_code["covered"]
    unknown = service.lookup(session, desk, on=ON, citizen_id="001090099999", full_name="Ai Đó")
    assert (unknown["covered"], unknown["reason"]) == (False, "unknown_person")
    early = service.lookup(session, desk, on=date(2020, 6, 1), si_number=worker.si_number,
                           full_name="nguyen van an")
    assert early["reason"] == "not_yet_valid"
    logged = session.scalars(select(CardLookup.result)).all()
    assert sorted(logged) == ["covered", "covered", "not_covered", "unknown_person"]
    kpis = service.lookup_kpis(session, None, since=date(2000, 1, 1), until=date(2200, 1, 1))
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
        service.lookup(session, None, on=ON, full_name="Nguyễn Văn An", **{key: value})
    assert excinfo.value.field == field
    assert session.scalar(select(HICard.id).limit(1)) is None  # nothing issued by a lookup


def test_a_date_outside_the_parameters_is_refused(session, world):
    with pytest.raises(ValidationFailed) as excinfo:
        service.lookup(session, None, on=date(2010, 1, 1), citizen_id="001090012345", full_name="Nguyễn Văn An")
    assert excinfo.value.field == "on"


def test_kpis_of_a_local_office_cover_its_province(session, world, org, make_user):
    _employer, worker, _child = world
    service.issue_cards(session, on=ON)
    local = auth_service.principal_for(session.get(User, make_user("coso", org.hanoi_office, Role.district_officer).id))
    service.lookup(session, local, on=ON, citizen_id=worker.citizen_id, date_of_birth=date(1990, 5, 1))
    service.lookup(session, local, on=ON, citizen_id="001090099999", date_of_birth=date(1990, 5, 1))  # unknown: logged under the office's province
    [row] = service.lookup_kpis(session, local, since=date(2000, 1, 1), until=date(2200, 1, 1))
    assert (row["province"], row["lookups"], row["successful"]) == ("01", 2, 1)
    sonla = auth_service.principal_for(session.get(User, make_user("sl", org.sonla, Role.provincial_officer).id))
    assert service.lookup_kpis(session, sonla, since=date(2000, 1, 1), until=date(2200, 1, 1)) == []


def test_a_suspended_card_answers_suspended_until_reinstated(session, world, org, make_user):
    _employer, worker, _child = world
    service.issue_cards(session, on=ON)
    principal = officer(session, make_user, org)
    with pytest.raises(ValidationFailed):
        service.suspend_card(session, worker.id, reason=" ")
    suspended = service.suspend_card(session, worker.id, reason="Thẻ cho người khác mượn")
    answer = service.lookup(session, principal, on=ON, citizen_id=worker.citizen_id, full_name="Nguyễn Văn An")
    assert (answer["covered"], answer["reason"], answer["status"]) == (False, "suspended", "suspended")
    assert service.issue_cards(session, on=ON)["issued"] == 0  # a renewal does not lift the suspension
    assert service.current_card(session, worker.id).id == suspended.id
    service.reinstate_card(session, worker.id)
    assert service.lookup(session, principal, on=ON, citizen_id=worker.citizen_id, full_name="Nguyễn Văn An")["covered"] is True
    history = service.card_history(session, worker.id)
    assert [c.status.value for c in history] == ["active", "suspended", "active"]
    assert [c.superseded_at is None for c in history] == [False, False, True]
    assert len({c.card_code for c in history}) == 1


# HI Law 25/2008/QH12 Art 16(3) as amended by Law 46/2014/QH13 (in force 2015-01-01): a child's card is valid until
# the child is 72 months old; a child who reaches 72 months before the school year keeps it until 30 September of
# that year.
@pytest.mark.parametrize(("born", "last_day"), [
    (date(2012, 3, 15), date(2018, 9, 30)),   # 72 months on 2018-03-15, before school: extended to 30 September
    (date(2012, 9, 30), date(2018, 9, 30)),   # 72 months on the day itself
    (date(2012, 11, 3), date(2018, 11, 3)),   # 72 months after 30 September: the day they reach 72 months
    (date(2012, 2, 29), date(2018, 9, 30)),   # leap day: 72 months on 2018-02-28, then extended
])
def test_until_november_2018_a_child_card_lasts_to_72_months_or_the_school_year(born, last_day):
    assert service.child_card_last_day(born, months=72, school_year_end=(9, 30), rule="school_year_end") == last_day
    assert service.child_card_last_day_on(born, date(2018, 11, 30)) == last_day


# Decree 146/2018/NĐ-CP Art 13(2) (in force 2018-12-01), then HI Law Art 16(3)(d) as amended by Law 51/2024/QH15 and
# Decree 188/2025/NĐ-CP Art 13(2) (from 2025-07-01): a child born on or before 30 September keeps the card to 30
# September of the year of 72 months; a child born after 30 September, to the end of the month of 72 months.
@pytest.mark.parametrize(("born", "last_day"), [
    (date(2025, 9, 30), date(2031, 9, 30)),   # born on 30 September: to 30 September (either branch)
    (date(2025, 10, 1), date(2031, 10, 31)),  # born the day after: to the end of October of the year of 72 months
    (date(2025, 12, 31), date(2031, 12, 31)),  # born on the last day of a month: that day is the end of the month
    (date(2025, 1, 1), date(2031, 9, 30)),    # born early in the year: to 30 September
    (date(2020, 2, 29), date(2026, 9, 30)),   # leap day: 72 months on 2026-02-28, before the cut-off anyway
    (date(2020, 11, 3), date(2026, 11, 30)),  # born after 30 September: the end of November, not the birthday
])
def test_a_child_card_lasts_to_30_september_or_the_end_of_the_month_of_72_months(born, last_day):
    assert service.child_card_last_day(born, months=72, school_year_end=(9, 30),
                                       rule="end_of_month_after_cutoff") == last_day
    assert service.child_card_last_day_on(born, date(2026, 11, 22)) == last_day


def test_the_child_card_rule_is_the_one_in_force_on_the_day_the_card_is_issued():
    """The rule changed on 2018-12-01 (Decree 146/2018 Art 13(2)) and was restated from 2025-07-01 (Law 51/2024,
    Decree 188/2025 Art 13(2)): a child born on 2012-10-15 whose card is issued on 2018-11-30 keeps it to the day of
    72 months; issued the next day, to the end of that month."""
    born = date(2012, 10, 15)
    assert service.child_card_rule_on(date(2018, 11, 30)) == "school_year_end"
    assert service.child_card_rule_on(date(2018, 12, 1)) == "end_of_month_after_cutoff"
    assert service.child_card_last_day_on(born, date(2018, 11, 30)) == date(2018, 10, 15)
    assert service.child_card_last_day_on(born, date(2018, 12, 1)) == date(2018, 10, 31)
    later = date(2019, 10, 1)
    assert service.child_card_last_day_on(later, date(2025, 6, 30)) == date(2025, 10, 31)  # Decree 146/2018
    assert service.child_card_last_day_on(later, date(2025, 7, 1)) == date(2025, 10, 31)   # Decree 188/2025
    with pytest.raises(ValueError, match="unknown child card rule"):
        service.child_card_last_day(born, months=72, school_year_end=(9, 30), rule="birthday")
    with pytest.raises(ValidationFailed) as before:  # no rule is recorded before Law 46/2014
        service.child_card_last_day_on(date(2014, 5, 1), date(2014, 12, 31))
    assert before.value.field == "registered_on"


def test_every_entry_of_the_child_card_rule_names_exactly_one_rule():
    parameter = get_parameters()[service.CHILD_RULE]
    assert set(parameter.keys) == set(service.CHILD_CARD_RULES)
    for entry in parameter.values:
        assert sorted(entry.value.values()) == [0, 1], entry.start


def test_a_birth_registration_gives_the_child_coverage_and_a_card(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    data = registry.PersonData(full_name="Trần Gia Bảo", date_of_birth=date(2026, 11, 2), sex=Sex.male,
                               citizen_id="001226012348")
    child, card = service.register_birth(session, data, org_unit=hanoi, registered_on=ON)
    assert card.card_code == f"TE101{child.si_number}" and card.hi_group == "TE"
    # born after 30 September 2026: to the end of November 2032, the month of 72 months (Decree 188/2025 Art 13(2))
    assert (card.valid_from, card.valid_until) == (date(2026, 11, 2), date(2032, 11, 30))
    periods = participation.coverage_history(session, child.id)
    assert [(p.hi_group, p.valid_from, p.valid_to) for p in periods] == [("TE", date(2026, 11, 2), date(2032, 12, 1))]
    answer = service.lookup(session, None, on=ON, citizen_id="001226012348", full_name="Trần Gia Bảo")
    assert answer["covered"] and answer["benefit_percentage"] == 1.0
    later = registry.PersonData(full_name="Trần Gia Huy", date_of_birth=date(2026, 12, 1), sex=Sex.male)
    with pytest.raises(ValidationFailed) as error:
        service.register_birth(session, later, org_unit=hanoi, registered_on=ON)
    assert error.value.field == "date_of_birth"
    too_old = registry.PersonData(full_name="Trần Gia Khang", date_of_birth=date(2019, 1, 5), sex=Sex.male)
    with pytest.raises(ValidationFailed):
        service.register_birth(session, too_old, org_unit=hanoi, registered_on=ON)


def test_a_birth_registered_in_september_2026_gives_a_card_to_30_september_2032(session, org):
    """Born on 2026-09-30, the cut-off day itself (Decree 188/2025 Art 13(2)): to 30 September of the year of 72
    months; the coverage period ends the day after (periods are half-open)."""
    hanoi = session.get(OrgUnit, org.hanoi.id)
    data = registry.PersonData(full_name="Trần Gia An", date_of_birth=date(2026, 9, 30), sex=Sex.male)
    child, card = service.register_birth(session, data, org_unit=hanoi, registered_on=date(2026, 10, 5))
    assert (card.valid_from, card.valid_until) == (date(2026, 9, 30), date(2032, 9, 30))
    assert [p.valid_to for p in participation.coverage_history(session, child.id)] == [date(2032, 10, 1)]


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
    last_year = service.lookup(session, None, on=date(2025, 3, 1), citizen_id="001070012349", full_name="Đỗ Văn Bình")
    this_year = service.lookup(session, None, on=date(2026, 3, 1), citizen_id="001070012349", full_name="Đỗ Văn Bình")
    before = service.lookup(session, None, on=date(2024, 3, 1), citizen_id="001070012349", full_name="Đỗ Văn Bình")
    assert (last_year["covered"], last_year["card_code"][:2]) == (True, "CN")
    assert (this_year["covered"], this_year["card_code"][:2]) == (True, "HN")
    assert (before["covered"], before["reason"]) == (False, "not_yet_valid")


def test_a_household_card_is_valid_30_days_after_the_first_payment(session, org):
    """HI Law Art 16(3)(c) as amended by Law 51/2024 (from 2025-07-01): a household participant joining for the first
    time, paying on 2026-01-01 for 12 months, has a card valid from 2026-01-31 for the 12 months paid. The card follows
    the coverage period: issuance needs no rule of its own."""
    hanoi = session.get(OrgUnit, org.hanoi.id)
    person = registry.create_person(session, registry.PersonData(
        full_name="Hoàng Thị Mai", date_of_birth=date(1988, 4, 4), sex=Sex.female, citizen_id="001188012341"), hanoi)
    household = registry.create_household(session, head=person, members=[], org_unit=hanoi)
    participation.enrol_household_hi(session, household=household, members=[person], start=date(2026, 1, 1),
                                     months=12, today=date(2026, 1, 1))
    assert service.issue_cards(session, on=date(2026, 1, 15))["issued"] == 0  # not covered yet on the 15th
    service.issue_cards(session, on=date(2026, 2, 1))
    card = service.current_card(session, person.id)
    assert (card.card_code[:3], card.valid_from, card.valid_until) == ("GD4", date(2026, 1, 31), date(2027, 1, 30))
    waiting = service.lookup(session, None, on=date(2026, 1, 30), citizen_id="001188012341", full_name="Hoàng Thị Mai")
    valid = service.lookup(session, None, on=date(2026, 1, 31), citizen_id="001188012341", full_name="Hoàng Thị Mai")
    assert (waiting["covered"], waiting["reason"]) == (False, "not_yet_valid") and valid["covered"] is True


def test_near_poor_cards_change_from_digit_3_to_2_on_1_january_2026(session, org):
    """Ministry of Health letter 38/BYT-BH applying Resolution 261/2025/QH15: CN 3 (95%) → 2 (100%) from 2026-01-01
    [secondary]. A card issued again on that day is a new version with the new code."""
    hanoi = session.get(OrgUnit, org.hanoi.id)
    person = registry.create_person(session, registry.PersonData(
        full_name="Đinh Văn Cận", date_of_birth=date(1975, 6, 6), sex=Sex.male, citizen_id="001075012342"), hanoi)
    participation.enrol_state_budget(session, group="CN", people=[person], start=date(2025, 1, 1),
                                     end=date(2027, 1, 1), org_unit=hanoi)
    service.issue_cards(session, on=date(2025, 12, 31))
    assert service.current_card(session, person.id).card_code == f"CN301{person.si_number}"
    assert service.issue_cards(session, on=date(2026, 1, 1)) == {"issued": 1, "unchanged": 0, "superseded": 1}
    assert service.current_card(session, person.id).card_code == f"CN201{person.si_number}"
    answer = service.lookup(session, None, on=date(2026, 1, 2), citizen_id="001075012342", full_name="Đinh Văn Cận")
    assert answer["covered"] and answer["benefit_percentage"] == 1.0


def test_card_groups_change_over_time_and_validation_follows_them():
    """LH (people of 75 or more on the social pension allowance) has a digit from 2025-07-01 (4), 2 from 2026-01-01;
    the group codes reported later without a sourced digit (AK, ...) are not groups."""
    si = "0123456789"
    assert service.check_card_code(f"LH201{si}") == ("LH", "2", "01", si)  # a group at some time
    assert service.check_card_code(f"LH201{si}", on=date(2026, 1, 2))[0] == "LH"
    with pytest.raises(ValidationFailed) as too_early:
        service.check_card_code(f"LH401{si}", on=date(2025, 6, 30))
    assert too_early.value.field == "card_code"
    with pytest.raises(ValidationFailed, match="not a beneficiary group"):
        service.check_card_code(f"AK201{si}")
    digits = get_parameters()[service.BENEFIT_DIGIT]
    on = pl.Series([date(2025, 7, 1), date(2026, 1, 1), date(2025, 12, 31), date(2026, 1, 1)])
    assert digits.column(on, pl.Series(["LH", "LH", "CN", "CN"])).to_list() == [4, 2, 3, 2]
    with pytest.raises(ValidationFailed) as issuing:  # issuance reads the same column: an LH card before LH existed
        digits.column(pl.Series([date(2026, 1, 1), date(2025, 6, 30)]), pl.Series(["CN", "LH"]), field_name="hi_group")
    assert issuing.value.field == "hi_group" and "LH" in str(issuing.value)


# --- the lookup rule: a key and the name or birth date on the chip card --------------------------------------

def test_a_key_alone_is_refused_and_a_wrong_name_or_birth_date_reveals_nothing(session, world, org, make_user):
    _employer, worker, _child = world
    service.issue_cards(session, on=ON)
    desk = officer(session, make_user, org)
    with pytest.raises(ValidationFailed) as refused:
        service.lookup(session, desk, on=ON, citizen_id=worker.citizen_id)
    assert refused.value.field == "full_name"
    personal = ("full_name", "date_of_birth", "sex", "person_id", "card_code", "card_id", "registered_facility")
    wrong_name = service.lookup(session, desk, on=ON, citizen_id=worker.citizen_id, full_name="Nguyễn Văn Anh")
    wrong_birth = service.lookup(session, desk, on=ON, si_number=worker.si_number, date_of_birth=date(1990, 5, 2))
    both_but_one_wrong = service.lookup(session, desk, on=ON, citizen_id=worker.citizen_id,
                                        full_name="Nguyễn Văn An", date_of_birth=date(1991, 5, 1))
    assert (wrong_name["covered"], wrong_name["reason"]) == (False, "name_mismatch")
    assert (wrong_birth["covered"], wrong_birth["reason"]) == (False, "birth_date_mismatch")
    assert both_but_one_wrong["reason"] == "birth_date_mismatch"
    for answer in (wrong_name, wrong_birth, both_but_one_wrong):
        assert all(answer[key] is None for key in personal), answer
    logged = session.execute(select(CardLookup.result, CardLookup.reason).order_by(CardLookup.id)).all()
    assert logged == [("mismatch", "name_mismatch"), ("mismatch", "birth_date_mismatch"),
                      ("mismatch", "birth_date_mismatch")]
    from ansinh.audit.models import AuditEvent
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "read")) is None  # nothing was read
    spaced = service.lookup(session, desk, on=ON, citizen_id=worker.citizen_id, full_name="  NGUYỄN  văn an ")
    assert spaced["covered"] and spaced["full_name"] == "Nguyễn Văn An"


@pytest.mark.parametrize(("given", "same"), [
    ("Nguyễn Văn An", True), ("nguyễn văn an", True), ("Nguyen Van An", True), ("NGUYEN VAN AN", True),
    ("Nguyễn Văn Ân", False), ("Nguyen Van Anh", False), ("Nguyễn Van An", False), ("Văn An", False),
])
def test_a_name_typed_without_accents_matches_and_a_wrong_accent_does_not(given, same):
    assert service.same_name(given, "Nguyễn  Văn An") is same


def test_an_office_issues_only_the_cards_of_its_own_people(session, world, org, make_user):
    _employer, worker, child = world
    sonla = auth_service.principal_for(session.get(User, make_user("sl", org.sonla, Role.provincial_officer).id))
    assert service.issue_cards(session, on=ON, principal=sonla) == {"issued": 0, "unchanged": 0, "superseded": 0}
    assert service.current_card(session, worker.id) is None
    hanoi = officer(session, make_user, org)
    assert service.issue_cards(session, on=ON, principal=hanoi)["issued"] == 2


def test_a_lookup_counts_in_the_province_of_the_facility_where_it_is_made(session, world, org, make_user):
    from ansinh.cards import facilities

    _employer, worker, _child = world
    service.issue_cards(session, on=ON)
    sonla = session.get(OrgUnit, org.sonla.id)
    facilities.create_facility(session, facilities.FacilityData(code="14001", name="Bệnh viện Sơn La",
                                                                level="provincial"), sonla)
    desk = officer(session, make_user, org)  # a Hà Nội officer
    when = [datetime.fromisoformat(f"{day}T09:00:00+07:00") for day in ("2026-11-02", "2026-11-03", "2026-11-04",
                                                                         "2026-12-01")]
    # a Hà Nội cardholder looked up at a Sơn La facility (by a Hà Nội officer for it): counts for Sơn La
    service.lookup(session, desk, on=ON, citizen_id=worker.citizen_id, full_name="Nguyễn Văn An",
                   facility_code="14001", logged_at=when[0])
    service.lookup(session, desk, on=ON, citizen_id="001090099999", full_name="Ai Đó", facility_code="14001",
                   logged_at=when[1])
    # at the office, no facility: the looker's province; a command: the cardholder's
    service.lookup(session, desk, on=ON, citizen_id=worker.citizen_id, full_name="Nguyễn Văn An", logged_at=when[2])
    service.lookup(session, None, on=ON, citizen_id=worker.citizen_id, full_name="Nguyễn Văn An", logged_at=when[3])
    assert sorted(session.execute(select(CardLookup.province_2025, CardLookup.result)).all()) == [
        ("01", "covered"), ("01", "covered"), ("14", "covered"), ("14", "unknown_person")]
    november = dict(since=date(2026, 11, 1), until=date(2026, 11, 30))
    assert service.lookups_by_province(session, **november) == {"01": (1, 1), "14": (2, 1)}
    assert service.lookups_by_province(session, **november, province="14") == {"14": (2, 1)}
    assert service.lookups_by_province(session, since=date(2026, 11, 1), until=date(2026, 12, 1)) == {
        "01": (2, 2), "14": (2, 1)}
    assert service.lookups_by_province(session, since=date(2026, 11, 4), until=date(2026, 11, 4)) == {"01": (1, 1)}
    kpis = service.lookup_kpis(session, None, **november)
    assert [(k["province"], k["lookups"], k["successful"]) for k in kpis] == [("01", 1, 1), ("14", 2, 1)]
