"""Two uses of one reset code at the same moment, on PostgreSQL with real commits: the first sets its password; the
second, which read the code as still unused, waits for the first's row lock and then finds it used: refused, its
password not set."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel, Role, User
from ansinh.auth.reset import service as reset
from ansinh.auth.reset.models import ResetCode
from ansinh.auth.service import principal_for
from tests.auth.conftest import HANOI_CID
from tests.live import fresh_postgres

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
POLICY = auth_service.ThrottlePolicy(5, timedelta(minutes=15))


@pytest.fixture
def issued():
    from ansinh.registry import service as registry
    from ansinh.registry.models import Sex

    with fresh_postgres() as database:
        with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
            national = auth_service.create_org_unit(s, code="VSS", name="VSS", level=OrgLevel.national,
                                                    place_code="VN")
            hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                                 place_code="01", parent=national)
            registry.create_person(s, registry.PersonData(full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 17),
                                                          sex=Sex.male, citizen_id=HANOI_CID), hanoi)
            officer = auth_service.create_user(s, username="officer", password="a long and uncommon passphrase",
                                               full_name="Cán bộ", org_unit=hanoi, roles=[Role.provincial_officer])
            code = reset.issue_reset_code(s, principal_for(officer), HANOI_CID, now=NOW, valid_hours=72).code
        yield database, code


def test_two_uses_of_one_code_at_once_one_wins(issued):
    database, code = issued
    written = threading.Event()
    outcome: list = []

    def run(name: str, password: str, hold: float) -> None:
        try:
            with audit_context(channel="web", actor_username="anonymous"), database.unit_of_work() as s:
                if not hold:
                    written.wait(5)
                reset.use_reset_code(s, HANOI_CID, code, password, ip=f"10.0.0.{len(name)}", policy=POLICY,
                                     now=NOW + timedelta(minutes=1))
                if hold:
                    written.set()
                    time.sleep(hold)  # the row lock held, uncommitted, while the other tries
            outcome.append((name, "set", time.monotonic()))
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted
            written.set()
            outcome.append((name, type(exc).__name__, time.monotonic()))

    threads = [threading.Thread(target=run, args=("first", "violet tractor humming quietly", 0.6)),
               threading.Thread(target=run, args=("second", "orange kettle drifting slowly", 0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted((name, result) for name, result, _ in outcome) == [("first", "set"), ("second", "ResetCodeInvalid")]
    with database.unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == HANOI_CID))
        assert auth_service.verify_password(user.password_hash, "violet tractor humming quietly")
        assert not auth_service.verify_password(user.password_hash, "orange kettle drifting slowly")
        assert s.scalar(select(ResetCode.used_at)) is not None
