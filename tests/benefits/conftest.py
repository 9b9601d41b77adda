"""The benefits domain's test world: officers of Hà Nội (01) and Sơn La (14), a second Hà Nội officer (appeals), a
citizen, and people with contribution records built through the participation services (declarations of an
employer, voluntary enrolment), so that eligibility is computed from real records."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from ansinh.auth.models import OrgUnit, Role, User
from ansinh.auth.service import principal_for
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex

#: The day the records are built on (declarations are checked against it); tests pass their own dates.
RECORDS_DAY = date(2026, 11, 30)


def citizen_id_for(born: date, sex: Sex, serial: int, province: str = "001") -> str:
    """A citizen ID consistent with the date of birth and sex (century/sex digit, year) and a serial."""
    century = (0 if born.year < 2000 else 2) + (1 if sex is Sex.female else 0)
    return f"{province}{century}{born.year % 100:02d}{serial:06d}"


@pytest.fixture
def bworld(session, org, make_user):
    hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)

    def principal(name, unit, *roles, **fields):
        user = make_user(name, unit, *roles, **fields)
        return principal_for(session.get(User, user.id))

    employer_hn = registry.create_employer(session, registry.EmployerData(
        tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
    employer_sl = registry.create_employer(session, registry.EmployerData(
        tax_code="5500001000", name="Hợp tác xã Mộc Châu", ownership=Ownership.private, region="III"), sonla)

    serials = iter(range(1, 10_000))

    def person(name, born=date(1985, 5, 1), sex=Sex.male, unit=hanoi):
        return registry.create_person(session, registry.PersonData(
            full_name=name, date_of_birth=born, sex=sex, citizen_id=citizen_id_for(born, sex, next(serials))), unit)

    def work(who, employer, start, end=None, salary=10_000_000, raises=()):
        """Compulsory SI with ``employer`` from the month ``start`` (first day) to before the month ``end``,
        with salary changes ``raises`` = [(month, salary), ...]."""
        participation.apply_declaration(session, employer=employer, person=who, kind="join", effective_month=start,
                                        insured_salary=salary, submitted_by="test", today=RECORDS_DAY)
        for month, new in raises:
            participation.apply_declaration(session, employer=employer, person=who, kind="salary_change",
                                            effective_month=month, insured_salary=new, submitted_by="test",
                                            today=RECORDS_DAY)
        if end is not None:
            participation.apply_declaration(session, employer=employer, person=who, kind="leave",
                                            effective_month=end, submitted_by="test", today=RECORDS_DAY)
        return who

    world = SimpleNamespace(
        hanoi=hanoi, sonla=sonla, employer_hn=employer_hn, employer_sl=employer_sl, person=person, work=work,
        officer=principal("b-hanoi", org.hanoi, Role.provincial_officer),
        officer2=principal("b-hanoi-2", org.hanoi, Role.provincial_officer),
        district=principal("b-district", org.hanoi_office, Role.district_officer),
        sonla_officer=principal("b-sonla", org.sonla, Role.provincial_officer),
        national=principal("b-national", org.national, Role.national_officer),
    )
    world.citizen_person = person("Nguyễn Thị Hoa", born=date(1990, 3, 10), sex=Sex.female)
    world.citizen = principal("b-citizen", org.hanoi, Role.citizen, subject_ref=world.citizen_person.citizen_id)
    return world
