"""VietQR payment codes for bills: the NAPAS QR payload (EMVCo merchant-presented QR, "QR chuyển nhanh
NAPAS 247" to an account) and its image as SVG.

The payload is a string of ``ID`` (2 digits) ``length`` (2 digits) ``value`` fields::

    00 02 01                    payload format indicator
    01 02 12                    point of initiation: 12 = dynamic (one payment, amount given); 11 = static
    38 .. 00 10 A000000727      merchant account information: the NAPAS GUID
          01 .. 00 06 <BIN>     beneficiary organisation: the bank's 6-digit BIN (acquirer ID)
                01 .. <account> and the account number (at most 19 characters)
          02 08 QRIBFTTA        service: inter-bank fund transfer to an account
    53 03 704                   currency: Vietnamese dong
    54 .. <amount>              amount in whole dong
    58 02 VN                    country
    62 .. 08 .. <reference>     additional data: purpose of the transaction = the bill reference
    63 04 <CRC>                 CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of everything before, "6304" included

Checked against published payloads (the CRC of the subiz/vietqr example and the liopay/vietqr-php example).
"""

from __future__ import annotations

import io
import re

import segno

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
CURRENCY_VND = "704"
COUNTRY = "VN"
STATIC, DYNAMIC = "11", "12"

_BIN = re.compile(r"^\d{6}$")
_ACCOUNT = re.compile(r"^[0-9A-Za-z]{1,19}$")
# Purpose text: printable ASCII (banks drop Vietnamese accents), at most 25 characters.
_REFERENCE = re.compile(r"^[\x20-\x7e]{1,25}$")


def field(field_id: str, value: str) -> str:
    """One ID-length-value field."""
    if len(value) > 99:
        raise ValueError(f"field {field_id}: value longer than 99 characters")
    return f"{field_id}{len(value):02d}{value}"


def crc16_ccitt(data: str) -> str:
    """CRC-16/CCITT-FALSE of the text (UTF-8), as 4 upper-case hex digits."""
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return f"{crc:04X}"


def with_crc(body: str) -> str:
    """The payload with its CRC field appended (the CRC covers the body and "6304")."""
    head = body + "6304"
    return head + crc16_ccitt(head)


def vietqr_payload(*, bank_bin: str, account: str, amount: int | None, reference: str | None) -> str:
    """The NAPAS/VietQR payload for a transfer of ``amount`` dong to ``account`` at the bank ``bank_bin``,
    quoting ``reference`` (the bill reference) as the purpose. Without an amount the code is static."""
    if not _BIN.match(bank_bin or ""):
        raise ValueError(f"bank BIN must be 6 digits, got {bank_bin!r}")
    if not _ACCOUNT.match(account or ""):
        raise ValueError(f"account must be 1-19 letters or digits, got {account!r}")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0
                               or len(str(amount)) > 13):
        raise ValueError(f"amount must be a positive whole number of dong (at most 13 digits), got {amount!r}")
    if reference is not None and not _REFERENCE.match(reference):
        raise ValueError(f"reference must be 1-25 printable ASCII characters, got {reference!r}")
    beneficiary = field("00", bank_bin) + field("01", account)
    merchant = field("00", NAPAS_GUID) + field("01", beneficiary) + field("02", SERVICE_TO_ACCOUNT)
    body = field("00", "01") + field("01", DYNAMIC if amount is not None else STATIC) + field("38", merchant)
    body += field("53", CURRENCY_VND)
    if amount is not None:
        body += field("54", str(amount))
    body += field("58", COUNTRY)
    if reference:
        body += field("62", field("08", reference))
    return with_crc(body)


def parse_payload(payload: str) -> dict[str, str]:
    """The top-level fields of a payload (ID → value), after checking its CRC; nested templates stay text."""
    if len(payload) < 8 or payload[-8:-4] != "6304" or crc16_ccitt(payload[:-4]) != payload[-4:].upper():
        raise ValueError("bad CRC")
    fields: dict[str, str] = {}
    position = 0
    while position < len(payload):
        field_id, length = payload[position:position + 2], int(payload[position + 2:position + 4])
        fields[field_id] = payload[position + 4:position + 4 + length]
        position += 4 + length
    return fields


def qr_svg(payload: str, *, scale: int = 4, title: str | None = None) -> str:
    """A standalone SVG image of the QR code (error correction M; no XML declaration, so that it can also be
    placed inline in a page)."""
    code = segno.make_qr(payload, error="m", boost_error=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=scale, xmldecl=False, svgclass="vietqr", lineclass=None,
              title=title, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")
