"""The slip the office hands a citizen with their password reset code, in Vietnamese (A5): the agency and the
office, the citizen's ID and name, the code in large letters, until when it is valid, and what to do with it.

Pure: no database, no clock; the moments printed are the ones given (shown in Vietnam's time)."""

from __future__ import annotations

from datetime import UTC, datetime

from ansinh.clock import VIETNAM
from ansinh.collection.debtors import find_font

AGENCY = "BẢO HIỂM XÃ HỘI VIỆT NAM"
_BLUE = (0, 51, 102)
_GREY = (90, 90, 90)


def _moment(value: datetime) -> str:
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(VIETNAM)
    return f"{local:%H:%M} ngày {local:%d/%m/%Y}"


def render_slip(*, citizen_id: str, full_name: str, code: str, valid_until: datetime, issued_at: datetime,
                office_name: str | None = None, username: str | None = None, address: str = "/login/reset") -> bytes:
    """The slip as a PDF (bytes)."""
    from fpdf import FPDF

    from ansinh.auth.reset.service import display_code

    pdf = FPDF(orientation="P", unit="mm", format=(148, 210))  # A5
    pdf.set_title("Mã đặt lại mật khẩu")
    pdf.set_creator("ansinh")
    pdf.add_font("DejaVu", "", str(find_font()))
    pdf.set_margins(14, 14, 14)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font("DejaVu", size=9)
    pdf.set_text_color(*_BLUE)
    pdf.multi_cell(width, 4.5, f"{AGENCY}\n{(office_name or '').upper()}".strip(), align="C",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(5)
    pdf.set_font("DejaVu", size=14)
    pdf.cell(width, 7, "PHIẾU MÃ ĐẶT LẠI MẬT KHẨU", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    pdf.set_text_color(*_GREY)
    pdf.cell(width, 5, "Tài khoản dịch vụ công của người dân (VssID)", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(5)

    def row(label: str, value: str) -> None:
        pdf.set_font("DejaVu", size=10)
        pdf.cell(42, 7, label)
        pdf.multi_cell(width - 42, 7, value, new_x="LMARGIN", new_y="NEXT")

    row("Họ và tên:", full_name)
    row("Số định danh cá nhân:", citizen_id)
    if username and username != citizen_id:
        row("Tên đăng nhập:", username)
    row("Ngày cấp mã:", _moment(issued_at))
    pdf.ln(3)
    pdf.set_font("DejaVu", size=10)
    pdf.cell(width, 6, "Mã đặt lại mật khẩu (dùng một lần):", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=26)
    pdf.set_draw_color(*_BLUE)
    pdf.cell(width, 16, display_code(code), border=1, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", size=10)
    pdf.cell(width, 6, f"Có hiệu lực đến: {_moment(valid_until)}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.set_font("DejaVu", size=9.5)
    steps = (
        f"1. Mở trang {address}, nhập số định danh cá nhân, mã trên và mật khẩu mới.",
        "2. Đăng nhập bằng số định danh cá nhân và mật khẩu mới.",
        "3. Nếu tài khoản dùng mã xác thực hai lớp, hãy cài đặt lại ứng dụng xác thực.",
        "Mã chỉ dùng được một lần. Không đưa mã này cho người khác; cán bộ bảo hiểm xã hội không bao giờ hỏi mã "
        "hay mật khẩu của bạn.",
    )
    for line in steps:
        pdf.multi_cell(width, 5.2, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())
