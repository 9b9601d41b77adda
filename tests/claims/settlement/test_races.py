"""Two settlements of the same facility-month at the same time, on PostgreSQL with real commits: the second waits for
the first (the facility's claims lock), then answers the first's settlement — one settlement, its ledger posted
once."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.claims.settlement import service
from ansinh.claims.settlement.models import Advance, Settlement
from ansinh.collection import ledger
from ansinh.collection.models import LedgerEntry
from tests.claims.settlement.conftest import MONTH, add_claims
from tests.live import fresh_postgres, hanoi_facility

pytestmark = pytest.mark.postgres


def test_two_settlements_of_the_same_month_at_once_settle_once():
    with fresh_postgres() as database:
        hanoi_facility(database, name="Bệnh viện Hà Đông", level="provincial")
        with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
            add_claims(s, "01001", MONTH, [(100_000, 0), (50_000, 5_000)])
            service.record_advance(s, principal=None, facility_code="01001", reference="UT-1",
                                   paid_on=date(2026, 10, 1), amount=30_000, period_from=MONTH)
        started = threading.Barrier(4)
        outcome: list = []

        def settle(n: int) -> None:
            try:
                started.wait(5)
                with audit_context(channel="api", actor_username=f"t{n}"), database.unit_of_work() as s:
                    done = service.settle_month(s, principal=None, facility_code="01001", month=MONTH,
                                                on=date(2026, 11, 2))
                    outcome.append((done.settlement.id, done.replayed))
            except Exception as exc:  # noqa: BLE001 - the outcome is asserted
                outcome.append(exc)

        threads = [threading.Thread(target=settle, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not [o for o in outcome if isinstance(o, Exception)], outcome
        assert len({sid for sid, _ in outcome}) == 1
        assert sorted(replayed for _, replayed in outcome) == [False, True, True, True]
        with database.unit_of_work() as s:
            row = s.scalar(select(Settlement))
            assert (row.accepted, row.advances, row.due) == (145_000, 30_000, 115_000)
            assert s.scalar(select(func.count()).select_from(Settlement)) == 1
            assert s.scalar(select(func.count(func.distinct(LedgerEntry.txn)))) == 3  # advance, settlement, offset
            assert ledger.trial_balance(s) == {"bank": -30_000, "facility_advance": 0, "hi_medical_expense": 145_000,
                                               "facility_payable": -115_000}


def test_the_same_advance_sent_four_times_at_once_is_recorded_and_posted_once():
    with fresh_postgres() as database:
        hanoi_facility(database, name="Bệnh viện Hà Đông", level="provincial")
        started = threading.Barrier(4)
        outcome: list = []

        def record(n: int) -> None:
            try:
                started.wait(5)
                with audit_context(channel="api", actor_username=f"t{n}"), database.unit_of_work() as s:
                    service.record_advance(s, principal=None, facility_code="01001", reference="UT-Q4",
                                           paid_on=date(2026, 10, 1), amount=500_000, period_from=MONTH,
                                           period_to=date(2026, 12, 1))
                    outcome.append(n)
            except Exception as exc:  # noqa: BLE001 - the outcome is asserted
                outcome.append(exc)

        threads = [threading.Thread(target=record, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not [o for o in outcome if isinstance(o, Exception)], outcome
        with database.unit_of_work() as s:
            assert s.scalar(select(func.count()).select_from(Advance)) == 1
            assert s.scalar(select(func.count(func.distinct(LedgerEntry.txn)))) == 1
            assert ledger.trial_balance(s) == {"bank": -500_000, "facility_advance": 500_000}
