"""The yearly budgets of HI medical costs: a province's estimate set by national staff, its facilities' figures by the
province's officers, every change a new version (never an overwrite), read as in force on a day."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.cards import facilities
from ansinh.claims.budgets import service
from ansinh.claims.budgets.models import HiBudget
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from tests.conftest import api_token, web_login

BILLION = 1_000_000_000


@pytest.fixture
def hospitals(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        facilities.create_facility(s, facilities.FacilityData(code="01001", name="Bệnh viện Đa khoa Hà Đông",
                                                              level="provincial"), hanoi)
        facilities.create_facility(s, facilities.FacilityData(code="01002", name="Trung tâm Y tế Ba Đình",
                                                              level="district"), hanoi)
        facilities.create_facility(s, facilities.FacilityData(code="14001", name="Bệnh viện Đa khoa tỉnh Sơn La",
                                                              level="provincial"), sonla)


def test_figures_are_versioned_and_read_as_in_force_on_a_day(session, org, hospitals):
    first = service.set_budget(session, province="01", year=2026, amount=11_800 * BILLION,
                               source="QĐ 123/QĐ-BHXH", valid_from=date(2025, 12, 20), actor="test")
    assert service.set_budget(session, province="01", year=2026, amount=11_800 * BILLION,
                              source="QĐ  123/QĐ-BHXH", valid_from=date(2025, 12, 20), actor="test") is first
    service.set_budget(session, province="01", year=2026, facility_code="01001", amount=4_000 * BILLION,
                       source="QĐ 5/QĐ-BHXH01", valid_from=date(2026, 1, 1), actor="test")
    service.set_budget(session, province="01", year=2026, facility_code="01002", amount=500 * BILLION,
                       source="QĐ 5/QĐ-BHXH01", valid_from=date(2026, 1, 1), actor="test")
    adjusted = service.set_budget(session, province="01", year=2026, facility_code="01001",
                                  amount=4_200 * BILLION, source="QĐ 88/QĐ-BHXH01", valid_from=date(2026, 10, 31),
                                  actor="test")
    assert adjusted.version == 2
    latest = service.budget_for(session, "01", 2026)
    assert latest.total.amount == 11_800 * BILLION
    assert [(b.facility_code, b.amount, b.version) for b in latest.facilities] == [
        ("01001", 4_200 * BILLION, 2), ("01002", 500 * BILLION, 1)]
    assert (latest.assigned, latest.unassigned) == (4_700 * BILLION, 7_100 * BILLION)
    summer = service.budget_for(session, "01", 2026, on=date(2026, 7, 1))
    assert summer.facilities[0].amount == 4_000 * BILLION  # the adjustment takes effect later
    assert len(summer.history) == 4 and summer.names["01001"] == "Bệnh viện Đa khoa Hà Đông"
    assert session.scalar(select(func.count()).select_from(HiBudget)) == 4  # nothing overwritten
    assert service.budget_for(session, "01", 2025).total is None
    json = latest.to_json()
    assert json["facilities"][0]["facility_name"] == "Bệnh viện Đa khoa Hà Đông"


def test_what_a_figure_may_be(session, org, hospitals):
    def attempt(**changes):
        values = dict(province="01", year=2026, amount=BILLION, source="QĐ 1", valid_from=date(2026, 1, 1))
        return service.set_budget(session, **{**values, **changes}, actor="test")

    for changes, field in ((dict(year=1999), "year"), (dict(amount=-1), "amount"), (dict(source=" "), "source"),
                           (dict(valid_from=date(2024, 1, 1)), "valid_from"), (dict(province="1"), "province"),
                           (dict(facility_code="14001"), "facility")):
        with pytest.raises(ValidationFailed) as refused:
            attempt(**changes)
        assert refused.value.field == field, changes
    with pytest.raises(NotFound):
        attempt(province="99")
    with pytest.raises(NotFound):
        attempt(facility_code="01999")
    attempt(valid_from=date(2026, 6, 1))
    with pytest.raises(ValidationFailed):  # a new version takes effect on or after the one before
        attempt(amount=2 * BILLION, valid_from=date(2026, 3, 1))


def test_who_sets_and_reads_the_budgets(session, org, hospitals, make_user):
    def principal(username, unit, role, **fields):
        user = make_user(username, unit, role, **fields)
        return auth_service.principal_for(session.get(User, user.id))

    national = principal("tw.dt", org.national, Role.national_officer)
    hanoi = principal("hn.dt", org.hanoi, Role.provincial_officer)
    sonla = principal("sl.dt", org.sonla, Role.provincial_officer)
    district = principal("bd.dt", org.hanoi_office, Role.district_officer)
    clinic = principal("bv.dt", org.hanoi, Role.facility, subject_ref="01001")
    args = dict(province="01", year=2026, amount=BILLION, source="QĐ 1", valid_from=date(2026, 1, 1))
    service.set_budget(session, **args, principal=national)
    service.set_budget(session, **args, facility_code="01001", principal=hanoi)
    for who, facility_code in ((hanoi, None), (sonla, "01001"), (district, "01001"), (clinic, "01001"),
                               (sonla, None)):
        with pytest.raises(PermissionDenied):
            service.set_budget(session, **{**args, "amount": 2 * BILLION}, facility_code=facility_code,
                               principal=who)
    for reader in (national, hanoi, district):
        assert service.budget_for(session, "01", 2026, principal=reader).total.amount == BILLION
    for outsider in (sonla, clinic):
        with pytest.raises(PermissionDenied):
            service.budget_for(session, "01", 2026, principal=outsider)


def test_the_budgets_through_the_api_and_the_page(db, client, org, hospitals, make_user):
    make_user("tw.dt", org.national, Role.national_officer)
    make_user("hn.dt", org.hanoi, Role.provincial_officer)
    make_user("sl.dt", org.sonla, Role.provincial_officer)
    national, hanoi, sonla = (api_token(client, name) for name in ("tw.dt", "hn.dt", "sl.dt"))
    body = {"province": "01", "year": 2026, "amount": 11_800 * BILLION, "source": "QĐ 123/QĐ-BHXH"}
    assert client.post("/api/v1/claims/budgets", json=body, headers=hanoi).status_code == 403
    created = client.post("/api/v1/claims/budgets", json=body, headers=national)
    assert created.status_code == 201 and created.json()["version"] == 1
    figure = {**body, "facility_code": "01001", "amount": 4_000 * BILLION}
    assert client.post("/api/v1/claims/budgets", json=figure, headers=sonla).status_code == 403
    assert client.post("/api/v1/claims/budgets", json=figure, headers=hanoi).status_code == 201
    assert client.get("/api/v1/claims/budgets?province=01&year=2026", headers=sonla).status_code == 403
    read = client.get("/api/v1/claims/budgets?province=01&year=2026", headers=hanoi).json()
    assert (read["total"]["amount"], read["assigned"]) == (11_800 * BILLION, 4_000 * BILLION)

    assert web_login(client, "hn.dt").status_code == 303
    client.get("/lang/vi")
    page = client.get("/claims/budgets?year=2026", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'data-facility="01001"' in page.text
    assert "11.800.000.000.000" in page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    posted = client.post("/claims/budgets", headers={"Accept": "text/html"}, follow_redirects=False, data={
        "csrf_token": csrf, "province": "01", "year": "2026", "facility": "01002", "amount": "500.000.000.000",
        "source": "QĐ 5/QĐ-BHXH01"})
    assert posted.status_code == 303, posted.text[:2000]
    refused = client.post("/claims/budgets", headers={"Accept": "text/html"}, data={
        "csrf_token": csrf, "province": "01", "year": "2026", "facility": "14001", "amount": "5",
        "source": "QĐ 5"})
    assert refused.status_code == 422 and 'data-error="facility"' in refused.text
    assert client.get("/claims/budgets?province=14&year=2026", headers={"Accept": "text/html"}).status_code == 403
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(HiBudget)) == 3
