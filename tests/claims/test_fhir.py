"""``POST /fhir/r4/Claim``: one claim pre-checked by the automatic appraisal, answered with a ClaimResponse validated
with the ``fhir.resources`` models (R4B, as the cards' FHIR tests; see ansinh.cards.fhir); nothing is stored."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.cards.models import HICard
from ansinh.claims import fhir
from ansinh.claims.models import Claim
from ansinh.claims.prices.service import import_price_list
from ansinh.synth.claims import fhir_claim
from tests.cards.conftest import WORKER_ID, contracted_facility, world  # noqa: F401,F811 - fixtures reused here
from tests.conftest import api_token

DAY = "2026-11-24"
EXAM, DRUG = ("02.1896", 42_100), ("40.17", 385)
FHIR_JSON = {"Content-Type": "application/fhir+json"}
PRICES = ("kind,code,name,unit,price,valid_from,valid_to,tender\n"
          f"service,{EXAM[0]},Khám Nội,lần,{EXAM[1]},2026-01-01,,\n"
          f"drug,{DRUG[0]},Paracetamol 500mg,viên,{DRUG[1]},2026-01-01,,\n").encode()


@pytest.fixture
def priced(db, world):  # noqa: F811 - the fixture imported above
    """The world of the cards' tests with a price list at 01001; the worker's card code."""
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        report = import_price_list(s, content=PRICES, file_name="gia.csv", facility_code="01001", actor="test",
                                   today=date(2026, 1, 1))
        assert report.status == "applied", report.to_json()
        card = s.scalar(select(HICard.card_code).where(HICard.person_id == world["worker"],
                                                       HICard.superseded_at.is_(None)))
    return {**world, "card": card}


def claim(card: str, *, day: str = DAY, citizen_id: str = WORKER_ID, born: str = "1990-05-01",
          items: list[tuple] | None = None, facility: str = "01001") -> dict:
    """A FHIR Claim of an outpatient examination: items (kind, code, quantity, unit price)."""
    items = items or [("service", EXAM[0], 1, EXAM[1]), ("drug", DRUG[0], 10, DRUG[1])]
    return fhir_claim(card, citizen_id=citizen_id, born=born, day=day, facility=facility, items=items)


def post(client, headers, resource) -> object:
    body = resource if isinstance(resource, bytes) else json.dumps(resource)
    return client.post("/fhir/r4/Claim", content=body, headers={**FHIR_JSON, **headers})


def valid(response, status=200) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def adjudications(item: dict) -> dict:
    return {entry["category"]["coding"][0]["code"]: entry for entry in item["adjudication"]}


@pytest.fixture
def facility_user(client, org, make_user, priced):
    make_user("bv.hadong", org.hanoi, Role.facility, subject_ref="01001")
    return {**api_token(client, "bv.hadong"), "Accept-Language": "en"}


def test_a_clean_claim_is_accepted_and_nothing_is_stored(client, db, facility_user, priced):
    body = valid(post(client, facility_user, claim(priced["card"])))
    assert body["resourceType"] == "ClaimResponse" and (body["status"], body["use"]) == ("active", "claim")
    assert body["outcome"] == "complete" and "processNote" not in body and "adjudication" not in body
    exam, drug = (adjudications(item) for item in body["item"])
    assert exam["submitted"]["amount"]["value"] == EXAM[1] and exam["eligpercent"]["value"] == 80
    assert exam["benefit"]["amount"]["value"] == EXAM[1] * 80 // 100 and "disallowed" not in exam
    assert drug["eligible"]["amount"]["value"] == 10 * DRUG[1]
    totals = {entry["category"]["coding"][0]["code"]: entry["amount"]["value"] for entry in body["total"]}
    assert totals == {"submitted": EXAM[1] + 3_850, "eligible": EXAM[1] + 3_850,
                      "benefit": (EXAM[1] + 3_850) * 80 // 100, "disallowed": 0}
    assert body["request"]["identifier"]["value"] == "LK-0001"
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == 0
        read = s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "person",
                                                  AuditEvent.entity_id == str(priced["worker"]))).all()
        assert any(event.action == "read" and (event.changes or {}).get("via") == "fhir_claim" for event in read)


def test_a_price_above_the_list_is_partly_refused_with_the_rule_code(client, facility_user, priced):
    body = valid(post(client, facility_user, claim(priced["card"], items=[
        ("service", EXAM[0], 1, EXAM[1]), ("drug", DRUG[0], 10, 500)])))
    assert body["outcome"] == "partial"
    exam, drug = (adjudications(item) for item in body["item"])
    assert "disallowed" not in exam
    refused = drug["disallowed"]
    assert refused["reason"]["coding"][0] == {"system": fhir.RULE_SYSTEM, "code": "PRICE_ABOVE",
                                              "display": "Unit price above the facility's approved price on the day"}
    assert refused["amount"]["value"] == (500 - DRUG[1]) * 10 * 80 // 100
    assert drug["benefit"]["amount"]["value"] == 5_000 * 80 // 100 - refused["amount"]["value"]
    assert "above the approved price" in refused["reason"]["text"]
    assert body["processNote"][0]["text"] == refused["reason"]["text"]


def test_the_notes_are_in_the_callers_language(client, facility_user, priced):
    body = valid(post(client, {**facility_user, "Accept-Language": "vi"}, claim(priced["card"], items=[
        ("drug", DRUG[0], 10, 500)])))
    assert body["outcome"] == "partial"
    assert "giá" in body["processNote"][0]["text"] and "Partly" not in body["disposition"]


def test_a_card_not_valid_on_the_day_rejects_the_whole_claim(client, facility_user, priced):
    body = valid(post(client, facility_user, claim(priced["card"], day="2020-03-02")))
    assert body["outcome"] == "error"
    rules = {entry["reason"]["coding"][0]["code"] for entry in body["adjudication"]}
    assert "CARD_NOT_VALID" in rules
    totals = {entry["category"]["coding"][0]["code"]: entry["amount"]["value"] for entry in body["total"]}
    assert totals["benefit"] == 0 and totals["disallowed"] == (EXAM[1] + 3_850) * 80 // 100
    assert all(adjudications(item)["benefit"]["amount"]["value"] >= 0 for item in body["item"])


def test_another_facilitys_user_and_another_provinces_officer_are_refused(client, db, org, make_user, priced,
                                                                          contracted_facility):  # noqa: F811
    contracted_facility("01002", name="Bệnh viện Ba Đình")
    make_user("bv.badinh", org.hanoi, Role.facility, subject_ref="01002")
    refused = valid(post(client, api_token(client, "bv.badinh"), claim(priced["card"])), 403)
    assert refused["resourceType"] == "OperationOutcome" and refused["issue"][0]["code"] == "forbidden"
    make_user("sonla.officer", org.sonla, Role.provincial_officer)
    assert post(client, api_token(client, "sonla.officer"), claim(priced["card"])).status_code == 403
    make_user("hanoi.officer", org.hanoi, Role.provincial_officer)
    assert valid(post(client, api_token(client, "hanoi.officer"), claim(priced["card"])))["outcome"] == "complete"
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "refused")) >= 2


@pytest.mark.parametrize(("change", "status", "element"), [
    (lambda c: c.update(use="preauthorization"), 422, "use"),
    (lambda c: c["item"][0].update(quantity={"value": "many"}), 422, "item[0].quantity.value"),
    (lambda c: c["item"][1].update(unitPrice={"value": 1, "currency": "USD"}), 422, "item[1].unitPrice.currency"),
    (lambda c: c["item"][0]["productOrService"].update(coding=[]), 422, "item[0].productOrService"),
    (lambda c: c.update(diagnosis=[]), 422, "diagnosis"),
    (lambda c: c["billablePeriod"].update(start="yesterday"), 422, "billablePeriod.start"),
    (lambda c: c["contained"][0].pop("birthDate"), 422, "contained.Patient.birthDate"),
    (lambda c: c.update(provider={"identifier": {"system": "x", "value": "01001"}}), 422,
     "provider.identifier.system"),
    (lambda c: c.update(resourceType="Patient"), 400, "resourceType"),
])
def test_an_invalid_claim_is_an_operation_outcome_naming_the_element(client, facility_user, priced, change, status,
                                                                      element):
    resource = claim(priced["card"])
    change(resource)
    issue = valid(post(client, facility_user, resource), status)["issue"][0]
    assert issue["expression"] == [element] and issue["severity"] == "error"


def test_not_json_or_not_fhir_json_is_refused(client, facility_user, priced):
    assert valid(post(client, facility_user, b"{not json"), 400)["issue"][0]["expression"] == ["body"]
    wrong = client.post("/fhir/r4/Claim", content=json.dumps(claim(priced["card"])),
                        headers={**facility_user, "Content-Type": "text/plain"})
    assert valid(wrong, 415)["resourceType"] == "OperationOutcome"
    assert valid(client.post("/fhir/r4/Claim", content=b"{}", headers=FHIR_JSON), 401)["issue"][0]["code"] == "login"
