"""One-off benefit payments: the means of payment, ordering, the bank's file, its results (paid, returned →
failed → account corrected → re-issued → paid), the ledger and its reconciliation, scope and bad rows."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.benefits.payments import service as pay
from ansinh.benefits.payments.models import BankAccount, BenefitPayment
from ansinh.collection import ledger
from ansinh.collection.models import BENEFIT_BANK, BENEFIT_EXPENSE, BENEFIT_PAYABLE, LedgerEntry
from ansinh.errors import NotFound, ValidationFailed
from tests.benefits.payments.conftest import BIN_AGR, BIN_VCB

ZERO = dict.fromkeys(["orders_not_matching_the_ledger", "order_expense_not_matching", "payments_without_order",
                      "reissues_of_no_failed_payment", "paid_not_matching_the_ledger", "paid_without_posting",
                      "cancellations_not_posted", "payable_not_matching_outstanding", "overpayments_not_matching",
                      "months_paid_twice", "result_files_not_matching", "unbalanced_benefit_transactions"], 0)


def rows_of(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_an_account_is_verified_against_the_registry_name(session, world):
    who = world.pensioner("Nguyễn Văn Đức")
    same = world.account(who, holder="NGUYEN  VAN DUC")  # accents, case and spaces aside: the same name
    other = world.account(who, number="99887766", holder="NGUYEN VAN DUNG")
    assert same.verified and not other.verified
    again = world.account(who, holder="NGUYEN  VAN DUC")  # registered again: the same row, nothing new
    assert again.id == same.id
    assert session.scalar(select(func.count()).select_from(BankAccount)) == 2
    with pytest.raises(ValidationFailed) as bad:
        world.account(who, bank_bin="97043")
    assert bad.value.field == "bank_bin"


def test_a_lump_sum_goes_from_order_to_paid_through_a_returned_payment(session, world):
    b = world.b
    who = world.pensioner("Lê Thị Hạnh")
    first = world.account(who)  # VCB, verified
    claim = world.granted("lump_sum", who, amount=48_600_000, ground="abroad")
    ordered = pay.order_payments(session, b.officer, on=date(2026, 1, 6))
    assert [o["claim_id"] for o in ordered["ordered"]] == [claim.id] and ordered["skipped"] == []
    session.refresh(claim)
    assert claim.status.value == "payment_ordered"
    payment = session.get(BenefitPayment, ordered["ordered"][0]["payment_id"])
    assert (payment.amount, payment.method, payment.bank_account_id, payment.status) == \
        (48_600_000, "bank", first.id, "ordered")
    # a one-off has no month of an entitlement; it belongs to (is partitioned by) the month of its claim's decision
    assert (payment.month, payment.pay_month) == (None, claim.decided_on.replace(day=1))
    # ordered: the fund's expense, owed to the payee
    assert ledger.balance(session, BENEFIT_EXPENSE) == 48_600_000
    assert ledger.balance(session, BENEFIT_PAYABLE) == -48_600_000
    assert pay.order_payments(session, b.officer, on=date(2026, 1, 7)) == {"ordered": [], "skipped": []}

    file = pay.export_payment_file(session, b.officer, on=date(2026, 1, 7), bank_bin=BIN_VCB)
    name, content = pay.payment_file_content(session, b.officer, file.id)
    assert name.endswith(".csv")
    assert rows_of(content) == [{"account_number": first.account_number, "holder_name": "LÊ THỊ HẠNH",
                                 "amount": "48600000", "reference": f"BP{payment.id}",
                                 "content": f"BHXH chi tra tro cap BP{payment.id}"}]
    _, xlsx = pay.payment_file_content(session, b.officer, file.id, fmt="xlsx")
    assert xlsx[:2] == b"PK"
    with pytest.raises(NotFound):  # nothing left to send to that bank
        pay.export_payment_file(session, b.officer, on=date(2026, 1, 7), bank_bin=BIN_VCB)

    returned = world.results([(f"BP{payment.id}", "returned", "closed_account")], name="vcb-1.csv")
    assert returned.status == "applied" and (returned.paid, returned.returned) == (0, 1)
    session.refresh(payment), session.refresh(claim), session.refresh(first)
    assert (payment.status, payment.failure_reason, claim.status.value) == ("failed", "closed_account", "failed")
    assert first.closed_on == date(2026, 1, 20)  # the bank said the account is closed
    assert ledger.balance(session, BENEFIT_PAYABLE) == -48_600_000  # still owed
    with pytest.raises(ValidationFailed):  # no other account, no paying point: nothing to re-issue to
        pay.reissue_payment(session, b.officer, payment.id, on=date(2026, 1, 21))

    corrected = world.account(who, bank_bin=BIN_AGR, number="1500205123456", on=date(2026, 1, 22))
    again = pay.reissue_payment(session, b.officer, payment.id, on=date(2026, 1, 22))
    assert (again.idem_key, again.bank_account_id, again.amount, again.status) == \
        (f"R{payment.id}", corrected.id, 48_600_000, "ordered")
    assert again.pay_month == payment.pay_month  # a re-issue's month is the failed payment's
    assert pay.reissue_payment(session, b.officer, payment.id, on=date(2026, 1, 23)).id == again.id  # once
    session.refresh(claim)
    assert claim.status.value == "payment_ordered"
    assert ledger.balance(session, BENEFIT_EXPENSE) == 48_600_000  # the re-issue posts nothing new

    file2 = pay.export_payment_file(session, b.officer, on=date(2026, 1, 23), bank_bin=BIN_AGR)
    assert file2.payments == 1 and file2.total == 48_600_000
    paid = world.results([(f"BP{again.id}", "paid", "")], name="agr-1.csv", on=date(2026, 1, 26))
    assert paid.status == "applied" and paid.paid_total == 48_600_000 and paid.claims_paid == 1
    session.refresh(claim)
    assert claim.status.value == "paid"
    # paid: the payable settled from the fund's bank account
    assert ledger.balance(session, BENEFIT_PAYABLE) == 0
    assert ledger.balance(session, BENEFIT_BANK) == -48_600_000
    assert world.results([(f"BP{again.id}", "paid", "")], name="agr-1.csv").status == "unchanged"
    assert pay.reconcile_payments(session, date(2026, 1, 31)) == ZERO
    session.refresh(claim)
    assert claim.status.value == "reconciled"
    assert [(p["status"], p["amount"]) for p in pay.claim_payments(session, claim.id)] == \
        [("failed", 48_600_000), ("paid", 48_600_000)]


def test_cash_at_the_paying_point_when_there_is_no_verified_account(session, world):
    b = world.b
    who = world.pensioner("Phạm Văn Tư")
    world.account(who, holder="NGUYEN VAN A")  # not the holder's name: never paid into
    claim = world.granted("sickness", who, amount=1_875_000,
                          details={"leave_from": "2026-01-05", "days": 5})
    skipped = pay.order_payments(session, b.officer, on=date(2026, 1, 6))
    assert skipped["ordered"] == [] and skipped["skipped"][0]["claim_id"] == claim.id
    assert "paying point" in skipped["skipped"][0]["reason"] and skipped["skipped"][0]["reason_vi"]
    session.refresh(claim)
    assert claim.status.value == "granted"
    point = pay.add_paying_point(session, code="BD-HN-001", name="Bưu điện Hoàn Kiếm", province_2025="01")
    ordered = pay.order_payments(session, b.officer, on=date(2026, 1, 7), claim_ids=[claim.id])
    assert ordered["ordered"][0]["method"] == "cash"
    file = pay.export_payment_file(session, b.officer, on=date(2026, 1, 8), paying_point=point.code)
    _, content = pay.payment_file_content(session, b.officer, file.id)
    (row,) = rows_of(content)
    assert (row["full_name"], row["citizen_id"], row["amount"]) == ("Phạm Văn Tư", who.citizen_id, "1875000")


def test_a_bad_result_file_changes_nothing_and_names_each_row(session, world):
    b = world.b
    who = world.pensioner("Đỗ Minh Khôi")
    world.account(who)
    world.granted("lump_sum", who, amount=10_000_000, ground="abroad")
    (order,) = pay.order_payments(session, b.officer, on=date(2026, 1, 6))["ordered"]
    pay.export_payment_file(session, b.officer, on=date(2026, 1, 7), bank_bin=BIN_VCB)
    ref = f"BP{order['payment_id']}"
    report = world.results([(ref, "paid", ""), ("BP999999", "paid", ""), ("XYZ", "paid", ""),
                            (ref, "returned", ""), (ref, "lost", "")], name="bad.csv")
    assert report.status == "rejected" and report.import_id is None
    found = {(e.row, e.field, e.reason_en.split(" ")[0]) for e in report.errors}
    assert (3, "reference", "No") in found  # unknown
    assert (4, "reference", "Not") in found  # not a reference
    assert (5, "reason", "Give") in found and (5, "reference", "This") in found  # no reason; a duplicate
    assert (6, "status", "The") in found
    assert all(e.file == "bad.csv" and e.reason_vi for e in report.errors)
    assert session.get(BenefitPayment, order["payment_id"]).status == "sent"
    assert session.scalar(select(func.count()).select_from(LedgerEntry)
                          .where(LedgerEntry.account == BENEFIT_BANK)) == 0


def test_other_provinces_see_and_change_nothing(session, world):
    b = world.b
    who = world.pensioner("Vũ Thị Lan")
    world.account(who)
    world.granted("lump_sum", who, amount=5_000_000, ground="abroad")
    assert pay.order_payments(session, b.sonla_officer, on=date(2026, 1, 6)) == {"ordered": [], "skipped": []}
    (order,) = pay.order_payments(session, b.officer, on=date(2026, 1, 6))["ordered"]
    with pytest.raises(NotFound):
        pay.export_payment_file(session, b.sonla_officer, on=date(2026, 1, 7), bank_bin=BIN_VCB)
    file = pay.export_payment_file(session, b.officer, on=date(2026, 1, 7), bank_bin=BIN_VCB)
    with pytest.raises(NotFound):
        pay.payment_file_content(session, b.sonla_officer, file.id)
    report = world.results([(f"BP{order['payment_id']}", "paid", "")], principal=b.sonla_officer)
    assert report.status == "rejected" and report.errors[0].field == "reference"
    with pytest.raises(NotFound):
        pay.get_payment(session, b.sonla_officer, order["payment_id"])
    with pytest.raises(NotFound):
        pay.add_bank_account(session, b.sonla_officer, citizen_id=who.citizen_id, bank_bin=BIN_VCB,
                             account_number="12345678", holder_name=who.full_name, on=date(2026, 1, 2))
    assert pay.payments_page(session, b.sonla_officer)[1] == 0
    assert pay.payments_page(session, b.citizen)[1] == 0  # a citizen sees their own payments only
    assert pay.payments_page(session, b.officer)[1] == 1


def test_a_result_file_in_excel(session, world):
    import xlsxwriter

    b = world.b
    who = world.pensioner("Kiều Thị Nga")
    world.account(who)
    world.granted("lump_sum", who, amount=12_345_000, ground="abroad")
    (order,) = pay.order_payments(session, b.officer, on=date(2026, 1, 6))["ordered"]
    pay.export_payment_file(session, b.officer, on=date(2026, 1, 7), bank_bin=BIN_VCB)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Reference", "Status", "Reason", "Amount"])
    sheet.write_row(1, 0, [f"bp{order['payment_id']}", "PAID", "", 12_345_000])
    book.close()
    report = pay.import_bank_results(session, b.officer, file_name="kq.xlsx", content=buffer.getvalue(),
                                     on=date(2026, 1, 9))
    assert report.status == "applied" and report.paid_total == 12_345_000, report.to_json()
    bad = pay.import_bank_results(session, b.officer, file_name="kq.csv", content=b"\xff\xfe\x00", on=date(2026, 1, 9))
    assert bad.status == "rejected" and bad.errors[0].file == "kq.csv" and bad.errors[0].reason_vi
