"""The reconciliation is real: consistent books give every count 0, and each kind of inconsistency a ledger can
suffer (money counted twice in the bank or for a payer, a statement that does not add up, a payment allocated
beyond its amount, suspense released twice, a bill paid beyond its total, an unbalanced transaction) is named
with its count — the ledger summing to zero notwithstanding. The CLI says so too. Creating requests of collection
replay their answer for the same ``Idempotency-Key``."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from ansinh.auth.models import OrgUnit
from ansinh.collection import ledger, payments
from ansinh.collection.ledger import Entry
from ansinh.collection.models import (
    BANK,
    PREPAYMENT,
    RECEIVABLE,
    SUSPENSE,
    Allocation,
    Payment,
    StatementImport,
    WriteOff,
)
from ansinh.collection.reconcile import check_integrity
from tests.collection import trust_fixtures as tf
from tests.collection.arrears_fixtures import make_bill, make_employer
from tests.conftest import api_token

TODAY = date(2025, 4, 20)
HEADER = "date,amount,payer_account,reference,bank_transaction_id,receiving_account\n"


@pytest.fixture(autouse=True)
def accounts(monkeypatch):
    monkeypatch.setenv(payments.ACCOUNTS_ENV, tf.ACCOUNTS)


@pytest.fixture
def books(session, org):
    """A bill paid in part by a statement, a payment assigned from suspense, one still waiting, one reversed."""
    hanoi = session.get(OrgUnit, org.hanoi.id)
    employer = make_employer(session, hanoi, "Công ty Đối Soát")
    key = f"E:{employer.id}"
    bill = make_bill(session, payer_key=key, period=date(2025, 1, 1), due=date(2025, 1, 31), total=10_000_000,
                     unit=hanoi, province="01", employer_id=employer.id)
    statement = (HEADER + f"2025-02-10,4000000,,MST {employer.tax_code},R-1,{tf.HANOI_ACCOUNT}\n"
                 f"2025-02-11,1500000,,ck,R-2,{tf.HANOI_ACCOUNT}\n"
                 f"2025-02-12,700000,,ck,R-3,{tf.HANOI_ACCOUNT}\n").encode()
    report = payments.import_statement(session, content=statement, file_name="r.csv", actor="t", today=TODAY)
    assert report.status == "applied"
    ids = dict(session.execute(select(Payment.bank_transaction_id, Payment.id)).all())
    payments.assign_suspense(session, ids["R-2"], key, actor="t", on=TODAY)
    reversed_ = payments.record_payment(session, bank_transaction_id="R-4", paid_on=date(2025, 3, 1),
                                        amount=2_000_000, reference_text=f"MST {employer.tax_code}",
                                        receiving_account=tf.HANOI_ACCOUNT, on=TODAY)
    payments.reverse_payment(session, reversed_.id, reason="returned", on=TODAY)
    assert check_integrity(session) == dict.fromkeys(check_integrity(session), 0)
    return {"key": key, "bill": bill, "ids": {**ids, "R-4": reversed_.id}, "statement": report.statement_id}


def wrong(session) -> dict[str, int]:
    return {name: count for name, count in check_integrity(session).items() if count}


def test_consistent_books_reconcile_with_every_check_named(session, books):
    counts = check_integrity(session)
    assert len(counts) >= 18 and set(counts.values()) == {0}


def test_money_counted_twice_in_the_bank_is_found_though_the_ledger_sums_to_zero(session, books):
    payment = books["ids"]["R-1"]
    ledger.post(session, [Entry(BANK, 4_000_000, province_2025="01"),
                          Entry(PREPAYMENT, -4_000_000, payer_key=books["key"], province_2025="01")],
                posted_on=TODAY, source_type="payment", source_id=payment)
    assert sum(ledger.trial_balance(session).values()) == 0
    assert wrong(session) == {"payments_not_matching_the_bank": 1, "prepayments_not_matching": 1}


def test_a_statement_that_does_not_add_up(session, books):
    session.execute(update(StatementImport).values(total=StatementImport.total + 1))
    assert wrong(session) == {"statements_not_matching_their_payments": 1}


def test_a_payment_allocated_beyond_its_amount_and_a_bill_paid_beyond_its_total(session, books):
    payment = session.get(Payment, books["ids"]["R-1"])
    allocation = Allocation(payment_id=payment.id, bill_id=books["bill"].id, part="principal", amount=7_000_000,
                            allocated_on=TODAY)
    session.add(allocation)
    session.flush()
    ledger.post(session, [Entry(PREPAYMENT, 7_000_000, payer_key=books["key"]),
                          Entry(RECEIVABLE, -7_000_000, payer_key=books["key"], period=date(2025, 1, 1))],
                posted_on=TODAY, source_type="allocation", source_id=allocation.id)
    # posted as an allocation is (the ledger and the prepayment agree), yet beyond the payment and the bill
    assert wrong(session) == {"payments_allocated_beyond_their_amount": 1, "bills_paid_beyond_their_total": 1}


def test_suspense_released_twice(session, books):
    assigned = books["ids"]["R-2"]
    ledger.post(session, [Entry(SUSPENSE, 1_500_000), Entry(PREPAYMENT, -1_500_000, payer_key=books["key"])],
                posted_on=TODAY, source_type="payment", source_id=assigned)
    assert wrong(session) == {"suspense_not_released_once": 1, "prepayments_not_matching": 1}


def test_a_write_off_without_its_posting_and_an_unbalanced_transaction(session, books):
    session.add(WriteOff(payer_key=books["key"], bill_id=books["bill"].id, amount=1_000, written_off_on=TODAY,
                         reason="x", decided_by="t"))
    session.flush()
    assert wrong(session) == {"writeoffs_not_posted": 1, "receivables_not_matching": 1}
    session.rollback()


def test_the_cli_says_whether_the_books_reconcile(db, session, books, monkeypatch):
    from ansinh import db as db_module
    from ansinh.collection.payments_cli import payments_app

    monkeypatch.setattr(db_module, "_database", db)
    session.commit()  # the fixture's books, visible to the command's own transaction
    consistent = CliRunner().invoke(payments_app, ["reconcile", "--json"])
    assert consistent.exit_code == 0, consistent.output
    assert '"consistent": true' in consistent.output
    with db.unit_of_work() as s:
        s.execute(update(StatementImport).values(total=StatementImport.total + 1))
    broken = CliRunner().invoke(payments_app, ["reconcile"])
    assert broken.exit_code == 1 and "statements_not_matching_their_payments" in broken.output


# --- Idempotency-Key -------------------------------------------------------------------------------------------

def test_creating_requests_replay_their_answer_for_the_same_key(client, db, org, make_user):
    tf.make_users(make_user, org)
    headers = api_token(client, "vn.quantri")
    with db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        employer = make_employer(s, hanoi, "Công ty Khóa")
        bill_id = make_bill(s, payer_key=f"E:{employer.id}", period=date(2025, 1, 1), due=date(2025, 1, 31),
                            total=10_000_000, unit=hanoi, province="01", employer_id=employer.id).id
        employer_id = employer.id

    def twice(path: str, key: str, **kwargs):
        first = client.post(path, headers={**headers, "Idempotency-Key": key}, **kwargs)
        again = client.post(path, headers={**headers, "Idempotency-Key": key}, **kwargs)
        assert again.status_code == first.status_code and again.json() == first.json(), (first.text, again.text)
        assert again.headers.get("idempotent-replayed") == "true"
        return first

    statement = (HEADER + f"2025-02-10,100000,,ck,K-1,{tf.HANOI_ACCOUNT}\n").encode()
    upload = twice("/api/v1/payments/statements", "key-statement-1",
                   files={"file": ("k.csv", statement, "text/csv")})
    assert upload.status_code == 201
    case = twice("/api/v1/inspections", "key-case-0001", json={"employer_id": employer_id,
                                                              "opened_on": "2025-04-02"})
    assert case.status_code == 201
    twice(f"/api/v1/inspections/{case.json()['id']}/decisions", "key-decision-1",
          json={"kind": "fine", "amount": 1_000_000})
    twice(f"/api/v1/bills/{bill_id}/write-offs", "key-writeoff-1",
          json={"amount": 1_000, "reason": "x", "on": "2025-04-02"})
    twice("/api/v1/billing/runs", "key-billing-01", json={"period": "2025-05"})
    refused = (HEADER + f"2025-02-10,-1,,ck,K-2,{tf.HANOI_ACCOUNT}\n").encode()
    for _ in range(2):  # a refused statement keeps no answer: the same key is refused again, not stuck
        answer = client.post("/api/v1/payments/statements", headers={**headers, "Idempotency-Key": "key-refused-1"},
                             files={"file": ("bad.csv", refused, "text/csv")})
        assert answer.status_code == 422 and answer.json()["errors"][0]["column"] == "amount"
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(StatementImport)) == 1
        assert s.scalar(select(func.count()).select_from(WriteOff)) == 1
        assert set(check_integrity(s).values()) == {0}
