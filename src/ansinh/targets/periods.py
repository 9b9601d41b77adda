"""Reporting periods: a month (``2026-11``), a quarter (``2026-Q3``), a year (``2026``) and a year to date
(``2026-YTD``, up to a given day). Pure: the day a year-to-date period ends is passed in, never read from the clock.

Stock indicators are counted as of a period's last day, flows over its days. The same period last year is the same
months one year before (a year to date: up to the same day a year before; 29 February → 28 February).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from ansinh.errors import ValidationFailed

PERIOD_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4]|-YTD)?$"
_PATTERN = re.compile(PERIOD_PATTERN)
KINDS = ("month", "quarter", "year", "ytd")


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | year | ytd
    year: int
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        """The period as written in a command (``2026-Q3``); a year to date with its last day when it is not the
        year's end (``2026-YTD@2026-11-30``, the key an issued report is stored under)."""
        if self.kind == "month":
            return f"{self.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{quarter_of(self.start)}"
        if self.kind == "year":
            return str(self.year)
        return f"{self.year}-YTD@{self.end.isoformat()}"

    @property
    def quarter(self) -> int | None:
        """The quarter the period lies in (a month's, a quarter's); None for a year or year to date."""
        return quarter_of(self.start) if self.kind in ("month", "quarter") else None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def last_year(self) -> Period:
        """The same period a year before."""
        if self.kind == "ytd":
            return year_to_date(self.year - 1, same_day_last_year(self.end))
        return parse_period(self.label.replace(str(self.year), str(self.year - 1), 1))

    def months(self) -> list[Period]:
        """The months of the period, in order (for trends)."""
        result, day = [], self.start
        while day <= self.end:
            result.append(month_period(day.year, day.month))
            day = month_period(day.year, day.month).end + timedelta(days=1)
        return result


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def month_period(year: int, month: int) -> Period:
    return Period("month", year, date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def quarter_period(year: int, quarter: int) -> Period:
    first = 3 * (quarter - 1) + 1
    return Period("quarter", year, date(year, first, 1),
                  date(year, first + 2, calendar.monthrange(year, first + 2)[1]))


def year_to_date(year: int, until: date, field: str = "on") -> Period:
    if until.year != year:
        raise ValidationFailed(field, "A year to date of {year} must end in {year}.", year=year)
    return Period("ytd", year, date(year, 1, 1), until)


def parse_period(text: str | None, *, on: date | None = None, field: str = "period") -> Period:
    """A period from its text. A year to date ends on ``on`` when it falls in that year, else on the year's last
    day; ``on`` is required for a year-to-date period."""
    value = (text or "").strip().upper()
    if "-YTD@" in value:  # an issued report's key
        year, _, day = value.partition("-YTD@")
        try:
            return year_to_date(int(year), date.fromisoformat(day), field)
        except ValueError:
            raise ValidationFailed(field, "{value} is not a period.", value=text) from None
    if not _PATTERN.match(value):
        raise ValidationFailed(field, "{value} is not a period: write 2026-11, 2026-Q3, 2026 or 2026-YTD.",
                               value=text or "")
    year = int(value[:4])
    if not 2000 <= year <= 2100:
        raise ValidationFailed(field, "{value} is not a period.", value=text)
    if len(value) == 4:
        return Period("year", year, date(year, 1, 1), date(year, 12, 31))
    suffix = value[5:]
    if suffix == "YTD":
        if on is None:
            raise ValidationFailed(field, "A year to date needs the day it ends.")
        return year_to_date(year, on if on.year == year else date(year, 12, 31))
    if suffix.startswith("Q"):
        return quarter_period(year, int(suffix[1]))
    return month_period(year, int(suffix))


def months_between(first: Period, last: Period, *, most: int = 120) -> list[Period]:
    """The months from ``first``'s to ``last``'s, in order (at most ``most``)."""
    if last.start < first.start:
        raise ValidationFailed("to", "The last month is before the first.")
    months = Period("ytd", first.year, first.start, last.end).months()
    if len(months) > most:
        raise ValidationFailed("to", "At most {most} months at once.", most=most)
    return months
