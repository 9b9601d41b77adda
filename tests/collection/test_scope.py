"""Collection within scope: an officer of one province (or of a local office) neither reads nor changes the
payments, suspense, bills, runs, cases, write-offs and debtor lists of another, through the API or the pages,
and a refused write changes nothing. A payment in suspense belongs to its receiving account's province, or to
national staff when the account names none."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.collection import inspections, payments
from ansinh.collection.models import (
    Allocation,
    BillingRun,
    InspectionCase,
    LedgerEntry,
    Payment,
    StatementImport,
    WriteOff,
)
from ansinh.registry.models import Employer
from tests.collection import trust_fixtures as tf
from tests.conftest import api_token, web_login


@pytest.fixture(autouse=True)
def accounts(monkeypatch):
    monkeypatch.setenv(payments.ACCOUNTS_ENV, tf.ACCOUNTS)


@pytest.fixture
def books(db, org, make_user):
    tf.make_users(make_user, org)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        return tf.make_books(s, org)


@pytest.fixture
def as_user(client, books):
    tokens: dict[str, dict] = {}

    def headers(username: str) -> dict:
        if username not in tokens:
            tokens[username] = api_token(client, username)
        return tokens[username]

    return headers


def state(db) -> tuple:
    """Everything a refused write must leave as it was."""
    with db.unit_of_work() as s:
        return (s.scalar(select(func.count()).select_from(LedgerEntry)),
                s.scalar(select(func.count()).select_from(Allocation)),
                s.scalar(select(func.count()).select_from(WriteOff)),
                s.scalar(select(func.count()).select_from(StatementImport)),
                s.scalar(select(func.count()).select_from(InspectionCase)),
                sorted(s.execute(select(Payment.id, Payment.status, Payment.payer_key,
                                        Payment.org_unit_id)).all()))


# --- payments -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["hn.local", "hn.tinh"])
def test_an_officer_of_another_province_cannot_reverse_a_payment(client, db, books, as_user, user):
    before = state(db)
    answer = client.post(f"/api/v1/payments/{books.sonla_paid}/reverse", json={"reason": "returned"},
                         headers=as_user(user))
    assert answer.status_code == 403, answer.text
    assert state(db) == before
    assert client.get(f"/api/v1/payments/{books.sonla_paid}", headers=as_user(user)).status_code == 403
    mine = client.post(f"/api/v1/payments/{books.sonla_paid}/reverse", json={"reason": "returned"},
                       headers=as_user("sl.tinh"))
    assert mine.status_code == 200 and mine.json()["status"] == "reversed"


def test_a_local_office_acts_only_on_its_own_payers(client, db, books, as_user):
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        tax_code = s.get(Employer, books.local_employer).tax_code
        local_id = payments.record_payment(s, bank_transaction_id="LOCAL-1", paid_on=tf.PAID_ON, amount=1_000,
                                           reference_text=f"MST {tax_code}",
                                           receiving_account=tf.HANOI_ACCOUNT, on=tf.TODAY).id
    # the province office's own payer is outside a local office's subtree; the local office's payer is inside
    assert client.post(f"/api/v1/payments/{books.hanoi_paid}/reverse", json={"reason": "x"},
                       headers=as_user("hn.local")).status_code == 403
    assert client.post(f"/api/v1/payments/{local_id}/reverse", json={"reason": "x"},
                       headers=as_user("hn.local")).status_code == 200


def test_suspense_belongs_to_the_receiving_accounts_province(client, db, books, as_user):
    def listed(user: str) -> set[int]:
        answer = client.get("/api/v1/payments/suspense", headers=as_user(user))
        assert answer.status_code == 200
        return {p["id"] for p in answer.json()}

    assert listed("hn.tinh") == {books.hanoi_waiting}
    assert listed("sl.tinh") == {books.sonla_waiting}
    assert listed("vn.quantri") == {books.hanoi_waiting, books.sonla_waiting, books.national_waiting}
    assert listed("hn.local") == set()  # owned by the province office, above a local office
    with db.unit_of_work() as s:
        waiting = s.get(Payment, books.hanoi_waiting)
        assert (waiting.receiving_account, waiting.province_2025) == (f"970415:{tf.HANOI_ACCOUNT}", "01")
        assert s.get(Payment, books.national_waiting).org_unit_id is None


def test_assignment_needs_the_payment_and_the_payer_in_scope(client, db, books, as_user):
    officer = as_user("hn.tinh")
    before = state(db)
    # another province's payment in suspense; a national one; a payer of another province
    assert client.post(f"/api/v1/payments/{books.sonla_waiting}/assign",
                       json={"payer_key": f"E:{books.hanoi_employer}"}, headers=officer).status_code == 403
    assert client.post(f"/api/v1/payments/{books.national_waiting}/assign",
                       json={"payer_key": f"E:{books.hanoi_employer}"}, headers=officer).status_code == 403
    assert client.post(f"/api/v1/payments/{books.hanoi_waiting}/assign",
                       json={"payer_key": f"E:{books.sonla_employer}"}, headers=officer).status_code == 403
    assert state(db) == before
    done = client.post(f"/api/v1/payments/{books.hanoi_waiting}/assign",
                       json={"payer_key": f"E:{books.hanoi_employer}"}, headers=officer)
    assert done.status_code == 200 and done.json()["status"] == "matched"
    # national staff place a national payment with any payer
    national = client.post(f"/api/v1/payments/{books.national_waiting}/assign",
                           json={"payer_key": f"E:{books.sonla_employer}"}, headers=as_user("vn.quantri"))
    assert national.status_code == 200
    with db.unit_of_work() as s:
        assigned = s.get(Payment, books.national_waiting)
        assert assigned.org_unit_id == s.get(Employer, books.sonla_employer).org_unit_id


def test_statements_of_another_provinces_account_are_refused_and_nothing_written(client, db, books, as_user):
    before = state(db)
    content = (f"date,amount,payer_account,reference,bank_transaction_id,receiving_account\n"
               f"2025-04-02,100000,,x,ST-SL-1,{tf.SONLA_ACCOUNT}\n"
               f"2025-04-02,100000,,x,ST-VN-1,{tf.NATIONAL_ACCOUNT}\n")
    answer = client.post("/api/v1/payments/statements", headers=as_user("hn.tinh"),
                         files={"file": ("st.csv", content.encode(), "text/csv")})
    assert answer.status_code == 422
    assert [(e["row"], e["column"]) for e in answer.json()["errors"]] == [(2, "receiving_account"),
                                                                        (3, "receiving_account")]
    assert "not an account of your province" in answer.json()["errors"][0]["reason_en"]
    assert state(db) == before
    national = client.post("/api/v1/payments/statements", headers=as_user("vn.quantri"),
                           files={"file": ("st.csv", content.encode(), "text/csv")})
    assert national.status_code == 201


def test_a_payment_recorded_by_an_officer_must_be_theirs(client, db, books, as_user):
    with db.unit_of_work() as s:
        sonla_tax = s.get(Employer, books.sonla_employer).tax_code
    before = state(db)
    body = {"bank_transaction_id": "API-SL", "paid_on": "2025-04-01", "amount": 1_000,
            "reference_text": f"MST {sonla_tax}", "receiving_account": tf.HANOI_ACCOUNT}
    assert client.post("/api/v1/payments", json=body, headers=as_user("hn.tinh")).status_code == 403
    # a transaction already recorded in another province is not revealed either
    again = {"bank_transaction_id": "SL-PAID", "paid_on": tf.PAID_ON.isoformat(), "amount": 4_000_000}
    assert client.post("/api/v1/payments", json=again, headers=as_user("hn.tinh")).status_code == 403
    assert state(db) == before


# --- bills, accounts, write-offs ----------------------------------------------------------------------------

def test_another_provinces_bills_accounts_and_write_offs(client, db, books, as_user):
    officer = as_user("hn.tinh")
    bill = books.sonla_bills[0]
    assert client.get(f"/api/v1/bills/{bill}", headers=officer).status_code == 403
    assert client.get(f"/api/v1/bills/{bill}/qr.svg", headers=officer).status_code == 403
    assert client.get(f"/api/v1/arrears/accounts/E:{books.sonla_employer}",
                      headers=officer).status_code == 403
    before = state(db)
    refused = client.post(f"/api/v1/bills/{bill}/write-offs",
                          json={"amount": 1_000, "reason": "uncollectable"}, headers=officer)
    assert refused.status_code == 403 and state(db) == before
    mine = client.post(f"/api/v1/bills/{books.hanoi_bills[1]}/write-offs",
                       json={"amount": 1_000, "reason": "uncollectable", "on": "2025-04-01"}, headers=officer)
    assert mine.status_code == 201, mine.text
    assert mine.json()["amount"] == 1_000 and mine.json()["written_off_on"] == "2025-04-01"


@pytest.mark.parametrize("path", ["/api/v1/arrears/report", "/api/v1/arrears/trend",
                                  "/api/v1/arrears/overdue-employers", "/api/v1/arrears/debtors.xlsx",
                                  "/api/v1/arrears/debtors.pdf"])
def test_reports_and_debtor_lists_of_another_province_are_refused(client, books, as_user, path):
    params = {"on": "2025-06-01", "province": "14"}
    assert client.get(path, params=params, headers=as_user("hn.tinh")).status_code == 403
    mine = client.get(path, params={**params, "province": "01"}, headers=as_user("hn.tinh"))
    assert mine.status_code == 200
    assert client.get(path, params=params, headers=as_user("vn.quantri")).status_code == 200


# --- billing runs -------------------------------------------------------------------------------------------

def test_billing_runs_and_their_summaries_are_scoped(client, db, books, as_user):
    period = {"period": "2025-05"}
    assert client.post("/api/v1/billing/runs", json={**period, "province": "14"},
                       headers=as_user("hn.tinh")).status_code == 403
    assert client.post("/api/v1/billing/runs", json=period, headers=as_user("hn.tinh")).status_code == 403
    assert client.post("/api/v1/billing/runs", json={**period, "province": "01"},
                       headers=as_user("hn.local")).status_code == 403  # a local office bills no province
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(BillingRun)) == 0
    hanoi = client.post("/api/v1/billing/runs", json={**period, "province": "01"}, headers=as_user("hn.tinh"))
    sonla = client.post("/api/v1/billing/runs", json={**period, "province": "14"}, headers=as_user("sl.tinh"))
    country = client.post("/api/v1/billing/runs", json=period, headers=as_user("vn.quantri"))
    assert (hanoi.status_code, sonla.status_code, country.status_code) == (200, 200, 200)
    runs = {"01": hanoi.json()["run_id"], "14": sonla.json()["run_id"], "*": country.json()["run_id"]}

    def reads(user: str) -> dict[str, int]:
        return {scope: client.get(f"/api/v1/billing/runs/{run}", headers=as_user(user)).status_code
                for scope, run in runs.items()}

    assert reads("hn.tinh") == {"01": 200, "14": 403, "*": 403}  # national totals: national staff only
    assert reads("sl.tinh") == {"01": 403, "14": 200, "*": 403}
    assert reads("hn.local") == {"01": 403, "14": 403, "*": 403}
    assert reads("vn.quantri") == {"01": 200, "14": 200, "*": 200}
    assert client.get(f"/api/v1/billing/runs/{runs['14']}/exceptions",
                      headers=as_user("hn.tinh")).status_code == 403


# --- inspections --------------------------------------------------------------------------------------------

def test_inspection_cases_of_another_province(client, db, books, as_user):
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        case = inspections.open_case(s, None, employer_id=books.sonla_employer, on=date(2025, 5, 2))
        inspections.record_findings(s, None, case.id, "Chậm đóng hai tháng.")
        case_id = case.id
    officer = as_user("hn.tinh")
    before = state(db)
    assert client.post("/api/v1/inspections", json={"employer_id": books.sonla_employer},
                       headers=officer).status_code == 403
    for action, body in (("findings", {"findings": "x"}), ("decisions", {"kind": "fine", "amount": 1}),
                         ("payments", {"payment_id": books.sonla_paid}), ("close", {})):
        answer = client.post(f"/api/v1/inspections/{case_id}/{action}", json=body, headers=officer)
        assert answer.status_code == 403, (action, answer.text)
    assert client.get(f"/api/v1/inspections/{case_id}", headers=officer).status_code == 403
    assert client.get("/api/v1/inspections", params={"employer_id": books.sonla_employer},
                      headers=officer).json() == []
    assert state(db) == before
    with db.unit_of_work() as s:
        found = s.get(InspectionCase, case_id)
        assert (found.status, found.findings, found.decisions) == ("open", "Chậm đóng hai tháng.", [])


# --- pages --------------------------------------------------------------------------------------------------

def _signed_in(client, username: str) -> str:
    assert web_login(client, username).status_code == 303
    client.get("/lang/en")
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


def test_the_page_forms_check_the_scope_of_the_record(client, db, books):
    csrf = _signed_in(client, "hn.tinh")
    html = {"Accept": "text/html"}
    before = state(db)
    assign = client.post(f"/collection/suspense/{books.sonla_waiting}/assign", headers=html,
                         data={"payer": f"E:{books.hanoi_employer}", "csrf_token": csrf},
                         follow_redirects=False)
    assert assign.status_code == 403
    listed = client.get("/collection/suspense", headers=html).text
    assert f'data-payment="{books.hanoi_waiting}"' in listed
    assert f'data-payment="{books.sonla_waiting}"' not in listed
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        case_id = inspections.open_case(s, None, employer_id=books.sonla_employer, on=date(2025, 5, 2)).id
    before = state(db)
    closing = client.post(f"/collection/inspections/{case_id}/findings", headers=html,
                          data={"findings": "x", "csrf_token": csrf}, follow_redirects=False)
    assert closing.status_code == 403 and state(db) == before
    other = client.get("/collection/arrears/debtors.xlsx", params={"province": "14"}, headers=html)
    assert other.status_code == 403
    xlsx = client.get("/collection/arrears/debtors.xlsx", params={"on": "2025-06-01"}, headers=html)
    assert xlsx.status_code == 200 and io.BytesIO(xlsx.content).read(2) == b"PK"
