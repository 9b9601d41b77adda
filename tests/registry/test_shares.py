"""Shares of the registry per 2025 province: citizen IDs, participants matched with the population database,
employers on electronic transactions, people without health insurance — on hand-built records in Hà Nội (01) and
Sơn La (14), every figure counted by hand."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from ansinh import clock
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry import shares
from ansinh.registry.imports import import_file
from ansinh.registry.models import Ownership, Place, PlaceLevel, Sex, Structure
from ansinh.registry.places import load_places

TODAY = date(2026, 11, 22)
POPULATION_HEADER = "citizen_id,full_name,date_of_birth,sex,residence_code"


def cid(born: date, serial: int, province: str = "001") -> str:
    """A man's citizen ID consistent with his date of birth."""
    return f"{province}{0 if born.year < 2000 else 2}{born.year % 100:02d}{serial:06d}"


def person(session, unit, name, serial, *, born=date(1990, 5, 1), with_id=True, province="001", place=None):
    return registry.create_person(session, registry.PersonData(
        full_name=name, date_of_birth=born, sex=Sex.male, citizen_id=cid(born, serial, province) if with_id else None,
        residence_place_id=place.id if place else None), unit)


def enrol(session, who, unit, month=date(2025, 1, 1)):
    participation.enrol_voluntary(session, person=who, income=3_000_000, months=1, group="other", start=month,
                                  org_unit=unit, today=TODAY)


def line(who, *, name=None, born=None, place=None) -> str:
    return ",".join([who.citizen_id, name or who.full_name, (born or who.date_of_birth).isoformat(), "male",
                     place.code if place else ""])


def import_population(session, monkeypatch, unit, at: datetime, lines: list[str], name: str):
    """A population extract imported by ``unit`` at the instant ``at`` (the clock set to it)."""
    monkeypatch.setattr(clock, "utcnow", lambda: at)
    report = import_file(session, kind="population", content="\n".join([POPULATION_HEADER, *lines]).encode(),
                         file_name=name, principal_or_context="tester", org_unit=unit, today=TODAY)
    monkeypatch.undo()
    assert report.status == "applied", report.to_json()


@pytest.fixture
def units(session, org):
    return (session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id),
            session.get(OrgUnit, org.hanoi_office.id))


def test_citizen_ids_and_merged_people(session, org, units, make_user):
    hanoi, sonla, office = units
    kept = person(session, hanoi, "Nguyễn Văn An", 1)
    person(session, hanoi, "Trần Văn Bình", 2)
    person(session, office, "Lê Văn Cường", 3, with_id=False)
    twin = person(session, hanoi, "Nguyễn Văn An", 4, with_id=False)
    person(session, sonla, "Lò Văn Pấng", 5, province="014")
    person(session, sonla, "Lò Văn Xanh", 6, with_id=False)
    assert shares.count_citizen_ids(session) == {"01": (2, 4), "14": (1, 2)}
    user = make_user("merger", org.hanoi, Role.provincial_officer)
    registry.merge_people(session, auth_service.principal_for(session.get(User, user.id)), kept.id, twin.id,
                          "Cùng một người")
    assert shares.count_citizen_ids(session) == {"01": (2, 3), "14": (1, 2)}
    assert shares.count_citizen_ids(session, province="14") == {"14": (1, 2)}


def test_e_transactions(session, units):
    hanoi, sonla, _ = units
    for tax_code, unit, electronic in (("0100109106", hanoi, True), ("0100112437", hanoi, False),
                                       ("0100109113", hanoi, True), ("5500001000", sonla, False)):
        registry.create_employer(session, registry.EmployerData(
            tax_code=tax_code, name=f"Công ty {tax_code}", ownership=Ownership.private, region="I",
            e_transactions=electronic), unit)
    assert shares.count_e_transactions(session) == {"01": (2, 3), "14": (0, 1)}
    assert shares.count_e_transactions(session, province="01") == {"01": (2, 3)}


def test_uncovered_people(session, units):
    hanoi, sonla, _ = units
    on = date(2025, 3, 15)
    worker = person(session, hanoi, "Nguyễn Văn An", 1)  # covered by an employer (HI DN)
    employer = registry.create_employer(session, registry.EmployerData(
        tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
    participation.apply_declaration(session, employer=employer, person=worker, kind="join",
                                    effective_month=date(2025, 1, 1), insured_salary=10_000_000, submitted_by="test",
                                    today=TODAY)
    pupil = person(session, hanoi, "Trần Văn Bình", 2, born=date(2012, 2, 2))  # HI until 2025-03-15: uncovered on it
    participation.enrol_state_budget(session, group="HS", people=[pupil], start=date(2025, 1, 1),
                                     end=on, org_unit=hanoi, today=TODAY)
    idle = person(session, hanoi, "Lê Văn Cường", 3)  # voluntary SI only: no HI
    enrol(session, idle, hanoi)
    person(session, hanoi, "Phạm Văn Dũng", 4, born=date(2025, 3, 16))  # born after the day: not counted
    far = person(session, sonla, "Lò Văn Pấng", 5, province="014")
    assert shares.count_uncovered(session, on=on) == {"01": 2, "14": 1}
    assert shares.count_uncovered(session, on=date(2025, 3, 14)) == {"01": 1, "14": 1}
    assert shares.count_uncovered(session, on=date(2025, 3, 16), province="01") == {"01": 3}
    rows, total = shares.list_uncovered(session, on=on, province="01")
    assert total == 2
    assert rows == [
        {"person_id": idle.id, "si_number": idle.si_number, "citizen_id": idle.citizen_id, "full_name": "Lê Văn Cường",
         "date_of_birth": date(1990, 5, 1), "residence_place_id": None, "commune": None},
        {"person_id": pupil.id, "si_number": pupil.si_number, "citizen_id": pupil.citizen_id,
         "full_name": "Trần Văn Bình", "date_of_birth": date(2012, 2, 2), "residence_place_id": None,
         "commune": None}]
    page, total = shares.list_uncovered(session, on=on, limit=1, offset=2)
    assert total == 3 and [r["person_id"] for r in page] == [pupil.id]  # Lê, Lò, Trần
    assert far.id not in [r["person_id"] for r in rows]


def test_population_matched_with_the_latest_import(session, units, monkeypatch):
    load_places(session)
    hanoi, sonla, office = units
    here, there = session.scalars(select(Place).where(
        Place.structure == Structure.from_2025, Place.level == PlaceLevel.commune, Place.province_code == "01")
        .order_by(Place.code).limit(2)).all()
    m = {n: person(session, hanoi, f"Người {n}", n, with_id=n != 6, place=here if n == 4 else None)
         for n in range(1, 7)}
    o1 = person(session, office, "Người văn phòng", 7)
    s1 = person(session, sonla, "Lò Văn Pấng", 8, province="014")
    for who in (*[m[n] for n in (1, 2, 3, 4, 6)], o1):
        enrol(session, who, hanoi)
    enrol(session, s1, sonla)  # m5 has no coverage: not a participant
    assert m[4].province_2025 == "01"

    import_population(session, monkeypatch, sonla, datetime(2025, 2, 1, 3, tzinfo=UTC), [line(s1)], "sonla.csv")
    # Hà Nội, 10 March: m3 absent, m4 at another address.
    import_population(session, monkeypatch, hanoi, datetime(2025, 3, 10, 3, tzinfo=UTC),
                      [line(m[1]), line(m[2]), line(m[4], place=there), line(m[5]), line(o1)], "hanoi-1.csv")
    # Hà Nội, 10 June at 23:30 in Vietnam (16:30 UTC): replaces the first. m2's name differs; m4 without address.
    import_population(session, monkeypatch, hanoi, datetime(2025, 6, 10, 16, 30, tzinfo=UTC),
                      [line(m[1]), line(m[2], name="Người Hai"), line(m[3]), line(m[4]), line(o1)], "hanoi-2.csv")
    # The Ba Đình office, 20 June: covers o1 only (a person of the province's own office is not in its subtree).
    import_population(session, monkeypatch, office, datetime(2025, 6, 20, 3, tzinfo=UTC),
                      [line(o1, born=date(1990, 5, 2))], "ba-dinh.csv")

    # before any extract covers them, participants are not compared: no figure rather than 0%
    assert shares.count_population_matched(session, on=date(2025, 3, 1)) == {"14": (1, 1)}
    assert shares.count_population_matched(session, on=date(2025, 1, 20)) == {}
    # m1, m2, o1 (m3 absent, m4's residence differs, m6 has no citizen ID).
    assert shares.count_population_matched(session, on=date(2025, 4, 1)) == {"01": (3, 6), "14": (1, 1)}
    assert shares.count_population_matched(session, on=date(2025, 6, 9), province="01") == {"01": (3, 6)}
    # The second extract from the day it was imported (Vietnam's day): m1, m3, m4, o1.
    assert shares.count_population_matched(session, on=date(2025, 6, 10), province="01") == {"01": (4, 6)}
    # After the office's extract, o1's date of birth differs there: m1, m3, m4.
    assert shares.count_population_matched(session, on=date(2025, 7, 1)) == {"01": (3, 6), "14": (1, 1)}
    # Before anyone was covered: no participants.
    assert shares.count_population_matched(session, on=date(2024, 12, 31)) == {}

