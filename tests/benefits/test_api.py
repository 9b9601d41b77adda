"""The claims' API: a claim from filing to its decision PDF, the officer's steps, the queue by deadline, the
employer's list and the employment office's decisions; who may do what (another province, person or employer: 403 or
404, nothing changed); errors in both languages."""

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.auth.models import Role
from ansinh.benefits.eligibility import Assessment
from ansinh.benefits.models import BenefitClaim
from ansinh.registry.models import Sex
from tests.conftest import api_token

VI = {"Accept-Language": "vi"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def granted(monkeypatch):
    """The records say the claim is eligible for 3,456,789 dong (the eligibility rules are tested on their own)."""
    monkeypatch.setattr("ansinh.benefits.eligibility.assess",
                        lambda session, claim, *, on: Assessment(eligible=True, amount=3_456_789))


@pytest.fixture
def api(session, bworld, client):
    """Workers of An Bình, the world committed for the API, and the tokens of its users."""
    worker = bworld.work(bworld.person("Trần Văn An"), bworld.employer_hn, date(2025, 1, 1))
    mother = bworld.work(bworld.person("Lê Thị Mai", born=date(1994, 6, 1), sex=Sex.female), bworld.employer_hn,
                         date(2025, 1, 1))
    session.commit()
    tokens = {name: api_token(client, name) for name in ("b-hanoi", "b-hanoi-2", "b-district", "b-sonla",
                                                         "b-citizen", "b-national")}
    return {"worker": worker, "mother": mother, "tokens": tokens}


def sickness(citizen_id: str, **extra) -> dict:
    return {"type": "sickness", "citizen_id": citizen_id, "filed_on": "2026-03-02", "channel": "counter",
            "details": {"leave_from": "2026-02-23", "days": 5}, **extra}


def _count(db) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(BenefitClaim))


def test_a_claim_from_filing_to_its_decision(client, db, api, granted):
    officer = api["tokens"]["b-hanoi"]
    filed = client.post("/api/v1/benefits/claims", json=sickness(api["worker"].citizen_id, external_ref="Q-1"),
                        headers=officer)
    assert filed.status_code == 201, filed.text
    claim = filed.json()
    # 7 working days after Monday 2 March 2026
    assert (claim["status"], claim["type"], claim["channel"], claim["deadline"]) == (
        "accepted", "sickness", "counter", "2026-03-11")
    again = client.post("/api/v1/benefits/claims", json=sickness(api["worker"].citizen_id, external_ref="Q-1"),
                        headers=officer)
    assert (again.status_code, again.json()["id"]) == (200, claim["id"])
    url = f"/api/v1/benefits/claims/{claim['id']}"
    assessed = client.post(f"{url}/assess", json={"on": "2026-03-04"}, headers=officer)
    assert assessed.status_code == 200, assessed.text
    assert (assessed.json()["status"], assessed.json()["amount"]) == ("assessed", 3_456_789)
    decided = client.post(f"{url}/decide", json={"on": "2026-03-05"}, headers=officer)
    assert decided.status_code == 200, decided.text
    decision = decided.json()["decision"]
    assert (decided.json()["status"], decision["number"], decision["granted"]) == (
        "granted", "00001/2026/QĐ-BHXH-01", True)
    shown = client.get(url, headers=officer).json()
    assert [step["to"] for step in shown["timeline"]] == ["received", "accepted", "assessed", "granted"]
    assert shown["payments"] == [] and shown["filed_on"] == "2026-03-02"
    pdf = client.get(f"{url}/decision.pdf", headers=officer)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = re.sub(r"\s+", " ", PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text())
    assert "00001/2026/QĐ-BHXH-01" in text and "Trần Văn An" in text and "3.456.789 đồng" in text
    assert "Ba triệu bốn trăm năm mươi sáu nghìn bảy trăm tám mươi chín đồng" in text
    listed = client.get("/api/v1/benefits/claims?status=granted&type=sickness", headers=officer).json()
    assert [row["id"] for row in listed["items"]] == [claim["id"]] and listed["total"] == 1
    with db.unit_of_work() as s:  # the reads are audited: the claim read, and the list with the people in it
        events = s.execute(select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.changes, AuditEvent.channel)
                           .where(AuditEvent.entity_type == "benefit_claim",
                                  AuditEvent.action.in_(["read", "list"]))).all()
    assert ("read", str(claim["id"])) in {(e.action, e.entity_id) for e in events}
    listing = [e for e in events if e.action == "list"][-1]
    assert listing.changes["claim_ids"] == [claim["id"]] and listing.channel == "api"
    assert listing.changes["person_refs"] == [api["worker"].citizen_id]


def test_the_officers_steps_and_the_queue(client, api, granted):
    officer, other = api["tokens"]["b-hanoi"], api["tokens"]["b-hanoi-2"]
    claim = client.post("/api/v1/benefits/claims", json=sickness(api["worker"].citizen_id,
                                                                  missing=["Giấy ra viện"]), headers=officer).json()
    assert (claim["status"], claim["deadline"], claim["missing"]) == ("incomplete", None, ["Giấy ra viện"])
    url = f"/api/v1/benefits/claims/{claim['id']}"
    completed = client.post(f"{url}/complete", json={"on": "2026-03-09"}, headers=officer).json()
    assert (completed["status"], completed["deadline"]) == ("accepted", "2026-03-18")  # 7 working days
    due = client.get("/api/v1/benefits/due?on=2026-03-18", headers=officer).json()
    assert [row["id"] for row in due["due_today"]] == [claim["id"]] and due["due_today"][0]["working_days_left"] == 0
    late = client.get("/api/v1/benefits/due?on=2026-03-20", headers=officer).json()
    assert [row["id"] for row in late["late"]] == [claim["id"]] and late["late"][0]["working_days_left"] == -2
    back = client.post(f"{url}/incomplete", json={"on": "2026-03-10", "missing": ["Sổ BHXH"]}, headers=officer)
    assert back.json()["status"] == "incomplete"
    client.post(f"{url}/complete", json={"on": "2026-03-11"}, headers=officer)
    client.post(f"{url}/assess", json={"on": "2026-03-12"}, headers=officer)
    refused = client.post(f"{url}/decide", json={"on": "2026-03-13", "refuse": "Giấy ra viện không hợp lệ"},
                          headers=officer).json()
    assert (refused["status"], refused["amount"], refused["decision"]["refusal_reason"]) == (
        "refused", 0, "Giấy ra viện không hợp lệ")
    appealed = client.post(f"{url}/appeal", json={"on": "2026-03-16", "reason": "Bổ sung giấy ra viện"},
                           headers=officer)
    assert appealed.json()["status"] == "accepted" and appealed.json()["decision"] is None
    # the officer who decided may not re-assess it; another officer does
    assert client.post(f"{url}/assess", json={"on": "2026-03-17"}, headers=officer).status_code == 403
    assert client.post(f"{url}/assess", json={"on": "2026-03-17"}, headers=other).json()["status"] == "assessed"
    regranted = client.post(f"{url}/decide", json={"on": "2026-03-18"}, headers=other).json()
    assert regranted["status"] == "granted" and regranted["decision"]["number"] == "00002/2026/QĐ-BHXH-01"
    # a second claim, withdrawn; a decided claim cannot be withdrawn
    second = client.post("/api/v1/benefits/claims", json=sickness(api["mother"].citizen_id), headers=officer).json()
    withdrawn = client.post(f"/api/v1/benefits/claims/{second['id']}/withdraw",
                            json={"on": "2026-03-04", "reason": "rút hồ sơ"}, headers=officer)
    assert withdrawn.json()["status"] == "withdrawn"
    assert client.post(f"{url}/withdraw", json={"on": "2026-03-19"}, headers=officer).status_code == 409


def test_outsiders_get_403_or_404_and_nothing_changes(client, db, api, granted, make_user, org):
    tokens = api["tokens"]
    claim = client.post("/api/v1/benefits/claims", json=sickness(api["worker"].citizen_id),
                        headers=tokens["b-hanoi"]).json()
    url = f"/api/v1/benefits/claims/{claim['id']}"
    count = _count(db)
    sonla, citizen, district = tokens["b-sonla"], tokens["b-citizen"], tokens["b-district"]
    assert client.get(url, headers=sonla).status_code == 404
    assert client.get(url, headers=citizen).status_code == 404
    assert client.post(f"{url}/assess", json={}, headers=sonla).status_code == 404
    assert client.post(f"{url}/withdraw", json={}, headers=citizen).status_code == 403  # no benefits.assess
    assert client.post(f"{url}/decide", json={}, headers=district).status_code == 403  # no benefits.decide
    assert client.get(f"{url}/decision.pdf", headers=sonla).status_code == 404
    assert client.get("/api/v1/benefits/claims", headers=sonla).json()["items"] == []
    # filing for a person of another province: not found; a citizen for another person: refused
    assert client.post("/api/v1/benefits/claims", json=sickness(api["worker"].citizen_id),
                       headers=sonla).status_code == 404
    assert client.post("/api/v1/benefits/claims", json=sickness(api["worker"].citizen_id),
                       headers=citizen).status_code == 403
    make_user("dn.anbinh", org.hanoi, Role.employer, subject_ref="0100109106")
    employer = api_token(client, "dn.anbinh")
    assert client.post("/api/v1/benefits/claims", json=sickness(api["worker"].citizen_id),
                       headers=employer).status_code == 403
    assert client.get(url, headers=employer).status_code == 404  # not a case it filed
    assert _count(db) == count
    assert client.get(url, headers=district).status_code == 404  # the person's record is the province's
    assert client.get(url, headers=tokens["b-national"]).status_code == 200


def test_a_citizen_files_and_reads_their_own(client, bworld, session, api):
    citizen = api["tokens"]["b-citizen"]
    body = {"type": "lump_sum", "citizen_id": bworld.citizen_person.citizen_id, "filed_on": "2026-03-02",
            "ground": "abroad", "channel": "counter"}
    filed = client.post("/api/v1/benefits/claims", json=body, headers=citizen)
    assert filed.status_code == 201, filed.text
    assert filed.json()["channel"] == "portal"  # what the citizen files themselves comes through the portal
    assert client.get(f"/api/v1/benefits/claims/{filed.json()['id']}", headers=citizen).status_code == 200
    mine = client.get("/api/v1/benefits/claims", headers=citizen).json()
    assert [row["id"] for row in mine["items"]] == [filed.json()["id"]]
    assert client.get("/api/v1/benefits/due", headers=citizen).status_code == 403


def test_errors_name_the_field_in_both_languages(client, api):
    officer = api["tokens"]["b-hanoi"]
    body = {"type": "lump_sum", "citizen_id": api["worker"].citizen_id, "filed_on": "2025-06-30",
            "ground": "incapacity_81"}
    english = client.post("/api/v1/benefits/claims", json=body, headers={**officer, **EN})
    assert english.status_code == 422
    assert english.json()["error"]["field"] == "ground"
    assert english.json()["error"]["message"].startswith("incapacity_81 is not a ground of a lump-sum withdrawal "
                                                         "filed on 30 Jun 2025")
    vietnamese = client.post("/api/v1/benefits/claims", json=body, headers={**officer, **VI})
    assert vietnamese.json()["error"]["field"] == "ground"
    assert "30/06/2025" in vietnamese.json()["error"]["message"]
    assert vietnamese.json()["error"]["message"] != english.json()["error"]["message"]
    bad_detail = client.post("/api/v1/benefits/claims", json=sickness(api["worker"].citizen_id, details={"days": 0}),
                             headers={**officer, **EN})
    assert bad_detail.status_code == 422 and bad_detail.json()["error"]["field"].startswith("details.")
    assert client.post("/api/v1/benefits/claims", json={**sickness("12"), "type": "pension"},
                       headers=officer).status_code == 422
    missing = client.post("/api/v1/benefits/claims/1/incomplete", json={"missing": []}, headers=officer)
    assert missing.status_code == 422


def test_the_employers_list_through_the_api(client, db, api, make_user, org):
    make_user("dn.anbinh", org.hanoi, Role.employer, subject_ref="0100109106")
    make_user("dn.mocchau", org.sonla, Role.employer, subject_ref="5500001000")
    employer, other = api_token(client, "dn.anbinh"), api_token(client, "dn.mocchau")
    template = client.get("/api/v1/benefits/employer-batches/template", headers=employer)
    assert template.status_code == 200 and template.content[:2] == b"PK"
    content = ("line,citizen_id,type,leave_from,days,birth_on\n"
               f"1,{api['worker'].citizen_id},sickness,2026-02-23,5,\n"
               f"2,{api['mother'].citizen_id},maternity,,,2026-02-15\n"
               "3,001099999999,sickness,2026-02-23,3,\n").encode()
    files = {"file": ("01b.csv", content, "text/csv")}
    sent = client.post("/api/v1/benefits/employer-batches", files=files, headers={**employer, **VI})
    assert sent.status_code == 201, sent.text
    report = sent.json()
    assert (report["filed"], report["rejected"]) == (2, 1)
    assert report["outcomes"][2]["error"]["reason_vi"] == "Không có người nào đăng ký với số CCCD 001099999999."
    again = client.post("/api/v1/benefits/employer-batches", files=files, headers=employer)
    assert again.status_code == 200 and again.json()["batch_id"] == report["batch_id"]
    url = f"/api/v1/benefits/employer-batches/{report['batch_id']}"
    assert client.get(url, headers=employer).json()["outcomes"] == report["outcomes"]
    claim_id = report["outcomes"][0]["claim_id"]
    assert client.get(f"/api/v1/benefits/claims/{claim_id}", headers=employer).json()["channel"] == "employer"
    assert client.get(url, headers=other).status_code == 404
    assert client.get(url, headers=api["tokens"]["b-sonla"]).status_code == 404
    assert client.get(f"/api/v1/benefits/claims/{claim_id}", headers=other).status_code == 404
    count = _count(db)
    refused = client.post("/api/v1/benefits/employer-batches", files={"file": ("b.csv", content + b"\n", "text/csv")},
                          data={"employer": "0100109106"}, headers=other)
    assert refused.status_code == 403
    by_staff = client.post("/api/v1/benefits/employer-batches", files={"file": ("c.csv", content + b"\n",
                                                                                "text/csv")},
                           data={"employer": "0100109106"}, headers=api["tokens"]["b-sonla"])
    assert by_staff.status_code == 404
    unreadable = client.post("/api/v1/benefits/employer-batches", files={"file": ("d.csv", b"a,b\n1,2\n", "text/csv")},
                             headers=employer)
    assert unreadable.status_code == 422 and unreadable.json()["errors"][0]["column"] == "citizen_id"
    assert _count(db) == count
    # Hà Nội's officer sends a list for An Bình
    officer = client.post("/api/v1/benefits/employer-batches", files={"file": ("e.csv", content + b"\n\n",
                                                                               "text/csv")},
                          data={"employer": "0100109106"}, headers=api["tokens"]["b-hanoi"])
    assert officer.status_code == 201 and officer.json()["already_filed"] == 2


def test_the_employment_offices_decisions_through_the_api(client, api):
    content = ("decision_number,decision_on,citizen_id,employment_ended_on,benefit_months,monthly_amount\n"
               f"15/QĐ-TTDVVL,2026-02-13,{api['worker'].citizen_id},2026-01-31,3,6000000\n").encode()
    sent = client.post("/api/v1/benefits/unemployment-decisions", files={"file": ("tcvl.csv", content, "text/csv")},
                       headers=api["tokens"]["b-hanoi"])
    assert sent.status_code == 201, sent.text
    claim = client.get(f"/api/v1/benefits/claims/{sent.json()['outcomes'][0]['claim_id']}",
                       headers=api["tokens"]["b-hanoi"]).json()
    assert (claim["type"], claim["status"], claim["deadline"]) == ("unemployment", "accepted", "2026-02-27")
    again = client.post("/api/v1/benefits/unemployment-decisions", files={"file": ("tcvl.csv", content, "text/csv")},
                        headers=api["tokens"]["b-hanoi"])
    assert again.json()["already_filed"] == 1 and again.json()["filed"] == 0
    assert client.post("/api/v1/benefits/unemployment-decisions", files={"file": ("t.csv", content, "text/csv")},
                       headers=api["tokens"]["b-citizen"]).status_code == 403
    sonla = client.post("/api/v1/benefits/unemployment-decisions", files={"file": ("t.csv", content, "text/csv")},
                        headers=api["tokens"]["b-sonla"])
    assert sonla.json()["outcomes"][0]["status"] == "rejected"  # not a person of Sơn La's


def test_end_to_end_on_the_real_rules(client, api):
    """File → assess → decide → show on the records and the rules themselves (no stand-in): An has been insured
    on 10,000,000 dong since January 2025; 5 days of sick leave from 23 February 2026 pay
    75% × 10,000,000 × 5 ÷ 24 = 1,562,500 dong (Law 41/2024 Art 45; under 15 years: 30 days a year)."""
    from ansinh.benefits import eligibility

    if "NotImplementedError" in eligibility.assess.__code__.co_names:  # the stub the integrator left
        pytest.skip("the eligibility rules have not landed yet")
    officer, other = api["tokens"]["b-hanoi"], api["tokens"]["b-hanoi-2"]
    claim = client.post("/api/v1/benefits/claims", json=sickness(api["worker"].citizen_id), headers=officer).json()
    url = f"/api/v1/benefits/claims/{claim['id']}"
    assessed = client.post(f"{url}/assess", json={"on": "2026-03-03"}, headers=officer)
    assert assessed.status_code == 200, assessed.text
    assert (assessed.json()["eligible"], assessed.json()["amount"]) == (True, 1_562_500)
    decided = client.post(f"{url}/decide", json={"on": "2026-03-04"}, headers=other).json()
    assert decided["status"] == "granted" and decided["decision"]["number"].endswith("/2026/QĐ-BHXH-01")
    shown = client.get(url, headers=officer).json()
    assert (shown["status"], shown["amount"], shown["deadline"]) == ("granted", 1_562_500, "2026-03-11")
    text = re.sub(r"\s+", " ", PdfReader(io.BytesIO(client.get(f"{url}/decision.pdf", headers=officer).content))
                  .pages[0].extract_text())
    assert "1.562.500 đồng" in text and "Một triệu năm trăm sáu mươi hai nghìn năm trăm đồng" in text
