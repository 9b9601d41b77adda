"""Drill-down: the records behind a figure, for the page, the API and the Excel export, each listing audited; the
lists need registry.read and the province in scope. Hand-built arrears: in Hà Nội (01) an employer that paid
nothing of its bills of January to April 2025 and one that paid every bill; in Sơn La (14) one that paid nothing."""

from __future__ import annotations

import io
import re
from datetime import date

import polars as pl
import pytest
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.auth.service import principal_for
from ansinh.errors import NotFound, PermissionDenied
from ansinh.targets.drilldown import DRILLS, drill_rows, drill_xlsx
from ansinh.targets.indicators.registry import indicators
from ansinh.targets.periods import parse_period
from tests.collection.arrears_fixtures import make_bill, make_employer, pay
from tests.conftest import api_token, web_login

HTML = {"Accept": "text/html"}
APRIL = parse_period("2025-04")
INDICATOR = "arrears.employers_3_months"


@pytest.fixture
def books(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        late = make_employer(s, hanoi, "Công ty TNHH Nợ Lâu")
        good = make_employer(s, hanoi, "Công ty Cổ phần An Khang")
        far = make_employer(s, sonla, "Hợp tác xã Mường Tè")
        for employer, unit, province in ((late, hanoi, "01"), (good, hanoi, "01"), (far, sonla, "14")):
            key = f"E:{employer.id}"
            for month, due in ((1, date(2025, 1, 31)), (2, date(2025, 2, 28)), (3, date(2025, 3, 31)),
                               (4, date(2025, 4, 30))):
                bill = make_bill(s, payer_key=key, period=date(2025, month, 1), due=due, total=10_000_000,
                                 unit=unit, province=province, employer_id=employer.id)
                if employer is good:
                    pay(s, payer_key=key, amount=bill.total, paid_on=due, province="01",
                        allocate=[(bill, bill.total, "principal")])
        return {"late": late.id, "good": good.id, "far": far.id, "late_tax": late.tax_code}


@pytest.fixture
def users(org, make_user):
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    make_user("gs", org.hanoi, Role.supervisor)


def _principal(s, username):
    return principal_for(s.scalars(select(User).where(User.username == username)).one())


def test_every_drill_an_indicator_names_is_known():
    named = {i.drill for i in indicators().values() if i.drill}
    assert named <= set(DRILLS) and named == set(DRILLS)


def test_the_employers_overdue_3_months_behind_the_figure(db, books, users):
    with audit_context(channel="web", actor_username="hn"), db.unit_of_work() as s:
        principal = _principal(s, "hn")
        columns, rows, total = drill_rows(s, principal, indicator=INDICATOR, province="01", period=APRIL)
        assert total == 1 and [row["employer_id"] for row in rows] == [books["late"]]
        assert rows[0]["months_overdue"] == 3 and rows[0]["arrears"] == 30_000_000  # April not yet overdue
        assert [c.key for c in columns][:2] == ["tax_code", "name"]
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "list", AuditEvent.entity_type == "employer")
                          ).one()
        assert event.actor_username == "hn"
        # every employer in arrears (1 month or more): still only the late one in Hà Nội
        _, rows, total = drill_rows(s, principal, indicator="arrears.amount", province="01", period=APRIL)
        assert total == 1
        with pytest.raises(PermissionDenied):
            drill_rows(s, principal, indicator=INDICATOR, province="14", period=APRIL)
        with pytest.raises(NotFound):
            drill_rows(s, principal, indicator="participants.si_compulsory", province="01", period=APRIL)
        content, count = drill_xlsx(s, principal, indicator=INDICATOR, province="01", period=APRIL)
        assert count == 1
        sheet = pl.read_excel(io.BytesIO(content), has_header=False)
        cells = [str(v) for row in sheet.iter_rows() for v in row if v is not None]
        assert "Công ty TNHH Nợ Lâu" in cells and books["late_tax"] in cells
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "export",
                                                  AuditEvent.entity_type == "employer")).one()


def test_a_supervisor_without_registry_read_may_not_drill(db, books, users):
    with audit_context(channel="web", actor_username="gs"), db.unit_of_work() as s:
        with pytest.raises(PermissionDenied):
            drill_rows(s, _principal(s, "gs"), indicator=INDICATOR, province="01", period=APRIL)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_drill_page_lists_pages_and_exports(client, books, users, locale):
    assert web_login(client, "hn").status_code == 303
    client.get(f"/lang/{locale}")
    page = client.get(f"/targets/drill?indicator={INDICATOR}&province=01&period=2025-04", headers=HTML)
    assert page.status_code == 200, page.text[:2000]
    assert re.findall(r'<tr data-employer="(\d+)"', page.text) == [str(books["late"])]
    assert ("30.000.000\u00a0₫" if locale == "vi" else "30,000,000\u00a0₫") in page.text
    assert 'href="/targets/drill.xlsx?indicator=' in page.text
    export = client.get(f"/targets/drill.xlsx?indicator={INDICATOR}&province=01&period=2025-04")
    assert export.status_code == 200 and export.headers["x-row-count"] == "1"
    assert client.get(f"/targets/drill?indicator={INDICATOR}&province=14&period=2025-04",
                      headers=HTML).status_code == 403


def test_the_drill_api(client, books, users):
    token = api_token(client, "hn")
    answer = client.get(f"/api/v1/targets/drill?indicator={INDICATOR}&province=01&period=2025-04", headers=token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 1 and body["rows"][0]["employer_id"] == books["late"]
    assert body["columns"][0] == {"key": "tax_code", "label": "Tax code", "kind": "code"}
    refused = client.get(f"/api/v1/targets/drill?indicator={INDICATOR}&province=14&period=2025-04", headers=token)
    assert refused.status_code == 403
    supervisor = api_token(client, "gs")
    assert client.get(f"/api/v1/targets/drill?indicator={INDICATOR}&province=01&period=2025-04",
                      headers=supervisor).status_code == 403


def test_the_people_who_left_are_listed_and_audited(db, org, users):
    flows = pytest.importorskip("ansinh.participation.flows")
    if not hasattr(flows, "list_compulsory_leavers"):  # pragma: no cover - before the flows are merged
        pytest.skip("participation.flows.list_compulsory_leavers is not merged yet")
    from ansinh.participation import service as participation
    from ansinh.registry import service as registry
    from ansinh.registry.models import Ownership, Sex

    today = date(2026, 1, 15)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        people = [registry.create_person(s, registry.PersonData(
            full_name=name, date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id=f"001090{n:06d}"), hanoi)
            for n, name in ((1, "Nguyễn Văn An"), (2, "Trần Văn Bình"))]
        for person in people:
            participation.apply_declaration(s, employer=employer, person=person, kind="join",
                                            effective_month=date(2024, 6, 1), insured_salary=10_000_000,
                                            submitted_by="test", today=today)
        participation.apply_declaration(s, employer=employer, person=people[0], kind="leave",
                                        effective_month=date(2025, 2, 1), submitted_by="test", today=today)
        leaver = people[0].id
    with audit_context(channel="web", actor_username="hn"), db.unit_of_work() as s:
        _, rows, total = drill_rows(s, _principal(s, "hn"), indicator="flows.si_compulsory_leavers",
                                    province="01", period=parse_period("2025-Q1"))
        assert total == 1 and rows[0]["person_id"] == leaver and rows[0]["employer_name"] == "Công ty An Bình"
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "list", AuditEvent.entity_type == "person")
                          ).one()
        assert event.actor_username == "hn"
