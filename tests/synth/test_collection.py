"""The demo's year of bills and payments: deterministic plans, and a load through the collection services."""

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.synth.collection import billed_periods, payer_profile, plan_payment

TODAY = date(2026, 3, 15)


def test_the_periods_are_the_last_months_up_to_the_current_one():
    periods = billed_periods(TODAY, 12)
    assert periods[0] == date(2025, 4, 1) and periods[-1] == date(2026, 3, 1) and len(periods) == 12


def test_profiles_and_payments_are_deterministic_and_shared_as_asked():
    keys = [f"E:{n}" for n in range(4000)]
    profiles = [payer_profile(7, key, 0.15) for key in keys]
    assert profiles == [payer_profile(7, key, 0.15) for key in keys]
    assert profiles != [payer_profile(8, key, 0.15) for key in keys]
    share = {name: profiles.count(name) / len(keys) for name in ("on_time", "late", "debtor")}
    assert 0.12 < share["late"] < 0.18 and 0.03 < share["debtor"] < 0.07
    assert payer_profile(7, "P:1", 0.15) == payer_profile(7, "H:1", 0.15) == "on_time"
    periods = billed_periods(TODAY, 12)
    bill = {"id": 42, "payer_key": "E:1", "period": date(2025, 6, 1), "due_date": date(2025, 6, 30),
            "total": 5_000_000, "reference": "202506E1XX", "tax_code": "0100109106"}
    on_time = plan_payment(7, bill, "on_time", today=TODAY, periods=periods)
    assert on_time == plan_payment(7, bill, "on_time", today=TODAY, periods=periods)
    late = plan_payment(7, bill, "late", today=TODAY, periods=periods)
    assert late["paid_on"] > bill["due_date"] and (late["paid_on"] - bill["due_date"]).days <= 95
    assert late["amount"] == 5_000_000 and isinstance(late["amount"], int)
    recent = {**bill, "period": periods[-2], "due_date": date(2026, 2, 28)}
    assert plan_payment(7, recent, "debtor", today=TODAY, periods=periods) is None  # stopped paying
    not_yet = {**bill, "period": periods[-1], "due_date": date(2026, 4, 30), "id": 43}
    assert plan_payment(7, not_yet, "late", today=TODAY, periods=periods) is None  # would be after today


def test_a_demo_year_bills_pays_and_leaves_arrears(db):
    pytest.importorskip("ansinh.collection.billing")
    pytest.importorskip("ansinh.collection.payments")
    pytest.importorskip("ansinh.collection.inspections")
    from ansinh.collection import ledger
    from ansinh.collection.arrears import arrears_report
    from ansinh.collection.models import Bill, InspectionCase, Payment
    from ansinh.synth.collection import load_collection_year
    from ansinh.synth.demo import load_demo, load_demo_registry, plan_demo

    plan = plan_demo(2026)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        load_demo(s, plan)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        load_demo_registry(s, plan, people=1_500, today=TODAY)
    seen = []
    with audit_context(channel="job", actor_username="test-fixture"):
        result = load_collection_year(db, seed=3, today=TODAY, months=6, late_share=0.3,
                                      progress=lambda what, count: seen.append(what))
    assert result["billing_runs"] == 6 and result["bills"] > 0 and result["payments"] > 0
    assert 0 < result["paid"] < result["billed"] and result["unpaid_bills"] > 0
    assert seen[0].startswith("billing") and seen[-1] == "interest and inspections"
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == result["bills"]
        assert s.scalar(select(func.count()).select_from(Payment)) == result["payments"]
        assert s.scalar(select(func.count()).select_from(Payment).where(Payment.status == "suspense")) \
            == result["in_suspense"]
        assert sum(ledger.trial_balance(s).values()) == 0
        from ansinh.collection.reconcile import check_integrity

        counts = check_integrity(s)  # a year of bills, payments, allocations and interest reconciles
        assert set(counts.values()) == {0}, {name: count for name, count in counts.items() if count}
        report = arrears_report(s, None, on=TODAY)
        assert report["arrears"] > 0 and 0 < report["overdue_rate"] < 0.5
        assert s.scalar(select(func.count()).select_from(InspectionCase)) == result["inspection_cases"]
    with audit_context(channel="job", actor_username="test-fixture"):
        again = load_collection_year(db, seed=3, today=TODAY, months=6, late_share=0.3)
    assert again["payments"] == 0 and again["bills"] == result["bills"]  # nothing paid twice
