"""Two imports of one facility's prices at once, on PostgreSQL with real commits: the second waits for the first
(the facility's row lock), then sees its prices — it supersedes them from its own first day, or, for the same file,
changes nothing. Never two prices of an item in force on one day, never the same file recorded twice."""

from __future__ import annotations

import threading
import time
from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.claims.prices import service
from ansinh.claims.prices.models import PriceList
from tests.claims.prices.conftest import csv
from tests.live import fresh_postgres, hanoi_facility

pytestmark = pytest.mark.postgres
FIRST = csv("service,02.1896,Khám Nội,lần,42100,2026-01-01,,", "drug,40.17,Paracetamol 500mg,viên,1200,2026-01-01,,")
SECOND = csv("service,02.1896,Khám Nội,lần,45000,2026-07-01,,")


@pytest.fixture
def database():
    with fresh_postgres() as database:
        hanoi_facility(database, name="Bệnh viện Đa khoa Hà Đông", level="provincial")
        yield database


def _race(database, first: bytes, second: bytes) -> list:
    """The first import holds its transaction open a while after writing; the second starts meanwhile."""
    written = threading.Event()
    outcome: list = []

    def run(content: bytes, name: str, hold: float) -> None:
        try:
            with audit_context(channel="web", actor_username=name), database.unit_of_work() as s:
                if hold:
                    report = service.import_price_list(s, content=content, file_name=f"{name}.csv",
                                                       facility_code="01001", actor=name)
                    written.set()
                    time.sleep(hold)
                else:
                    written.wait(5)
                    report = service.import_price_list(s, content=content, file_name=f"{name}.csv",
                                                       facility_code="01001", actor=name)
            outcome.append((name, report.status, report.superseded, time.monotonic()))
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted
            written.set()
            outcome.append((name, exc, None, time.monotonic()))

    threads = [threading.Thread(target=run, args=(first, "first", 0.6)),
               threading.Thread(target=run, args=(second, "second", 0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return sorted(outcome, key=lambda o: o[3])


def test_a_list_imported_while_another_is_being_imported_supersedes_it(database):
    outcome = _race(database, FIRST, SECOND)
    assert [(name, status, superseded) for name, status, superseded, _ in outcome] == [
        ("first", "applied", 0), ("second", "applied", 1)]
    with database.unit_of_work() as s:
        frame = service.prices_for(s, ["01001"], date(2026, 1, 1), date(2026, 12, 31))
        exam = frame.filter(pl.col("code") == "02.1896").sort("valid_from")
        assert exam.select("price", "valid_from", "in_force_until").rows() == [
            (42_100, date(2026, 1, 1), date(2026, 6, 30)), (45_000, date(2026, 7, 1), None)]
        assert service.price_on(s, "01001", "service", "02.1896", date(2026, 7, 1)).price == 45_000


def test_the_same_file_imported_twice_at_once_is_recorded_once(database):
    outcome = _race(database, FIRST, FIRST)
    assert [(name, status) for name, status, _, _ in outcome] == [("first", "applied"), ("second", "unchanged")]
    with database.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(PriceList)) == 1
