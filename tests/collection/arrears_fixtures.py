"""TEST FIXTURES for the arrears tests: bills, payments, allocations and reversals written directly as rows with
their balanced ledger postings (through ``ledger.post``), standing in for the billing and payments services
while those are built. Postings follow the sign convention of ``collection/ledger.py``."""

from __future__ import annotations

from datetime import date
from itertools import count

from ansinh.auth.models import OrgUnit
from ansinh.collection import ledger
from ansinh.collection.ledger import Entry
from ansinh.collection.models import (
    BANK,
    INCOME,
    INTEREST_RECEIVABLE,
    PREPAYMENT,
    RECEIVABLE,
    Allocation,
    Bill,
    BillLine,
    Payment,
)
from ansinh.registry import service as registry
from ansinh.registry.identifiers import tax_code_check_digit
from ansinh.registry.models import Employer, Ownership

_serial = count(1)


def tax_code(seed: int) -> str:
    """A valid 10-digit tax code derived from a number."""
    seed_text = f"{seed:08d}"
    for last in range(10):
        nine = f"01{seed_text[-6:]}{last}"
        digit = tax_code_check_digit(nine)
        if digit is not None:
            return f"{nine}{digit}"
    raise AssertionError(seed)


def make_employer(session, unit: OrgUnit, name: str, *, address: str | None = None) -> Employer:
    return registry.create_employer(session, registry.EmployerData(
        tax_code=tax_code(next(_serial) * 7919 % 999_983), name=name, ownership=Ownership.private, region="I",
        address=address), unit)


def make_bill(session, *, payer_key: str, period: date, due: date, total: int, unit: OrgUnit,
              province: str | None, employer_id: int | None = None, payer_type: str = "employer",
              lines: dict[str, int] | None = None) -> Bill:
    """A bill (with lines per fund, default all retirement) and its posting: receivable +total / income per fund."""
    lines = lines or {"retirement": total}
    assert sum(lines.values()) == total
    bill = Bill(period=period, payer_type=payer_type, payer_key=payer_key, employer_id=employer_id,
                reference=f"T{next(_serial):010d}", due_date=due, employer_amount=total, total=total,
                org_unit_id=unit.id, province_2025=province)
    session.add(bill)
    session.flush()
    session.add_all([BillLine(bill_id=bill.id, fund=fund, side="employer", amount=amount, for_period=period)
                     for fund, amount in lines.items()])
    ledger.post(session, [Entry(RECEIVABLE, total, payer_key=payer_key, period=period, province_2025=province),
                          *[Entry(INCOME, -amount, payer_key=payer_key, fund=fund, period=period,
                                  province_2025=province) for fund, amount in lines.items()]],
                posted_on=period, source_type="bill", source_id=bill.id)
    return bill


def pay(session, *, payer_key: str, amount: int, paid_on: date, province: str | None,
        allocate: list[tuple[Bill, int, str]] = (), allocated_on: date | None = None) -> Payment:
    """A matched payment (bank +amount / prepayment −amount) and its allocations (prepayment +x against
    receivable or interest receivable)."""
    payment = Payment(bank_transaction_id=f"BT{next(_serial):012d}", paid_on=paid_on, amount=amount,
                      payer_key=payer_key, matched_by="reference", status="matched", province_2025=province)
    session.add(payment)
    session.flush()
    ledger.post(session, [Entry(BANK, amount, province_2025=province),
                          Entry(PREPAYMENT, -amount, payer_key=payer_key, province_2025=province)],
                posted_on=paid_on, source_type="payment", source_id=payment.id)
    for bill, part_amount, part in allocate:
        allocate_part(session, payment, bill, part_amount, part, on=allocated_on or paid_on)
    return payment


def allocate_part(session, payment: Payment, bill: Bill, amount: int, part: str, *, on: date) -> Allocation:
    allocation = Allocation(payment_id=payment.id, bill_id=bill.id, part=part, amount=amount, allocated_on=on)
    session.add(allocation)
    session.flush()
    account = RECEIVABLE if part == "principal" else INTEREST_RECEIVABLE
    ledger.post(session, [Entry(PREPAYMENT, amount, payer_key=payment.payer_key, province_2025=bill.province_2025),
                          Entry(account, -amount, payer_key=payment.payer_key, period=bill.period,
                                province_2025=bill.province_2025)],
                posted_on=on, source_type="allocation", source_id=allocation.id)
    return allocation
