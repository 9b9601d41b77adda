"""Limits and alerts on card lookups: what keeps the desk lookup from being used to enumerate people.

A lookup already needs the person's key **and** their name or date of birth as printed on the chip card
(:func:`ansinh.cards.service.lookup`). On top of that, per looker (a facility: its code; agency staff: their user):

- a **rate limit**: at most ``per_minute`` lookups in any minute; beyond it the lookup is refused with 429 (and
  the refusal is audited like every other);
- an **alert** when, within an hour, the looker has
  - ``unrelated`` lookups of distinct people unrelated to them (a facility: not registered there for primary care
    and not living in its province; staff: not of their province), or
  - ``failed`` lookups whose identity check failed (a wrong name, a wrong birth date, an unknown key).
  The alert is a row of ``card_lookup_alert`` (one per looker, kind and hour), listed for the agency by
  ``GET /api/v1/cards/lookup-alerts`` and ``ansinh cards alerts``; the lookups themselves go on.

The counters live in the process (a sliding window of timestamps per looker): with several worker processes each
counts its own share, so the limits apply per process. Operational settings, not law: ``ANSINH_LOOKUP_RATE_PER_MINUTE``,
``ANSINH_LOOKUP_ALERT_UNRELATED_PER_HOUR``, ``ANSINH_LOOKUP_ALERT_FAILED_PER_HOUR``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ansinh.errors import TooManyRequests
from ansinh.i18n import N_

MINUTE = 60.0
HOUR = 3600.0
#: How many lookers the guard follows at once before it forgets the idlest (memory stays bounded).
MAX_LOOKERS = 50_000

UNRELATED = "many_unrelated_people"
FAILED = "many_failed_identity_checks"


@dataclass
class _Looker:
    lookups: deque = field(default_factory=deque)  # monotonic times of the last minute's lookups
    unrelated: dict = field(default_factory=dict)  # person id → last time looked up, within the hour
    failed: deque = field(default_factory=deque)  # times of the hour's failed identity checks
    alerted: dict = field(default_factory=dict)  # kind → time of the last alert


class DeskGuard:
    """The rate limit and the alert thresholds of card lookups, per looker (see the module docstring)."""

    def __init__(self, per_minute: int = 600, unrelated_per_hour: int = 100, failed_per_hour: int = 30,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.unrelated_per_hour, self.failed_per_hour = per_minute, unrelated_per_hour, failed_per_hour
        self.clock = clock
        self._lock = threading.Lock()
        self._lookers: dict[str, _Looker] = {}

    def admit(self, looker: str) -> None:
        """Count one lookup of ``looker``; TooManyRequests when it is over its limit for the last minute."""
        with self._lock:
            now = self.clock()
            state = self._lookers.get(looker)
            if state is None:
                if len(self._lookers) >= MAX_LOOKERS:
                    self._forget(now)
                state = self._lookers[looker] = _Looker()
            window = state.lookups
            while window and now - window[0] >= MINUTE:
                window.popleft()
            if len(window) >= self.per_minute:
                retry = max(1, int(MINUTE - (now - window[0])) + 1)
                raise TooManyRequests(N_("Too many card lookups from {looker} in the last minute (at most {limit}). "
                                         "Try again in {seconds} seconds."),
                                      retry_after_seconds=retry, looker=looker, limit=self.per_minute, seconds=retry)
            window.append(now)

    def observe(self, looker: str, *, person_id: int | None, related: bool, failed: bool) -> list[tuple[str, int]]:
        """Count a lookup's outcome; the alerts it raises, as (kind, count in the hour), at most one per kind and
        hour."""
        alerts = []
        with self._lock:
            now = self.clock()
            state = self._lookers.setdefault(looker, _Looker())
            if failed:
                state.failed.append(now)
            while state.failed and now - state.failed[0] >= HOUR:
                state.failed.popleft()
            if person_id is not None and not related and not failed:
                state.unrelated[person_id] = now
            if len(state.unrelated) >= self.unrelated_per_hour:
                recent = sorted(((t, p) for p, t in state.unrelated.items() if now - t < HOUR), reverse=True)
                state.unrelated = {p: t for t, p in recent[: 2 * self.unrelated_per_hour]}  # bounded memory
            for kind, count, limit in ((UNRELATED, len(state.unrelated), self.unrelated_per_hour),
                                       (FAILED, len(state.failed), self.failed_per_hour)):
                last = state.alerted.get(kind)
                if count >= limit and (last is None or now - last >= HOUR):
                    state.alerted[kind] = now
                    alerts.append((kind, count))
        return alerts

    def _forget(self, now: float) -> None:
        """Drop the lookers idle for a minute (all of them, if none is)."""
        idle = [key for key, state in self._lookers.items()
                if not state.lookups or now - state.lookups[-1] >= MINUTE]
        for key in idle:
            del self._lookers[key]
        if len(self._lookers) >= MAX_LOOKERS:
            self._lookers.clear()


#: The guard of this process (the web server configures it from its settings at start; commands keep the defaults).
_guard = DeskGuard()


def desk_guard() -> DeskGuard:
    return _guard


def use_desk_guard(guard: DeskGuard) -> None:
    global _guard
    _guard = guard
