"""Two files re-sending the same episode received at the same time, on PostgreSQL with real commits: the second waits
for the first (the facility's claims lock), then supersedes its version — never two current versions of the episode,
never a server error. And the database holds the rule whatever a caller does: a second current version is refused."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from ansinh.audit.service import audit_context
from ansinh.claims.intake import service
from ansinh.claims.models import Claim
from ansinh.synth.claims import EpisodeSpec, claim_file
from tests.live import fresh_postgres, hanoi_facility

pytestmark = pytest.mark.postgres
ON = date(2026, 11, 30)


@pytest.fixture
def database():
    with fresh_postgres() as database:
        hanoi_facility(database, name="Bệnh viện Hà Đông", level="provincial", contract_from=date(2020, 1, 1))
        with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
            service.receive_claim_file(s, content=claim_file("01001", [EpisodeSpec(ma_lk="LK-1")], seed=1, on=ON),
                                       file_name="first.xml", principal=None, facility_code="01001", today=ON)
        yield database


def test_two_files_resending_an_episode_at_once_leave_one_current_version(database):
    files = [claim_file("01001", [EpisodeSpec(ma_lk="LK-1", drugs=n + 1), EpisodeSpec(ma_lk=f"LK-{n + 10}")],
                        seed=n + 2, on=ON) for n in range(2)]
    started = threading.Barrier(2)
    outcome: list = []

    def send(data: bytes, name: str) -> None:
        try:
            started.wait(5)
            with audit_context(channel="api", actor_username=name), database.unit_of_work() as s:
                report = service.receive_claim_file(s, content=data, file_name=name, principal=None,
                                                    facility_code="01001", today=ON)
                outcome.append((report.accepted, report.resent))
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted
            outcome.append(exc)

    threads = [threading.Thread(target=send, args=(data, f"file-{n}.xml")) for n, data in enumerate(files)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcome, key=repr) == [(True, 1), (True, 1)], outcome
    with database.unit_of_work() as s:
        versions = s.execute(select(Claim.version, Claim.superseded_at.is_(None)).where(
            Claim.episode_key == "LK-1").order_by(Claim.version)).all()
    assert versions == [(1, False), (2, False), (3, True)]


def test_the_database_refuses_a_second_current_version(database):
    with database.unit_of_work() as s:
        current = s.scalar(select(Claim).where(Claim.episode_key == "LK-1"))
        columns = [c.name for c in Claim.__table__.columns if c.name not in ("id", "version")]
        with pytest.raises(IntegrityError):
            s.execute(text(f"INSERT INTO claim ({', '.join(columns)}, version) SELECT {', '.join(columns)}, 2 "
                           "FROM claim WHERE id = :id"), {"id": current.id})
        s.rollback()
