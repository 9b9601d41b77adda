"""The ledger's state machine extended with benefit payments (Hypothesis ``RuleBasedStateMachine``): monthly
payrolls (some killed after a chunk and resumed, some run twice), payment files to banks and paying points, the
banks' results (paid or returned, files imported twice), accounts corrected and failed payments re-issued, deaths
reported late (cancellations and overpayments) and recoveries, in any order — and after every step the ledger
balances and :func:`ansinh.benefits.payments.service.reconcile_payments` finds every count 0."""

from __future__ import annotations

from datetime import date
from itertools import count

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.auth.service import principal_for
from ansinh.benefits.payments import service as pay
from ansinh.benefits.payments.models import BenefitPayment, Entitlement, Overpayment
from ansinh.collection import ledger
from ansinh.collection.models import LedgerEntry
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from tests.conftest import job_unit

MONTHS = [date(2026, m, 1) for m in range(1, 6)]
BINS = ("970436", "970405")
REASONS = ("closed_account", "name_mismatch", "other")


class BenefitBooks(RuleBasedStateMachine):
    """The pension payments of one province office: four pensioners, two banks, a paying point."""

    def __init__(self, db, org, officer_id: int) -> None:
        super().__init__()
        self.db = db
        self.outer = db.session_factory.kw["bind"].begin_nested()  # each example rolled back on its own
        self.serial = count(1)
        self.files = []
        with self.unit() as s:
            self.officer = principal_for(s.get(User, officer_id))
            hanoi = s.get(OrgUnit, org.hanoi.id)
            self.point = pay.add_paying_point(s, code="BD-M", name="Bưu điện", province_2025="01").code
            self.people = []
            for i in range(4):
                person = registry.create_person(s, registry.PersonData(
                    full_name=f"Hưu Trí {i}", date_of_birth=date(1956, 1, 1 + i), sex=Sex.female), hanoi)
                if i < 3:
                    pay.add_bank_account(s, self.officer, citizen_id=person.citizen_id, bank_bin=BINS[i % 2],
                                         account_number=f"10{next(self.serial):08d}",
                                         holder_name=person.full_name, on=date(2025, 12, 1))
                means = pay.payment_means(s, person)
                s.add(Entitlement(claim_type="pension", fund="retirement", person_id=person.id,
                                  payee_person_id=person.id, monthly_amount=3_000_000 + 250_000 * i,
                                  first_month=MONTHS[0], method=means[0], bank_account_id=means[1],
                                  paying_point_id=means[2], org_unit_id=hanoi.id, province_2025="01"))
                self.people.append((person.id, person.citizen_id, person.full_name))

    def unit(self):
        return job_unit(self.db, "machine")

    def teardown(self) -> None:
        self.outer.rollback()

    def ids(self, *statuses: str) -> list[int]:
        with self.db.unit_of_work() as s:
            return list(s.scalars(select(BenefitPayment.id).where(BenefitPayment.status.in_(statuses))
                                  .order_by(BenefitPayment.id)))

    # --- the rules ------------------------------------------------------------------------------------------

    @initialize()
    def january_is_paid(self) -> None:
        self.payroll(MONTHS[0], 2, None)

    @rule(month=st.sampled_from(MONTHS), chunks=st.integers(1, 3), crash=st.none() | st.integers(0, 2))
    def payroll(self, month: date, chunks: int, crash: int | None) -> None:
        with audit_context(channel="job", actor_username="machine"):
            try:
                pay.run_payroll(self.db, month=month, by="machine", province="01", chunks=chunks,
                                stop_after_chunks=crash)
            except pay.PayrollInterrupted:
                pay.run_payroll(self.db, month=month, by="machine", province="01")  # resumed

    @rule(where=st.sampled_from(BINS + ("cash",)))
    def send_a_file(self, where: str) -> None:
        with self.unit() as s:
            try:
                if where == "cash":
                    pay.export_payment_file(s, self.officer, on=date(2026, 6, 1), paying_point=self.point)
                else:
                    pay.export_payment_file(s, self.officer, on=date(2026, 6, 1), bank_bin=where)
            except NotFound:
                pass

    @rule(data=st.data())
    def results_come_back(self, data) -> None:
        sent = self.ids("sent")
        if not sent:
            return
        chosen = data.draw(st.lists(st.sampled_from(sent), min_size=1, max_size=len(sent), unique=True))
        rows = []
        for payment_id in chosen:
            outcome = data.draw(st.sampled_from(("paid", "paid", "returned")))
            reason = data.draw(st.sampled_from(REASONS)) if outcome == "returned" else ""
            rows.append(f"BP{payment_id},{outcome},{reason}\n")
        content = ("reference,status,reason\n" + "".join(rows)).encode()
        name = f"result-{next(self.serial)}.csv"
        self.files.append((name, content))
        with self.unit() as s:
            report = pay.import_bank_results(s, self.officer, file_name=name, content=content,
                                             on=date(2026, 6, 2))
        assert report.status == "applied", report.errors

    @rule(data=st.data())
    def a_file_is_imported_again(self, data) -> None:
        if not self.files:
            return
        name, content = data.draw(st.sampled_from(self.files))
        with self.unit() as s:
            assert pay.import_bank_results(s, self.officer, file_name=name, content=content,
                                           on=date(2026, 6, 3)).status == "unchanged"

    @rule(who=st.integers(0, 3))
    def an_account_is_corrected(self, who: int) -> None:
        _, citizen_id, name = self.people[who]
        with self.unit() as s:
            pay.add_bank_account(s, self.officer, citizen_id=citizen_id, bank_bin=BINS[who % 2],
                                 account_number=f"20{next(self.serial):08d}", holder_name=name, on=date(2026, 6, 1))

    @rule(data=st.data())
    def a_failed_payment_is_reissued(self, data) -> None:
        failed = self.ids("failed")
        if not failed:
            return
        payment_id = data.draw(st.sampled_from(failed))
        if data.draw(st.booleans()):  # the payee brings the right account first
            with self.db.unit_of_work() as s:
                payee = s.scalar(select(BenefitPayment.payee_person_id).where(BenefitPayment.id == payment_id))
            self.an_account_is_corrected([p[0] for p in self.people].index(payee))
        with self.unit() as s:
            try:
                pay.reissue_payment(s, self.officer, payment_id, on=date(2026, 6, 4))
            except (ValidationFailed, Conflict):
                pass

    @rule(who=st.integers(0, 3), month=st.sampled_from(MONTHS), day=st.integers(1, 28))
    def a_death_is_reported(self, who: int, month: date, day: int) -> None:
        with self.unit() as s:
            pay.record_death(s, self.people[who][0], died_on=month.replace(day=day), on=date(2026, 6, 5))

    @rule(data=st.data())
    def an_overpayment_is_recovered(self, data) -> None:
        with self.db.unit_of_work() as s:
            open_ = [(o.id, o.amount - o.recovered) for o in s.scalars(select(Overpayment).where(
                Overpayment.status == "open"))]
        if not open_:
            return
        over_id, owed = data.draw(st.sampled_from(open_))
        amount = data.draw(st.integers(1, owed))
        with self.unit() as s:
            pay.recover_overpayment(s, self.officer, over_id, amount=amount, on=date(2026, 6, 6))

    # --- after every step -----------------------------------------------------------------------------------

    @invariant()
    def the_books_reconcile(self) -> None:
        with self.db.unit_of_work() as s:
            counts = pay.reconcile_payments(s, date(2026, 6, 30))
            assert {k: v for k, v in counts.items() if v} == {}
            assert sum(ledger.trial_balance(s).values()) == 0
            assert s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.amount == 0)) == 0


@pytest.mark.parametrize("examples", [20])
def test_benefit_books_reconcile_after_every_step(db, org, make_user, examples):
    officer = make_user("machine-officer", org.hanoi, Role.provincial_officer)
    run_state_machine_as_test(lambda: BenefitBooks(db, org, officer.id), settings=settings(
        max_examples=examples, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
