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
