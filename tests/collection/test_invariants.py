"""Invariants over random sequences of bills, payments (allocated by the payments service when present), reversals,
write-offs and interest accruals:

- every dong billed is paid, outstanding or written off (per bill, and in the ledger's receivable);
- no payment is allocated twice (its live allocations never exceed its amount; a reversed one has none);
- the ledger balances: all postings sum to zero, and so does every transaction;
- the reconciliation (:func:`ansinh.collection.reconcile.check_integrity`) finds every balance of the ledger
  equal to what the bills, payments, allocations, reversals and write-offs say (all its counts 0) after every
  step.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ansinh.auth.models import OrgUnit
from ansinh.collection import arrears, ledger
from ansinh.collection.models import RECEIVABLE, Allocation, Bill, LedgerEntry, Payment
from ansinh.collection.reconcile import check_integrity
from tests.collection import arrears_fixtures as fx

from ansinh.collection import payments as payments_service

START = date(2025, 1, 1)
FAR = date(2030, 1, 1)

bills = st.lists(st.tuples(st.integers(0, 1), st.integers(1, 8), st.integers(1, 50_000_000)), min_size=1,
                 max_size=8)
operation = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 1), st.integers(1, 60_000_000)),
    st.tuples(st.just("pay"), st.integers(0, 1), st.integers(1, 60_000_000)),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
    st.tuples(st.just("writeoff"), st.integers(0, 1), st.integers(1, 100)),
    st.tuples(st.just("accrue"),),
    st.tuples(st.just("bill"), st.integers(0, 1), st.integers(1, 12), st.integers(1, 50_000_000)),
)
steps = st.lists(st.tuples(operation, st.integers(0, 60)), min_size=3, max_size=20)


def month_end(month: int) -> date:
    return date(2025 + month // 12, month % 12 + 1, 1) - timedelta(days=1)


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first_bills=bills, sequence=steps)
def test_money_is_conserved(session, org, first_bills, sequence):
    """Payments are allocated and reversed by the payments service (its dated rule)."""
    nested = session.begin_nested()
    try:
        _run(session, org, [(("bill", *bill), 0) for bill in first_bills] + sequence)
    finally:
        nested.rollback()


def _run(session, org, sequence) -> None:
    unit = session.get(OrgUnit, org.hanoi.id)
    employers = [fx.make_employer(session, unit, f"Công ty Thử Nghiệm {i}") for i in range(2)]
    keys = [f"E:{e.id}" for e in employers]
    day = START
    made_payments: list[Payment] = []
    for op, advance in sequence:
        day += timedelta(days=advance)
        kind = op[0]
        if kind == "bill":
            _, who, month, amount = op
            period = date(2025, month, 1)
            if not session.scalar(select(Bill.id).where(Bill.payer_key == keys[who], Bill.period == period)):
                fx.make_bill(session, payer_key=keys[who], period=period, due=month_end(month), total=amount,
                             unit=unit, province="01", employer_id=employers[who].id)
        elif kind == "pay":
            _, who, amount = op
            payment = fx.pay(session, payer_key=keys[who], amount=amount, paid_on=day, province="01")
            payments_service.allocate_payment(session, payment, on=day)
            made_payments.append(payment)
        elif kind == "reverse":
            live = [p for p in made_payments if p.status != "reversed"]
            if live:
                payment = live[op[1] % len(live)]
                payments_service.reverse_payment(session, payment.id, reason="test", on=day)
        elif kind == "writeoff":
            _, who, percent = op
            state = arrears.bill_state(session, None, on=day, payer_key=keys[who], with_interest=False)
            open_bills = state.filter(pl.col("outstanding") > 0)
            if open_bills.height:
                row = open_bills.row(0, named=True)
                amount = max(1, row["outstanding"] * percent // 100)
                arrears.write_off(session, payer_key=keys[who], bill_id=row["bill_id"], amount=amount,
                                  reason="test", on=max(day, row["period"]), actor="hypothesis")
        elif kind == "accrue":
            arrears.accrue_interest(session, on=day)
        _check(session, keys, made_payments)
    allocated = session.scalar(select(func.count()).select_from(Allocation)) or 0
    event(f"allocations: {'some' if allocated else 'none'}")
    event(f"interest posted: {'yes' if ledger.balance(session, 'interest_income') else 'no'}")


def _check(session, keys: list[str], made_payments: list[Payment]) -> None:
    # the reconciliation: every count 0
    assert {name: count for name, count in check_integrity(session).items() if count} == {}
    # the ledger balances, transaction by transaction and in total
    assert (session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0))) or 0) == 0
    assert sum(ledger.trial_balance(session).values()) == 0
    unbalanced = session.execute(select(LedgerEntry.txn).group_by(LedgerEntry.txn)
                                 .having(func.sum(LedgerEntry.amount) != 0)).all()
    assert unbalanced == []
    # every dong billed is paid, outstanding or written off
    for key in keys:
        state = arrears.bill_state(session, None, on=FAR, payer_key=key, with_interest=False)
        assert (state["total"] == state["paid"] + state["written_off"] + state["outstanding"]).all()
        assert (state["outstanding"] >= 0).all() and (state["paid"] >= 0).all()
        assert ledger.balance(session, RECEIVABLE, payer_key=key) == int(state["outstanding"].sum())
        account = arrears.payer_account(session, key, on=FAR) if state.height else None
        if account is not None:
            assert account["billed"] == account["paid"] + account["written_off"] + account["balance"]
    # no payment is allocated twice
    for payment in made_payments:
        live = session.scalar(select(func.coalesce(func.sum(Allocation.amount), 0)).where(
            Allocation.payment_id == payment.id, Allocation.reversed.is_(False))) or 0
        assert 0 <= live <= payment.amount
        if payment.status == "reversed":
            assert live == 0
