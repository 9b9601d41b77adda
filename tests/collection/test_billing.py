"""Billing runs (issue 5): amounts by the rules, idempotence, resuming after a crash, retroactive adjustments,
voluntary / household / State-budget bills, the ledger, the API and the CLI."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.collection import billing
from ansinh.collection.billing import BillingInterrupted, bill_lines, bill_reference, check_reference, run_billing
from ansinh.collection.ledger import trial_balance
from ansinh.collection.models import Bill, BillingChunk, BillingRun, BillLine, LedgerEntry
from ansinh.participation import service as participation
from ansinh.participation.models import Declaration
from ansinh.registry import service as registry
from ansinh.registry.identifiers import TAX_CODE_WEIGHTS
from ansinh.registry.models import Ownership, Sex
from ansinh.rules.parameters import get_parameters
from ansinh.rules.voluntary import VoluntaryInput, voluntary_single
from tests.conftest import api_token

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def tax_code(nine: str) -> str:
    check = 10 - sum(int(d) * w for d, w in zip(nine, TAX_CODE_WEIGHTS)) % 11
    assert check < 10
    return nine + str(check)


def _nines():
    for n in range(100_000_000, 100_001_000):
        nine = f"{n:09d}"
        if 10 - sum(int(d) * w for d, w in zip(nine, TAX_CODE_WEIGHTS)) % 11 < 10:
            yield nine


TAX_CODES = [tax_code(nine) for nine, _ in zip(_nines(), range(5))]


def bill(db, payer_key: str, period: date) -> Bill | None:
    with db.unit_of_work() as s:
        return s.scalar(select(Bill).where(Bill.payer_key == payer_key, Bill.period == period))


def lines_of(db, bill_id: int) -> list[BillLine]:
    with db.unit_of_work() as s:
        return bill_lines(s, bill_id)


def run(db, period: date, **kwargs) -> dict:
    kwargs.setdefault("today", period.replace(day=20))
    with audit_context(channel="job", actor_username="test"):
        return run_billing(db, period=period, province=kwargs.pop("province", None), actor="test", **kwargs)


@pytest.fixture
def world(db, org):
    """Hà Nội: three employers (five workers), a voluntary payer, a household of two, a child paid by the State."""
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        employers = [registry.create_employer(s, registry.EmployerData(
            tax_code=code, name=f"Công ty {i}", ownership=Ownership.private, region="I"), hanoi)
            for i, code in enumerate(TAX_CODES[:3])]
        people = [registry.create_person(s, registry.PersonData(
            full_name=f"Người {i}", date_of_birth=date(1990, 1, 1 + i), sex=Sex.male), hanoi) for i in range(9)]
        salaries = [10_000_000, 10_000_000, 8_000_000, 15_000_000, 6_000_000]
        owners = [0, 0, 0, 1, 2]
        for person, salary, owner in zip(people, salaries, owners):
            participation.apply_declaration(s, employer=employers[owner], person=person, kind="join",
                                            effective_month=JAN, insured_salary=salary, submitted_by="test",
                                            today=date(2026, 1, 5))
        voluntary = people[5]
        participation.enrol_voluntary(s, person=voluntary, income=3_000_000, months=3, group="other", start=JAN,
                                      org_unit=hanoi)
        household = registry.create_household(s, head=people[6], members=[people[7]], org_unit=hanoi)
        participation.enrol_household_hi(s, household=household, members=[people[6], people[7]], start=JAN, months=12)
        participation.enrol_state_budget(s, group="TE", people=[people[8]], start=JAN, end=date(2027, 1, 1),
                                         org_unit=hanoi)
        return {"employers": [e.id for e in employers], "people": [p.id for p in people],
                "household": household.id, "hanoi": hanoi}


def test_employer_bill_equals_the_hand_computed_contributions(db, world):
    summary = run(db, JAN)
    assert summary["status"] == "completed" and summary["bills_by_type"] == {
        "employer": 3, "household": 1, "state_budget": 1, "voluntary": 1}
    first = bill(db, f"E:{world['employers'][0]}", JAN)
    # Law 41/2024 Art 33-34 and HI Law Art 13, UI (Law 74/2025 / 38/2013): employer 14% retirement + 3% sickness
    # and maternity + 0.5% occupational + 3% HI + 1% UI = 21.5%; employee 8% + 1.5% + 1% = 10.5%.
    # Salaries 10,000,000 + 10,000,000 + 8,000,000 = 28,000,000 (all above the region I floor in 2026).
    assert first.employer_amount == 28_000_000 * 215 // 1000 == 6_020_000
    assert first.employee_amount == 28_000_000 * 105 // 1000 == 2_940_000
    assert first.total == 8_960_000 and first.workers == 3 and first.adjustment_amount == 0
    assert first.due_date == date(2026, 2, 28)  # Law 41/2024 Art 34(4): the last day of the following month
    assert first.reference == bill_reference(f"E:{world['employers'][0]}", JAN) and check_reference(first.reference)
    lines = lines_of(db, first.id)
    assert len(lines) == 3 * 8  # 5 employer funds + 3 employee funds (no employee sickness/occupational share)
    worker = [line for line in lines if line.person_id == world["people"][2]]
    assert {(line.fund, line.side): line.amount for line in worker} == {
        ("retirement", "employer"): 1_120_000, ("sickness_maternity", "employer"): 240_000,
        ("occupational", "employer"): 40_000, ("health", "employer"): 240_000, ("unemployment", "employer"): 80_000,
        ("retirement", "employee"): 640_000, ("health", "employee"): 120_000, ("unemployment", "employee"): 80_000}
    # 6,000,000 is above the region I floor of 2026 too: the bill is 32% of it.
    assert bill(db, f"E:{world['employers'][2]}", JAN).total == 6_000_000 * 32 // 100


def test_voluntary_household_and_state_bills(db, world):
    run(db, JAN)
    voluntary = bill(db, f"P:{world['people'][5]}", JAN)
    expected = voluntary_single(VoluntaryInput(income=3_000_000, on=JAN, group="other", months=3), get_parameters())
    assert voluntary.total == expected["payable"] and voluntary.payer_type == "voluntary"
    # 22% × 3,000,000 × 3 months = 1,980,000 before the State support (Law 41/2024 Art 36)
    assert expected["due"] == 1_980_000 and 0 < voluntary.total < 1_980_000
    household = bill(db, f"H:{world['household']}", JAN)
    # Both members join for the first time: covered from 2026-01-31, after the card's 30-day wait (HI Law Art 16(3)(c)
    # as amended by Law 51/2024), for the 12 months paid - billed in January, the month their periods start.
    with db.unit_of_work() as s:
        starts = {p.valid_from for p in participation.coverage_history(s, world["people"][6])}
    assert starts == {date(2026, 1, 31)}
    # Decree 146/2018 Art 7(1)(e): 4.5% × 2,340,000 = 105,300 a month for the first, 70% = 73,710 for the second.
    assert household.total == 12 * (105_300 + 73_710) == 2_148_120
    state = bill(db, "S:01:TE", JAN)
    assert state.total == 105_300 and state.workers == 1  # children under 6: the State pays 4.5% × base salary
    # The voluntary cycle of 3 months is billed again in April only; the household and the State as they go.
    run(db, FEB)
    assert bill(db, f"P:{world['people'][5]}", FEB) is None and bill(db, f"H:{world['household']}", FEB) is None
    assert bill(db, "S:01:TE", FEB).total == 105_300
    run(db, date(2026, 4, 1))
    assert bill(db, f"P:{world['people'][5]}", date(2026, 4, 1)).total == voluntary.total


def _snapshot(db) -> dict:
    with db.unit_of_work() as s:
        bills = sorted(s.execute(select(
            Bill.payer_key, Bill.period, Bill.payer_type, Bill.reference, Bill.due_date, Bill.employer_amount,
            Bill.employee_amount, Bill.adjustment_amount, Bill.total, Bill.workers, Bill.province_2025,
            Bill.org_unit_id)).all())
        lines = sorted(s.execute(select(
            Bill.reference, BillLine.person_id, BillLine.fund, BillLine.side, BillLine.insured_salary,
            BillLine.amount, BillLine.for_period, BillLine.adjustment).join(Bill, Bill.id == BillLine.bill_id)).all())
        ledger = sorted(s.execute(select(
            LedgerEntry.txn, LedgerEntry.account, LedgerEntry.payer_key, LedgerEntry.fund, LedgerEntry.amount,
            LedgerEntry.posted_on, LedgerEntry.source_type, LedgerEntry.period, LedgerEntry.province_2025)).all(),
            key=repr)
    return {"bills": bills, "lines": lines, "ledger": ledger}


def test_running_twice_changes_nothing(db, world):
    first = run(db, JAN, chunks=3)
    before = _snapshot(db)
    second = run(db, JAN, chunks=5)
    assert second["resumed"] and second["chunks_this_time"] == 0 and second["bills"] == first["bills"] == 6
    assert _snapshot(db) == before
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(BillingRun)) == 1


def test_a_stopped_run_resumes_to_the_same_bills_as_an_uninterrupted_one(db, world):
    connection = db.session_factory.kw["bind"]
    savepoint = connection.begin_nested()
    uninterrupted = run(db, JAN, chunks=4)
    expected = _snapshot(db)
    savepoint.rollback()
    assert _snapshot(db) == {"bills": [], "lines": [], "ledger": []}

    with pytest.raises(BillingInterrupted):
        run(db, JAN, chunks=4, stop_after_chunks=1)
    with db.unit_of_work() as s:
        stopped = s.scalar(select(BillingRun))
        assert stopped.status == "running"
        assert s.scalar(select(func.count()).select_from(BillingChunk)) == 1
    resumed = run(db, JAN)
    assert resumed["resumed"] and resumed["chunks_this_time"] == 3 and resumed["status"] == "completed"
    assert resumed["bills"] == uninterrupted["bills"] and resumed["total"] == uninterrupted["total"]
    assert _snapshot(db) == expected


def test_a_retroactive_salary_change_adjusts_the_next_bill_and_leaves_the_closed_one(db, world):
    run(db, JAN)
    employer_key = f"E:{world['employers'][0]}"
    january = bill(db, employer_key, JAN)
    january_lines = [(line.fund, line.side, line.amount) for line in lines_of(db, january.id)]
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        from ansinh.registry.models import Employer, Person

        declaration = participation.apply_declaration(
            s, employer=s.get(Employer, world["employers"][0]), person=s.get(Person, world["people"][0]),
            kind="salary_change", effective_month=JAN, insured_salary=12_000_000, submitted_by="test",
            today=date(2026, 2, 10))
        assert declaration.needs_rebilling
        declaration_id = declaration.id
    run(db, FEB)
    assert bill(db, employer_key, JAN).total == january.total  # the closed bill is unchanged
    assert [(line.fund, line.side, line.amount) for line in lines_of(db, january.id)] == january_lines
    february = bill(db, employer_key, FEB)
    adjustments = [line for line in lines_of(db, february.id) if line.adjustment]
    assert {line.for_period for line in adjustments} == {JAN}
    assert {line.person_id for line in adjustments} == {world["people"][0]}
    # 2,000,000 more for January: employer 21.5% = 430,000, employee 10.5% = 210,000
    assert sum(line.amount for line in adjustments if line.side == "employer") == 430_000
    assert sum(line.amount for line in adjustments if line.side == "employee") == 210_000
    assert february.adjustment_amount == 640_000
    assert february.total == (12_000_000 + 10_000_000 + 8_000_000) * 32 // 100 + 640_000
    with db.unit_of_work() as s:
        assert s.get(Declaration, declaration_id).needs_rebilling is False
    # billing March does not adjust January again
    run(db, date(2026, 3, 1))
    assert bill(db, employer_key, date(2026, 3, 1)).adjustment_amount == 0


def test_a_retroactive_leave_gives_a_negative_adjustment(db, world):
    run(db, JAN)
    run(db, FEB)
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        from ansinh.registry.models import Employer, Person

        participation.apply_declaration(
            s, employer=s.get(Employer, world["employers"][2]), person=s.get(Person, world["people"][4]),
            kind="leave", effective_month=FEB, submitted_by="test", today=date(2026, 3, 10))
    run(db, date(2026, 3, 1))
    march = bill(db, f"E:{world['employers'][2]}", date(2026, 3, 1))
    assert march is not None and march.workers == 0
    assert march.adjustment_amount == march.total == -(6_000_000 * 32 // 100)


def test_every_bill_posts_a_balanced_transaction(db, world):
    summary = run(db, JAN)
    with db.unit_of_work() as s:
        balances = trial_balance(s)
        assert sum(balances.values()) == 0
        assert balances["receivable"] == summary["total"] == s.scalar(select(func.sum(Bill.total)))
        per_bill = s.execute(select(LedgerEntry.txn, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.txn)).all()
        assert len(per_bill) == summary["bills"] and all(total == 0 for _, total in per_bill)
        by_fund = dict(s.execute(select(LedgerEntry.fund, func.sum(LedgerEntry.amount))
                                 .where(LedgerEntry.account == "contributions_income").group_by(LedgerEntry.fund)).all())
        assert set(by_fund) == {"retirement", "sickness_maternity", "occupational", "health", "unemployment"}


def test_bill_lines_are_consistent_without_foreign_keys(db, world):
    from ansinh.collection.billing import check_integrity
    from ansinh.collection.models import BillLine

    run(db, JAN)
    run(db, FEB)
    with db.unit_of_work() as s:
        counts = check_integrity(s)
        assert {"lines_without_bill", "lines_without_person", "bills_not_matching_their_lines"} <= set(counts)
        assert set(counts.values()) == {0}, counts
        s.add(BillLine(bill_id=10**9, person_id=None, fund="health", side="employer", amount=1,
                       for_period=JAN))  # an orphan line, as a broken writer would leave it
        s.flush()
        assert check_integrity(s)["lines_without_bill"] == 1
        s.rollback()


def test_a_province_run_leaves_other_provinces_and_the_national_run_skips_what_is_billed(db, world, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        sonla = s.get(OrgUnit, org.sonla.id)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code=TAX_CODES[3], name="Công ty Sơn La", ownership=Ownership.private, region="III"), sonla)
        worker = registry.create_person(s, registry.PersonData(full_name="Lò Văn Ún", date_of_birth=date(1995, 2, 2),
                                                               sex=Sex.male), sonla)
        participation.apply_declaration(s, employer=employer, person=worker, kind="join", effective_month=JAN,
                                        insured_salary=7_000_000, submitted_by="test", today=date(2026, 1, 5))
        sonla_key = f"E:{employer.id}"
    hanoi = run(db, JAN, province="01")
    assert hanoi["bills"] == 6 and bill(db, sonla_key, JAN) is None
    country = run(db, JAN)
    assert country["bills"] == 1 and bill(db, sonla_key, JAN).total == 7_000_000 * 32 // 100
    with pytest.raises(Exception) as bad:
        run(db, JAN, province="0'1")
    assert getattr(bad.value, "field", None) == "province"


def test_references_carry_check_digits():
    reference = bill_reference("E:123", JAN)
    assert reference.startswith("202601E123") and len(reference) <= 32 and check_reference(reference)
    assert check_reference(reference.lower())
    assert not check_reference(reference[:-1] + str((int(reference[-1]) + 1) % 10))
    assert not check_reference("202601E124" + reference[-2:]) and not check_reference("")
    assert len(bill_reference("E:" + "9" * 19, JAN)) <= 32
    assert billing.due_date(date(2025, 6, 1)) == date(2025, 6, 30)  # before Law 41/2024: the same month


# --- API and CLI ------------------------------------------------------------------------------------------

@pytest.fixture
def billing_client(app, client):
    from ansinh.collection.billing_api import router

    if not any(getattr(route, "path", "") == "/api/v1/billing/runs" for route in app.routes):
        app.include_router(router)
    return client


def test_api_runs_billing_and_reads_bills(db, world, billing_client, make_user, org):
    client = billing_client
    make_user("officer", org.hanoi, Role.provincial_officer)
    make_user("boss", org.hanoi, Role.employer, subject_ref=TAX_CODES[0])
    make_user("other", org.hanoi, Role.employer, subject_ref=TAX_CODES[1])
    make_user("sonla", org.sonla, Role.provincial_officer)
    officer = api_token(client, "officer")
    assert client.post("/api/v1/billing/runs", json={"period": "2026-13"}, headers=officer).status_code == 422
    assert client.post("/api/v1/billing/runs", json={"period": "2026-01"}, headers=officer).status_code == 403
    response = client.post("/api/v1/billing/runs", json={"period": "2026-01", "province": "01"}, headers=officer)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["status"] == "completed" and summary["bills"] == 6
    again = client.post("/api/v1/billing/runs", json={"period": "2026-01", "province": "01"}, headers=officer)
    assert again.json()["run_id"] == summary["run_id"] and again.json()["resumed"]
    assert client.get(f"/api/v1/billing/runs/{summary['run_id']}", headers=officer).json()["bills"] == 6
    assert client.get("/api/v1/billing/runs/999999", headers=officer).status_code == 404
    first = bill(db, f"E:{world['employers'][0]}", JAN)
    body = client.get(f"/api/v1/bills/{first.id}", headers=officer).json()
    assert body["total"] == 8_960_000 and len(body["lines"]) == 24 and body["reference"] == first.reference
    assert client.get(f"/api/v1/bills/{first.id}", headers=api_token(client, "boss")).status_code == 200
    assert client.get(f"/api/v1/bills/{first.id}", headers=api_token(client, "other")).status_code == 403
    assert client.get(f"/api/v1/bills/{first.id}", headers=api_token(client, "sonla")).status_code == 403
    state = bill(db, "S:01:TE", JAN)
    assert client.get(f"/api/v1/bills/{state.id}", headers=api_token(client, "boss")).status_code == 403
    assert client.get("/api/v1/bills/999999", headers=officer).status_code == 404


def test_cli_billing_run(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from typer.testing import CliRunner

    from ansinh.collection.billing_cli import billing_app

    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSINH_")} | {"ANSINH_VAR_DIR": str(tmp_path)}
    ansinh = str(Path(sys.executable).with_name("ansinh"))
    assert subprocess.run([ansinh, "db", "upgrade"], env=env, capture_output=True, timeout=300).returncode == 0
    code = ("import sys; from ansinh.collection.billing_cli import billing_app; "
            "sys.argv = ['billing'] + sys.argv[1:]; billing_app()")
    result = subprocess.run([sys.executable, "-c", code, "run", "--period", "2026-01", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == "completed" and body["bills"] == 0 and body["province"] == "*"
    bad = subprocess.run([sys.executable, "-c", code, "run", "--period", "January"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "--period" in bad.stderr
    assert CliRunner().invoke(billing_app, ["run", "--help"]).exit_code == 0
