"""Synthetic medical facilities with HI contracts, cards for everyone insured, and a year of desk lookups: the
demo's and the benchmarks' health insurance side. Deterministic for a seed; written through the services.

A province has a general hospital, a few district-level hospitals and a commune health station in most communes
(the seed reports count 228 facilities doing lookups in one province); one in ten is private (a clinic where a
station would be). Each facility has this year's contract; one in fifty has only last year's, so that the "no
contract in force" answer shows up.

Each is classified into the levels of 2025 from 2025-01-01 (:func:`classify_demo_facility`): the provincial hospital
specialised (in about one province in four basic, with a high score), the district hospitals basic with scores in
each band that HI benefits tell apart (under 50, 50 to under 70, 70 and more, in turn), one a province provisionally
classified and one reclassified in mid-2025 from under 50 to 50 and more; the commune health stations initial and
health stations of visit category 1.2; the private clinics initial, not health stations. Fixed dates: nothing depends on
the day the demo is loaded.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
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
    levels = random.Random(f"{seed}-{province_code}-levels-2025")  # apart: the facilities stay as they were
    turns = DistrictTurns(start=levels.randrange(len(DISTRICT_BANDS)))
    created = []
    for index, number in enumerate(numbers):
        code = f"{prefix}{number:03d}"
        commune = communes[index % len(communes)] if communes else None
        where = commune.name if commune else number
        if index == 0:
            level, name = FacilityLevel.provincial, "Bệnh viện Đa khoa tỉnh"
        elif rng.random() < DISTRICT_SHARE:
            level, name = FacilityLevel.district, f"Trung tâm Y tế khu vực {where}"
        else:
            level, name = FacilityLevel.commune, f"Trạm Y tế {where}"
        public = rng.random() < 0.9
        if not public and index:
            name = (f"Phòng khám Đa khoa tư nhân {where}" if level == FacilityLevel.commune
                    else f"Bệnh viện Đa khoa tư nhân {where}")
        specialty = "general"
        if not public and level == FacilityLevel.district:  # private hospitals: some specialised, in turn
            specialty = DEMO_SPECIALTIES[index % len(DEMO_SPECIALTIES)]
            if specialty != "general":
                name = f"Bệnh viện {facilities.specialty_name(specialty)} tư nhân {where}"
        facility = facilities.create_facility(session, facilities.FacilityData(
            code=code, name=name, level=level, primary_care=True, public=public, specialty=specialty,
            place_id=commune.id if commune is not None else None), org_unit)
        classify_demo_facility(session, facility, levels, turns)
        expired = code not in required_codes and rng.random() < EXPIRED_SHARE
        year = today.year - 1 if expired else today.year
        facilities.sign_contract(session, facility=facility, contract_number=f"{number:03d}/{year}/HĐ-BHYT",
                                 valid_from=date(year, 1, 1), valid_until=date(year, 12, 31), org_unit=org_unit)
        created.append(facility)
    return created


#: The specialties given in turn to the demo's private district-level hospitals (the others are general).
DEMO_SPECIALTIES = ("general", "obstetrics", "paediatrics", "general", "oncology", "cardiology")

LEVELS_2025_FROM = date(2025, 1, 1)
#: The classifications of a province's district hospitals, in turn: the lowest and highest score of a band, or None
#: (provisionally classified: once a province).
DISTRICT_BANDS = ((50, 69), (70, 88), (32, 49), None)


@dataclass
class DistrictTurns:
    """Where a province's district hospitals are in the turn of :data:`DISTRICT_BANDS` (the province draws where it
    starts, so that a small demo still shows every band somewhere)."""

    start: int
    done: int = 0

    def next(self) -> tuple[tuple[int, int] | None, bool]:
        """The next hospital's band, and whether it is in the first round (every band, provisional included)."""
        first = self.done < len(DISTRICT_BANDS)
        bands = DISTRICT_BANDS if first else DISTRICT_BANDS[:-1]
        band = bands[(self.start + self.done) % len(bands)]
        self.done += 1
        return band, first


def classify_demo_facility(session: Session, facility: MedicalFacility, rng: random.Random,
                           turns: DistrictTurns) -> None:
    """Classify a demo facility into the levels of 2025 from 2025-01-01 (see the module's docstring)."""
    def decision(issuer: str) -> str:
        return f"QĐ {rng.randint(100, 2999)}/QĐ-{issuer}"

    def classify(**values) -> None:
        facilities.classify_facility(session, facility, **{"valid_from": LEVELS_2025_FROM, **values})

    if facility.level in (FacilityLevel.central, FacilityLevel.provincial):
        if facility.level == FacilityLevel.provincial and rng.random() < 0.25:
            classify(level_2025="basic", score=rng.randint(72, 92), decision=decision("SYT"))
        else:
            classify(level_2025="specialised", decision=decision("BYT"))
    elif facility.level == FacilityLevel.commune:  # a public one is a health station; a private clinic is not
        classify(level_2025="initial", health_station=facility.public, decision=decision("SYT"))
    else:
        band, first = turns.next()
        if band is None:
            classify(level_2025="basic", provisional=True, decision=decision("SYT"))
        elif band == DISTRICT_BANDS[0] and first:  # under 50 at first, reclassified in mid-2025
            classify(level_2025="basic", score=rng.randint(40, 49), decision=decision("SYT"))
            classify(valid_from=date(2025, 7, 1), level_2025="basic", score=rng.randint(*band),
                     decision=decision("SYT"))
        else:
            classify(level_2025="basic", score=rng.randint(*band), decision=decision("SYT"))


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
    """The demo's facilities (with the facility users' own) and the price lists of some of them
    (:mod:`ansinh.synth.prices`), everyone's cards, a year of lookups, and recent lookups at the facility users' own
    desks (of people of their province)."""
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
    from ansinh.synth.budgets import load_demo_budgets
    from ansinh.synth.prices import load_demo_prices

    codes = []
    priced = {"price_lists": 0, "prices": 0, "budgets": 0}
    for unit_code, unit in sorted(units.items()):
        if unit.level.value != "province":
            continue
        created = load_facilities(session, seed=plan.seed, province_code=unit.place_code, org_unit=unit,
                                  count=facilities_per_province, today=today,
                                  required_codes=required.get(unit_code, ()))
        codes.extend(f.code for f in created)
        done = load_demo_prices(session, seed=plan.seed, facilities=created, required_codes=required.get(unit_code, ()))
        done["budgets"] = load_demo_budgets(session, seed=plan.seed, province=unit.place_code, facilities=created)
        priced = {key: priced[key] + done[key] for key in priced}
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
    return {"facilities": len(codes), "cards": cards["issued"], **priced, **result}
