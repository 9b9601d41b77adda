"""Payments: statement imports (all or nothing, idempotent), matching, suspense, allocation by the dated rule,
reversal, and the ledger staying balanced."""

from __future__ import annotations

import io
from datetime import date

import pytest
import xlsxwriter
from sqlalchemy import func, select

from ansinh.auth.models import OrgUnit, Role
from ansinh.collection import ledger, payments
from ansinh.collection.billing import bill_reference
from ansinh.collection.ledger import Entry
from ansinh.collection.models import (
    BANK,
    INCOME,
    INTEREST_INCOME,
    INTEREST_RECEIVABLE,
    PREPAYMENT,
    RECEIVABLE,
    SUSPENSE,
    Allocation,
    Bill,
    LedgerEntry,
    Payment,
    StatementImport,
)
from ansinh.errors import Conflict, ValidationFailed
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership
from tests.conftest import api_token

TODAY = date(2025, 4, 20)
ACCOUNT = "113000006100"  # the first receiving account: Hà Nội's here
HEADER = "date,amount,payer_account,reference,bank_transaction_id,receiving_account\n"
#: The demo accounts, the first of Hà Nội (01), the second of Sơn La (14), the others national.
ACCOUNTS = "970415:113000006100:01,970418:12010000660099:14,970405:1500201099999,970436:0011000999888"


@pytest.fixture(autouse=True)
def accounts(monkeypatch):
    monkeypatch.setenv(payments.ACCOUNTS_ENV, ACCOUNTS)


def make_bill(session, unit: OrgUnit, payer_key: str, period: date, total: int, *, employer_id=None,
              posted_on: date | None = None) -> Bill:
    """A bill and its posting (receivable +total / income −total), as a billing run writes them."""
    bill = Bill(period=period, payer_type="employer", payer_key=payer_key, employer_id=employer_id,
                reference=bill_reference(payer_key, period), due_date=period.replace(day=28), employer_amount=total,
                total=total, org_unit_id=unit.id, province_2025="01")
    session.add(bill)
    session.flush()
    ledger.post(session, [Entry(RECEIVABLE, total, payer_key=payer_key, period=period, province_2025="01"),
                          Entry(INCOME, -total, payer_key=payer_key, fund="retirement", period=period,
                                province_2025="01")],
                posted_on=posted_on or period, source_type="bill", source_id=bill.id)
    return bill


@pytest.fixture
def world(session, org):
    unit = session.get(OrgUnit, org.hanoi.id)
    first = registry.create_employer(session, registry.EmployerData(
        tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), unit)
    second = registry.create_employer(session, registry.EmployerData(
        tax_code="0101243150", name="Công ty Bình Minh", ownership=Ownership.private, region="I"), unit)
    a, b = f"E:{first.id}", f"E:{second.id}"
    bills = {
        "a_jan": make_bill(session, unit, a, date(2025, 1, 1), 1_000_000, employer_id=first.id),
        "a_feb": make_bill(session, unit, a, date(2025, 2, 1), 2_000_000, employer_id=first.id),
        "a_mar": make_bill(session, unit, a, date(2025, 3, 1), 4_000_000, employer_id=first.id),
        "b_mar": make_bill(session, unit, b, date(2025, 3, 1), 500_000, employer_id=second.id),
    }
    return {"unit": unit, "a": a, "b": b, "first": first, "second": second, "bills": bills}


def csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def receivable(session, payer_key, period=None) -> int:
    stmt = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.account == RECEIVABLE, LedgerEntry.payer_key == payer_key)
    if period is not None:
        stmt = stmt.where(LedgerEntry.period == period)
    return int(session.scalar(stmt))


def assert_balanced(session):
    assert sum(ledger.trial_balance(session).values()) == 0
    per_txn = session.execute(select(LedgerEntry.txn).group_by(LedgerEntry.txn)
                              .having(func.sum(LedgerEntry.amount) != 0)).all()
    assert per_txn == []


def counts(session) -> tuple[int, int, int, int]:
    return (session.scalar(select(func.count(Payment.id))), session.scalar(select(func.count(Allocation.id))),
            session.scalar(select(func.count(LedgerEntry.id))), session.scalar(select(func.count(StatementImport.id))))


# --- matching -----------------------------------------------------------------------------------------------

def test_match_by_bill_reference_then_tax_code_else_suspense(session, world):
    a, b, bills = world["a"], world["b"], world["bills"]
    reference = bills["a_feb"].reference
    assert payments.match_payer(session, f"CT NOP BHXH {reference} THANG 2") == (a, "reference")
    assert payments.match_payer(session, f"nop bhxh {reference.lower()}") == (a, "reference")
    assert payments.match_payer(session, "Cong ty Binh Minh MST 0101243150 nop tien BHXH") == (b, "tax_code")
    assert payments.match_payer(session, "MST 0100109106-001 nop BHXH") == (None, None)  # branch not registered
    assert payments.match_payer(session, "nop tien bao hiem") == (None, None)
    assert payments.match_payer(session, None) == (None, None)
    # a reference wins over a tax code; two payers named → suspense, never a guess
    assert payments.match_payer(session, f"{reference} MST 0101243150") == (a, "reference")
    assert payments.match_payer(session, f"{reference} {bills['b_mar'].reference}") == (None, None)
    assert payments.match_payer(session, "0100109106 0101243150") == (None, None)


# --- statement import ---------------------------------------------------------------------------------------

def test_statement_is_matched_and_allocated_oldest_month_first(session, world):
    a, b, bills = world["a"], world["b"], world["bills"]
    content = csv(
        f"2025-04-02,2.500.000,0451000123456,NOP BHXH {bills['a_mar'].reference},FT001,{ACCOUNT}",
        f"05/04/2025,500000,,MST 0101243150 dong bao hiem,FT002,970415:{ACCOUNT}",
        f"2025-04-06,700000,,chuyen tien,FT003,{ACCOUNT}",
    )
    report = payments.import_statement(session, content=content, file_name="st.csv", actor="t", today=TODAY)
    assert report.status == "applied", report.errors
    assert (report.rows, report.created, report.matched, report.suspense) == (3, 3, 2, 1)
    assert (report.amount, report.allocated) == (3_700_000, 3_000_000)
    # A quoted March, but January is settled first, then February in part; March stays owed.
    assert receivable(session, a, date(2025, 1, 1)) == 0
    assert receivable(session, a, date(2025, 2, 1)) == 500_000
    assert receivable(session, a, date(2025, 3, 1)) == 4_000_000
    assert receivable(session, b) == 0
    first = session.scalar(select(Payment).where(Payment.bank_transaction_id == "FT001"))
    allocations = payments.payment_allocations(session, first.id)
    assert [(x.bill_id, x.amount, x.part, x.allocated_on) for x in allocations] == [
        (bills["a_jan"].id, 1_000_000, "principal", date(2025, 4, 2)),
        (bills["a_feb"].id, 1_500_000, "principal", date(2025, 4, 2))]
    assert first.status == "matched" and first.matched_by == "reference" and first.province_2025 == "01"
    waiting = payments.list_suspense(session)
    assert [p.bank_transaction_id for p in waiting] == ["FT003"]
    assert ledger.balance(session, SUSPENSE) == -700_000 and ledger.balance(session, BANK) == 3_700_000
    assert_balanced(session)


def test_the_same_statement_or_transaction_again_changes_nothing(session, world):
    bills = world["bills"]
    content = csv(f"2025-04-02,1000000,,{bills['a_jan'].reference},FT010,{ACCOUNT}")
    assert payments.import_statement(session, content=content, file_name="a.csv", actor="t", today=TODAY).created == 1
    before = counts(session)
    again = payments.import_statement(session, content=content, file_name="a-again.csv", actor="t", today=TODAY)
    assert again.status == "unchanged" and counts(session) == before
    # another file repeating FT010 (same date and amount) records only the new line
    other = csv(f"2025-04-02,1000000,,{bills['a_jan'].reference},FT010,{ACCOUNT}",
                f"2025-04-03,200000,,{bills['a_feb'].reference},FT011,{ACCOUNT}")
    report = payments.import_statement(session, content=other, file_name="b.csv", actor="t", today=TODAY)
    assert (report.status, report.created, report.skipped) == ("applied", 1, 1)
    assert session.scalar(select(func.count(Payment.id)).where(Payment.bank_transaction_id == "FT010")) == 1
    assert_balanced(session)


def test_a_bad_statement_is_refused_with_every_bad_row_and_nothing_written(session, world):
    bills = world["bills"]
    payments.import_statement(session, content=csv(f"2025-04-01,100000,,x,FT100,{ACCOUNT}"), file_name="ok.csv",
                              actor="t", today=TODAY)
    before = counts(session)
    content = csv(
        f"2025-04-02,1000000,,{bills['a_jan'].reference},FT020,{ACCOUNT}",   # row 2: fine
        f"2025-13-02,1000000,,x,FT021,{ACCOUNT}",                            # row 3: bad date
        f"2025-04-02,-50000,,x,FT022,{ACCOUNT}",                             # row 4: negative
        f"2025-04-02,12.5,,x,FT023,{ACCOUNT}",                               # row 5: malformed amount
        f"2025-04-02,1000,,x,FT020,{ACCOUNT}",                               # row 6: duplicate ID in the file
        "2025-04-02,1000,,x,FT024,999999999",                                # row 7: unknown account
        f"2025-04-02,0,,x,,{ACCOUNT}",                                       # row 8: zero, no ID
        f"2025-05-02,1000,,x,FT025,{ACCOUNT}",                               # row 9: after today
        f"2025-04-02,999,,x,FT100,{ACCOUNT}",                                # row 10: recorded with another amount
    )
    report = payments.import_statement(session, content=content, file_name="bad.csv", actor="t", today=TODAY)
    assert report.status == "rejected" and report.statement_id is None
    found = {(e.row, e.column) for e in report.errors}
    assert found == {(3, "date"), (4, "amount"), (5, "amount"), (6, "bank_transaction_id"), (7, "receiving_account"),
                     (8, "amount"), (8, "bank_transaction_id"), (9, "date"), (10, "bank_transaction_id")}
    by_row = {(e.row, e.column): e for e in report.errors}
    assert by_row[(6, "bank_transaction_id")].reason_en == (
        "The transaction ID appears again in this file (first on row 2).")
    assert by_row[(6, "bank_transaction_id")].value == "FT020"
    assert by_row[(4, "amount")].reason_vi == "Số tiền phải lớn hơn 0."
    assert all(e.reason_en and e.reason_vi for e in report.errors)
    assert counts(session) == before
    assert report.to_json()["error_count"] == 9


@pytest.mark.parametrize("content, column", [
    (b"date,amount\n2025-04-01,5\n", "bank_transaction_id"),
    (HEADER.replace("reference", "memo").encode() + b"2025-04-01,5,,x,T1,113000006100\n", "memo"),
    (HEADER.encode(), ""),
    (b"\xff\xfe\x00garbage", ""),
])
def test_unusable_files_are_refused(session, world, content, column):
    before = counts(session)
    report = payments.import_statement(session, content=content, file_name="x.csv", actor="t", today=TODAY)
    assert report.status == "rejected" and report.errors and report.errors[0].column == column
    assert counts(session) == before


def test_excel_statements_are_read(session, world):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER.strip().split(","))
    sheet.write_row(1, 0, ["2025-04-02", 3_000_000, "", world["bills"]["a_feb"].reference, "X1", ACCOUNT])
    book.close()
    report = payments.import_statement(session, content=buffer.getvalue(), file_name="st.xlsx", actor="t", today=TODAY)
    assert report.status == "applied", report.errors
    assert report.allocated == 3_000_000 and receivable(session, world["a"]) == 4_000_000


# --- one payment, suspense, reversal ------------------------------------------------------------------------

def test_api_payment_is_idempotent_by_transaction_id(session, world):
    reference = world["bills"]["a_jan"].reference
    first = payments.record_payment(session, bank_transaction_id="API-1", paid_on=date(2025, 4, 1), amount=600_000,
                                    reference_text=reference, on=TODAY)
    again = payments.record_payment(session, bank_transaction_id="API-1", paid_on=date(2025, 4, 1), amount=600_000,
                                    reference_text=reference, on=TODAY)
    assert again.id == first.id and receivable(session, world["a"], date(2025, 1, 1)) == 400_000
    assert session.scalar(select(func.count(Allocation.id))) == 1
    with pytest.raises(Conflict):
        payments.record_payment(session, bank_transaction_id="API-1", paid_on=date(2025, 4, 1), amount=1,
                                on=TODAY)
    with pytest.raises(ValidationFailed):
        payments.record_payment(session, bank_transaction_id="API-2", paid_on=date(2025, 4, 1), amount=0, on=TODAY)


def test_a_payment_is_never_allocated_twice_and_the_rest_stays_prepaid(session, world):
    a = world["a"]
    payment = payments.record_payment(session, bank_transaction_id="BIG", paid_on=date(2025, 4, 1),
                                      amount=8_000_000, reference_text=f"MST {world['first'].tax_code}", on=TODAY)
    assert payment.matched_by == "tax_code"
    assert receivable(session, a) == 0 and ledger.balance(session, PREPAYMENT, payer_key=a) == -1_000_000
    assert payments.allocate_payment(session, payment, on=TODAY) == []
    assert payments.allocate_open_payments(session, on=TODAY) == 0
    assert session.scalar(select(func.sum(Allocation.amount))) == 7_000_000
    # a new bill takes the prepayment
    make_bill(session, world["unit"], a, date(2025, 4, 1), 1_500_000, posted_on=date(2025, 4, 15))
    assert payments.allocate_open_payments(session, on=TODAY, payer_keys=[a]) == 1_000_000
    assert receivable(session, a) == 500_000 and ledger.balance(session, PREPAYMENT, payer_key=a) == 0
    latest = session.scalars(select(Allocation).order_by(Allocation.id.desc())).first()
    assert latest.allocated_on == date(2025, 4, 15)  # not before the bill existed
    assert payments.allocate_open_payments(session, on=TODAY) == 0
    assert_balanced(session)


def test_suspense_assignment_then_reversal(session, world):
    a = world["a"]
    payment = payments.record_payment(session, bank_transaction_id="S-1", paid_on=date(2025, 4, 3), amount=1_200_000,
                                      reference_text="tien bao hiem thang 1", on=TODAY)
    assert payment.status == "suspense" and ledger.balance(session, SUSPENSE) == -1_200_000
    with pytest.raises(ValidationFailed):
        payments.assign_suspense(session, payment.id, "bogus", actor="officer", on=TODAY)
    payments.assign_suspense(session, payment.id, a, actor="officer", on=TODAY)
    assert (payment.status, payment.payer_key, payment.matched_by) == ("matched", a, "officer")
    assert ledger.balance(session, SUSPENSE) == 0
    assert receivable(session, a, date(2025, 1, 1)) == 0 and receivable(session, a, date(2025, 2, 1)) == 1_800_000
    with pytest.raises(Conflict):
        payments.assign_suspense(session, payment.id, a, actor="officer", on=TODAY)

    payments.reverse_payment(session, payment.id, reason="returned by the bank", on=TODAY)
    assert payment.status == "reversed"
    assert receivable(session, a) == 7_000_000  # every bill owed again
    assert all(x.reversed for x in payments.payment_allocations(session, payment.id))
    assert ledger.balance(session, BANK) == 0 and ledger.balance(session, PREPAYMENT, payer_key=a) == 0
    assert session.scalar(select(func.count(Payment.id))) == 1  # nothing deleted
    with pytest.raises(Conflict):
        payments.reverse_payment(session, payment.id, reason="again", on=TODAY)
    # reversed money is not allocated again
    assert payments.allocate_open_payments(session, on=TODAY) == 0
    assert_balanced(session)


def test_interest_is_settled_before_principal_by_the_rule(session, world):
    a = world["a"]
    assert payments.allocation_rule(TODAY) == (True, True)
    ledger.post(session, [Entry(INTEREST_RECEIVABLE, 30_000, payer_key=a, province_2025="01"),
                          Entry(INTEREST_INCOME, -30_000, payer_key=a, province_2025="01")],
                posted_on=date(2025, 4, 1), source_type="interest")
    payment = payments.record_payment(session, bank_transaction_id="I-1", paid_on=date(2025, 4, 5), amount=1_010_000,
                                      reference_text=world["bills"]["a_jan"].reference, on=TODAY)
    parts = [(x.part, x.amount) for x in payments.payment_allocations(session, payment.id)]
    assert parts == [("interest", 30_000), ("principal", 980_000)]
    assert ledger.balance(session, INTEREST_RECEIVABLE, payer_key=a) == 0
    payments.reverse_payment(session, payment.id, reason="error", on=TODAY)
    assert ledger.balance(session, INTEREST_RECEIVABLE, payer_key=a) == 30_000
    assert_balanced(session)


# --- API ----------------------------------------------------------------------------------------------------

@pytest.fixture
def app(db, settings):
    """The application, with the payments routes even before they are wired into ``API_ROUTERS``."""
    from ansinh.api import create_app
    from ansinh.collection import payments_api

    application = create_app(settings, database=db)
    if not any(getattr(route, "path", "") == "/api/v1/payments" for route in application.routes):
        application.include_router(payments_api.router)
    return application


def test_api_routes(client, db, org, make_user):
    from ansinh.audit.service import audit_context

    make_user("thu", org.hanoi, Role.provincial_officer)
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        unit = s.get(OrgUnit, org.hanoi.id)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), unit)
        bill = make_bill(s, unit, f"E:{employer.id}", date(2025, 1, 1), 1_000_000, employer_id=employer.id)
        bill_id, reference, payer = bill.id, bill.reference, f"E:{employer.id}"
    headers = api_token(client, "thu")
    body = {"bank_transaction_id": "API-9", "paid_on": "2025-04-01", "amount": 400_000, "reference_text": reference}
    first = client.post("/api/v1/payments", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["payer_key"] == payer and first.json()["allocated"] == 400_000
    assert client.post("/api/v1/payments", json=body, headers=headers).json()["id"] == first.json()["id"]
    assert client.post("/api/v1/payments", json={**body, "amount": 1}, headers=headers).status_code == 409

    files = {"file": ("st.csv", csv(f"2025-04-02,100000,,no reference,ST-1,{ACCOUNT}"), "text/csv")}
    upload = client.post("/api/v1/payments/statements", files=files, headers=headers)
    assert upload.status_code == 201, upload.text
    assert client.post("/api/v1/payments/statements", files=files, headers=headers).status_code == 200
    bad = client.post("/api/v1/payments/statements", headers=headers,
                      files={"file": ("b.csv", csv(f"2025-04-02,-1,,x,ST-2,{ACCOUNT}"), "text/csv")})
    assert bad.status_code == 422 and bad.json()["errors"][0]["column"] == "amount"

    waiting = client.get("/api/v1/payments/suspense", headers=headers).json()
    assert [p["bank_transaction_id"] for p in waiting] == ["ST-1"]
    assigned = client.post(f"/api/v1/payments/{waiting[0]['id']}/assign", json={"payer_key": payer}, headers=headers)
    assert assigned.status_code == 200 and assigned.json()["allocated"] == 100_000
    reversed_ = client.post(f"/api/v1/payments/{waiting[0]['id']}/reverse", json={"reason": "returned"},
                            headers=headers)
    assert reversed_.status_code == 200 and reversed_.json()["status"] == "reversed"

    qr = client.get(f"/api/v1/bills/{bill_id}/qr.svg", headers=headers)
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.startswith("<svg") and reference in qr.text
    assert client.get("/api/v1/bills/999999/qr.svg", headers=headers).status_code == 404
    assert client.get("/api/v1/payments/suspense").status_code == 401


# --- CLI ----------------------------------------------------------------------------------------------------

def test_cli_import(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSINH_")} | {"ANSINH_VAR_DIR": str(tmp_path)}
    ansinh = str(Path(sys.executable).with_name("ansinh"))
    assert subprocess.run([ansinh, "db", "upgrade"], env=env, capture_output=True, timeout=300).returncode == 0
    command = [sys.executable, "-c", "from ansinh.collection.payments_cli import payments_app; payments_app()",
               "import"]
    good = tmp_path / "statement.csv"
    good.write_bytes(csv(f"2025-04-02,100000,,no reference,CLI-1,{ACCOUNT}"))
    first = subprocess.run([*command, str(good), "--json", "--today", "2025-04-20"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    body = json.loads(first.stdout)
    assert (body["status"], body["created"], body["suspense"]) == ("applied", 1, 1)
    again = subprocess.run([*command, str(good), "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "unchanged"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv(f"2025-04-02,-5,,x,CLI-2,{ACCOUNT}"))
    refused = subprocess.run([*command, str(bad)], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "The amount must be positive." in refused.stdout


# --- money collected per province (the indicator catalogue) ----------------------------------------------------

def test_collected_by_province_counts_allocated_cash_received_in_the_period(session, org):
    from tests.collection.arrears_fixtures import make_bill as bill_of, make_employer

    hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)
    north, far = make_employer(session, hanoi, "Công ty Thu Nộp"), make_employer(session, sonla, "HTX Thu Nộp")
    a, b = f"E:{north.id}", f"E:{far.id}"
    a_jan = bill_of(session, payer_key=a, period=date(2025, 1, 1), due=date(2025, 1, 31), total=10_000_000,
                    unit=hanoi, province="01", employer_id=north.id)
    b_jan = bill_of(session, payer_key=b, period=date(2025, 1, 1), due=date(2025, 1, 31), total=5_000_000,
                    unit=sonla, province="14", employer_id=far.id)
    # interest the payer owes (posted by the accrual): its allocation names no bill
    ledger.post(session, [Entry(INTEREST_RECEIVABLE, 30_000, payer_key=a, province_2025="01"),
                          Entry(INTEREST_INCOME, -30_000, payer_key=a, province_2025="01")],
                posted_on=date(2025, 3, 1), source_type="interest")

    def receive(txn: str, paid_on: date, amount: int, text: str, account: str | None = None):
        return payments.record_payment(session, bank_transaction_id=txn, paid_on=paid_on, amount=amount,
                                       reference_text=text, receiving_account=account, on=date(2025, 4, 20))

    first = receive("C-1", date(2025, 3, 5), 4_030_000, a_jan.reference)  # 30,000 interest + 4,000,000
    assert sorted((x.part, x.bill_id, x.amount) for x in payments.payment_allocations(session, first.id)) == [
        ("interest", None, 30_000), ("principal", a_jan.id, 4_000_000)]
    returned = receive("C-2", date(2025, 3, 10), 5_000_000, b_jan.reference)
    payments.reverse_payment(session, returned.id, reason="returned by the bank", on=date(2025, 3, 11))
    receive("C-3", date(2025, 3, 12), 2_000_000, b_jan.reference)
    lost = receive("C-4", date(2025, 3, 15), 3_000_000, "tien bhxh", account="12010000660099")  # Sơn La's account
    assert lost.status == "suspense"
    receive("C-5", date(2025, 3, 20), 7_000_000, a_jan.reference)  # 6,000,000 owed: 1,000,000 stays prepaid
    receive("C-6", date(2025, 4, 2), 500_000, a_jan.reference)  # nothing owed: all prepaid

    march = dict(since=date(2025, 3, 1), until=date(2025, 3, 31))
    assert payments.collected_by_province(session, **march) == {"01": 4_030_000 + 6_000_000, "14": 2_000_000}
    assert payments.collected_by_province(session, **march, province="14") == {"14": 2_000_000}
    assert payments.collected_by_province(session, since=date(2025, 3, 13), until=date(2025, 3, 31)) == {
        "01": 6_000_000}
    assert payments.collected_by_province(session, since=date(2025, 4, 1), until=date(2025, 4, 30)) == {}
    # the suspense payment, once assigned and allocated, is collected in its payer's province
    payments.assign_suspense(session, lost.id, b, actor="officer", on=date(2025, 4, 20))
    assert payments.collected_by_province(session, **march, province="14") == {"14": 5_000_000}
    with pytest.raises(ValidationFailed):
        payments.collected_by_province(session, since=date(2025, 4, 1), until=date(2025, 3, 1))
