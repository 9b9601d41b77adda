"""Imports of CSV and .xlsx files: all rows or none, idempotent, the error report in both languages
(SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.auth.models import Role
from ansinh.errors import ValidationFailed
from ansinh.participation.models import CoveragePeriod, Declaration
from ansinh.registry import imports
from ansinh.registry.identifiers import check_citizen_id, check_tax_code, normalise_name, search_key
from ansinh.registry.imports import COLUMNS, import_file, population_sync_report, template_xlsx
from ansinh.registry.models import Employer, Household, ImportBatch, Person, PopulationFigure, PopulationRecord
from ansinh.registry.places import load_places
from tests.conftest import api_token

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = date(2025, 9, 15)


def cid(dob: str, sex: str, serial: int, province: str = "001") -> str:
    """A citizen ID consistent with a date of birth and sex."""
    year = int(dob[:4])
    digit = {1800: 8, 1900: 0, 2000: 2, 2100: 4}[year // 100 * 100] + (1 if sex == "female" else 0)
    return f"{province}{digit}{year % 100:02d}{serial:06d}"


def csv_bytes(header: list[str], rows: list[list[str]], separator: str = ",", bom: bool = False) -> bytes:
    text = "\n".join(separator.join(line) for line in [header, *rows]) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def xlsx_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, header)
    for index, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            sheet.write_string(index, column, value)
    book.close()
    return buffer.getvalue()


PEOPLE_HEADER = ["citizen_id", "full_name", "date_of_birth", "sex", "ethnicity", "residence_code", "address", "phone"]
PEOPLE = [
    [cid("1990-05-17", "male", 1), "Nguyễn Văn An", "1990-05-17", "male", "Kinh", "00004", "12 Đội Cấn", "0912345678"],
    [cid("1985-02-01", "female", 2), "Trần Thị Bình", "01/02/1985", "nữ", "Tày", "00008", "", ""],
    [cid("2001-12-31", "male", 3), "Lê  Văn   Cường", "2001-12-31", "Nam", "", "00025", "", "+84912000111"],
]


@pytest.fixture
def places(session):
    load_places(session)
    return session


def run(session, org, kind, content, name="file.csv", **kwargs):
    return import_file(session, kind=kind, content=content, file_name=name, principal_or_context="tester",
                       org_unit=kwargs.pop("org_unit", org.hanoi), today=kwargs.pop("today", TODAY), **kwargs)


# --- column rules agree with the single-value rules ---------------------------------------------------------

def _single_problem(value: str, dob: date | None, sex: str | None, provinces: set[str]) -> str | None:
    try:
        check_citizen_id(value, dob, sex, provinces)
    except ValidationFailed as exc:
        return exc.template
    return None


_TEMPLATES = {"format": "A citizen ID has 12 digits; got {value}.",
              "province": "{code} is not a province code of birth registration.",
              "year": "The citizen ID says born in {year}, the date of birth says {dob}.",
              "sex": "The citizen ID says {coded}, the record says {sex}."}


@given(st.lists(st.tuples(
    st.one_of(st.from_regex(r"\A0[0-9]{2}[0-9]{9}\Z"), st.from_regex(r"\A[0-9]{10,13}\Z"), st.text(max_size=13)),
    st.one_of(st.none(), st.dates(date(1800, 1, 1), date(2199, 12, 31))),
    st.one_of(st.none(), st.sampled_from(["male", "female"]))), min_size=1, max_size=30))
def test_citizen_id_column_rules_agree_with_identifiers(cases):
    provinces = imports._cid_province_codes()
    frame = pl.DataFrame(cases, schema={"cid": pl.String, "dob": pl.Date, "sex": pl.String}, orient="row")
    problems = frame.select(imports.citizen_id_problems(pl.col("cid"), pl.col("dob"), pl.col("sex"), provinces))
    for (value, dob, sex), problem in zip(cases, problems.to_series().to_list()):
        expected = _single_problem(value, dob, sex, provinces)
        if value != value.strip():  # the import trims cells before checking; the single rule trims too
            continue
        assert (None if problem is None else _TEMPLATES[problem]) == expected, (value, dob, sex)


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
                min_size=1, max_size=20))
def test_name_and_search_columns_agree_with_identifiers(names):
    frame = pl.DataFrame({"n": names})
    normalised = frame.select(imports.name_column(pl.col("n"))).to_series().to_list()
    keys = frame.select(imports.search_key_column(pl.col("n"))).to_series().to_list()
    for name, got_name, got_key in zip(names, normalised, keys):
        assert got_name == normalise_name(name)
        assert got_key == search_key(name)


@given(st.lists(st.from_regex(r"\A[0-9]{10}\Z|\A[0-9]{13}\Z|\A[0-9]{9}\Z"), min_size=1, max_size=30))
def test_tax_code_column_agrees_with_identifiers(codes):
    ok = pl.DataFrame({"t": codes}).select(imports.tax_code_column_ok(pl.col("t"))).to_series().to_list()
    for code, good in zip(codes, ok):
        try:
            check_tax_code(code)
            expected = True
        except ValidationFailed:
            expected = False
        assert good == expected, code


def test_commune_frame_agrees_with_provinces_of(places):
    from ansinh.registry.models import Place, PlaceLevel
    from ansinh.registry.places import provinces_of

    frame = imports.commune_frame(places)
    sample = places.scalars(select(Place).where(Place.level == PlaceLevel.commune).order_by(Place.id)
                            .limit(4000)).all()[::97]
    rows = {r["place_id"]: r for r in frame.iter_rows(named=True)}
    for place in sample:
        assert (rows[place.id]["province_2008"], rows[place.id]["province_2025"]) == provinces_of(places, place.id)


# --- people --------------------------------------------------------------------------------------------------

def test_people_csv_applies_once_then_is_unchanged(places, org):
    session = places
    content = csv_bytes(PEOPLE_HEADER, PEOPLE)
    report = run(session, org, "people", content)
    assert report.status == "applied", report.to_json()
    assert (report.rows, report.created, report.unchanged, report.errors) == (3, 3, 0, [])
    people = session.scalars(select(Person).order_by(Person.citizen_id)).all()
    assert [p.full_name for p in people] == ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"]
    assert [p.name_search for p in people] == ["nguyen van an", "tran thi binh", "le van cuong"]
    assert all(p.si_number.startswith("01") and len(p.si_number) == 10 for p in people)
    assert len({p.si_number for p in people}) == 3
    assert {p.province_2025 for p in people} == {"01"} and {p.province_2008 for p in people} == {"01"}
    assert people[1].sex.value == "female" and people[1].date_of_birth == date(1985, 2, 1)
    assert people[2].phone == "+84912000111" and people[1].phone is None
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
    assert len(events) == 1 and events[0].changes["created"] == 3

    again = run(session, org, "people", content)
    assert again.status == "unchanged" and again.batch_id == report.batch_id and again.created == 0
    assert session.scalar(select(func.count()).select_from(Person)) == 3

    # another file (semicolons, BOM) with the same people and one more: by natural key
    more = PEOPLE + [[cid("1970-01-01", "female", 4), "Phạm Thị Dung", "1970-01-01", "female", "", "00004", "", ""]]
    other = run(session, org, "people", csv_bytes(PEOPLE_HEADER, more, separator=";", bom=True))
    assert (other.status, other.created, other.unchanged) == ("applied", 1, 3), other.to_json()


def test_people_xlsx_is_read_like_csv(places, org):
    report = run(places, org, "people", xlsx_bytes(PEOPLE_HEADER, PEOPLE), name="people.xlsx")
    assert (report.status, report.created) == ("applied", 3), report.to_json()


def test_a_file_with_bad_rows_writes_nothing_and_says_why_in_both_languages(places, org):
    session = places
    rows = [
        PEOPLE[0],
        ["999" + PEOPLE[1][0][3:]] + PEOPLE[1][1:],  # 999: no such province of registration
        [cid("1990-01-01", "male", 5), "Đỗ Văn Em", "1991-01-01", "male", "", "00004", "", ""],  # year differs
        [cid("1990-01-01", "male", 6), "Hồ Văn Phú", "1990-01-01", "male", "", "99999", "", ""],  # no such place
        [PEOPLE[0][0], "Nguyễn Văn An", "1990-05-17", "male", "", "00004", "", ""],  # repeated citizen ID
        [cid("1990-01-01", "female", 7), "", "1990-01-01", "female", "", "00004", "", ""],  # no name
        [cid("1990-01-01", "female", 8), "Vũ Thị Giang", "1990-01-01", "male", "", "00004", "", ""],  # sex differs
        [cid("1990-01-01", "female", 9), "Vũ Thị Hà", "31/02/1990", "female", "", "00004", "", "12a"],  # date, phone
    ]
    report = run(session, org, "people", csv_bytes(PEOPLE_HEADER, rows), name="bad.csv")
    assert report.status == "rejected"
    assert session.scalar(select(func.count()).select_from(Person)) == 0
    found = [(e.row, e.column) for e in report.errors]
    assert found == [(3, "citizen_id"), (4, "citizen_id"), (5, "residence_code"), (6, "citizen_id"),
                     (7, "full_name"), (8, "citizen_id"), (9, "date_of_birth"), (9, "phone")]
    by_row = {e.row: e for e in report.errors}
    assert by_row[3].value.startswith("999") and "999 is not a province code" in by_row[3].reason_en
    assert "không phải mã tỉnh" in by_row[3].reason_vi
    assert "born in 1990" in by_row[4].reason_en and "1991-01-01" in by_row[4].reason_en
    assert "sinh năm 1990" in by_row[4].reason_vi
    assert "first at row 2" in by_row[6].reason_en and "dòng 2" in by_row[6].reason_vi
    assert by_row[8].reason_vi.endswith("nữ, nhưng dòng này ghi nam.")
    body = report.to_json()
    assert body["status"] == "rejected" and body["error_count"] == 8 and body["errors"][0]["row"] == 3
    batch = session.get(ImportBatch, report.batch_id)
    assert (batch.status, batch.error_count, batch.rows) == ("rejected", 8, 8)

    workbook = report.to_xlsx()
    sheet = pl.read_excel(workbook, sheet_name="errors", infer_schema_length=0)
    assert sheet.columns == ["file", "row", "column", "value", "reason (Vietnamese)", "reason (English)"]
    assert sheet.height == 8 and sheet["file"].unique().to_list() == ["bad.csv"]
    assert sheet["row"].to_list()[:2] == ["3", "4"] and "sinh năm 1990" in sheet["reason (Vietnamese)"][1]

    # the rejected attempt does not block the corrected file
    fixed = run(session, org, "people", csv_bytes(PEOPLE_HEADER, PEOPLE))
    assert fixed.status == "applied"


def test_missing_and_unknown_columns_and_unreadable_files(places, org):
    report = run(places, org, "people", csv_bytes(["citizen_id", "fullname"], [["1", "x"]]))
    assert report.status == "rejected"
    assert {(e.row, e.column) for e in report.errors} >= {(1, "full_name"), (1, "fullname")}
    garbage = run(places, org, "people", "citizen_id,full_name\n\xff".encode("latin-1"))
    assert garbage.status == "rejected" and "UTF-8" in garbage.errors[0].reason_en
    empty = run(places, org, "people", csv_bytes(PEOPLE_HEADER, []))
    assert empty.status == "rejected" and empty.errors[0].reason_en == "The file has no data rows."


def test_a_registered_person_with_different_data_is_an_error(places, org):
    run(places, org, "people", csv_bytes(PEOPLE_HEADER, PEOPLE))
    changed = [row[:] for row in PEOPLE]
    changed[1][1] = "Trần Thị Bích"
    report = run(places, org, "people", csv_bytes(PEOPLE_HEADER, changed))
    assert report.status == "rejected"
    assert [(e.row, e.column) for e in report.errors] == [(3, "full_name")]
    assert "different full name" in report.errors[0].reason_en and "họ tên khác" in report.errors[0].reason_vi


def test_people_need_an_office(places, org):
    with pytest.raises(ValidationFailed):
        run(places, org, "people", csv_bytes(PEOPLE_HEADER, PEOPLE), org_unit=org.national)


# --- households, employers, declarations ---------------------------------------------------------------------

def test_households_apply_and_are_idempotent(places, org):
    run(places, org, "people", csv_bytes(PEOPLE_HEADER, PEOPLE))
    header = ["household_key", "citizen_id", "role", "address"]
    rows = [["H1", PEOPLE[0][0], "chủ hộ", "12 Đội Cấn"], ["H1", PEOPLE[1][0], "member", ""],
            ["H2", PEOPLE[2][0], "head", ""]]
    report = run(places, org, "households", csv_bytes(header, rows))
    assert (report.status, report.created) == ("applied", 3), report.to_json()
    assert places.scalar(select(func.count()).select_from(Household)) == 2
    second = run(places, org, "households", csv_bytes(header, rows + [["H3", "001090000099", "head", ""]]))
    assert second.status == "rejected" and [(e.row, e.column) for e in second.errors] == [(5, "citizen_id")]
    again = run(places, org, "households", csv_bytes(header, list(reversed(rows))))
    assert (again.status, again.unchanged) == ("applied", 3)
    moved = run(places, org, "households", csv_bytes(header, [["X", PEOPLE[2][0], "head", ""],
                                                              ["X", PEOPLE[1][0], "member", ""]]))
    assert moved.status == "rejected" and "already belongs to household" in moved.errors[0].reason_en


EMPLOYER_HEADER = ["tax_code", "name", "ownership", "region", "sector", "place_code", "e_transactions", "email"]
EMPLOYERS = [["0100109106", "Công ty TNHH Ánh Dương", "private", "I", "private", "00004", "yes", "a@b.vn"],
             ["0100109106-001", "Chi nhánh Ánh Dương", "private", "I", "", "", "không", ""]]


def test_employers_apply_with_branches_and_check_digits(places, org):
    report = run(places, org, "employers", csv_bytes(EMPLOYER_HEADER, list(reversed(EMPLOYERS))))
    assert (report.status, report.created) == ("applied", 2), report.to_json()
    parent = places.scalar(select(Employer).where(Employer.tax_code == "0100109106"))
    assert parent.e_transactions and parent.province_2025 == "01" and parent.place_id is not None
    same = run(places, org, "employers", csv_bytes(EMPLOYER_HEADER, EMPLOYERS))  # another file, same employers
    assert (same.status, same.created, same.unchanged) == ("applied", 0, 2)
    bad = run(places, org, "employers", csv_bytes(EMPLOYER_HEADER, [
        ["0100109107", "X", "private", "I", "", "", "", ""], ["0100109106", "Tên khác", "private", "I", "private",
                                                             "00004", "yes", "a@b.vn"],
        ["0312345673", "Y", "státe", "V", "", "", "", ""]]))
    assert bad.status == "rejected"
    assert [(e.row, e.column) for e in bad.errors] == [(2, "tax_code"), (3, "name"), (4, "ownership")]
    assert places.scalar(select(func.count()).select_from(Employer)) == 2


def test_declarations_with_a_retroactive_row_all_or_nothing(places, org):
    session = places
    run(session, org, "people", csv_bytes(PEOPLE_HEADER, PEOPLE))
    run(session, org, "employers", csv_bytes(EMPLOYER_HEADER, EMPLOYERS[:1]))
    header = ["employer_tax_code", "citizen_id", "kind", "effective_month", "insured_salary", "hi_group"]
    rows = [["0100109106", PEOPLE[0][0], "join", "2025-03", "8.000.000", ""],  # retroactive (today 2025-09-15)
            ["0100109106", PEOPLE[0][0], "điều chỉnh", "2025-10", "9000000", ""],
            ["0100109106", PEOPLE[1][0], "báo tăng", "10/2025", "7500000", "DN"]]
    # a salary below the floor makes the whole file fail: nothing is written
    bad = run(session, org, "declarations", csv_bytes(header, rows + [["0100109106", PEOPLE[2][0], "join", "2025-10",
                                                                       "1000000", ""]]))
    assert bad.status == "rejected", bad.to_json()
    assert [(e.row, e.column) for e in bad.errors] == [(5, "insured_salary")]
    assert "below the floor" in bad.errors[0].reason_en
    assert session.scalar(select(func.count()).select_from(Declaration)) == 0
    assert session.scalar(select(func.count()).select_from(CoveragePeriod)) == 0

    report = run(session, org, "declarations", csv_bytes(header, rows))
    assert (report.status, report.created, report.details["retroactive"]) == ("applied", 3, 1), report.to_json()
    declarations = session.scalars(select(Declaration).order_by(Declaration.id)).all()
    assert [(d.kind.value, d.effective_month, d.retroactive, d.needs_rebilling) for d in declarations] == [
        ("join", date(2025, 3, 1), True, True), ("join", date(2025, 10, 1), False, False),
        ("salary_change", date(2025, 10, 1), False, False)]
    assert {d.import_batch_id for d in declarations} == {report.batch_id}
    # the same declarations in another file: unchanged by natural key
    again = run(session, org, "declarations", csv_bytes(header, rows, separator=";"))
    assert (again.status, again.unchanged, again.created) == ("applied", 3, 0)


# --- population ------------------------------------------------------------------------------------------------

def test_population_extract_and_sync_report(places, org):
    session = places
    run(session, org, "people", csv_bytes(PEOPLE_HEADER, PEOPLE))
    header = ["citizen_id", "full_name", "date_of_birth", "sex", "residence_code"]
    rows = [PEOPLE[0][:4] + ["00004"], [PEOPLE[1][0], "Trần Thị Bích", "1985-02-01", "female", ""],
            [PEOPLE[2][0], "Lê Văn Cường", "2001-12-31", "male", "00025"],
            [cid("1950-06-06", "male", 10), "Phan Văn Tư", "1950-06-06", "male", ""]]
    report = run(session, org, "population", csv_bytes(header, rows))
    assert (report.status, report.created) == ("applied", 4), report.to_json()
    assert session.scalar(select(func.count()).select_from(PopulationRecord)) == 4
    sync = population_sync_report(session, report.batch_id, None)
    assert (sync["registry_people"], sync["extract_records"], sync["in_both"], sync["matched"]) == (3, 4, 3, 2)
    assert sync["differing_fields"] == {"full_name": 1, "date_of_birth": 0, "sex": 0, "residence": 0}
    assert (sync["missing_in_registry"], sync["missing_in_extract"]) == (1, 0)
    assert sync["match_rate"] == round(2 / 3, 6)
    assert sync["summary_en"] == "participants synchronised with the population database: 66.67%"
    assert sync["summary_vi"].endswith("66,67%")
    assert sync["differing_samples"] == [{"citizen_id": PEOPLE[1][0], "fields": ["full_name"]}]


def test_population_figures(places, org):
    header = ["province_code", "year", "population", "working_age_population"]
    report = run(places, org, "population_figures", csv_bytes(header, [["01", "2025", "8700000", "5600000"]]),
                 org_unit=None)
    assert (report.status, report.created) == ("applied", 1)
    figure = places.scalar(select(PopulationFigure))
    assert (figure.structure.value, figure.province_code, figure.population) == ("2025", "01", 8_700_000)
    bad = run(places, org, "population_figures", csv_bytes(header, [["01", "2025", "8800000", "5600000"],
                                                                     ["77", "2025", "2", "1"]]), org_unit=None)
    assert [(e.row, e.column) for e in bad.errors] == [(2, "population"), (3, "province_code")]


# --- templates, API, CLI -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(COLUMNS))
def test_templates_have_the_documented_columns_and_an_example(kind):
    data = pl.read_excel(template_xlsx(kind), sheet_name="data", infer_schema_length=0)
    assert data.columns == [c.name for c in COLUMNS[kind]] and data.height == 1
    layout = pl.read_excel(template_xlsx(kind), sheet_name="columns", infer_schema_length=0)
    assert layout.height >= len(COLUMNS[kind])
    assert f"#### `{kind}`" in imports.columns_markdown()


def test_the_people_template_example_imports(places, org):
    report = run(places, org, "people", template_xlsx("people"), name="template.xlsx")
    assert report.status == "applied", report.to_json()


def test_api_upload_template_and_sync(app, client, org, make_user, db):
    from ansinh.registry.import_api import router

    if not any(getattr(r, "path", "").startswith("/api/v1/imports") for r in app.routes):
        app.include_router(router)  # until ansinh.api assembles it
    with db.unit_of_work() as session:
        load_places(session)
    make_user("canbo", org.hanoi, Role.provincial_officer)
    make_user("donvi", org.hanoi, Role.employer)
    headers = api_token(client, "canbo")
    files = {"file": ("people.csv", csv_bytes(PEOPLE_HEADER, PEOPLE), "text/csv")}
    first = client.post("/api/v1/imports/people", files=files, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["created"] == 3
    again = client.post("/api/v1/imports/people", files=files, headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    bad_rows = [PEOPLE[0][:2] + ["1991-05-17"] + PEOPLE[0][3:]]
    bad = client.post("/api/v1/imports/people", headers=headers,
                      files={"file": ("bad.csv", csv_bytes(PEOPLE_HEADER, bad_rows), "text/csv")})
    assert bad.status_code == 422 and bad.json()["errors"][0]["row"] == 2
    xlsx = client.post("/api/v1/imports/people?format=xlsx", headers=headers,
                       files={"file": ("bad.csv", csv_bytes(PEOPLE_HEADER, bad_rows), "text/csv")})
    assert xlsx.status_code == 422 and xlsx.content[:2] == b"PK"
    template = client.get("/api/v1/imports/employers/template", headers=headers)
    assert template.status_code == 200 and template.content[:2] == b"PK"
    assert client.get("/api/v1/imports/nothing/template", headers=headers).status_code == 404
    listed = client.get("/api/v1/imports", headers=headers).json()
    assert [b["status"] for b in listed][:3] == ["rejected", "rejected", "applied"]

    header = ["citizen_id", "full_name", "date_of_birth", "sex"]
    population = client.post("/api/v1/imports/population", headers=headers,
                             files={"file": ("dan-cu.csv", csv_bytes(header, [r[:4] for r in PEOPLE]), "text/csv")})
    assert population.status_code == 201, population.text
    sync = client.get(f"/api/v1/imports/population/{population.json()['batch_id']}/sync", headers=headers)
    assert sync.status_code == 200 and sync.json()["match_rate"] == 1.0

    employer = api_token(client, "donvi")
    assert client.post("/api/v1/imports/people", files=files, headers=employer).status_code == 403


def test_cli_prints_the_report_and_exits_2_when_rejected(places, org, db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ansinh.registry.import_cli import import_app

    places.commit()  # the CLI opens its own unit of work on the same (test) connection
    monkeypatch.setattr("ansinh.db.get_database", lambda: db)
    good = tmp_path / "people.csv"
    good.write_bytes(csv_bytes(PEOPLE_HEADER, PEOPLE))
    result = CliRunner().invoke(import_app, ["people", str(good), "--org-unit", "BHXH-01", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(PEOPLE_HEADER, [["1"] + PEOPLE[0][1:]]))
    report = tmp_path / "report.xlsx"
    result = CliRunner().invoke(import_app, ["people", str(bad), "--org-unit", "BHXH-01", "--report-xlsx",
                                             str(report)])
    assert result.exit_code == 2 and "12 digits" in result.stdout
    assert pl.read_excel(report.read_bytes(), sheet_name="errors").height == 1


def test_fixture_files_import(places, org):
    for kind, name in (("people", "people.csv"), ("employers", "employers.csv")):
        report = run(places, org, kind, (FIXTURES / name).read_bytes(), name=name)
        assert report.status == "applied", report.to_json()
