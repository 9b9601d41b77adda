"""The ranges every value that enters the system must fall in: amounts, dates, record ids, text.

These are not legal figures (those live in ``rules/parameters/``) but the limits of what a real office could need,
chosen so that nothing that passes them can overflow a column, a sum or a date computation:

- **Amounts** are whole dong from 0 to :data:`MAX_AMOUNT` (10¹³ ₫, ten thousand billion: above any single
  payment, bill, salary or decision the agency handles; a million such amounts still sum below 2⁶³).
- **Dates** run from :data:`EARLIEST_DATE` (1900-01-01: the oldest birth date of a living person, and before any
  scheme existed) to :data:`YEARS_AHEAD` years after today (plans, card validity, contracts).
- **Record ids** are positive and fit PostgreSQL's ``bigint`` (:data:`MAX_ID`); a larger id is simply not found.
- **Text** never carries NUL or other control characters (tab, line feed and carriage return are allowed in
  free text); :class:`ansinh.middleware.ControlCharacterMiddleware` refuses them in paths, queries, forms and
  JSON bodies before any route runs.

Use the annotated types in API signatures: ``person_id: RecordId``, ``amount: Amount``, ``on: Day | None``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from annotated_types import Ge, Gt, Le
from fastapi import Path
from pydantic import AfterValidator

from ansinh import clock

MAX_ID = 2**63 - 1
MAX_AMOUNT = 10**13
EARLIEST_DATE = date(1900, 1, 1)
YEARS_AHEAD = 10
#: Control characters refused in any text: C0 (but tab, line feed, carriage return), DEL and C1.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def latest_date(today: date | None = None) -> date:
    """The last date accepted: :data:`YEARS_AHEAD` years after today (29 February → 28 February)."""
    today = today or clock.today()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def check_day(value: date) -> date:
    """A date within the accepted range (a ``ValueError`` names the range otherwise)."""
    if value < EARLIEST_DATE or value > latest_date():
        raise ValueError(f"a date between {EARLIEST_DATE.isoformat()} and {latest_date().isoformat()} is expected")
    return value


def check_amount(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AMOUNT:
        raise ValueError(f"a whole number of dong from 0 to {MAX_AMOUNT:,} is expected")
    return value


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def check_text(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("control characters (such as NUL) are not accepted in text")
    return value


#: A record id in a path: anything outside 1…2⁶³−1 cannot exist (422 rather than a database error).
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="A record id (1 to 2⁶³−1).")]
#: A record id in a body or a query.
RecordRef = Annotated[int, Ge(1), Le(MAX_ID)]
#: An amount in whole dong (0 … 10¹³).
Amount = Annotated[int, Ge(0), Le(MAX_AMOUNT)]
#: A positive amount in whole dong (1 … 10¹³).
PositiveAmount = Annotated[int, Gt(0), Le(MAX_AMOUNT)]
#: A date from 1900-01-01 to ten years ahead.
Day = Annotated[date, AfterValidator(check_day)]
#: Paging: how many rows to skip (bounded so that no query asks the database for an absurd offset).
Offset = Annotated[int, Ge(0), Le(10_000_000)]
