"""The publishable debtor list (danh sách đơn vị nợ đóng BHXH, BHYT, BHTN) as Excel and PDF.

Both are written in memory from the rows of :func:`ansinh.collection.arrears.debtor_list`. Headings are
bilingual (Vietnamese first: the list is published). The PDF embeds a TrueType font with Vietnamese glyphs
(DejaVu Sans): ``ANSINH_PDF_FONT`` names one explicitly; else the first found of
:data:`FONT_CANDIDATES` (a copy shipped in ``collection/fonts/``, then the usual system locations of the
Debian package ``fonts-dejavu-core``).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from urllib.parse import quote

import xlsxwriter

from ansinh.spreadsheets import safe_cell

#: (key, Vietnamese heading, English heading, width in mm for the PDF)
COLUMNS: tuple[tuple[str, str, str, int], ...] = (
    ("rank", "STT", "No.", 10),
    ("tax_code", "Mã số thuế", "Tax code", 24),
    ("name", "Tên đơn vị", "Employer", 78),
    ("address", "Địa chỉ", "Address", 66),
    ("months_overdue", "Số tháng nợ", "Months overdue", 18),
    ("arrears", "Số tiền nợ (đồng)", "Arrears (dong)", 28),
    ("interest", "Tiền lãi chậm đóng (đồng)", "Late interest (dong)", 28),
    ("total", "Tổng cộng (đồng)", "Total (dong)", 28),
)
TITLE_VI = "DANH SÁCH ĐƠN VỊ NỢ ĐÓNG BẢO HIỂM XÃ HỘI, BẢO HIỂM Y TẾ, BẢO HIỂM THẤT NGHIỆP"
TITLE_EN = "Employers in arrears of social, health and unemployment insurance contributions"

_HERE = Path(__file__).parent
FONT_CANDIDATES: tuple[Path, ...] = (
    _HERE / "fonts" / "DejaVuSans.ttf",
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
)


def attachment(file_name: str) -> str:
    """A ``Content-Disposition`` header for a download (RFC 6266): an ASCII ``filename`` for old clients and
    the exact name, UTF-8 and percent-encoded, in ``filename*`` (a province or a name in Vietnamese)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", file_name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def _subtitle(on: date, province: str | None, province_name: str | None = None, min_months: int = 1,
              max_months: int | None = None) -> str:
    """The place (the province's name; "Toàn quốc" only for the whole country), the ageing bucket when the list
    is one, and the date, written the Vietnamese way (then the English)."""
    from ansinh.formatting import day

    where = province_name or (f"Tỉnh/thành phố {province}" if province else "Toàn quốc")
    bucket = _bucket(min_months, max_months)
    return f"{where}{' — ' + bucket if bucket else ''} — số liệu đến ngày {day(on, 'vi')} (as of {day(on, 'en')})"


def _bucket(min_months: int, max_months: int | None) -> str:
    if max_months is None:
        return "" if min_months <= 1 else f"nợ từ {min_months} tháng trở lên / {min_months} months or more"
    if max_months == min_months:
        return f"nợ {min_months} tháng / {min_months} month{'s' if min_months > 1 else ''} overdue"
    return f"nợ từ {min_months} đến {max_months} tháng / {min_months} to {max_months} months overdue"


def _value(row: dict, key: str, rank: int):
    if key == "rank":
        return rank
    value = row.get(key)
    return "" if value is None else value


def debtors_xlsx(rows: Sequence[dict], *, on: date, province: str | None, province_name: str | None = None,
                 min_months: int = 1, max_months: int | None = None) -> bytes:
    """Sheet ``debtors``: title, date, a bilingual header and one row per employer, with a total row."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("debtors")
    bold = book.add_format({"bold": True})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                              "valign": "top"})
    text = book.add_format({"num_format": "@"})
    money = book.add_format({"num_format": "#,##0"})
    total_format = book.add_format({"bold": True, "num_format": "#,##0"})
    sheet.write_string(0, 0, TITLE_VI, bold)
    sheet.write_string(1, 0, TITLE_EN)
    sheet.write_string(2, 0, safe_cell(_subtitle(on, province, province_name, min_months, max_months)))
    head_row = 4
    for index, (key, vi, en, width) in enumerate(COLUMNS):
        sheet.set_column(index, index, max(8, width // 2))
        sheet.write_string(head_row, index, f"{vi}\n{en}", header)
    for offset, row in enumerate(rows, start=1):
        for index, (key, _vi, _en, _w) in enumerate(COLUMNS):
            value = _value(row, key, offset)
            if isinstance(value, int):
                sheet.write_number(head_row + offset, index, value, money if key not in ("rank", "months_overdue")
                                   else None)
            else:  # names and addresses typed by outsiders: never read as a formula
                sheet.write_string(head_row + offset, index, safe_cell(str(value)), text)
    last = head_row + len(rows) + 1
    sheet.write_string(last, 2, "Tổng cộng / Total", bold)
    for index, (key, *_rest) in enumerate(COLUMNS):
        if key in ("arrears", "interest", "total"):
            sheet.write_number(last, index, sum(int(r.get(key) or 0) for r in rows), total_format)
    sheet.freeze_panes(head_row + 1, 0)
    book.close()
    return buffer.getvalue()


def find_font() -> Path:
    """A TrueType font with Vietnamese glyphs (see the module docstring)."""
    configured = os.environ.get("ANSINH_PDF_FONT")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FileNotFoundError(f"ANSINH_PDF_FONT={configured}: no such file")
        return path
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    raise FileNotFoundError("No TrueType font with Vietnamese glyphs found: install fonts-dejavu-core or set "
                            "ANSINH_PDF_FONT to a .ttf file (e.g. DejaVuSans.ttf)")


def _money(value) -> str:
    from ansinh.formatting import number

    return number(int(value or 0), "vi")  # the list is published in Vietnamese: 1.234.567


def debtors_pdf(rows: Sequence[dict], *, on: date, province: str | None, province_name: str | None = None,
                min_months: int = 1, max_months: int | None = None) -> bytes:
    """A landscape A4 PDF: title, date, a table of the employers (header repeated on each page), total."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(TITLE_VI)
    pdf.set_creator("ansinh")
    pdf.add_font("DejaVu", "", str(find_font()))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("DejaVu", size=12)
    pdf.multi_cell(0, 6, TITLE_VI, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    pdf.cell(0, 5, TITLE_EN, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, _subtitle(on, province, province_name, min_months, max_months), align="C", new_x="LMARGIN",
             new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", size=7)
    widths = tuple(width for *_rest, width in COLUMNS)
    numeric = {"rank", "months_overdue", "arrears", "interest", "total"}
    with pdf.table(col_widths=widths, text_align=tuple("RIGHT" if key in numeric else "LEFT"
                                                       for key, *_rest in COLUMNS),
                   line_height=4, repeat_headings=1, first_row_as_headings=True,
                   headings_style=FontFace(emphasis="", fill_color=(221, 235, 247))) as table:
        heading = table.row()
        for _key, vi, en, _width in COLUMNS:
            heading.cell(f"{vi}\n{en}")
        for rank, row in enumerate(rows, start=1):
            cells = table.row()
            for key, *_rest in COLUMNS:
                value = _value(row, key, rank)
                if key in ("arrears", "interest", "total", "months_overdue", "rank"):
                    cells.cell(_money(value) if value != "" else "")
                else:
                    cells.cell(str(value))
        totals = table.row()
        for key, *_rest in COLUMNS:
            if key == "name":
                totals.cell("Tổng cộng / Total")
            elif key in ("arrears", "interest", "total"):
                totals.cell(_money(sum(int(r.get(key) or 0) for r in rows)))
            else:
                totals.cell("")
    return bytes(pdf.output())
