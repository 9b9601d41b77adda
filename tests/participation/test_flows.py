"""Flows of participation per 2025 province: leaving compulsory SI, joining or coming back to voluntary SI, HI
groups on a day — on hand-built people in Hà Nội (01) and Sơn La (14), every figure counted by hand."""

from datetime import date

import pytest

from ansinh.auth.models import OrgUnit
from ansinh.errors import ValidationFailed
from ansinh.participation import flows
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex

TODAY = date(2026, 11, 22)
Q1 = {"since": date(2025, 1, 1), "until": date(2025, 3, 31)}


def person(session, unit, name, serial, born=date(1990, 5, 1)):
    """A man with a citizen ID consistent with his date of birth (century digit, year) and a serial."""
    century = 0 if born.year < 2000 else 2
    return registry.create_person(session, registry.PersonData(
        full_name=name, date_of_birth=born, sex=Sex.male,
        citizen_id=f"001{century}{born.year % 100:02d}{serial:06d}"), unit)


def employer(session, unit, tax_code, name):
    return registry.create_employer(session, registry.EmployerData(tax_code=tax_code, name=name,
                                                                   ownership=Ownership.private, region="I"), unit)


def declare(session, who, at, kind, month, salary=None):
    participation.apply_declaration(session, employer=at, person=who, kind=kind, effective_month=month,
                                    insured_salary=salary, submitted_by="test", today=TODAY)


def join(session, who, at, month):
    declare(session, who, at, "join", month, 10_000_000)


def enrol(session, who, unit, month):
    participation.enrol_voluntary(session, person=who, income=3_000_000, months=1, group="other", start=month,
                                  org_unit=unit, today=TODAY)


def stop(session, who, month):
    participation.end_voluntary(session, person=who, end=month, today=TODAY)


@pytest.fixture
def world(session, org):
    hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)
    a = employer(session, hanoi, "0100109106", "Công ty An Bình")
    b = employer(session, hanoi, "0100112437", "Công ty Bình Minh")
    c = employer(session, sonla, "5500001000", "Hợp tác xã Mộc Châu")
    p = {n: person(session, hanoi if n in (1, 2, 3, 6, 7) else sonla, f"Người {n}", n) for n in range(1, 8)}
    # p1 (HN) leaves A from February: a leaver, the first day without cover 2025-02-01.
    join(session, p[1], a, date(2024, 6, 1))
    declare(session, p[1], a, "leave", date(2025, 2, 1))
    # p2 (HN) moves from A to B in March without a gap: not a leaver.
    join(session, p[2], a, date(2024, 6, 1))
    declare(session, p[2], a, "leave", date(2025, 3, 1))
    join(session, p[2], b, date(2025, 3, 1))
    # p3 (HN) changes salary in February, leaves in April (outside the window): not a leaver in Q1.
    join(session, p[3], a, date(2024, 6, 1))
    declare(session, p[3], a, "salary_change", date(2025, 2, 1), 12_000_000)
    declare(session, p[3], a, "leave", date(2025, 4, 1))
    # p4 (SL) leaves C on the window's first day.
    join(session, p[4], c, date(2024, 6, 1))
    declare(session, p[4], c, "leave", date(2025, 1, 1))
    # p5 (SL) left C in December 2024: before the window.
    join(session, p[5], c, date(2024, 1, 1))
    declare(session, p[5], c, "leave", date(2024, 12, 1))
    # p6 (HN) leaves A in March and joins B in April: a month without cover, a leaver (2025-03-01).
    join(session, p[6], a, date(2024, 6, 1))
    declare(session, p[6], a, "leave", date(2025, 3, 1))
    join(session, p[6], b, date(2025, 4, 1))
    # p7 (HN) works for A and C at once and leaves C: still covered by A, not a leaver.
    join(session, p[7], a, date(2024, 6, 1))
    join(session, p[7], c, date(2024, 6, 1))
    declare(session, p[7], c, "leave", date(2025, 2, 1))

    v = {n: person(session, hanoi if n in (1, 2) else sonla, f"Tự nguyện {n}", 100 + n) for n in range(1, 8)}
    enrol(session, v[1], hanoi, date(2025, 2, 1))  # new (HN)
    enrol(session, v[2], hanoi, date(2024, 3, 1))  # returning (HN): stopped in September, back in January
    stop(session, v[2], date(2024, 9, 1))
    enrol(session, v[2], hanoi, date(2025, 1, 1))
    enrol(session, v[3], sonla, date(2024, 3, 1))  # renewed without a gap in February: neither
    stop(session, v[3], date(2025, 2, 1))
    enrol(session, v[3], sonla, date(2025, 2, 1))
    enrol(session, v[4], sonla, date(2024, 5, 1))  # first before the window: neither
    enrol(session, v[5], sonla, date(2025, 4, 1))  # new, but after the window
    enrol(session, v[6], sonla, date(2025, 3, 1))  # new (SL)
    enrol(session, v[7], sonla, date(2024, 1, 1))  # returning (SL): stopped in June 2024, back in March 2025
    stop(session, v[7], date(2024, 6, 1))
    enrol(session, v[7], sonla, date(2025, 3, 1))
    return {"a": a, "b": b, "c": c, "p": p, "v": v}


def test_leavers_of_compulsory_si(session, world):
    p, a = world["p"], world["a"]
    assert flows.count_compulsory_leavers(session, **Q1) == {"01": 2, "14": 1}
    assert flows.count_compulsory_leavers(session, **Q1, province="14") == {"14": 1}
    # The window's edges: p4 left on 2025-01-01, p6 on 2025-03-01.
    assert flows.count_compulsory_leavers(session, since=date(2025, 1, 2), until=date(2025, 2, 28)) == {"01": 1}
    assert flows.count_compulsory_leavers(session, since=date(2025, 3, 1), until=date(2025, 3, 1)) == {"01": 1}
    # April: p3 leaves A; December 2024: p5.
    assert flows.count_compulsory_leavers(session, since=date(2025, 4, 1), until=date(2025, 4, 30)) == {"01": 1}
    assert flows.count_compulsory_leavers(session, since=date(2024, 12, 1), until=date(2024, 12, 31)) == {"14": 1}
    rows, total = flows.list_compulsory_leavers(session, **Q1, province="01")
    assert total == 2
    assert rows == [
        {"person_id": p[1].id, "si_number": p[1].si_number, "full_name": "Người 1", "employer_id": a.id,
         "employer_name": "Công ty An Bình", "left_on": date(2025, 2, 1)},
        {"person_id": p[6].id, "si_number": p[6].si_number, "full_name": "Người 6", "employer_id": a.id,
         "employer_name": "Công ty An Bình", "left_on": date(2025, 3, 1)}]
    page, total = flows.list_compulsory_leavers(session, **Q1, limit=1, offset=1)
    assert total == 3 and [r["person_id"] for r in page] == [p[1].id]  # p4 (01-01), p1 (02-01), p6 (03-01)


def test_joining_voluntary_si_new_and_returning(session, world):
    v = world["v"]
    assert flows.count_voluntary_new(session, **Q1) == {"01": 1, "14": 1}
    assert flows.count_voluntary_returning(session, **Q1) == {"01": 1, "14": 1}
    assert flows.count_voluntary_new(session, **Q1, province="01") == {"01": 1}
    # Before the window, v2, v3, v4 and v7 joined for the first time (2024).
    assert flows.count_voluntary_new(session, since=date(2024, 1, 1), until=date(2024, 12, 31)) == {"01": 1, "14": 3}
    assert flows.count_voluntary_returning(session, since=date(2024, 1, 1), until=date(2024, 12, 31)) == {}
    # The second quarter: v5 is new; nobody returns.
    assert flows.count_voluntary_new(session, since=date(2025, 4, 1), until=date(2025, 6, 30)) == {"14": 1}
    rows, total = flows.list_voluntary_new(session, **Q1)
    assert total == 2 and rows == [
        {"person_id": v[1].id, "si_number": v[1].si_number, "full_name": "Tự nguyện 1", "joined_on": date(2025, 2, 1)},
        {"person_id": v[6].id, "si_number": v[6].si_number, "full_name": "Tự nguyện 6", "joined_on": date(2025, 3, 1)}]
    rows, total = flows.list_voluntary_returning(session, **Q1, province="14")
    assert total == 1 and rows == [{"person_id": v[7].id, "si_number": v[7].si_number, "full_name": "Tự nguyện 7",
                                    "joined_on": date(2025, 3, 1)}]
    rows, total = flows.list_voluntary_returning(session, **Q1)
    assert total == 2 and [r["person_id"] for r in rows] == [v[2].id, v[7].id]


def test_end_voluntary_ends_the_period_and_refuses_without_one(session, world):
    v3 = world["v"][3]
    periods = [(p.valid_from, p.valid_to) for p in participation.coverage_history(session, v3.id)]
    assert periods == [(date(2024, 3, 1), date(2025, 2, 1)), (date(2025, 2, 1), None)]
    with pytest.raises(ValidationFailed):
        participation.end_voluntary(session, person=world["p"][1], end=date(2025, 5, 1), today=TODAY)


def test_hi_groups_on_a_day(session, org):
    hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)
    h = {n: person(session, hanoi if n in (1, 2, 5) else sonla, f"Học sinh {n}", 200 + n,
                   born=date(2012, 1, 1) if n != 5 else date(2021, 1, 1)) for n in range(1, 6)}
    year_end = date(2026, 1, 1)

    def state(group, who, start, end, unit):
        participation.enrol_state_budget(session, group=group, people=[who], start=start, end=end, org_unit=unit,
                                         today=TODAY)

    state("HS", h[1], date(2025, 1, 1), year_end, hanoi)  # a pupil (HN)
    state("HS", h[2], date(2025, 4, 1), year_end, hanoi)  # from April only
    state("SV", h[3], date(2025, 1, 1), date(2025, 3, 15), sonla)  # ends: not covered on 2025-03-15
    state("SV", h[4], date(2025, 1, 1), year_end, sonla)  # a student who also works (DN) for a Sơn La employer
    c = employer(session, sonla, "5500001000", "Hợp tác xã Mộc Châu")
    join(session, h[4], c, date(2025, 2, 1))
    state("TE", h[5], date(2025, 1, 1), year_end, hanoi)  # a child under 6: not a pupil
    on = date(2025, 3, 15)
    assert flows.count_hi_groups(session, on=on, groups=("HS", "SV")) == {"01": 1, "14": 1}
    assert flows.count_hi_groups(session, on=date(2025, 3, 14), groups=("HS", "SV")) == {"01": 1, "14": 2}
    assert flows.count_hi_groups(session, on=date(2025, 4, 1), groups=("HS", "SV"), province="01") == {"01": 2}
    # h4 is in two of the groups at once (SV and DN): one person.
    assert flows.count_hi_groups(session, on=on, groups=("SV", "DN")) == {"14": 1}
    assert flows.count_hi_groups(session, on=on, groups=("DN",)) == {"14": 1}
    assert flows.count_hi_groups(session, on=on, groups=()) == {}


def test_participants_on_several_days_from_one_pass_equal_each_day_alone(session, world):
    days = [date(2024, 12, 31), date(2025, 2, 15), date(2025, 3, 31), date(2026, 11, 22)]
    together = participation.participation_by_province_on(session, days)
    for day in days:
        rows = together[day]
        assert [{k: v for k, v in row.items() if k != "hi_groups_plain"} for row in rows] == \
            participation.participation_by_province(session, None, on=day)
        plain = {row["province"]: sum(row["hi_groups_plain"].values()) for row in rows}
        flagged = flows.count_hi_groups(session, on=day, groups=("DN", "HS", "SV", "GD"), flagged_only=True)
        assert {k: plain.get(k, 0) + flagged.get(k, 0) for k in plain if plain.get(k, 0) + flagged.get(k, 0)} == \
            flows.count_hi_groups(session, on=day, groups=("DN", "HS", "SV", "GD"))
    assert any(row["si_compulsory"] for row in together[date(2025, 2, 15)])
