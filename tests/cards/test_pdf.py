"""The printable card: a credit-card-sized PDF with the code, the holder and the card's facts in Vietnamese."""

import io
import re
from datetime import date

import pytest

from ansinh.auth.models import OrgUnit
from ansinh.cards import facilities, service
from ansinh.cards.pdf import HEIGHT, WIDTH, card_pdf, grouped_code, qr_payload
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Sex

ON = date(2026, 11, 22)


@pytest.fixture
def carded(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    facility = facilities.create_facility(session, facilities.FacilityData(
        code="01001", name="Bệnh viện Đa khoa Hà Đông", level="provincial"), hanoi)
    child = registry.create_person(session, registry.PersonData(
        full_name="Nguyễn Thị Thu Hương", date_of_birth=date(2023, 8, 1), sex=Sex.female, citizen_id="001323012347",
        address="Số 12 phố Đội Cấn"), hanoi)
    participation.enrol_state_budget(session, group="TE", people=[child], start=date(2023, 8, 1),
                                     end=date(2029, 8, 1), org_unit=hanoi)
    service.issue_cards(session, on=ON)
    service.change_registered_facility(session, child.id, facility.code)
    return child, service.current_card(session, child.id), facility


def _text(pdf: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_card_pdf_carries_the_code_the_holder_and_the_facts(carded):
    person, card, facility = carded
    pdf = card_pdf(card, person, facility.name)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72, 1), round(float(box.height) * 25.4 / 72, 1)) == (WIDTH, HEIGHT)
    text = _text(pdf)
    assert card.card_code in _squeezed(text)
    assert grouped_code(card.card_code) == f"TE 1 01 {person.si_number}" and grouped_code(card.card_code) in text
    assert "THẺ BẢO HIỂM Y TẾ" in text and "BẢO HIỂM XÃ HỘI VIỆT NAM" in text
    assert "NGUYỄN THỊ THU HƯƠNG" in text and "01/08/2023" in text and "Nữ" in text
    assert "Số 12 phố Đội Cấn" in text
    assert "01001 - Bệnh viện Đa khoa Hà Đông" in text
    assert f"từ {card.valid_from:%d/%m/%Y} đến 31/07/2029" in text
    assert "Thời điểm đủ 5 năm liên tục" in text
    assert "SUSPENDED" not in text


def test_the_qr_code_says_code_name_birth_and_validity(carded):
    person, card, _facility = carded
    assert qr_payload(card, person) == (f"{card.card_code}|Nguyễn Thị Thu Hương|01/08/2023|"
                                        f"{card.valid_from:%d/%m/%Y}-31/07/2029")


def test_a_suspended_card_is_marked(session, carded):
    person, _card, facility = carded
    suspended = service.suspend_card(session, person.id, reason="Thẻ cho người khác mượn")
    text = _text(card_pdf(suspended, person, facility.name, address="Phường Ba Đình, Hà Nội"))
    assert "SUSPENDED" in text and "TẠM KHÓA" in text
    assert "Phường Ba Đình, Hà Nội" in text and "Số 12 phố Đội Cấn" not in text
