"""The decision PDF, read back with pypdf: its number, the person, the amounts in figures the Vietnamese way and in
words; the monthly amount and first month of a monthly benefit; a refusal's reason and article."""

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader

from ansinh.benefits import service
from ansinh.benefits.eligibility import Assessment, Reason
from ansinh.benefits.pdf import amount_in_words, decision_document, figures, place_of, render_decision
from ansinh.errors import NotFound
from ansinh.registry.models import Person


def text_of(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


@pytest.fixture
def assessed_as(monkeypatch):
    """Make the records say what a test needs (the eligibility rules are tested on their own)."""
    def use(assessment: Assessment) -> None:
        monkeypatch.setattr("ansinh.benefits.eligibility.assess", lambda session, claim, *, on: assessment)
    return use


def _decided(session, bworld, who, assessed_as, assessment, *, claim_type="sickness", details=None, refuse=None):
    assessed_as(assessment)
    claim, _ = service.file_claim(session, bworld.officer, claim_type=claim_type, citizen_id=who.citizen_id,
                                  filed_on=date(2026, 3, 2), channel="counter",
                                  details=details or {"leave_from": "2026-02-23", "days": 5})
    service.assess(session, bworld.officer, claim.id, on=date(2026, 3, 4))
    return service.decide(session, bworld.officer, claim.id, on=date(2026, 3, 5), refuse=refuse)


def test_amounts_in_figures_and_words():
    assert figures(3_456_789) == "3.456.789 đồng"
    assert amount_in_words(3_456_789) == "Ba triệu bốn trăm năm mươi sáu nghìn bảy trăm tám mươi chín đồng"
    assert amount_in_words(105_000) == "Một trăm lẻ năm nghìn đồng"
    assert amount_in_words(2_340_000) == "Hai triệu ba trăm bốn mươi nghìn đồng"
    assert place_of("Bảo hiểm xã hội Thành phố Hà Nội") == "Hà Nội"
    assert place_of("Bảo hiểm xã hội tỉnh Sơn La") == "Sơn La"


def test_a_grant_has_its_number_the_person_and_the_amount_in_figures_and_words(session, bworld, assessed_as):
    who = bworld.person("Trần Văn An")
    claim = _decided(session, bworld, who, assessed_as, Assessment(eligible=True, amount=3_456_789))
    name, content = decision_document(session, bworld.officer, claim.id)
    text = text_of(content)
    assert claim.decision_number == "00001/2026/QĐ-BHXH-01"
    assert name == "quyet-dinh-00001-2026-QD-BHXH-01.pdf"
    assert "Số: 00001/2026/QĐ-BHXH-01" in text
    assert "QUYẾT ĐỊNH" in text and "Về việc hưởng chế độ ốm đau" in text
    assert "BẢO HIỂM XÃ HỘI THÀNH PHỐ HÀ NỘI" in text and "Hà Nội, ngày 05 tháng 03 năm 2026" in text
    assert "Trần Văn An" in text and who.citizen_id in text
    assert "3.456.789 đồng" in text
    assert "Ba triệu bốn trăm năm mươi sáu nghìn bảy trăm tám mươi chín đồng" in text
    assert "Luật Bảo hiểm xã hội số 41/2024/QH15" in text


def test_a_monthly_benefit_has_its_monthly_amount_and_first_month(session, bworld, assessed_as):
    who = bworld.person("Ngô Thị Lan")
    claim = _decided(session, bworld, who, assessed_as,
                     Assessment(eligible=True, monthly_amount=6_000_000, benefit_months=3,
                                first_month=date(2026, 3, 1)),
                     claim_type="unemployment",
                     details={"decision_number": "15/QĐ-TTDVVL", "decision_on": "2026-02-27",
                              "employment_ended_on": "2026-01-31"})
    text = text_of(render_decision(claim, session.get(Person, claim.person_id), None,
                                   office_name="Bảo hiểm xã hội Thành phố Hà Nội"))
    assert "Về việc hưởng trợ cấp thất nghiệp" in text
    assert "Mức hưởng hằng tháng: 6.000.000 đồng" in text and "Sáu triệu đồng" in text
    assert "Số tháng được hưởng: 3 tháng" in text and "từ tháng 03/2026" in text
    assert "Quyết định số 15/QĐ-TTDVVL ngày 27/02/2026" in text


def test_a_refusal_has_its_reason_and_article(session, bworld, assessed_as):
    who = bworld.person("Phạm Văn Cường")
    reason = Reason(code="contribution_months", article="Điều 43 Luật Bảo hiểm xã hội số 41/2024/QH15",
                    text_en="Not enough months of contributions.", text_vi="Chưa đủ thời gian đóng bảo hiểm xã hội")
    claim = _decided(session, bworld, who, assessed_as, Assessment(eligible=False, reasons=[reason]))
    text = text_of(decision_document(session, bworld.officer, claim.id)[1])
    assert "Về việc không giải quyết hưởng chế độ ốm đau" in text
    assert "Lý do: Chưa đủ thời gian đóng bảo hiểm xã hội" in text
    assert "Căn cứ pháp lý: Điều 43 Luật Bảo hiểm xã hội số 41/2024/QH15" in text
    assert claim.decision_number in text and "Phạm Văn Cường" in text
    # the officer's own written reason
    other = _decided(session, bworld, bworld.person("Vũ Văn Em"), assessed_as,
                     Assessment(eligible=True, amount=1_000_000), refuse="Giấy ra viện không hợp lệ")
    assert "Lý do: Giấy ra viện không hợp lệ" in text_of(decision_document(session, bworld.officer, other.id)[1])


def test_no_decision_no_document_and_other_provinces_see_none(session, bworld, assessed_as):
    who = bworld.person("Đỗ Văn Giang")
    claim, _ = service.file_claim(session, bworld.officer, claim_type="sickness", citizen_id=who.citizen_id,
                                  filed_on=date(2026, 3, 2), channel="counter",
                                  details={"leave_from": "2026-02-23", "days": 5})
    with pytest.raises(NotFound):
        decision_document(session, bworld.officer, claim.id)
    decided = _decided(session, bworld, bworld.person("Hoàng Văn Dũng"), assessed_as,
                       Assessment(eligible=True, amount=500_000))
    with pytest.raises(NotFound):
        decision_document(session, bworld.sonla_officer, decided.id)
    with pytest.raises(ValueError):
        render_decision(claim, session.get(Person, claim.person_id))
