"""Pensioners and payments counted by province for the indicators (pensioners, the pension payroll, the share paid
through bank accounts): on the payroll tests' pensioners, every figure counted by hand."""

from datetime import date

from sqlalchemy import select, update

from ansinh.benefits import monitoring
from ansinh.benefits.payments import service as pay
from ansinh.benefits.payments.models import BenefitPayment, PayingPoint
from ansinh.targets.indicators.registry import indicators
from ansinh.targets.indicators.sources import Sources
from ansinh.targets.periods import parse_period
from tests.benefits.payments.conftest import BIN_VCB
from tests.benefits.payments.test_payroll import FEB, JAN, pensions  # noqa: F401 - the fixture


def test_pensioners_payroll_and_bank_share(session, db, world, pensions):  # noqa: F811 - the fixture
    b, people, claims = pensions
    jan = pay.run_payroll(db, month=JAN, by="test", province="01")
    feb = pay.run_payroll(db, month=FEB, by="test", province="01")
    assert (jan["payments"], feb["payments"]) == (3, 3), (jan, feb)
    # four pensions in force from January (one without a means of payment: still a pensioner)
    assert monitoring.pensioners_by_province(session, on=date(2026, 2, 28)) == {"01": 4}
    assert monitoring.pensioners_by_province(session, on=date(2025, 12, 31)) == {}
    # January's bank transfers (5,200,000 and 7,350,000) paid on 20 January, the cash one (3,100,000) on the 21st
    # the fixture's cash pensioner has no paying point on file: her payments are handed to the Ba Đình post office
    point = session.scalar(select(PayingPoint.id).where(PayingPoint.code == "BD-HN-002"))
    session.execute(update(BenefitPayment).where(BenefitPayment.method == "cash").values(paying_point_id=point))
    bank = pay.export_payment_file(session, b.officer, on=date(2026, 2, 10), bank_bin=BIN_VCB)
    refs = [line.split(",")[3] for line in
            pay.payment_file_content(session, b.officer, bank.id)[1].decode().splitlines()[1:]]
    world.results([(ref, "paid", "") for ref in refs], name="vcb.csv", on=date(2026, 2, 12))
    cash = pay.export_payment_file(session, b.officer, on=date(2026, 2, 10), paying_point="BD-HN-002")
    cash_refs = [line.split(",")[0] for line in
                 pay.payment_file_content(session, b.officer, cash.id)[1].decode().splitlines()[1:]]
    world.results([(ref, "paid", "") for ref in cash_refs], name="cash.csv", on=date(2026, 2, 13))
    assert (len(refs), len(cash_refs)) == (4, 2)  # two bank and one cash pensioner, two months each
    figures = monitoring.payments_by_province(session, since=date(2026, 1, 1), until=date(2026, 3, 31))
    # the payroll of January and February: 2 × 15,650,000; paid 6, of them 4 into bank accounts
    assert figures == {"01": {"payroll": 31_300_000, "paid": 6, "paid_bank": 4}}
    sources = Sources(session, parallel=False)
    quarter = parse_period("2026-Q1")
    assert indicators()["benefits.pensioners"].compute(sources, quarter)["01"].value == 4
    assert indicators()["benefits.payroll_amount"].compute(sources, quarter)["01"].value == 31_300_000
    assert indicators()["benefits.paid_through_bank_pct"].compute(sources, quarter)["01"].value == 66.67
    # January alone: one month of payroll, nothing paid yet in January
    assert monitoring.payments_by_province(session, since=JAN, until=date(2026, 1, 31)) == \
        {"01": {"payroll": 15_650_000, "paid": 0, "paid_bank": 0}}
