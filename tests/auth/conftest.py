"""Fixtures of the sign-in with a second factor and of the reset through the office: a registered person of Hà Nội,
an app whose settings require a second factor of citizens, and helpers to read the secret from a page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from ansinh.api import create_app
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.config import Settings

#: Citizen IDs of 12 digits: province 001, century-and-sex digit, year, serial.
HANOI_CID = "001090000017"
SONLA_CID = "014085000023"


@pytest.fixture
def person(db, org):
    """Nguyễn Văn An of Hà Nội, registered, without an account."""
    from ansinh.registry import service as registry
    from ansinh.registry.models import Sex

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        found = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 17), sex=Sex.male, citizen_id=HANOI_CID),
            s.get(OrgUnit, org.hanoi.id))
        return found.id


@pytest.fixture
def strict_client(db, tmp_path) -> Iterator[TestClient]:
    """An app whose citizens must sign in with a second factor (as in production)."""
    settings = Settings(env="test", var_dir=tmp_path / "strict", secret_key="s" * 48, database_url="sqlite://",
                        login_max_failures=3, login_window_minutes=15, lookup_log_flush_ms=0,
                        second_factor_roles=["citizen"])
    with TestClient(create_app(settings, database=db), base_url="http://testserver") as client:
        yield client


def secret_on(html: str) -> str:
    """The secret of the authenticator app as the enrolment page shows it."""
    found = re.search(r'data-secret="([A-Z2-7]+)"', html)
    assert found, "no secret on the page"
    return found.group(1)


def csrf_on(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', html).group(1)
