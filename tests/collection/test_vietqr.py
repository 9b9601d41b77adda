"""VietQR payloads against published examples (their CRC computed by other implementations)."""

import pytest

from ansinh.collection.vietqr import crc16_ccitt, parse_payload, qr_svg, vietqr_payload

# Published by github.com/subiz/vietqr (README): 120,000 dong to VietinBank (BIN 970415) account 0011001932418.
SUBIZ = ("00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN"
         "62170813ung ho lu lut6304C15C")
# Published by github.com/liopayvn/vietqr-php (README): a static merchant code, used here for its CRC only.
LIOPAY = ("00020101021138480010A00000072701300006970403011621129950446040255204581253037045802VN5910PHUONG CAC"
          "6005HANOI62110307NPS686963045802")


def test_the_payload_equals_a_published_example_with_its_crc():
    assert vietqr_payload(bank_bin="970415", account="0011001932418", amount=120_000,
                          reference="ung ho lu lut") == SUBIZ


def test_the_crc_is_ccitt_false_as_published():
    assert crc16_ccitt("123456789") == "29B1"  # the standard check value of CRC-16/CCITT-FALSE
    for payload in (SUBIZ, LIOPAY):
        assert crc16_ccitt(payload[:-4]) == payload[-4:]


def test_layout_of_a_bill_code():
    payload = vietqr_payload(bank_bin="970418", account="12010000660099", amount=5_250_000, reference="BH2501E0000042")
    fields = parse_payload(payload)
    assert fields["00"] == "01" and fields["01"] == "12"
    assert fields["38"] == "0010A000000727" + "0128" + "0006970418" + "011412010000660099" + "0208QRIBFTTA"
    assert (fields["53"], fields["54"], fields["58"]) == ("704", "5250000", "VN")
    assert fields["62"] == "0814BH2501E0000042"


def test_without_an_amount_the_code_is_static():
    fields = parse_payload(vietqr_payload(bank_bin="970415", account="113000006100", amount=None, reference=None))
    assert fields["01"] == "11" and "54" not in fields and "62" not in fields


@pytest.mark.parametrize("kwargs", [
    {"bank_bin": "97041", "account": "1", "amount": 1, "reference": "x"},
    {"bank_bin": "970415", "account": "12345678901234567890", "amount": 1, "reference": "x"},
    {"bank_bin": "970415", "account": "1", "amount": 0, "reference": "x"},
    {"bank_bin": "970415", "account": "1", "amount": -5, "reference": "x"},
    {"bank_bin": "970415", "account": "1", "amount": 1.5, "reference": "x"},
    {"bank_bin": "970415", "account": "1", "amount": 1, "reference": "x" * 26},
    {"bank_bin": "970415", "account": "1", "amount": 1, "reference": "đóng BHXH"},
])
def test_bad_inputs_are_refused(kwargs):
    with pytest.raises(ValueError):
        vietqr_payload(**kwargs)


def test_a_tampered_payload_fails_its_crc():
    with pytest.raises(ValueError, match="CRC"):
        parse_payload(SUBIZ.replace("120000", "920000"))


def test_the_svg_is_a_standalone_image():
    svg = qr_svg(SUBIZ, title="VietQR")
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg and "<title>VietQR</title>" in svg
    assert "<script" not in svg
