import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import AuditFilter, audit_context, list_events, record_read
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from tests.conftest import PASSWORD


def _events(session, **filters):
    return list_events(session, AuditFilter(**filters), limit=500)[0]


def test_every_write_is_recorded_with_its_actor(db, org):
    with audit_context(actor_username="admin", actor_user_id=7, channel="web", ip="10.1.1.1"), \
            db.unit_of_work() as s:
        user = auth_service.create_user(s, username="ngoc", password=PASSWORD, full_name="Trần Ngọc",
                                        org_unit=s.get(OrgUnit, org.hanoi.id), roles=[Role.provincial_officer])
    with db.unit_of_work() as s:
        created = _events(s, entity_type="app_user", entity_id=str(user.id), action="create")
        assert len(created) == 1
        event = created[0]
        assert (event.actor_username, event.actor_user_id, event.channel, event.ip) == ("admin", 7, "web", "10.1.1.1")
        assert event.org_unit_id == org.hanoi.id
        assert event.changes["full_name"] == "Trần Ngọc"
        assert event.changes["password_hash"] == "<redacted>"
        role_rows = _events(s, entity_type="user_role", action="create")
        assert [e.entity_id for e in role_rows] == [f"{user.id}/provincial_officer"]


def test_updates_record_old_and_new_values_and_redact_secrets(db, org, make_user):
    user = make_user("oanh", org.hanoi, Role.provincial_officer)
    with audit_context(actor_username="hn.admin", channel="api"), db.unit_of_work() as s:
        stored = s.get(User, user.id)
        stored.full_name = "Phạm Thị Oanh"
        auth_service.set_password(s, stored, "another long password")
    with db.unit_of_work() as s:
        updates = _events(s, entity_type="app_user", entity_id=str(user.id), action="update")
        changes = {}
        for e in updates:
            changes.update(e.changes)
        assert changes["full_name"] == ["Người dùng oanh", "Phạm Thị Oanh"]
        assert changes["password_hash"] == ["<redacted>", "<redacted>"]


def test_a_rolled_back_change_leaves_no_audit_event(db, org):
    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        auth_service.create_user(s, username="ghost", password=PASSWORD, full_name="Ghost",
                                 org_unit=s.get(OrgUnit, org.hanoi.id), roles=[Role.provincial_officer])
        raise RuntimeError("the caller fails after the service ran")
    with db.unit_of_work() as s:
        assert s.scalar(select(User).where(User.username == "ghost")) is None
        assert not [e for e in _events(s, entity_type="app_user", action="create") if e.changes.get("username") == "ghost"]


def test_reads_of_a_persons_record_are_recorded(db, org):
    with audit_context(actor_username="officer", channel="web"), db.unit_of_work() as s:
        record_read(s, "person", 42, org_unit_id=org.hanoi.id, person_ref="001099012345")
    with db.unit_of_work() as s:
        [event] = _events(s, person_ref="001099012345")
        assert (event.action, event.entity_type, event.entity_id, event.actor_username) == (
            "read", "person", "42", "officer")


def test_sessions_and_login_attempts_are_not_logged_as_row_changes(db, org, make_user):
    make_user("phuc", org.hanoi, Role.provincial_officer)
    with db.unit_of_work() as s:
        user = auth_service.authenticate(s, "phuc", PASSWORD, ip="1.1.1.1",
                                         policy=auth_service.ThrottlePolicy(max_failures=5, window=__import__("datetime").timedelta(minutes=15)))
        auth_service.start_session(s, user, ip="1.1.1.1", user_agent="x", max_age=__import__("datetime").timedelta(hours=1))
    with db.unit_of_work() as s:
        assert _events(s, entity_type="user_session") == []
        actions = [e.action for e in _events(s, entity_type="app_user", entity_id=str(user.id))]
        assert actions[:1] == ["login"]
        assert "update" not in actions  # the last sign-in's time is no change of the user (the login event says it)


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_audit_log_is_append_only(db, org, make_user, statement):
    make_user("quang", org.hanoi, Role.provincial_officer)
    with pytest.raises(DBAPIError, match="append-only"), db.unit_of_work() as s:
        if statement == "update":
            s.execute(update(AuditEvent).values(actor_username="someone else"))
        else:
            s.execute(delete(AuditEvent))


def test_truncate_is_refused_on_postgresql(db, org, make_user):
    make_user("tam", org.hanoi, Role.provincial_officer)
    if db.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with pytest.raises(DBAPIError, match="append-only"), db.unit_of_work() as s:
        s.execute(text("TRUNCATE audit_event"))


def test_bulk_statements_are_recorded_too(db, org, make_user):
    make_user("bulk.one", org.hanoi, Role.provincial_officer)
    make_user("bulk.two", org.hanoi, Role.provincial_officer)
    with audit_context(actor_username="batch", channel="job"), db.unit_of_work() as s:
        s.execute(update(User).where(User.username.like("bulk.%")).values(locale="en"))
    with db.unit_of_work() as s:
        [event] = _events(s, action="bulk_update")
        assert (event.entity_type, event.actor_username, event.channel) == ("app_user", "batch", "job")
        assert event.changes["rows"] == 2 and "UPDATE app_user" in event.changes["statement"]
