"""The demo users' own stories, so that each role finds its work on its pages.

- **The employer user's employer** has a staff: seven people declared 15 months ago, three of them with a raise
  10 months ago, one who left 4 months ago, two hired 6 months ago and one 2 months ago. Its bills and payments
  come with the demo's year of collection (:mod:`ansinh.synth.collection`, the ``story`` payers: paid on time,
  then one bill paid in part, then two months unpaid, with late interest).
- **The citizen user** worked 2 years for another employer of the province, then 3 years and a few months for the
  demo employer (with a raise), then left 20 months ago: voluntary social insurance since, and household health
  insurance with a spouse and a child (renewed 8 months ago, so the card is in force).

Everything goes through the registry and participation services, with the date of each step derived from the
demo's reference date ``today`` (never the clock). Deterministic for a seed and a database.
"""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgUnit, Role
from ansinh.participation import service as participation
from ansinh.participation.models import DeclarationKind
from ansinh.registry import service as registry
from ansinh.registry.models import Employer, Ownership, Person, Sex
from ansinh.synth.population import vietnamese_name

#: (months ago of the join, index of the worker) — the demo employer's staff.
FIRST_STAFF = 7
JOINED_MONTHS_AGO = 15
RAISE_MONTHS_AGO, RAISED = 10, (0, 1, 2)
LEFT_MONTHS_AGO, LEAVER = 4, 6
HIRES = ((6, 2), (2, 1))  # (months ago, how many)
#: The citizen's working life, in months before the current one.
CITIZEN_FIRST_JOB = (84, 60)  # from, until (another employer)
CITIZEN_SECOND_JOB = (60, 20)  # the demo employer
CITIZEN_RAISE = 36
HOUSEHOLD_RENEWED = 8


def _province(user) -> str:
    return user.org_unit_code.removeprefix("BHXH-")[:2]


def _new_citizen_id(session: Session, rng: random.Random, province: str, birth: date, female: bool) -> str:
    """A well-formed citizen ID no one has yet (the population's IDs are numbered from 1 in each prefix)."""
    prefix = f"{int(province):03d}{(birth.year // 100 - 19) * 2 + int(female)}{birth.year % 100:02d}"
    while True:
        candidate = prefix + f"{rng.randrange(500_000, 1_000_000):06d}"
        if session.scalar(select(Person.id).where(Person.citizen_id == candidate)) is None:
            return candidate


def _new_person(session: Session, rng: random.Random, office: OrgUnit, province: str, *, today: date,
                ages: tuple[int, int], female: bool | None = None, surname: str | None = None) -> Person:
    female = rng.random() < 0.5 if female is None else female
    birth = date(today.year - rng.randint(*ages), rng.randint(1, 12), rng.randint(1, 28))
    name = vietnamese_name(rng, female=female)
    if surname:
        name = f"{surname} {name.split(' ', 1)[1]}"
    return registry.create_person(session, registry.PersonData(
        full_name=name, date_of_birth=birth, sex=Sex.female if female else Sex.male,
        citizen_id=_new_citizen_id(session, rng, province, birth, female)), office)


def _salary(rng: random.Random, low: int = 6_500_000, high: int = 22_000_000) -> int:
    return rng.randrange(low, high, 100_000)


class _Desk:
    """Declarations of one employer, each made in the month it takes effect (so not retroactive)."""

    def __init__(self, session: Session, employer: Employer, current: date, submitted_by: str) -> None:
        self.session, self.employer, self.current, self.submitted_by = session, employer, current, submitted_by
        self.count = 0

    def declare(self, person: Person, kind: DeclarationKind, months_ago: int, salary: int | None = None) -> None:
        month = participation.add_months(self.current, -months_ago)
        participation.apply_declaration(self.session, employer=self.employer, person=person, kind=kind,
                                        effective_month=month, insured_salary=salary, submitted_by=self.submitted_by,
                                        today=month)
        self.count += 1


def employer_story(session: Session, rng: random.Random, employer: Employer, office: OrgUnit, province: str, *,
                   today: date, submitted_by: str) -> dict:
    """The staff of the demo employer (see the module). Returns the counts."""
    desk = _Desk(session, employer, participation.month_start(today), submitted_by)
    staff = [_new_person(session, rng, office, province, today=today, ages=(22, 50)) for _ in range(FIRST_STAFF)]
    salaries = [_salary(rng) for _ in staff]
    for person, salary in zip(staff, salaries):
        desk.declare(person, DeclarationKind.join, JOINED_MONTHS_AGO, salary)
    for index in RAISED:
        desk.declare(staff[index], DeclarationKind.salary_change, RAISE_MONTHS_AGO,
                     int(round(salaries[index] * 1.1, -5)))
    desk.declare(staff[LEAVER], DeclarationKind.leave, LEFT_MONTHS_AGO)
    hired = 0
    for months_ago, count in HIRES:
        for _ in range(count):
            person = _new_person(session, rng, office, province, today=today, ages=(20, 35))
            desk.declare(person, DeclarationKind.join, months_ago, _salary(rng, high=12_000_000))
            hired += 1
    return {"workers": FIRST_STAFF - 1 + hired, "declarations": desk.count}


def _earlier_employer(session: Session, rng: random.Random, demo_employer: Employer, office: OrgUnit,
                      province: str) -> Employer:
    """Another private employer of the province (the population's first), or one registered now if none."""
    found = session.scalar(select(Employer).where(
        Employer.province_2025 == province, Employer.id != demo_employer.id,
        Employer.ownership == Ownership.private).order_by(Employer.id).limit(1))
    if found is not None:
        return found
    from ansinh.synth.demo import _tax_code
    from ansinh.synth.population import employer_name

    return registry.create_employer(session, registry.EmployerData(
        tax_code=_tax_code(rng, province), name=employer_name(rng), ownership=Ownership.private,
        region=demo_employer.region, e_transactions=True), office)


def citizen_story(session: Session, rng: random.Random, person: Person, demo_employer: Employer, office: OrgUnit,
                  province: str, *, today: date) -> dict:
    """The citizen's working life, voluntary SI and household (see the module). Returns the counts."""
    current = participation.month_start(today)
    first = _Desk(session, _earlier_employer(session, rng, demo_employer, office, province), current, "demo-loader")
    first.declare(person, DeclarationKind.join, CITIZEN_FIRST_JOB[0], _salary(rng, high=9_000_000))
    first.declare(person, DeclarationKind.leave, CITIZEN_FIRST_JOB[1])
    second = _Desk(session, demo_employer, current, "demo-loader")
    salary = _salary(rng, 8_000_000, 14_000_000)
    second.declare(person, DeclarationKind.join, CITIZEN_SECOND_JOB[0], salary)
    second.declare(person, DeclarationKind.salary_change, CITIZEN_RAISE, int(round(salary * 1.15, -5)))
    second.declare(person, DeclarationKind.leave, CITIZEN_SECOND_JOB[1])

    since = participation.add_months(current, -CITIZEN_SECOND_JOB[1])
    participation.enrol_voluntary(session, person=person, income=rng.randrange(4_000_000, 8_000_000, 500_000),
                                  months=3, group="other", start=since, org_unit=office, today=since)
    female = person.sex == Sex.female
    spouse = _new_person(session, rng, office, province, today=today, ages=(today.year - person.date_of_birth.year - 3,
                                                                          today.year - person.date_of_birth.year + 3),
                         female=not female)
    father = spouse if female else person
    child = _new_person(session, rng, office, province, today=today, ages=(8, 14),
                        surname=father.full_name.split(" ", 1)[0])
    household = registry.create_household(session, head=person, members=[spouse, child], org_unit=office)
    first_year = participation.enrol_household_hi(session, household=household, members=[person, spouse, child],
                                                  start=since, months=12, today=since)
    # renewed HOUSEHOLD_RENEWED months ago, or when the last member's first year ends if later (a member enrolled
    # for the first time may wait for their card under the law in force, so their year ends later)
    renewed = max([participation.add_months(current, -HOUSEHOLD_RENEWED)]
                  + [period.valid_to for period in first_year if period.valid_to is not None])
    participation.enrol_household_hi(session, household=household, members=[person, spouse, child], start=renewed,
                                     months=12, today=renewed)
    return {"declarations": first.count + second.count, "households": 1}


def load_demo_stories(session: Session, plan, *, today: date) -> dict:
    """The stories of the plan's employer and citizen users (after their records and the population exist)."""
    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    result = {"story_workers": 0, "story_declarations": 0, "story_households": 0}
    employers: dict[str, Employer] = {}
    for user in plan.users:
        if Role.employer in user.roles:
            employer = session.scalar(select(Employer).where(Employer.tax_code == user.subject_ref))
            if employer is None:
                continue
            employers[_province(user)] = employer
            counts = employer_story(session, random.Random(f"{plan.seed}/employer/{user.username}"), employer,
                                    units[user.org_unit_code], _province(user), today=today,
                                    submitted_by=user.username)
            result["story_workers"] += counts["workers"]
            result["story_declarations"] += counts["declarations"]
    for user in plan.users:
        if Role.citizen in user.roles and _province(user) in employers:
            person = session.scalar(select(Person).where(Person.citizen_id == user.subject_ref))
            if person is None:
                continue
            counts = citizen_story(session, random.Random(f"{plan.seed}/citizen/{user.username}"), person,
                                   employers[_province(user)], units[user.org_unit_code], _province(user),
                                   today=today)
            result["story_declarations"] += counts["declarations"]
            result["story_households"] += counts["households"]
    return result
