"""The province report and the national ranking as Excel and PDF, in Vietnamese or English.

Both are written in memory from the dicts the services return (:func:`~ansinh.targets.reports.service.
province_report`, :func:`~ansinh.targets.indicators.service.ranking`): nothing is computed again, so an issued
report exports the figures that were issued.

The workbook reads like the agency's own: a title block (province, period, the plan version and the decision it
comes from, the issued version or "draft"), sheet ``indicators`` with one row per indicator (value, plan, % of plan,
gap, same period last year, change, rank) in Excel number formats (thousands, dong, percent with 2 decimals) and a
native bar chart of % of plan, sheet ``narrative`` with the report's text and its difficulties. Every text goes
through :func:`~ansinh.spreadsheets.safe_cell`.

The PDF (A4 portrait) embeds the DejaVu font the project ships (:func:`ansinh.collection.debtors.find_font`):
heading, narrative, the table, the difficulties, a bar chart of % of plan drawn with fpdf's rectangles, and the
money collected also in words (:func:`ansinh.claims.settlement.exports.amount_in_words`).

The chart shows the indicators where more is better (% of plan above 100 is good); the ceilings (an overdue rate,
where less is better) are read in the table, where their gap says by how much they are above or below.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime

import xlsxwriter
from babel.dates import format_date

from ansinh.formatting import day as format_day
from ansinh.formatting import money, number, percent
from ansinh.spreadsheets import safe_cell
from ansinh.targets.models import NATIONAL
from ansinh.targets.periods import parse_period

#: The document's texts per language (the document is written in one language, whatever the reader's page).
TEXT = {
    "agency": {"vi": "BẢO HIỂM XÃ HỘI VIỆT NAM", "en": "VIETNAM SOCIAL SECURITY"},
    "title": {"vi": "BÁO CÁO KẾT QUẢ THỰC HIỆN CHỈ TIÊU KẾ HOẠCH",
              "en": "REPORT ON THE INDICATORS AGAINST THE PLAN"},
    "ranking_title": {"vi": "XẾP HẠNG CÁC TỈNH, THÀNH PHỐ THEO CHỈ TIÊU",
                      "en": "PROVINCES RANKED ON AN INDICATOR"},
    "province": {"vi": "Đơn vị", "en": "Province"},
    "period": {"vi": "Kỳ báo cáo", "en": "Period"},
    "plan": {"vi": "Kế hoạch", "en": "Plan"},
    "plan_version": {"vi": "phiên bản {version} ({source}), hiệu lực từ {day}",
                     "en": "version {version} ({source}), in effect from {day}"},
    "no_plan": {"vi": "chưa giao kế hoạch", "en": "no plan assigned"},
    "status": {"vi": "Tình trạng", "en": "Status"},
    "issued": {"vi": "phát hành lần {version}, ngày {day}", "en": "issued, version {version}, on {day}"},
    "draft": {"vi": "bản nháp (chưa phát hành)", "en": "draft (not issued)"},
    "indicator": {"vi": "Chỉ tiêu", "en": "Indicator"},
    "narrative": {"vi": "Tình hình thực hiện", "en": "Summary"},
    "difficulties": {"vi": "Khó khăn, tồn tại", "en": "Difficulties"},
    "no_difficulties": {"vi": "Không có chỉ tiêu nào chưa đạt hoặc giảm so với cùng kỳ.",
                        "en": "No indicator is below its plan or worse than last year."},
    "chart": {"vi": "Tỷ lệ hoàn thành kế hoạch (%)", "en": "Percent of plan achieved"},
    "collected": {"vi": "Số tiền thu trong kỳ", "en": "Contributions collected in the period"},
    "in_words": {"vi": "Bằng chữ", "en": "In words (Vietnamese)"},
    "below_plan": {"vi": "chưa đạt kế hoạch, còn thiếu {gap}", "en": "below plan, {gap} short"},
    "above_ceiling": {"vi": "vượt chỉ tiêu trần {gap}", "en": "above its ceiling by {gap}"},
    "worsening": {"vi": "kém hơn cùng kỳ năm trước ({change})", "en": "worse than last year ({change})"},
    "value": {"vi": "Giá trị", "en": "Value"},
    "on_target": {"vi": "Đạt kế hoạch", "en": "On target"},
    "yes": {"vi": "Đạt", "en": "Yes"},
    "no": {"vi": "Chưa đạt", "en": "No"},
    "country": {"vi": "Toàn quốc", "en": "The whole country"},
    "points": {"vi": " điểm %", "en": " points"},
}
#: The table's columns: (key, Vietnamese, English, width in the workbook, width in mm in the PDF).
COLUMNS: tuple[tuple[str, str, str, int, int], ...] = (
    ("name", "Chỉ tiêu", "Indicator", 46, 52),
    ("unit", "Đơn vị tính", "Unit", 10, 13),
    ("value", "Thực hiện", "Value", 16, 20),
    ("plan", "Kế hoạch", "Plan", 16, 20),
    ("percent_of_plan", "% kế hoạch", "% of plan", 11, 14),
    ("gap", "Còn thiếu (+) / vượt (−)", "Gap (+ short, − beaten)", 16, 18),
    ("last_year", "Cùng kỳ năm trước", "Same period last year", 16, 20),
    ("change", "Tăng (+) / giảm (−)", "Change", 14, 16),
    ("rank", "Xếp hạng", "Rank", 9, 13),
)
RANKING_COLUMNS: tuple[tuple[str, str, str, int, int], ...] = (
    ("rank", "Hạng", "Rank", 7, 12),
    ("province", "Mã tỉnh", "Code", 8, 13),
    ("province_name", "Tỉnh, thành phố", "Province", 28, 50),
    ("value", "Thực hiện", "Value", 18, 28),
    ("plan", "Kế hoạch", "Plan", 18, 28),
    ("percent_of_plan", "% kế hoạch", "% of plan", 12, 18),
    ("gap", "Còn thiếu (+) / vượt (−)", "Gap", 16, 22),
    ("on_target", "Đạt kế hoạch", "On target", 12, 19),
)
UNIT_NAMES = {
    "people": {"vi": "người", "en": "people"},
    "dong": {"vi": "đồng", "en": "dong"},
    "percent": {"vi": "%", "en": "%"},
    "employers": {"vi": "đơn vị", "en": "employers"},
    "facilities": {"vi": "cơ sở", "en": "facilities"},
    "lookups": {"vi": "lượt", "en": "lookups"},
}
COLLECTED = "collection.collected"


def _text(key: str, locale: str, **params) -> str:
    return TEXT[key][_lang(locale)].format(**params)


def _lang(locale: str) -> str:
    return "vi" if locale == "vi" else "en"


def _column_title(vi: str, en: str, locale: str) -> str:
    return vi if _lang(locale) == "vi" else en


# --- what the document says, in words -------------------------------------------------------------------------

def period_text(label: str, locale: str) -> str:
    """A period as a report's heading writes it: ``Quý 3 năm 2026``, ``Tháng 11/2026``, ``Từ 01/01/2026 đến
    30/11/2026`` (English: ``Q3 2026``, ``November 2026``, ``1 Jan 2026 to 30 Nov 2026``)."""
    lang = _lang(locale)
    period = parse_period(label, on=date(int(label[:4]), 12, 31))
    if period.kind == "month":
        return f"Tháng {period.start.month:02d}/{period.year}" if lang == "vi" else \
            format_date(period.start, "MMMM yyyy", locale="en")
    if period.kind == "quarter":
        return f"Quý {period.quarter} năm {period.year}" if lang == "vi" else f"Q{period.quarter} {period.year}"
    if period.kind == "year":
        return f"Năm {period.year}" if lang == "vi" else f"Year {period.year}"
    start, end = format_day(period.start, lang), format_day(period.end, lang)
    return f"Từ {start} đến {end}" if lang == "vi" else f"{start} to {end}"


def _place(report: dict, locale: str) -> str:
    if report.get("province") == NATIONAL:
        return _text("country", locale)
    return report.get("province_name") or report.get("province", "")


def plan_text(report: dict, locale: str) -> str:
    """The plan version the report compares with and the decision it comes from, or that there is none."""
    plan = report.get("plan")
    if not plan:
        return _text("no_plan", locale)
    return _text("plan_version", locale, version=plan["version"], source=plan.get("source") or "",
                 day=format_day(date.fromisoformat(plan["effective_from"]), _lang(locale)))


def status_text(report: dict, locale: str) -> str:
    issued = report.get("issued")
    if not issued:
        return _text("draft", locale)
    when = issued.get("issued_at")
    return _text("issued", locale, version=issued["version"],
                 day=format_day(date.fromisoformat(when[:10]), _lang(locale)) if when else "")


def heading_lines(report: dict, locale: str) -> list[tuple[str, str]]:
    """(label, value) of the title block."""
    return [(_text("province", locale), _place(report, locale)),
            (_text("period", locale), period_text(report["period"], locale)),
            (_text("plan", locale), plan_text(report, locale)),
            (_text("status", locale), status_text(report, locale))]


def indicator_name(item: dict, locale: str) -> str:
    return item["name_vi"] if _lang(locale) == "vi" else item["name_en"]


def format_value(value, unit: str, locale: str, *, points: bool = False) -> str:
    """A value as the locale writes it: people ``1.234``, dong ``1.234.567 ₫``, a rate ``12,50%`` (``points``: a
    difference of two rates, ``0,30 điểm %``)."""
    lang = _lang(locale)
    if value is None:
        return ""
    if unit == "percent":
        return number(value, lang, decimals=2) + _text("points", lang) if points else \
            percent(value, lang, decimals=2)
    if unit == "dong":
        return money(value, lang)
    return number(value, lang)


def _signed(value, unit: str, locale: str) -> str:
    if value is None:
        return ""
    text = format_value(abs(value), unit, locale, points=unit == "percent")
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def difficulty_lines(report: dict, locale: str) -> list[str]:
    """The report's difficulties, one sentence each."""
    by_code = {item["code"]: item for item in report.get("indicators", [])}
    lines = []
    for found in report.get("difficulties", []):
        item = by_code.get(found["code"])
        if item is None:
            continue
        if found["why"] == "worsening":
            detail = _text("worsening", locale, change=_signed(found.get("change"), item["unit"], locale))
        else:
            detail = _text(found["why"], locale,
                           gap=format_value(abs(found.get("gap") or 0), item["unit"], locale,
                                            points=item["unit"] == "percent"))
        lines.append(f"{indicator_name(item, locale)}: {detail}")
    return lines


def collected_total(report: dict) -> int | None:
    """The money collected in the period, when the report states it."""
    for item in report.get("indicators", []):
        if item["code"] == COLLECTED and item.get("value") is not None:
            return int(item["value"])
    return None


def chart_rows(report: dict, locale: str) -> list[tuple[str, float]]:
    """(name, % of plan) of the indicators where more is better and a plan is set: what the chart shows."""
    return [(indicator_name(item, locale), float(item["percent_of_plan"])) for item in report.get("indicators", [])
            if item.get("percent_of_plan") is not None and item.get("better") == "higher"]


def _rank(item: dict) -> str:
    return f"{item['rank']}/{item['ranked']}" if item.get("rank") else ""


# --- Excel ---------------------------------------------------------------------------------------------------

def _book(buffer: io.BytesIO, created: datetime | None = None) -> xlsxwriter.Workbook:
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    if created is not None:  # the same moment gives the same bytes (a job's export written again)
        book.set_properties({"created": created})
    return book


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.title = book.add_format({"bold": True, "font_size": 13})
        self.bold = book.add_format({"bold": True})
        self.header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                       "valign": "top", "align": "center"})
        self.text = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.count = book.add_format({"border": 1, "num_format": "#,##0"})
        self.dong = book.add_format({"border": 1, "num_format": '#,##0 "₫"'})
        self.rate = book.add_format({"border": 1, "num_format": "0.00%"})
        self.points = book.add_format({"border": 1, "num_format": "+0.00;-0.00;0.00"})
        self.signed_count = book.add_format({"border": 1, "num_format": "+#,##0;-#,##0;0"})
        self.signed_dong = book.add_format({"border": 1, "num_format": '+#,##0 "₫";-#,##0 "₫";0 "₫"'})
        self.center = book.add_format({"border": 1, "align": "center"})


def _write_amount(sheet, row: int, column: int, value, unit: str, formats: _Formats, *, signed: bool = False) -> None:
    """A value in its unit's format: a rate (given in percent points) as an Excel percent, a difference of rates in
    points, a count or an amount of dong with thousands."""
    if value is None:
        sheet.write_blank(row, column, None, formats.text)
    elif unit == "percent":
        if signed:
            sheet.write_number(row, column, float(value), formats.points)
        else:
            sheet.write_number(row, column, float(value) / 100, formats.rate)
    elif unit == "dong":
        sheet.write_number(row, column, value, formats.signed_dong if signed else formats.dong)
    else:
        sheet.write_number(row, column, value, formats.signed_count if signed else formats.count)


def _title_block(sheet, title: str, lines: list[tuple[str, str]], formats: _Formats, locale: str) -> int:
    sheet.write_string(0, 0, _text("agency", locale), formats.bold)
    sheet.write_string(1, 0, safe_cell(title), formats.title)
    row = 2
    for label, value in lines:
        sheet.write_string(row, 0, safe_cell(label), formats.bold)
        sheet.write_string(row, 1, safe_cell(value))
        row += 1
    return row + 1


def report_xlsx(report: dict, locale: str, *, created: datetime | None = None) -> bytes:
    """The report as a workbook: sheet ``indicators`` (title block, the table, a bar chart of % of plan), sheet
    ``narrative`` (the text and the difficulties), sheet ``chart`` (the chart's figures). ``created`` (default:
    now) is the document's creation time: given, the same report gives the same bytes."""
    buffer = io.BytesIO()
    book = _book(buffer, created)
    formats = _Formats(book)
    sheet = book.add_worksheet("indicators")
    sheet.set_column(0, 0, 6)
    for index, (_key, _vi, _en, width, _mm) in enumerate(COLUMNS, start=1):
        sheet.set_column(index, index, width)
    head = _title_block(sheet, _text("title", locale), heading_lines(report, locale), formats, locale)
    sheet.write_string(head, 0, "STT" if _lang(locale) == "vi" else "No.", formats.header)
    for index, (_key, vi, en, _w, _mm) in enumerate(COLUMNS, start=1):
        sheet.write_string(head, index, _column_title(vi, en, locale), formats.header)
    row = head
    for position, item in enumerate(report.get("indicators", []), start=1):
        row += 1
        unit = item["unit"]
        sheet.write_number(row, 0, position, formats.center)
        sheet.write_string(row, 1, safe_cell(indicator_name(item, locale)), formats.text)
        sheet.write_string(row, 2, UNIT_NAMES.get(unit, {}).get(_lang(locale), unit), formats.center)
        _write_amount(sheet, row, 3, item.get("value"), unit, formats)
        _write_amount(sheet, row, 4, item.get("plan"), unit, formats)
        if item.get("percent_of_plan") is None:
            sheet.write_blank(row, 5, None, formats.text)
        else:
            sheet.write_number(row, 5, float(item["percent_of_plan"]) / 100, formats.rate)
        _write_amount(sheet, row, 6, item.get("gap"), unit, formats, signed=True)
        _write_amount(sheet, row, 7, item.get("last_year"), unit, formats)
        _write_amount(sheet, row, 8, item.get("change"), unit, formats, signed=True)
        sheet.write_string(row, 9, _rank(item), formats.center)
    sheet.freeze_panes(head + 1, 2)

    text = book.add_worksheet("narrative")
    text.set_column(0, 0, 120)
    line = _title_block(text, _text("title", locale), heading_lines(report, locale), formats, locale)
    text.write_string(line, 0, _text("narrative", locale), formats.bold)
    for sentence in report.get("narrative", {}).get(_lang(locale), []):
        line += 1
        text.write_string(line, 0, safe_cell(sentence), formats.wrap)
    total = collected_total(report)
    if total is not None:
        from ansinh.claims.settlement.exports import amount_in_words

        line += 1
        text.write_string(line, 0, safe_cell(f"{_text('collected', locale)}: {money(total, _lang(locale))} "
                                             f"({_text('in_words', locale)}: {amount_in_words(total)})"),
                          formats.wrap)
    line += 2
    text.write_string(line, 0, _text("difficulties", locale), formats.bold)
    problems = difficulty_lines(report, locale) or [_text("no_difficulties", locale)]
    for problem in problems:
        line += 1
        text.write_string(line, 0, safe_cell(f"• {problem}"), formats.wrap)

    bars = chart_rows(report, locale)
    data = book.add_worksheet("chart")
    data.set_column(0, 0, 46)
    data.write_string(0, 0, _text("indicator", locale), formats.header)
    data.write_string(0, 1, _text("chart", locale), formats.header)
    for index, (name, pct) in enumerate(bars, start=1):
        data.write_string(index, 0, safe_cell(name))
        data.write_number(index, 1, pct)
    if bars:
        chart = book.add_chart({"type": "bar"})
        chart.add_series({"name": _text("chart", locale), "categories": ["chart", 1, 0, len(bars), 0],
                          "values": ["chart", 1, 1, len(bars), 1], "data_labels": {"value": True,
                                                                                    "num_format": "0.00"},
                          "fill": {"color": "#2F75B5"}})
        chart.set_title({"name": _text("chart", locale)})
        chart.set_legend({"none": True})
        chart.set_x_axis({"num_format": "0", "min": 0})
        chart.set_y_axis({"reverse": True})
        chart.set_size({"width": 720, "height": 80 + 28 * len(bars)})
        sheet.insert_chart(row + 2, 1, chart)
    book.close()
    return buffer.getvalue()


def _province_names(names: dict[str, str] | None) -> dict[str, str]:
    if names is not None:
        return names
    from ansinh.registry.places import data_file_province_names

    return dict(data_file_province_names())


def _indicator(indicator):
    if isinstance(indicator, str):
        from ansinh.targets.indicators.service import get_indicator

        return get_indicator(indicator)
    return indicator


def ranking_xlsx(rows: Sequence[dict], indicator, period_label: str, locale: str, *,
                 names: dict[str, str] | None = None) -> bytes:
    """The provinces ranked on one indicator (the rows of :func:`~ansinh.targets.indicators.service.ranking`, best
    first): sheet ``ranking``. ``indicator``: its code or the :class:`Indicator`; ``names``: province names by code
    (default: :func:`ansinh.registry.places.province_names` as the places data file has them)."""
    chosen = _indicator(indicator)
    names = _province_names(names)
    buffer = io.BytesIO()
    book = _book(buffer)
    formats = _Formats(book)
    sheet = book.add_worksheet("ranking")
    for index, (_key, _vi, _en, width, _mm) in enumerate(RANKING_COLUMNS):
        sheet.set_column(index, index, width)
    lines = [(_text("indicator", locale), chosen.name(_lang(locale))),
             (_text("period", locale), period_text(period_label, locale))]
    head = _title_block(sheet, _text("ranking_title", locale), lines, formats, locale)
    for index, (_key, vi, en, _w, _mm) in enumerate(RANKING_COLUMNS):
        sheet.write_string(head, index, _column_title(vi, en, locale), formats.header)
    row = head
    for item in rows:
        row += 1
        if item.get("rank") is None:
            sheet.write_blank(row, 0, None, formats.center)
        else:
            sheet.write_number(row, 0, item["rank"], formats.center)
        sheet.write_string(row, 1, safe_cell(item["province"]), formats.center)
        sheet.write_string(row, 2, safe_cell(item.get("province_name") or names.get(item["province"],
                                                                                   item["province"])), formats.text)
        _write_amount(sheet, row, 3, item.get("value"), chosen.unit, formats)
        _write_amount(sheet, row, 4, item.get("plan"), chosen.unit, formats)
        if item.get("percent_of_plan") is None:
            sheet.write_blank(row, 5, None, formats.text)
        else:
            sheet.write_number(row, 5, float(item["percent_of_plan"]) / 100, formats.rate)
        _write_amount(sheet, row, 6, item.get("gap"), chosen.unit, formats, signed=True)
        on_target = item.get("on_target")
        sheet.write_string(row, 7, "" if on_target is None else _text("yes" if on_target else "no", locale),
                           formats.center)
    sheet.freeze_panes(head + 1, 3)
    book.close()
    return buffer.getvalue()


# --- PDF -------------------------------------------------------------------------------------------------------

def _pdf(title: str, created: datetime | None = None):
    from fpdf import FPDF

    from ansinh.collection.debtors import find_font

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    if created is not None:  # the same moment gives the same bytes (the file's ID is derived from it too)
        pdf.set_creation_date(created)
    pdf.set_title(title)
    pdf.set_creator("ansinh")
    pdf.add_font("DejaVu", "", str(find_font()))
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(12, 12, 12)
    pdf.add_page()
    return pdf


def _pdf_heading(pdf, title: str, lines: list[tuple[str, str]], locale: str) -> None:
    pdf.set_font("DejaVu", size=9)
    pdf.cell(0, 5, _text("agency", locale), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", size=12)
    pdf.multi_cell(0, 6, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("DejaVu", size=9)
    for label, value in lines:
        pdf.multi_cell(0, 5, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _section(pdf, title: str) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", size=10)
    pdf.set_fill_color(221, 235, 247)
    pdf.cell(0, 6, title, fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=8.5)
    pdf.ln(1)


def _bar_chart(pdf, bars: list[tuple[str, float]], title: str, locale: str) -> None:
    """Horizontal bars of % of plan drawn with rectangles, a line at 100%: green at or above the plan, orange
    below it."""
    if not bars:
        return
    label_width, row_height = 70, 5.5
    area = pdf.w - pdf.l_margin - pdf.r_margin - label_width - 18
    scale_max = max(120.0, max(pct for _name, pct in bars) * 1.05)
    needed = 10 + row_height * len(bars) + 6
    if pdf.get_y() + needed > pdf.h - pdf.b_margin:
        pdf.add_page()
    _section(pdf, title)
    top = pdf.get_y()
    left = pdf.l_margin + label_width
    pdf.set_font("DejaVu", size=7.5)
    for index, (name, pct) in enumerate(bars):
        y = top + index * row_height
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_width - 2, row_height - 1, name if len(name) <= 52 else name[:51] + "…", align="R")
        width = area * max(pct, 0) / scale_max
        if pct >= 100:
            pdf.set_fill_color(84, 160, 84)
        else:
            pdf.set_fill_color(230, 145, 56)
        pdf.rect(left, y + 0.5, max(width, 0.3), row_height - 2, style="F")
        pdf.set_xy(left + width + 1, y)
        pdf.cell(18, row_height - 1, percent(pct, _lang(locale), decimals=2))
    bottom = top + row_height * len(bars)
    hundred = left + area * 100 / scale_max
    pdf.set_draw_color(200, 40, 40)
    pdf.set_line_width(0.3)
    pdf.line(hundred, top - 1, hundred, bottom)
    pdf.set_draw_color(0, 0, 0)
    pdf.line(left, top - 1, left, bottom)
    pdf.set_xy(hundred - 8, bottom)
    pdf.cell(16, 4, "100%", align="C")
    pdf.set_xy(pdf.l_margin, bottom + 5)


def report_pdf(report: dict, locale: str, *, created: datetime | None = None) -> bytes:
    """The report as an A4 PDF: heading (agency, province, period, plan version, status), the narrative (with the
    money collected in words when the report states it), the table of indicators, the difficulties, and a bar
    chart of % of plan. ``created`` as for :func:`report_xlsx`."""
    from fpdf.fonts import FontFace

    lang = _lang(locale)
    title = _text("title", locale)
    pdf = _pdf(title, created)
    _pdf_heading(pdf, title, heading_lines(report, locale), locale)

    _section(pdf, _text("narrative", locale))
    for sentence in report.get("narrative", {}).get(lang, []):
        pdf.multi_cell(0, 4.5, sentence, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    total = collected_total(report)
    if total is not None:
        from ansinh.claims.settlement.exports import amount_in_words

        pdf.multi_cell(0, 4.5, f"{_text('collected', locale)}: {money(total, lang)}. "
                               f"{_text('in_words', locale)}: {amount_in_words(total)}.",
                       new_x="LMARGIN", new_y="NEXT")

    _section(pdf, _text("indicator", locale) + (" — " + period_text(report["period"], locale)))
    pdf.set_font("DejaVu", size=7)
    widths = (8, *(mm for *_rest, mm in COLUMNS))
    aligns = ("RIGHT", "LEFT", "CENTER", *("RIGHT",) * (len(COLUMNS) - 3), "CENTER")
    with pdf.table(col_widths=widths, text_align=aligns, line_height=3.6, repeat_headings=1,
                   first_row_as_headings=True,
                   headings_style=FontFace(emphasis="", fill_color=(221, 235, 247))) as table:
        heading = table.row()
        heading.cell("STT" if lang == "vi" else "No.")
        for _key, vi, en, _w, _mm in COLUMNS:
            heading.cell(_column_title(vi, en, locale))
        for position, item in enumerate(report.get("indicators", []), start=1):
            unit = item["unit"]
            cells = table.row()
            cells.cell(str(position))
            cells.cell(indicator_name(item, locale))
            cells.cell(UNIT_NAMES.get(unit, {}).get(lang, unit))
            cells.cell(format_value(item.get("value"), unit, locale))
            cells.cell(format_value(item.get("plan"), unit, locale))
            cells.cell(percent(item["percent_of_plan"], lang, decimals=2)
                       if item.get("percent_of_plan") is not None else "")
            cells.cell(_signed(item.get("gap"), unit, locale))
            cells.cell(format_value(item.get("last_year"), unit, locale))
            cells.cell(_signed(item.get("change"), unit, locale))
            cells.cell(_rank(item))

    _section(pdf, _text("difficulties", locale))
    for problem in difficulty_lines(report, locale) or [_text("no_difficulties", locale)]:
        pdf.multi_cell(0, 4.5, f"• {problem}", new_x="LMARGIN", new_y="NEXT")
    _bar_chart(pdf, chart_rows(report, locale), _text("chart", locale), locale)
    return bytes(pdf.output())


def ranking_pdf(rows: Sequence[dict], indicator, period_label: str, locale: str, *,
                names: dict[str, str] | None = None) -> bytes:
    """The provinces ranked on one indicator as an A4 PDF: the table, then the bars of % of plan."""
    from fpdf.fonts import FontFace

    chosen = _indicator(indicator)
    names = _province_names(names)
    lang = _lang(locale)
    title = _text("ranking_title", locale)
    pdf = _pdf(title)
    _pdf_heading(pdf, title, [(_text("indicator", locale), chosen.name(lang)),
                              (_text("period", locale), period_text(period_label, locale))], locale)
    pdf.set_font("DejaVu", size=7.5)
    widths = tuple(mm for *_rest, mm in RANKING_COLUMNS)
    aligns = ("CENTER", "CENTER", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "CENTER")
    with pdf.table(col_widths=widths, text_align=aligns, line_height=4, repeat_headings=1,
                   first_row_as_headings=True,
                   headings_style=FontFace(emphasis="", fill_color=(221, 235, 247))) as table:
        heading = table.row()
        for _key, vi, en, _w, _mm in RANKING_COLUMNS:
            heading.cell(_column_title(vi, en, locale))
        for item in rows:
            cells = table.row()
            cells.cell(str(item["rank"]) if item.get("rank") is not None else "")
            cells.cell(item["province"])
            cells.cell(item.get("province_name") or names.get(item["province"], item["province"]))
            cells.cell(format_value(item.get("value"), chosen.unit, locale))
            cells.cell(format_value(item.get("plan"), chosen.unit, locale))
            cells.cell(percent(item["percent_of_plan"], lang, decimals=2)
                       if item.get("percent_of_plan") is not None else "")
            cells.cell(_signed(item.get("gap"), chosen.unit, locale))
            on_target = item.get("on_target")
            cells.cell("" if on_target is None else _text("yes" if on_target else "no", locale))
    if chosen.better == "higher":
        bars = [(item.get("province_name") or names.get(item["province"], item["province"]),
                 float(item["percent_of_plan"])) for item in rows if item.get("percent_of_plan") is not None]
        _bar_chart(pdf, bars, _text("chart", locale), locale)
    return bytes(pdf.output())
