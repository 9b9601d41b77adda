"""A hand-counted world of Hà Nội (01) and Sơn La (14) for renewals, agents and sponsors.

Sponsor ``Quỹ Vì người nghèo`` (Hà Nội, a local budget) pays household HI for:

- ``ends``    2026-01..2026-04 (card valid until 2026-04-30) → a card renewal of list 2026-03;
- ``long``    2026-01..2026-06 → no renewal in April;
- ``renewed`` 2026-01..2026-04, then again 2026-05..2026-08 → covered on 2026-05-01: not listed;

and student HI for ``pupil`` 2026-01..2026-04 (card valid until 2026-04-30 → listed).
Voluntary SI (person's own):

- ``vol3``  from 2026-02, every 3 months (cycles Feb–Apr, May–Jul): ends with April → listed, paid until 2026-04-30;
- ``vol6``  from 2026-01, every 6 months: its cycle ends in June → not listed;
- ``vol1``  from 2025-06, every month → listed (each month is a cycle);
- ``stops`` from 2026-02 every 3 months, ended from 2026-05-01 → not listed (does not go on after April);
- ``far``   Sơn La, from 2026-02 every 3 months → not in Hà Nội's list (listed in Sơn La's).

So list 2026-03 for Hà Nội: cards ``ends``, ``pupil``; voluntary ``vol3``, ``vol1`` — 4 rows. ``ends`` and ``vol3``
live in commune ``here``.

A household ``H`` (head ``head``, member ``kid``) enrols household HI paying on 2026-02-01 for 12 months, so the
billing run of 2026-02 bills ``H:<id>``; ``vol3``'s voluntary bill of 2026-02 is ``P:<id>``.
"""

from datetime import date

from sqlalchemy import select

from ansinh.auth.models import OrgUnit
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Place, PlaceLevel, Sex, Structure
from ansinh.registry.places import load_places
from ansinh.outreach import sponsors
from tests.outreach.world import cid

TODAY = date(2026, 3, 10)


def build(session, org) -> dict:
    load_places(session)
    hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)
    here = session.scalars(select(Place).where(
        Place.structure == Structure.from_2025, Place.level == PlaceLevel.commune, Place.province_code == "01")
        .order_by(Place.code).limit(1)).one()

    def person(name, serial, born, unit=hanoi, place=None, province="001"):
        return registry.create_person(session, registry.PersonData(
            full_name=name, date_of_birth=born, sex=Sex.male, citizen_id=cid(born, serial, province),
            residence_place_id=place.id if place else None), unit)

    w = {
        "ends": person("An Văn Hết", 21, date(1980, 1, 1), place=here),
        "long": person("Bùi Văn Dài", 22, date(1981, 1, 1)),
        "renewed": person("Cao Văn Mới", 23, date(1982, 1, 1)),
        "pupil": person("Đỗ Văn Học", 24, date(2010, 1, 1)),
        "vol3": person("Hà Văn Ba", 25, date(1983, 1, 1), place=here),
        "vol6": person("Kim Văn Sáu", 26, date(1984, 1, 1)),
        "vol1": person("Lý Văn Một", 27, date(1985, 1, 1)),
        "stops": person("Mai Văn Dừng", 28, date(1986, 1, 1)),
        "far": person("Lò Văn Xa", 29, date(1987, 1, 1), unit=sonla, province="014"),
        "head": person("Ngô Văn Chủ", 30, date(1970, 1, 1)),
        "kid": person("Ngô Văn Con", 31, date(2000, 1, 1)),
    }
    household = registry.create_household(session, head=w["head"], members=[w["kid"]], org_unit=hanoi)
    sponsor = sponsors.create_sponsor(session, None, sponsors.SponsorData(
        name="Quỹ Vì người nghèo", kind="local_budget", province="01"), actor="test")

    def sponsor_(who, scheme, first, last):
        return sponsors.sponsor_person(session, None, sponsor, citizen_id=w[who].citizen_id, scheme=scheme,
                                       from_month=first, to_month=last, actor="test", today=TODAY)

    sponsor_("ends", "household_hi", date(2026, 1, 1), date(2026, 4, 1))
    sponsor_("long", "household_hi", date(2026, 1, 1), date(2026, 6, 1))
    sponsor_("renewed", "household_hi", date(2026, 1, 1), date(2026, 4, 1))
    sponsor_("renewed", "household_hi", date(2026, 5, 1), date(2026, 8, 1))
    sponsor_("pupil", "student_hi", date(2026, 1, 1), date(2026, 4, 1))

    def voluntary(who, start, months, unit=hanoi):
        return participation.enrol_voluntary(session, person=w[who], income=5_000_000, months=months, group="other",
                                             start=start, org_unit=unit, today=TODAY)

    voluntary("vol3", date(2026, 2, 1), 3)
    voluntary("vol6", date(2026, 1, 1), 6)
    voluntary("vol1", date(2025, 6, 1), 1)
    voluntary("stops", date(2026, 2, 1), 3)
    voluntary("far", date(2026, 2, 1), 3, unit=sonla)
    session.flush()
    participation.end_voluntary(session, person=w["stops"], end=date(2026, 5, 1), today=TODAY)
    participation.enrol_household_hi(session, household=household, members=[w["head"], w["kid"]],
                                     start=date(2026, 2, 1), today=TODAY)
    session.flush()
    return {**w, "sponsor": sponsor, "household": household, "here": here, "hanoi": hanoi, "sonla": sonla}
