import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.cards import service
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.cards.models import HICard
from ansinh.registry.models import Sex
from tests.conftest import api_token


def test_facility_and_agency_staff_look_up_others_may_not(client, db, org, make_user, contracted_facility):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        child = registry.create_person(s, registry.PersonData(full_name="Nguyễn Minh Châu", date_of_birth=date(2023, 8, 1),
                                                              sex=Sex.female, citizen_id="001323012347"), hanoi)
        participation.enrol_state_budget(s, group="TE", people=[child], start=date(2023, 8, 1), end=date(2029, 8, 1),
                                         org_unit=hanoi)
        service.issue_cards(s, on=date(2026, 11, 22))
    contracted_facility("01001")
    make_user("benhvien", org.hanoi, Role.facility, subject_ref="01001")
    make_user("dan", org.hanoi, Role.citizen, subject_ref="001090012345")
    facility = api_token(client, "benhvien")
    answer = client.get("/api/v1/cards/lookup", params={"citizen_id": "001323012347", "on": "2026-11-22",
                                                             "full_name": "Nguyễn Minh Châu"}, headers=facility)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["covered"] and body["card_code"].startswith("TE101") and body["benefit_percentage"] == 1.0
    unknown = client.get("/api/v1/cards/lookup", params={"citizen_id": "001090099999", "full_name": "Ai Đó"},
                         headers=facility)
    assert unknown.status_code == 200 and unknown.json()["reason"] == "unknown_person"
    bad = client.get("/api/v1/cards/lookup", params={"citizen_id": "12ab", "full_name": "Ai Đó"}, headers=facility)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "citizen_id"
    for params, field in (({"card_code": "XY4010123456789"}, "card_code"), ({"card_code": "DN40101"}, "card_code"),
                          ({"citizen_id": "001323012347", "on": "1990-01-01"}, "on")):
        refused = client.get("/api/v1/cards/lookup", params=params | {"date_of_birth": "2023-08-01"},
                             headers=facility)
        assert refused.status_code == 400 and refused.json()["error"]["field"] == field, refused.text
    key_alone = client.get("/api/v1/cards/lookup", params={"citizen_id": "001323012347"}, headers=facility)
    assert key_alone.status_code == 400 and key_alone.json()["error"]["field"] == "full_name"
    wrong = client.get("/api/v1/cards/lookup", params={"citizen_id": "001323012347", "date_of_birth": "2023-08-02"},
                       headers=facility)
    assert wrong.status_code == 200 and wrong.json()["reason"] == "birth_date_mismatch"
    assert wrong.json()["full_name"] is None and wrong.json()["card_code"] is None
    assert client.get("/api/v1/cards/lookup", params={"citizen_id": "001323012347", "full_name": "Nguyễn Minh Châu"},
                      headers=api_token(client, "dan")).status_code == 403
    assert client.get("/api/v1/cards/lookup", params={"citizen_id": "001323012347"}).status_code == 401


def test_cli_lookup_json(tmp_path):
    ansinh = str(Path(sys.executable).with_name("ansinh"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSINH_")} | {"ANSINH_VAR_DIR": str(tmp_path)}
    assert subprocess.run([ansinh, "db", "upgrade"], env=env, capture_output=True, timeout=300).returncode == 0
    result = subprocess.run([ansinh, "cards", "lookup", "--citizen-id", "001090012345", "--full-name", "An",
                             "--on", "2026-01-01", "--json"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["covered"] is False and body["reason"] == "unknown_person"
    assert {"card_code", "benefit_level", "valid_from", "valid_to"} <= set(body)
    bad = subprocess.run([ansinh, "cards", "lookup", "--card-code", "XX", "--json"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "--card-code" in bad.stderr


def test_births_api_is_all_or_nothing(client, db, org, make_user):
    make_user("hn", org.hanoi, Role.provincial_officer)
    headers = api_token(client, "hn")
    good = {"full_name": "Phạm Bảo An", "date_of_birth": "2026-11-01", "sex": "female"}
    bad = {"full_name": "Phạm Bảo Anh", "date_of_birth": "2027-01-01", "sex": "female"}
    refused = client.post("/api/v1/cards/births", json={"registered_on": "2026-11-22", "births": [good, bad]},
                          headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "births[1].date_of_birth"
    with db.unit_of_work() as s:
        assert s.scalar(select(HICard.id)) is None  # nothing of the first birth was kept
    created = client.post("/api/v1/cards/births", json={"registered_on": "2026-11-22", "births": [good]},
                          headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()[0]
    # born after 30 September: to the end of the month of 72 months (Decree 188/2025 Art 13(2))
    assert body["card"]["card_code"].startswith("TE101") and body["card"]["valid_until"] == "2032-11-30"
    history = client.get(f"/api/v1/cards/people/{body['person_id']}", headers=headers).json()
    assert [c["card_code"] for c in history] == [body["card"]["card_code"]]
    suspended = client.post(f"/api/v1/cards/people/{body['person_id']}/suspension", json={"reason": "Trùng thẻ"},
                            headers=headers)
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert client.get(f"/api/v1/cards/people/{body['person_id']}", headers=headers).json()[0]["superseded"] is True
    make_user("sl", org.sonla, Role.provincial_officer)
    assert client.post(f"/api/v1/cards/people/{body['person_id']}/suspension", json={"reason": "x"},
                       headers=api_token(client, "sl")).status_code == 403
    assert client.delete(f"/api/v1/cards/people/{body['person_id']}/suspension", headers=headers).status_code == 200
