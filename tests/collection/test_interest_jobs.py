"""Late interest as a job (kind ``interest``): in-process over the country, it posts the interest
``accrue_interest`` posts (province by province, and the payers without a province); a chunk delivered again posts
nothing; a province office cannot start it for another province (403, nothing written)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.api import create_app
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.collection import arrears
from ansinh.collection.models import INTEREST_INCOME, INTEREST_RECEIVABLE, LedgerEntry
from ansinh.config import Settings
from ansinh.errors import ValidationFailed
from ansinh.jobs import service
from ansinh.jobs.models import Job, JobChunk
from tests.collection.arrears_fixtures import make_bill, make_employer, pay
from tests.conftest import api_token, job_unit

ON = date(2025, 8, 15)


@pytest.fixture
def unpaid(db, org):
    """Two employers in Hà Nội (01), one in Sơn La (14) and a payer without a province, with bills of Jan–Mar
    2025 left (partly) unpaid."""
    with job_unit(db) as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        payers = [(make_employer(s, hanoi, "Công ty Đức Hưng"), hanoi, "01"),
                  (make_employer(s, hanoi, "Công ty An Khang"), hanoi, "01"),
                  (make_employer(s, sonla, "Hợp tác xã Mường Tè"), sonla, "14"),
                  (make_employer(s, hanoi, "Công ty Không Tỉnh"), hanoi, None)]
        for i, (employer, unit, province) in enumerate(payers):
            key = f"E:{employer.id}"
            bills = [make_bill(s, payer_key=key, period=date(2025, month, 1), due=due, total=10_000_000 + i * 1_000,
                               unit=unit, province=province, employer_id=employer.id)
                     for month, due in ((1, date(2025, 1, 31)), (2, date(2025, 2, 28)), (3, date(2025, 3, 31)))]
            if i == 1:  # pays February's bill half, late
                pay(s, payer_key=key, amount=5_000_000, paid_on=date(2025, 3, 10), province=province,
                    allocate=[(bills[1], 5_000_000, "principal")])


def _interest(s: Session) -> list[tuple]:
    return sorted(s.execute(select(LedgerEntry.account, LedgerEntry.payer_key, LedgerEntry.province_2025,
                                   LedgerEntry.amount, LedgerEntry.posted_on)
                            .where(LedgerEntry.source_type == "interest")).all(), key=repr)


def _start(db, params: dict, principal=None) -> Job:
    with audit_context(channel="cli", actor_username="test"):
        job_id = service.start_job(db, "interest", params, actor="test", principal=principal, broker_url="")
    with db.unit_of_work() as s:
        return s.get(Job, job_id)


def test_an_interest_job_posts_what_the_accrual_posts_and_a_chunk_again_posts_nothing(db, unpaid):
    connection = db.session_factory.kw["bind"]
    savepoint = connection.begin_nested()
    with job_unit(db) as s:
        expected_total = arrears.accrue_interest(s, on=ON)
    with db.unit_of_work() as s:
        expected = _interest(s)
    savepoint.rollback()
    with db.unit_of_work() as s:
        assert _interest(s) == []
    assert expected_total > 0 and {row[2] for row in expected} == {"01", "14", None}

    job = _start(db, {"on": ON.isoformat()})
    assert job.status == "completed" and job.key == "interest:2025-08-15:*"
    with db.unit_of_work() as s:
        got = _interest(s)
        chunks = dict(s.execute(select(JobChunk.chunk, JobChunk.status).where(JobChunk.job_id == job.id)).all())
    assert [(a, k, p, amount) for a, k, p, amount, _ in got] == [(a, k, p, amount) for a, k, p, amount, _ in expected]
    assert {row[4] for row in got} == {ON}
    assert {"01", "14", "*"} <= set(chunks) and set(chunks.values()) == {"done"}
    by_province = {p["province"]: p for p in job.result["by_province"]}
    assert job.result["amount"] == expected_total == sum(p["amount"] for p in by_province.values())
    assert by_province["01"]["rows"] == 2 and by_province["14"]["rows"] == 1 and by_province[None]["rows"] == 1
    assert by_province["14"]["amount"] == sum(row[3] for row in expected
                                              if row[0] == INTEREST_RECEIVABLE and row[2] == "14")

    # a chunk delivered again (its row set back as a redelivered message finds it) posts nothing more
    with db.unit_of_work() as s:
        row = s.scalar(select(JobChunk).where(JobChunk.job_id == job.id, JobChunk.chunk == "01"))
        row.status = "running"
    assert service.execute_chunk(db, job.id, "01", worker="again").outcome == "done"
    with db.unit_of_work() as s:
        assert _interest(s) == got
    # the same job started again: found by its key, nothing written
    assert _start(db, {"on": ON.isoformat()}).id == job.id
    with db.unit_of_work() as s:
        assert _interest(s) == got
    assert -sum(row[3] for row in got if row[0] == INTEREST_INCOME) == expected_total


def test_a_province_job_accrues_that_province_only(db, unpaid):
    job = _start(db, {"on": ON.isoformat(), "province": "14"})
    assert job.status == "completed" and job.key == "interest:2025-08-15:14"
    with db.unit_of_work() as s:
        provinces = {row[2] for row in _interest(s)}
        assert list(s.scalars(select(JobChunk.chunk).where(JobChunk.job_id == job.id))) == ["14"]
    assert provinces == {"14"} and [p["province"] for p in job.result["by_province"]] == ["14"]


def test_bad_parameters_are_refused(db):
    with pytest.raises(ValidationFailed) as error:
        _start(db, {"on": "2025-02-30"})
    assert error.value.field == "on"
    with pytest.raises(ValidationFailed) as error:
        _start(db, {"province": "Hà Nội"})
    assert error.value.field == "province"
    from ansinh import clock

    with pytest.raises(ValidationFailed) as error:  # whatever today is, the day after has not come
        _start(db, {"on": (clock.today() + timedelta(days=1)).isoformat()})
    assert error.value.field == "on"
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


@pytest.fixture
def app(db, tmp_path):  # no broker: jobs run in-process (in the test's connection, to their end)
    return create_app(Settings(env="test", var_dir=tmp_path / "var", secret_key="t" * 48, database_url="sqlite://",
                               lookup_log_flush_ms=0, broker_url=""), database=db)


def test_a_province_office_cannot_start_it_for_another_province(db, unpaid, client, make_user, org):
    make_user("sonla", org.sonla, Role.provincial_officer)
    sonla = api_token(client, "sonla")
    for body in ({"kind": "interest", "province": "01"}, {"kind": "interest"}):
        refused = client.post("/api/v1/jobs", json=body, headers=sonla)
        assert refused.status_code == 403, refused.text
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0 and _interest(s) == []
    started = client.post("/api/v1/jobs", json={"kind": "interest", "province": "14"}, headers=sonla)
    assert started.status_code == 202 and started.json()["status"] == "completed", started.text
    assert started.json()["params"]["on"] == started.json()["params"]["on"][:10]  # a day, defaulted to today


def test_the_api_accrues_to_the_day_it_is_given_as_the_accrual_does(db, unpaid, client, make_user, org):
    make_user("sonla", org.sonla, Role.provincial_officer)
    sonla = api_token(client, "sonla")
    bad = client.post("/api/v1/jobs", json={"kind": "interest", "province": "14", "on": "2025-02-30"}, headers=sonla)
    assert bad.status_code == 422
    started = client.post("/api/v1/jobs", json={"kind": "interest", "province": "14", "on": ON.isoformat()},
                          headers=sonla)
    assert started.status_code == 202 and started.json()["params"]["on"] == ON.isoformat(), started.text
    with db.unit_of_work() as s:
        posted = _interest(s)
    assert posted and {row.province_2025 for row in posted} == {"14"} and {row.posted_on for row in posted} == {ON}
