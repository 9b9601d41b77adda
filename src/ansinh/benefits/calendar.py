"""The Vietnamese working calendar, and the legal clock of benefit claims counted on it.

Working days are Monday to Friday less the public holidays of Vietnam (Labour Code 45/2019/QH14 Art 112: New
Year, the lunar new year, Hùng Kings' day, 30 April, 1 May, National Day) and the days off the Government moves
around them each year, as the `holidays` library keeps them (``holidays.Vietnam``, which follows the Prime
Minister's yearly notices). The Saturdays worked in exchange for a moved day off are not in that library and are
not counted as working days here: a deadline may fall a day later than the office's own calendar, never earlier.

A deadline "within N working days from a complete file" is the N-th working day after the day the file was
complete (that day is not counted). A deadline in calendar days is that many days later, moved to the next working
day when it falls on a day off (Civil Code 91/2015/QH13 Art 148(5)).

Pure functions of their dates: no clock, no database.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from ansinh.rules.parameters import ParameterSet, get_parameters

#: Saturday and Sunday (``date.weekday()``): the calendar, not a legal figure.
WEEKEND = frozenset({5, 6})


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.Vietnam(years=year))


def holiday_name(day: date) -> str | None:
    """The public holiday on ``day``, or None (English names, as the library gives them)."""
    return holidays.Vietnam(years=day.year).get(day)


def is_working_day(day: date) -> bool:
    return day.weekday() not in WEEKEND and day not in _holidays_of(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, count: int) -> date:
    """The ``count``-th working day after ``start`` (``start`` itself not counted); ``count`` 0 is ``start``."""
    if count < 0:
        raise ValueError("a count of working days is not negative")
    day = start
    while count:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not after ``start``; negative
    never): how many of a deadline's working days have passed on ``end``."""
    days = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            days += 1
    return days


#: The claim types whose deadline parameter is ``benefits.deadlines.<key>`` (maternity filed directly by the
#: person has its own).
def deadline_parameter(claim_type: str, *, direct: bool = False) -> str:
    key = "maternity_direct" if claim_type == "maternity" and direct else claim_type
    return f"benefits.deadlines.{key}"


def resolution_deadline(claim_type: str, complete_on: date, *, direct: bool = False,
                        parameters: ParameterSet | None = None) -> date:
    """The day by which a claim complete on ``complete_on`` must be resolved: the parameter in force that day, in
    working days (unit ``working_days``) or calendar days moved off a day off (unit ``days``)."""
    p = (parameters or get_parameters())[deadline_parameter(claim_type, direct=direct)]
    days = int(p.at(complete_on))
    if p.unit == "working_days":
        return add_working_days(complete_on, days)
    return next_working_day(complete_on + timedelta(days=days))
