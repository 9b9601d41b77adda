"""Money under concurrency, on PostgreSQL with a live server and real commits: twenty identical requests fired
at once have exactly one effect and no server error (the bank debited once, the payer credited once), whatever
they do — reverse, assign, record, import, inspect, write off, bill — and the books reconcile afterwards. Ten
statements uploaded at once never stall the server: ``/health`` answers within a second throughout."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel, Role
from ansinh.collection import payments
from ansinh.collection.models import (
    BANK,
    PREPAYMENT,
    BillingRun,
    InspectionCase,
    LedgerEntry,
    Payment,
    StatementImport,
    WriteOff,
)
from ansinh.collection.reconcile import check_integrity
from tests.collection import trust_fixtures as tf
from tests.collection.arrears_fixtures import make_bill, make_employer
from tests.conftest import PASSWORD
from tests.live import fire, fresh_postgres, live_server, live_settings

pytestmark = pytest.mark.postgres
HEADER = "date,amount,payer_account,reference,bank_transaction_id,receiving_account\n"
JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)


class Live:
    def __init__(self, database, base: str, http: httpx.Client, employer: int, bills: dict,
                 headers: dict) -> None:
        self.database, self.base, self.http, self.employer, self.bills, self.headers = \
            database, base, http, employer, bills, headers

    def post(self, path: str, **kwargs) -> httpx.Response:
        return self.http.post(f"{self.base}{path}", headers={**self.headers, **kwargs.pop("headers", {})},
                              timeout=120, **kwargs)

    def record(self, txn: str, amount: int, text: str = "chuyen tien",
               account: str = tf.HANOI_ACCOUNT) -> int:
        with audit_context(channel="job", actor_username="test-fixture"), self.database.unit_of_work() as s:
            return payments.record_payment(s, bank_transaction_id=txn, paid_on=tf.PAID_ON, amount=amount,
                                           reference_text=text, receiving_account=account, on=tf.TODAY).id

    def reconciled(self) -> dict[str, int]:
        with self.database.unit_of_work() as s:
            counts = check_integrity(s)
        return {name: count for name, count in counts.items() if count}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch, fresh_postgres() as database:
        patch.setenv(payments.ACCOUNTS_ENV, tf.ACCOUNTS)
        with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
            national = auth_service.create_org_unit(s, code="VSS", name="VSS", level=OrgLevel.national,
                                                    place_code="VN")
            hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                                 place_code="01", parent=national)
            auth_service.create_user(s, username="hn.canbo", password=PASSWORD, full_name="Cán bộ Hà Nội",
                                     org_unit=hanoi, roles=[Role.provincial_officer])
            employer = make_employer(s, hanoi, "Công ty Đồng Thời")
            key = f"E:{employer.id}"
            bills = {month: make_bill(s, payer_key=key, period=month, due=month.replace(day=28),
                                      total=10_000_000, unit=hanoi, province="01", employer_id=employer.id).id
                     for month in (JAN, FEB, MAR)}
            employer_id = employer.id
        settings = live_settings(tmp_path_factory.mktemp("live"))
        with live_server(database, settings) as base, httpx.Client() as http:
            token = http.post(f"{base}/api/v1/auth/token", json={"username": "hn.canbo", "password": PASSWORD}
                              ).json()["access_token"]
            yield Live(database, base, http, employer_id, bills, {"Authorization": f"Bearer {token}"})


def codes(answers) -> Counter:
    return Counter(answer.status_code for answer in answers)


def test_twenty_reversals_of_one_payment_reverse_it_once(live):
    payment = live.record("RACE-REV", 12_000_000)
    assigned = live.post(f"/api/v1/payments/{payment}/assign", json={"payer_key": f"E:{live.employer}"})
    assert assigned.status_code == 200 and assigned.json()["allocated"] == 12_000_000  # January, February
    answers = fire(20, lambda i: live.post(f"/api/v1/payments/{payment}/reverse",
                                           json={"reason": "returned"}))
    assert codes(answers) == {200: 1, 409: 19}, [a.text for a in answers if a.status_code not in (200, 409)]
    with live.database.unit_of_work() as s:
        out_of_bank = s.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.account == BANK, LedgerEntry.source_type == "reversal",
            LedgerEntry.source_id == payment))
        assert out_of_bank == 1  # the bank debited once
    assert live.reconciled() == {}


def test_twenty_assignments_of_one_payment_credit_the_payer_once(live):
    payment = live.record("RACE-ASSIGN", 7_000_000)
    answers = fire(20, lambda i: live.post(f"/api/v1/payments/{payment}/assign",
                                           json={"payer_key": f"E:{live.employer}"}))
    assert codes(answers) == {200: 1, 409: 19}, [a.text for a in answers if a.status_code not in (200, 409)]
    with live.database.unit_of_work() as s:
        credits = s.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.account == PREPAYMENT, LedgerEntry.source_type == "payment",
            LedgerEntry.source_id == payment, LedgerEntry.amount < 0))
        assert credits == 1  # the payer credited once
    assert live.reconciled() == {}


def test_twenty_notifications_of_one_bank_transaction_record_it_once(live):
    body = {"bank_transaction_id": "RACE-NOTIFY", "paid_on": "2025-03-12", "amount": 3_000_000,
            "reference_text": "chuyen tien", "receiving_account": tf.HANOI_ACCOUNT}
    answers = fire(20, lambda i: live.post("/api/v1/payments", json=body))
    assert codes(answers) == {201: 20}, [a.text for a in answers if a.status_code != 201]
    assert len({a.json()["id"] for a in answers}) == 1
    keyed = {**body, "bank_transaction_id": "RACE-KEYED"}
    answers = fire(20, lambda i: live.post("/api/v1/payments", json=keyed,
                                           headers={"Idempotency-Key": "race-payment-0001"}))
    assert codes(answers) == {201: 20} and len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
    with live.database.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Payment).where(
            Payment.bank_transaction_id.in_(["RACE-NOTIFY", "RACE-KEYED"]))) == 2
    assert live.reconciled() == {}


def test_statements_uploaded_at_once_record_each_transaction_once(live):
    same = (HEADER + f"2025-03-12,1000,,x,RACE-ST-1,{tf.HANOI_ACCOUNT}\n").encode()
    answers = fire(20, lambda i: live.post("/api/v1/payments/statements",
                                           files={"file": ("same.csv", same, "text/csv")}))
    assert codes(answers) == {201: 1, 200: 19}, [a.text for a in answers if a.status_code not in (200, 201)]

    def sharing(i: int) -> bytes:  # each file: a transaction of its own and one they all share
        return (HEADER + f"2025-03-12,2000,,x,RACE-SHARED,{tf.HANOI_ACCOUNT}\n"
                f"2025-03-12,{3000 + i},,x,RACE-OWN-{i},{tf.HANOI_ACCOUNT}\n").encode()

    answers = fire(10, lambda i: live.post("/api/v1/payments/statements",
                                           files={"file": (f"shared-{i}.csv", sharing(i), "text/csv")}))
    assert codes(answers) == {201: 10}, [a.text for a in answers if a.status_code != 201]
    assert sorted(a.json()["created"] for a in answers) == [1] * 9 + [2]
    with live.database.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Payment).where(
            Payment.bank_transaction_id == "RACE-SHARED")) == 1
        assert s.scalar(select(func.count()).select_from(Payment).where(
            Payment.bank_transaction_id.like("RACE-OWN-%"))) == 10
        assert s.scalar(select(func.count()).select_from(StatementImport).where(
            StatementImport.file_name == "same.csv")) == 1
    assert live.reconciled() == {}


def test_an_inspection_case_under_twenty_identical_requests(live):
    answers = fire(20, lambda i: live.post("/api/v1/inspections", json={"employer_id": live.employer,
                                                                         "opened_on": "2025-04-02"}))
    assert codes(answers) == {201: 1, 409: 19}, [a.text for a in answers if a.status_code not in (201, 409)]
    case = next(a.json()["id"] for a in answers if a.status_code == 201)
    payment = live.record("RACE-CASE-PAY", 1_000_000, "chuyen tien")
    assigned = live.post(f"/api/v1/payments/{payment}/assign", json={"payer_key": f"E:{live.employer}"})
    assert assigned.status_code == 200
    decision = {"kind": "payment_plan", "amount": 20_000_000, "due": "2025-06-30", "note": "in three"}
    decided = fire(20, lambda i: live.post(f"/api/v1/inspections/{case}/decisions", json=decision))
    assert codes(decided) == {200: 20}
    assert codes(fire(20, lambda i: live.post(f"/api/v1/inspections/{case}/payments",
                                              json={"payment_id": payment}))) == {200: 20}
    findings = live.post(f"/api/v1/inspections/{case}/findings", json={"findings": "Chậm đóng."})
    assert findings.status_code == 200
    closing = fire(20, lambda i: live.post(f"/api/v1/inspections/{case}/close",
                                           json={"closed_on": "2025-04-20"}))
    assert codes(closing) == {200: 1, 409: 19}, [a.text for a in closing if a.status_code not in (200, 409)]
    with live.database.unit_of_work() as s:
        found = s.get(InspectionCase, case)
        assert (len(found.decisions), found.payment_ids, found.status) == (1, [payment], "closed")
        assert s.scalar(select(func.count()).select_from(InspectionCase)) == 1


def test_twenty_write_offs_of_what_is_outstanding_write_it_off_once(live):
    bill = live.bills[MAR]
    with live.database.unit_of_work() as s:
        from ansinh.collection.arrears import bill_state

        state = bill_state(s, None, on=date(2025, 4, 20), payer_key=f"E:{live.employer}", with_interest=False)
        outstanding = int(state.filter(state["bill_id"] == bill)["outstanding"][0])
    assert outstanding > 0
    body = {"amount": outstanding, "reason": "uncollectable", "on": "2025-04-20"}
    answers = fire(20, lambda i: live.post(f"/api/v1/bills/{bill}/write-offs", json=body))
    assert codes(answers) == {201: 1, 409: 19}, [a.text for a in answers if a.status_code not in (201, 409)]
    with live.database.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(WriteOff).where(WriteOff.bill_id == bill)) == 1
    assert live.reconciled() == {}


def test_concurrent_reversals_and_assignments_leave_the_books_reconciled(live):
    waiting = [live.record(f"RACE-MIX-S{i}", 1_500_000 + i) for i in range(4)]
    matched = [live.record(f"RACE-MIX-M{i}", 2_500_000 + i) for i in range(4)]
    for payment in matched:
        assert live.post(f"/api/v1/payments/{payment}/assign",
                         json={"payer_key": f"E:{live.employer}"}).status_code == 200

    def send(i: int) -> httpx.Response:
        payment = (waiting + matched)[i % 8]
        if i % 3 == 0:
            return live.post(f"/api/v1/payments/{payment}/assign", json={"payer_key": f"E:{live.employer}"})
        return live.post(f"/api/v1/payments/{payment}/reverse", json={"reason": f"race {i}"})

    answers = fire(24, send)
    assert set(codes(answers)) <= {200, 409}, [a.text for a in answers if a.status_code not in (200, 409)]
    with live.database.unit_of_work() as s:
        statuses = dict(s.execute(select(Payment.id, Payment.status)
                                  .where(Payment.id.in_(waiting + matched))).all())
        reversals = Counter(s.scalars(select(LedgerEntry.source_id).where(
            LedgerEntry.account == BANK, LedgerEntry.source_type == "reversal",
            LedgerEntry.source_id.in_(waiting + matched))))
    assert all(count == 1 for count in reversals.values())
    assert {payment for payment, status in statuses.items() if status == "reversed"} == set(reversals)
    assert live.reconciled() == {}


def test_a_concurrent_duplicate_billing_run_is_a_clean_conflict(live):
    answers = fire(8, lambda i: live.post("/api/v1/billing/runs",
                                          json={"period": "2025-04", "province": "01"}))
    assert set(codes(answers)) <= {200, 409}, [a.text for a in answers if a.status_code not in (200, 409)]
    assert 200 in codes(answers)
    assert all(a.json()["error"]["code"] == "conflict" for a in answers if a.status_code == 409)
    with live.database.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(BillingRun)) == 1
        assert s.scalar(select(BillingRun.status)) == "completed"
    assert live.reconciled() == {}


def test_ten_statements_at_once_never_stall_the_server(live):
    rows = 3_000

    def statement(i: int) -> bytes:
        lines = [f"2025-03-{1 + n % 28:02d},{10_000 + n},,CK {n},STALL-{i}-{n},{tf.HANOI_ACCOUNT}"
                 for n in range(rows)]
        return (HEADER + "\n".join(lines) + "\n").encode()

    files = [statement(i) for i in range(10)]
    stop = threading.Event()
    health: list[tuple[int, float]] = []

    def poll() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get(f"{live.base}/health", timeout=5).status_code
                except httpx.HTTPError:
                    status = 0
                health.append((status, time.monotonic() - started))
                time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        answers = fire(10, lambda i: live.post("/api/v1/payments/statements",
                                               files={"file": (f"stall-{i}.csv", files[i], "text/csv")}))
    finally:
        stop.set()
        poller.join(timeout=10)
    assert codes(answers) == {201: 10}, [a.text[:300] for a in answers if a.status_code != 201]
    assert all(a.json()["created"] == rows for a in answers)
    assert len(health) >= 5
    slowest = max(seconds for _, seconds in health)
    assert all(status == 200 for status, _ in health) and slowest < 1.0, \
        (slowest, Counter(status for status, _ in health))
    with live.database.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Payment).where(
            Payment.bank_transaction_id.like("STALL-%"))) == 10 * rows
    assert live.reconciled() == {}
