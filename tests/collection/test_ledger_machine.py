"""A state machine of collection (Hypothesis ``RuleBasedStateMachine``): billing runs, payments from a bank's
API, bank statements, allocation of prepayments, assignments from suspense, reversals, write-offs and
interest, in any order, through the services — and after every step the reconciliation
(:func:`check_integrity`) finds the books consistent: every count 0."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import polars as pl
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.collection import arrears, billing, payments
from ansinh.collection.models import Bill, Payment
from ansinh.collection.reconcile import check_integrity
from ansinh.errors import Conflict
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from tests.conftest import job_unit
from sqlalchemy import select
from tests.collection import trust_fixtures as tf
from tests.collection.test_billing import TAX_CODES

START = date(2025, 1, 1)
MONTHS = [date(2025, month, 1) for month in range(1, 7)]
HEADER = "date,amount,payer_account,reference,bank_transaction_id,receiving_account\n"


class Collection(RuleBasedStateMachine):
    """The books of one province office with two employers and a voluntary payer."""

    def __init__(self, db, org) -> None:
        super().__init__()
        self.db = db
        self.outer = db.session_factory.kw["bind"].begin_nested()  # each example rolled back on its own
        self.serial = count(1)
        self.day = date(2025, 2, 1)
        with self.unit() as s:
            hanoi = s.get(OrgUnit, org.hanoi.id)
            self.employers = [registry.create_employer(s, registry.EmployerData(
                tax_code=code, name=f"Công ty {i}", ownership=Ownership.private, region="I"), hanoi)
                for i, code in enumerate(TAX_CODES[:2])]
            people = [registry.create_person(s, registry.PersonData(
                full_name=f"Người {i}", date_of_birth=date(1985, 1, 1 + i), sex=Sex.female), hanoi)
                for i in range(3)]
            salaries = (9_000_000, 14_000_000)
            for employer, person, salary in zip(self.employers, people, salaries, strict=False):
                participation.apply_declaration(s, employer=employer, person=person, kind="join",
                                                effective_month=START, insured_salary=salary,
                                                submitted_by="test", today=date(2025, 1, 5))
            participation.enrol_voluntary(s, person=people[2], income=2_000_000, months=1, group="other",
                                          start=START, org_unit=hanoi)
            self.payers = [f"E:{e.id}" for e in self.employers] + [f"P:{people[2].id}"]
            self.tax_codes = [e.tax_code for e in self.employers]

    def unit(self):
        return job_unit(self.db, "machine")

    def teardown(self) -> None:
        self.outer.rollback()

    def payments(self, *statuses: str) -> list[int]:
        with self.db.unit_of_work() as s:
            return list(s.scalars(select(Payment.id).where(Payment.status.in_(statuses))
                                  .order_by(Payment.id)))

    def reference(self, s, who: int) -> str | None:
        return s.scalar(select(Bill.reference).where(Bill.payer_key == self.payers[who])
                        .order_by(Bill.period.desc()).limit(1))

    # --- the rules ------------------------------------------------------------------------------------------

    @initialize()
    def january_is_billed(self) -> None:
        self.bill_a_month(MONTHS[0])

    @rule(days=st.integers(0, 40))
    def time_passes(self, days: int) -> None:
        self.day += timedelta(days=days)

    @rule(month=st.sampled_from(MONTHS))
    def bill_a_month(self, month: date) -> None:
        if month > self.day:
            return
        with audit_context(channel="job", actor_username="machine"):
            summary = billing.run_billing(self.db, period=month, province=None, actor="machine",
                                          today=max(month, self.day - timedelta(days=30)), chunks=2)
        assert summary["status"] == "completed"

    @rule(who=st.integers(0, 2), amount=st.integers(1, 12_000_000),
          quote=st.sampled_from(["bill", "tax", "none"]))
    def a_bank_notifies_a_payment(self, who: int, amount: int, quote: str) -> None:
        with self.unit() as s:
            text = {"bill": self.reference(s, who), "tax": f"MST {self.tax_codes[who % 2]}",
                    "none": "chuyen tien"}
            payments.record_payment(s, bank_transaction_id=f"API-{next(self.serial)}", paid_on=self.day,
                                    amount=amount, reference_text=text[quote],
                                    receiving_account=tf.HANOI_ACCOUNT, on=self.day)

    @rule(lines=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 9_000_000), st.booleans()), min_size=1,
                         max_size=4))
    def a_statement_is_imported(self, lines: list[tuple[int, int, bool]]) -> None:
        with self.unit() as s:
            rows = [f"{self.day.isoformat()},{amount},,{(self.reference(s, who) or '') if quoted else 'ck'},"
                    f"ST-{next(self.serial)},{tf.HANOI_ACCOUNT}" for who, amount, quoted in lines]
            report = payments.import_statement(s, content=(HEADER + "\n".join(rows) + "\n").encode(),
                                               file_name="machine.csv", actor="machine", today=self.day)
        assert report.status == "applied", report.errors

    @rule()
    def prepayments_are_allocated(self) -> None:
        with self.unit() as s:
            payments.allocate_open_payments(s, on=self.day)

    @precondition(lambda self: bool(self.payments("suspense")))
    @rule(index=st.integers(0, 50), who=st.integers(0, 2))
    def an_officer_assigns_a_payment_in_suspense(self, index: int, who: int) -> None:
        waiting = self.payments("suspense")
        with self.unit() as s:
            payments.assign_suspense(s, waiting[index % len(waiting)], self.payers[who], actor="machine",
                                     on=self.day)
        # a second officer who clicked at the same moment (the request lost the race): refused, nothing credited
        # twice (the real race, on PostgreSQL with 20 requests at once: tests/test_trust.py and
        # tests/collection/test_races.py)
        with pytest.raises(Conflict), self.unit() as s:
            payments.assign_suspense(s, waiting[index % len(waiting)], self.payers[(who + 1) % 3], actor="machine",
                                     on=self.day)

    @precondition(lambda self: bool(self.payments("suspense", "matched")))
    @rule(index=st.integers(0, 50))
    def a_payment_is_reversed(self, index: int) -> None:
        live = self.payments("suspense", "matched")
        with self.unit() as s:
            payments.reverse_payment(s, live[index % len(live)], reason="machine", on=self.day)
        with pytest.raises(Conflict), self.unit() as s:
            payments.reverse_payment(s, live[index % len(live)], reason="again", on=self.day)

    @rule(who=st.integers(0, 2), percent=st.integers(1, 100))
    def a_debt_is_written_off(self, who: int, percent: int) -> None:
        with self.unit() as s:
            state = arrears.bill_state(s, None, on=self.day, payer_key=self.payers[who], with_interest=False)
            open_bills = state.filter(pl.col("outstanding") > 0)
            if open_bills.is_empty():
                return
            row = open_bills.row(0, named=True)
            arrears.write_off(s, payer_key=self.payers[who], bill_id=row["bill_id"],
                              amount=max(1, row["outstanding"] * percent // 100), reason="machine",
                              on=max(self.day, row["period"]), actor="machine")

    @rule()
    def interest_is_accrued(self) -> None:
        with self.unit() as s:
            arrears.accrue_interest(s, on=self.day)

    # --- after every step -----------------------------------------------------------------------------------

    @invariant()
    def the_books_reconcile(self) -> None:
        with self.db.unit_of_work() as s:
            counts = check_integrity(s)
        assert {name: n for name, n in counts.items() if n} == {}


def test_the_books_reconcile_after_every_step(db, org, monkeypatch):
    monkeypatch.setenv(payments.ACCOUNTS_ENV, tf.ACCOUNTS)
    run_state_machine_as_test(lambda: Collection(db, org), settings=settings(
        max_examples=15, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
