"""The settlement routes: API (settle, list with totals, detail, exports, advances) and pages (list, settle form,
detail, downloads), each for the users who may and may not."""

from __future__ import annotations

from datetime import date

from ansinh.audit.service import audit_context
from tests.claims.settlement.conftest import HANOI, MONTH, SONLA, add_claims
from tests.conftest import api_token, web_login


def _claims(db, *pairs):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        for code, amounts in pairs:
            add_claims(s, code, MONTH, amounts)


def test_the_api_settles_lists_reads_and_exports(client, db, settlement_world):
    _claims(db, (HANOI, [(100_000, 10_000), (50_000, 0)]), (SONLA, [(9_000, 0)]))
    officer = api_token(client, "qt_hanoi")
    advance = client.post("/api/v1/claims/advances", headers=officer, json={
        "facility_code": HANOI, "reference": "UT-1", "paid_on": "2026-10-02", "amount": 40_000,
        "period_from": "2026-10"})
    assert advance.status_code == 201, advance.text
    assert client.post("/api/v1/claims/advances", headers=officer, json={
        "facility_code": HANOI, "reference": "UT-1", "paid_on": "2026-10-02", "amount": 40_000,
        "period_from": "2026-10"}).status_code == 200
    settled = client.post("/api/v1/claims/settlements", headers=officer,
                          json={"facility_code": HANOI, "month": "2026-10"})
    assert settled.status_code == 201, settled.text
    body = settled.json()
    assert (body["claims"], body["claimed"], body["accepted"], body["advances"], body["due"], body["replayed"]) == (
        2, 150_000, 140_000, 40_000, 100_000, False)
    again = client.post("/api/v1/claims/settlements", headers=officer, json={"facility_code": HANOI, "month": "2026-10"})
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["replayed"]
    listed = client.get("/api/v1/claims/settlements?month=2026-10", headers=officer).json()
    assert [s["id"] for s in listed["settlements"]] == [body["id"]] and listed["totals"]["due"] == 100_000
    detail = client.get(f"/api/v1/claims/settlements/{body['id']}", headers=officer).json()
    assert detail["offsets"] == [{"reference": "UT-1", "paid_on": "2026-10-02", "advance": 40_000, "offset": 40_000}]
    xlsx = client.get(f"/api/v1/claims/settlements/{body['id']}/export?format=xlsx", headers=officer)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    pdf = client.get(f"/api/v1/claims/settlements/{body['id']}/export?format=pdf", headers=officer)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    # outsiders: another province's officer and the facility user cannot settle; the facility reads its own
    sonla = api_token(client, "qt_sonla")
    assert client.post("/api/v1/claims/settlements", headers=sonla,
                       json={"facility_code": HANOI, "month": "2026-11"}).status_code == 403
    assert client.get(f"/api/v1/claims/settlements/{body['id']}", headers=sonla).status_code == 403
    facility = api_token(client, "bv_hadong")
    assert client.post("/api/v1/claims/settlements", headers=facility,
                       json={"facility_code": HANOI, "month": "2026-10"}).status_code == 403
    assert client.get(f"/api/v1/claims/settlements/{body['id']}", headers=facility).status_code == 200
    assert client.get(f"/api/v1/claims/settlements/{body['id']}",
                      headers=api_token(client, "bv_sonla")).status_code == 404
    bad = client.post("/api/v1/claims/settlements", headers=officer, json={"facility_code": HANOI, "month": "2026-13"})
    assert bad.status_code == 422


def test_a_month_not_appraised_answers_409(client, db, settlement_world):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        add_claims(s, HANOI, MONTH, [(1_000, 0)], status="received")
    answer = client.post("/api/v1/claims/settlements", headers=api_token(client, "qt_hanoi"),
                         json={"facility_code": HANOI, "month": "2026-10"})
    assert answer.status_code == 409 and "1 hồ sơ của tháng 10/2026" in answer.json()["error"]["message"]


def test_the_pages_list_settle_and_download(client, db, settlement_world):
    _claims(db, (HANOI, [(100_000, 0)]))
    web_login(client, "qt_hanoi")
    page = client.get("/claims/settlements?month=2026-10")
    assert page.status_code == 200 and 'data-testid="settle-form"' in page.text
    assert f'data-pending="{HANOI}" data-ready="yes"' in page.text and f'data-testid="settle-{HANOI}"' in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post("/claims/settlements", data={"facility_code": HANOI, "month": "2026-09",
                                                       "csrf_token": csrf})
    assert refused.status_code == 422 and 'data-error="month"' in refused.text
    done = client.post("/claims/settlements", data={"facility_code": HANOI, "month": "2026-10", "csrf_token": csrf},
                       follow_redirects=False)
    assert done.status_code in (302, 303), done.text
    detail = client.get(done.headers["location"])
    assert detail.status_code == 200 and "100.000" in detail.text and "Một trăm nghìn đồng" in detail.text
    link = detail.text.split('data-testid="download-pdf"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert client.get(link).content[:5] == b"%PDF-"
    listed = client.get("/claims/settlements?month=2026-10")
    assert f'data-facility="{HANOI}"' in listed.text and f'data-pending="{HANOI}"' not in listed.text


def test_the_facility_user_sees_its_own_settlements_without_the_form(client, db, settlement_world):
    _claims(db, (HANOI, [(100_000, 0)]), (SONLA, [(5_000, 0)]))
    from ansinh.claims.settlement import service

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        for code in (HANOI, SONLA):
            service.settle_month(s, principal=None, facility_code=code, month=MONTH, on=date(2026, 11, 2))
    web_login(client, "bv_hadong")
    page = client.get("/claims/settlements?month=2026-10")
    assert page.status_code == 200 and 'data-testid="settle-form"' not in page.text
    assert f'data-facility="{HANOI}"' in page.text and f'data-facility="{SONLA}"' not in page.text
