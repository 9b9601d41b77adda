"""The log of desk lookups, written in batches.

A province's facilities look up cards thousands of times a minute at peak. Writing each lookup's log entry and its
audit event in the request's own transaction made every lookup wait for the disk and cost three more round trips
to the database; the web server instead hands them to a :class:`ansinh.audit.writer.BatchWriter` that commits them
every ``interval`` seconds (by default 0.1 s, ``ANSINH_LOOKUP_LOG_FLUSH_MS``) in one transaction, durably (see that
class for what this trades). The answer to the desk never waits for the log.

Commands and tests write the log in the caller's transaction instead (no writer running).
"""

from __future__ import annotations

from ansinh.audit.models import AuditEvent
from ansinh.audit.writer import BatchWriter
from ansinh.cards.models import CardLookup


class LookupLogWriter(BatchWriter):
    """Collects (lookup, audit event) rows from request threads and commits them in batches from its own thread."""

    name = "card-lookup-log"

    def add(self, lookup: dict, event: dict | None) -> None:
        self.add_rows((CardLookup.__table__, [lookup]), (AuditEvent.__table__, [event] if event else []))
