"""The printable health insurance card: one credit-card-sized page (85.6 x 54 mm, ISO/IEC 7810 ID-1) laid out as
the front of the Vietnamese card (thẻ BHYT): the agency and the title, the card code, the holder's name, date of
birth, sex and address, the registered primary-care facility, the validity, the date from which the holder has five
consecutive years of coverage, and a QR code of ``card code|name|date of birth|validity``.

The card is printed in Vietnamese, as issued. A suspended card carries a red "SUSPENDED" band across it. Vietnamese
text needs a TrueType font with its glyphs: the DejaVu Sans that collection ships (:func:`find_font`).
"""

from __future__ import annotations

from datetime import date

import segno

from ansinh.collection.debtors import find_font

WIDTH, HEIGHT = 85.6, 54.0  # mm
AGENCY = "BẢO HIỂM XÃ HỘI VIỆT NAM"
TITLE = "THẺ BẢO HIỂM Y TẾ"
SEX_VI = {"male": "Nam", "female": "Nữ"}
_BLUE = (0, 84, 147)
_RED = (198, 40, 40)
_GREY = (90, 90, 90)


def show_day(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def grouped_code(code: str) -> str:
    """The card code as printed: group, benefit digit, province, SI number (``DN 4 01 0123456789``)."""
    code = (code or "").strip().upper()
    if len(code) != 15:
        return code
    return f"{code[:2]} {code[2]} {code[3:5]} {code[5:]}"


def validity_text(valid_from: date | None, valid_until: date | None) -> str:
    text = f"từ {show_day(valid_from)}"
    return f"{text} đến {show_day(valid_until)}" if valid_until else text


def qr_payload(card, person) -> str:
    """What the QR code says: ``card code|full name|date of birth|valid from-valid until`` (dates dd/mm/yyyy)."""
    return "|".join((card.card_code, person.full_name, show_day(person.date_of_birth),
                     f"{show_day(card.valid_from)}-{show_day(card.valid_until)}"))


def _draw_qr(pdf, payload: str, x: float, y: float, size: float) -> None:
    """The QR code as vector squares (a run of dark modules on a row is one rectangle)."""
    code = segno.make_qr(payload, error="m", boost_error=False)
    matrix = [list(row) for row in code.matrix]
    modules = len(matrix)
    quiet = 1  # a narrow quiet zone: the card's white border adds to it
    cell = size / (modules + 2 * quiet)
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(matrix):
        column = 0
        while column < modules:
            if row[column]:
                start = column
                while column < modules and row[column]:
                    column += 1
                pdf.rect(x + (start + quiet) * cell, y + (row_index + quiet) * cell, (column - start) * cell, cell,
                         style="F")
            else:
                column += 1


def _field(pdf, x: float, width: float, label: str, value: str, *, size: float = 6.2, height: float = 3.2) -> None:
    """One ``label: value`` line (wrapped when long), the label in grey."""
    pdf.set_x(x)
    pdf.set_font("DejaVu", size=size)
    pdf.set_text_color(*_GREY)
    label_width = pdf.get_string_width(label + ": ") + 0.3
    pdf.cell(label_width, height, label + ":", new_x="RIGHT", new_y="TOP")
    pdf.set_text_color(0, 0, 0)
    pdf.multi_cell(width - label_width, height, value or "–", align="L", new_x="LMARGIN", new_y="NEXT")


def card_pdf(card, person, facility_name: str | None = None, *, agency_name: str = AGENCY,
             address: str | None = None, issued_on: date | None = None) -> bytes:
    """The card as a one-page PDF. ``card``: an :class:`~ansinh.cards.models.HICard`; ``person``: the holder
    (:class:`~ansinh.registry.models.Person`); ``facility_name``: the name of the registered facility;
    ``address``: the holder's address as printed (default: the person's recorded address)."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format=(WIDTH, HEIGHT))
    pdf.set_title(f"{TITLE} {card.card_code}")
    pdf.set_subject(person.full_name)
    pdf.set_creator("ansinh")
    pdf.add_font("DejaVu", "", str(find_font()))
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(3, 2.5, 3)
    pdf.add_page()

    # Frame and the header band.
    pdf.set_draw_color(*_BLUE)
    pdf.set_line_width(0.4)
    pdf.rect(1.2, 1.2, WIDTH - 2.4, HEIGHT - 2.4, round_corners=True, corner_radius=2.5)
    pdf.set_xy(3, 2.8)
    pdf.set_font("DejaVu", size=5.6)
    pdf.set_text_color(*_BLUE)
    pdf.cell(WIDTH - 6, 2.6, agency_name.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9.5)
    pdf.set_text_color(*_RED)
    pdf.cell(WIDTH - 6, 4.4, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*_BLUE)
    pdf.set_line_width(0.2)
    pdf.line(3, pdf.get_y() + 0.4, WIDTH - 3, pdf.get_y() + 0.4)

    # The code, large, then the holder.
    qr_size = 19.0
    text_width = WIDTH - 6 - qr_size - 1.5
    pdf.set_xy(3, pdf.get_y() + 1.2)
    pdf.set_font("DejaVu", size=6.2)
    pdf.set_text_color(*_GREY)
    pdf.cell(10, 4.2, "Mã số:", new_x="RIGHT", new_y="TOP")
    pdf.set_font("DejaVu", size=9)
    pdf.set_text_color(0, 0, 0)
    pdf.cell(text_width - 10, 4.2, grouped_code(card.card_code), new_x="LMARGIN", new_y="NEXT")
    qr_top = pdf.get_y() - 4.4
    _field(pdf, 3, text_width, "Họ và tên", person.full_name.upper(), size=6.8, height=3.5)
    sex = SEX_VI.get(getattr(person.sex, "value", person.sex), str(getattr(person.sex, "value", person.sex)))
    _field(pdf, 3, text_width, "Ngày sinh", f"{show_day(person.date_of_birth)}    Giới tính: {sex}")
    printed_address = address if address is not None else person.address
    if printed_address:
        _field(pdf, 3, text_width, "Địa chỉ", printed_address)
    pdf.set_y(max(pdf.get_y(), qr_top + qr_size + 0.6))  # the lines below run under the QR code
    facility = card.registered_facility or ""
    if facility and facility_name:
        facility = f"{facility} - {facility_name}"
    _field(pdf, 3, WIDTH - 6, "Nơi đăng ký KCB ban đầu", facility)
    _field(pdf, 3, WIDTH - 6, "Giá trị sử dụng", validity_text(card.valid_from, card.valid_until))
    _field(pdf, 3, WIDTH - 6, "Thời điểm đủ 5 năm liên tục", show_day(card.five_years_from))

    _draw_qr(pdf, qr_payload(card, person), WIDTH - 3 - qr_size, qr_top, qr_size)

    # Footer: where and when printed.
    pdf.set_xy(3, HEIGHT - 5.2)
    pdf.set_font("DejaVu", size=4.6)
    pdf.set_text_color(*_GREY)
    footer = f"Mã nhóm {card.hi_group} · mức hưởng {card.benefit_digit}"
    if issued_on is not None:
        footer += f" · in ngày {show_day(issued_on)}"
    pdf.cell(WIDTH - 6, 2.4, footer, align="R")

    status = getattr(card.status, "value", card.status)
    if status == "suspended":
        with pdf.rotation(18, WIDTH / 2, HEIGHT / 2):
            pdf.set_draw_color(*_RED)
            pdf.set_line_width(0.6)
            pdf.set_text_color(*_RED)
            pdf.set_font("DejaVu", size=11)
            pdf.set_xy(WIDTH / 2 - 32, HEIGHT / 2 - 4)
            pdf.cell(64, 8, "TẠM KHÓA · SUSPENDED", border=1, align="C")
    return bytes(pdf.output())
