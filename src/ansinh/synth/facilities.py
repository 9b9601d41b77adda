"""Synthetic medical facilities with HI contracts, cards for everyone insured, and a year of desk lookups: the
demo's and the benchmarks' health insurance side. Deterministic for a seed; written through the services.

A province has a general hospital, a few district-level hospitals and a commune health station in most communes
(the seed reports count 228 facilities doing lookups in one province). Each facility has this year's contract;
one in fifty has only last year's, so that the "no contract in force" answer shows up.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgUnit
from ansinh.cards import facilities
from ansinh.cards.models import FacilityLevel, MedicalFacility
from ansinh.registry.models import Place, PlaceLevel, Structure

EXPIRED_SHARE = 0.02
DISTRICT_SHARE = 0.08


def load_facilities(session: Session, *, seed: int, province_code: str, org_unit: OrgUnit, count: int, today: date,
                    required_codes: Sequence[str] = ()) -> list[MedicalFacility]:
    """``count`` facilities of a province (codes ``PP001``…), with contracts; ``required_codes`` are among them
    (the demo's facility users act for those) and always have a contract in force."""
    rng = random.Random(f"{seed}-{province_code}")
    prefix = province_code[-2:]
    communes = list(session.scalars(select(Place).where(
        Place.structure == Structure.from_2025, Place.level == PlaceLevel.commune,
        Place.province_code == province_code).order_by(Place.code)))
    required = {int(code[2:]) for code in required_codes if code.startswith(prefix)}
    others = [number for number in range(1, count + 1) if number not in required]
    numbers = sorted(required | set(others[:max(0, count - len(required))]))  # the required ones always
    created = []
    for index, number in enumerate(numbers):
        code = f"{prefix}{number:03d}"
        commune = communes[index % len(communes)] if communes else None
        if index == 0:
            level, name = FacilityLevel.provincial, "Bệnh viện Đa khoa tỉnh"
        elif rng.random() < DISTRICT_SHARE:
            level, name = FacilityLevel.district, f"Trung tâm Y tế khu vực {commune.name if commune else number}"
        else:
            level, name = FacilityLevel.commune, f"Trạm Y tế {commune.name if commune else number}"
        facility = facilities.create_facility(session, facilities.FacilityData(
            code=code, name=name, level=level, primary_care=True, public=rng.random() < 0.9,
            place_id=commune.id if commune is not None else None), org_unit)
        expired = code not in required_codes and rng.random() < EXPIRED_SHARE
        year = today.year - 1 if expired else today.year
        facilities.sign_contract(session, facility=facility, contract_number=f"{number:03d}/{year}/HĐ-BHYT",
                                 valid_from=date(year, 1, 1), valid_until=date(year, 12, 31), org_unit=org_unit)
        created.append(facility)
    return created


def load_lookups(session: Session, *, seed: int | str, facility_codes: Sequence[str], citizen_ids: Sequence[str],
                 count: int, today: date, days: int = 365) -> dict:
    """``count`` desk lookups over the past ``days`` days (up to ``today``), made through the lookup service (so
    logged and audited like real ones) and logged at the time of the visit (desk hours, Vietnam time), so that the
    KPIs spread over the months; about one in twenty for a number the desk typed wrong."""
    from sqlalchemy import select

    from ansinh.cards.desk_guard import DeskGuard, desk_guard, use_desk_guard
    from ansinh.cards.service import lookup
    from ansinh.errors import ValidationFailed
    from ansinh.registry.models import Person

    births = dict(session.execute(select(Person.citizen_id, Person.date_of_birth)
                                  .where(Person.citizen_id.is_not(None))).all())
    from ansinh.clock import VIETNAM

    rng = random.Random(seed)
    covered = 0
    guard = desk_guard()
    use_desk_guard(DeskGuard(per_minute=max(count, 1)))  # a year of lookups made in a moment: no rate limit here
    try:
        for _ in range(count):
            day = today - timedelta(days=rng.randrange(days))
            citizen_id = rng.choice(citizen_ids) if rng.random() > 0.05 else f"{rng.randrange(10**12):012d}"
            facility = rng.choice(facility_codes)
            try:  # the key and the date of birth on the chip card, as the desk types them
                answer = lookup(session, None, on=day, citizen_id=citizen_id, facility_code=facility,
                                date_of_birth=births.get(citizen_id, date(1990, 1, 1)),
                                logged_at=datetime.combine(day, time(7 + rng.randrange(10), rng.randrange(60)),
                                                           tzinfo=VIETNAM))
            except ValidationFailed:  # a random number is seldom a well-formed citizen ID: skipped
                continue
            covered += answer["covered"]
    finally:
        use_desk_guard(guard)
    return {"lookups": count, "covered": covered}


FACILITIES_PER_PROVINCE = 228  # as many as in the seed report's province
DEMO_LOOKUPS = 1_500
#: The facility users' own desks: lookups over the last month, and a few today (their dashboard counts today's).
OWN_LOOKUPS, OWN_LOOKUPS_TODAY = 40, 6


def load_demo_health_insurance(session: Session, plan, *, today: date, facilities_per_province: int =
                               FACILITIES_PER_PROVINCE, lookups: int = DEMO_LOOKUPS) -> dict:
    """The demo's facilities (with the facility users' own), everyone's cards, a year of lookups, and recent
    lookups at the facility users' own desks (of people of their province)."""
    from ansinh.auth.models import Role
    from ansinh.cards.service import issue_cards
    from ansinh.registry.models import Person

    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    by_id = {u.id: u for u in units.values()}
    required: dict[str, list[str]] = {}
    for user in plan.users:
        if Role.facility in user.roles:  # listed under the province office, whichever office the user belongs to
            unit = units[user.org_unit_code]
            while unit.level.value != "province" and unit.parent_id in by_id:
                unit = by_id[unit.parent_id]
            required.setdefault(unit.code, []).append(user.subject_ref)
    codes = []
    for unit_code, unit in sorted(units.items()):
        if unit.level.value != "province":
            continue
        created = load_facilities(session, seed=plan.seed, province_code=unit.place_code, org_unit=unit,
                                  count=facilities_per_province, today=today,
                                  required_codes=required.get(unit_code, ()))
        codes.extend(f.code for f in created)
    cards = issue_cards(session, on=today)
    citizen_ids = list(session.scalars(select(Person.citizen_id).where(Person.citizen_id.is_not(None))
                                       .order_by(Person.id)))
    result = load_lookups(session, seed=plan.seed, facility_codes=codes, citizen_ids=citizen_ids,
                          count=lookups, today=today) if citizen_ids and lookups else {"lookups": 0, "covered": 0}
    for unit_code, own in sorted(required.items()):
        local = list(session.scalars(select(Person.citizen_id).where(
            Person.citizen_id.is_not(None), Person.province_2025 == units[unit_code].place_code).order_by(Person.id)))
        if not local:
            continue
        for count, days in ((OWN_LOOKUPS, 30), (OWN_LOOKUPS_TODAY, 1)):
            done = load_lookups(session, seed=f"{plan.seed}/{unit_code}/{days}", facility_codes=own,
                                citizen_ids=local, count=count, today=today, days=days)
            result["lookups"] += done["lookups"]
            result["covered"] += done["covered"]
    return {"facilities": len(codes), "cards": cards["issued"], **result}
