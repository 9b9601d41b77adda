"""Identifiers and names: citizen IDs, SI numbers, tax codes, Vietnamese names (pure functions).

- Citizen ID (CCCD), 12 digits: 3-digit province of birth registration, 1 century/sex digit (0/1 = 1900s
  male/female, 2/3 = 2000s, 4/5 = 2100s, 6/7 = 2200s, 8/9 = 1800s), 2-digit year of birth, 6 digits
  (Decree 137/2015 Art 7; Circular 59/2021 Art 7).
- SI number: 10 digits.
- Tax code: 10 digits whose last is a check digit (weights 31 29 23 19 17 13 7 5 3; 10 − sum mod 11), or 13
  for a branch (the parent's 10 + 3 digits; written with or without a hyphen).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from ansinh.errors import ValidationFailed

_DIGITS = re.compile(r"^\d+$")
_CENTURY_BASE = {0: 1900, 2: 2000, 4: 2100, 6: 2200, 8: 1800}
TAX_CODE_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def normalise_name(name: str) -> str:
    """NFC, single spaces, no surrounding space."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def search_key(text: str) -> str:
    """``Nguyễn Văn Ánh`` → ``nguyen van anh``: accents removed, lower case, single spaces."""
    text = unicodedata.normalize("NFC", text).replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.lower().split())


def citizen_id_century_sex(citizen_id: str) -> tuple[int, str]:
    digit = int(citizen_id[3])
    return _CENTURY_BASE[digit - digit % 2], "female" if digit % 2 else "male"


def check_citizen_id(citizen_id: str, date_of_birth: date | None = None, sex: str | None = None,
                     province_codes: set[str] | None = None, field: str = "citizen_id") -> str:
    """The citizen ID, checked: 12 digits, a known province of registration, and the century/sex digit and
    year consistent with the date of birth and sex when given."""
    citizen_id = (citizen_id or "").strip()
    if len(citizen_id) != 12 or not _DIGITS.match(citizen_id):
        raise ValidationFailed(field, "A citizen ID has 12 digits; got {value}.", value=citizen_id)
    province = citizen_id[:3]
    if province_codes is not None and province not in province_codes:
        raise ValidationFailed(field, "{code} is not a province code of birth registration.", code=province)
    century, coded_sex = citizen_id_century_sex(citizen_id)
    if date_of_birth is not None:
        year = century + int(citizen_id[4:6])
        if year != date_of_birth.year:
            raise ValidationFailed(field, "The citizen ID says born in {year}, the date of birth says {dob}.",
                                   year=year, dob=date_of_birth.isoformat())
    if sex is not None and getattr(sex, "value", sex) != coded_sex:
        raise ValidationFailed(field, "The citizen ID says {coded}, the record says {sex}.", coded=coded_sex,
                               sex=getattr(sex, "value", sex))
    return citizen_id


def check_si_number(si_number: str, field: str = "si_number") -> str:
    si_number = (si_number or "").strip()
    if len(si_number) != 10 or not _DIGITS.match(si_number):
        raise ValidationFailed(field, "An SI number has 10 digits; got {value}.", value=si_number)
    return si_number


def tax_code_check_digit(first_nine: str) -> int | None:
    """The tenth digit of a tax code, or None when no valid code has these nine digits."""
    digit = 10 - sum(int(c) * w for c, w in zip(first_nine, TAX_CODE_WEIGHTS)) % 11
    return None if digit == 10 else digit % 10


def check_tax_code(tax_code: str, field: str = "tax_code") -> str:
    """The tax code without hyphen, checked (10 digits, or 13 for a branch), else ValidationFailed."""
    compact = (tax_code or "").strip().replace("-", "")
    if len(compact) not in (10, 13) or not _DIGITS.match(compact):
        raise ValidationFailed(field, "A tax code has 10 digits, or 13 for a branch; got {value}.", value=tax_code)
    if tax_code_check_digit(compact[:9]) != int(compact[9]):
        raise ValidationFailed(field, "The check digit of tax code {value} is wrong.", value=tax_code)
    return compact
