"""The database layer itself: moments in time compare as moments on every database."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.clock import VIETNAM


def test_a_moment_given_in_vietnams_time_compares_with_stored_utc(db):
    """A lookup at 00:30 on 6 December in Hà Nội is 17:30 UTC on the 5th. "Since midnight in Vietnam" must find it
    on SQLite (text, zone dropped) as on PostgreSQL: the day's counts failed every evening after 17:00 UTC."""
    logged = datetime(2026, 12, 5, 17, 30, tzinfo=UTC)
    with db.unit_of_work() as s:
        s.add(AuditEvent(occurred_at=logged, actor_username="desk", action="lookup_test", entity_type="card",
                         channel="web"))
    midnight = datetime(2026, 12, 6, tzinfo=VIETNAM)
    with db.unit_of_work() as s:
        def count(since: datetime) -> int:
            return s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "lookup_test",
                                                                    AuditEvent.occurred_at >= since))
        assert count(midnight) == 1
        assert count(midnight + timedelta(minutes=31)) == 0
        assert count(midnight.astimezone(UTC)) == 1
        stored = s.scalar(select(AuditEvent.occurred_at).where(AuditEvent.action == "lookup_test"))
        assert stored == logged and stored.tzinfo is not None


def test_a_day_compared_with_a_moment_starts_at_midnight_in_vietnam(db):
    """17:30 UTC on 5 December is 6 December in Hà Nội: counted from the day 6 December, not from the 5th."""
    with db.unit_of_work() as s:
        s.add(AuditEvent(occurred_at=datetime(2026, 12, 5, 17, 30, tzinfo=UTC), actor_username="desk",
                         action="day_test", entity_type="card", channel="web"))
    with db.unit_of_work() as s:
        def count(since) -> int:
            return s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "day_test",
                                                                    AuditEvent.occurred_at >= since))
        assert count(date(2026, 12, 6)) == 1
        assert count(date(2026, 12, 7)) == 0
