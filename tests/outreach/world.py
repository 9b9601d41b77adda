"""A small population of Hà Nội (01) and one person of Sơn La (14), counted by hand, for the outreach tests.

On ``ON`` (2026-03-15), Hà Nội's people and what each is (the group is the first that applies):

- ``worker``  born 1990, covered by employer A since 2025-01 (HI with it): covered, not listed; head of household H
- ``child``   born 2022-06-01 (3 years old), in household H: ``under_6``                       commune ``here``
- ``teen``    born 2008-01-10 (18): ``student``                                                  commune ``here``
- ``leaver``  born 1985, worked for A 2024-06 to 2025-10-01 (left 5½ months ago): ``recent_leaver`` commune ``there``
- ``old_leaver`` born 1992, left A on 2024-12-01 (15 months ago): ``working_age``
- ``near``    a man born 1966-06-01 (pension age 62 in 2028: reached 2028-06-01, within 10 years), 60 months of
  compulsory SI (2019-01 to 2023-12): ``near_retirement``, 15 × 12 − 60 = 120 months missing
- ``member``  born 1995, in household H whose head is covered: ``household_member``            commune ``there``
- ``elder``   born 1950 (75, past the pension age): ``older``
- ``unborn``  born 2026-04-01: after the day, not counted
- ``far``     Sơn La, born 1990, uncovered: not in Hà Nội's list

Hà Nội: 7 people listed; by group one each. Communes: ``here`` 2 (child, teen), ``there`` 2 (leaver, member), no
commune 3.
"""

from datetime import date

from sqlalchemy import select

from ansinh.auth.models import OrgUnit
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Place, PlaceLevel, Sex, Structure
from ansinh.registry.places import load_places

ON = date(2026, 3, 15)
TODAY = date(2026, 11, 22)


def cid(born: date, serial: int, province: str = "001", sex: Sex = Sex.male) -> str:
    digit = (0 if born.year < 2000 else 2) + (1 if sex == Sex.female else 0)
    return f"{province}{digit}{born.year % 100:02d}{serial:06d}"


def build(session, org) -> dict:
    load_places(session)
    hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)
    here, there = session.scalars(select(Place).where(
        Place.structure == Structure.from_2025, Place.level == PlaceLevel.commune, Place.province_code == "01")
        .order_by(Place.code).limit(2)).all()

    def person(name, serial, born, unit=hanoi, place=None, province="001"):
        return registry.create_person(session, registry.PersonData(
            full_name=name, date_of_birth=born, sex=Sex.male, citizen_id=cid(born, serial, province),
            residence_place_id=place.id if place else None), unit)

    a = registry.create_employer(session, registry.EmployerData(
        tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
    w = {
        "worker": person("Nguyễn Văn Công", 1, date(1990, 5, 1)),
        "child": person("Nguyễn Văn Bé", 2, date(2022, 6, 1), place=here),
        "teen": person("Trần Văn Học", 3, date(2008, 1, 10), place=here),
        "leaver": person("Lê Văn Nghỉ", 4, date(1985, 7, 7), place=there),
        "old_leaver": person("Phạm Văn Cũ", 5, date(1992, 3, 3)),
        "near": person("Hoàng Văn Già", 6, date(1966, 6, 1)),
        "member": person("Nguyễn Thị Thành", 7, date(1995, 9, 9), place=there),
        "elder": person("Vũ Văn Lão", 8, date(1950, 1, 1)),
        "unborn": person("Bé Sắp Sinh", 9, date(2026, 4, 1)),
        "far": person("Lò Văn Pấng", 10, date(1990, 5, 1), unit=sonla, province="014"),
    }

    def declare(who, kind, month, salary=None):
        participation.apply_declaration(session, employer=a, person=w[who], kind=kind, effective_month=month,
                                        insured_salary=salary, submitted_by="test", today=TODAY)

    declare("worker", "join", date(2025, 1, 1), 10_000_000)
    declare("leaver", "join", date(2024, 6, 1), 9_000_000)
    declare("leaver", "leave", date(2025, 10, 1))
    declare("old_leaver", "join", date(2024, 1, 1), 8_000_000)
    declare("old_leaver", "leave", date(2024, 12, 1))
    declare("near", "join", date(2019, 1, 1), 7_000_000)
    declare("near", "leave", date(2024, 1, 1))
    registry.create_household(session, head=w["worker"], members=[w["child"], w["member"]], org_unit=hanoi)
    session.flush()
    return {**w, "a": a, "here": here, "there": there, "hanoi": hanoi, "sonla": sonla}
