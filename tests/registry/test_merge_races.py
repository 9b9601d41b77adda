"""Merging people under concurrency, on PostgreSQL with real commits and one connection per request: two requests
merging the same duplicate at once merge it once (the second replays), and two requests merging a pair both ways
(A into B, B into A) or one duplicate into two records never both succeed — no cycle, nothing moved twice."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel, Role, User
from ansinh.collection.models import Payment
from ansinh.errors import Conflict
from ansinh.registry import service as registry
from ansinh.registry.models import Person, Sex
from tests.conftest import PASSWORD
from tests.live import fresh_postgres

pytestmark = pytest.mark.postgres
#: How long a merge holds the two rows locked before it goes on: the other request surely arrives meanwhile.
HOLD = 0.4


@pytest.fixture
def world(monkeypatch):
    with fresh_postgres() as database:
        with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
            national = auth_service.create_org_unit(s, code="VSS", name="VSS", level=OrgLevel.national,
                                                    place_code="VN")
            hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                                 place_code="01", parent=national)
            user = auth_service.create_user(s, username="merger", password=PASSWORD, full_name="Cán bộ",
                                            org_unit=hanoi, roles=[Role.provincial_officer])
            people = []
            for index in range(3):
                person = registry.create_person(s, registry.PersonData(
                    full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male), hanoi)
                s.add(Payment(bank_transaction_id=f"VCB-RACE-{index}", paid_on=date(2026, 3, 20), amount=500_000,
                              payer_key=f"P:{person.id}", matched_by="officer", status="matched",
                              org_unit_id=hanoi.id))
                people.append(person.id)
            user_id = user.id
        locked = threading.Event()
        real_lock = registry.lock_people

        def slow_lock(session, rows):  # the first merge to hold the rows keeps them a while
            real_lock(session, rows)
            if not locked.is_set():
                locked.set()
                time.sleep(HOLD)

        monkeypatch.setattr(registry, "lock_people", slow_lock)
        yield database, user_id, people


def _race(database, user_id: int, pairs: list[tuple[int, int]]) -> list:
    """Each (keep, duplicate) merged by its own thread and connection, all released at once: what each returned
    (the MergeResult's ``replayed``) or raised, and how long each took."""
    barrier = threading.Barrier(len(pairs))
    outcomes: list = [None] * len(pairs)

    def merge(index: int, keep: int, duplicate: int) -> None:
        barrier.wait()
        started = time.monotonic()
        try:
            with audit_context(channel="web", actor_username="merger"), database.unit_of_work() as s:
                principal = auth_service.principal_for(s.get(User, user_id))
                result = registry.merge_people(s, principal, keep, duplicate, "Cùng một người")
                outcomes[index] = ("replayed" if result.replayed else "merged", time.monotonic() - started)
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted
            outcomes[index] = (exc, time.monotonic() - started)

    threads = [threading.Thread(target=merge, args=(i, keep, dup)) for i, (keep, dup) in enumerate(pairs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(outcome is not None for outcome in outcomes), outcomes
    # the requests overlapped: one of them waited for the other's locks
    assert max(elapsed for _, elapsed in outcomes) >= HOLD * 0.9, outcomes
    return outcomes


def _state(database, people):
    with database.unit_of_work() as s:
        merged = {pid: s.get(Person, pid).merged_into_id for pid in people}
        payments = {pid: s.scalar(select(func.count()).where(Payment.payer_key == f"P:{pid}")) for pid in people}
        merges = s.scalar(select(func.count()).where(AuditEvent.action == "merge"))
    return merged, payments, merges


def test_the_same_merge_twice_at_once_merges_once(world):
    database, user_id, (a, b, _c) = world
    outcomes = _race(database, user_id, [(a, b), (a, b)])
    assert sorted(kind for kind, _ in outcomes) == ["merged", "replayed"]
    merged, payments, merges = _state(database, [a, b])
    assert merged == {a: None, b: a}
    assert payments == {a: 2, b: 0} and merges == 1


def test_a_pair_merged_both_ways_at_once_merges_one_way(world):
    database, user_id, (a, b, _c) = world
    outcomes = _race(database, user_id, [(a, b), (b, a)])
    kinds = [kind if isinstance(kind, str) else type(kind) for kind, _ in outcomes]
    assert sorted(map(str, kinds)) == sorted(["merged", str(Conflict)]), outcomes
    merged, payments, merges = _state(database, [a, b])
    winner = (a, b) if kinds[0] == "merged" else (b, a)
    assert merged == {winner[0]: None, winner[1]: winner[0]}  # one way, no cycle
    assert payments == {winner[0]: 2, winner[1]: 0} and merges == 1


def test_one_duplicate_merged_into_two_records_at_once_goes_to_one(world):
    database, user_id, (a, b, c) = world
    outcomes = _race(database, user_id, [(a, c), (b, c)])
    kinds = [kind if isinstance(kind, str) else type(kind) for kind, _ in outcomes]
    assert sorted(map(str, kinds)) == sorted(["merged", str(Conflict)]), outcomes
    merged, payments, merges = _state(database, [a, b, c])
    kept = a if kinds[0] == "merged" else b
    assert merged == {a: None, b: None, c: kept}
    assert payments[kept] == 2 and payments[c] == 0 and sum(payments.values()) == 3 and merges == 1
