"""The FHIR R4 interface of cards: every answer, errors included, is validated with the ``fhir.resources`` models
(R4B, the closest to R4 4.0.1 that installs beside pydantic 2; see ansinh.cards.fhir)."""

from dataclasses import dataclass
from datetime import date

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.cards import fhir, service
from ansinh.cards.facilities import FacilityData, create_facility, sign_contract
from ansinh.cards.models import CardLookup
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from tests.conftest import api_token

ON = date(2026, 11, 22)
FHIR_JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def app(db, settings):
    """The application, with the FHIR routes even before they are wired into ``API_ROUTERS``."""
    from ansinh.api import create_app

    application = create_app(settings, database=db)
    if not any(getattr(route, "path", "") == "/fhir/r4/metadata" for route in application.routes):
        application.include_router(fhir.router)
    return application


def valid(response, status=200):
    """The response's FHIR resource, validated with the fhir.resources model of its type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def outcome(response, status, code):
    body = valid(response, status)
    assert body["resourceType"] == "OperationOutcome"
    issue = body["issue"][0]
    assert (issue["severity"], issue["code"]) == ("error", code)
    return issue


@dataclass
class World:
    child: int
    child_card: int
    expired: int
    suspended: int
    sonla: int
    sonla_card: int


@pytest.fixture
def world(db, org, make_user) -> World:
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        facility = create_facility(s, FacilityData(code="01001", name="Bệnh viện Bạch Mai", level="central"), hanoi)
        sign_contract(s, facility=facility, contract_number="HD-01001", valid_from=date(2020, 1, 1),
                      valid_until=date(2099, 12, 31), org_unit=hanoi)
        create_facility(s, FacilityData(code="01002", name="Phòng khám Ba Đình", level="district"), hanoi)

        def person(name, born, sex, citizen_id, unit=hanoi):
            return registry.create_person(s, registry.PersonData(full_name=name, date_of_birth=born, sex=sex,
                                                                 citizen_id=citizen_id), unit)

        child = person("Nguyễn Minh Châu", date(2023, 8, 1), Sex.female, "001323012347")
        expired = person("Trần Văn Bình", date(1988, 3, 2), Sex.male, "001088000123")
        suspended = person("Lê Thị Hoa", date(1990, 7, 9), Sex.female, "001190012346")
        highland = person("Lò Văn Páo", date(1985, 1, 15), Sex.male, "014085012340", sonla)
        participation.enrol_state_budget(s, group="TE", people=[child], start=date(2023, 8, 1),
                                         end=date(2029, 8, 1), org_unit=hanoi)
        participation.enrol_state_budget(s, group="HN", people=[expired], start=date(2024, 1, 1),
                                         end=date(2025, 1, 1), org_unit=hanoi)
        participation.enrol_state_budget(s, group="HN", people=[suspended], start=date(2024, 1, 1),
                                         end=date(2028, 1, 1), org_unit=hanoi)
        participation.enrol_state_budget(s, group="HN", people=[highland], start=date(2024, 1, 1),
                                         end=date(2028, 1, 1), org_unit=sonla)
        service.issue_cards(s, on=date(2024, 6, 1), person_ids=[expired.id])
        service.issue_cards(s, on=ON)
        service.suspend_card(s, suspended.id, reason="Thẻ cho người khác mượn")
        world = World(child.id, service.current_card(s, child.id).id, expired.id, suspended.id, highland.id,
                      service.current_card(s, highland.id).id)
    make_user("benhvien", org.hanoi, Role.facility, subject_ref="01001")
    make_user("phongkham", org.hanoi, Role.facility, subject_ref="01002")  # no contract
    make_user("hanoi", org.hanoi, Role.provincial_officer)
    make_user("sonla", org.sonla, Role.provincial_officer)
    return world


#: The names printed on the chip cards of the world's people (the lookup rule: a key and the name or birth date).
NAMES = {"001323012347": "Nguyễn Minh Châu", "001088000123": "Trần Văn Bình", "001190012346": "Lê Thị Hoa",
         "014085012340": "Lò Văn Páo"}


def eligibility_request(identifier: dict | None = None, *, on: str | None = "2026-11-22", name: str | None = "",
                        **extra) -> dict:
    """A CoverageEligibilityRequest as a facility's system sends it (itself valid R4): the patient's identifier and
    the name on their chip card as the reference's display (by default the registered one; None: no name)."""
    resource = {"resourceType": "CoverageEligibilityRequest", "id": "req-1", "status": "active",
                "identifier": [{"system": "https://benhvien.example/eligibility", "value": "EL-0001"}],
                "purpose": ["validation", "benefits"], "created": "2026-11-22T08:30:00+07:00",
                "insurer": {"display": "Bảo hiểm xã hội Việt Nam"}}
    if identifier is not None:
        resource["patient"] = {"identifier": identifier}
        if name is not None:
            resource["patient"]["display"] = name or NAMES.get(identifier.get("value"), "Ai Đó")
    if on is not None:
        resource["servicedDate"] = on
    resource |= extra
    if "patient" in resource:  # R4 requires the patient; the tests also send requests without one
        get_fhir_model_class("CoverageEligibilityRequest").model_validate(resource)
    return resource


def citizen(value: str) -> dict:
    return {"system": fhir.CITIZEN_ID_SYSTEM, "value": value}


def post(client, resource, headers, path="/fhir/r4/CoverageEligibilityRequest"):
    return client.post(path, json=resource, headers=headers | FHIR_JSON)


def extension(element: dict, url: str) -> dict:
    return next(e for e in element.get("extension", []) if e["url"] == url)


def test_metadata_is_an_r4_capability_statement(client):
    body = valid(client.get("/fhir/r4/metadata"))
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert resources["Coverage"]["interaction"] == [{"code": "read"}]
    assert resources["CoverageEligibilityRequest"]["operation"][0]["name"] == "submit"
    assert resources["Claim"]["interaction"] == [{"code": "create"}]  # the claim pre-check (claims/fhir_api.py)


def test_fhir_answers_in_the_language_of_accept_language(client):
    texts = {}
    for language in ("en", "vi"):
        response = client.get("/fhir/r4/Coverage/1", headers={"Accept-Language": language})
        assert response.status_code == 401
        texts[language] = response.json()["issue"][0]["diagnostics"]
    assert texts["en"] != texts["vi"]


def test_a_covered_person(client, db, world):
    headers = api_token(client, "benhvien")
    body = valid(post(client, eligibility_request(citizen("001323012347")), headers))
    assert body["resourceType"] == "CoverageEligibilityResponse"
    assert (body["status"], body["outcome"], body["purpose"]) == ("active", "complete", ["validation", "benefits"])
    assert body["request"]["identifier"]["value"] == "EL-0001" and body["servicedDate"] == "2026-11-22"
    assert body["requestor"]["identifier"] == {"system": fhir.FACILITY_SYSTEM, "value": "01001"}
    patient = body["contained"][0]
    assert (patient["name"][0]["text"], patient["birthDate"]) == ("Nguyễn Minh Châu", "2023-08-01")
    assert body["patient"]["reference"] == "#patient"
    insurance = body["insurance"][0]
    assert insurance["inforce"] is True and insurance["coverage"]["reference"] == f"Coverage/{world.child_card}"
    assert insurance["coverage"]["identifier"]["value"].startswith("TE101")
    assert insurance["benefitPeriod"] == {"start": "2023-08-01", "end": "2029-07-31"}
    item = insurance["item"][0]
    assert extension(item, fhir.EXT_BENEFIT_LEVEL)["valueInteger"] == 1
    benefits = {b["type"]["coding"][0]["code"]: b["allowedUnsignedInt"] for b in item["benefit"]}
    assert benefits == {"benefit-percentage": 100, "copay-percent": 0}
    assert extension(insurance, fhir.EXT_FACILITY)["valueReference"]["identifier"]["value"] == "01001"
    assert "extension" not in insurance or all(e["url"] != fhir.EXT_REASON for e in insurance["extension"])
    # the same by card code, through $submit, with application/json
    code = insurance["coverage"]["identifier"]["value"]
    request = eligibility_request(None, patient={"display": "Nguyễn Minh Châu"}, insurance=[{"focal": True, "coverage": {
        "identifier": {"system": fhir.HI_CARD_SYSTEM, "value": code}}}])
    response = client.post("/fhir/r4/CoverageEligibilityRequest/$submit", json=request, headers=headers)
    assert valid(response)["insurance"][0]["inforce"] is True
    # every lookup is logged, as at /api/v1/cards/lookup
    with db.unit_of_work() as s:
        rows = s.scalars(select(CardLookup).order_by(CardLookup.id)).all()
        assert [(r.facility_code, r.key_type, r.result, r.person_id) for r in rows] == [
            ("01001", "citizen_id", "covered", world.child), ("01001", "card_code", "covered", world.child)]
        reads = s.scalars(select(AuditEvent).where(AuditEvent.action == "read",
                                                   AuditEvent.actor_username == "benhvien")).all()
        assert len(reads) == 2 and {r.entity_id for r in reads} == {str(world.child)}


@pytest.mark.parametrize(("citizen_id", "reason"), [("001088000123", "expired"), ("001190012346", "suspended"),
                                                    ("001090099999", "unknown_person")])
def test_not_covered_is_a_normal_answer(client, db, world, citizen_id, reason):
    body = valid(post(client, eligibility_request(citizen(citizen_id)), api_token(client, "benhvien")))
    insurance = body["insurance"][0]
    assert insurance["inforce"] is False
    coding = extension(insurance, fhir.EXT_REASON)["valueCodeableConcept"]["coding"][0]
    assert (coding["system"], coding["code"]) == (fhir.REASON_SYSTEM, reason)
    assert body["disposition"].startswith("Không có hiệu lực ngày 2026-11-22")  # Vietnamese by default
    if reason == "unknown_person":
        assert "contained" not in body and "item" not in insurance
        assert body["patient"]["identifier"]["value"] == citizen_id
        assert "reference" not in insurance["coverage"]
    else:
        assert insurance["coverage"]["reference"].startswith("Coverage/") and insurance["item"]
    if reason == "expired":
        assert insurance["benefitPeriod"]["end"] == "2024-12-31"
    with db.unit_of_work() as s:
        row = s.scalars(select(CardLookup)).one()
        assert (row.result, row.reason) == ("unknown_person" if reason == "unknown_person" else "not_covered",
                                            reason)


@pytest.mark.parametrize(("resource", "expression"), [
    (eligibility_request(citizen("12ab")), "patient.identifier.value"),
    (eligibility_request(citizen("001323012347"), on="1990-01-01"), "servicedDate"),
    (eligibility_request(citizen("001323012347"), on="2026-11"), "servicedDate"),
    (eligibility_request({"system": fhir.HI_CARD_SYSTEM, "value": "XX123"}), "patient.identifier.value"),
    (eligibility_request({"system": fhir.HI_CARD_SYSTEM, "value": "ZZ10112345678901"}), "patient.identifier.value"),
    (eligibility_request({"system": "urn:oid:1.2.3", "value": "001323012347"}), "patient.identifier.system"),
    (eligibility_request(None), "patient.identifier"),
    (eligibility_request(citizen("001323012347"), purpose=["pay-me"]), "purpose"),
    ({"resourceType": "Patient"}, "resourceType"),
    ([1, 2], "resourceType"),
])
def test_malformed_requests_are_400_operation_outcomes(client, db, world, resource, expression):
    issue = outcome(post(client, resource, api_token(client, "benhvien")), 400, "invalid")
    assert issue["expression"] == [expression] and issue["diagnostics"].startswith(f"{expression}: ")
    with db.unit_of_work() as s:
        assert s.scalars(select(CardLookup)).all() == []


def test_bad_json_and_media_type(client, world):
    headers = api_token(client, "benhvien")
    response = client.post("/fhir/r4/CoverageEligibilityRequest", content=b"{not json", headers=headers | FHIR_JSON)
    assert outcome(response, 400, "invalid")["expression"] == ["body"]
    response = client.post("/fhir/r4/CoverageEligibilityRequest", content=b"<xml/>",
                           headers=headers | {"Content-Type": "application/fhir+xml"})
    outcome(response, 415, "not-supported")


def test_access(client, world, make_user, org):
    request = eligibility_request(citizen("001323012347"))
    outcome(post(client, request, api_token(client, "phongkham")), 403, "forbidden")  # no contract in force
    make_user("dan", org.hanoi, Role.citizen, subject_ref="001323012347")
    outcome(post(client, request, api_token(client, "dan")), 403, "forbidden")
    response = client.post("/fhir/r4/CoverageEligibilityRequest", json=request, headers=FHIR_JSON)
    assert outcome(response, 401, "login") and response.headers["www-authenticate"] == "Bearer"
    officer = valid(post(client, request, api_token(client, "hanoi")))  # agency staff may look up too
    assert officer["insurance"][0]["inforce"] is True and "requestor" not in officer
    outcome(client.get("/fhir/r4/Patient/1", headers=api_token(client, "hanoi")), 404, "not-supported")


def test_coverage_read(client, db, world):
    valid(post(client, eligibility_request(citizen("001323012347")), api_token(client, "benhvien")))
    body = valid(client.get(f"/fhir/r4/Coverage/{world.child_card}", headers=api_token(client, "benhvien")))
    assert body["resourceType"] == "Coverage" and body["id"] == str(world.child_card)
    assert body["status"] == "active" and body["identifier"][0]["value"].startswith("TE101")
    assert body["beneficiary"]["identifier"] == {"system": fhir.CITIZEN_ID_SYSTEM, "value": "001323012347"}
    assert body["beneficiary"]["display"] == "Nguyễn Minh Châu"
    assert body["period"] == {"start": "2023-08-01", "end": "2029-07-31"}
    assert {c["type"]["coding"][0]["code"]: c["value"] for c in body["class"]} == {"group": "TE", "plan": "1"}
    assert body["payor"][0]["identifier"]["value"] == "VSS"
    assert extension(body, fhir.EXT_FACILITY)["valueReference"]["identifier"]["value"] == "01001"
    with db.unit_of_work() as s:
        reads = s.scalars(select(AuditEvent).where(AuditEvent.action == "read",
                                                   AuditEvent.actor_username == "benhvien")
                          .order_by(AuditEvent.id)).all()
        assert [(r.entity_id, r.changes["via"]) for r in reads] == [(str(world.child), "card_lookup"),
                                                                    (str(world.child), "fhir_coverage")]
    # a card of a patient the facility has not looked up is not there for it; once looked up (the patient is at
    # its desk, from another province), it is
    outcome(client.get(f"/fhir/r4/Coverage/{world.sonla_card}", headers=api_token(client, "benhvien")), 404,
            "not-found")
    valid(post(client, eligibility_request(citizen("014085012340")), api_token(client, "benhvien")))
    assert valid(client.get(f"/fhir/r4/Coverage/{world.sonla_card}",
                            headers=api_token(client, "benhvien")))["status"] == "active"
    for missing in ("999999999", "abc"):
        outcome(client.get(f"/fhir/r4/Coverage/{missing}", headers=api_token(client, "benhvien")), 404, "not-found")


def test_coverage_versions_and_scope(client, db, world):
    with db.unit_of_work() as s:
        history = service.card_history(s, world.suspended)
        old, current = history[0].id, history[-1].id
    headers = api_token(client, "hanoi")
    superseded = valid(client.get(f"/fhir/r4/Coverage/{old}", headers=headers))
    suspended = valid(client.get(f"/fhir/r4/Coverage/{current}", headers=headers))
    assert superseded["status"] == suspended["status"] == "cancelled"
    status = extension(suspended, fhir.EXT_CARD_STATUS)["valueCodeableConcept"]
    assert status["coding"][0]["code"] == "suspended" and status["text"] == "Thẻ cho người khác mượn"
    assert extension(superseded, fhir.EXT_CARD_STATUS)["valueCodeableConcept"]["coding"][0]["code"] == "superseded"
    # an officer of another province may not read a Hà Nội card; nor a facility without a contract
    outcome(client.get(f"/fhir/r4/Coverage/{world.child_card}", headers=api_token(client, "sonla")), 403, "forbidden")
    outcome(client.get(f"/fhir/r4/Coverage/{world.child_card}", headers=api_token(client, "phongkham")), 403,
            "forbidden")
    assert valid(client.get(f"/fhir/r4/Coverage/{world.sonla_card}", headers=api_token(client, "sonla")))


def test_the_patient_is_named_or_dated_as_on_the_chip_card(client, db, world):
    """The lookup rule over FHIR: the identifier and the name (the reference's display, or a contained Patient's name)
    or birth date (the contained Patient's birthDate); a mismatch answers no one's data."""
    headers = api_token(client, "benhvien")
    contained = eligibility_request(None, patient={"reference": "#p"}, contained=[{
        "resourceType": "Patient", "id": "p", "identifier": [citizen("001323012347")], "birthDate": "2023-08-01"}])
    body = valid(post(client, contained, headers))
    assert body["insurance"][0]["inforce"] is True and body["contained"][0]["name"][0]["text"] == "Nguyễn Minh Châu"
    named = eligibility_request(None, patient={"reference": "#p"}, contained=[{
        "resourceType": "Patient", "id": "p", "identifier": [citizen("001323012347")],
        "name": [{"family": "Nguyễn", "given": ["Minh", "Châu"]}]}])
    assert valid(post(client, named, headers))["insurance"][0]["inforce"] is True
    wrong = valid(post(client, eligibility_request(citizen("001323012347"), name="Nguyễn Minh Chi"), headers))
    insurance = wrong["insurance"][0]
    assert insurance["inforce"] is False and "contained" not in wrong and "reference" not in insurance["coverage"]
    coding = extension(insurance, fhir.EXT_REASON)["valueCodeableConcept"]["coding"][0]
    assert coding["code"] == "name_mismatch"
    key_alone = outcome(post(client, eligibility_request(citizen("001323012347"), name=None), headers), 400, "invalid")
    assert key_alone["expression"] == ["contained.Patient.name"]
    with db.unit_of_work() as s:
        assert [r.result for r in s.scalars(select(CardLookup).order_by(CardLookup.id))] == [
            "covered", "covered", "mismatch"]
