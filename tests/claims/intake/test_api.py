"""``/api/v1/claims/files``: a facility sends its file (201, or 422 with every problem in the caller's language, or
200 for the same file again), lists and reads its own; another facility's or province's user is refused and nothing
changes."""

from __future__ import annotations

from sqlalchemy import func, select

from ansinh.auth.models import Role
from ansinh.claims.models import Claim, ClaimFile
from ansinh.synth.claims import Faults, claim_file
from tests.claims.intake.conftest import HANOI, ON, SONLA
from tests.conftest import api_token


def upload(client, headers, data: bytes, name: str = "hoso.xml", **form):
    return client.post("/api/v1/claims/files", headers=headers, files={"file": (name, data, "application/xml")},
                       data=form)


def counted(db) -> tuple[int, int]:
    with db.unit_of_work() as s:
        return (s.scalar(select(func.count()).select_from(ClaimFile)),
                s.scalar(select(func.count()).select_from(Claim)))


def test_a_facility_sends_lists_and_reads_its_files(client, db, org, make_user, intake_world):
    make_user("bv.hadong", org.hanoi, Role.facility, subject_ref=HANOI)
    headers = {**api_token(client, "bv.hadong"), "Accept-Language": "en"}
    data = claim_file(HANOI, intake_world.episodes(3), seed=1, on=ON)
    sent = upload(client, headers, data)
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert (body["accepted"], body["claims"], body["problems"], body["replayed"]) == (True, 3, [], False)
    assert body["lines"] > 3 and body["facility_code"] == HANOI
    again = upload(client, headers, data, name="same.xml")
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["file_id"] == body["file_id"]
    listed = client.get("/api/v1/claims/files", headers=headers)
    assert listed.status_code == 200 and [f["id"] for f in listed.json()] == [body["file_id"]]
    read = client.get(f"/api/v1/claims/files/{body['file_id']}", headers=headers)
    assert read.status_code == 200 and read.json()["claims"] == 3


def test_a_refused_file_answers_422_with_its_problems_in_the_callers_language(client, db, org, make_user,
                                                                              intake_world):
    make_user("bv.hadong", org.hanoi, Role.facility, subject_ref=HANOI)
    token = api_token(client, "bv.hadong")
    bad = claim_file(HANOI, 3, seed=2, on=ON, faults=Faults(values={(1, "MA_BENH_CHINH"): "???"},
                                                            declared_count=4))
    english = upload(client, {**token, "Accept-Language": "en"}, bad)
    assert english.status_code == 422
    body = english.json()
    assert body["accepted"] is False and body["claims"] == 0 and body["lines"] == 0
    assert [{k: p[k] for k in ("table", "row", "field", "reason")} for p in body["problems"]] == [
        {"table": "XML1", "row": 2, "field": "MA_BENH_CHINH", "reason": "Not an ICD-10 code."},
        {"table": None, "row": None, "field": "SOLUONGHOSO",
         "reason": "SOLUONGHOSO says 4 episodes, but the file has 3."}]
    vietnamese = client.get(f"/api/v1/claims/files/{body['file_id']}", headers={**token, "Accept-Language": "vi"})
    assert vietnamese.json()["problems"][0]["reason"] == "Không phải mã ICD-10."
    assert counted(db) == (1, 0)


def test_others_are_refused_and_nothing_changes(client, db, org, make_user, intake_world):
    make_user("bv.hadong", org.hanoi, Role.facility, subject_ref=HANOI)
    make_user("bv.sonla", org.sonla, Role.facility, subject_ref=SONLA)
    make_user("sl.canbo", org.sonla, Role.provincial_officer)
    make_user("nguoidan", org.hanoi, Role.citizen, subject_ref="001090000001")
    sent = upload(client, api_token(client, "bv.hadong"), claim_file(HANOI, 1, seed=3, on=ON)).json()
    before = counted(db)
    data = claim_file(HANOI, 2, seed=4, on=ON)
    assert upload(client, api_token(client, "bv.sonla"), data, facility_code=HANOI).status_code == 403
    assert upload(client, api_token(client, "sl.canbo"), data, facility_code=HANOI).status_code == 403
    assert upload(client, api_token(client, "sl.canbo"), data).status_code == 403  # the envelope's facility
    assert upload(client, api_token(client, "nguoidan"), data).status_code == 403
    assert counted(db) == before
    for who, status in (("bv.sonla", 404), ("sl.canbo", 403), ("nguoidan", 403)):
        assert client.get(f"/api/v1/claims/files/{sent['file_id']}", headers=api_token(client, who)
                          ).status_code == status
    assert client.get("/api/v1/claims/files", headers=api_token(client, "bv.sonla")).json() == []


def test_staff_send_for_a_facility_of_their_province(client, db, org, make_user, intake_world):
    make_user("hn.canbo", org.hanoi, Role.provincial_officer)
    headers = api_token(client, "hn.canbo")
    sent = upload(client, headers, claim_file(HANOI, 2, seed=5, on=ON), facility_code=HANOI)
    assert sent.status_code == 201, sent.text
    assert upload(client, headers, claim_file(HANOI, 2, seed=6, on=ON)).status_code == 201  # from the envelope
    assert upload(client, headers, b"<x/>", facility_code="1").status_code == 422


def test_a_body_above_the_claim_file_limit_is_refused_with_413(db, org, make_user, intake_world, settings):
    from fastapi.testclient import TestClient

    from ansinh.api import create_app

    small = settings.model_copy(update={"claim_file_max_bytes": 4_096})
    make_user("bv.hadong", org.hanoi, Role.facility, subject_ref=HANOI)
    with TestClient(create_app(small, database=db), base_url="http://testserver") as client:
        answer = upload(client, api_token(client, "bv.hadong"), claim_file(HANOI, 20, seed=7, on=ON))
        assert answer.status_code == 413
    assert counted(db) == (0, 0)
