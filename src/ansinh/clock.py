"""The one clock the application reads.

Domain logic never reads the clock: calculators, services and rules take their dates as arguments. The edges (a
route's default ``on=``, a command's ``--today``, the time stamp of an audit event) ask this module, so that one
setting moves the whole application in time:

``ANSINH_CLOCK_OFFSET_DAYS`` (an integer, default 0) shifts every reading by that many days. The test suite is
run with the clock moved years ahead to prove that no test depends on the day it runs (``make test-future``); a
demonstration can be replayed as if on another day.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, timezone

OFFSET_ENV = "ANSINH_CLOCK_OFFSET_DAYS"
#: Vietnam's time (UTC+7, no daylight saving): the agency's business day.
VIETNAM = timezone(timedelta(hours=7), "ICT")


def _offset() -> timedelta:
    raw = os.environ.get(OFFSET_ENV, "").strip()
    if not raw:
        return timedelta(0)
    try:
        return timedelta(days=int(raw))
    except ValueError:
        raise RuntimeError(f"{OFFSET_ENV} must be a whole number of days, got {raw!r}") from None


_OFFSET = _offset()


def utcnow() -> datetime:
    """Timezone-aware UTC now."""
    return datetime.now(UTC) + _OFFSET


def today() -> date:
    """Today's date in Vietnam (the agency's business day: a payment made at 06:00 in Hà Nội is today's, although
    it is still yesterday in UTC)."""
    return utcnow().astimezone(VIETNAM).date()
