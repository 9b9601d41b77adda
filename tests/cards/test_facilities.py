"""Facilities, HI contracts, and who may look up cards."""

from datetime import date

import pytest
from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.cards import facilities, service
from ansinh.cards.models import FacilityContract
from ansinh.errors import Conflict, ValidationFailed
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Place, PlaceLevel, Sex, Structure
from tests.conftest import api_token

TODAY = date(2026, 11, 22)


def test_a_facility_code_is_five_digits_of_its_province(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    for code, field in (("1001", "code"), ("0100A", "code"), ("14001", "code")):
        with pytest.raises(ValidationFailed) as error:
            facilities.create_facility(session, facilities.FacilityData(code=code, name="X", level="district"), hanoi)
        assert error.value.field == field
    with pytest.raises(ValidationFailed) as error:
        facilities.create_facility(session, facilities.FacilityData(code="01002", name="X", level="ward"), hanoi)
    assert error.value.field == "level"
    facilities.create_facility(session, facilities.FacilityData(code="01002", name="Trạm y tế", level="commune"),
                               hanoi)
    with pytest.raises(Conflict):
        facilities.create_facility(session, facilities.FacilityData(code="01002", name="Y", level="commune"), hanoi)


def test_a_contract_is_in_force_between_its_dates_until_terminated(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    facility = facilities.create_facility(session, facilities.FacilityData(code="01003", name="BV", level="district"),
                                          hanoi)
    with pytest.raises(ValidationFailed) as error:
        facilities.sign_contract(session, facility=facility, contract_number="HD1", valid_from=date(2026, 2, 1),
                                 valid_until=date(2026, 1, 1), org_unit=hanoi)
    assert error.value.field == "valid_until"
    contract = facilities.sign_contract(session, facility=facility, contract_number="HD1",
                                        valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31), org_unit=hanoi)
    assert facilities.contract_in_force(session, "01003", date(2025, 12, 31)) is None
    assert facilities.contract_in_force(session, "01003", date(2026, 1, 1)).id == contract.id
    assert facilities.contract_in_force(session, "01003", date(2026, 12, 31)).id == contract.id
    assert facilities.contract_in_force(session, "01003", date(2027, 1, 1)) is None
    facilities.terminate_contract(session, contract, last_day=date(2026, 6, 30))
    assert facilities.contract_in_force(session, "01003", date(2026, 6, 30)) is not None
    assert facilities.contract_in_force(session, "01003", date(2026, 7, 1)) is None
    with pytest.raises(Conflict):
        facilities.sign_contract(session, facility=facility, contract_number="HD1", valid_from=date(2027, 1, 1),
                                 valid_until=date(2027, 12, 31), org_unit=hanoi)


def test_only_a_facility_with_a_contract_in_force_may_look_up(client, db, org, make_user, contracted_facility):
    contracted_facility("01010", valid_from=date(2020, 1, 1), valid_until=date(2024, 12, 31))  # expired
    contracted_facility("01011")
    make_user("expired", org.hanoi, Role.facility, subject_ref="01010")
    make_user("unknown", org.hanoi, Role.facility, subject_ref="01999")
    make_user("signed", org.hanoi, Role.facility, subject_ref="01011")
    make_user("officer", org.sonla, Role.provincial_officer)
    params = {"citizen_id": "001090012345", "full_name": "Nguyễn Văn An"}
    for user in ("expired", "unknown"):
        refused = client.get("/api/v1/cards/lookup", params=params, headers=api_token(client, user))
        assert refused.status_code == 403 and "hợp đồng" in refused.json()["error"]["message"]
    assert client.get("/api/v1/cards/lookup", params=params, headers=api_token(client, "signed")).status_code == 200
    # agency staff need no contract
    assert client.get("/api/v1/cards/lookup", params=params, headers=api_token(client, "officer")).status_code == 200
    with db.unit_of_work() as s:
        logged = s.scalars(select(facilities.FacilityContract.id)).all()
    assert len(logged) == 2


def test_facilities_api_and_scope(client, db, org, make_user):
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    hn, sl = api_token(client, "hn"), api_token(client, "sl")
    created = client.post("/api/v1/facilities", json={"code": "01020", "name": "Bệnh viện Thanh Nhàn",
                                                      "level": "provincial"}, headers=hn)
    assert created.status_code == 201, created.text
    assert created.json()["province_2025"] == "01" and created.json()["contract_in_force"] is False
    contract = {"contract_number": "01/2026/HĐ-BHYT", "valid_from": "2026-01-01", "valid_until": "2099-12-31"}
    assert client.post("/api/v1/facilities/01020/contracts", json=contract, headers=sl).status_code == 403
    signed = client.post("/api/v1/facilities/01020/contracts", json=contract, headers=hn)
    assert signed.status_code == 201, signed.text
    listed = {f["code"]: f for f in client.get("/api/v1/facilities", headers=hn).json()}
    assert listed["01020"]["contract_in_force"] is True
    ended = client.post(f"/api/v1/facilities/01020/contracts/{signed.json()['id']}/termination",
                        params={"last_day": "2026-03-31"}, headers=hn)
    assert ended.status_code == 200 and ended.json()["terminated_on"] == "2026-03-31"
    assert client.post("/api/v1/facilities", json={"code": "01021", "name": "X", "level": "provincial"},
                       headers=api_token(client, "hn") | {}).status_code == 201
    bad = client.post("/api/v1/facilities", json={"code": "0102", "name": "X", "level": "provincial"}, headers=hn)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "code"


def test_a_first_card_registers_the_primary_care_facility_of_the_commune(session, org):
    from ansinh.registry.places import load_places

    load_places(session)
    hanoi = session.get(OrgUnit, org.hanoi.id)
    communes = session.scalars(select(Place).where(Place.structure == Structure.from_2025, Place.level == PlaceLevel.commune,
                                                   Place.province_code == "01").order_by(Place.id).limit(2)).all()
    assert len(communes) == 2
    for code, place in (("01101", communes[0]), ("01102", communes[1])):
        facilities.create_facility(session, facilities.FacilityData(code=code, name=f"Trạm y tế {place.name}",
                                                                    level="commune", place_id=place.id), hanoi)
    facilities.create_facility(session, facilities.FacilityData(code="01100", name="Bệnh viện", level="district"),
                               hanoi)
    people = []
    for i, (place, citizen_id) in enumerate(((communes[1], "001090012345"), (None, "001190012346"))):
        person = registry.create_person(session, registry.PersonData(
            full_name=f"Người {i}", date_of_birth=date(1990, 1, 1), sex=Sex.male if i == 0 else Sex.female,
            citizen_id=citizen_id, residence_place_id=place.id if place else None), hanoi)
        people.append(person)
    participation.enrol_state_budget(session, group="CN", people=people, start=date(2026, 1, 1),
                                     end=date(2027, 1, 1), org_unit=hanoi)
    service.issue_cards(session, on=TODAY)
    assert service.current_card(session, people[0].id).registered_facility == "01102"  # their commune's
    assert service.current_card(session, people[1].id).registered_facility == "01100"  # the province's lowest code
    changed = service.change_registered_facility(session, people[1].id, "01101")
    assert changed.registered_facility == "01101" and len(service.card_history(session, people[1].id)) == 2
    service.issue_cards(session, on=TODAY)  # a renewal keeps the holder's choice
    assert service.current_card(session, people[1].id).registered_facility == "01101"
    facilities.create_facility(session, facilities.FacilityData(code="01103", name="BV chuyên khoa",
                                                                level="central", primary_care=False), hanoi)
    with pytest.raises(ValidationFailed):
        service.change_registered_facility(session, people[1].id, "01103")


def test_facility_lookups_are_logged_with_their_facility(client, db, org, make_user, contracted_facility):
    contracted_facility("01001")
    make_user("benhvien", org.hanoi, Role.facility, subject_ref="01001")
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        person = registry.create_person(s, registry.PersonData(full_name="Lê Thị Hoa", date_of_birth=date(1990, 1, 1),
                                                               sex=Sex.female, citizen_id="001190012346"), hanoi)
        participation.enrol_state_budget(s, group="CN", people=[person], start=date(2026, 1, 1),
                                         end=date(2027, 1, 1), org_unit=hanoi)
        service.issue_cards(s, on=TODAY)
    headers = api_token(client, "benhvien")
    for on in ("2026-06-01", "2027-02-01"):
        client.get("/api/v1/cards/lookup", params={"citizen_id": "001190012346", "on": on, "full_name": "Lê Thị Hoa"}, headers=headers)
    with db.unit_of_work() as s:
        kpis = service.lookup_kpis(s, None, since=date(2000, 1, 1), until=date(2100, 1, 1), by="facility")
        assert s.scalar(select(FacilityContract.id)) is not None
    assert [(k["facility"], k["lookups"], k["successful"], k["success_rate"]) for k in kpis] == [("01001", 2, 1, 0.5)]


def test_a_facility_is_found_by_its_name_without_accents_or_case(session, org):
    """The name search folds accents and case like the people search (SQLite and PostgreSQL)."""
    hanoi = session.get(OrgUnit, org.hanoi.id)
    for code, name in (("01201", "Bệnh viện Đa khoa Đống Đa"), ("01202", "BỆNH VIỆN ĐA KHOA XANH PÔN"),
                       ("01203", "Trạm Y tế Phường Láng"), ("01204", "Bệnh viện Nhi Trung ương")):
        facilities.create_facility(session, facilities.FacilityData(code=code, name=name, level="district"), hanoi)

    def found(text: str) -> list[str]:
        stmt = facilities.facilities_query(on=TODAY, text=text)
        return sorted(facility.code for facility, _ in session.execute(stmt))

    assert found("benh vien da khoa") == ["01201", "01202"]
    assert found("Bệnh viện đa khoa") == ["01201", "01202"]
    assert found("  DONG   da ") == ["01201"]
    assert found("xanh pon") == ["01202"]
    assert found("y te phuong lang") == ["01203"]
    assert found("benh vien") == ["01201", "01202", "01204"]
    assert found("nhi trung uong") == ["01204"]
    assert found("100%_") == []


def test_facilities_under_contract_by_province_and_level(session, org):
    hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)

    def facility(code: str, level: str, unit, *contracts: tuple[date, date]):
        made = facilities.create_facility(session, facilities.FacilityData(code=code, name=f"CS {code}", level=level),
                                          unit)
        for number, (start, end) in enumerate(contracts):
            facilities.sign_contract(session, facility=made, contract_number=f"HD{number}", valid_from=start,
                                     valid_until=end, org_unit=unit)
        return made

    year = (date(2026, 1, 1), date(2026, 12, 31))
    basic = facility("01101", "district", hanoi, year, (date(2026, 2, 1), date(2027, 1, 31)))  # two in force
    facilities.classify_facility(session, basic, valid_from=date(2025, 3, 1), level_2025="basic", score=60)
    facility("01102", "commune", hanoi, year)  # never classified: its former level
    later = facility("01103", "district", hanoi, year)
    facilities.classify_facility(session, later, valid_from=date(2026, 6, 1), level_2025="initial")
    facility("01104", "central", hanoi)  # no contract
    facility("01105", "provincial", hanoi, (date(2024, 1, 1), date(2025, 12, 31)))  # expired
    facility("14101", "provincial", sonla, year)
    ended = facility("14102", "district", sonla, year)
    facilities.terminate_contract(session, facilities.facility_contracts(session, ended)[0],
                                  last_day=date(2026, 2, 28))

    assert facilities.contracted_by_level(session, on=date(2026, 3, 1)) == {
        "01": {"basic": 1, "commune": 1, "district": 1}, "14": {"provincial": 1}}
    assert facilities.contracted_by_level(session, on=date(2026, 2, 28)) == {
        "01": {"basic": 1, "commune": 1, "district": 1}, "14": {"district": 1, "provincial": 1}}
    assert facilities.contracted_by_level(session, on=date(2026, 7, 1)) == {
        "01": {"basic": 1, "commune": 1, "initial": 1}, "14": {"provincial": 1}}
    assert facilities.contracted_by_level(session, on=date(2026, 7, 1), province="14") == {"14": {"provincial": 1}}
    assert facilities.contracted_by_level(session, on=date(2025, 6, 1)) == {"01": {"provincial": 1}}
