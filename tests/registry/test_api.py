from datetime import timedelta

from ansinh import clock
from ansinh.auth.models import Role
from tests.conftest import api_token

PERSON = {"full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-01", "sex": "male", "citizen_id": "001090012345",
          "org_unit_code": "BHXH-01"}


def test_people_over_the_api_with_scope_and_audit(client, org, make_user):
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    make_user("admin", org.national, Role.administrator)
    hanoi = api_token(client, "hn")
    created = client.post("/api/v1/people", json=PERSON, headers=hanoi)
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["si_number"] == "0100000001" and person["province_2025"] == "01"
    assert client.get(f"/api/v1/people/{person['id']}", headers=hanoi).json()["full_name"] == "Nguyễn Văn An"
    assert client.get("/api/v1/people", params={"q": "nguyen van"}, headers=hanoi).json()["total"] == 1
    sonla = api_token(client, "sl")
    assert client.get(f"/api/v1/people/{person['id']}", headers=sonla).status_code == 403
    assert client.get("/api/v1/people", params={"q": "nguyen"}, headers=sonla).json()["total"] == 0
    assert client.post("/api/v1/people", json=PERSON, headers=sonla).status_code == 403  # office outside scope
    duplicate = client.post("/api/v1/people", json=PERSON, headers=hanoi)
    assert duplicate.status_code == 409
    bad = client.post("/api/v1/people", json={**PERSON, "citizen_id": "001091012345"}, headers=hanoi)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "citizen_id"
    reads = client.get("/api/v1/audit", params={"action": "read", "person_ref": "001090012345"},
                       headers=api_token(client, "admin")).json()
    assert reads["total"] == 1 and reads["items"][0]["actor_username"] == "hn"
    patched = client.patch(f"/api/v1/people/{person['id']}", json={"phone": "0912345678"}, headers=hanoi)
    assert patched.status_code == 200 and patched.json()["phone"] == "0912345678"


def test_employers_and_declarations_over_the_api(client, org, make_user):
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("boss", org.hanoi, Role.employer, subject_ref="0100109106")
    make_user("other.boss", org.hanoi, Role.employer, subject_ref="0300588569")
    officer = api_token(client, "hn")
    employer = client.post("/api/v1/employers", json={"tax_code": "0100109106", "name": "Công ty An Bình",
                                                     "ownership": "private", "region": "I", "org_unit_code": "BHXH-01"},
                           headers=officer)
    assert employer.status_code == 201, employer.text
    client.post("/api/v1/employers", json={"tax_code": "0300588569", "name": "Công ty Khác", "ownership": "fdi",
                                           "region": "II", "org_unit_code": "BHXH-01"}, headers=officer)
    client.post("/api/v1/people", json=PERSON, headers=officer)
    boss = api_token(client, "boss")
    assert client.get("/api/v1/employers", headers=boss).json()["total"] == 1
    this_month = clock.today().replace(day=1)  # a declaration for the current month is not retroactive
    declaration = {"employer_tax_code": "0100109106", "citizen_id": "001090012345", "kind": "join",
                   "effective_month": this_month.isoformat(), "insured_salary": 12_000_000}
    submitted = client.post("/api/v1/declarations", json=declaration, headers=boss)
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["retroactive"] is False
    low = client.post("/api/v1/declarations", json={**declaration, "kind": "salary_change", "insured_salary": 1_000_000},
                      headers=boss)
    assert low.status_code == 422 and low.json()["error"]["field"] == "insured_salary"
    other = api_token(client, "other.boss")
    assert client.post("/api/v1/declarations", json=declaration, headers=other).status_code == 403
    employer_id = employer.json()["id"]
    assert client.get(f"/api/v1/employers/{employer_id}", headers=other).status_code == 403
    assert len(client.get(f"/api/v1/employers/{employer_id}/declarations", headers=boss).json()) == 1
    person_id = client.get("/api/v1/people/lookup", params={"citizen_id": "001090012345"}, headers=officer).json()["id"]
    coverage = client.get(f"/api/v1/people/{person_id}/coverage", headers=officer).json()
    assert sorted(c["scheme"] for c in coverage) == ["hi", "si_compulsory", "ui"]
    summary = client.get("/api/v1/participation/summary", params={"on": (this_month + timedelta(days=14)).isoformat(), "province": "01"},
                         headers=officer).json()
    assert (summary["si_compulsory"], summary["hi"], summary["ui"], summary["si_voluntary"]) == (1, 1, 1, 0)
    assert client.get("/api/v1/participation/summary", params={"structure": "1999"}, headers=officer).status_code == 422
