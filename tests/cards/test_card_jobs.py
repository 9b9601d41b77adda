"""Card issuance as a job of province × chunk tasks: the same cards as one whole run, a province's job touches its
province only, a chunk done again changes nothing, bad parameters are refused."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from ansinh.auth.models import OrgUnit
from ansinh.cards import service
from ansinh.cards.card_jobs import issue_chunk
from ansinh.cards.models import HICard
from ansinh.errors import ValidationFailed
from ansinh.jobs.models import Job, JobChunk
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from tests.conftest import job_unit
from tests.jobs.test_service import start

ON = date(2026, 11, 22)


@pytest.fixture
def people(db, org):
    """Three children covered by the State budget in Hà Nội, one in Sơn La."""
    ids = {}
    with job_unit(db) as s:
        for name, unit_id, citizen_id in (("Nguyễn Minh Châu", org.hanoi.id, "001323012347"),
                                          ("Trần Gia Bảo", org.hanoi.id, "001323012348"),
                                          ("Lê Thu Hà", org.hanoi.id, "001323012349"),
                                          ("Lò Văn Páo", org.sonla.id, "014323012340")):
            unit = s.get(OrgUnit, unit_id)
            child = registry.create_person(s, registry.PersonData(
                full_name=name, date_of_birth=date(2023, 8, 1), sex=Sex.female, citizen_id=citizen_id), unit)
            participation.enrol_state_budget(s, group="TE", people=[child], start=date(2023, 8, 1),
                                             end=date(2029, 8, 1), org_unit=unit)
            ids[name] = (child.id, child.province_2025)
    return ids


def _cards(db) -> dict[int, str]:
    with db.unit_of_work() as s:
        return dict(s.execute(select(HICard.person_id, HICard.card_code).where(HICard.superseded_at.is_(None))).all())


def test_a_provinces_job_issues_its_cards_in_chunks_as_one_run_would(db, people):
    hanoi = {pid for pid, province in people.values() if province == "01"}
    job = start(db, "card_issue", {"on": ON.isoformat(), "province": "01", "chunks": "2"})
    assert job.status == "completed"
    with db.unit_of_work() as s:
        chunks = dict(s.execute(select(JobChunk.chunk, JobChunk.status).where(JobChunk.job_id == job.id)).all())
    assert chunks == {"01:0": "done", "01:1": "done"}
    cards = _cards(db)
    assert set(cards) == hanoi  # Sơn La's child has no card: another province's people are not touched
    assert job.result == {"on": ON.isoformat(), "cards_in_force": 3, "issued_by_this_job": 3}
    # a whole run afterwards finds the Hà Nội cards unchanged: the chunks gave the same cards
    with job_unit(db) as s:
        assert service.issue_cards(s, on=ON) == {"issued": 1, "unchanged": 3, "superseded": 0}
        # a chunk delivered again (its worker died after it committed) changes nothing
        again = s.get(Job, job.id)
        issue_chunk(s, again, "01:1")
    assert {pid: code for pid, code in _cards(db).items() if pid in hanoi} == cards


@pytest.mark.parametrize("params, field", [({"on": "2026-13-01"}, "on"), ({"province": "Hà Nội"}, "province"),
                                           ({"chunks": "0"}, "chunks"), ({"chunks": "many"}, "chunks")])
def test_bad_parameters_are_refused(db, params, field):
    with pytest.raises(ValidationFailed) as refused:
        start(db, "card_issue", {"on": ON.isoformat(), **params})
    assert refused.value.field == field
