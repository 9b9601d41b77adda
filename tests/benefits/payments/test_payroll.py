"""The monthly payroll: idempotent, resumable, posted; first payroll orders the claim; unemployment for its months
with health insurance; a death reported late stops the pension and turns what was paid after it into an
overpayment to recover."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.benefits.payments import service as pay
from ansinh.benefits.payments.models import BenefitPayment, Entitlement, Overpayment, PayrollRun
from ansinh.collection import ledger
from ansinh.collection.models import (
    BENEFIT_BANK,
    BENEFIT_EXPENSE,
    BENEFIT_OVERPAYMENT,
    BENEFIT_PAYABLE,
    LedgerEntry,
)
from ansinh.errors import Conflict
from ansinh.participation.models import CoveragePeriod
from ansinh.registry.models import Sex
from tests.benefits.payments.conftest import BIN_VCB
from tests.benefits.payments.test_payments import ZERO

JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))


def _state(session) -> tuple:
    payments = session.execute(select(BenefitPayment.idem_key, BenefitPayment.amount, BenefitPayment.status)
                               .order_by(BenefitPayment.idem_key)).all()
    entries = session.execute(select(LedgerEntry.txn, LedgerEntry.account, LedgerEntry.fund, LedgerEntry.amount)
                              .where(LedgerEntry.source_type == "payroll")
                              .order_by(LedgerEntry.txn, LedgerEntry.account, LedgerEntry.fund)).all()
    return [tuple(p) for p in payments], [tuple(e) for e in entries]


@pytest.fixture
def pensions(session, world):
    """Three pensioners from January: 5,200,000 and 7,350,000 dong by bank, 3,100,000 in cash; a fourth granted
    without any means of payment (left out, counted)."""
    b = world.b
    pay.add_paying_point(session, code="BD-HN-002", name="Bưu điện Ba Đình", province_2025="01")
    people = [world.pensioner(name) for name in ("Hoàng Văn An", "Bùi Thị Mai", "Ngô Văn Sơn", "Tạ Thị Thu")]
    world.account(people[0])
    world.account(people[1])
    claims = [world.granted("pension", who, monthly=amount, first_month=JAN)
              for who, amount in zip(people[:3], (5_200_000, 7_350_000, 3_100_000), strict=True)]
    session.execute(Entitlement.__table__.update().values(method=None, paying_point_id=None)
                    .where(Entitlement.payee_person_id == people[2].id))  # ... no means for the third
    world.granted("pension", people[3], monthly=4_000_000, first_month=JAN)
    session.execute(Entitlement.__table__.update().values(method="cash")
                    .where(Entitlement.payee_person_id == people[2].id))
    session.execute(Entitlement.__table__.update().values(method=None, paying_point_id=None)
                    .where(Entitlement.payee_person_id == people[3].id))
    session.flush()
    return b, people, claims


def test_the_payroll_pays_each_entitlement_once(session, db, pensions):
    b, people, claims = pensions
    first = pay.run_payroll(db, month=JAN, by="test", province="01", chunks=3)
    # 5,200,000 + 7,350,000 + 3,100,000 = 15,650,000; the fourth has no means of payment
    assert (first["status"], first["payments"], first["total"], first["without_method"]) == \
        ("completed", 3, 15_650_000, 1)
    assert first["by_method"] == {"bank": 2, "cash": 1}
    keys = set(session.scalars(select(BenefitPayment.idem_key)))
    entitlements = session.scalars(select(Entitlement.id).where(Entitlement.claim_id.in_([c.id for c in claims])))
    assert keys == {pay.month_key(e, JAN) for e in entitlements}  # e.g. E202601-000000000001
    assert set(session.execute(select(BenefitPayment.month, BenefitPayment.pay_month))) == {(JAN, JAN)}
    state = _state(session)
    again = pay.run_payroll(db, month=JAN, by="test", province="01", chunks=3)
    assert again["run_id"] == first["run_id"] and again["resumed"]
    assert _state(session) == state
    national = pay.run_payroll(db, month=JAN, by="test")  # the country's run finds January paid already
    assert national["payments"] == 0
    assert _state(session) == state
    assert ledger.balance(session, BENEFIT_EXPENSE) == 15_650_000
    assert ledger.balance(session, BENEFIT_PAYABLE) == -15_650_000
    for claim in claims:
        session.refresh(claim)
        assert claim.status.value == "payment_ordered"
    assert pay.reconcile_payments(session, date(2026, 1, 31)) == ZERO
    feb = pay.run_payroll(db, month=FEB, by="test", province="01")
    assert (feb["payments"], feb["total"]) == (3, 15_650_000)
    assert ledger.balance(session, BENEFIT_EXPENSE) == 31_300_000


def test_a_payroll_killed_after_a_chunk_resumes_to_the_same_result(session, db, pensions):
    with pytest.raises(pay.PayrollInterrupted):
        pay.run_payroll(db, month=JAN, by="test", province="01", chunks=3, stop_after_chunks=1)
    run = session.scalar(select(PayrollRun))
    assert run.status == "running"
    done_first = session.scalar(select(func.count()).select_from(BenefitPayment))
    assert done_first <= 3
    resumed = pay.run_payroll(db, month=JAN, by="test", province="01", chunks=3)
    assert (resumed["status"], resumed["payments"], resumed["total"], resumed["chunks_done"]) == \
        ("completed", 3, 15_650_000, 3)
    assert resumed["resumed"]
    assert ledger.balance(session, BENEFIT_EXPENSE) == 15_650_000
    assert pay.reconcile_payments(session, date(2026, 1, 31)) == ZERO


def test_a_monthly_claim_is_paid_when_its_first_payment_is(session, db, world, pensions):
    b, people, claims = pensions
    pay.run_payroll(db, month=JAN, by="test", province="01")
    file = pay.export_payment_file(session, b.officer, on=date(2026, 1, 10), bank_bin=BIN_VCB)
    assert file.payments == 2 and file.total == 12_550_000
    refs = [f"BP{p.id}" for p in session.scalars(select(BenefitPayment).where(
        BenefitPayment.payment_file_id == file.id).order_by(BenefitPayment.id))]
    report = world.results([(refs[0], "paid", ""), (refs[1], "paid", "")], name="vcb-jan.csv")
    assert report.claims_paid == 2 and report.paid_total == 12_550_000
    assert ledger.balance(session, BENEFIT_BANK) == -12_550_000
    assert ledger.balance(session, BENEFIT_PAYABLE) == -3_100_000  # the cash list is not sent yet
    assert pay.reconcile_payments(session, date(2026, 1, 31)) == ZERO
    statuses = []
    for claim in claims:
        session.refresh(claim)
        statuses.append(claim.status.value)
    assert statuses == ["reconciled", "reconciled", "payment_ordered"]


def test_a_death_reported_late_becomes_an_overpayment(session, db, world, pensions):
    b, people, claims = pensions
    for month in (JAN, FEB, MAR):
        pay.run_payroll(db, month=month, by="test", province="01")
        if month != MAR:  # March is ordered but not sent when the death is reported
            pay.export_payment_file(session, b.officer, on=month.replace(day=10), bank_bin=BIN_VCB)
            refs = [(f"BP{p.id}", "paid", "") for p in session.scalars(select(BenefitPayment).where(
                BenefitPayment.month == month, BenefitPayment.method == "bank"))]
            world.results(refs, name=f"vcb-{month:%m}.csv", on=month.replace(day=15))
    # Hoàng Văn An (5,200,000 a month) died on 2026-01-20; his son claims the funeral grant on 2026-03-20
    son = b.person("Hoàng Văn Bình", born=date(1990, 2, 2), sex=Sex.male)
    world.granted("funeral", people[0], amount=4_680_000, on=date(2026, 3, 20),
                  details={"died_on": "2026-01-20", "claimant_citizen_id": son.citizen_id})
    entitlement = session.scalar(select(Entitlement).where(Entitlement.claim_id == claims[0].id))
    assert (entitlement.last_month, entitlement.stopped_on) == (JAN, date(2026, 3, 20))
    over = session.scalar(select(Overpayment))
    # February was paid after the death: 5,200,000 to recover; March was only ordered: cancelled
    assert (over.amount, over.person_id, over.status) == (5_200_000, people[0].id, "open")
    march = session.scalar(select(BenefitPayment).where(BenefitPayment.entitlement_id == entitlement.id,
                                                        BenefitPayment.month == MAR))
    assert march.status == "cancelled"
    assert ledger.balance(session, BENEFIT_OVERPAYMENT) == 5_200_000
    # expense: 3 months × 15,650,000 − the cancelled March 5,200,000 − the overpaid February 5,200,000
    assert ledger.balance(session, BENEFIT_EXPENSE) == 3 * 15_650_000 - 2 * 5_200_000
    assert pay.reconcile_payments(session, date(2026, 3, 31)) == ZERO
    april = pay.run_payroll(db, month=APR, by="test", province="01")
    assert april["payments"] == 2 and april["total"] == 15_650_000 - 5_200_000
    recovered = pay.recover_overpayment(session, b.officer, over.id, amount=2_000_000, on=date(2026, 4, 5))
    assert (recovered.recovered, recovered.status) == (2_000_000, "open")
    assert ledger.balance(session, BENEFIT_OVERPAYMENT) == 3_200_000
    assert pay.reconcile_payments(session, date(2026, 4, 30)) == ZERO
    again = pay.record_death(session, people[0].id, died_on=date(2026, 1, 20), on=date(2026, 4, 6))
    assert again["entitlements_stopped"] == 0 and session.scalar(select(func.count()).select_from(Overpayment)) == 1


def test_unemployment_is_paid_for_its_months_with_health_insurance(session, db, world):
    b = world.b
    who = b.person("Đinh Văn Hùng", born=date(1988, 8, 8))
    world.account(who)
    claim = world.granted("unemployment", who, monthly=6_000_000, months=3, first_month=FEB,
                          details={"decision_number": "123/QĐ-SLĐTBXH", "decision_on": "2026-01-04",
                                   "employment_ended_on": "2025-12-31"})
    entitlement = session.scalar(select(Entitlement).where(Entitlement.claim_id == claim.id))
    assert (entitlement.first_month, entitlement.last_month, entitlement.fund) == (FEB, APR, "unemployment")
    cover = session.scalar(select(CoveragePeriod).where(CoveragePeriod.person_id == who.id,
                                                        CoveragePeriod.hi_group == "TN"))
    assert cover is not None and cover.valid_to == date(2026, 5, 1) and cover.payer.value == "other_budget"
    from ansinh.cards.service import current_card

    card = current_card(session, who.id)  # issued with the benefit: group TN, benefit level 4
    assert card is not None and card.card_code.startswith("TN4") and card.card_code.endswith(who.si_number)
    paid = [pay.run_payroll(db, month=date(2026, m, 1), by="test", province="01")["payments"]
            for m in range(1, 7)]
    assert paid == [0, 1, 1, 1, 0, 0]
    assert ledger.balance(session, BENEFIT_EXPENSE) == 18_000_000
    funds = set(session.scalars(select(LedgerEntry.fund).where(LedgerEntry.account == BENEFIT_EXPENSE)))
    assert funds == {"unemployment"}


def test_a_death_cancels_what_was_returned_or_not_yet_sent(session, db, world, pensions):
    b, people, claims = pensions
    pay.run_payroll(db, month=JAN, by="test", province="01")
    pay.run_payroll(db, month=FEB, by="test", province="01")
    pay.export_payment_file(session, b.officer, on=date(2026, 2, 10), bank_bin=BIN_VCB)
    mine = {p.month: p for p in session.scalars(select(BenefitPayment).where(
        BenefitPayment.payee_person_id == people[0].id))}
    others = [(f"BP{p.id}", "paid", "") for p in session.scalars(select(BenefitPayment).where(
        BenefitPayment.status == "sent", BenefitPayment.payee_person_id != people[0].id))]
    world.results([(f"BP{mine[JAN].id}", "paid", ""), (f"BP{mine[FEB].id}", "returned", "closed_account")]
                  + others, name="vcb-feb.csv", on=date(2026, 2, 15))
    pay.run_payroll(db, month=MAR, by="test", province="01")  # his account closed: March in cash, ordered
    march = session.scalar(select(BenefitPayment).where(BenefitPayment.payee_person_id == people[0].id,
                                                        BenefitPayment.month == MAR))
    assert march.method == "cash"
    done = pay.record_death(session, people[0].id, died_on=date(2026, 1, 10), on=date(2026, 3, 12))
    # January was his (he died in it); February returned and March not sent: both cancelled, nothing overpaid
    assert (done["payments_cancelled"], done["overpayments"]) == (2, [])
    session.refresh(mine[FEB]), session.refresh(march)
    assert (mine[FEB].status, march.status) == ("cancelled", "cancelled")
    assert mine[FEB].failure_reason == "closed_account; cancelled"
    with pytest.raises(Conflict):
        pay.reissue_payment(session, b.officer, mine[FEB].id, on=date(2026, 3, 13))
    # expense: January 15,650,000 + February and March 10,450,000 each for the two others, + his January
    assert ledger.balance(session, BENEFIT_EXPENSE) == 15_650_000 + 2 * 10_450_000
    assert pay.reconcile_payments(session, date(2026, 3, 31)) == ZERO
