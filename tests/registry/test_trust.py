"""Trust in the registry (issue 10), on SQLite and PostgreSQL: bounded input in bodies, services and files; lists of
people audited as one event naming the records returned; the scope of every route that takes a record id; idempotent
creation; imports off the event loop."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ansinh import clock
from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.bounds import MAX_AMOUNT, MAX_ID
from ansinh.errors import ValidationFailed
from ansinh.participation import service as participation
from ansinh.participation.models import CoveragePeriod, Declaration
from ansinh.registry import imports
from ansinh.registry import service as registry
from ansinh.registry.models import Employer, Household, ImportBatch, Ownership, Person, PopulationFigure, Sex
from tests.conftest import api_token
from tests.registry.test_imports import PEOPLE, PEOPLE_HEADER, cid, csv_bytes, xlsx_bytes

HANOI_PERSON = {"full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-01", "sex": "male",
                "citizen_id": "001090012345", "org_unit_code": "BHXH-01"}


def error_field(response) -> str | None:
    """The field a 422 names: a domain error's ``field``, or the first detail of a schema error."""
    error = response.json()["error"]
    return error.get("field") or (error.get("details") or [{}])[0].get("field")


def _principal(session, username: str):
    return auth_service.principal_for(session.scalar(select(User).where(User.username == username)))


@pytest.fixture
def people(db, org):
    """Two people of Hà Nội (a household of two), one of Sơn La; an employer of each; a declaration."""
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        an = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id="001090012345",
            address="12 Phố Đội Cấn"), hanoi)
        binh = registry.create_person(s, registry.PersonData(
            full_name="Trần Thị Bình", date_of_birth=date(1992, 3, 1), sex=Sex.female, citizen_id="001192012346"),
            hanoi)
        registry.create_household(s, head=an, members=[binh], org_unit=hanoi)
        dung = registry.create_person(s, registry.PersonData(
            full_name="Lò Thị Dung", date_of_birth=date(1995, 1, 1), sex=Sex.female, citizen_id="014195012349"),
            sonla)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        other = registry.create_employer(s, registry.EmployerData(
            tax_code="0300588569", name="Công ty Sơn La", ownership=Ownership.private, region="III"), sonla)
        participation.apply_declaration(s, employer=employer, person=an, kind="join", effective_month=date(2025, 1, 1),
                                        insured_salary=10_000_000, submitted_by="test", today=date(2025, 1, 10))
        return {"an": an.id, "binh": binh.id, "dung": dung.id, "household": an.household_id,
                "employer": employer.id, "other_employer": other.id, "an_si": an.si_number}


@pytest.fixture
def users(client, org, make_user):
    """Tokens of a Hà Nội officer, a Sơn La officer, the administrator, an employer user of Sơn La's employer, a
    citizen and a facility user."""
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    make_user("admin", org.national, Role.administrator)
    make_user("other.boss", org.sonla, Role.employer, subject_ref="0300588569")
    make_user("citizen", org.sonla, Role.citizen, subject_ref="014195012349")
    make_user("clinic", org.sonla, Role.facility, subject_ref="14001")
    return {name: api_token(client, name) for name in ("hn", "sl", "admin", "other.boss", "citizen", "clinic")}


# --- 1. bounded input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["sex", "date_of_birth", "full_name"])
def test_a_patch_cannot_empty_a_name_a_birth_date_or_a_sex(client, users, people, db, field):
    response = client.patch(f"/api/v1/people/{people['an']}", json={field: None}, headers=users["hn"])
    assert response.status_code == 422, response.text
    assert error_field(response) == field
    with db.unit_of_work() as s:
        person = s.get(Person, people["an"])
        assert (person.full_name, person.date_of_birth, person.sex) == ("Nguyễn Văn An", date(1990, 5, 1), Sex.male)


def test_the_service_refuses_to_empty_required_fields_too(session, org, make_user, people):
    make_user("hn.svc", org.hanoi, Role.provincial_officer)
    principal = _principal(session, "hn.svc")
    for field in ("sex", "date_of_birth", "full_name"):
        with pytest.raises(ValidationFailed) as refused:
            registry.update_person(session, principal, people["an"], {field: None})
        assert refused.value.field == field


@pytest.mark.parametrize("method, url, body, field", [
    ("patch", "/api/v1/people/{an}", {"residence_place_id": MAX_ID + 1}, "residence_place_id"),
    ("post", "/api/v1/people", {**HANOI_PERSON, "citizen_id": None, "residence_place_id": 2**70},
     "residence_place_id"),
    ("post", "/api/v1/households", {"head_person_id": MAX_ID + 1}, "head_person_id"),
    ("post", "/api/v1/households", {"head_person_id": 1, "member_person_ids": [2**64]}, "member_person_ids.0"),
    ("post", "/api/v1/employers", {"tax_code": "0100100079", "name": "X", "ownership": "private", "region": "I",
                                   "org_unit_code": "BHXH-01", "place_id": 2**63}, "place_id"),
    ("patch", "/api/v1/people/{an}", {"ethnicity": "x" * 41}, "ethnicity"),
    ("patch", "/api/v1/people/{an}", {"address": "x" * 301}, "address"),
    ("patch", "/api/v1/people/{an}", {"phone": "1" * 21}, "phone"),
    ("post", "/api/v1/people", {**HANOI_PERSON, "citizen_id": None, "date_of_birth": "1661-01-01"},
     "date_of_birth"),
    ("post", "/api/v1/employers", {"tax_code": "0100100079", "name": "X", "ownership": "private", "region": "I",
                                   "org_unit_code": "BHXH-01", "contact_name": "x" * 121}, "contact_name"),
])
def test_values_out_of_range_in_bodies_are_refused_naming_the_field(client, users, people, db, method, url, body,
                                                                   field):
    def counts():
        with db.unit_of_work() as s:
            return [s.scalar(select(func.count()).select_from(t)) for t in (Person, Household, Employer)]

    before = counts()
    response = getattr(client, method)(url.format(**people), json=body, headers=users["hn"])
    assert response.status_code == 422, response.text
    assert error_field(response) == field
    assert counts() == before


@pytest.mark.parametrize("url", ["/api/v1/people?offset=-1", "/api/v1/people?offset=99999999999",
                                 "/api/v1/people?limit=501", f"/api/v1/people?q={'a' * 121}",
                                 "/api/v1/people/lookup?citizen_id=0010900123450", "/api/v1/employers?offset=-5",
                                 "/registry/people?page=0", "/registry/people?page=99999999999999999999"])
def test_queries_out_of_range_are_refused(client, users, url):
    assert client.get(url, headers=users["hn"]).status_code == 422


def test_a_date_of_birth_after_today_is_refused(client, users):
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    response = client.post("/api/v1/people", json={**HANOI_PERSON, "citizen_id": None, "date_of_birth": tomorrow},
                           headers=users["hn"])
    assert response.status_code == 422 and error_field(response) == "date_of_birth"


@pytest.mark.parametrize("change, field", [
    ({"date_of_birth": date(1899, 12, 31)}, "date_of_birth"),
    ({"date_of_birth": None}, "date_of_birth"),
    ({"sex": None}, "sex"),
    ({"sex": "other"}, "sex"),
    ({"full_name": "Nguyễn\x00Văn An"}, "full_name"),
    ({"address": "12\x00 Đội Cấn"}, "address"),
    ({"ethnicity": "K" * 41}, "ethnicity"),
    ({"address": "x" * 301}, "address"),
    ({"phone": "0" * 21}, "phone"),
    ({"residence_place_id": MAX_ID + 1}, "residence_place_id"),
    ({"residence_place_id": 0}, "residence_place_id"),
])
def test_the_person_service_checks_the_bounds_for_the_cli_and_the_imports(change, field):
    data = registry.PersonData(**{"full_name": "Nguyễn Văn An", "date_of_birth": date(1990, 5, 1), "sex": Sex.male,
                                  **change})
    with pytest.raises(ValidationFailed) as refused:
        registry.validate_person(data)
    assert refused.value.field == field


@pytest.mark.parametrize("change, field", [
    ({"name": "Công ty\x00"}, "name"), ({"contact_name": "x" * 121}, "contact_name"),
    ({"address": "x" * 301}, "address"), ({"phone": "0" * 21}, "phone"), ({"email": "a@" + "b" * 260}, "email"),
    ({"place_id": 2**64}, "place_id"), ({"tax_code": "0100109106\x00"}, "tax_code"),
])
def test_the_employer_service_checks_the_bounds(change, field):
    data = registry.EmployerData(**{"tax_code": "0100109106", "name": "Công ty An Bình", "ownership": "private",
                                    "region": "I", **change})
    with pytest.raises(ValidationFailed) as refused:
        registry.validate_employer(data)
    assert refused.value.field == field


def test_a_household_address_longer_than_its_column_is_refused_by_the_service(session, org, people):
    dung = session.get(Person, people["dung"])
    with pytest.raises(ValidationFailed) as refused:
        registry.create_household(session, head=dung, org_unit=session.get(OrgUnit, org.sonla.id), address="x" * 301)
    assert refused.value.field == "address" and session.get(Person, people["dung"]).household_id is None


# --- files: control characters, amounts, dates -------------------------------------------------------------------

def _rows_with(column: int, value: str) -> list[list[str]]:
    rows = [list(r) for r in PEOPLE]
    rows[1][column] = value
    return rows


@pytest.mark.parametrize("make, name", [(csv_bytes, "people.csv"), (xlsx_bytes, "people.xlsx")])
@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\x7f"])
def test_control_characters_in_a_file_are_refused_naming_the_row_and_column(session, org, make, name, character):
    content = make(PEOPLE_HEADER, _rows_with(1, f"Trần Thị{character}Bình"))
    report = imports.import_file(session, kind="people", content=content, file_name=name,
                                 principal_or_context="tester", org_unit=org.hanoi, today=date(2025, 9, 15))
    assert report.status == "rejected"
    assert [(e.row, e.column) for e in report.errors] == [(3, "full_name")]
    assert report.errors[0].value == f"Trần Thị\\x{ord(character):02x}Bình"  # shown, not carried into the report
    assert "control characters" in report.errors[0].reason_en and "ký tự điều khiển" in report.errors[0].reason_vi
    assert "\x00" not in str(report.to_json()) and report.to_xlsx()[:2] == b"PK"
    assert session.scalar(select(func.count()).select_from(Person)) == 0


def test_read_table_names_every_cell_and_header_with_control_characters():
    content = b"citizen_id,full\x00name\n001090012345,ok\n001090012346,a\x02b\n\n001090012347,c\x03d\n"
    with pytest.raises(imports.FileProblem) as problem:
        imports.read_table(content, "x.csv")
    assert [(e.row, e.column, e.value) for e in problem.value.errors] == [
        (1, "full\\x00name", "full\\x00name"), (3, "full\\x00name", "a\\x02b"), (5, "full\\x00name", "c\\x03d")]


def test_tabs_and_line_breaks_inside_a_cell_are_text_not_control_characters():
    frame = imports.read_table(b'a,b\n"x\ty","line one\nline two"\n', "x.csv")
    assert frame.row(0) == ("x\ty", "line one\nline two")


def test_a_file_with_a_nul_byte_uploaded_through_the_api_is_refused_with_the_row_and_column(client, users):
    content = csv_bytes(PEOPLE_HEADER, _rows_with(6, "12\x00 Đội Cấn"))
    response = client.post("/api/v1/imports/people", files={"file": ("people.csv", content, "text/csv")},
                           data={"org_unit_code": "BHXH-01"}, headers=users["hn"])
    assert response.status_code == 422, response.text
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(3, "address")]


def test_amounts_years_and_dates_in_files_are_bounded(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    registry.create_employer(session, registry.EmployerData(
        tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
    registry.create_person(session, registry.PersonData(
        full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id="001090012345"), hanoi)
    header = ["employer_tax_code", "citizen_id", "kind", "effective_month", "insured_salary"]
    huge = imports.import_file(session, kind="declarations", content=csv_bytes(header, [
        ["0100109106", "001090012345", "join", "2025-01", str(MAX_AMOUNT + 1)],
        ["0100109106", "001090012345", "join", "2025-02", "9223372036854775808"]]), file_name="d.csv",
        principal_or_context="tester", org_unit=org.hanoi, today=date(2025, 9, 15))
    assert [(e.row, e.column) for e in huge.errors] == [(2, "insured_salary"), (3, "insured_salary")]
    old = imports.import_file(session, kind="declarations", content=csv_bytes(header, [
        ["0100109106", "001090012345", "join", "1661-01", "10000000"]]), file_name="old.csv",
        principal_or_context="tester", org_unit=org.hanoi, today=date(2025, 9, 15))
    assert [(e.row, e.column) for e in old.errors] == [(2, "effective_month")]
    figures = imports.import_file(session, kind="population_figures", content=csv_bytes(
        ["province_code", "year", "population", "working_age_population"],
        [["01", "1661", "8700000", "5600000"], ["01", "2025", str(10**15), "5600000"],
         ["01", str(clock.today().year + 11), "8700000", "5600000"]]),
        file_name="f.csv", principal_or_context="tester", org_unit=org.hanoi, today=clock.today())
    assert [(e.row, e.column) for e in figures.errors if e.column != "province_code"] == [  # places not loaded
        (2, "year"), (3, "population"), (4, "year")]
    born = imports.import_file(session, kind="people", content=csv_bytes(PEOPLE_HEADER, [
        [cid("1899-12-31", "male", 1)[:3] + "8" + cid("1899-12-31", "male", 1)[4:], "Cụ Ông", "1899-12-31", "male",
         "", "00004", "", ""]]), file_name="p.csv", principal_or_context="tester", org_unit=org.hanoi,
        today=date(2025, 9, 15))
    assert ("date_of_birth", "The date of birth is not plausible (after today or before 1900).") in [
        (e.column, e.reason_en) for e in born.errors]
    assert session.scalar(select(func.count()).select_from(Declaration)) == 0
    assert session.scalar(select(func.count()).select_from(PopulationFigure)) == 0


# --- 2. lookups and searches within scope -----------------------------------------------------------------------

def test_lookups_and_searches_stay_within_the_scope(client, users, people, db):
    for params in ({"citizen_id": "001090012345"}, {"si_number": people["an_si"]}):
        # another province's officer learns nothing, not even that the identifier is registered
        assert client.get("/api/v1/people/lookup", params=params, headers=users["sl"]).status_code == 404
        assert client.get("/api/v1/people/lookup", params=params, headers=users["hn"]).json()["id"] == people["an"]
    for q in ("001090012345", people["an_si"], "nguyen van an"):
        found = client.get("/api/v1/people", params={"q": q}, headers=users["sl"]).json()
        assert found["total"] == 0 and found["items"] == []
    for name in ("other.boss", "citizen", "clinic"):
        assert client.get("/api/v1/people", params={"q": "nguyen"}, headers=users[name]).status_code == 403
        assert client.get("/api/v1/people/lookup", params={"citizen_id": "001090012345"},
                          headers=users[name]).status_code == 403
    with db.unit_of_work() as s:
        reads = s.scalars(select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.actor_username == "sl"))
        assert list(reads) == []  # refused lookups read nothing


# --- 3. lists and exports of people: one audit event naming the records ------------------------------------------

def _list_events(db, actor: str) -> list[AuditEvent]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action.in_(("list", "export")),
                                                      AuditEvent.actor_username == actor).order_by(AuditEvent.id)))


def test_a_people_list_writes_one_audit_event_naming_the_records_returned(client, users, db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        for n in range(120):
            registry.create_person(s, registry.PersonData(full_name=f"Nguyễn Văn Thử {n:03d}",
                                                          date_of_birth=date(1980, 1, 1), sex=Sex.male), hanoi)
    response = client.get("/api/v1/people", params={"q": "nguyen van thu", "limit": 100}, headers=users["hn"])
    assert response.status_code == 200 and response.json()["total"] == 120
    returned = response.json()["items"]
    [event] = _list_events(db, "hn")
    assert event.entity_type == "person" and event.channel == "api"
    assert event.changes["person_ids"] == [p["id"] for p in returned]
    assert event.changes["si_numbers"] == [p["si_number"] for p in returned]
    assert event.changes["count"] == 100 and event.changes["total"] == 120
    assert event.changes["query"] == {"q": "nguyen van thu", "limit": 100, "offset": 0}
    assert event.org_unit_id == org.hanoi.id
    client.get("/api/v1/people", params={"q": "nguyen van thu", "offset": 100}, headers=users["hn"])
    assert len(_list_events(db, "hn")) == 2  # one per answer, whatever its size


def test_every_list_that_returns_people_is_audited_once(client, users, people, db, make_user, org):
    make_user("hn.web", org.hanoi, Role.provincial_officer)
    headers = users["hn"]
    client.get("/registry/people", params={"q": "tran"}, headers=headers)
    client.get(f"/registry/people/{people['an']}", headers=headers)  # the household's members
    client.get(f"/registry/employers/{people['employer']}", headers=headers)  # the workers
    client.get(f"/api/v1/employers/{people['employer']}/declarations", headers=headers)
    events = _list_events(db, "hn")
    assert [e.changes["what"] for e in events] == ["search", "household_members", "employer_workers",
                                                  "employer_declarations"]
    assert events[0].changes["person_ids"] == [people["binh"]] and events[0].changes["query"]["q"] == "tran"
    assert sorted(events[1].changes["person_ids"]) == sorted([people["an"], people["binh"]])
    assert events[2].changes["person_ids"] == [people["an"]] and events[3].changes["person_ids"] == [people["an"]]
    assert all(e.channel == "web" for e in events[:3])


def test_the_members_of_a_new_household_are_audited_as_one_list(client, users, db, org):
    hanoi = users["hn"]
    a = client.post("/api/v1/people", json=HANOI_PERSON, headers=hanoi).json()
    b = client.post("/api/v1/people", json={**HANOI_PERSON, "full_name": "Trần Thị Bình", "sex": "female",
                                            "citizen_id": "001192012346", "date_of_birth": "1992-03-01"}, headers=hanoi).json()
    made = client.post("/api/v1/households", json={"head_person_id": a["id"], "member_person_ids": [b["id"]],
                                                   "org_unit_code": "BHXH-01"}, headers=hanoi)
    assert made.status_code == 201, made.text
    [event] = _list_events(db, "hn")
    assert event.changes["what"] == "household_members"
    assert sorted(event.changes["person_ids"]) == sorted([a["id"], b["id"]])
    assert sorted(event.changes["si_numbers"]) == sorted([a["si_number"], b["si_number"]])


# --- 4. scope of every route that takes an id ---------------------------------------------------------------------

def _state(db, people) -> tuple:
    with db.unit_of_work() as s:
        counts = tuple(s.scalar(select(func.count()).select_from(t))
                       for t in (Person, Household, Employer, Declaration, CoveragePeriod, ImportBatch))
        an = s.get(Person, people["an"])
        return counts, (an.full_name, an.phone, an.address, an.household_id, an.residence_place_id)


ROUTES = [
    ("get", "/api/v1/people/{an}", None),
    ("patch", "/api/v1/people/{an}", {"phone": "0999999999"}),
    ("get", "/api/v1/people/{an}/coverage", None),
    ("get", "/api/v1/people/lookup?citizen_id=001090012345", None),
    ("get", "/api/v1/employers/{employer}", None),
    ("get", "/api/v1/employers/{employer}/declarations", None),
    ("post", "/api/v1/households", {"head_person_id": "{an}", "org_unit_code": "BHXH-14"}),
    ("post", "/api/v1/households", {"head_person_id": "{dung}", "member_person_ids": ["{an}"]}),
    ("post", "/api/v1/declarations", {"employer_tax_code": "0100109106", "citizen_id": "001090012345",
                                      "kind": "leave", "effective_month": "2025-06-01"}),
    ("post", "/api/v1/enrolments/voluntary", {"person_id": "{an}", "income": 3000000, "start": "2025-07-01"}),
    ("post", "/api/v1/enrolments/household-hi", {"household_id": "{household}", "member_person_ids": ["{binh}"],
                                                 "start": "2025-07-01", "months": 12}),
    ("post", "/api/v1/enrolments/state-budget", {"group": "TE", "person_ids": ["{binh}"], "start": "2025-01-01",
                                                 "end": "2026-01-01"}),
    ("get", "/api/v1/imports/population/{batch}/sync", None),
    ("get", "/api/v1/participation/summary?province=01", None),
    ("get", "/registry/people/{an}", None),
    ("get", "/registry/employers/{employer}", None),
    ("get", "/participation/declarations/new?employer_id={employer}", None),
    ("post-form", "/participation/declarations/check", {"employer_id": "{employer}", "person_ref": "001090012345",
                                                        "kind": "leave", "month": "2025-06"}),
    ("post-form", "/participation/declarations", {"employer_id": "{employer}", "person_ref": "001090012345",
                                                  "kind": "leave", "month": "2025-06"}),
    ("get", "/participation/summary?province=01", None),
    ("get", "/registry/imports/reports/{token}.xlsx", None),
]


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.fixture
def hanoi_records(client, users, people):
    """People's records of Hà Nội, with a population import of Hà Nội and a kept error report of its officer."""
    extract = csv_bytes(["citizen_id", "full_name", "date_of_birth", "sex"],
                        [["001090012345", "Nguyễn Văn Ân", "1990-05-01", "male"]])
    batch = client.post("/api/v1/imports/population", files={"file": ("dan-cu.csv", extract, "text/csv")},
                        data={"org_unit_code": "BHXH-01"}, headers=users["hn"])
    assert batch.status_code == 201, batch.text
    bad = csv_bytes(PEOPLE_HEADER, [["123", "", "", "", "", "", "", ""]])
    page = client.post("/registry/imports", data={"kind": "people", "org_unit_code": "BHXH-01"},
                       files={"file": ("bad.csv", bad, "text/csv")}, headers=users["hn"])
    token = re.search(r"/registry/imports/reports/([A-Za-z0-9_-]+)\.xlsx", page.text).group(1)
    assert client.get(f"/registry/imports/reports/{token}.xlsx", headers=users["hn"]).status_code == 200
    return {**people, "batch": batch.json()["batch_id"], "token": token}


@pytest.mark.parametrize("user", ["sl", "other.boss", "citizen", "clinic"])
def test_users_of_another_province_employer_person_or_facility_get_403_or_404_and_change_nothing(
        client, users, hanoi_records, db, user):
    before = _state(db, hanoi_records)
    answers = {}
    for method, url, body in ROUTES:
        target = _fill(url, hanoi_records)
        if method == "post-form":
            response = client.post(target, data=_fill(body, hanoi_records), headers=users[user])
        elif body is not None:
            response = getattr(client, method)(target, json=_fill(body, hanoi_records), headers=users[user])
        else:
            response = getattr(client, method)(target, headers=users[user])
        answers[f"{method} {url}"] = response.status_code
    allowed = [route for route, code in answers.items() if code not in (403, 404)]
    assert allowed == [], {route: answers[route] for route in allowed}
    assert _state(db, hanoi_records) == before


def test_the_officer_of_the_province_reads_what_the_others_may_not(client, users, hanoi_records):
    for method, url, _body in ROUTES:
        if method == "get":
            response = client.get(_fill(url, hanoi_records), headers=users["hn"])
            assert response.status_code == 200, (url, response.text[:300])


# --- 6. idempotent creation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, body", [
    ("/api/v1/people", HANOI_PERSON),
    ("/api/v1/employers", {"tax_code": "0100109106", "name": "Công ty An Bình", "ownership": "private",
                           "region": "I", "org_unit_code": "BHXH-01"}),
])
def test_creating_twice_with_one_idempotency_key_creates_once(client, users, db, url, body):
    headers = {**users["hn"], "Idempotency-Key": "registry-0001-aaaa"}
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    model = Person if "people" in url else Employer
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(model)) == 1
    assert client.post(url, json=body, headers=users["hn"]).status_code == 409  # no key: a second request


def test_a_household_created_twice_with_one_key_is_one_household(client, users, people, db):
    headers = {**users["sl"], "Idempotency-Key": "household-0001-aaaa"}
    body = {"head_person_id": people["dung"], "org_unit_code": "BHXH-14"}
    first = client.post("/api/v1/households", json=body, headers=headers)
    again = client.post("/api/v1/households", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Household).where(
            Household.head_person_id == people["dung"])) == 1


@pytest.mark.parametrize("format", ["json", "xlsx"])
def test_an_import_sent_twice_with_one_key_answers_the_same_report(client, users, db, format):
    extract = csv_bytes(["citizen_id", "full_name", "date_of_birth", "sex"],
                        [["001090012345", "Nguyễn Văn An", "1990-05-01", "male"]])
    headers = {**users["hn"], "Idempotency-Key": f"import-0001-{format}"}

    def send(key_headers):
        return client.post(f"/api/v1/imports/population?format={format}", headers=key_headers,
                           files={"file": ("dan-cu.csv", extract, "text/csv")}, data={"org_unit_code": "BHXH-01"})

    first, again = send(headers), send(headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    if format == "json":
        assert again.json() == first.json()
    else:
        assert again.content[:2] == b"PK" and again.headers["content-type"].startswith("application/vnd.openxml")
    without = send(users["hn"])  # the same file without the key: idempotent by content, status unchanged
    assert without.status_code == 200
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.status == "applied")) == 1


# --- 5. imports off the event loop ----------------------------------------------------------------------------------

def test_imports_run_on_a_lane_of_worker_threads_not_on_the_event_loop(client, users, app, monkeypatch):
    seen = []
    real = imports.import_file

    def spy(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            seen.append("event loop")
        except RuntimeError:
            seen.append("worker thread")
        kwargs["progress"] = lambda stage, done, total: seen.append(stage)
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "import_file", spy)
    extract = csv_bytes(["citizen_id", "full_name", "date_of_birth", "sex"],
                        [["001090012345", "Nguyễn Văn An", "1990-05-01", "male"]])
    api = client.post("/api/v1/imports/population", files={"file": ("a.csv", extract, "text/csv")},
                      data={"org_unit_code": "BHXH-01"}, headers=users["hn"])
    page = client.post("/registry/imports", data={"kind": "people", "org_unit_code": "BHXH-01"},
                       files={"file": ("b.csv", csv_bytes(PEOPLE_HEADER, PEOPLE[:1]), "text/csv")},
                       headers=users["hn"])
    assert api.status_code == 201 and page.status_code in (200, 422)
    assert [s for s in seen if s in ("event loop", "worker thread")] == ["worker thread", "worker thread"]
    assert {"read", "validate", "write"} <= set(seen)  # the progress callback is called
    assert app.state.import_lane.total_tokens == 2


# --- 7. no-store ----------------------------------------------------------------------------------------------------

def test_lists_and_exports_of_people_are_not_cached(client, users, hanoi_records):
    headers = users["hn"]
    for url in ("/api/v1/people", f"/api/v1/people/{hanoi_records['an']}/coverage", "/registry/people",
                f"/registry/imports/reports/{hanoi_records['token']}.xlsx",
                f"/api/v1/imports/population/{hanoi_records['batch']}/sync"):
        response = client.get(url, headers=headers)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store", url
