"""Receiving a claim file, on SQLite and PostgreSQL: accepted or refused as a whole, the same file again changes
nothing, an episode sent again becomes a new version unless it is settled, and who may send and read what."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.auth.models import OrgUnit, Role
from ansinh.claims.intake import service
from ansinh.claims.models import Claim, ClaimAttachment, ClaimFile, ClaimLine
from ansinh.claims.settlement.models import Settlement
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import use_locale
from ansinh.synth.claims import EpisodeSpec, Faults, claim_file
from tests.claims.intake.conftest import HANOI, HANOI_NO_CONTRACT, ON, SONLA


def counts(session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (ClaimFile, Claim, ClaimLine, ClaimAttachment)}


def receive(session, data: bytes, *, principal=None, facility: str | None = HANOI, name: str = "hoso.xml", **kw):
    return service.receive_claim_file(session, content=data, file_name=name, principal=principal,
                                      facility_code=facility, today=ON, **kw)


def principal_of(session, username: str):
    from ansinh.auth import service as auth_service
    from ansinh.auth.models import User

    return auth_service.principal_for(session.scalar(select(User).where(User.username == username)))


def test_an_accepted_file_writes_its_episodes_lines_and_tables(session, intake_world):
    episodes = [EpisodeSpec(patient=intake_world.patient(0), attachments=("XML4", "XML5"), care_type="03", days=2),
                EpisodeSpec(patient=intake_world.patient(1)), EpisodeSpec()]
    report = receive(session, claim_file(HANOI, episodes, seed=1, on=ON))
    assert report.accepted and not report.replayed, report.to_json()
    assert (report.claims, report.problem_count, report.layout, report.created_on) == (3, 0, "130", ON)
    assert counts(session) == {"claim_file": 1, "claim": 3, "claim_line": report.lines, "claim_attachment": 2}
    claims = session.scalars(select(Claim).order_by(Claim.id)).all()
    hanoi = session.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
    assert [c.person_id for c in claims] == [intake_world.people[0]["id"], intake_world.people[1]["id"], None]
    assert {(c.org_unit_id, c.province_2025, c.version, c.status, c.superseded_at) for c in claims} == {
        (hanoi.id, "01", 1, "received", None)}
    first = claims[0]
    line_total, line_count = session.execute(select(func.sum(ClaimLine.hospital_amount), func.count()).where(
        ClaimLine.claim_id == first.id)).one()
    assert first.arrived_at.tzinfo is not None
    assert abs(first.total_hospital - int(line_total)) <= line_count  # each line rounded to the dong, the total once
    assert session.scalar(select(func.count()).select_from(ClaimLine).where(
        ClaimLine.claim_id == first.id, ClaimLine.kind == "bed")) == 1
    row = session.get(ClaimFile, report.file_id)
    assert (row.status, row.claims, row.lines, row.facility_code, row.received_by) == (
        "accepted", 3, report.lines, HANOI, "cli")
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "import", AuditEvent.entity_type == "claim_file")) == 1


def test_each_line_has_its_claims_settlement_month_and_on_postgresql_lands_in_its_partition(session, intake_world):
    from sqlalchemy import text

    from ansinh.ops.partitions import ensure_partitions

    ensure_partitions(session, since=date(2026, 10, 1), through=ON, tables=["claim_line"])
    october = datetime(2026, 10, 30, 9, 0)  # discharged the same day: settled in October
    episodes = [EpisodeSpec(patient=intake_world.patient(0), arrived_at=october), EpisodeSpec(), EpisodeSpec()]
    report = receive(session, claim_file(HANOI, episodes, seed=3, on=ON))
    assert report.accepted, report.to_json()
    rows = session.execute(select(Claim.episode_key, Claim.settlement_year, Claim.settlement_month,
                                  ClaimLine.claim_month).join(ClaimLine, ClaimLine.claim_id == Claim.id)).all()
    assert len(rows) == report.lines
    assert all(month == date(year, number, 1) for _, year, number, month in rows)
    assert {month for *_, month in rows} == {date(2026, 10, 1), date(2026, 11, 1)}
    if session.get_bind().dialect.name == "postgresql":
        where = set(session.execute(select(ClaimLine.claim_month, text("claim_line.tableoid::regclass::text"))))
        assert where == {(date(2026, 10, 1), "claim_line_p202610"), (date(2026, 11, 1), "claim_line_p202611")}


def test_a_file_with_one_bad_episode_is_refused_as_a_whole(session, intake_world):
    data = claim_file(HANOI, intake_world.episodes(6), seed=2, on=ON,
                      faults=Faults(wrong_total={4}, values={(5, "MA_BENH_CHINH"): "không rõ"}))
    report = receive(session, data, chunk_episodes=2)
    assert not report.accepted and report.status == "refused"
    assert counts(session) == {"claim_file": 1, "claim": 0, "claim_line": 0, "claim_attachment": 0}
    assert [(p.row, p.field) for p in report.problems] == [(5, "T_TONGCHI_BV"), (6, "MA_BENH_CHINH")]
    row = session.get(ClaimFile, report.file_id)
    assert (row.status, row.problem_count, len(row.problems), row.layout) == ("refused", 2, 2, "130")
    with use_locale("en"):
        english = report.to_json()
    with use_locale("vi"):
        vietnamese = report.to_json()
    assert english["accepted"] is False and english["claims"] == 0
    assert set(english["problems"][0]) >= {"ma_lk", "table", "row", "field", "reason"}
    assert english["problems"][1]["reason"] == "Not an ICD-10 code."
    assert vietnamese["problems"][1]["reason"] != english["problems"][1]["reason"]


def test_the_same_file_again_answers_its_report_and_changes_nothing(session, intake_world):
    data = claim_file(HANOI, intake_world.episodes(4), seed=3, on=ON)
    first = receive(session, data)
    before = counts(session)
    again = receive(session, data, name="renamed.xml")
    assert again.replayed and again.file_id == first.file_id and again.claims == 4
    assert counts(session) == before
    bad = claim_file(HANOI, 2, seed=4, on=ON, faults=Faults(declared_count=9))
    refused = receive(session, bad)
    assert receive(session, bad).replayed and not refused.accepted
    assert counts(session)["claim_file"] == 2


def test_an_episode_sent_again_before_it_is_settled_becomes_a_new_version(session, intake_world):
    keys = [EpisodeSpec(patient=intake_world.patient(0), ma_lk="LK-A"), EpisodeSpec(ma_lk="LK-B")]
    receive(session, claim_file(HANOI, keys, seed=5, on=ON))
    resent = receive(session, claim_file(HANOI, [EpisodeSpec(patient=intake_world.patient(0), ma_lk="LK-A",
                                                             drugs=4)], seed=6, on=ON))
    assert resent.accepted and resent.resent == 1
    versions = session.execute(select(Claim.episode_key, Claim.version, Claim.superseded_at.is_not(None))
                               .order_by(Claim.episode_key, Claim.version)).all()
    assert versions == [("LK-A", 1, True), ("LK-A", 2, False), ("LK-B", 1, False)]
    assert service.current_claim(session, HANOI, "LK-A").file_id == resent.file_id


def test_an_episode_sent_again_after_it_is_settled_refuses_the_file(session, intake_world):
    """Its month is settled; sent again for an earlier, open month, the old version stays settled: refused."""
    receive(session, claim_file(HANOI, [EpisodeSpec(ma_lk="LK-S"), EpisodeSpec(ma_lk="LK-T")], seed=7, on=ON))
    old = service.current_claim(session, HANOI, "LK-S")
    session.add(Settlement(facility_code=HANOI, org_unit_id=old.org_unit_id, province_2025=old.province_2025,
                           year=old.settlement_year, month=old.settlement_month, claims=2, claimed=0, disallowed=0,
                           accepted=0, advances=0, due=0, settled_on=ON, settled_by="test"))
    session.flush()
    session.expire(old)
    assert old.settled
    earlier = datetime(old.settlement_year, old.settlement_month, 1, 8) - timedelta(days=20)  # the month before
    before = counts(session)
    data = claim_file(HANOI, [EpisodeSpec(ma_lk=f"LK-{n}", care_type="01", arrived_at=earlier) for n in range(5)]
                      + [EpisodeSpec(ma_lk="LK-S", care_type="01", arrived_at=earlier)], seed=8, on=ON)
    report = receive(session, data, chunk_episodes=2)
    assert not report.accepted
    assert [(p.ma_lk, p.table, p.field, p.row) for p in report.problems] == [("LK-S", "XML1", "MA_LK", 6)]
    with use_locale("en"):
        assert report.problems[0].text() == "This episode is already settled: it cannot be sent again."
    after = counts(session)
    assert after == {**before, "claim_file": before["claim_file"] + 1}
    assert session.scalar(select(func.count()).select_from(Claim).where(Claim.superseded_at.is_not(None))) == 0


def test_a_large_file_is_written_a_chunk_at_a_time(session, intake_world):
    report = receive(session, claim_file(HANOI, 45, seed=9, on=ON), chunk_episodes=10)
    assert report.accepted and report.claims == 45
    assert session.scalar(select(func.count(func.distinct(Claim.id)))) == 45


def test_the_size_limit_refuses_a_file_unread(session, intake_world):
    data = claim_file(HANOI, 30, seed=10, on=ON)
    report = receive(session, io.BytesIO(data), max_bytes=20_000)
    assert not report.accepted and [p.params for p in report.problems] == [{"limit": 20_000}]
    assert counts(session)["claim"] == 0


def test_the_facility_is_taken_from_the_envelope_when_not_given(session, intake_world):
    report = receive(session, claim_file(HANOI, 2, seed=11, on=ON), facility=None)
    assert report.accepted and report.facility_code == HANOI
    with pytest.raises(ValidationFailed):
        receive(session, b"not xml at all", facility=None)
    with pytest.raises(NotFound):
        receive(session, claim_file("01999", 1, seed=11, on=ON), facility="01999")


# --- who may send and read --------------------------------------------------------------------------------------

def test_a_facility_sends_only_for_itself_and_with_a_contract(session, db, org, make_user, intake_world):
    make_user("bv.sonla", org.sonla, Role.facility, subject_ref=SONLA)
    make_user("pk.badinh", org.hanoi, Role.facility, subject_ref=HANOI_NO_CONTRACT)
    data = claim_file(HANOI, 2, seed=12, on=ON)
    before = counts(session)
    with pytest.raises(PermissionDenied):
        receive(session, data, principal=principal_of(session, "bv.sonla"), facility=HANOI)
    with pytest.raises(PermissionDenied):
        receive(session, claim_file(HANOI_NO_CONTRACT, 1, seed=12, on=ON),
                principal=principal_of(session, "pk.badinh"), facility=None)
    assert counts(session) == before


def test_a_facility_user_sending_its_own_file(session, org, make_user, intake_world):
    make_user("bv.hadong", org.hanoi, Role.facility, subject_ref=HANOI)
    report = receive(session, claim_file(HANOI, 2, seed=13, on=ON), principal=principal_of(session, "bv.hadong"),
                     facility=None)
    assert report.accepted and report.received_by == "bv.hadong"
    wrong = receive(session, claim_file(SONLA, 1, seed=13, on=ON), principal=principal_of(session, "bv.hadong"),
                    facility=None)
    assert not wrong.accepted and wrong.facility_code == HANOI  # its own facility; the file names another


def test_staff_send_for_the_facilities_of_their_province_only(session, org, make_user, intake_world):
    make_user("hn.canbo", org.hanoi, Role.provincial_officer)
    make_user("sl.canbo", org.sonla, Role.provincial_officer)
    assert receive(session, claim_file(HANOI, 1, seed=14, on=ON), principal=principal_of(session, "hn.canbo")).accepted
    before = counts(session)
    with pytest.raises(PermissionDenied):
        receive(session, claim_file(HANOI, 1, seed=15, on=ON), principal=principal_of(session, "sl.canbo"))
    assert counts(session) == before


def test_reading_a_file_is_scoped_and_audited(session, org, make_user, intake_world):
    make_user("bv.hadong2", org.hanoi, Role.facility, subject_ref=HANOI)
    make_user("bv.sonla2", org.sonla, Role.facility, subject_ref=SONLA)
    make_user("sl.canbo2", org.sonla, Role.provincial_officer)
    make_user("hn.canbo2", org.hanoi, Role.provincial_officer)
    report = receive(session, claim_file(HANOI, 1, seed=16, on=ON))
    own = service.get_claim_file(session, principal_of(session, "bv.hadong2"), report.file_id)
    assert own.id == report.file_id
    assert service.get_claim_file(session, principal_of(session, "hn.canbo2"), report.file_id).id == report.file_id
    with pytest.raises(NotFound):
        service.get_claim_file(session, principal_of(session, "bv.sonla2"), report.file_id)
    with pytest.raises(PermissionDenied):
        service.get_claim_file(session, principal_of(session, "sl.canbo2"), report.file_id)
    reads = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "read", AuditEvent.entity_type == "claim_file"))
    assert reads == 2
    listed = lambda who: session.scalars(service.claim_files_query(principal_of(session, who))).all()  # noqa: E731
    assert [f.id for f in listed("bv.hadong2")] == [report.file_id]
    assert listed("bv.sonla2") == [] and listed("sl.canbo2") == []


def test_received_moments_are_utc(session, intake_world):
    report = receive(session, claim_file(HANOI, 1, seed=17, on=ON))
    assert isinstance(report.received_at, datetime) and report.received_at.utcoffset().total_seconds() == 0
    assert report.created_on == date(2026, 11, 30)
