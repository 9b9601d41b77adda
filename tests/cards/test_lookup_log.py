"""The batch writer of the lookup log (cards.lookup_log)."""

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.cards import service
from ansinh.cards.lookup_log import LookupLogWriter
from ansinh.cards.models import CardLookup
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Sex

ON = date(2026, 11, 22)


@pytest.fixture
def insured(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        person = registry.create_person(s, registry.PersonData(full_name="Vũ Thị Lan", date_of_birth=date(1985, 2, 2),
                                                               sex=Sex.female, citizen_id="001185012340"), hanoi)
        participation.enrol_state_budget(s, group="CN", people=[person], start=date(2026, 1, 1),
                                         end=date(2027, 1, 1), org_unit=hanoi)
        service.issue_cards(s, on=ON)
        return person.id


def _counts(db) -> tuple[int, int]:
    with db.unit_of_work() as s:
        return (s.scalar(select(func.count()).select_from(CardLookup)),
                s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "read")))


def test_lookups_are_logged_when_the_writer_flushes_with_their_actor(db, insured):
    writer = LookupLogWriter(db)
    service.use_lookup_log_writer(writer)
    try:
        with audit_context(channel="api", actor_username="benhvien"), db.unit_of_work() as s:
            assert service.lookup(s, None, on=ON, citizen_id="001185012340", facility_code="01001",
                                  date_of_birth=date(1985, 2, 2))["covered"]
            assert service.lookup(s, None, on=ON, citizen_id="001090099999", full_name="Ai")["reason"] == "unknown_person"
        assert _counts(db) == (0, 0)  # the answer did not wait for the log
        assert writer.flush() == 3 and writer.flush() == 0  # two lookups and one read of a record
    finally:
        service.use_lookup_log_writer(None)
    assert _counts(db) == (2, 1)  # an unknown person is logged, but no one's record was read
    with db.unit_of_work() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "read"))
        assert (event.actor_username, event.channel, event.entity_id) == ("benhvien", "api", str(insured))
        assert sorted(s.scalars(select(CardLookup.result))) == ["covered", "unknown_person"]


def test_a_batch_the_database_refuses_is_kept_for_the_next(db, insured):
    writer = LookupLogWriter(db)
    writer.add({"key_type": "citizen_id"}, None)  # no "on", no "result": refused by the database
    with pytest.raises(Exception):
        writer.flush()
    assert writer.pending() == 1  # kept, not lost
    writer._pending.clear()
    writer.add({"looked_up_at": datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc), "user_id": None, "facility_code": "01001", "province_2025": "01",
                "key_type": "citizen_id", "on": ON, "result": "unknown_person", "reason": "unknown_person",
                "person_id": None}, None)
    writer.close()  # never started: close writes what is pending
    assert _counts(db)[0] == 1
