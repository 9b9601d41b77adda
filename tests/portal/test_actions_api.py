"""The citizen's actions over the API (/api/v1/me/...) and the pages (/me/...): the same rules as the services, only
about the signed-in citizen. Dates come from the application's clock: the assertions compare what the API answers
with itself (the quote and the bill), never with a day."""

from sqlalchemy import select

from ansinh import clock
from ansinh.collection.vietqr import parse_payload
from ansinh.participation.service import add_months, month_start
from tests.conftest import api_token, web_login

HTML = {"Accept": "text/html"}
PAGES = ("/me/claims", "/me/claims/new", "/me/bank-account", "/me/enrol", "/me/notices", "/me/visits",
         "/me/corrections", "/me/bills")


def _next_month() -> str:
    return add_months(month_start(clock.today()), 1).isoformat()


def test_voluntary_quote_then_enrolment_with_its_bill_and_vietqr(client, pworld):
    headers = api_token(client, "an")
    body = {"income": 3_000_000, "months": 3, "start": _next_month()}
    quote = client.post("/api/v1/me/voluntary", headers=headers, json=body)
    assert quote.status_code == 200, quote.text
    assert "bill" not in quote.json()
    payable = quote.json()["quote"]["payable"]
    done = client.post("/api/v1/me/voluntary", headers=headers, json={**body, "confirm": True})
    assert done.status_code == 200, done.text
    bill = done.json()["bill"]
    assert bill["total"] == bill["outstanding"] == payable and bill["type"] == "voluntary"
    payload = parse_payload(bill["payment"]["vietqr"])
    assert payload["54"] == str(payable)
    again = client.post("/api/v1/me/voluntary", headers=headers, json={**body, "confirm": True})
    assert again.status_code == 409
    bad = client.post("/api/v1/me/voluntary", headers=headers, json={**body, "months": 5})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "months"


def test_household_renewal_over_the_api(client, pworld):
    headers = api_token(client, "an")
    assert [m["id"] for m in client.get("/api/v1/me/household", headers=headers).json()["members"]] == sorted(
        [pworld.an, pworld.cuong])
    assert client.get("/api/v1/me/household", headers=api_token(client, "binh")).status_code == 404
    body = {"members": [pworld.cuong], "start": clock.today().isoformat(), "months": 3}
    quote = client.post("/api/v1/me/household", headers=headers, json=body)
    assert quote.status_code == 200, quote.text
    outsider = client.post("/api/v1/me/household", headers=headers, json={**body, "members": [pworld.binh]})
    assert outsider.status_code == 422


def test_claims_bank_account_and_notices_over_the_api(client, pworld):
    headers = api_token(client, "an")
    preview = client.get("/api/v1/me/claims/preview", headers=headers).json()
    assert set(preview["preview"]) == {"lump_sum", "maternity", "funeral"}
    assert [r["full_name"] for r in preview["relatives"]] == ["Nguyễn Văn Cường"]
    filed = client.post("/api/v1/me/claims", headers=headers,
                        json={"type": "lump_sum", "ground": "abroad", "submission_id": "s-1"})
    assert filed.status_code == 201, filed.text
    claim = filed.json()
    assert claim["status"] == "accepted" and claim["deadline"] and claim["own"] and claim["new"]
    replay = client.post("/api/v1/me/claims", headers=headers,
                         json={"type": "lump_sum", "ground": "abroad", "submission_id": "s-1"})
    assert replay.json()["id"] == claim["id"] and replay.json()["new"] is False
    assert claim["id"] in [c["id"] for c in client.get("/api/v1/me/claims", headers=headers).json()["claims"]]
    assert claim["id"] not in [c["id"] for c in client.get("/api/v1/me/claims",
                                                           headers=api_token(client, "binh")).json()["claims"]]
    account = client.post("/api/v1/me/bank-accounts", headers=headers, json={
        "bank_bin": "970436", "account_number": "0011000099", "holder_name": "Nguyễn Văn An"})
    assert account.status_code == 201 and account.json()["account"] == "•••• 0099"
    assert "0011000099" not in client.get("/api/v1/me/bank-accounts", headers=headers).text
    wrong = client.post("/api/v1/me/bank-accounts", headers=headers, json={
        "bank_bin": "970436", "account_number": "0011000100", "holder_name": "Trần Thị Bình"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "holder_name"
    assert client.get("/api/v1/me/notices", headers=headers).json() == {"notices": [], "unread": 0}
    assert client.post("/api/v1/me/notices/999999/read", headers=headers).status_code == 404
    assert client.get("/api/v1/me/visits", headers=headers).json()["totals"] == {
        "total_cost": 0, "fund_paid": 0, "patient_paid": 0}


def test_every_page_draws_for_the_citizen_and_refuses_staff(client, pworld):
    web_login(client, "an")
    for path in PAGES:
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, (path, page.text[:500])
    client.cookies.clear()
    web_login(client, "hn.officer")
    for path in PAGES:
        assert client.get(path, headers=HTML).status_code in (403, 404), path


def test_the_pages_file_a_claim_register_an_account_and_enrol(client, db, pworld):
    from ansinh.benefits.models import BenefitClaim

    web_login(client, "an")
    page = client.get("/me/claims/new", headers=HTML)
    token = client.cookies.get("ansinh_csrf") or _csrf(page.text)
    filed = client.post("/me/claims/new", data={"csrf_token": token, "type": "lump_sum", "ground": "abroad",
                                                "submission_id": "p-1"}, follow_redirects=False)
    assert filed.status_code == 303 and filed.headers["location"] == "/me/claims?notice=filed"
    with db.unit_of_work() as s:
        assert s.scalar(select(BenefitClaim.channel).where(BenefitClaim.external_ref.like("portal:%:p-1"))) == "portal"
    refused = client.post("/me/claims/new", data={"csrf_token": token, "type": "lump_sum", "ground": "",
                                                  "submission_id": "p-2"})
    assert refused.status_code == 422 and 'data-testid="form-errors"' in refused.text
    saved = client.post("/me/bank-account", data={"csrf_token": token, "bank_bin": "970436",
                                                  "account_number": "0011000099", "holder_name": "NGUYEN VAN AN"},
                        follow_redirects=False)
    assert saved.status_code == 303
    assert "•••• 0099" in client.get("/me/bank-account", headers=HTML).text
    form = {"csrf_token": token, "income": "3.000.000", "months": "3", "start": _next_month()[:7]}
    quoted = client.post("/me/enrol/voluntary", data=form)
    assert quoted.status_code == 200 and 'data-testid="voluntary-quote"' in quoted.text
    enrolled = client.post("/me/enrol/voluntary", data={**form, "confirm": "1"}, follow_redirects=False)
    assert enrolled.status_code == 303 and enrolled.headers["location"] == "/me/bills?notice=enrolled"
    bills = client.get("/me/bills?notice=enrolled", headers=HTML).text
    assert 'data-testid="bill-qr"' in bills and 'data-testid="notice"' in bills


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_decided_portal_claim_shows_its_decision_pdf_and_a_notice(client, db, pworld):
    from datetime import timedelta

    from ansinh.audit.service import audit_context
    from ansinh.auth.models import User
    from ansinh.auth.service import principal_for
    from ansinh.benefits import service as benefits

    headers = api_token(client, "an")
    claim = client.post("/api/v1/me/claims", headers=headers, json={"type": "lump_sum", "ground": "abroad"}).json()
    today = clock.today()
    with audit_context(channel="web", actor_username="hn.officer"), db.unit_of_work() as s:
        officer = principal_for(s.scalar(select(User).where(User.username == "hn.officer")))
        benefits.assess(s, officer, claim["id"], on=today)
        benefits.decide(s, officer, claim["id"], on=today + timedelta(days=1))
    mine = {c["id"]: c for c in client.get("/api/v1/me/claims", headers=headers).json()["claims"]}[claim["id"]]
    assert mine["decision_number"] and mine["decision_pdf"] == f"/benefits/claims/{claim['id']}/decision.pdf"
    pdf = client.get(mine["decision_pdf"], headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(mine["decision_pdf"], headers=api_token(client, "binh")).status_code == 404
    notices = client.get("/api/v1/me/notices", headers=headers).json()
    assert notices["unread"] == 1 and notices["notices"][0]["link"] == "/me/claims"
    web_login(client, "an")
    page = client.get("/me/claims", headers=HTML).text
    assert 'data-testid="claim-decision-pdf"' in page


def test_the_household_head_renews_on_the_page(client, db, pworld):
    web_login(client, "an")
    page = client.get("/me/enrol", headers=HTML)
    assert f'data-testid="member-{pworld.cuong}"' in page.text
    token = _csrf(page.text)
    form = {"csrf_token": token, "member": [str(pworld.cuong)], "household_start": clock.today().isoformat(),
            "household_months": "3"}
    quoted = client.post("/me/enrol/household", data=form)
    assert quoted.status_code == 200 and 'data-testid="household-quote"' in quoted.text, quoted.text[-2000:]
    none = client.post("/me/enrol/household", data={**form, "member": []})
    assert none.status_code == 422
    client.cookies.clear()
    web_login(client, "binh")
    assert 'data-testid="household-form"' not in client.get("/me/enrol", headers=HTML).text
