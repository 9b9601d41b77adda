"""Correction requests: the citizen files one (never an edit), an officer of the person's province accepts it
(applied through the registry's update, audited) or rejects it with a reason; the citizen gets a notice either way.
Built on the portal's world (tests/portal/conftest.py: An and Bình, citizens of Hà Nội)."""

from datetime import date

import pytest
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import User
from ansinh.auth.service import principal_for
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.registry.corrections import service
from ansinh.registry.models import Person
from tests.conftest import api_token, web_login

DAY = date(2026, 11, 30)
HTML = {"Accept": "text/html"}


def _run(db, username, fn):
    with audit_context(channel="web", actor_username=username), db.unit_of_work() as s:
        return fn(s, principal_for(s.scalar(select(User).where(User.username == username))))


def test_a_request_changes_nothing_until_accepted_then_applies_and_tells_the_citizen(db, pworld):
    request_id = _run(db, "an", lambda s, p: service.file_correction(
        s, p, changes={"address": "Số 5 Hàng Bài, Hoàn Kiếm", "phone": "0912345678", "full_name": "Nguyễn Văn An"},
        note="Sổ hộ khẩu mới", on=DAY).id)
    with db.unit_of_work() as s:
        an = s.get(Person, pworld.an)
        assert an.address is None and an.phone is None  # not edited by the request
    listed = _run(db, "hn.officer", lambda s, p: [(r.id, r.changes) for r, _ in service.open_requests(s, p)[0]])
    # the unchanged name is not asked for
    assert listed == [(request_id, {"address": "Số 5 Hàng Bài, Hoàn Kiếm", "phone": "0912345678"})]
    assert _run(db, "sl.officer", lambda s, p: service.open_requests(s, p)[1]) == 0
    with pytest.raises(NotFound):  # another province's officer
        _run(db, "sl.officer", lambda s, p: service.accept_correction(s, p, request_id, on=DAY))
    with pytest.raises(NotFound):  # a citizen does not resolve, not even their own
        _run(db, "an", lambda s, p: service.accept_correction(s, p, request_id, on=DAY))
    status = _run(db, "hn.officer", lambda s, p: service.accept_correction(s, p, request_id, on=DAY).status.value)
    assert status == "accepted"
    with db.unit_of_work() as s:
        an = s.get(Person, pworld.an)
        assert (an.address, an.phone) == ("Số 5 Hàng Bài, Hoàn Kiếm", "0912345678")
        changed = s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "person",
                                                     AuditEvent.action == "update",
                                                     AuditEvent.actor_username == "hn.officer")).all()
        assert changed and "address" in repr(changed[-1].changes)
    with pytest.raises(Conflict):  # answered once
        _run(db, "hn.officer", lambda s, p: service.reject_correction(s, p, request_id, on=DAY, reason="x"))
    from ansinh.notices.service import list_notices

    with db.unit_of_work() as s:
        notices = list_notices(s, person_id=pworld.an)
        assert [(n.kind, n.params["request_id"]) for n in notices] == [("correction_resolved", request_id)]


def test_a_rejection_needs_a_reason_and_keeps_the_record(db, pworld):
    request_id = _run(db, "binh", lambda s, p: service.file_correction(
        s, p, changes={"date_of_birth": "1992-07-19"}, note=None, on=DAY).id)
    with pytest.raises(Conflict):  # one open request at a time
        _run(db, "binh", lambda s, p: service.file_correction(s, p, changes={"phone": "0900000000"}, note=None,
                                                              on=DAY))
    with pytest.raises(ValidationFailed) as error:
        _run(db, "hn.officer", lambda s, p: service.reject_correction(s, p, request_id, on=DAY, reason="  "))
    assert error.value.field == "reason"
    _run(db, "hn.officer", lambda s, p: service.reject_correction(s, p, request_id, on=DAY,
                                                                  reason="Giấy khai sinh ghi 09/07/1992"))
    with db.unit_of_work() as s:
        assert s.get(Person, pworld.binh).date_of_birth == date(1992, 7, 9)
    mine = _run(db, "binh", lambda s, p: [(r.status.value, r.reason) for r in
                                          service.own_requests(s, s.get(Person, pworld.binh))])
    assert mine == [("rejected", "Giấy khai sinh ghi 09/07/1992")]


def test_bad_values_are_refused_naming_the_field(db, pworld):
    cases = [({"phone": "09-12"}, "phone"), ({"date_of_birth": "1992-13-01"}, "date_of_birth"),
             ({"citizen_id": "001192054322"}, "citizen_id"), ({}, "changes"), ({"full_name": "Trần Thị Bình"}, "changes"),
             ({"sex": "male"}, "sex")]  # the citizen ID encodes the sex: a change must still agree with it
    for changes, field in cases:
        with pytest.raises(ValidationFailed) as error:
            _run(db, "binh", lambda s, p: service.file_correction(s, p, changes=changes, note=None, on=DAY))
        assert error.value.field == field, changes


def test_the_api_and_pages(client, db, pworld):
    headers = api_token(client, "an")
    filed = client.post("/api/v1/me/corrections", headers=headers, json={"ethnicity": "Tày", "note": "CCCD"})
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["id"]
    assert client.get("/api/v1/me/corrections", headers=headers).json()["corrections"][0]["changes"] == {
        "ethnicity": "Tày"}
    assert client.get("/api/v1/me/corrections", headers=api_token(client, "binh")).json()["corrections"] == []
    assert client.get("/api/v1/registry/corrections", headers=headers).status_code == 403
    officer = api_token(client, "hn.officer")
    assert [i["id"] for i in client.get("/api/v1/registry/corrections", headers=officer).json()["items"]] == [
        request_id]
    assert client.post(f"/api/v1/registry/corrections/{request_id}/accept",
                       headers=api_token(client, "sl.officer")).status_code == 404
    web_login(client, "hn.officer")
    page = client.get("/registry/corrections", headers=HTML)
    assert page.status_code == 200 and f'data-testid="correction-{request_id}"' in page.text and "Tày" in page.text
    accepted = client.post(f"/api/v1/registry/corrections/{request_id}/accept", headers=officer)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    client.cookies.clear()
    web_login(client, "an")
    page = client.get("/me/corrections", headers=HTML)
    assert page.status_code == 200 and 'data-testid="correction-form"' in page.text
    notices = client.get("/api/v1/me/notices", headers=headers).json()
    assert notices["unread"] == 1 and notices["notices"][0]["kind"] == "correction_resolved"


def test_the_officer_rejects_on_the_page_with_a_reason(client, db, pworld):
    import re

    headers = api_token(client, "binh")
    request_id = client.post("/api/v1/me/corrections", headers=headers, json={"phone": "0900000002"}).json()["id"]
    web_login(client, "hn.officer")
    page = client.get("/registry/corrections", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    empty = client.post(f"/registry/corrections/{request_id}/reject", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and f'data-testid="error-reason-{request_id}"' in empty.text
    done = client.post(f"/registry/corrections/{request_id}/reject", data={"csrf_token": token, "reason": "Sai"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/registry/corrections?notice=rejected"
    assert client.post(f"/registry/corrections/{request_id}/accept", data={"csrf_token": token}).status_code == 422
    assert client.post(f"/registry/corrections/{request_id}/other", data={"csrf_token": token}).status_code == 404
    answer = client.get("/api/v1/me/corrections", headers=headers).json()["corrections"][0]
    assert (answer["status"], answer["reason"]) == ("rejected", "Sai")
