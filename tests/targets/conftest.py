"""Users of the targets domain's tests: national, Hà Nội (01) and Sơn La (14) officers, and a supervisor."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansinh.auth.models import Role, User
from ansinh.auth.service import principal_for


@pytest.fixture
def people(session, org, make_user):
    def principal(name, unit, *roles):
        user = make_user(name, unit, *roles)
        return principal_for(session.get(User, user.id))

    return SimpleNamespace(
        national=principal("t-national", org.national, Role.national_officer),
        hanoi=principal("t-hanoi", org.hanoi, Role.provincial_officer),
        sonla=principal("t-sonla", org.sonla, Role.provincial_officer),
        district=principal("t-district", org.hanoi_office, Role.district_officer),
        supervisor=principal("t-supervisor", org.national, Role.supervisor),
        employer=principal("t-employer", org.hanoi, Role.employer),
    )
