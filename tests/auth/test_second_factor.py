"""The second factor: codes at explicit moments (RFC 6238's own test vector), drift, replay, enrolment and sign-in on
the web and the API, the throttle, and the roles that must enrol."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ansinh import clock
from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import Role, User
from ansinh.auth.second_factor import service as sf
from ansinh.auth.second_factor.models import SecondFactor
from tests.auth.conftest import csrf_on, secret_on
from tests.conftest import PASSWORD, web_login

#: RFC 6238 appendix B: the SHA-1 key "12345678901234567890", in base32.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
AT = datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC)


def test_codes_of_rfc_6238():
    # the RFC's 8-digit codes 94287082 (T = 59 s) and 07081804 (T = 1111111109 s): their last six digits
    assert sf.code_at(RFC_SECRET, datetime.fromtimestamp(59, UTC)) == "287082"
    assert sf.code_at(RFC_SECRET, datetime.fromtimestamp(1111111109, UTC)) == "081804"
    assert sf.time_step(datetime.fromtimestamp(59, UTC)) == 1


def test_one_step_of_drift_either_side_and_no_more():
    step = sf.time_step(AT)
    for offset in (-1, 0, 1):
        code = sf.code_at(RFC_SECRET, AT + timedelta(seconds=30 * offset))
        assert sf.matching_step(RFC_SECRET, code, AT) == step + offset
    for offset in (-2, 2):
        assert sf.matching_step(RFC_SECRET, sf.code_at(RFC_SECRET, AT + timedelta(seconds=30 * offset)), AT) is None
    code = sf.code_at(RFC_SECRET, AT)
    assert sf.matching_step(RFC_SECRET, f"{code[:3]} {code[3:]}", AT) == step  # spaces typed are ignored
    assert sf.matching_step(RFC_SECRET, code, AT, after_step=step) is None  # used already
    assert sf.matching_step(RFC_SECRET, "12345", AT) is None and sf.matching_step(RFC_SECRET, "abcdef", AT) is None


def test_the_provisioning_address_names_the_issuer_and_the_account():
    uri = sf.provisioning_uri(RFC_SECRET, "001090000017")
    assert uri.startswith("otpauth://totp/ansinh:001090000017?") and "issuer=ansinh" in uri
    assert f"secret={RFC_SECRET}" in uri
    assert sf.qr_svg(uri).lstrip().startswith("<svg")
    assert sf.grouped_secret("ABCDEFGH") == "ABCD EFGH"


def test_the_pending_sign_in_is_signed_and_short_lived():
    pending = sf.Pending(7, 1234, "code", "/me")
    token = sf.sign_pending("k" * 48, pending, AT)
    assert sf.read_pending("k" * 48, token, AT + timedelta(seconds=299)) == pending
    assert sf.read_pending("k" * 48, token, AT + timedelta(seconds=301)) is None
    assert sf.read_pending("other" * 10, token, AT) is None
    body, _, signature = token.rpartition(".")
    assert sf.read_pending("k" * 48, body[:-2] + "xx." + signature, AT) is None
    assert sf.read_pending("k" * 48, "garbage", AT) is None and sf.read_pending("k" * 48, None, AT) is None


def _enrolled(db, user_id: int, at: datetime) -> str:
    """Enrol the user through the service at ``at``; the secret."""
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        user = s.get(User, user_id)
        factor = sf.start_enrolment(s, user)
        secret = factor.secret
        sf.confirm_enrolment(s, user, sf.code_at(secret, at), at=at)
        return secret


def test_enrolment_confirmed_with_a_code_then_codes_are_accepted_once(db, org, make_user):
    user = make_user("an", org.hanoi, Role.provincial_officer)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        factor = sf.start_enrolment(s, s.get(User, user.id))
        assert sf.start_enrolment(s, s.get(User, user.id)).secret == factor.secret  # the same until confirmed
        assert not sf.is_enrolled(s, user.id)
        with pytest.raises(sf.ValidationFailed):
            sf.confirm_enrolment(s, s.get(User, user.id), "000000" if sf.code_at(factor.secret, AT) != "000000"
                                 else "111111", at=AT)
    secret = _enrolled(db, user.id, AT)
    later = AT + timedelta(minutes=5)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        me = s.get(User, user.id)
        assert sf.is_enrolled(s, user.id)
        assert sf.check_code(s, me, sf.code_at(secret, AT), at=AT) is False  # the code that confirmed it
        assert sf.check_code(s, me, sf.code_at(secret, later), at=later) is True
        assert sf.check_code(s, me, sf.code_at(secret, later), at=later) is False  # replay
        # the previous step's code is older than the one accepted: refused too
        assert sf.check_code(s, me, sf.code_at(secret, later - timedelta(seconds=30)), at=later) is False
        assert sf.check_code(s, me, sf.code_at(secret, later + timedelta(seconds=30)), at=later) is True  # drift
        with pytest.raises(sf.Conflict):
            sf.start_enrolment(s, me)
        assert s.get(SecondFactor, user.id).last_step == sf.time_step(later) + 1


def test_switching_off_needs_the_password_and_a_code(db, org, make_user):
    user = make_user("an", org.hanoi, Role.provincial_officer)
    secret = _enrolled(db, user.id, AT)
    later = AT + timedelta(minutes=1)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        me = s.get(User, user.id)
        with pytest.raises(sf.ValidationFailed) as wrong_password:
            sf.disable_second_factor(s, me, "not the password", sf.code_at(secret, later), at=later)
        assert wrong_password.value.field == "password"
        with pytest.raises(sf.ValidationFailed) as wrong_code:
            sf.disable_second_factor(s, me, PASSWORD, "", at=later)
        assert wrong_code.value.field == "code"
        sf.disable_second_factor(s, me, PASSWORD, sf.code_at(secret, later), at=later)
        assert s.get(SecondFactor, user.id) is None


def test_the_secret_is_never_in_the_audit_log(db, org, make_user):
    user = make_user("an", org.hanoi, Role.provincial_officer)
    secret = _enrolled(db, user.id, AT)
    with db.unit_of_work() as s:
        events = s.scalars(select(AuditEvent)).all()
        actions = {e.action for e in events}
        assert "second_factor_enabled" in actions
        assert all(secret not in repr(e.changes) for e in events)
        created = [e for e in events if e.entity_type == "user_second_factor" and e.action == "create"]
        assert created and created[0].changes["secret"] == "<redacted>"


# --- the web ------------------------------------------------------------------------------------------------------

def _enrol_on_the_web(client) -> str:
    page = client.get("/account/second-factor")
    assert page.status_code == 200 and 'data-testid="second-factor-qr"' in page.text and "<svg" in page.text
    secret = secret_on(page.text)
    wrong = client.post("/account/second-factor", data={"code": "12345", "csrf_token": csrf_on(page.text)})
    assert wrong.status_code == 422 and 'data-error="code"' in wrong.text
    done = client.post("/account/second-factor", data={"code": sf.code_at(secret, clock.utcnow()),
                                                      "csrf_token": csrf_on(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account/second-factor?done=on"
    shown = client.get("/account/second-factor")
    assert 'data-testid="second-factor-on"' in shown.text and secret not in shown.text  # never shown again
    return secret


def _sign_out(client) -> None:
    page = client.get("/account/second-factor")
    client.post("/logout", data={"csrf_token": csrf_on(page.text)})
    client.cookies.delete("ansinh_session")


def test_web_sign_in_asks_for_the_code_after_the_password(client, db, org, make_user):
    make_user("an", org.hanoi, Role.provincial_officer)
    assert web_login(client, "an").status_code == 303
    secret = _enrol_on_the_web(client)
    _sign_out(client)
    assert client.get("/api/v1/me").status_code == 401

    first = web_login(client, "an", next_url="/admin/users")
    assert first.status_code == 303 and first.headers["location"] == "/login/code"
    assert "ansinh_session" not in first.cookies  # no session before the code
    assert client.get("/api/v1/me").status_code == 401
    form = client.get("/login/code")
    assert form.status_code == 200 and 'name="code"' in form.text
    wrong = client.post("/login/code", data={"code": "000000" if sf.code_at(secret, clock.utcnow()) != "000000"
                                             else "111111", "csrf_token": client.cookies.get("ansinh_login_csrf")})
    assert wrong.status_code == 401 and client.get("/api/v1/me").status_code == 401
    # the code of the next step (one step of drift): this step's was taken by the enrolment a moment ago
    code = sf.code_at(secret, clock.utcnow() + timedelta(seconds=30))
    done = client.post("/login/code", data={"code": code, "csrf_token": client.cookies.get("ansinh_login_csrf")},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/users"
    assert client.get("/api/v1/me").json()["user"]["username"] == "an"

    _sign_out(client)  # the same code again: refused
    web_login(client, "an")
    replay = client.post("/login/code", data={"code": code, "csrf_token": client.cookies.get("ansinh_login_csrf")},
                         follow_redirects=False)
    assert replay.status_code == 401 and client.get("/api/v1/me").status_code == 401
    with db.unit_of_work() as s:
        reasons = [e.changes.get("reason") for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "login_failed")).all()]
        assert reasons.count("second_factor_wrong") == 2


def test_a_forged_or_missing_pending_state_starts_over(client, org, make_user):
    make_user("an", org.hanoi, Role.provincial_officer)
    assert client.get("/login/code", follow_redirects=False).headers["location"] == "/login?expired=1"
    client.cookies.set("ansinh_login_pending", "eyJ1IjoxfQ.deadbeef", path="/login")
    answer = client.post("/login/code", data={"code": "123456"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?expired=1"


def test_wrong_codes_count_toward_the_sign_in_throttle(client, db, org, make_user):
    user = make_user("an", org.hanoi, Role.provincial_officer)
    secret = _enrolled(db, user.id, clock.utcnow() - timedelta(minutes=2))
    assert web_login(client, "an").headers["location"] == "/login/code"  # attempt 1 (not given back yet)
    bad = "000000" if sf.code_at(secret, clock.utcnow()) != "000000" else "111111"
    csrf = client.cookies.get("ansinh_login_csrf")
    assert client.post("/login/code", data={"code": bad, "csrf_token": csrf}).status_code == 401  # 2
    assert client.post("/login/code", data={"code": bad, "csrf_token": client.cookies.get(
        "ansinh_login_csrf")}).status_code == 401  # 3
    throttled = client.post("/login/code", data={"code": sf.code_at(secret, clock.utcnow()),
                                                 "csrf_token": client.cookies.get("ansinh_login_csrf")})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert client.get("/api/v1/me").status_code == 401


def test_a_user_without_a_second_factor_signs_in_as_before(client, org, make_user):
    make_user("an", org.hanoi, Role.citizen, subject_ref="001090000017")
    answer = web_login(client, "an", next_url="/me")
    assert answer.status_code == 303 and answer.headers["location"] == "/me"


def test_citizen_of_a_required_role_is_sent_to_enrol_and_can_do_nothing_else(strict_client, db, org, make_user):
    client = strict_client
    make_user("an", org.hanoi, Role.citizen, subject_ref="001090000017")
    make_user("officer", org.hanoi, Role.provincial_officer)
    assert web_login(client, "officer").headers["location"] == "/"  # not a required role
    client.cookies.clear()

    first = web_login(client, "001090000017", next_url="/me")  # by citizen ID
    assert first.status_code == 303 and first.headers["location"] == "/login/enrol"
    assert client.get("/me", follow_redirects=False).status_code in (303, 401)  # no session
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/login/enrol")
    assert page.status_code == 200 and "<svg" in page.text
    secret = secret_on(page.text)
    assert secret_on(client.get("/login/enrol").text) == secret  # the same secret until confirmed
    wrong = client.post("/login/enrol", data={"code": "12", "csrf_token": client.cookies.get("ansinh_login_csrf")})
    assert wrong.status_code == 422 and client.get("/api/v1/me").status_code == 401
    done = client.post("/login/enrol", data={"code": sf.code_at(secret, clock.utcnow()),
                                            "csrf_token": client.cookies.get("ansinh_login_csrf")},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/me"
    assert client.get("/api/v1/me").json()["user"]["username"] == "an"
    with db.unit_of_work() as s:
        assert sf.is_enrolled(s, s.scalar(select(User.id).where(User.username == "an")))


# --- the API ------------------------------------------------------------------------------------------------------

def test_api_token_with_the_code(client, db, org, make_user):
    user = make_user("an", org.hanoi, Role.provincial_officer)
    secret = _enrolled(db, user.id, clock.utcnow() - timedelta(minutes=2))
    missing = client.post("/api/v1/auth/token", json={"username": "an", "password": PASSWORD})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "second_factor_required"
    code = sf.code_at(secret, clock.utcnow())
    wrong = client.post("/api/v1/auth/token", json={"username": "an", "password": PASSWORD,
                                                    "otp": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "second_factor_invalid"
    ok = client.post("/api/v1/auth/token", json={"username": "an", "password": PASSWORD, "otp": code})
    assert ok.status_code == 201, ok.text
    replay = client.post("/api/v1/auth/token", json={"username": "an", "password": PASSWORD, "otp": code})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "second_factor_invalid"
    bad_password = client.post("/api/v1/auth/token", json={"username": "an", "password": "nope", "otp": code})
    assert bad_password.json()["error"]["code"] == "unauthenticated"


def test_api_refuses_a_required_role_without_a_second_factor(strict_client, org, make_user):
    make_user("an", org.hanoi, Role.citizen, subject_ref="001090000017")
    answer = strict_client.post("/api/v1/auth/token", json={"username": "001090000017", "password": PASSWORD})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "second_factor_enrolment_required"


def test_sign_in_by_citizen_id(client, db, org, make_user):
    make_user("an.nguyen", org.hanoi, Role.citizen, subject_ref="001090000017")
    make_user("officer", org.hanoi, Role.provincial_officer, subject_ref=None)
    token = client.post("/api/v1/auth/token", json={"username": " 001090000017 ", "password": PASSWORD})
    assert token.status_code == 201, token.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.json()["user"]["username"] == "an.nguyen"
    assert web_login(client, "001090000017", next_url="/me").headers["location"] == "/me"
    # an ID nobody acts for: the same answer as a wrong password
    unknown = client.post("/api/v1/auth/token", json={"username": "001090000018", "password": PASSWORD})
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "unauthenticated"


def test_failures_by_citizen_id_and_by_username_share_one_count(client, org, make_user):
    make_user("an.nguyen", org.hanoi, Role.citizen, subject_ref="001090000017")
    for login in ("001090000017", "an.nguyen", "001090000017"):  # the test settings allow 3 failures
        assert client.post("/api/v1/auth/token", json={"username": login, "password": "bad"}).status_code == 401
    answer = client.post("/api/v1/auth/token", json={"username": "an.nguyen", "password": PASSWORD})
    assert answer.status_code == 429


def test_only_citizen_accounts_sign_in_by_citizen_id(db, org, make_user):
    make_user("employer.x", org.hanoi, Role.provincial_officer)
    with db.unit_of_work() as s:
        # subject_ref of a non-citizen account: no sign-in by it
        s.get(User, s.scalar(select(User.id).where(User.username == "employer.x"))).subject_ref = "001090000017"
        s.flush()
        assert auth_service.find_sign_in_user(s, "001090000017") is None
        assert auth_service.find_sign_in_user(s, "EMPLOYER.X").username == "employer.x"


def test_who_must_enrol_is_a_setting():
    from ansinh.config import Settings

    assert Settings(env="production", secret_key="p" * 48).second_factor_roles == ["citizen"]
    assert Settings(env="development").second_factor_roles == [] and Settings(env="test").second_factor_roles == []
    assert Settings(env="production", secret_key="p" * 48, second_factor_roles=[]).second_factor_roles == []
    assert sf.is_required([Role.citizen], ["citizen"]) and not sf.is_required([Role.employer], ["citizen"])


def test_switching_off_on_the_web(client, db, org, make_user):
    make_user("an", org.hanoi, Role.provincial_officer)
    web_login(client, "an")
    secret = _enrol_on_the_web(client)
    page = client.get("/account/second-factor")
    refused = client.post("/account/second-factor/off", data={"password": "wrong", "csrf_token": csrf_on(page.text),
                                                              "code": sf.code_at(secret, clock.utcnow())})
    assert refused.status_code == 422 and 'data-error="password"' in refused.text
    done = client.post("/account/second-factor/off", data={
        "password": PASSWORD, "code": sf.code_at(secret, clock.utcnow() + timedelta(seconds=30)),
        "csrf_token": csrf_on(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account/second-factor?done=off"
    with db.unit_of_work() as s:
        assert not sf.is_enrolled(s, s.scalar(select(User.id).where(User.username == "an")))
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "second_factor_disabled")) is not None
    _sign_out(client)
    assert web_login(client, "an").headers["location"] == "/"  # the password alone again
