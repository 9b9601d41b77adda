"""Managing users as an administrator: roles, deactivation, password reset (service and API)."""

from __future__ import annotations

from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth import service
from ansinh.auth.models import ApiToken, OrgUnit, Role, User, UserSession
from ansinh.auth.permissions import Principal
from tests.conftest import PASSWORD, api_token, web_login


def _principal(db, user_id: int) -> Principal:
    with db.unit_of_work() as s:
        return service.principal_for(s.get(User, user_id))


def test_administrators_change_roles_in_their_subtree_only(client, db, org, make_user):
    make_user("hn.admin", org.hanoi, Role.administrator)
    make_user("sl.admin", org.sonla, Role.administrator)
    make_user("hn.officer", org.hanoi, Role.provincial_officer)
    clerk = make_user("clerk", org.hanoi_office, Role.district_officer)
    body = {"roles": ["district_officer", "supervisor"]}
    assert client.patch(f"/api/v1/users/{clerk.id}", json=body,
                        headers=api_token(client, "sl.admin")).status_code == 403
    assert client.patch(f"/api/v1/users/{clerk.id}", json=body,
                        headers=api_token(client, "hn.officer")).status_code == 403
    with db.unit_of_work() as s:
        assert s.get(User, clerk.id).role_enums == [Role.district_officer]
    changed = client.patch(f"/api/v1/users/{clerk.id}", json=body, headers=api_token(client, "hn.admin"))
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["district_officer", "supervisor"]
    with db.unit_of_work() as s:
        assert s.get(User, clerk.id).role_enums == [Role.district_officer, Role.supervisor]
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "roles_changed"))
        assert event.entity_id == str(clerk.id) and event.actor_username == "hn.admin"
        assert event.changes == {"roles": [["district_officer"], ["district_officer", "supervisor"]]}
    # an officer role of another level is refused, naming the field
    wrong = client.patch(f"/api/v1/users/{clerk.id}", json={"roles": ["provincial_officer"]},
                         headers=api_token(client, "hn.admin"))
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "roles"


def test_nobody_raises_their_own_roles(client, db, org, make_user):
    admin = make_user("hn.admin", org.hanoi, Role.administrator)
    officer = make_user("hn.officer", org.hanoi, Role.provincial_officer)
    headers = api_token(client, "hn.admin")
    mine = client.patch(f"/api/v1/users/{admin.id}", json={"roles": ["administrator", "supervisor"]}, headers=headers)
    assert mine.status_code == 403
    # an officer cannot even try: the route needs users.manage
    assert client.patch(f"/api/v1/users/{officer.id}", json={"roles": ["administrator"]},
                        headers=api_token(client, "hn.officer")).status_code == 403
    with db.unit_of_work() as s:
        assert s.get(User, admin.id).role_enums == [Role.administrator]
        assert s.get(User, officer.id).role_enums == [Role.provincial_officer]


def test_a_provincial_administrator_gives_no_national_role(db, org, make_user):
    admin = make_user("hn.admin", org.hanoi, Role.administrator)
    national = make_user("vn.admin", org.national, Role.administrator)
    assert Role.national_officer not in service.grantable_roles(_principal(db, admin.id))
    assert Role.provincial_officer in service.grantable_roles(_principal(db, admin.id))
    assert Role.national_officer in service.grantable_roles(_principal(db, national.id))


def test_outside_accounts_act_for_a_record_that_exists_in_scope(client, db, org, make_user):
    from ansinh.registry import service as registry
    from ansinh.registry.models import Ownership
    from tests.collection.arrears_fixtures import tax_code

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        ours = registry.create_employer(s, registry.EmployerData(
            tax_code=tax_code(11), name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        theirs = registry.create_employer(s, registry.EmployerData(
            tax_code=tax_code(23), name="Công ty Sơn La", ownership=Ownership.private, region="III"), sonla)
        ours_tax, theirs_tax = ours.tax_code, theirs.tax_code
    make_user("hn.admin", org.hanoi, Role.administrator)
    headers = api_token(client, "hn.admin")
    new = {"username": "an.binh", "password": PASSWORD, "full_name": "Kế toán An Bình", "org_unit_code": "BHXH-01",
           "roles": ["employer"]}
    for ref in (None, "0000000000", theirs_tax):
        refused = client.post("/api/v1/users", json={**new, "subject_ref": ref}, headers=headers)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "subject_ref", refused.text
    mixed = client.post("/api/v1/users", json={**new, "roles": ["employer", "provincial_officer"],
                                                "subject_ref": ours_tax}, headers=headers)
    assert mixed.status_code == 422 and mixed.json()["error"]["field"] == "roles"
    created = client.post("/api/v1/users", json={**new, "subject_ref": ours_tax}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["subject_ref"] == ours_tax


def test_deactivation_ends_sessions_and_tokens_and_reactivation_lets_them_back(client, db, org, make_user):
    make_user("hn.admin", org.hanoi, Role.administrator)
    clerk = make_user("clerk", org.hanoi_office, Role.district_officer)
    clerk_token = api_token(client, "clerk")
    admin = api_token(client, "hn.admin")
    assert client.get("/api/v1/me", headers=clerk_token).status_code == 200
    web_login(client, "clerk")
    client.cookies.clear()
    assert client.post(f"/api/v1/users/{clerk.id}/deactivation",
                       headers=api_token(client, "clerk")).status_code == 403  # not for themselves either
    outsider = make_user("sl.admin", org.sonla, Role.administrator)
    assert client.post(f"/api/v1/users/{clerk.id}/deactivation",
                       headers=api_token(client, "sl.admin")).status_code == 403
    response = client.post(f"/api/v1/users/{clerk.id}/deactivation", headers=admin)
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=clerk_token).status_code == 401
    with db.unit_of_work() as s:
        assert all(t.revoked_at is not None for t in s.scalars(select(ApiToken).where(ApiToken.user_id == clerk.id)))
        assert all(u.revoked_at is not None
                   for u in s.scalars(select(UserSession).where(UserSession.user_id == clerk.id)))
    assert client.post("/api/v1/auth/token", json={"username": "clerk", "password": PASSWORD}).status_code == 401
    back = client.delete(f"/api/v1/users/{clerk.id}/deactivation", headers=admin)
    assert back.status_code == 200 and back.json()["is_active"] is True
    assert client.get("/api/v1/me", headers=api_token(client, "clerk")).status_code == 200
    assert outsider.is_active


def test_password_reset_generated_or_chosen_ends_the_old_access(client, db, org, make_user):
    make_user("hn.admin", org.hanoi, Role.administrator)
    clerk = make_user("clerk", org.hanoi_office, Role.district_officer)
    old_token = api_token(client, "clerk")
    admin = api_token(client, "hn.admin")
    weak = client.post(f"/api/v1/users/{clerk.id}/password-reset", json={"password": "password1234"}, headers=admin)
    assert weak.status_code == 422 and weak.json()["error"]["field"] == "password"
    generated = client.post(f"/api/v1/users/{clerk.id}/password-reset", json={}, headers=admin)
    assert generated.status_code == 200 and generated.headers["cache-control"] == "no-store"
    temporary = generated.json()["temporary_password"]
    assert temporary and len(temporary) >= 12
    assert client.get("/api/v1/me", headers=old_token).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "clerk", "password": PASSWORD}).status_code == 401
    assert client.get("/api/v1/me", headers=api_token(client, "clerk", temporary)).status_code == 200
    chosen = client.post(f"/api/v1/users/{clerk.id}/password-reset",
                         json={"password": "violet harbour lantern seventeen"}, headers=admin)
    assert chosen.status_code == 200 and chosen.json()["temporary_password"] is None
    assert client.get("/api/v1/me", headers=api_token(client, "clerk", "violet harbour lantern seventeen")
                      ).status_code == 200
    with db.unit_of_work() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "password_reset")).all()
        assert [e.changes for e in events] == [{"generated": True}, {"generated": False}]
        assert temporary not in str([e.changes for e in s.scalars(select(AuditEvent))])
