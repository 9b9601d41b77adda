"""Batches survive bad records: a billing run bills every payer it can, records each payer it could not with
the reason, and ends ``completed_with_exceptions``; once an officer corrects the record, running the same
month again bills those payers only. One process bills a run at a time (a lease), and a run whose process died
is resumed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.collection import billing
from ansinh.collection.billing import BillingInterrupted, run_billing
from ansinh.collection.models import Bill, BillingException, BillingRun
from ansinh.collection.reconcile import check_integrity
from ansinh.db import utcnow
from ansinh.errors import Conflict
from ansinh.participation import service as participation
from ansinh.participation.models import CoveragePeriod, Scheme
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from tests.collection.test_billing import TAX_CODES
from tests.conftest import api_token

#: The rural poverty line, floor of voluntary incomes, goes from 1.5 M to 2.2 M in 2027.
DEC, JAN = date(2026, 12, 1), date(2027, 1, 1)


def run(db, period: date = JAN, **kwargs) -> dict:
    with audit_context(channel="job", actor_username="test"):
        return run_billing(db, period=period, province=kwargs.pop("province", None), actor="test",
                           today=period.replace(day=20), **kwargs)


@pytest.fixture
def world(db, org):
    """Hà Nội: two employers (a worker each), two voluntary payers — one whose income of 2026 is under the
    floor of 2027."""
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        employers = [registry.create_employer(s, registry.EmployerData(
            tax_code=code, name=f"Công ty {i}", ownership=Ownership.private, region="I"), hanoi)
            for i, code in enumerate(TAX_CODES[:2])]
        people = [registry.create_person(s, registry.PersonData(
            full_name=f"Người {i}", date_of_birth=date(1990, 1, 1 + i), sex=Sex.male), hanoi)
            for i in range(4)]
        for employer, person in zip(employers, people[:2], strict=True):
            participation.apply_declaration(s, employer=employer, person=person, kind="join",
                                            effective_month=DEC, insured_salary=12_000_000,
                                            submitted_by="test", today=date(2026, 12, 5))
        for person, income in ((people[2], 1_600_000), (people[3], 3_000_000)):
            participation.enrol_voluntary(s, person=person, income=income, months=1, group="other", start=DEC,
                                          org_unit=hanoi)
        return {"employers": [e.id for e in employers], "people": [p.id for p in people], "hanoi": hanoi.id}


def bills_by_payer(db, period: date = JAN) -> dict[str, int]:
    with db.unit_of_work() as s:
        return dict(s.execute(select(Bill.payer_key, Bill.id).where(Bill.period == period)).all())


def reenrol(db, person_id: int, income: int, unit_id: int) -> None:
    """What an officer does: the enrolment of 2026 is ended, a new one starts in 2027 on an income of 2027."""
    with audit_context(channel="job", actor_username="officer"), db.unit_of_work() as s:
        s.execute(update(CoveragePeriod).where(CoveragePeriod.person_id == person_id,
                                               CoveragePeriod.scheme == Scheme.si_voluntary)
                  .values(superseded_at=utcnow()))
        participation.enrol_voluntary(s, person=s.get(registry.Person, person_id), income=income, months=1,
                                      group="other", start=JAN, org_unit=s.get(OrgUnit, unit_id))


def test_a_voluntary_income_under_the_new_floor_holds_back_that_payer_only(db, world):
    late, fine = (f"P:{world['people'][i]}" for i in (2, 3))
    summary = run(db)
    assert summary["status"] == "completed_with_exceptions"
    assert summary["bills_by_type"] == {"employer": 2, "voluntary": 1} and summary["bills"] == 3
    assert summary["exceptions"] == 1 and summary["exceptions_resolved"] == 0
    [refused] = summary["exception_list"]
    assert (refused["payer_key"], refused["payer_type"], refused["reason"]) == (late, "voluntary", "income")
    assert "2,200,000" in refused["message"] and "1,600,000" in refused["message"]
    billed = bills_by_payer(db)
    assert fine in billed and late not in billed

    # running again before the record is corrected bills nothing more and keeps the exception
    again = run(db)
    assert again["status"] == "completed_with_exceptions" and again["exceptions"] == 1
    assert bills_by_payer(db) == billed

    reenrol(db, world["people"][2], 2_200_000, world["hanoi"])
    resolved = run(db)
    assert resolved["status"] == "completed"
    assert (resolved["exceptions"], resolved["exceptions_resolved"]) == (0, 1)
    assert resolved["bills"] == 4 and resolved["bills_by_type"] == {"employer": 2, "voluntary": 2}
    after = bills_by_payer(db)
    assert {key: after[key] for key in billed} == billed  # the others were not billed again
    with db.unit_of_work() as s:
        assert s.get(Bill, after[late]).total > 0
        exception = s.scalar(select(BillingException).where(BillingException.payer_key == late))
        assert exception.resolved_at is not None and exception.bill_id == after[late]
        assert s.scalar(select(func.count()).select_from(Bill).where(Bill.period == JAN)) == 4
        assert set(check_integrity(s).values()) == {0}
    assert run(db)["status"] == "completed"  # and now nothing is left to do


def test_a_worker_without_a_salary_holds_back_that_employer_until_corrected(db, world):
    first, second = world["employers"]
    with db.unit_of_work() as s:  # as a faulty import would leave it
        s.execute(update(CoveragePeriod).where(CoveragePeriod.employer_id == first,
                                               CoveragePeriod.scheme == Scheme.hi)
                  .values(insured_salary=None))
    summary = run(db)
    reasons = {row["payer_key"]: row["reason"] for row in summary["exception_list"]}
    assert reasons == {f"E:{first}": "no_salary", f"P:{world['people'][2]}": "income"}
    assert f"E:{second}" in bills_by_payer(db) and f"E:{first}" not in bills_by_payer(db)
    with audit_context(channel="job", actor_username="officer"), db.unit_of_work() as s:
        participation.apply_declaration(s, employer=s.get(registry.Employer, first),
                                        person=s.get(registry.Person, world["people"][0]),
                                        kind="salary_change", effective_month=JAN, insured_salary=12_500_000,
                                        submitted_by="officer", today=date(2027, 1, 5))
    again = run(db)
    assert [row["payer_key"] for row in again["exception_list"]] == [f"P:{world['people'][2]}"]
    assert f"E:{first}" in bills_by_payer(db)


def test_the_api_and_the_cli_list_the_exceptions(db, world, client, make_user, org, monkeypatch):
    from ansinh import db as db_module
    from ansinh.collection.billing_cli import billing_app

    make_user("officer", org.hanoi, Role.provincial_officer)
    headers = api_token(client, "officer")
    answer = client.post("/api/v1/billing/runs", json={"period": "2027-01", "province": "01"},
                         headers=headers)
    assert answer.status_code == 200 and answer.json()["status"] == "completed_with_exceptions"
    run_id = answer.json()["run_id"]
    listed = client.get(f"/api/v1/billing/runs/{run_id}/exceptions", headers=headers).json()
    assert [row["payer_key"] for row in listed] == [f"P:{world['people'][2]}"]
    assert client.get(f"/api/v1/billing/runs/{run_id}", headers=headers).json()["exceptions"] == 1

    monkeypatch.setattr(db_module, "_database", db)
    result = CliRunner().invoke(billing_app, ["run", "--period", "2027-02"])
    assert result.exit_code == 0, result.output
    assert "completed_with_exceptions" in result.output and f"P:{world['people'][2]}" in result.output
    assert "not billed" in result.output


def test_one_process_at_a_time_and_a_dead_one_is_resumed(db, world, client, make_user, org):
    with pytest.raises(BillingInterrupted):
        run(db, chunks=4, stop_after_chunks=1)
    with db.unit_of_work() as s:  # another process holds the run (its lease is live)
        s.execute(update(BillingRun).values(lease_owner="another-process",
                                            lease_until=utcnow() + timedelta(minutes=5)))
    with pytest.raises(Conflict):
        run(db)
    make_user("quantri", org.national, Role.administrator)
    busy = client.post("/api/v1/billing/runs", json={"period": "2027-01"},
                       headers=api_token(client, "quantri"))
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "conflict"
    assert "tiến trình khác" in busy.json()["error"]["message"]  # "another process", in the user's language
    with db.unit_of_work() as s:  # that process died: its lease ran out
        s.execute(update(BillingRun).values(lease_until=utcnow() - timedelta(seconds=1)))
    summary = run(db)
    assert summary["resumed"] and summary["chunks_done"] == 4
    assert summary["status"] == "completed_with_exceptions"
    with db.unit_of_work() as s:
        finished = s.scalar(select(BillingRun))
        assert finished.lease_owner is None and finished.lease_until is None
    assert billing.LEASE >= timedelta(minutes=5)
