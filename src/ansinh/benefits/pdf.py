"""The decision on a benefit claim as a PDF document, in Vietnamese, laid out as an administrative decision
(Decree 30/2020/NĐ-CP on official documents): the agency's heading and the national motto, the decision's number
(``Số:``) and date, the title ("QUYẾT ĐỊNH về việc hưởng …", or "… không giải quyết hưởng …" for a refusal), the
legal basis, the person (and the payee when another person is paid), the amounts in figures written the Vietnamese
way (``12.345.678 đồng``) and in words (``num2words(n, lang="vi")``: "Mười hai triệu … đồng"), the monthly amount and
the first month for a monthly benefit; for a refusal the written reason and the article of law it rests on; then who
carries it out and the signature block.

One decision per grant or refusal: :func:`render_decision` takes the decided claim, the insured person and the payee
(the pages, the API and the command call it). Pure: no database, no clock; the date printed is the decision's.
"""

from __future__ import annotations

from datetime import date


from ansinh.benefits.eligibility import LAW_2024_FROM
from ansinh.benefits.models import BenefitClaim, ClaimStatus, ClaimType
from ansinh.collection.debtors import find_font
from ansinh.formatting import number

AGENCY = "BẢO HIỂM XÃ HỘI VIỆT NAM"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
#: What each benefit is called in a decision's title.
BENEFIT_VI = {
    ClaimType.lump_sum: "bảo hiểm xã hội một lần",
    ClaimType.pension: "lương hưu hằng tháng",
    ClaimType.sickness: "chế độ ốm đau",
    ClaimType.maternity: "chế độ thai sản",
    ClaimType.unemployment: "trợ cấp thất nghiệp",
    ClaimType.funeral: "trợ cấp mai táng",
    ClaimType.survivor: "trợ cấp tuất",
}
SEX_VI = {"male": "Nam", "female": "Nữ"}
MONTHLY = frozenset({ClaimType.pension, ClaimType.unemployment, ClaimType.survivor})
_LAW_2014 = "Luật Bảo hiểm xã hội số 58/2014/QH13"
_LAW_2024 = "Luật Bảo hiểm xã hội số 41/2024/QH15"
_BLUE = (0, 51, 102)
_GREY = (90, 90, 90)


def amount_in_words(amount: int) -> str:
    """An amount in dong in Vietnamese words, first letter capital: ``Một triệu hai trăm nghìn đồng``."""
    from num2words import num2words  # here: the package imports every language it has (0.1-0.7 s)

    words = num2words(int(amount), lang="vi").strip()
    return f"{words[:1].upper()}{words[1:]} đồng"


def figures(amount: int) -> str:
    """An amount in figures the Vietnamese way: ``1.200.000 đồng``."""
    return f"{number(int(amount), 'vi')} đồng"


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _dated(place: str | None, value: date | None) -> str:
    prefix = f"{place}, ngày" if place else "Ngày"
    if value is None:
        return f"{prefix} … tháng … năm …"
    return f"{prefix} {value.day:02d} tháng {value.month:02d} năm {value.year}"


def place_of(office_name: str | None) -> str | None:
    """Where a decision is signed, from its office's name: "Bảo hiểm xã hội Thành phố Hà Nội" → "Hà Nội"."""
    if not office_name:
        return None
    rest = office_name.strip()
    for prefix in ("Bảo hiểm xã hội ", "BẢO HIỂM XÃ HỘI "):
        rest = rest.removeprefix(prefix)
    for kind in ("Thành phố ", "thành phố ", "Tỉnh ", "tỉnh ", "cơ sở ", "quận ", "huyện ", "thị xã "):
        rest = rest.removeprefix(kind)
    return rest or None


def _legal_basis(claim: BenefitClaim, decided_on: date | None) -> list[str]:
    claim_type = ClaimType(claim.claim_type)
    law = _LAW_2024 if (decided_on or claim.filed_on) >= LAW_2024_FROM else _LAW_2014
    lines = [f"Căn cứ {law};"]
    if claim_type is ClaimType.unemployment:
        details = claim.details or {}
        lines = ["Căn cứ Luật Việc làm và các văn bản hướng dẫn thi hành;"]
        if details.get("decision_number"):
            decided = details.get("decision_on")
            when = f" ngày {_day(date.fromisoformat(decided))}" if decided else ""
            lines.append(f"Căn cứ Quyết định số {details['decision_number']}{when} của cơ quan có thẩm quyền về việc "
                         "hưởng trợ cấp thất nghiệp;")
    reasons = (claim.assessment or {}).get("reasons") or []
    articles = sorted({r.get("article") for r in reasons if r.get("article")})
    if articles and ClaimStatus(claim.status) is not ClaimStatus.refused:
        lines.append(f"Căn cứ {'; '.join(articles)};")
    lines.append(f"Căn cứ hồ sơ đề nghị nộp ngày {_day(claim.filed_on)} và kết quả xét duyệt hồ sơ,")
    return lines


def render_decision(claim: BenefitClaim, person, payee=None, *, office_name: str | None = None,
                    place: str | None = None) -> bytes:
    """The decision on a decided claim as a PDF (bytes). ``person``: the insured person
    (:class:`~ansinh.registry.models.Person`); ``payee``: who is paid when another person (a relative for funeral and
    survivor benefits); ``office_name``: the deciding office as its heading prints it (default: the agency's).
    A claim without a decision number has no decision: ValueError."""
    from fpdf import FPDF

    if not claim.decision_number:
        raise ValueError("the claim has no decision")
    claim_type = ClaimType(claim.claim_type)
    refused = ClaimStatus(claim.status) is ClaimStatus.refused
    benefit = BENEFIT_VI[claim_type]
    office = (office_name or AGENCY).upper()
    place = place or place_of(office_name)

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"Quyết định {claim.decision_number}")
    pdf.set_subject(person.full_name)
    pdf.set_creator("ansinh")
    pdf.add_font("DejaVu", "", str(find_font()))
    pdf.set_margins(20, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    half = width / 2 - 2

    # The heading: the agency (left), the nation and its motto (right).
    top = pdf.get_y()
    pdf.set_font("DejaVu", size=9)
    pdf.set_text_color(*_BLUE)
    pdf.multi_cell(half, 4.5, f"{AGENCY}\n{office}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.multi_cell(half, 5, f"Số: {claim.decision_number}", align="C", new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + half + 4, top)
    pdf.multi_cell(half, 4.5, f"{NATION}\n{MOTTO}", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(half, 5, _dated(place, claim.decided_on), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)

    # The title.
    pdf.set_font("DejaVu", size=14)
    pdf.cell(width, 7, "QUYẾT ĐỊNH", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=11)
    subject = f"Về việc không giải quyết hưởng {benefit}" if refused else f"Về việc hưởng {benefit}"
    pdf.multi_cell(width, 6, subject, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", size=10.5)
    pdf.cell(width, 6, f"GIÁM ĐỐC {office}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def paragraph(text: str, *, size: float = 10.5, indent: float = 0, gap: float = 1.2) -> None:
        pdf.set_font("DejaVu", size=size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(width - indent, 5.6, text, align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    for line in _legal_basis(claim, claim.decided_on):
        paragraph(line, indent=6)
    pdf.ln(1)
    pdf.set_font("DejaVu", size=11)
    pdf.cell(width, 7, "QUYẾT ĐỊNH:", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)

    # Article 1: the person and what is decided.
    sex = getattr(person.sex, "value", person.sex)
    who = (f"Ông/Bà: {person.full_name}; giới tính: {SEX_VI.get(sex, sex)}; sinh ngày {_day(person.date_of_birth)}; "
           f"số định danh cá nhân: {person.citizen_id or '–'}; mã số bảo hiểm xã hội: {person.si_number}.")
    if refused:
        paragraph(f"Điều 1. Không giải quyết hưởng {benefit} đối với:")
        paragraph(who, indent=6)
        paragraph(f"Lý do: {claim.refusal_reason or 'Không đủ điều kiện hưởng'}.", indent=6)
        if claim.refusal_article:
            paragraph(f"Căn cứ pháp lý: {claim.refusal_article}.", indent=6)
    else:
        paragraph(f"Điều 1. Giải quyết hưởng {benefit} đối với:")
        paragraph(who, indent=6)
        if payee is not None and getattr(payee, "id", None) != getattr(person, "id", None):
            paragraph(f"Người nhận trợ cấp: Ông/Bà {payee.full_name}; số định danh cá nhân: "
                      f"{payee.citizen_id or '–'}.", indent=6)
        if claim.amount:
            paragraph(f"Số tiền được hưởng: {figures(claim.amount)}.", indent=6, gap=0.2)
            paragraph(f"(Bằng chữ: {amount_in_words(claim.amount)}.)", indent=6)
        if claim_type in MONTHLY and claim.monthly_amount:
            paragraph(f"Mức hưởng hằng tháng: {figures(claim.monthly_amount)}.", indent=6, gap=0.2)
            paragraph(f"(Bằng chữ: {amount_in_words(claim.monthly_amount)}.)", indent=6)
            if claim.benefit_months:
                paragraph(f"Số tháng được hưởng: {claim.benefit_months} tháng.", indent=6)
            if claim.first_month:
                paragraph(f"Thời điểm hưởng: từ tháng {claim.first_month.month:02d}/{claim.first_month.year}.",
                          indent=6)
        if not claim.amount and not claim.monthly_amount:
            paragraph("Số tiền được hưởng: 0 đồng.", indent=6)
    # Article 2 and 3: carrying it out.
    if refused:
        paragraph("Điều 2. Trường hợp không đồng ý với quyết định này, Ông/Bà có quyền khiếu nại hoặc khởi kiện theo "
                  "quy định của pháp luật.")
    else:
        paragraph("Điều 2. Cơ quan bảo hiểm xã hội chi trả các khoản trợ cấp nêu tại Điều 1 qua tài khoản của "
                  "người hưởng hoặc tại điểm chi trả của bưu điện.")
    paragraph("Điều 3. Các phòng nghiệp vụ có liên quan và Ông/Bà có tên tại Điều 1 chịu trách nhiệm thi hành Quyết "
              "định này. Quyết định có hiệu lực kể từ ngày ký.")

    # Signature.
    pdf.ln(4)
    pdf.set_x(pdf.l_margin + half + 4)
    pdf.set_font("DejaVu", size=10.5)
    pdf.multi_cell(half, 5.5, "GIÁM ĐỐC\n(Đã ký)", align="C", new_x="LEFT", new_y="NEXT")
    pdf.ln(10)
    pdf.set_x(pdf.l_margin + half + 4)
    pdf.set_font("DejaVu", size=9)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(half, 5, f"Người xét duyệt: {claim.decided_by or ''}", align="C", new_x="LMARGIN",
                   new_y="NEXT")
    return bytes(pdf.output())


def decision_document(session, principal, claim_id: int) -> tuple[str, bytes]:
    """The decision of a claim the caller may see, as (file name, PDF): the read audited; 404 when the claim is
    not the caller's or has no decision (yet, or any more after an appeal)."""
    from ansinh.auth.models import OrgUnit
    from ansinh.benefits import service
    from ansinh.errors import NotFound
    from ansinh.registry.models import Person

    claim = service.get_claim(session, principal, claim_id)
    if not claim.decision_number:
        raise NotFound("Claim {id} has no decision.", id=claim_id)
    person = session.get(Person, claim.person_id)
    payee = session.get(Person, claim.payee_person_id) if claim.payee_person_id else person
    unit = session.get(OrgUnit, claim.org_unit_id)
    content = render_decision(claim, person, payee, office_name=unit.name if unit else None)
    number = claim.decision_number.replace("Đ", "D").replace("đ", "d")
    name = "quyet-dinh-" + "".join(c if c.isascii() and c.isalnum() else "-" for c in number) + ".pdf"
    return name, content
