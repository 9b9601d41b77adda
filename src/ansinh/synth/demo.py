"""The demo data set: an agency tree for a few provinces and a user for every role.

Generation is pure and deterministic for a seed (:func:`plan_demo`); loading writes through the
services (:func:`load_demo`). Later domains extend the plan and the loader with their own data.
Province and ward names and codes come from the ``vietnam-provinces`` package (the structure in
force since 2025-07-01).
"""

from __future__ import annotations

import random
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from vietnam_provinces import Province, ProvinceCode, Ward

from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel, Role, User
from ansinh.registry.identifiers import tax_code_check_digit
from ansinh.synth.population import employer_name, vietnamese_name

DEFAULT_SEED = 2026
#: Hà Nội, Sơn La, Đà Nẵng, Hồ Chí Minh City: a capital, a mountain province, and two large cities.
DEFAULT_PROVINCES = ("01", "14", "48", "79")
DISTRICT_OFFICES_PER_PROVINCE = 2
NATIONAL_CODE = "VSS"


@dataclass(frozen=True)
class OrgUnitPlan:
    code: str
    name: str
    level: OrgLevel
    place_code: str
    parent_code: str | None


@dataclass(frozen=True)
class UserPlan:
    username: str
    password: str
    full_name: str
    org_unit_code: str
    roles: tuple[Role, ...]
    subject_ref: str | None = None


@dataclass(frozen=True)
class DemoPlan:
    seed: int
    org_units: tuple[OrgUnitPlan, ...]
    users: tuple[UserPlan, ...]
    extras: dict = field(default_factory=dict)


def ascii_slug(text: str) -> str:
    """``Hồ Chí Minh`` → ``ho.chi.minh`` (for usernames)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ".".join(part for part in "".join(c if c.isalnum() else " " for c in plain.lower()).split())


def _password(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits
    return "Demo-" + "".join(rng.choice(alphabet) for _ in range(12))


def _tax_code(rng: random.Random, province: str) -> str:
    while True:
        first_nine = province.zfill(2)[-2:] + "".join(rng.choice(string.digits) for _ in range(7))
        check = tax_code_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)


def _citizen_id(rng: random.Random, province: str, birth: date, female: bool) -> str:
    """A 12-digit citizen ID: province of registration (3), century/sex digit, birth year (2), 6 digits."""
    century = (birth.year // 100) - 19  # 1900s → 0, 2000s → 1
    return f"{int(province):03d}{century * 2 + int(female)}{birth.year % 100:02d}" + "".join(
        rng.choice(string.digits) for _ in range(6))


def plan_demo(seed: int = DEFAULT_SEED, provinces: tuple[str, ...] = DEFAULT_PROVINCES) -> DemoPlan:
    rng = random.Random(seed)
    names = random.Random(f"{seed}/names")  # Vietnamese names by sex (synth.population's lists)
    units: list[OrgUnitPlan] = [OrgUnitPlan(NATIONAL_CODE, "Bảo hiểm xã hội Việt Nam", OrgLevel.national, "VN", None)]
    users: list[UserPlan] = []

    def person(prefix: str, unit: str, roles: tuple[Role, ...], subject_ref: str | None = None,
               female: bool | None = None) -> None:
        female = names.random() < 0.5 if female is None else female
        users.append(UserPlan(prefix, _password(rng), vietnamese_name(names, female=female), unit, roles, subject_ref))

    person("admin", NATIONAL_CODE, (Role.administrator,))
    person("tw.canbo", NATIONAL_CODE, (Role.national_officer,))
    person("giamsat", NATIONAL_CODE, (Role.supervisor,))

    for code in provinces:
        province = Province.from_code(ProvinceCode(int(code)))
        unit_code = f"BHXH-{code}"
        units.append(OrgUnitPlan(unit_code, f"Bảo hiểm xã hội {province.name}", OrgLevel.province, code, NATIONAL_CODE))
        slug = ascii_slug(province.codename.replace("_", " ")).replace(".", "")
        person(f"{slug}.quantri", unit_code, (Role.administrator,))
        person(f"{slug}.canbo", unit_code, (Role.provincial_officer,))
        wards = sorted(Ward.iter_by_province(province.code), key=lambda w: w.code.value)
        for index, ward in enumerate(rng.sample(wards, DISTRICT_OFFICES_PER_PROVINCE), start=1):
            office = f"{unit_code}-{index:02d}"
            ward_name = ward.name.removeprefix("Phường ").removeprefix("Xã ").removeprefix("Đặc khu ")
            units.append(OrgUnitPlan(office, f"Bảo hiểm xã hội cơ sở {ward_name}", OrgLevel.district,
                                     f"{ward.code.value:05d}", unit_code))
            person(f"{slug}.coso{index}", office, (Role.district_officer,))
        person(f"{slug}.donvi", unit_code, (Role.employer,), _tax_code(rng, code))
        female = rng.random() < 0.5
        # Old enough for a working life of several years (synth.stories); no clock: the plan is the same any day.
        birth = date(rng.randint(1972, 1994), rng.randint(1, 12), rng.randint(1, 28))
        person(f"{slug}.nguoidan", unit_code, (Role.citizen,), _citizen_id(rng, code, birth, female), female=female)
        person(f"{slug}.benhvien", unit_code, (Role.facility,), f"{code}{rng.randint(1, 999):03d}")
    return DemoPlan(seed=seed, org_units=tuple(units), users=tuple(users))


def is_empty(session: Session) -> bool:
    return (session.scalar(select(func.count(User.id))) or 0) == 0


def load_demo(session: Session, plan: DemoPlan, progress: Callable[[str], None] | None = None) -> None:
    """Write the plan through the services. The caller owns the transaction."""
    by_code = {}
    for unit in plan.org_units:
        by_code[unit.code] = auth_service.create_org_unit(
            session, code=unit.code, name=unit.name, level=unit.level, place_code=unit.place_code,
            parent=by_code.get(unit.parent_code) if unit.parent_code else None)
        if progress:
            progress(unit.code)
    for user in plan.users:
        auth_service.create_user(session, username=user.username, password=user.password, full_name=user.full_name,
                                 org_unit=by_code[user.org_unit_code], roles=user.roles, subject_ref=user.subject_ref)
        if progress:
            progress(user.username)


def load_demo_registry(session: Session, plan: DemoPlan, *, people: int, today, progress=None) -> dict:
    """The registry of the demo: the employer, citizen and facility users' own records (through the services),
    then a synthetic population of ``people`` across the demo provinces (``synth.population``), then the
    employer and citizen users' stories (``synth.stories``: workers, declarations, a history of coverage)."""
    from sqlalchemy import select as _select

    from ansinh.auth.models import OrgUnit
    from ansinh.registry import service as registry
    from ansinh.registry.identifiers import citizen_id_century_sex
    from ansinh.registry.models import Ownership, Sex
    from ansinh.synth.population import load_population

    units = {u.code: u for u in session.scalars(_select(OrgUnit))}
    for user in plan.users:
        office = units[user.org_unit_code]
        if Role.employer in user.roles:
            registry.create_employer(session, registry.EmployerData(
                tax_code=user.subject_ref, name=employer_name(random.Random(f"{plan.seed}/{user.subject_ref}")),
                ownership=Ownership.private, region="I" if office.place_code in ("01", "79") else "III",
                e_transactions=True, contact_name=user.full_name), office)
        elif Role.citizen in user.roles:
            century, sex = citizen_id_century_sex(user.subject_ref)
            year = century + int(user.subject_ref[4:6])
            registry.create_person(session, registry.PersonData(
                full_name=user.full_name, date_of_birth=date(year, 6, 15), sex=Sex(sex),
                citizen_id=user.subject_ref), office)
    offices = {code: [units[f"BHXH-{code}"], *[u for c, u in sorted(units.items()) if c.startswith(f"BHXH-{code}-")]]
               for code in DEFAULT_PROVINCES}
    written = load_population(session, seed=plan.seed, people=people, province_codes=list(DEFAULT_PROVINCES),
                              org_units=offices, today=today, progress=progress)
    from ansinh.synth.stories import load_demo_stories

    return {**written, **load_demo_stories(session, plan, today=today)}
