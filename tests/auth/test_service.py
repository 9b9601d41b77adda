from datetime import timedelta

import pytest
from sqlalchemy import select

from ansinh.auth import service
from ansinh.auth.models import LoginAttempt, OrgLevel, OrgUnit, Role, UserSession
from ansinh.db import utcnow
from ansinh.errors import ValidationFailed
from tests.conftest import PASSWORD

POLICY = service.ThrottlePolicy(max_failures=3, window=timedelta(minutes=15))


def test_org_units_form_a_tree_with_materialised_paths(org):
    assert org.national.path == f"/{org.national.id}/"
    assert org.hanoi.path == f"/{org.national.id}/{org.hanoi.id}/"
    assert org.hanoi_office.path == f"{org.hanoi.path}{org.hanoi_office.id}/"


def test_org_unit_levels_must_nest(session, org):
    with pytest.raises(ValidationFailed) as excinfo:
        service.create_org_unit(session, code="X", name="x", level=OrgLevel.district, place_code="1",
                                parent=session.get(OrgUnit, org.national.id))
    assert excinfo.value.field == "parent"
    with pytest.raises(ValidationFailed):
        service.create_org_unit(session, code="Y", name="y", level=OrgLevel.national, place_code="VN",
                                parent=session.get(OrgUnit, org.national.id))
    with pytest.raises(ValidationFailed) as dup:
        service.create_org_unit(session, code="BHXH-01", name="dup", level=OrgLevel.province, place_code="01",
                                parent=session.get(OrgUnit, org.national.id))
    assert dup.value.field == "code"


def test_passwords_are_hashed_with_argon2(make_user, org):
    user = make_user("an.nguyen", org.hanoi, Role.provincial_officer)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert service.verify_password(user.password_hash, PASSWORD)
    assert not service.verify_password(user.password_hash, PASSWORD + "x")


@pytest.mark.parametrize(("username", "password", "roles", "field"), [
    ("ok.user", "short", [Role.provincial_officer], "password"),
    ("bad user!", PASSWORD, [Role.provincial_officer], "username"),
    ("ok.user", PASSWORD, [], "roles"),
    ("ok.user", PASSWORD, [Role.national_officer], "roles"),  # a national role in a province
])
def test_create_user_rejects_bad_values(session, org, username, password, roles, field):
    with pytest.raises(ValidationFailed) as excinfo:
        service.create_user(session, username=username, password=password, full_name="X",
                            org_unit=session.get(OrgUnit, org.hanoi.id), roles=roles)
    assert excinfo.value.field == field


def test_usernames_are_unique_case_insensitively(session, org, make_user):
    make_user("Binh.Tran", org.hanoi, Role.provincial_officer)
    with pytest.raises(ValidationFailed, match="already exists"):
        service.create_user(session, username="binh.tran", password=PASSWORD, full_name="X",
                            org_unit=session.get(OrgUnit, org.hanoi.id), roles=[Role.provincial_officer])


def test_wrong_password_and_unknown_user_give_the_same_answer(session, org, make_user):
    make_user("chi", org.hanoi, Role.provincial_officer)
    with pytest.raises(service.AuthError) as wrong:
        service.authenticate(session, "chi", "not the password", ip="10.0.0.1", policy=POLICY)
    with pytest.raises(service.AuthError) as unknown:
        service.authenticate(session, "nobody", "not the password", ip="10.0.0.1", policy=POLICY)
    assert type(wrong.value) is type(unknown.value) is service.AuthError
    assert str(wrong.value) == str(unknown.value) == "Wrong username or password."


def test_repeated_failures_are_throttled_even_with_the_right_password(session, org, make_user):
    make_user("dung", org.hanoi, Role.provincial_officer)
    now = utcnow()
    for minute in range(3):
        with pytest.raises(service.AuthError):
            service.authenticate(session, "dung", "bad", ip="10.0.0.2", policy=POLICY, now=now + timedelta(minutes=minute))
    with pytest.raises(service.TooManyAttempts) as throttled:
        service.authenticate(session, "dung", PASSWORD, ip="10.0.0.2", policy=POLICY, now=now + timedelta(minutes=3))
    # The window opened with the first attempt (minute 0) and lasts 15 minutes: 12 minutes from now. The refused
    # attempt was not checked and is not recorded as a failure.
    assert 12 * 60 <= throttled.value.retry_after_seconds <= 12 * 60 + 1
    # After the window the right password works again, and the failures stop counting.
    user = service.authenticate(session, "dung", PASSWORD, ip="10.0.0.2", policy=POLICY, now=now + timedelta(minutes=18))
    assert user.username == "dung"
    attempts = session.scalars(select(LoginAttempt.succeeded).where(LoginAttempt.username == "dung")).all()
    assert attempts.count(False) == 3 and attempts.count(True) == 1


def test_disabled_accounts_cannot_sign_in(session, org, make_user):
    user = make_user("em", org.hanoi, Role.provincial_officer)
    session.get(type(user), user.id).is_active = False
    with pytest.raises(service.AuthError, match="Wrong username or password"):
        service.authenticate(session, "em", PASSWORD, ip="10.0.0.3", policy=POLICY)


def test_sessions_expire_when_idle_or_too_old(session, org, make_user):
    user = make_user("giang", org.hanoi, Role.provincial_officer)
    now = utcnow()
    token, stored = service.start_session(session, session.get(type(user), user.id), ip="1.2.3.4", user_agent="t",
                                          max_age=timedelta(hours=1), now=now)
    assert stored.token_hash != token and len(stored.token_hash) == 64
    idle = timedelta(minutes=30)
    assert service.resolve_session(session, token, idle=idle, now=now + timedelta(minutes=10)).user_session is not None
    # 29 minutes after the last activity (minute 10) it is still alive ...
    assert service.resolve_session(session, token, idle=idle, now=now + timedelta(minutes=39)).user_session is not None
    # ... but past the absolute lifetime it is expired, and stays so.
    check = service.resolve_session(session, token, idle=idle, now=now + timedelta(minutes=61))
    assert check.user_session is None and check.expired
    assert session.get(UserSession, stored.token_hash).revoked_at is not None
    assert service.resolve_session(session, token, idle=idle, now=now + timedelta(minutes=62)).expired


def test_idle_session_expires(session, org, make_user):
    user = make_user("ha", org.hanoi, Role.provincial_officer)
    now = utcnow()
    token, _ = service.start_session(session, session.get(type(user), user.id), ip=None, user_agent=None,
                                     max_age=timedelta(hours=8), now=now)
    check = service.resolve_session(session, token, idle=timedelta(minutes=30), now=now + timedelta(minutes=31))
    assert check.expired and check.user_session is None
    unknown = service.resolve_session(session, "no-such-token", idle=timedelta(minutes=30))
    assert unknown.user_session is None and not unknown.expired


def test_api_tokens_expire_and_can_be_revoked(session, org, make_user):
    user = make_user("hung", org.hanoi, Role.provincial_officer)
    now = utcnow()
    token, stored = service.issue_api_token(session, session.get(type(user), user.id), lifetime=timedelta(days=1),
                                            now=now)
    assert token.startswith("ans_") and stored.token_hash == service.hash_token(token)
    assert service.resolve_api_token(session, token, now=now + timedelta(hours=23)).id == user.id
    assert service.resolve_api_token(session, token, now=now + timedelta(days=1, seconds=1)) is None
    assert service.revoke_api_token(session, token)
    assert service.resolve_api_token(session, token, now=now) is None
    assert not service.revoke_api_token(session, token)


def test_principal_carries_scope_and_permissions(session, org, make_user):
    user = make_user("khanh", org.hanoi, Role.provincial_officer, Role.supervisor)
    principal = service.principal_for(session.get(type(user), user.id))
    assert principal.org_unit_path == org.hanoi.path
    assert principal.roles == {Role.provincial_officer, Role.supervisor}
    assert principal.covers_path(org.hanoi_office.path)
    assert not principal.covers_path(org.sonla.path)
    assert not principal.covers_path(org.national.path)
