"""Numbers, money, dates and times as a Vietnamese (or English) reader expects them, through Babel.

One place formats every value the system shows: pages (the Jinja filters ``number``, ``money``, ``day``, ``month``,
``datetime``, ``percent``), messages (the parameters of a domain error), PDFs and charts. Vietnamese writes
``1.234.567`` and ``12,5%``, dates day first (``05/03/2026``); every time is shown in Vietnam's time
(Asia/Ho_Chi_Minh, UTC+7) whatever the server's zone, since the agency's business day is Vietnam's.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from ansinh import i18n
from ansinh.clock import VIETNAM

#: Date patterns per language (CLDR's own short forms are ambiguous: "5/3/26").
DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
MONTH_PATTERNS = {"vi": "MM/yyyy", "en": "MMM yyyy"}
DATETIME_PATTERNS = {"vi": "HH:mm:ss dd/MM/yyyy", "en": "d MMM yyyy, HH:mm:ss"}
#: Integers smaller than this are shown as they are in messages (years, rows, months): "năm 2025", not "2.025".
MESSAGE_GROUPING_FROM = 10_000


def _locale(locale: str | None) -> str:
    return locale or i18n.get_locale()


def number(value: Any, locale: str | None = None, *, decimals: int | None = None) -> str:
    """``1.234.567`` in Vietnamese, ``1,234,567`` in English; text and ``None`` are returned as they are."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    pattern = None if decimals is None else "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=_locale(locale))


def money(value: Any, locale: str | None = None) -> str:
    """An amount in dong: ``1.234.567 ₫`` (a non-breaking space keeps the number and its sign together)."""
    if value is None or value == "":
        return ""
    text = number(value, locale)
    return f"{text}\u00a0₫"


def percent(value: Any, locale: str | None = None, *, decimals: int = 1) -> str:
    """A percentage given in percent points (12.5 → ``12,5%``)."""
    if value is None or value == "":
        return ""
    return number(float(value), locale, decimals=decimals) + "%"


def day(value: date | datetime | None, locale: str | None = None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = in_vietnam(value).date()
    return format_date(value, DATE_PATTERNS[_locale(locale)], locale=_locale(locale))


def month(value: date | None, locale: str | None = None) -> str:
    if value is None or value == "":
        return ""
    return format_date(value, MONTH_PATTERNS[_locale(locale)], locale=_locale(locale))


def in_vietnam(moment: datetime) -> datetime:
    """The moment in Vietnam's time (naive moments, as SQLite returns them, are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM)


def moment(value: datetime | None, locale: str | None = None) -> str:
    """A time stamp in Vietnam's time: ``20:30:00 05/03/2026``."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        return day(value, locale)
    return format_datetime(in_vietnam(value), DATETIME_PATTERNS[_locale(locale)], tzinfo=VIETNAM,
                           locale=_locale(locale))


def message_value(value: Any, locale: str | None = None) -> Any:
    """A parameter of a message, as the reader's language writes it: large integers grouped, dates day first."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) >= MESSAGE_GROUPING_FROM:
        return number(value, locale)
    if isinstance(value, float | Decimal):
        return number(value, locale)
    if isinstance(value, datetime):
        return moment(value, locale)
    if isinstance(value, date):
        return day(value, locale)
    return value


def message_params(params: dict[str, Any], locale: str | None = None) -> dict[str, Any]:
    return {key: message_value(value, locale) for key, value in params.items()}


def in_both_languages(template: str, *, shown: bool = True, **params: Any) -> tuple[str, str]:
    """A message (an English msgid) in English and in Vietnamese, as an import's row error keeps it; its values
    written each reader's way (``shown``), or as given (years, codes)."""
    texts = []
    for locale in ("en", "vi"):
        with i18n.use_locale(locale):
            texts.append(i18n.gettext(template).format(**(message_params(params, locale) if shown else params)))
    return texts[0], texts[1]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def stored_params(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a message stored as JSON (a billing run's refusals), where a date became ISO text: the
    dates again, so that :func:`message_params` writes them the reader's way."""
    def revived(value: Any) -> Any:
        if isinstance(value, str) and _ISO_DAY.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                return value
        return value

    return {key: revived(value) for key, value in params.items()}
