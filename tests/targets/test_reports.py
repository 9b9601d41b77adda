"""The province report: its figures, narrative and difficulties, and the frozen-report rule."""

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.auth.models import OrgUnit
from ansinh.errors import Conflict, PermissionDenied, ValidationFailed
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from ansinh.targets.models import IssuedReport
from ansinh.targets.periods import parse_period
from ansinh.targets.plans import service as plans
from ansinh.targets.reports import service
from ansinh.targets.reports.service import difficulties, narrative

TODAY = date(2026, 11, 22)
Q3 = parse_period("2026-Q3")
CODES = ("participants.si_total", "participants.si_compulsory", "participants.hi")


@pytest.fixture
def hanoi(session, org, monkeypatch):
    """Two workers in Hà Nội from 2025-01; a plan of 4 compulsory participants. The report's indicators are those
    of participation only (the rest have their own tests)."""
    from ansinh.targets.indicators import service as indicator_service

    real = indicator_service.indicator_results
    monkeypatch.setattr(service, "indicator_results",
                        lambda *args, **kwargs: real(*args, **{**kwargs, "codes": CODES}))
    unit = session.get(OrgUnit, org.hanoi.id)
    employer = registry.create_employer(session, registry.EmployerData(
        tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), unit)

    def hire(serial, month):
        worker = registry.create_person(session, registry.PersonData(
            full_name=f"Người {serial}", date_of_birth=date(1990, 5, 1), sex=Sex.male,
            citizen_id=f"00109{serial:07d}"), unit)
        participation.apply_declaration(session, employer=employer, person=worker, kind="join", effective_month=month,
                                        insured_salary=10_000_000, submitted_by="t", today=TODAY)

    hire(1, date(2025, 1, 1))
    hire(2, date(2025, 1, 1))
    plans.import_plans(session, content=("indicator,province,year,quarter,value,source,effective_from\n"
                                         "participants.si_compulsory,01,2026,,4,QĐ 546/QĐ-TTg,2026-01-01\n").encode(),
                       file_name="p.csv", principal=None, actor="t")
    return hire


def first(report, code):
    return next(item for item in report["indicators"] if item["code"] == code)


def test_the_report_reads_like_the_agency_s_own(session, hanoi):
    report = service.province_report(session, None, province="01", period=Q3)
    assert report["issued"] is None and report["plan_version"] == 1 and report["province_name"]
    workers = first(report, "participants.si_compulsory")
    assert (workers["value"], workers["plan"], workers["percent_of_plan"], workers["gap"]) == (2, 4, 50.0, 2)
    assert {"code": "participants.si_compulsory", "why": "below_plan", "gap": 2, "percent_of_plan": 50.0} \
        in report["difficulties"]
    vi, en = report["narrative"]["vi"], report["narrative"]["en"]
    assert vi[0].startswith("Tính đến ngày 30/09/2026, Thành phố Hà Nội có 2 người tham gia BHXH, trong đó 2 người "
                            "tham gia bắt buộc")
    assert vi[-1] == "Khó khăn: người tham gia BHXH bắt buộc chưa đạt kế hoạch (còn thiếu 2)."
    assert en[0].startswith("As of 30 Sep 2026, Thành phố Hà Nội had 2 social insurance participants")
    assert en[-1] == "Difficulties: compulsory social insurance participants below plan (2 short)."


def test_an_issued_report_is_frozen_and_re_issuing_is_explicit(session, hanoi, people):
    issued, new = service.issue_report(session, people.hanoi, province="01", period=Q3, actor="t-hanoi",
                                       today=TODAY)
    assert new and issued["issued"]["version"] == 1
    hanoi(3, date(2025, 6, 1))  # a correction of the records after the issue: a third worker since 2025-06
    frozen = service.province_report(session, people.hanoi, province="01", period=Q3)
    assert first(frozen, "participants.si_compulsory")["value"] == 2 and frozen["issued"]["version"] == 1
    live = service.province_report(session, people.hanoi, province="01", period=Q3, live=True)
    assert first(live, "participants.si_compulsory")["value"] == 3 and live["issued"] is None
    with pytest.raises(Conflict):
        service.issue_report(session, people.hanoi, province="01", period=Q3, actor="t-hanoi", today=TODAY)
    again, new = service.issue_report(session, people.hanoi, province="01", period=Q3, actor="t-hanoi",
                                      reason="a late join declaration", today=TODAY)
    assert new and again["issued"]["version"] == 2 and first(again, "participants.si_compulsory")["value"] == 3
    same, new = service.issue_report(session, people.hanoi, province="01", period=Q3, actor="t-hanoi",
                                     reason="nothing changed", today=TODAY)
    assert not new and same["issued"]["version"] == 2
    versions = service.issued_versions(session, people.hanoi, province="01", period=Q3)
    assert [(v["version"], v["reason"], v["plan_version"]) for v in versions] == [
        (2, "a late join declaration", 1), (1, None, 1)]
    # the plan revised later does not change what was issued
    plans.import_plans(session, content=("indicator,province,year,quarter,value,source,effective_from\n"
                                         "participants.si_compulsory,01,2026,,9,QĐ 2,2026-01-01\n").encode(),
                       file_name="p2.csv", principal=None, actor="t")
    assert first(service.province_report(session, None, province="01", period=Q3), "participants.si_compulsory")[
        "plan"] == 4


def test_who_may_issue_and_when(session, hanoi, people):
    with pytest.raises(ValidationFailed) as excinfo:
        service.issue_report(session, people.hanoi, province="01", period=parse_period("2026-Q4"),
                             actor="t", today=TODAY)
    assert excinfo.value.field == "period"
    for principal, province in ((people.sonla, "01"), (people.hanoi, "00"), (people.district, "01"),
                                (people.supervisor, "01")):
        with pytest.raises(PermissionDenied):
            service.issue_report(session, principal, province=province, period=Q3, actor="x", today=TODAY)
    assert session.scalar(select(func.count()).select_from(IssuedReport)) == 0
    report, new = service.issue_report(session, people.national, province="00", period=Q3, actor="n", today=TODAY)
    assert new and report["province"] == "00"


def test_difficulties_and_narrative_from_the_figures_alone():
    items = [
        {"code": "participants.si_compulsory", "name_vi": "Người tham gia BHXH bắt buộc",
         "name_en": "Compulsory social insurance participants", "unit": "people", "kind": "stock", "better": "higher",
         "value": 60393, "last_year": 61000, "change": -607, "plan": 63100, "percent_of_plan": 95.71, "gap": 2707},
        {"code": "arrears.overdue_rate", "name_vi": "Tỷ lệ nợ", "name_en": "Overdue rate", "unit": "percent",
         "kind": "stock", "better": "lower", "value": 1.41, "last_year": 1.2, "change": 0.21, "plan": 1.2,
         "percent_of_plan": 117.5, "gap": 0.21},
    ]
    found = difficulties(items)
    assert [(d["code"], d["why"]) for d in found] == [
        ("participants.si_compulsory", "below_plan"), ("participants.si_compulsory", "worsening"),
        ("arrears.overdue_rate", "above_ceiling"), ("arrears.overdue_rate", "worsening")]
    text = narrative({"indicators": items, "end": "2026-10-31"}, "vi", "Bạc Liêu")
    assert text == [
        "Tỷ lệ nợ là 1,41%, cao hơn chỉ tiêu 1,20% là 0,21 điểm phần trăm, tăng 0,21 điểm phần trăm so với cùng kỳ "
        "năm trước; tỷ lệ nợ phải tính lãi là —.",
        "Khó khăn: người tham gia BHXH bắt buộc chưa đạt kế hoạch (còn thiếu 2.707); người tham gia BHXH bắt buộc "
        "giảm so với cùng kỳ; tỷ lệ nợ vượt chỉ tiêu (cao hơn 0,21 điểm phần trăm); tỷ lệ nợ tăng so với cùng kỳ."]
    items[0]["code"] = "participants.si_total"
    english = narrative({"indicators": items, "end": "2026-10-31"}, "en", "Bạc Liêu")
    assert english[0].startswith("As of 31 Oct 2026, Bạc Liêu had 60,393 social insurance participants, 95.7% of the "
                                 "plan, down 607 on the same period last year: — compulsory and — voluntary.")


def test_last_year_is_compared_as_it_was_published(session, hanoi, people):
    """Once the same period last year was issued, this year's report compares with the published figures: a
    correction of last year's records afterwards changes neither what was issued nor the comparison."""
    last_year = parse_period("2025-Q3")
    service.issue_report(session, people.hanoi, province="01", period=last_year, actor="t-hanoi", today=TODAY)
    hanoi(3, date(2025, 6, 1))  # a late declaration: a third worker since June 2025
    report = service.province_report(session, people.hanoi, province="01", period=Q3)
    workers = first(report, "participants.si_compulsory")
    assert report["last_year_issued"] and (workers["value"], workers["last_year"], workers["change"]) == (3, 2, 1)
    recounted = service.province_report(session, people.hanoi, province="01", period=last_year, live=True)
    assert first(recounted, "participants.si_compulsory")["value"] == 3  # the records now say 3
    other = service.province_report(session, people.hanoi, province="01", period=parse_period("2026-Q2"))
    assert not other["last_year_issued"] and first(other, "participants.si_compulsory")["last_year"] == 3
