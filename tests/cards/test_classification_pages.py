"""Facilities' classification into the levels of 2025 on the facility page (both languages), in the API (scope: the
office that contracts the facility), and in the facility import (all or nothing, errors by file, row and column)."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ansinh import clock
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.cards import facilities
from ansinh.cards.facility_import import import_facilities
from ansinh.cards.models import FacilityClassification, MedicalFacility
from ansinh.errors import PermissionDenied
from tests.cards.conftest import HTML
from tests.conftest import api_token, web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

FROM_2025 = date(2025, 1, 1)


def _csrf(client) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/", headers=HTML).text).group(1)


def _post(client, url: str, data: dict):
    return client.post(url, data={**data, "csrf_token": _csrf(client)}, headers=HTML, follow_redirects=False)


def _error(text: str, field: str) -> str:
    found = re.search(rf'<small id="error-{re.escape(field)}"[^>]*>([^<]*)</small>', text)
    return found.group(1) if found else ""


def _count(db) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(FacilityClassification))


def _history(db, code: str) -> list[tuple]:
    with db.unit_of_work() as s:
        facility = facilities.get_facility(s, code)
        return [(c.valid_from, c.level_2025.value, c.score, c.provisional, c.health_station, c.decision)
                for c in facilities.facility_classifications(s, facility)]


@pytest.fixture
def hanoi_facilities(db, org, contracted_facility):
    """A district hospital (01001, classified basic with 68 points from 2025) and a commune health station
    (01002, not classified) of Hà Nội, and a Sơn La hospital (14001)."""
    contracted_facility("01001", name="Trung tâm Y tế khu vực Hà Đông", level="district")
    contracted_facility("01002", name="Trạm Y tế Phường Kiến Hưng", level="commune")
    contracted_facility("14001", name="Bệnh viện Đa khoa tỉnh Sơn La", level="provincial", org_unit=org.sonla)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        facilities.classify_facility(s, facilities.get_facility(s, "01001"), valid_from=FROM_2025,
                                     level_2025="basic", score=68, decision="QĐ 12/QĐ-SYT")


# --- the facility page -----------------------------------------------------------------------------------

def test_the_facility_page_shows_the_classification_and_adds_one_in_both_languages(client, db, org, make_user,
                                                                                    hanoi_facilities):
    make_user("canbo", org.hanoi, Role.provincial_officer)
    assert web_login(client, "canbo").status_code == 303
    client.get("/lang/en")
    page = client.get("/cards/facilities/01001", headers=HTML)
    assert page.status_code == 200
    level = re.search(r'data-testid="facility-level-2025">(.*?)</dd>', page.text, re.S).group(1)
    assert "Basic level" in level and "68 points (50 to under 70 points)" in level and "1 Jan 2025" in level
    assert "Level before 2025" in page.text and 'data-classification="2025-01-01"' in page.text
    assert 'data-testid="classification-form"' in page.text and "QĐ 12/QĐ-SYT" in page.text
    station = client.get("/cards/facilities/01002", headers=HTML).text
    assert "Not classified yet" in station and "No classification recorded." in station

    later = (clock.today() + timedelta(days=30)).isoformat()
    refusals = (({"classified_from": later, "level_2025": "basic"}, "score", "has its classification score"),
                ({"classified_from": later, "level_2025": "basic", "score": "abc"}, "score", "whole number"),
                ({"classified_from": later, "level_2025": "specialised", "health_station": "on"}, "health_station",
                 "Only an initial-level facility"),
                ({"classified_from": "2024-06-01", "level_2025": "initial"}, "classified_from", "apply from"),
                ({"classified_from": "2025-01-01", "level_2025": "basic", "score": "70"}, "classified_from",
                 "already has a classification from"),
                ({"classified_from": later}, "level_2025", "A value is required"))
    for data, field, message in refusals:
        refused = _post(client, "/cards/facilities/01001/classifications", data)
        assert refused.status_code == 422, (data, refused.status_code)
        assert message in _error(refused.text, field), (data, _error(refused.text, field))
        assert "<details" in refused.text and 'data-testid="new-classification" open' in refused.text
        assert f'value="{data["classified_from"]}"' in refused.text  # what was typed stays
    assert _count(db) == 1

    done = _post(client, "/cards/facilities/01001/classifications",
                 {"classified_from": later, "level_2025": "basic", "score": "74", "decision": "QĐ 99/QĐ-SYT"})
    assert done.status_code == 303 and done.headers["location"] == "/cards/facilities/01001?done=classified"
    page = client.get(done.headers["location"], headers=HTML).text
    assert "The classification has been recorded." in page and "Not yet in force" in page
    assert "74 points (70 points or more)" in page
    assert _history(db, "01001")[-1] == (date.fromisoformat(later), "basic", 74, False, False, "QĐ 99/QĐ-SYT")

    client.get("/lang/vi")
    added = _post(client, "/cards/facilities/01002/classifications",
                  {"classified_from": "2025-01-01", "level_2025": "initial", "health_station": "on"})
    assert added.status_code == 303
    page = client.get("/cards/facilities/01002", headers=HTML).text
    assert 'lang="vi"' in page and "Cấp ban đầu" in page and "trạm y tế (loại hình <code>1.2</code>)" in page
    assert "từ ngày 01/01/2025" in page and "Tuyến trước năm 2025" in page
    hospital = client.get("/cards/facilities/01001", headers=HTML).text
    assert "68 điểm (từ 50 đến dưới 70 điểm)" in hospital and "74 điểm (từ 70 điểm trở lên)" in hospital
    assert "Chưa có hiệu lực" in hospital and "Cấp cơ bản" in hospital
    refused = _post(client, "/cards/facilities/01002/classifications",
                    {"classified_from": "2025-02-01", "level_2025": "initial", "score": "40"})
    assert refused.status_code == 422 and "Chỉ cơ sở cấp cơ bản mới có điểm phân cấp" in _error(refused.text, "score")
    assert _history(db, "01002") == [(FROM_2025, "initial", None, False, True, None)]


def test_another_provinces_officer_cannot_classify_a_facility_on_its_page(client, db, org, make_user,
                                                                           hanoi_facilities):
    make_user("sonla.cs", org.sonla, Role.provincial_officer)
    assert web_login(client, "sonla.cs").status_code == 303
    assert client.get("/cards/facilities/01001", headers=HTML).status_code == 403
    refused = _post(client, "/cards/facilities/01001/classifications",
                    {"classified_from": "2026-01-01", "level_2025": "specialised"})
    assert refused.status_code == 403 and _count(db) == 1


# --- the API ---------------------------------------------------------------------------------------------

def test_the_api_shows_and_adds_classifications_within_the_offices_scope(client, db, org, make_user,
                                                                         hanoi_facilities):
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    make_user("desk", org.sonla, Role.facility, subject_ref="14001")
    hn, sl, desk = api_token(client, "hn"), api_token(client, "sl"), api_token(client, "desk")
    body = {"valid_from": "2026-07-01", "level_2025": "basic", "score": 71, "decision": "QĐ 5/QĐ-SYT"}
    for outsider in (sl, desk):
        refused = client.post("/api/v1/facilities/01001/classifications", json=body, headers=outsider)
        assert refused.status_code in (403, 404), refused.text
    assert _count(db) == 1
    created = client.post("/api/v1/facilities/01001/classifications", json=body, headers=hn)
    assert created.status_code == 201, created.text
    assert created.json() | {"id": 0} == {"id": 0, "valid_from": "2026-07-01", "level_2025": "basic", "score": 71,
                                          "provisional": False, "health_station": False,
                                          "decision": "QĐ 5/QĐ-SYT"}
    replay = client.post("/api/v1/facilities/01001/classifications", json=body, headers=hn)
    assert replay.status_code == 200 and replay.json()["id"] == created.json()["id"]
    conflict = client.post("/api/v1/facilities/01001/classifications", json=body | {"score": 72}, headers=hn)
    assert conflict.status_code == 409
    for bad, field in (({"score": 101}, "score"), ({"level_2025": "specialised"}, "score"),
                       ({"score": None, "provisional": True, "health_station": True}, "health_station"),
                       ({"valid_from": "2024-12-31"}, "valid_from"), ({"level_2025": "district"}, "level_2025")):
        answer = client.post("/api/v1/facilities/01001/classifications", json=body | bad, headers=hn)
        assert answer.status_code == 422 and field in (answer.json()["error"].get("field") or "") + str(
            answer.json()["error"].get("details")), (bad, answer.text)
    assert _count(db) == 2

    one = client.get("/api/v1/facilities/01001", params={"on": "2026-06-30"}, headers=sl)  # reference data
    assert one.status_code == 200, one.text
    assert one.json()["level"] == "district" and one.json()["classification"]["score"] == 68
    assert [c["valid_from"] for c in one.json()["classifications"]] == ["2025-01-01", "2026-07-01"]
    assert client.get("/api/v1/facilities/01001", params={"on": "2026-07-01"},
                      headers=hn).json()["classification"]["score"] == 71
    assert client.get("/api/v1/facilities/01001", params={"on": "2024-12-31"},
                      headers=hn).json()["classification"] is None
    listed = {f["code"]: f for f in client.get("/api/v1/facilities", params={"on": "2025-03-01"}, headers=hn).json()}
    assert listed["01001"]["classification"]["level_2025"] == "basic" and listed["01002"]["classification"] is None
    assert listed["14001"]["classifications"] == []


# --- the import --------------------------------------------------------------------------------------------

HEADER = "code,name,level,public,level_2025,score,provisional,health_station,classified_from,decision\n"


def _run(db, org, content: str, *, unit=None, principal=None, name: str = "co-so.csv"):
    with audit_context(channel="job", actor_username="test-import"), db.unit_of_work() as s:
        office = s.get(OrgUnit, (unit or org.hanoi).id)
        return import_facilities(s, content=content.encode(), file_name=name, principal=principal, org_unit=office)


def test_the_import_registers_facilities_with_their_classifications_and_replays_as_unchanged(db, org,
                                                                                            hanoi_facilities):
    content = HEADER + (
        "01001,Trung tâm Y tế khu vực Hà Đông,district,,basic,68,,,2025-01-01,QĐ 12/QĐ-SYT\n"  # as recorded
        "01001,Trung tâm Y tế khu vực Hà Đông,district,,cơ bản,73,,,01/07/2026,QĐ 77/QĐ-SYT\n"  # reclassified
        "01020,Trạm Y tế Xã Yên Bài,xã,yes,initial,,,yes,,\n"
        "01021,Phòng khám Đa khoa Tư nhân An Phúc,commune,no,ban đầu,,,no,2025-03-01,\n"
        "01022,Bệnh viện Đa khoa tỉnh Hà Đông,provincial,,specialised,,,,,QĐ 1/QĐ-BYT\n"
        "01023,Trung tâm Y tế Mê Linh,district,,basic,,yes,,,\n"
        "01024,Bệnh viện Chưa Xếp Cấp,district,,,,,,,\n")
    report = _run(db, org, content)
    assert report.status == "applied", report.errors
    assert (report.rows, report.facilities_created, report.classifications_created, report.unchanged) == (7, 5, 5, 1)
    assert _history(db, "01001")[-1] == (date(2026, 7, 1), "basic", 73, False, False, "QĐ 77/QĐ-SYT")
    assert _history(db, "01020") == [(FROM_2025, "initial", None, False, True, None)]
    assert _history(db, "01021") == [(date(2025, 3, 1), "initial", None, False, False, None)]
    assert _history(db, "01023") == [(FROM_2025, "basic", None, True, False, None)]
    assert _history(db, "01024") == []
    with db.unit_of_work() as s:
        clinic = facilities.get_facility(s, "01021")
        assert (clinic.level.value, clinic.public, clinic.province_2025) == ("commune", False, "01")
    again = _run(db, org, content)
    assert again.status == "unchanged" and again.unchanged == 7 and again.errors == []


def test_an_import_with_a_bad_row_names_the_file_row_and_column_and_writes_nothing(db, org, hanoi_facilities):
    before = _count(db)
    content = HEADER + (
        "01030,Trạm Y tế Xã Một,commune,,initial,,,yes,,\n"
        "01031,Trung tâm Y tế Hai,district,,basic,120,,,,\n"  # row 3: score out of range
        "01032,Bệnh viện Ba,provincial,,specialised,,,yes,,\n"  # row 4: a health station is initial
        "01033,Trạm Y tế Bốn,ward,,initial,,,,2024-05-01,\n"  # row 5: level; the date before 2025
        "01030,Trạm Y tế Xã Một,commune,,initial,,,yes,,\n"  # row 6: the same facility and day again
        "14002,Trạm Y tế Sơn La,commune,,initial,,,,,\n"  # row 7: not Hà Nội's province
        "01001,Trung tâm Y tế khu vực Hà Đông,district,,basic,70,,,2025-01-01,QĐ 12/QĐ-SYT\n"  # row 8: differs
        "01035,Trung tâm Y tế Năm,district,,,55,,,,\n")  # row 9: a score without the level
    report = _run(db, org, content, name="co-so-kcb.csv")
    assert report.status == "rejected"
    found = [(e.row, e.column) for e in report.errors]
    assert found == [(3, "score"), (4, "health_station"), (5, "level"), (5, "classified_from"),
                     (6, "classified_from"), (7, "code"), (8, "classified_from"), (9, "level_2025")]
    by_place = {(e.row, e.column): e for e in report.errors}
    assert "from 0 to 100" in by_place[(3, "score")].reason_en and by_place[(3, "score")].value == "120"
    assert "từ 0 đến 100" in by_place[(3, "score")].reason_vi
    assert "row 2" in by_place[(6, "classified_from")].reason_en
    lines = report.error_lines()
    assert lines[0].startswith("co-so-kcb.csv, row 3, score: ") and report.error_lines("vi")[0].startswith(
        "co-so-kcb.csv, dòng 3, score: ")
    assert report.to_json()["error_count"] == 8
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(MedicalFacility).where(
            MedicalFacility.code.in_(["01030", "01031", "01032", "01033", "01035"]))) == 0
    assert _count(db) == before


def test_the_import_refuses_files_and_rows_outside_its_layout_or_scope(db, org, make_user, hanoi_facilities):
    from ansinh.auth.models import User
    from ansinh.auth.service import principal_for

    make_user("sl", org.sonla, Role.provincial_officer)
    missing = _run(db, org, "code,name,kind\n01040,X,commune\n")
    assert [(e.row, e.column) for e in missing.errors] == [(1, "level"), (1, "kind")]
    assert _run(db, org, HEADER).errors[0].reason_en == "The file has no data rows."
    with db.unit_of_work() as s:
        sonla = principal_for(s.scalar(select(User).where(User.username == "sl")))
    content = HEADER + "01001,Trung tâm Y tế khu vực Hà Đông,district,,basic,71,,,2026-01-01,\n"
    report = _run(db, org, content, unit=org.sonla, principal=sonla)
    assert [(e.row, e.column) for e in report.errors] == [(2, "code")]
    assert "outside your scope" in report.errors[0].reason_en
    with pytest.raises(PermissionDenied):  # the office named must be the caller's
        _run(db, org, content, unit=org.hanoi, principal=sonla)
    assert _history(db, "01001") == [(FROM_2025, "basic", 68, False, False, "QĐ 12/QĐ-SYT")]


def test_the_import_over_the_api_and_the_command_line(client, db, org, make_user, hanoi_facilities, tmp_path,
                                                      monkeypatch):
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    content = HEADER + "01050,Trạm Y tế Xã Sáu,commune,,initial,,,yes,,\n"
    files = {"file": ("co-so.csv", content.encode(), "text/csv")}
    refused = client.post("/api/v1/facilities/import", files=files, headers=api_token(client, "sl"))
    assert refused.status_code == 422 and refused.json()["errors"][0]["row"] == 2
    assert refused.json()["errors"][0]["column"] == "code"
    done = client.post("/api/v1/facilities/import", files=files, headers=api_token(client, "hn"))
    assert done.status_code == 201 and done.json()["facilities_created"] == 1, done.text
    assert client.post("/api/v1/facilities/import", files=files, headers=api_token(client, "hn")).status_code == 200
    assert _history(db, "01050") == [(FROM_2025, "initial", None, False, True, None)]

    from typer.testing import CliRunner

    from ansinh.cards.cli import facilities_app

    monkeypatch.setattr("ansinh.db.get_database", lambda: db)
    bad = tmp_path / "co-so-loi.csv"
    bad.write_text(HEADER + "01051,Trạm Y tế Xã Bảy,commune,,initial,,,maybe,,\n", encoding="utf-8")
    result = CliRunner().invoke(facilities_app, ["import", str(bad), "--org-unit", "BHXH-01"])
    assert result.exit_code == 2 and "co-so-loi.csv, row 2, health_station: Write yes or no" in result.output
    good = tmp_path / "co-so.csv"
    good.write_text(HEADER + "01051,Trạm Y tế Xã Bảy,commune,,initial,,,yes,,\n", encoding="utf-8")
    result = CliRunner().invoke(facilities_app, ["import", str(good), "--org-unit", "BHXH-01"])
    assert result.exit_code == 0 and "applied, 1 rows" in result.output, result.output
    assert _history(db, "01051") == [(FROM_2025, "initial", None, False, True, None)]
    result = CliRunner().invoke(facilities_app, ["classify", "--code", "01001", "--level-2025", "basic", "--from",
                                                 "2025-01-01", "--score", "90"])
    assert result.exit_code == 2 and "already has a classification from" in result.output
    result = CliRunner().invoke(facilities_app, ["classify", "--code", "01001", "--level-2025", "specialised",
                                                 "--from", "2025-06-01", "--decision", "QĐ 3/QĐ-BYT"])
    assert result.exit_code == 0 and '"level_2025": "specialised"' in result.output, result.output
    listed = CliRunner().invoke(facilities_app, ["list", "--province", "01"]).output
    assert re.search(r"01001 +district +specialised ", listed) and re.search(r"01002 +commune +- ", listed)
    assert re.search(r"01051 +commune +initial \(1\.2\) ", listed)
