"""Renewals on the hand-counted world (tests/outreach/more_world.py): who is listed, the notices sent once."""

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.cards import service as cards
from ansinh.notices.models import Notice
from ansinh.outreach import renewals
from tests.outreach.more_world import build

MARCH = date(2026, 3, 1)


@pytest.fixture
def world(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as session:
        w = build(session, org)
        cards.issue_cards(session, on=date(2026, 2, 1))
        return {k: getattr(v, "id", v) for k, v in w.items()} | {"here_code": w["here"].code}


def _listed(listing) -> set[tuple[str, int]]:
    return {(row["kind"], row["person_id"]) for row in listing.rows}


def test_renewals_due_next_month(db, world):
    with db.unit_of_work() as session:
        listing = renewals.renewals_due(session, None, province="01", month=MARCH)
        assert _listed(listing) == {("card", world["ends"]), ("card", world["pupil"]),
                                    ("voluntary", world["vol3"]), ("voluntary", world["vol1"])}
        assert listing.counts() == {"card": 2, "voluntary": 2}
        card = next(r for r in listing.rows if r["person_id"] == world["ends"])
        assert card["ends_on"] == date(2026, 4, 30) and card["card_code"].startswith("GD")
        vol3 = next(r for r in listing.rows if r["person_id"] == world["vol3"])
        assert vol3["ends_on"] == date(2026, 4, 30) and vol3["commune_code"] == world["here_code"]
        here = renewals.renewals_due(session, None, province="01", month=MARCH, commune=world["here_code"])
        assert _listed(here) == {("card", world["ends"]), ("voluntary", world["vol3"])}
        # April's list: vol1 only (monthly); the cycles of vol3 end in July, the cards in May: none
        assert _listed(renewals.renewals_due(session, None, province="01", month=date(2026, 4, 1))) == {
            ("voluntary", world["vol1"])}
        assert _listed(renewals.renewals_due(session, None, province="14", month=MARCH)) == {
            ("voluntary", world["far"])}
        assert renewals.renewals_xlsx(listing).startswith(b"PK")


def test_reminders_are_sent_once(db, world):
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as session:
        listing = renewals.renewals_due(session, None, province="01", month=MARCH)
        assert renewals.send_reminders(session, listing, on=date(2026, 3, 20)) == {"sent": 4, "already": 0}
        assert renewals.send_reminders(session, listing, on=date(2026, 3, 21)) == {"sent": 0, "already": 4}
        kinds = dict(session.execute(select(Notice.kind, func.count()).group_by(Notice.kind)).all())
        assert kinds == {"card_renewal": 2, "voluntary_renewal": 2}
        notice = session.scalar(select(Notice).where(Notice.person_id == world["vol3"]))
        assert notice.params == {"paid_until": "2026-04-30"} and notice.sent_on == date(2026, 3, 20)
