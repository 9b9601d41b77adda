"""The employer's API and pages: its own employer only, within each account's duty; citizens, officers and another
employer's accounts refused."""

from __future__ import annotations

from sqlalchemy import select

from ansinh import clock
from ansinh.portal.employer.models import ETransactionRegistration
from ansinh.registry.models import Employer
from tests.conftest import api_token, web_login
from tests.portal.employer.conftest import HOA_CID, KHAC, LAN_CID, SAO_MAI

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

#: Every route of the employer (method, path, request arguments); those of bills are filled in with the world's ids.
ROUTES = [
    ("GET", "/api/v1/employer", {}), ("GET", "/api/v1/employer/e-transactions", {}),
    ("POST", "/api/v1/employer/e-transactions", {"json": {"contact_name": "X", "email": "x@y.vn",
                                                          "phone": "0912345678"}}),
    ("DELETE", "/api/v1/employer/e-transactions", {}), ("GET", "/api/v1/employer/users", {}),
    ("POST", "/api/v1/employer/users", {"json": {"username": "intruder.x", "full_name": "X",
                                                 "password": "a long and uncommon passphrase", "duty": "accounting"}}),
    ("POST", "/api/v1/employer/declarations/check", {"json": {"citizen_id": LAN_CID, "kind": "leave",
                                                              "effective_month": "2026-02-01"}}),
    ("POST", "/api/v1/employer/declarations", {"json": {"citizen_id": LAN_CID, "kind": "leave",
                                                        "effective_month": "2026-02-01"}}),
    ("POST", "/api/v1/employer/declarations/upload", {"files": {"file": ("d.csv", b"x\n", "text/csv")}}),
    ("GET", "/api/v1/employer/statement", {}), ("GET", "/api/v1/employer/statement/notice?month=2026-01", {}),
    ("GET", "/api/v1/employer/bills/{jan_bill}", {}), ("GET", "/api/v1/employer/bills/{jan_bill}/bill.pdf", {}),
    ("GET", "/api/v1/employer/payments", {}), ("GET", "/api/v1/employer/workers", {}),
    ("GET", "/api/v1/employer/benefit-cases", {}),
    ("POST", "/api/v1/employer/benefit-cases", {"files": {"file": ("01b.csv", b"x\n", "text/csv")}}),
    ("GET", "/employer", {}), ("GET", "/employer/e-transactions", {}), ("GET", "/employer/users", {}),
    ("GET", "/employer/declarations/new", {}), ("GET", "/employer/declarations/upload", {}),
    ("GET", "/employer/declarations/template.xlsx", {}), ("GET", "/employer/statement", {}),
    ("GET", "/employer/statement/notice?month=2026-01", {}), ("GET", "/employer/bills/{jan_bill}", {}),
    ("GET", "/employer/bills/{jan_bill}/bill.pdf", {}), ("GET", "/employer/payments", {}),
    ("GET", "/employer/workers", {}), ("GET", "/employer/benefits", {}),
    ("GET", "/employer/benefits/template.xlsx", {}),
]


def _url(path: str, eworld) -> str:
    return path.format(jan_bill=eworld.jan_bill)


def _snapshot(db, employer_id: int) -> tuple:
    from ansinh.participation.models import Declaration

    with db.unit_of_work() as s:
        return (len(s.scalars(select(Declaration)).all()), len(s.scalars(select(ETransactionRegistration)).all()),
                s.get(Employer, employer_id).e_transactions)


def test_citizens_officers_and_the_other_employer_see_nothing_of_sao_mai(db, client, eworld):
    before = _snapshot(db, eworld.sao_mai)
    for username in ("an", "hn.officer"):
        headers = api_token(client, username)
        for method, path, kwargs in ROUTES:
            response = client.request(method, _url(path, eworld), headers=headers, follow_redirects=False, **kwargs)
            assert response.status_code == 403, (username, method, path, response.status_code)
    other = api_token(client, "khac.admin")
    for path in ("/api/v1/employer/bills/{jan_bill}", "/api/v1/employer/bills/{jan_bill}/bill.pdf",
                 "/employer/bills/{jan_bill}", "/employer/bills/{jan_bill}/bill.pdf"):
        assert client.get(_url(path, eworld), headers=other).status_code == 404, path
    assert client.get("/api/v1/employer/statement?on=2026-03-15", headers=other).json()["months"] == []
    assert client.get("/api/v1/employer", headers=other).json()["employer"]["tax_code"] == KHAC
    sao_users = {u["id"] for u in client.get("/api/v1/employer/users", headers=api_token(
        client, "saomai.admin")).json()["items"]}
    for user_id in sao_users:
        assert client.post(f"/api/v1/employer/users/{user_id}/deactivation", headers=other).status_code == 404
    assert _snapshot(db, eworld.sao_mai) == before


def test_duties_limit_the_routes(db, client, eworld):
    accountant, clerk = api_token(client, "saomai.ketoan"), api_token(client, "saomai.nhansu")
    for method, path, kwargs in ROUTES:
        url = _url(path, eworld)
        accounting = "/statement" in url or "/bills/" in url or "/payments" in url
        declarations = any(word in url for word in ("/declarations", "/workers", "/benefit"))
        registration_change = "e-transactions" in url and method != "GET"
        users = "/users" in url
        if accounting:
            assert client.request(method, url, headers=clerk, **kwargs).status_code == 403, url
        if declarations or users or registration_change:
            assert client.request(method, url, headers=accountant, **kwargs).status_code == 403, url
    assert client.get("/api/v1/employer/statement?on=2026-03-15", headers=accountant).json()["totals"]["total"] \
        == 11_520_000
    assert client.get("/api/v1/employer/workers", headers=clerk).json()["total"] == 2


def test_registration_through_the_api_and_by_an_officer(db, client, eworld):
    admin = api_token(client, "saomai.admin")
    body = {"contact_name": "Lê Văn Nam", "email": "ns@saomai.vn", "phone": "0243 123 4567"}
    first = client.post("/api/v1/employer/e-transactions", headers=admin, json=body)
    assert first.status_code == 201, first.text
    assert first.json()["registered_on"] == clock.today().isoformat()
    assert client.post("/api/v1/employer/e-transactions", headers=admin, json=body).status_code == 200
    shown = client.get("/api/v1/employer/e-transactions", headers=admin).json()
    assert shown["registered"] and shown["since"] == clock.today().isoformat() and len(shown["history"]) == 1
    bad = client.post("/api/v1/employer/e-transactions", headers=admin, json={**body, "email": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "email"
    ended = client.delete("/api/v1/employer/e-transactions", headers=admin).json()
    assert not ended["registered"] and ended["ended"]["ended_on"] == clock.today().isoformat()
    refused = client.post("/api/v1/employer/e-transactions", headers=admin, json={**body, "email": "nope"})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "email"
    officer, other_province = api_token(client, "hn.officer"), api_token(client, "sl.officer")
    assert client.post(f"/api/v1/employers/{eworld.khac}/e-transactions", headers=other_province,
                       json=body).status_code == 403
    assert client.post(f"/api/v1/employers/{eworld.khac}/e-transactions", headers=admin,
                       json=body).status_code == 403
    by_officer = client.post(f"/api/v1/employers/{eworld.khac}/e-transactions", headers=officer, json=body)
    assert by_officer.status_code == 201 and by_officer.json()["registered_by"] == "hn.officer"
    assert client.get(f"/api/v1/employers/{eworld.khac}", headers=officer).json()["e_transactions_since"] == \
        clock.today().isoformat()
    page = client.get(f"/registry/employers/{eworld.khac}", headers=officer)
    assert page.status_code == 200 and clock.today().strftime("%d/%m/%Y") in page.text


def test_declarations_check_and_submit(db, client, eworld):
    admin = api_token(client, "saomai.admin")
    month = clock.today().replace(day=1).isoformat()
    check = client.post("/api/v1/employer/declarations/check", headers=admin, json={
        "citizen_id": LAN_CID, "kind": "join", "effective_month": month, "insured_salary": 1_000})
    assert check.status_code == 200 and not check.json()["ok"]
    assert set(check.json()["errors"]) == {"person", "insured_salary"}
    unknown = client.post("/api/v1/employer/declarations/check", headers=admin, json={
        "citizen_id": "001199999999", "kind": "join", "effective_month": month, "insured_salary": 9_000_000})
    assert "person" in unknown.json()["errors"]
    good = {"citizen_id": HOA_CID, "kind": "join", "effective_month": month, "insured_salary": 9_000_000}
    assert client.post("/api/v1/employer/declarations/check", headers=admin, json=good).json()["ok"]
    made = client.post("/api/v1/employer/declarations", headers=admin, json=good)
    assert made.status_code == 201 and made.json()["employer_id"] == eworld.sao_mai, made.text
    assert client.get("/api/v1/employer/workers", headers=admin).json()["total"] == 3


def test_bulk_upload_names_row_and_field(db, client, eworld):
    admin = api_token(client, "saomai.admin")
    month = clock.today().strftime("%Y-%m")
    rows = ("employer_tax_code,citizen_id,kind,effective_month,insured_salary,hi_group\n"
            f"{SAO_MAI},{HOA_CID},join,{month},9000000,DN\n"
            f"{SAO_MAI},001199999999,join,{month},9000000,DN\n"
            f"{KHAC},{MINH_CID_},join,{month},9000000,DN\n"
            f"{SAO_MAI},{HOA_CID},salary_change,{month},abc,\n")
    answer = client.post("/api/v1/employer/declarations/upload", headers=admin,
                         files={"file": ("khai-bao.csv", rows.encode(), "text/csv")})
    assert answer.status_code == 422, answer.text
    errors = {(e["row"], e["column"]) for e in answer.json()["errors"]}
    assert errors == {(3, "citizen_id"), (4, "employer_tax_code"), (5, "insured_salary")}
    assert client.get("/api/v1/employer/workers", headers=admin).json()["total"] == 2  # nothing applied
    good = rows.splitlines()[0] + "\n" + rows.splitlines()[1] + "\n"
    applied = client.post("/api/v1/employer/declarations/upload", headers=admin,
                          files={"file": ("khai-bao.csv", good.encode(), "text/csv")})
    assert applied.status_code == 201 and applied.json()["created"] == 1, applied.text
    again = client.post("/api/v1/employer/declarations/upload", headers=admin,
                        files={"file": ("khai-bao.csv", good.encode(), "text/csv")})
    assert again.status_code == 200 and again.json()["status"] == "unchanged"


MINH_CID_ = "001092022222"


def test_statement_bill_and_notice_through_the_api(db, client, eworld):
    accountant = api_token(client, "saomai.ketoan")
    statement = client.get("/api/v1/employer/statement?on=2026-03-15", headers=accountant).json()
    assert statement["totals"]["arrears"] == 3_760_000 and statement["totals"]["interest_due"] == 16_920
    notice = client.get("/api/v1/employer/statement/notice?month=2026-01", headers=accountant).json()
    assert notice["totals"] == {"employer": 3_870_000, "employee": 1_890_000, "total": 5_760_000}
    assert client.get("/api/v1/employer/statement/notice?month=2026-13", headers=accountant).status_code == 422
    bill = client.get(f"/api/v1/employer/bills/{eworld.jan_bill}", headers=accountant).json()
    assert bill["paid"] == 2_000_000 and bill["reference"] == eworld.jan_reference
    pdf = client.get(f"/api/v1/employer/bills/{eworld.jan_bill}/bill.pdf", headers=accountant)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/api/v1/employer/payments", headers=accountant).json()["items"][0]["amount"] == 2_000_000


def test_benefit_list_through_the_api(db, client, eworld):
    clerk = api_token(client, "saomai.nhansu")
    listing = (f"line,citizen_id,type,leave_from,days\n1,{LAN_CID},sickness,2026-02-02,3\n"
               f"2,001199999999,sickness,2026-02-02,3\n").encode()
    sent = client.post("/api/v1/employer/benefit-cases", headers=clerk, files={"file": ("01b.csv", listing, "text/csv")})
    assert sent.status_code == 201, sent.text
    assert [(o["row"], o["status"]) for o in sent.json()["outcomes"]] == [(2, "filed"), (3, "rejected")]
    assert sent.json()["outcomes"][1]["error"]["column"] == "citizen_id"
    cases = client.get("/api/v1/employer/benefit-cases", headers=clerk).json()
    assert [(c["full_name"], c["type"]) for c in cases["items"]] == [("Nguyễn Thị Lan", "sickness")]
    assert cases["lists"][0]["filed"] == 1


def test_pages_of_the_employer(db, client, eworld):
    from datetime import date

    from ansinh.audit.service import audit_context
    from ansinh.notices.service import send_notice

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        send_notice(s, kind="general", key="sao-mai-1", on=date(2026, 3, 2), employer_id=eworld.sao_mai,
                    params={"message": "Nộp hồ sơ trước ngày 10"})
    assert web_login(client, "saomai.admin").status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/employer"
    home = client.get("/employer")
    assert home.status_code == 200 and "Công ty Sao Mai" in home.text and 'data-testid="employer-to-pay"' in home.text
    assert 'data-testid="employer-notices"' in home.text and "02/03/2026" in home.text
    for path in ("/employer/e-transactions", "/employer/users", "/employer/declarations/new",
                 "/employer/declarations/upload", "/employer/statement?on=2026-03-15",
                 "/employer/statement/notice?month=2026-01", f"/employer/bills/{eworld.jan_bill}",
                 "/employer/payments", "/employer/workers", "/employer/benefits"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
    assert "Nguyễn Thị Lan" in client.get("/employer/workers").text
    assert 'data-testid="bill-qr"' in client.get(f"/employer/bills/{eworld.jan_bill}").text
    csrf = client.cookies.get("ansinh_csrf") or ""
    page = client.get("/employer/e-transactions")
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    del csrf
    refused = client.post("/employer/e-transactions", data={"csrf_token": token, "contact_name": "Nam",
                                                            "email": "sai", "phone": "0912345678"})
    assert refused.status_code == 422 and 'data-testid="error-email"' in refused.text
    done = client.post("/employer/e-transactions", data={"csrf_token": token, "contact_name": "Nam",
                                                         "email": "nam@saomai.vn", "phone": "0912345678"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/employer/e-transactions?notice=registered"
    check = client.post("/employer/declarations/check", data={"person_ref": LAN_CID, "kind": "join",
                                                              "month": clock.today().strftime("%Y-%m"),
                                                              "salary": "9000000", "hi_group": "DN"})
    assert check.status_code == 200 and 'data-field="person"' in check.text
    added = client.post("/employer/users", data={"csrf_token": token, "username": "saomai.ketoan2",
                                                 "full_name": "Kế Toán Hai", "password": "a long and uncommon "
                                                 "passphrase", "duty": "accounting"}, follow_redirects=False)
    assert added.status_code == 303, added.text[:2000]
    upload = client.post("/employer/declarations/upload", data={"csrf_token": token},
                         files={"file": ("d.csv", f"employer_tax_code,citizen_id,kind,effective_month\n"
                                                  f"{SAO_MAI},001199999999,join,2026-01\n".encode(), "text/csv")})
    assert upload.status_code == 422 and 'data-testid="upload-errors"' in upload.text and "citizen_id" in upload.text


def test_duties_hold_on_the_older_routes_an_employer_can_reach_too(db, client, eworld):
    """An accountant cannot declare or send a 01B-HSB list through participation's or benefits' own routes either;
    the declarations clerk and the administrator can reach them."""
    accountant = api_token(client, "saomai.ketoan")
    declaration = {"employer_tax_code": SAO_MAI, "citizen_id": LAN_CID, "kind": "leave",
                   "effective_month": "2026-02-01"}
    refused = client.post("/api/v1/declarations", headers=accountant, json=declaration)
    assert refused.status_code == 403, refused.text
    assert client.post("/api/v1/benefits/employer-batches", headers=accountant,
                       files={"file": ("01b.csv", b"citizen_id,type\n", "text/csv")}).status_code == 403
    web_login(client, "saomai.ketoan")
    assert client.get("/participation/declarations/new").status_code == 403
    assert client.get("/participation/declarations").status_code == 403
    assert client.get("/benefits/employer-batches").status_code == 403
    assert client.get(f"/collection/employers/{eworld.sao_mai}").status_code == 200
    assert client.get(f"/collection/bills/{eworld.jan_bill}").status_code == 200
    client.cookies.clear()
    web_login(client, "saomai.nhansu")
    assert client.get("/participation/declarations/new").status_code == 200
    assert client.get("/benefits/employer-batches").status_code == 200
    assert client.get(f"/collection/employers/{eworld.sao_mai}").status_code == 403
    assert client.get(f"/collection/bills/{eworld.jan_bill}").status_code == 403
    clerk = api_token(client, "saomai.nhansu")
    assert client.get(f"/api/v1/bills/{eworld.jan_bill}", headers=clerk).status_code == 403
