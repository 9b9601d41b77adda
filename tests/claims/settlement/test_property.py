"""The ledger of settlements reconciles whatever the amounts: for random months of claims and advances, per facility
the expense is Σ accepted, the payable (a credit) is Σ of what is due and positive, the advances account holds the
advances paid less what was offset against payables, their net is Σ advances − Σ due, and every transaction sums to
zero."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ansinh.claims.settlement import service
from ansinh.collection import ledger
from ansinh.collection.models import LedgerEntry
from tests.claims.settlement.conftest import HANOI, HANOI_2, add_claims

MONTHS = [date(2026, m, 1) for m in (7, 8, 9)]
claim = st.tuples(st.integers(0, 5_000_000), st.integers(0, 100)).map(lambda p: (p[0], p[0] * p[1] // 100))
month_claims = st.lists(claim, min_size=1, max_size=4)
advance = st.tuples(st.integers(1, 8_000_000), st.integers(0, 2), st.integers(0, 2)).map(
    lambda a: (a[0], min(a[1], a[2]), max(a[1], a[2])))
facility_case = st.tuples(st.lists(month_claims, min_size=3, max_size=3), st.lists(advance, max_size=3))


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cases=st.tuples(facility_case, facility_case))
def test_the_ledger_reconciles(session, settlement_world, cases):
    nested = session.begin_nested()
    try:
        expected = {}
        for code, (months, advances) in zip((HANOI, HANOI_2), cases):
            for number, (amount, first, last) in enumerate(advances):
                service.record_advance(session, principal=None, facility_code=code, reference=f"A{number}",
                                       paid_on=date(2026, 7, 1), amount=amount, period_from=MONTHS[first],
                                       period_to=MONTHS[last])
            settled = []
            for month, amounts in zip(MONTHS, months):
                add_claims(session, code, month, amounts)
                settled.append(service.settle_month(session, principal=None, facility_code=code, month=month,
                                                    on=date(2026, 10, 1)).settlement)
            accepted = sum(c - d for amounts in months for c, d in amounts)
            assert sum(s.accepted for s in settled) == accepted
            assert all(s.due == s.accepted - s.advances for s in settled)
            assert sum(s.advances for s in settled) == sum(a for a, _, _ in advances)  # every advance's period ends
            expected[code] = (settled, sum(a for a, _, _ in advances))
        for code, (settled, paid) in expected.items():
            expense = ledger.balance(session, "hi_medical_expense", payer_key=code)
            payable = ledger.balance(session, "facility_payable", payer_key=code)
            advanced = ledger.balance(session, "facility_advance", payer_key=code)
            assert expense == sum(s.accepted for s in settled)
            assert -payable == sum(max(s.due, 0) for s in settled)
            assert advanced == sum(max(-s.due, 0) for s in settled)
            assert -(payable + advanced) == sum(s.due for s in settled)
        assert sum(ledger.trial_balance(session).values()) == 0
        unbalanced = session.execute(select(LedgerEntry.txn).group_by(LedgerEntry.txn)
                                     .having(func.sum(LedgerEntry.amount) != 0)).all()
        assert unbalanced == []
    finally:
        nested.rollback()
        session.expire_all()
