"""The demo's year of desk lookups goes through the lookup service, with the date of birth on the chip card."""

from datetime import date

from sqlalchemy import func, select

from ansinh.auth.models import OrgUnit
from ansinh.cards.models import CardLookup
from ansinh.cards.service import issue_cards
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from ansinh.synth.facilities import load_lookups

TODAY = date(2026, 6, 1)


def test_the_demo_lookups_pass_the_identity_check_and_are_logged(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    people = [registry.create_person(session, registry.PersonData(
        full_name=f"Đặng Văn {chr(65 + i)}", date_of_birth=date(1980 + i, 2, 3), sex=Sex.male,
        citizen_id=f"00108{i}000123"), hanoi) for i in range(5)]
    participation.enrol_state_budget(session, group="CN", people=people, start=date(2025, 1, 1),
                                     end=date(2028, 1, 1), org_unit=hanoi)
    issue_cards(session, on=TODAY)
    result = load_lookups(session, seed=7, facility_codes=["01001"], citizen_ids=[p.citizen_id for p in people],
                          count=200, today=TODAY)
    logged = dict(session.execute(select(CardLookup.result, func.count()).group_by(CardLookup.result)).all())
    assert "mismatch" not in logged  # every known person is looked up with their own birth date
    assert logged["covered"] == result["covered"] and result["covered"] > 150
    assert sum(logged.values()) >= 190  # the few random numbers that are not well-formed IDs are skipped


def test_the_facilities_the_demo_users_act_for_always_exist_with_a_contract_in_force(session, org):
    """The demo's facility users act for codes beyond the first ``count`` numbers (01901): those facilities were cut
    from the sorted list, and the users got 403 at the desk."""
    from ansinh.cards.facilities import contract_in_force
    from ansinh.synth.facilities import load_facilities

    hanoi = session.get(OrgUnit, org.hanoi.id)
    created = load_facilities(session, seed=3, province_code="01", org_unit=hanoi, count=5, today=TODAY,
                              required_codes=["01901", "01002"])
    codes = [f.code for f in created]
    assert len(codes) == 5 and "01901" in codes and "01002" in codes
    assert contract_in_force(session, "01901", TODAY) is not None


def _classified(session, codes: list[str], on: date) -> dict[str, dict]:
    from ansinh.cards.facilities import classifications_on

    return classifications_on(session, codes, on).rows_by_key("code", named=True, unique=True, include_key=True)


def test_the_demo_facilities_are_classified_into_the_levels_of_2025_from_2025_the_same_for_a_seed(session, org):
    """Specialised provincial hospitals (or basic with a high score), basic district hospitals in every score band,
    one provisional, one reclassified; commune health stations initial and of visit category 1.2, private clinics
    initial and not; every one from 2025-01-01, whatever the day the demo is loaded."""
    from ansinh.cards.facilities import facility_classifications, get_facility
    from ansinh.synth.facilities import load_facilities

    hanoi = session.get(OrgUnit, org.hanoi.id)

    def load(today: date) -> list[tuple]:
        created = load_facilities(session, seed=3, province_code="01", org_unit=hanoi, count=120, today=today)
        return [(f.code, f.level.value, f.public, c.valid_from, c.level_2025.value, c.score, c.provisional,
                 c.health_station, c.decision)
                for f in created for c in facility_classifications(session, f)]

    rows = load(TODAY)
    session.rollback()
    assert load(date(2031, 3, 1)) == rows  # deterministic, and not from the day it runs
    codes = sorted({row[0] for row in rows})
    assert _classified(session, codes, date(2024, 12, 31))["01001"]["level_2025"] is None
    start = _classified(session, codes, date(2025, 1, 1))
    assert all(row["level_2025"] is not None for row in start.values())
    now = _classified(session, codes, TODAY)
    by_level: dict[str, list[dict]] = {}
    for row in now.values():
        by_level.setdefault(row["former_level"], []).append(row)
    assert all(r["level_2025"] == "specialised" or (r["level_2025"] == "basic" and r["score"] >= 70)
               for r in by_level["provincial"])
    district = by_level["district"]
    assert {r["level_2025"] for r in district} == {"basic"}
    scores = [r["score"] for r in district if not r["provisional"]]
    assert min(scores) < 50 and any(50 <= s < 70 for s in scores) and max(scores) >= 70
    assert sum(r["provisional"] for r in district) == 1 and all(r["score"] is None for r in district
                                                                if r["provisional"])
    communes = by_level["commune"]
    assert {r["level_2025"] for r in communes} == {"initial"}
    publics = {get_facility(session, r["code"]).public: r for r in communes}  # one of each kind at least
    assert publics[True]["health_station"] is True and publics[False]["health_station"] is False
    private = [get_facility(session, r["code"]) for r in communes if not r["health_station"]]
    assert private and all(not f.public and f.name.startswith("Phòng khám Đa khoa tư nhân") for f in private)
    reclassified = [code for code in codes if sum(row[0] == code for row in rows) > 1]
    assert len(reclassified) == 1
    history = [(row[3], row[5]) for row in rows if row[0] == reclassified[0]]
    assert history[0][0] == date(2025, 1, 1) and history[0][1] < 50 <= history[1][1] and \
        history[1][0] == date(2025, 7, 1)
