"""Two requests classifying a facility from the same day at once, on PostgreSQL with real commits: the second waits
for the first, then replays it (the same classification) or is refused with a Conflict (another one) — never a
server error, never two rows."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.cards import facilities
from ansinh.cards.models import FacilityClassification
from ansinh.errors import Conflict
from tests.live import fresh_postgres, hanoi_facility

pytestmark = pytest.mark.postgres
FROM_2025 = date(2025, 1, 1)


@pytest.fixture
def database():
    with fresh_postgres() as database:
        hanoi_facility(database, name="Trung tâm Y tế Hà Đông", level="district")
        yield database


@pytest.mark.parametrize(("second_score", "expected"), [(68, "replayed"), (75, Conflict)])
def test_a_classification_of_the_same_day_recorded_meanwhile_is_replayed_or_refused(database, second_score,
                                                                                    expected):
    flushed = threading.Event()
    outcome: list = []

    def first() -> None:
        with audit_context(channel="web", actor_username="first"), database.unit_of_work() as s:
            facilities.classify_facility(s, facilities.get_facility(s, "01001"), valid_from=FROM_2025,
                                         level_2025="basic", score=68)
            flushed.set()
            time.sleep(0.4)  # holds its row uncommitted while the second arrives

    def second() -> None:
        flushed.wait(5)
        try:
            with audit_context(channel="web", actor_username="second"), database.unit_of_work() as s:
                row = facilities.classify_facility(s, facilities.get_facility(s, "01001"), valid_from=FROM_2025,
                                                   level_2025="basic", score=second_score)
                outcome.append(("replayed", row.score))
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted
            outcome.append((exc, None))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    if expected == "replayed":
        assert outcome == [("replayed", 68)]
    else:
        assert isinstance(outcome[0][0], Conflict), outcome
    with database.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(FacilityClassification)) == 1
