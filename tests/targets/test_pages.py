"""The pages of plans and indicators, on hand-built records: two workers of a Hà Nội employer, one of a Sơn La
employer, a plan for 2025 (Hà Nội: 1,500 compulsory SI participants). Dates are passed in (the periods of 2025 have
ended whatever today is)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from ansinh.targets.models import IssuedReport, PlanVersion
from ansinh.targets.pages import last_ended_month, period_choices, period_text, rank_chart, sparkline
from ansinh.targets.plans.service import import_plans
from tests.conftest import web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

HTML = {"Accept": "text/html"}
TODAY = date(2026, 1, 15)
PLAN = ("indicator,province,year,quarter,value,source,effective_from\n"
        "participants.si_compulsory,01,2025,,1500,QĐ 546/QĐ-TTg,2025-01-01\n"
        "participants.si_compulsory,14,2025,,1,QĐ 546/QĐ-TTg,2025-01-01\n")
CODES = "participants.si_compulsory"


def _person(session, unit, name, serial):
    return registry.create_person(session, registry.PersonData(
        full_name=name, date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id=f"001090{serial:06d}"), unit)


def _join(session, employer, person, month):
    participation.apply_declaration(session, employer=employer, person=person, kind="join", effective_month=month,
                                    insured_salary=10_000_000, submitted_by="test", today=TODAY)


@pytest.fixture
def world(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        a = registry.create_employer(s, registry.EmployerData(tax_code="0100109106", name="Công ty An Bình",
                                                              ownership=Ownership.private, region="I"), hanoi)
        c = registry.create_employer(s, registry.EmployerData(tax_code="5500001000", name="Hợp tác xã Mộc Châu",
                                                              ownership=Ownership.private, region="I"), sonla)
        _join(s, a, _person(s, hanoi, "Nguyễn Văn An", 1), date(2025, 1, 1))
        _join(s, a, _person(s, hanoi, "Trần Văn Bình", 2), date(2025, 6, 1))
        _join(s, c, _person(s, sonla, "Lò Văn Cường", 3), date(2025, 2, 1))
        report = import_plans(s, content=PLAN.encode(), file_name="plan.csv", principal=None, actor="test")
        assert report.status == "applied", report.to_json()
        return {"hanoi_employer": a.id}


def _signed_in(client, username, locale="en"):
    assert web_login(client, username).status_code == 303
    client.get(f"/lang/{locale}")
    client.csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    return client


@pytest.fixture
def users(org, make_user):
    make_user("tw", org.national, Role.national_officer)
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    make_user("gs", org.hanoi, Role.supervisor)


def _count(db, model) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model))


# --- pure helpers ---------------------------------------------------------------------------------------------

def test_the_default_period_is_the_last_ended_month_and_the_picker_offers_every_kind():
    assert last_ended_month(date(2026, 1, 15)).label == "2025-12"
    kinds = {label: [p.label for p in periods] for label, periods in period_choices(date(2026, 1, 15))}
    assert kinds["Month"][:2] == ["2026-01", "2025-12"] and len(kinds["Month"]) == 13
    assert kinds["Quarter"] == ["2026-Q1", "2025-Q4", "2025-Q3", "2025-Q2", "2025-Q1"]
    assert kinds["Year"] == ["2026", "2025", "2024"]
    assert kinds["Year to date"] == ["2025-YTD@2025-12-31"]


def test_periods_are_written_the_readers_way():
    from ansinh.i18n import use_locale
    from ansinh.targets.periods import parse_period

    with use_locale("vi"):
        assert period_text(parse_period("2025-11"), "vi") == "Tháng 11/2025"
        assert period_text(parse_period("2025-Q3"), "vi") == "Quý 3 năm 2025"
        assert period_text(parse_period("2025-YTD@2025-11-30"), "vi") == "Năm 2025 đến 30/11/2025"
    with use_locale("en"):
        assert period_text(parse_period("2025-11"), "en") == "Month Nov 2025"


def test_sparkline_and_ranking_chart_geometry():
    line = sparkline([1, None, 3], width=22, height=12, pad=1)
    assert line.points == "1.0,11.0 21.0,1.0" and line.last == (21.0, 1.0)
    assert (line.low, line.high, line.first_value, line.last_value) == (1.0, 3.0, 1.0, 3.0)
    assert sparkline([None, None]).points == ""
    flat = sparkline([5, 5], width=10, height=10, pad=0)
    assert flat.points == "0.0,5.0 10.0,5.0"
    chart = rank_chart([{"province": "01", "value": 10, "on_target": True, "rank": 1},
                        {"province": "14", "value": 5, "on_target": False, "rank": 2},
                        {"province": "08", "value": None, "on_target": None, "rank": None}],
                       {"01": "Hà Nội", "14": "Sơn La"}, width=400, label_width=100, row_height=20)
    assert [(b.name, b.width, b.y) for b in chart.bars] == [("Hà Nội", 210.0, 4), ("Sơn La", 105.0, 24)]
    assert chart.height == 48


# --- /targets ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("username,locale", [("hn", "vi"), ("hn", "en"), ("tw", "vi"), ("tw", "en"), ("gs", "vi"),
                                             ("gs", "en")])
def test_the_targets_page_shows_hanoi_against_its_plan(client, world, users, username, locale):
    _signed_in(client, username, locale)
    page = client.get("/targets?province=01&period=2025-12", headers=HTML)
    assert page.status_code == 200, page.text[:2000]
    row = re.search(r'<tr data-indicator="participants.si_compulsory">(.*?)</tr>', page.text, re.S).group(1)
    value = re.search(r'data-figure="value">(.*?)</td>', row, re.S).group(1)
    assert ">2<" in value or value.strip() == "2"
    plan = re.search(r'data-figure="plan">(.*?)</td>', row, re.S).group(1)
    assert plan.strip() == ("1.500" if locale == "vi" else "1,500")
    assert ("0,1%" if locale == "vi" else "0.1%") in row  # 2 / 1,500
    gap = re.search(r'data-figure="gap">(.*?)</td>', row, re.S).group(1).strip()
    assert gap == ("+1.498" if locale == "vi" else "+1,498")
    assert re.search(r'data-figure="rank">\s*1 (trên|of) 34', row)  # every province ranked, 0 where none
    assert 'class="sparkline"' in row
    assert ("Phiên bản 1" if locale == "vi" else "Version 1") in page.text  # the plan compared against
    assert 'data-testid="issued-state">' + ("Dự thảo" if locale == "vi" else "Draft") in page.text
    assert 'href="/targets/report.xlsx?province=01&amp;period=2025-12"' in page.text
    has_issue = 'data-testid="issue-form"' in page.text
    assert has_issue == (username in ("hn", "tw"))  # a supervisor only reads


def test_a_province_officer_sees_only_his_province(client, world, users, db):
    _signed_in(client, "sl")
    own = client.get("/targets?period=2025-12", headers=HTML)
    assert own.status_code == 200 and 'data-testid="filter-province"' not in own.text  # no picker: one province
    assert client.get("/targets?province=01&period=2025-12", headers=HTML).status_code == 403
    assert client.get("/targets?province=00&period=2025-12", headers=HTML).status_code == 403
    assert client.get("/targets/plans?year=2025&province=01", headers=HTML).status_code == 403
    refused = client.post("/targets/issue", data={"province": "01", "period": "2025-12", "reason": "",
                                                  "csrf_token": client.csrf}, headers=HTML)
    assert refused.status_code == 403
    edit = client.post("/targets/plans/target", data={
        "indicator": CODES, "province": "01", "year": "2025", "value": "9", "source": "QĐ 1",
        "effective_from": "2025-01-01", "office": "BHXH-01-01", "csrf_token": client.csrf}, headers=HTML)
    assert edit.status_code == 403
    assert _count(db, IssuedReport) == 0 and _count(db, PlanVersion) == 2  # nothing changed


def test_national_staff_choose_any_province_or_the_country(client, world, users):
    _signed_in(client, "tw")
    page = client.get("/targets?period=2025-12", headers=HTML)  # default: the country
    assert page.status_code == 200 and '<option value="00" selected>' in page.text
    row = re.search(r'<tr data-indicator="participants.si_compulsory">(.*?)</tr>', page.text, re.S).group(1)
    assert re.search(r'data-figure="value">\s*3\s*<', row)  # 2 in Hà Nội and 1 in Sơn La


def test_issuing_freezes_the_figures(client, world, users, db, org):
    _signed_in(client, "hn")
    issued = client.post("/targets/issue", data={"province": "01", "period": "2025-12", "reason": "",
                                                 "csrf_token": client.csrf}, headers=HTML, follow_redirects=False)
    assert issued.status_code == 303, issued.text[:1000]
    assert issued.headers["location"] == "/targets?province=01&period=2025-12&notice=issued"
    with db.unit_of_work() as s:
        row = s.scalars(select(IssuedReport)).one()
        assert (row.province, row.period, row.version) == ("01", "2025-12", 1)
    # a worker declared later, back to 2025: the issued report does not move, the live figures do
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        from ansinh.registry.models import Employer

        _join(s, s.get(Employer, world["hanoi_employer"]), _person(s, s.get(OrgUnit, org.hanoi.id), "Lê Văn Dũng", 4),
              date(2025, 3, 1))
    page = client.get("/targets?province=01&period=2025-12&notice=issued", headers=HTML)
    assert "Issued, version 1" in page.text and 'data-testid="notice"' in page.text
    row = re.search(r'<tr data-indicator="participants.si_compulsory">(.*?)</tr>', page.text, re.S).group(1)
    assert re.search(r'data-figure="value">\s*<a[^>]*>?\s*2\s*<|data-figure="value">\s*2\s*<', row)
    live = client.get("/targets?province=01&period=2025-12&live=1", headers=HTML)
    row = re.search(r'<tr data-indicator="participants.si_compulsory">(.*?)</tr>', live.text, re.S).group(1)
    assert re.search(r'data-figure="value">\s*3\s*<', row)
    again = client.post("/targets/issue", data={"province": "01", "period": "2025-12", "reason": "",
                                                "csrf_token": client.csrf}, headers=HTML)
    assert again.status_code == 409 and "reason" in again.text  # a re-issue needs a reason
    second = client.post("/targets/issue", data={"province": "01", "period": "2025-12",
                                                 "reason": "Khai bổ sung tháng 3", "csrf_token": client.csrf},
                         headers=HTML, follow_redirects=False)
    assert second.status_code == 303
    assert _count(db, IssuedReport) == 2


def test_a_period_not_ended_is_not_issued(client, world, users, db):
    _signed_in(client, "hn")
    refused = client.post("/targets/issue", data={"province": "01", "period": "2100-12", "reason": "",
                                                  "csrf_token": client.csrf}, headers=HTML)
    assert refused.status_code == 422 and 'data-error="reason"' in refused.text
    assert _count(db, IssuedReport) == 0


# --- /targets/ranking ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_ranking_orders_the_provinces(client, world, users, locale):
    _signed_in(client, "hn", locale)  # a province's officer sees the ranking of all provinces (aggregates)
    page = client.get(f"/targets/ranking?indicator={CODES}&period=2025-12", headers=HTML)
    assert page.status_code == 200, page.text[:2000]
    provinces = re.findall(r'<tr data-province="(\d+)"', page.text)
    assert provinces[:2] == ["01", "14"]
    sonla = re.search(r'<tr data-province="14"[^>]*>(.*?)</tr>', page.text, re.S).group(1)
    hanoi = re.search(r'<tr data-province="01"[^>]*>(.*?)</tr>', page.text, re.S).group(1)
    # Sơn La: 1 of a plan of 1 (100 %); Hà Nội: 2 of 1,500 (0.13 %: 99.9 % under)
    assert ("99,9% dưới kế hoạch" if locale == "vi" else "99.9% under the plan") in hanoi
    assert ("tại mức kế hoạch" if locale == "vi" else "at the plan") in sonla
    count = re.search(r'data-testid="target-count">(.*?)</p>', page.text, re.S).group(1)
    assert (": 1; " in count) and (": 1." in count)
    assert 'data-testid="ranking-chart"' in page.text and page.text.count('class="bar-') == 2
    export = client.get(f"/targets/ranking.xlsx?indicator={CODES}&period=2025-12")
    assert export.status_code == 200 and export.headers["x-row-count"] == str(len(provinces))


# --- /targets/plans ----------------------------------------------------------------------------------------------

def test_the_plans_page_shows_versions_and_read_only_to_a_supervisor(client, world, users):
    _signed_in(client, "gs", "vi")
    page = client.get("/targets/plans?year=2025", headers=HTML)
    assert page.status_code == 200, page.text[:2000]
    assert '<section class="plan" data-plan="01" data-version="1">' in page.text
    assert '<section class="plan" data-plan="14"' not in page.text  # a Hà Nội supervisor: Hà Nội only
    assert re.search(r'data-figure="value">\s*1\.500\s*<', page.text)
    assert 'data-testid="import-form"' not in page.text and 'data-testid="target-form"' not in page.text
    assert 'href="/targets/plans/template.xlsx"' in page.text
    assert client.get("/targets/plans/template.csv").text.startswith("indicator,province,year")


def test_a_bad_plan_file_shows_its_row_errors_and_writes_nothing(client, world, users, db):
    _signed_in(client, "tw")
    bad = ("indicator,province,year,quarter,value,source,effective_from\n"
           "participants.si_compulsory,01,2025,,2000,QĐ 2,2025-01-01\n"
           "participants.si_voluntary,01,2025,,5,QĐ 2,someday\n"
           "participants.si_compulsory,14,2025,7,abc,QĐ 2,2025-01-01\n")
    page = client.post("/targets/plans/import", data={"csrf_token": client.csrf},
                       files={"file": ("plan.csv", io.BytesIO(bad.encode()), "text/csv")}, headers=HTML)
    assert page.status_code == 422
    assert 'data-status="rejected"' in page.text
    errors = re.findall(r"<li>(plan\.csv, row \d+, \w+: .*?)</li>", page.text)
    assert [e.split(":")[0] for e in errors] == ["plan.csv, row 3, effective_from", "plan.csv, row 4, quarter",
                                                 "plan.csv, row 4, value"]
    assert _count(db, PlanVersion) == 2
    good = client.post("/targets/plans/import", data={"csrf_token": client.csrf},
                       files={"file": ("plan2.csv", io.BytesIO(bad.split("\n", 2)[0].encode() + b"\n"
                                                              + bad.split("\n")[1].encode()), "text/csv")},
                       headers=HTML)
    assert good.status_code == 200 and 'data-status="applied"' in good.text
    assert _count(db, PlanVersion) == 3


def test_editing_a_target_makes_a_new_version(client, world, users, db):
    _signed_in(client, "tw")
    saved = client.post("/targets/plans/target", data={
        "indicator": CODES, "province": "01", "year": "2025", "quarter": "", "value": "1800",
        "source": "QĐ 100/QĐ-BHXH", "effective_from": "2025-07-01", "note": "Điều chỉnh",
        "csrf_token": client.csrf}, headers=HTML, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:1500]
    with db.unit_of_work() as s:
        versions = s.scalars(select(PlanVersion).where(PlanVersion.province == "01")
                             .order_by(PlanVersion.version)).all()
        assert [(v.version, v.source) for v in versions] == [(1, "QĐ 546/QĐ-TTg"), (2, "QĐ 100/QĐ-BHXH")]
    page = client.get("/targets/plans?year=2025&province=01", headers=HTML)
    assert 'data-plan="01" data-version="2"' in page.text and 'data-history-version="1"' in page.text
    wrong = client.post("/targets/plans/target", data={
        "indicator": CODES, "province": "01", "year": "2025", "value": "lots", "source": "QĐ",
        "effective_from": "2025-07-01", "csrf_token": client.csrf}, headers=HTML)
    assert wrong.status_code == 422 and 'data-error="value"' in wrong.text
    assert _count(db, PlanVersion) == 3


def test_a_province_officer_assigns_only_his_offices(client, world, users, db):
    _signed_in(client, "hn")
    page = client.get("/targets/plans?year=2025", headers=HTML)
    assert 'data-testid="target-form"' in page.text and '<option value="BHXH-01-01"' in page.text
    whole = client.post("/targets/plans/target", data={
        "indicator": CODES, "province": "01", "year": "2025", "value": "10", "source": "QĐ 5",
        "effective_from": "2025-01-01", "csrf_token": client.csrf}, headers=HTML)
    assert whole.status_code == 422  # the province's own target is national staff's
    office = client.post("/targets/plans/target", data={
        "indicator": CODES, "province": "01", "year": "2025", "value": "10", "source": "QĐ 5",
        "effective_from": "2025-01-01", "office": "BHXH-01-01", "csrf_token": client.csrf}, headers=HTML,
        follow_redirects=False)
    assert office.status_code == 303, office.text[:1500]
    assert _count(db, PlanVersion) == 3


def test_the_report_downloads_from_the_page(client, world, users):
    pytest.importorskip("ansinh.targets.reports.export")
    _signed_in(client, "hn", "vi")
    excel = client.get("/targets/report.xlsx?province=01&period=2025-12")
    assert excel.status_code == 200 and excel.content[:2] == b"PK"
    assert excel.headers["content-disposition"] == 'attachment; filename="report-01-2025-12.xlsx"'
    pdf = client.get("/targets/report.pdf?province=01&period=2025-12")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert client.get("/targets/report.xlsx?province=14&period=2025-12").status_code == 403
