"""The province report and the ranking as Excel and PDF: a small province built through the services (three
workers of a Hà Nội employer, one of a Sơn La employer), plans imported from a CSV, and the domains not on this
branch yet (collection, arrears, cards, flows, shares) answered by fixed figures in place of their services."""

import io
import zipfile
from datetime import date

import polars as pl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from ansinh.auth.models import OrgUnit
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from ansinh.targets.indicators.service import ranking
from ansinh.targets.indicators.sources import Sources
from ansinh.targets.periods import parse_period
from ansinh.targets.plans.service import import_plans
from ansinh.targets.reports import export
from ansinh.targets.reports.service import province_report

TODAY = date(2026, 11, 20)
Q3 = parse_period("2026-Q3")
COLLECTED = 1_250_000_000  # Hà Nội's money collected in 2026-Q3 (the payments' service, answered here)

PLANS = """indicator,province,year,quarter,value,source,effective_from
participants.si_compulsory,01,2026,,4,QĐ 546/QĐ-TTg,2026-01-01
participants.si_compulsory,14,2026,,1,Nghị quyết HĐND tỉnh,2026-01-01
collection.collected,01,2026,3,1000000000,QĐ 546/QĐ-TTg,2026-01-01
arrears.overdue_rate,01,2026,3,"1,2",QĐ 546/QĐ-TTg,2026-01-01
"""


@pytest.fixture
def other_domains(monkeypatch):
    """The figures of the services merged from other branches: money collected, arrears, and nothing else."""
    answers = {
        "collected": lambda self, since, until: {"01": COLLECTED} if since.year == 2026 else {},
        "arrears": lambda self, on: {"01": {"arrears": 30_000_000, "due": 1_000_000_000, "interest_bearing": 0,
                                            "employers_3_months": 0}} if on.year == 2026 else {},
        "hi_groups": lambda self, on, groups: {}, "leavers": lambda self, since, until: {},
        "voluntary_new": lambda self, since, until: {}, "voluntary_returning": lambda self, since, until: {},
        "contracted": lambda self, on: {}, "lookups": lambda self, since, until: {},
        "citizen_ids": lambda self: {}, "population_matched": lambda self, on: {},
        "e_transactions": lambda self: {}, "uncovered": lambda self, on: {},
    }
    for name, answer in answers.items():
        monkeypatch.setattr(Sources, name, answer)


@pytest.fixture
def province(session, org, other_domains):
    def employ(unit_id, tax_code, names):
        unit = session.get(OrgUnit, unit_id)
        employer = registry.create_employer(session, registry.EmployerData(
            tax_code=tax_code, name="Công ty Bình An", ownership=Ownership.private, region="I"), unit)
        for index, name in enumerate(names):
            person = registry.create_person(session, registry.PersonData(
                full_name=name, date_of_birth=date(1990, 5, 1 + index), sex=Sex.male,
                citizen_id=f"{unit.place_code.zfill(3)}090{index:06d}"), unit)
            participation.apply_declaration(session, employer=employer, person=person, kind="join",
                                            effective_month=date(2026, 1, 1), insured_salary=10_000_000,
                                            submitted_by="test", today=TODAY)

    employ(org.hanoi.id, "0100109106", ["Nguyễn Văn An", "Trần Văn Bình", "Lê Văn Cường"])
    employ(org.sonla.id, "5500000102", ["Lò Văn Dũng"])
    report = import_plans(session, content=PLANS.encode(), file_name="plans.csv", principal=None, actor="test")
    assert report.status == "applied", report.error_lines()
    return province_report(session, None, province="01", period=Q3, live=True)


def cells(content: bytes, sheet: str) -> list[list[str | None]]:
    """A sheet's cells as text, row by row (numbers as calamine writes them: 3, 0.75, -250000000; empty rows
    skipped)."""
    frame = pl.read_excel(io.BytesIO(content), sheet_name=sheet, has_header=False, infer_schema_length=0)
    return [list(row) for row in frame.iter_rows()]


def _item(report, code):
    return next(item for item in report["indicators"] if item["code"] == code)


def test_the_report_the_exports_are_made_of(province):
    si = _item(province, "participants.si_compulsory")
    assert (si["value"], si["plan"], si["percent_of_plan"], si["gap"], si["last_year"], si["change"]) == \
        (3, 4, 75.0, 1, 0, 3)
    assert si["rank"] == 1 and si["ranked"] == 34  # the other provinces count 0
    collected = _item(province, "collection.collected")
    assert (collected["value"], collected["plan"], collected["percent_of_plan"], collected["gap"]) == \
        (COLLECTED, 1_000_000_000, 125.0, -250_000_000)
    overdue = _item(province, "arrears.overdue_rate")
    assert (overdue["value"], overdue["plan"], overdue["gap"]) == (3.0, 1.2, 1.8)


def test_the_workbook_reads_like_the_agencys(province):
    content = export.report_xlsx(province, "vi")
    sheet = cells(content, "indicators")
    assert sheet[0][0] == "BẢO HIỂM XÃ HỘI VIỆT NAM"
    assert sheet[1][0] == "BÁO CÁO KẾT QUẢ THỰC HIỆN CHỈ TIÊU KẾ HOẠCH"
    heading = {row[0]: row[1] for row in sheet[2:6]}
    assert heading["Kỳ báo cáo"] == "Quý 3 năm 2026"
    assert "Hà Nội" in heading["Đơn vị"]
    assert heading["Kế hoạch"] == "phiên bản 1 (QĐ 546/QĐ-TTg), hiệu lực từ 01/01/2026"
    assert heading["Tình trạng"] == "bản nháp (chưa phát hành)"
    assert sheet[6][:4] == ["STT", "Chỉ tiêu", "Đơn vị tính", "Thực hiện"]
    rows = {row[1]: row for row in sheet[7:] if row[1]}
    assert rows["Người tham gia BHXH bắt buộc"][2:10] == ["người", "3", "4", "0.75", "1", "0", "3", "1/34"]
    assert rows["Số tiền thu"][3:7] == [str(COLLECTED), "1000000000", "1.25", "-250000000"]
    assert rows["Tỷ lệ nợ"][3:7] == ["0.03", "0.012", "2.5", "1.8"]  # 1.8 points above the ceiling
    with zipfile.ZipFile(io.BytesIO(content)) as archive:  # number formats, and the chart (a drawing part)
        styles = archive.read("xl/styles.xml").decode()
        assert 'formatCode="0.00%"' in styles and 'formatCode="#,##0"' in styles and "₫" in styles
        assert "xl/charts/chart1.xml" in archive.namelist()
        assert b"<c:barChart>" in archive.read("xl/charts/chart1.xml")
    narrative = [row[0] for row in cells(content, "narrative") if row[0]]
    assert "Tình hình thực hiện" in narrative and "Khó khăn, tồn tại" in narrative
    assert any("Một tỷ hai trăm năm mươi triệu đồng" in line for line in narrative)
    assert any(line.startswith("• Người tham gia BHXH bắt buộc: chưa đạt kế hoạch, còn thiếu 1") for line in
               narrative)
    bars = {row[0]: row[1] for row in cells(content, "chart")[1:]}
    assert bars == {"Người tham gia BHXH bắt buộc": "75", "Số tiền thu": "125"}  # ceilings are not charted


def test_the_workbook_in_english_and_a_text_is_never_a_formula(province):
    hostile = dict(province, province_name="=HYPERLINK(\"http://x\")")
    sheet = cells(export.report_xlsx(hostile, "en"), "indicators")
    assert sheet[1][0] == "REPORT ON THE INDICATORS AGAINST THE PLAN"
    assert sheet[2][1].startswith("'=HYPERLINK")
    assert sheet[3][1] == "Q3 2026"
    assert "Compulsory social insurance participants" in [row[1] for row in sheet[7:]]


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_pdf_in_vietnamese(province):
    text = _pdf_text(export.report_pdf(province, "vi"))
    assert "BÁO CÁO KẾT QUẢ THỰC HIỆN CHỈ TIÊU KẾ HOẠCH" in text
    assert "Quý 3 năm 2026" in text and "Hà Nội" in text
    assert "1.250.000.000" in text and "Một tỷ hai trăm năm mươi triệu đồng" in text
    assert "75,00%" in text and "125,00%" in text and "3,00%" in text  # Vietnamese decimals
    assert "Khó khăn, tồn tại" in text and "chưa đạt kế hoạch" in text
    assert "Tỷ lệ hoàn thành kế hoạch (%)" in text and "100%" in text  # the chart


def test_the_pdf_in_english(province):
    text = _pdf_text(export.report_pdf(province, "en"))
    assert "REPORT ON THE INDICATORS AGAINST THE PLAN" in text and "Q3 2026" in text
    assert "1,250,000,000" in text and "75.00%" in text


def test_the_ranking_as_workbook_and_pdf(session, province):
    rows = ranking(session, None, code="participants.si_compulsory", period=Q3)
    sheet = cells(export.ranking_xlsx(rows, "participants.si_compulsory", Q3.label, "vi"), "ranking")
    assert sheet[1][0] == "XẾP HẠNG CÁC TỈNH, THÀNH PHỐ THEO CHỈ TIÊU"
    assert sheet[2][1] == "Người tham gia BHXH bắt buộc"
    first = sheet[5]  # (the empty row between the title and the table is skipped when read)
    assert first[:2] == ["1", "01"] and "Hà Nội" in first[2]
    assert first[3:] == ["3", "4", "0.75", "1", "Chưa đạt"]
    second = [sheet[6][column] for column in (0, 1, 3, 4, 5, 7)]
    assert second == ["2", "14", "1", "1", "1", "Đạt"]
    assert len(sheet) == 5 + 34  # every province
    text = _pdf_text(export.ranking_pdf(rows, "participants.si_compulsory", Q3.label, "vi"))
    assert "XẾP HẠNG" in text and "Sơn La" in text and "75,00%" in text and "Đạt" in text


def test_periods_in_words():
    assert export.period_text("2026-11", "vi") == "Tháng 11/2026"
    assert export.period_text("2026-11", "en") == "November 2026"
    assert export.period_text("2026", "vi") == "Năm 2026"
    assert export.period_text("2026-YTD@2026-11-30", "vi") == "Từ 01/01/2026 đến 30/11/2026"


def test_an_issued_report_says_so(session, province):
    issued = dict(province, issued={"id": 1, "version": 2, "issued_at": "2026-10-05T03:00:00+00:00",
                                    "issued_by": "an", "reason": "corrected"})
    assert export.status_text(issued, "vi") == "phát hành lần 2, ngày 05/10/2026"
    assert session.scalars(select(OrgUnit)).first() is not None
