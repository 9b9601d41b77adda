"""The settlement sheet of a facility's month as Excel (the sheet and the list of the claims settled) and PDF (the
sheet, with the amount due in Vietnamese words). Headings are bilingual, Vietnamese first (the sheet is signed in
Vietnamese); numbers are written the Vietnamese way. The PDF embeds the collection domain's font with Vietnamese
glyphs (:func:`ansinh.collection.debtors.find_font`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import xlsxwriter

from ansinh.claims.settlement.models import Settlement
from ansinh.spreadsheets import safe_cell

TITLE_VI = "BẢNG THANH TOÁN CHI PHÍ KHÁM BỆNH, CHỮA BỆNH BẢO HIỂM Y TẾ"
TITLE_EN = "Settlement of health insurance medical costs"
#: (key, Vietnamese, English) of the sheet's figures.
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("claims", "Số hồ sơ", "Claims"),
    ("claimed", "Đề nghị quỹ BHYT thanh toán (đồng)", "Claimed from the fund (dong)"),
    ("disallowed", "Từ chối thanh toán (đồng)", "Disallowed (dong)"),
    ("accepted", "Chấp nhận thanh toán (đồng)", "Accepted (dong)"),
    ("advances", "Đã tạm ứng (đồng)", "Advances offset (dong)"),
    ("due", "Còn phải thanh toán (đồng)", "Amount due (dong)"),
)
#: (key, Vietnamese, English) of the list of claims.
CLAIM_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("episode_key", "Mã liên kết (MA_LK)", "Episode (MA_LK)"),
    ("full_name", "Họ tên", "Name"),
    ("card_code", "Mã thẻ BHYT", "Card"),
    ("care_type", "Loại KCB", "Care type"),
    ("arrived_at", "Ngày vào", "Arrived"),
    ("discharged_at", "Ngày ra", "Discharged"),
    ("fund_claimed", "Đề nghị (đồng)", "Claimed (dong)"),
    ("disallowed", "Từ chối (đồng)", "Disallowed (dong)"),
    ("accepted", "Chấp nhận (đồng)", "Accepted (dong)"),
)

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _three(number: int, full: bool) -> list[str]:
    """The words of 0 … 999 (``full``: a group after a higher one, its hundreds and "linh" said)."""
    hundreds, tens, units = number // 100, number // 10 % 10, number % 10
    words: list[str] = []
    if full or hundreds:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            words += (["linh"] if words else []) + [_DIGITS[units]]
        return words
    words += ["mười"] if tens == 1 else [_DIGITS[tens], "mươi"]
    if units == 1 and tens > 1:
        words.append("mốt")
    elif units == 5:
        words.append("lăm")
    elif units == 4 and tens > 1:
        words.append("tư")
    elif units:
        words.append(_DIGITS[units])
    return words


def _below_a_billion(number: int, full: bool) -> list[str]:
    words: list[str] = []
    for group, scale in ((number // 1_000_000, "triệu"), (number // 1000 % 1000, "nghìn"), (number % 1000, "")):
        if not group:
            continue
        words += _three(group, full=full)
        if scale:
            words.append(scale)
        full = True
    return words


def vietnamese_words(number: int) -> str:
    """A whole number in Vietnamese words: 1,234,567 → "một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy";
    1,005 → "một nghìn không trăm linh năm"; negative numbers "âm …"; from a billion, "… tỷ …" (a thousand billion:
    "một nghìn tỷ")."""
    if number < 0:
        return "âm " + vietnamese_words(-number)
    if number == 0:
        return _DIGITS[0]
    if number >= 1_000_000_000:
        billions, rest = divmod(number, 1_000_000_000)
        return " ".join([vietnamese_words(billions), "tỷ", *_below_a_billion(rest, full=True)])
    return " ".join(_below_a_billion(number, full=False))


def amount_in_words(amount: int) -> str:
    """An amount of dong as a sheet writes it: "Một triệu hai trăm nghìn đồng"."""
    text = vietnamese_words(amount) + " đồng"
    return text[0].upper() + text[1:]


def _month(settlement: Settlement) -> str:
    return f"{settlement.month:02d}/{settlement.year}"


def _heading(settlement: Settlement, facility_name: str | None) -> list[tuple[str, str]]:
    from ansinh.formatting import day

    return [("Cơ sở KCB / Facility", f"{settlement.facility_code} {facility_name or ''}".strip()),
            ("Tháng quyết toán / Settlement month", _month(settlement)),
            ("Ngày quyết toán / Settled on", day(settlement.settled_on, "vi")),
            ("Người lập / Settled by", settlement.settled_by)]


def settlement_xlsx(settlement: Settlement, claims: Sequence[dict], *, facility_name: str | None = None,
                    offsets: Sequence[dict] = ()) -> bytes:
    """Sheet ``settlement`` (the facility, the month, the figures, the advances offset, the amount due in words) and
    sheet ``claims`` (one row per claim settled, with a total row)."""
    from ansinh.formatting import day, in_vietnam

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0"})
    total = book.add_format({"bold": True, "num_format": "#,##0"})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"})
    when = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})

    sheet = book.add_worksheet("settlement")
    sheet.set_column(0, 0, 42)
    sheet.set_column(1, 1, 30)
    sheet.write_string(0, 0, TITLE_VI, bold)
    sheet.write_string(1, 0, TITLE_EN)
    row = 3
    for label, value in _heading(settlement, facility_name):
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, safe_cell(value))
        row += 1
    row += 1
    for key, vi, en in FIGURES:
        sheet.write_string(row, 0, f"{vi} / {en}", bold if key == "due" else None)
        sheet.write_number(row, 1, getattr(settlement, key), total if key == "due" else money)
        row += 1
    sheet.write_string(row, 0, "Bằng chữ / In words", bold)
    sheet.write_string(row, 1, amount_in_words(settlement.due))
    row += 2
    if offsets:
        sheet.write_string(row, 0, "Tạm ứng được bù trừ / Advances offset", bold)
        row += 1
        for item in offsets:
            sheet.write_string(row, 0, safe_cell(f"{item['reference']} ({day(item['paid_on'], 'vi')})"))
            sheet.write_number(row, 1, item["offset"], money)
            row += 1

    listing = book.add_worksheet("claims")
    for index, (key, vi, en) in enumerate(CLAIM_COLUMNS):
        listing.set_column(index, index, 24 if key in ("full_name", "episode_key") else 16)
        listing.write_string(0, index, f"{vi}\n{en}", header)
    for number, claim in enumerate(claims, start=1):
        for index, (key, *_rest) in enumerate(CLAIM_COLUMNS):
            value = claim.get(key)
            if value is None:
                continue
            if key in ("fund_claimed", "disallowed", "accepted"):
                listing.write_number(number, index, value, money)
            elif key in ("arrived_at", "discharged_at"):
                listing.write_datetime(number, index, in_vietnam(value).replace(tzinfo=None), when)
            else:  # names and codes as the facility sent them: never read as a formula
                listing.write_string(number, index, safe_cell(str(value)))
    last = len(claims) + 1
    listing.write_string(last, 0, "Tổng cộng / Total", bold)
    for index, (key, *_rest) in enumerate(CLAIM_COLUMNS):
        if key in ("fund_claimed", "disallowed", "accepted"):
            listing.write_number(last, index, sum(int(c[key]) for c in claims), total)
    listing.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def settlement_pdf(settlement: Settlement, *, facility_name: str | None = None,
                   offsets: Sequence[dict] = ()) -> bytes:
    """A portrait A4 sheet: title, facility and month, the figures, the advances offset, the amount due in words,
    and the places to sign."""
    from fpdf import FPDF

    from ansinh.collection.debtors import find_font
    from ansinh.formatting import day, number

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(TITLE_VI)
    pdf.set_creator("ansinh")
    pdf.add_font("DejaVu", "", str(find_font()))
    pdf.add_page()
    pdf.set_font("DejaVu", size=12)
    pdf.multi_cell(0, 6, TITLE_VI, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    pdf.cell(0, 5, TITLE_EN, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    with pdf.table(col_widths=(80, 100), text_align=("LEFT", "LEFT"), line_height=6,
                   first_row_as_headings=False) as table:
        for label, value in _heading(settlement, facility_name):
            cells = table.row()
            cells.cell(label)
            cells.cell(value)
    pdf.ln(4)
    with pdf.table(col_widths=(120, 60), text_align=("LEFT", "RIGHT"), line_height=6,
                   first_row_as_headings=False) as table:
        for key, vi, en in FIGURES:
            cells = table.row()
            cells.cell(f"{vi}\n{en}")
            cells.cell(number(getattr(settlement, key), "vi"))
        for item in offsets:
            cells = table.row()
            cells.cell(f"  Tạm ứng / Advance {item['reference']} ({day(item['paid_on'], 'vi')})")
            cells.cell(number(item["offset"], "vi"))
    pdf.ln(3)
    pdf.multi_cell(0, 6, f"Bằng chữ / In words: {amount_in_words(settlement.due)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    pdf.cell(width, 6, "ĐẠI DIỆN CƠ SỞ KCB", align="C")
    pdf.cell(width, 6, "ĐẠI DIỆN CƠ QUAN BHXH", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width, 5, "(Ký, ghi rõ họ tên, đóng dấu)", align="C")
    pdf.cell(width, 5, "(Ký, ghi rõ họ tên, đóng dấu)", align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
