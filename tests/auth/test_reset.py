"""Password reset through the office: the officer issues a code (the account created when the person has none), the
citizen sets a new password with it once, before it expires; another province's officer is refused and writes
nothing; every issue and use is audited, never the code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ansinh import clock
from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import Role, User
from ansinh.auth.reset import service as reset
from ansinh.auth.reset.models import ResetCode
from ansinh.auth.second_factor import service as sf
from ansinh.auth.second_factor.models import SecondFactor
from ansinh.auth.service import principal_for
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from tests.auth.conftest import HANOI_CID, csrf_on
from tests.conftest import api_token, web_login

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NEW_PASSWORD = "violet tractor humming quietly"
POLICY = auth_service.ThrottlePolicy(3, timedelta(minutes=15))


def _issue(db, officer_id: int, cid: str = HANOI_CID, *, now: datetime = NOW, hours: int = 72):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        issued = reset.issue_reset_code(s, principal_for(s.get(User, officer_id)), cid, now=now, valid_hours=hours)
        return issued.code, issued.user.id, issued.account_created, issued.expires_at


def _use(db, code: str, *, now: datetime, password: str = NEW_PASSWORD, cid: str = HANOI_CID):
    """As the routes do: a refused code's attempt and audit event are committed before the refusal."""
    with audit_context(channel="web", actor_username="anonymous"), db.unit_of_work() as s:
        try:
            return reset.use_reset_code(s, cid, code, password, ip="10.0.0.1", policy=POLICY, now=now).id
        except reset.ResetCodeInvalid:
            s.commit()
            raise


def test_who_may_issue_codes():
    from ansinh.auth.permissions import Permission, permissions_for

    holders = {role for role in Role if Permission.accounts_reset in permissions_for({role})}
    assert holders == {Role.administrator, Role.provincial_officer, Role.district_officer}


def test_the_code_reads_well():
    code = reset.generate_code()
    assert len(code) == 8 and set(code) <= set(reset.ALPHABET)
    assert not set("0O1IL5S8B2Z") & set(reset.ALPHABET)
    assert reset.normalise_code(" acde-fghj ") == "ACDEFGHJ" and reset.display_code("ACDEFGHJ") == "ACDE-FGHJ"


def test_issuing_creates_the_account_and_stores_only_a_hash(db, org, make_user, person):
    officer = make_user("officer", org.hanoi, Role.provincial_officer)
    code, user_id, created, expires_at = _issue(db, officer.id, hours=48)
    assert created and expires_at == NOW + timedelta(hours=48)
    with db.unit_of_work() as s:
        user = s.get(User, user_id)
        assert (user.username, user.subject_ref, user.full_name, user.role_enums) == (
            HANOI_CID, HANOI_CID, "Nguyễn Văn An", [Role.citizen])
        stored = s.scalar(select(ResetCode).where(ResetCode.user_id == user_id))
        assert stored.code_hash != code and code not in stored.code_hash and stored.issued_by == "officer"
        assert auth_service.verify_password(stored.code_hash, code)
        # nobody can sign in before the citizen sets their password
        assert not auth_service.verify_password(user.password_hash, code)


def test_using_the_code_sets_the_password_ends_access_and_clears_the_second_factor(client, db, org, make_user,
                                                                                     person):
    officer = make_user("officer", org.hanoi, Role.provincial_officer)
    citizen = make_user("an.nguyen", org.hanoi, Role.citizen, subject_ref=HANOI_CID)
    headers = api_token(client, "an.nguyen")
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        factor = sf.start_enrolment(s, s.get(User, citizen.id))
        sf.confirm_enrolment(s, s.get(User, citizen.id), sf.code_at(factor.secret, NOW), at=NOW)
    code, user_id, created, _ = _issue(db, officer.id)
    assert not created and user_id == citizen.id  # the existing account
    later = NOW + timedelta(hours=1)
    assert _use(db, code.lower(), now=later) == citizen.id
    assert client.get("/api/v1/me", headers=headers).status_code == 401  # the token ended
    with db.unit_of_work() as s:
        assert auth_service.verify_password(s.get(User, citizen.id).password_hash, NEW_PASSWORD)
        assert s.get(SecondFactor, citizen.id) is None  # they enrol again
        assert s.scalar(select(ResetCode.used_at).where(ResetCode.user_id == citizen.id)) is not None
    with pytest.raises(reset.ResetCodeInvalid):  # a replay
        _use(db, code, now=later + timedelta(minutes=1), password="another long passphrase here")
    token = client.post("/api/v1/auth/token", json={"username": HANOI_CID, "password": NEW_PASSWORD})
    assert token.status_code == 201


def test_an_expired_or_replaced_code_is_refused(db, org, make_user, person):
    officer = make_user("officer", org.hanoi, Role.provincial_officer)
    first, *_ = _issue(db, officer.id, hours=72)
    with pytest.raises(reset.ResetCodeInvalid):
        _use(db, first, now=NOW + timedelta(hours=72))  # expired at that moment
    second, *_ = _issue(db, officer.id, now=NOW + timedelta(hours=73))
    with pytest.raises(reset.ResetCodeInvalid):
        _use(db, first, now=NOW + timedelta(hours=74))  # replaced by the new one
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(ResetCode)) == 1  # one live code per account
    _use(db, second, now=NOW + timedelta(hours=74))


def test_a_weak_password_keeps_the_code(db, org, make_user, person):
    officer = make_user("officer", org.hanoi, Role.provincial_officer)
    code, *_ = _issue(db, officer.id)
    with pytest.raises(ValidationFailed) as weak:
        _use(db, code, now=NOW, password="password1234")
    assert weak.value.field == "password"
    _use(db, code, now=NOW)


def test_another_provinces_officer_is_refused_and_nothing_is_written(db, org, make_user, person):
    sonla = make_user("sonla", org.sonla, Role.provincial_officer)
    national = make_user("national", org.national, Role.national_officer)
    citizen = make_user("other.citizen", org.hanoi, Role.citizen, subject_ref="001090000099")
    with db.unit_of_work() as s:
        before = (s.scalar(select(func.count()).select_from(User)), s.scalar(select(func.count()).select_from(ResetCode)))
        with pytest.raises(NotFound):
            reset.issue_reset_code(s, principal_for(s.get(User, sonla.id)), HANOI_CID, now=NOW, valid_hours=72)
        with pytest.raises(PermissionDenied):  # national officers hold no accounts.reset
            reset.issue_reset_code(s, principal_for(s.get(User, national.id)), HANOI_CID, now=NOW, valid_hours=72)
        with pytest.raises(PermissionDenied):
            reset.issue_reset_code(s, principal_for(s.get(User, citizen.id)), HANOI_CID, now=NOW, valid_hours=72)
        with pytest.raises(ValidationFailed):
            reset.issue_reset_code(s, principal_for(s.get(User, sonla.id)), "12345", now=NOW, valid_hours=72)
        after = (s.scalar(select(func.count()).select_from(User)), s.scalar(select(func.count()).select_from(ResetCode)))
        assert after == before


def test_issue_and_use_are_audited_without_the_code(db, org, make_user, person):
    officer = make_user("officer", org.hanoi, Role.provincial_officer)
    code, user_id, *_ = _issue(db, officer.id)
    with pytest.raises(reset.ResetCodeInvalid):
        _use(db, "WRONGCOD", now=NOW)
    _use(db, code, now=NOW)
    with db.unit_of_work() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        actions = [e.action for e in events]
        for action in ("reset_code_issued", "reset_code_failed", "password_reset_by_code"):
            assert action in actions, actions
        issued = next(e for e in events if e.action == "reset_code_issued")
        assert (issued.entity_id, issued.person_ref, issued.actor_username) == (str(user_id), HANOI_CID, "test-fixture")
        stored_hash = s.scalar(select(ResetCode.code_hash))
        for event in events:
            text = repr(event.changes)
            assert code not in text and stored_hash not in text and NEW_PASSWORD not in text


def test_reset_attempts_are_throttled(db, org, make_user, person):
    officer = make_user("officer", org.hanoi, Role.provincial_officer)
    code, *_ = _issue(db, officer.id)
    for _ in range(3):
        with pytest.raises(reset.ResetCodeInvalid):
            _use(db, "AAAAAAAA", now=NOW)
    with pytest.raises(auth_service.TooManyAttempts):
        _use(db, code, now=NOW)
    _use(db, code, now=NOW + timedelta(minutes=16))  # the window has passed


# --- the API and the pages ------------------------------------------------------------------------------------------

def test_api_issue_and_use(client, db, org, make_user, person):
    make_user("officer", org.hanoi, Role.provincial_officer)
    make_user("sonla", org.sonla, Role.provincial_officer)
    refused = client.post("/api/v1/accounts/reset-codes", json={"citizen_id": HANOI_CID},
                          headers=api_token(client, "sonla"))
    assert refused.status_code == 404
    issued = client.post("/api/v1/accounts/reset-codes", json={"citizen_id": HANOI_CID},
                         headers=api_token(client, "officer"))
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["username"] == HANOI_CID and body["account_created"] and len(body["code"]) == 9
    assert issued.headers["cache-control"] == "no-store"
    wrong = client.post("/api/v1/auth/password-reset", json={"citizen_id": HANOI_CID, "code": "AAAA-AAAA",
                                                             "password": NEW_PASSWORD})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "reset_code_invalid"
    weak = client.post("/api/v1/auth/password-reset", json={"citizen_id": HANOI_CID, "code": body["code"],
                                                            "password": "short"})
    assert weak.status_code == 422 and weak.json()["error"]["field"] == "password"
    done = client.post("/api/v1/auth/password-reset", json={"citizen_id": HANOI_CID, "code": body["code"],
                                                            "password": NEW_PASSWORD})
    assert done.status_code == 200 and done.json() == {"username": HANOI_CID}
    again = client.post("/api/v1/auth/password-reset", json={"citizen_id": HANOI_CID, "code": body["code"],
                                                             "password": NEW_PASSWORD})
    assert again.status_code == 400
    assert api_token(client, HANOI_CID, NEW_PASSWORD)
    spec = client.get("/api/v1/openapi.json").json()["paths"]
    issue, use = spec["/api/v1/accounts/reset-codes"]["post"], spec["/api/v1/auth/password-reset"]["post"]
    assert issue["x-ansinh-scope"] == ["org_subtree"] and issue["x-ansinh-permissions"] == ["accounts.reset"]
    assert use["x-ansinh-scope"] == ["public"]


def test_officer_page_issues_the_code_and_prints_the_slip(client, db, org, make_user, person):
    make_user("officer", org.hanoi, Role.provincial_officer)
    web_login(client, "officer")
    page = client.get("/accounts/reset-codes")
    assert page.status_code == 200
    bad = client.post("/accounts/reset-codes", data={"citizen_id": "123", "csrf_token": csrf_on(page.text)})
    assert bad.status_code == 422 and 'data-error="citizen_id"' in bad.text
    shown = client.post("/accounts/reset-codes", data={"citizen_id": HANOI_CID, "csrf_token": csrf_on(page.text)})
    assert shown.status_code == 200 and 'data-testid="reset-code"' in shown.text
    import re

    code = re.search(r'name="code" value="([A-Z0-9]+)"', shown.text).group(1)
    slip = client.post("/accounts/reset-codes/slip.pdf", data={"citizen_id": HANOI_CID, "code": code,
                                                              "csrf_token": csrf_on(page.text)})
    assert slip.status_code == 200 and slip.content.startswith(b"%PDF") and slip.headers["cache-control"] == "no-store"
    forged = client.post("/accounts/reset-codes/slip.pdf", data={"citizen_id": HANOI_CID, "code": "AAAAAAAA",
                                                                "csrf_token": csrf_on(page.text)})
    assert forged.status_code == 404


def test_the_slip_in_vietnamese(db):
    from ansinh.auth.reset.pdf import render_slip

    pdf = render_slip(citizen_id=HANOI_CID, full_name="Nguyễn Văn An", code="ACDEFGHJ",
                      valid_until=NOW + timedelta(hours=72), issued_at=NOW, office_name="Bảo hiểm xã hội Hà Nội")
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


def test_the_public_reset_page(client, db, org, make_user, person):
    officer = make_user("officer", org.hanoi, Role.provincial_officer)
    code, *_ = _issue(db, officer.id, now=clock.utcnow())
    page = client.get("/login/reset")
    assert page.status_code == 200 and 'name="citizen_id"' in page.text
    csrf = client.cookies.get("ansinh_login_csrf")
    differ = client.post("/login/reset", data={"citizen_id": HANOI_CID, "code": code, "password": NEW_PASSWORD,
                                               "password2": "something else", "csrf_token": csrf})
    assert differ.status_code == 422 and 'data-error="password2"' in differ.text
    wrong = client.post("/login/reset", data={"citizen_id": HANOI_CID, "code": "AAAAAAAA", "password": NEW_PASSWORD,
                                              "password2": NEW_PASSWORD,
                                              "csrf_token": client.cookies.get("ansinh_login_csrf")})
    assert wrong.status_code == 400 and 'data-testid="login-error"' in wrong.text
    done = client.post("/login/reset", data={"citizen_id": HANOI_CID, "code": code, "password": NEW_PASSWORD,
                                             "password2": NEW_PASSWORD,
                                             "csrf_token": client.cookies.get("ansinh_login_csrf")},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    assert 'data-testid="reset-done"' in client.get("/login?reset=1").text
    assert web_login(client, HANOI_CID, NEW_PASSWORD, next_url="/me").headers["location"] == "/me"


def test_the_command_issues_a_code(db, org, make_user, person, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ansinh import db as db_module
    from ansinh.cli import app

    make_user("officer", org.hanoi, Role.provincial_officer)
    monkeypatch.setattr(db_module, "get_database", lambda *a, **k: db)
    slip = tmp_path / "slip.pdf"
    result = CliRunner().invoke(app, ["users", "reset-code", HANOI_CID, "--as", "officer", "--slip", str(slip)])
    assert result.exit_code == 0, result.output
    assert "account created" in result.output and slip.read_bytes().startswith(b"%PDF")
    refused = CliRunner().invoke(app, ["users", "reset-code", "014085000023", "--as", "officer"])
    assert refused.exit_code == 2
