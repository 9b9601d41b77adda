"""The citizen's API (/api/v1/me/...) and pages (/me...): only about the signed-in citizen, every read audited; a
second citizen sees only herself; staff (of Hà Nội or of another province) have no personal record here (404)."""

from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.auth.models import Role
from ansinh.collection.vietqr import parse_payload
from tests.conftest import api_token, web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

HTML = {"Accept": "text/html"}
API = ("/api/v1/me/person", "/api/v1/me/contributions", "/api/v1/me/card", "/api/v1/me/claims", "/api/v1/me/bills")
PAGES = ("/me", "/me/contributions", "/me/card", "/me/bills")


def test_the_api_answers_about_the_signed_in_citizen(client, db, pworld):
    headers = api_token(client, "an")
    person = client.get("/api/v1/me/person", headers=headers).json()
    assert person["full_name"] == "Nguyễn Văn An" and person["citizen_id"] == "001090012345"
    assert person["household"]["is_head"] is True
    history = client.get("/api/v1/me/contributions", headers=headers).json()
    # Every period of An's history is closed by 2026-04 (conftest): the totals do not depend on the day.
    assert history["total_si_months"] == 21 and history["total_si"] == {"years": 1, "months": 9}
    assert history["schemes"]["si_compulsory"][0] == {"month": "2020-01", "salary": 10_000_000,
                                                      "employer": "Công ty An Bình", "employer_id": pworld.first,
                                                      "paid_by": "employer"}
    assert {g["months"] for g in history["gaps"]} == {6, 48}
    card = client.get("/api/v1/me/card", headers=headers).json()
    assert card["hi_group"] == "GD" and card["qr_content"].startswith(card["card_code"] + "|Nguyễn Văn An|")
    claims = client.get("/api/v1/me/claims", headers=headers).json()["claims"]
    assert [c["id"] for c in claims] == [pworld.claim]
    bills = client.get("/api/v1/me/bills", headers=headers).json()
    assert sorted(b["type"] for b in bills["bills"]) == ["household", "voluntary"]
    assert bills["outstanding"] == sum(b["total"] for b in bills["bills"])
    for item in bills["bills"]:
        assert parse_payload(item["payment"]["vietqr"])["54"] == str(item["outstanding"])
    with db.unit_of_work() as s:
        kinds = set(s.scalars(select(AuditEvent.entity_type).where(AuditEvent.action == "read",
                                                                   AuditEvent.actor_username == "an")))
    assert {"person", "contribution_history", "hi_card", "benefit_claim", "bill"} <= kinds


def test_the_landing_page_reads_the_person_once(client, db, pworld):
    web_login(client, "an")
    assert client.get("/me", headers=HTML).status_code == 200
    with db.unit_of_work() as s:
        reads = s.scalars(select(AuditEvent.entity_type).where(AuditEvent.action == "read",
                                                               AuditEvent.actor_username == "an")).all()
    assert reads.count("person") == 1 and reads.count("contribution_history") == 1 and reads.count("hi_card") == 1


def test_a_second_citizen_sees_only_herself(client, pworld):
    headers = api_token(client, "binh")
    assert client.get("/api/v1/me/person", headers=headers).json()["full_name"] == "Trần Thị Bình"
    assert client.get("/api/v1/me/contributions", headers=headers).json()["schemes"]["si_compulsory"] == []
    assert client.get("/api/v1/me/card", headers=headers).status_code == 404  # no card issued to her
    assert [c["id"] for c in client.get("/api/v1/me/claims", headers=headers).json()["claims"]] == [pworld.binh_claim]
    bills = client.get("/api/v1/me/bills", headers=headers).json()["bills"]
    assert [b["type"] for b in bills] == ["voluntary"]
    # no identifier can be passed to reach An
    for path in API:
        answer = client.get(f"{path}?person_id={pworld.an}&citizen_id=001090012345", headers=headers)
        assert "Nguyễn Văn An" not in answer.text
    web_login(client, "binh")
    for path in PAGES:
        page = client.get(path, headers=HTML)
        assert page.status_code == 200 and "Nguyễn Văn An" not in page.text and "Công ty An Bình" not in page.text


def test_staff_and_outsiders_have_no_personal_record_here(client, pworld):
    for username in ("hn.officer", "sl.officer"):
        headers = api_token(client, username)
        for path in API:
            assert client.get(path, headers=headers).status_code == 404, (username, path)
        client.cookies.clear()
        web_login(client, username)
        for path in PAGES:
            assert client.get(path, headers=HTML).status_code == 404, (username, path)
        client.cookies.clear()
    for path in API:
        assert client.get(path).status_code == 401


def test_a_citizen_account_without_a_person_lands_on_a_page_that_says_so(client, org, make_user):
    make_user("ghost", org.hanoi, Role.citizen, subject_ref="001099999999")
    web_login(client, "ghost")
    page = client.get("/", headers=HTML)  # redirected to /me
    assert page.status_code == 200 and 'data-testid="me-unlinked"' in page.text
    assert client.get("/me/card", headers=HTML).status_code == 404


def test_the_pages_in_both_languages(client, pworld):
    web_login(client, "an")
    home = client.get("/", headers=HTML, follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/me"  # the citizen's landing
    client.get("/lang/vi")
    me = client.get("/me", headers=HTML)
    assert me.status_code == 200 and "Nguyễn Văn An" in me.text and "01/05/1990" in me.text
    assert "1 năm 9 tháng" in me.text and 'data-nav="me_bills"' in me.text and 'href="/me/claims"' in me.text
    history = client.get("/me/contributions", headers=HTML).text
    assert "10.000.000" in history and "Công ty An Bình" in history and "01/2020" in history
    card = client.get("/me/card", headers=HTML).text
    assert "<svg" in card and "31/01/2026" in card and "30/01/2027" in card
    bills = client.get("/me/bills", headers=HTML).text
    assert bills.count('data-testid="bill-qr"') == 2
    client.get("/lang/en")
    me = client.get("/me", headers=HTML).text
    assert "1 years 9 months" in me or "1 year" in me
    assert "Date of birth" in client.get("/me/card", headers=HTML).text
