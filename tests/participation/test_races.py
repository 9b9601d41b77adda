"""Requests that race, on PostgreSQL with real commits (issue 10): the same declaration, enrolment or household sent
many times at once has one effect and no server error, with or without an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import date

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.participation.models import CoveragePeriod, Declaration
from ansinh.registry import service as registry
from ansinh.registry.models import Household, Ownership, Person, Sex
from tests.conftest import PASSWORD
from tests.live import fire, fresh_postgres, live_server, live_settings
from tests.test_trust import _agency

pytestmark = pytest.mark.postgres
DECLARATION = {"employer_tax_code": "0100109106", "citizen_id": "001090012345", "kind": "join",
               "effective_month": "2025-03-01", "insured_salary": 10_000_000}


def _records(database) -> dict:
    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        hanoi = s.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
        registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        an = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id="001090012345"), hanoi)
        binh = registry.create_person(s, registry.PersonData(
            full_name="Trần Thị Bình", date_of_birth=date(1992, 3, 1), sex=Sex.female, citizen_id="001192012346"),
            hanoi)
        return {"an": an.id, "binh": binh.id}


@pytest.fixture
def server(tmp_path):
    with fresh_postgres() as database:
        _agency(database)
        ids = _records(database)
        with live_server(database, live_settings(tmp_path)) as base, httpx.Client(timeout=60) as http:
            token = http.post(f"{base}/api/v1/auth/token", json={"username": "hn.canbo", "password": PASSWORD}
                              ).json()["access_token"]
            yield database, base, http, {"Authorization": f"Bearer {token}"}, ids


def _count(database, model, *where) -> int:
    with database.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_twenty_identical_declarations_with_one_key_declare_once(server):
    database, base, http, headers, _ = server
    keyed = {**headers, "Idempotency-Key": "race-declaration-0001"}
    answers = fire(20, lambda i: http.post(f"{base}/api/v1/declarations", json=DECLARATION, headers=keyed))
    assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers if a.status_code != 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(database, Declaration) == 1 and _count(database, CoveragePeriod) == 3


def test_twenty_identical_declarations_without_a_key_declare_once_and_refuse_the_others_cleanly(server):
    database, base, http, headers, _ = server
    answers = fire(20, lambda i: http.post(f"{base}/api/v1/declarations", json=DECLARATION, headers=headers))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and set(codes) <= {201, 422, 503}, [a.text for a in answers if a.status_code >= 500
                                                                     and a.status_code != 503]
    assert _count(database, Declaration) == 1 and _count(database, CoveragePeriod) == 3


def test_concurrent_enrolments_of_one_person_enrol_once(server):
    database, base, http, headers, ids = server
    body = {"person_id": ids["binh"], "income": 3_000_000, "months": 3, "group": "other", "start": "2025-01-01"}
    answers = fire(10, lambda i: http.post(f"{base}/api/v1/enrolments/voluntary", json=body, headers=headers))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and set(codes) <= {201, 409, 503}, codes
    assert _count(database, CoveragePeriod, CoveragePeriod.person_id == ids["binh"]) == 1


def test_one_person_put_in_households_at_once_belongs_to_one(server):
    database, base, http, headers, ids = server
    body = {"head_person_id": ids["an"], "member_person_ids": [ids["binh"]], "org_unit_code": "BHXH-01"}
    answers = fire(10, lambda i: http.post(f"{base}/api/v1/households", json=body, headers=headers))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and set(codes) <= {201, 409, 503}, codes
    assert _count(database, Household) == 1
    made = next(a.json()["id"] for a in answers if a.status_code == 201)
    with database.unit_of_work() as s:
        assert {p.household_id for p in s.scalars(select(Person))} == {made}
