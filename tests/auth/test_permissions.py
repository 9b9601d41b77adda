import pytest
from sqlalchemy import select

from ansinh.auth import service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.auth.permissions import ROLE_PERMISSIONS, Permission, ensure_in_scope, org_scope, permissions_for
from ansinh.errors import PermissionDenied


def test_every_role_has_permissions_and_only_administrators_manage_users_and_read_the_log():
    assert set(ROLE_PERMISSIONS) == set(Role)
    for role, granted in ROLE_PERMISSIONS.items():
        assert Permission.dashboard_view in granted
        assert (Permission.audit_read in granted) == (role == Role.administrator)
        assert (Permission.users_manage in granted) == (role == Role.administrator)
    assert permissions_for({Role.citizen}) == {Permission.dashboard_view, Permission.benefits_read,
                                               Permission.benefits_file}  # their own claims only


def test_org_scope_keeps_the_principals_subtree(session, org, make_user):
    officer = make_user("lan", org.hanoi, Role.provincial_officer)
    make_user("mai", org.hanoi_office, Role.district_officer)
    make_user("nam", org.sonla, Role.provincial_officer)
    make_user("oanh", org.national, Role.national_officer)
    principal = service.principal_for(session.get(User, officer.id))
    visible = set(session.scalars(select(User.username).where(org_scope(principal, User.org_unit_id))))
    assert visible == {"lan", "mai"}
    units = set(session.scalars(select(OrgUnit.code).where(org_scope(principal, OrgUnit.id))))
    assert units == {"BHXH-01", "BHXH-01-01"}


def test_ensure_in_scope_refuses_another_province(session, org, make_user):
    officer = make_user("phuong", org.sonla, Role.provincial_officer)
    principal = service.principal_for(session.get(User, officer.id))
    ensure_in_scope(principal, session.get(OrgUnit, org.sonla.id))
    with pytest.raises(PermissionDenied):
        ensure_in_scope(principal, session.get(OrgUnit, org.hanoi.id))
    with pytest.raises(PermissionDenied):
        ensure_in_scope(principal, session.get(OrgUnit, org.national.id))


def test_every_permission_is_refused_in_words_not_by_its_code():
    from ansinh.auth.permissions import PERMISSION_REFUSALS, permission_denied
    from ansinh.i18n import gettext, use_locale

    for permission in Permission:
        error = permission_denied(permission)
        assert error.status_code == 403 and error.params["permission"] == permission.value  # kept for the audit
        assert permission in PERMISSION_REFUSALS
        for locale in ("vi", "en"):
            with use_locale(locale):
                text = error.translated(gettext)
            assert permission.value not in text and "{" not in text
        with use_locale("vi"):
            assert error.translated(gettext) != PERMISSION_REFUSALS[permission]  # translated
