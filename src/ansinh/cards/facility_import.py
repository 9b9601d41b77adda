"""The import of medical facilities from a CSV (UTF-8, comma or semicolon) or Excel .xlsx file, with their
classification into the levels of 2025.

One row per facility, or per classification of a facility (the same facility on several rows, each with its own
``classified_from``: its history). A facility not yet registered is registered under the office that contracts
it (its code must start with that office's province); one already registered must be in the caller's scope and
have the same name, level, primary care and ownership as the file says (a change goes through the facility's page
or API). A classification (``level_2025`` and the columns after it) is added from ``classified_from`` (default
2025-01-01) with the same rules as :func:`ansinh.cards.facilities.classify_facility`; the same classification
already recorded is counted as unchanged, another one from the same day is an error.

All or nothing: every row is checked first; a file with errors writes nothing and returns the errors, each naming
the file, the row (header = row 1, first data row = 2), the column and the reason in English and Vietnamese. The
same file imported again changes nothing. Runs in the caller's transaction; the caller commits.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Principal, ensure_in_scope
from ansinh.cards import facilities
from ansinh.cards.models import FacilityLevel, MedicalFacility
from ansinh.errors import DomainError, PermissionDenied, ValidationFailed
from ansinh.i18n import gettext, use_locale
from ansinh.registry.identifiers import normalise_name, search_key
from ansinh.registry.imports import MAX_REPORTED_ERRORS, ColumnSpec, ImportRowError, FileProblem, read_table, visible

COLUMNS = [
    ColumnSpec("code", True, "Facility code: 5 digits, the province (2) and a number (3).",
               "Mã cơ sở KCB: 5 chữ số, mã tỉnh (2) và số thứ tự (3).", "01001"),
    ColumnSpec("name", True, "Name of the facility, at most 200 characters.", "Tên cơ sở, tối đa 200 ký tự.",
               "Bệnh viện Đa khoa Hà Đông"),
    ColumnSpec("level", True, "Level before 2025-01-01: central, provincial, district or commune (trung ương, "
               "tỉnh, huyện, xã).", "Tuyến trước ngày 01/01/2025: central, provincial, district hoặc commune "
               "(trung ương, tỉnh, huyện, xã).", "provincial"),
    ColumnSpec("primary_care", False, "Takes primary-care registrations: yes or no (default yes).",
               "Nhận đăng ký KCB ban đầu: yes hoặc no (mặc định yes).", "yes"),
    ColumnSpec("public", False, "Public facility: yes or no (default yes).", "Cơ sở công lập: yes hoặc no "
               "(mặc định yes).", "yes"),
    ColumnSpec("specialty", False, "Specialty: general (default) or a code of the specialty catalogue, e.g. "
               "obstetrics, paediatrics, oncology.", "Chuyên khoa: general (đa khoa, mặc định) hoặc mã trong danh mục "
               "chuyên khoa, ví dụ obstetrics (phụ sản), paediatrics (nhi), oncology (ung bướu).", "general"),
    ColumnSpec("level_2025", False, "Level since 2025: initial, basic or specialised (ban đầu, cơ bản, chuyên sâu).",
               "Cấp chuyên môn kỹ thuật từ năm 2025: initial, basic hoặc specialised (ban đầu, cơ bản, chuyên sâu).",
               "basic"),
    ColumnSpec("score", False, "Classification score of a basic-level facility: a whole number from 0 to 100.",
               "Điểm phân cấp của cơ sở cấp cơ bản: số nguyên từ 0 đến 100.", "72"),
    ColumnSpec("provisional", False, "Provisionally classified (no score yet): yes or no.",
               "Xếp cấp tạm thời (chưa có điểm): yes hoặc no.", "no"),
    ColumnSpec("health_station", False, "An initial-level facility of visit category 1.2 (health station, "
               "family-medicine practice...): yes or no.", "Cơ sở cấp ban đầu thuộc loại hình 1.2 (trạm y tế, "
               "phòng khám bác sĩ gia đình...): yes hoặc no.", "no"),
    ColumnSpec("classified_from", False, "The day the classification takes effect: YYYY-MM-DD or DD/MM/YYYY "
               "(default 2025-01-01).", "Ngày xếp cấp có hiệu lực: YYYY-MM-DD hoặc DD/MM/YYYY (mặc định "
               "01/01/2025).", "2025-01-01"),
    ColumnSpec("decision", False, "The classifying decision, at most 120 characters.",
               "Quyết định xếp cấp, tối đa 120 ký tự.", "QĐ 123/QĐ-SYT"),
]
CLASSIFICATION_COLUMNS = ("level_2025", "score", "provisional", "health_station", "classified_from", "decision")
#: The facility's own columns, compared with a facility already registered and between rows of one facility.
FACILITY_COLUMNS = ("name", "level", "primary_care", "public", "specialty")

_LEVELS = {"central": "central", "trung uong": "central", "tw": "central", "provincial": "provincial",
           "tinh": "provincial", "district": "district", "huyen": "district", "commune": "commune", "xa": "commune"}
_LEVELS_2025 = {"initial": "initial", "ban dau": "initial", "cap ban dau": "initial", "basic": "basic",
                "co ban": "basic", "cap co ban": "basic", "specialised": "specialised", "specialized": "specialised",
                "chuyen sau": "specialised", "cap chuyen sau": "specialised"}
_BOOLS = {"yes": True, "y": True, "true": True, "1": True, "x": True, "co": True,
          "no": False, "n": False, "false": False, "0": False, "khong": False}
#: A service's field → the column of the file.
_FIELD_COLUMN = {"valid_from": "classified_from"}


@dataclass
class FacilityImportReport:
    file_name: str
    sha256: str
    status: str  # applied | rejected | unchanged (nothing new: every row already recorded as it is)
    rows: int = 0
    facilities_created: int = 0
    classifications_created: int = 0
    unchanged: int = 0  # rows whose facility and classification were already recorded as they are
    errors: list[ImportRowError] = field(default_factory=list)
    error_count: int = 0

    def to_json(self) -> dict:
        return {"kind": "facilities", "file_name": self.file_name, "sha256": self.sha256, "status": self.status,
                "rows": self.rows, "facilities_created": self.facilities_created,
                "classifications_created": self.classifications_created, "unchanged": self.unchanged,
                "error_count": max(self.error_count, len(self.errors)), "errors": [asdict(e) for e in self.errors]}

    def error_lines(self, language: str = "en") -> list[str]:
        """Each error as ``FILE, row N, column: reason``."""
        return [f"{self.file_name}, {'row' if language == 'en' else 'dòng'} {e.row}, {e.column}: "
                f"{e.reason_en if language == 'en' else e.reason_vi}" for e in self.errors]


@dataclass
class _Row:
    number: int
    cells: dict[str, str | None]
    code: str | None = None
    name: str | None = None
    level: FacilityLevel | None = None
    primary_care: bool = True
    public: bool = True
    specialty: str = "general"
    classification: facilities.ClassificationData | None = None
    facility: MedicalFacility | None = None
    recorded: bool = False  # the classification is already recorded as it is


def _translated(error: DomainError) -> tuple[str, str]:
    with use_locale("en"):
        en = error.translated(gettext)
    with use_locale("vi"):
        vi = error.translated(gettext)
    return en, vi


class _Errors:
    """The errors of a file: at most one per (row, column), the first found."""

    def __init__(self) -> None:
        self.items: dict[tuple[int, str], ImportRowError] = {}

    def add(self, row: _Row | int, column: str, error: DomainError) -> None:
        number = row if isinstance(row, int) else row.number
        value = "" if isinstance(row, int) else row.cells.get(column) or ""
        if (number, column) not in self.items:
            self.items[(number, column)] = ImportRowError(number, column, visible(value), *_translated(error))

    def has(self, row: _Row, *columns: str) -> bool:
        return any((row.number, column) in self.items for column in columns)

    def sorted(self) -> list[ImportRowError]:
        order = {spec.name: index for index, spec in enumerate(COLUMNS)}
        return sorted(self.items.values(), key=lambda e: (e.row, order.get(e.column, -1)))


def _choice(text: str | None, choices: dict[str, Any]) -> Any:
    return choices.get(search_key(text or "")) if text else None


def _day(text: str) -> date | None:
    value = re.sub(r"[ T]00:00:00(\.0+)?$", "", text.strip())
    for pattern in (r"^(\d{4})-(\d{1,2})-(\d{1,2})$", r"^(\d{1,2})/(\d{1,2})/(\d{4})$"):
        match = re.match(pattern, value)
        if match:
            parts = [int(p) for p in match.groups()]
            year, month, day = parts if pattern.startswith("^(\\d{4})") else parts[::-1]
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def _whole_number(text: str) -> int | None:
    value = re.sub(r"\.0+$", "", text.strip())  # an Excel number read as text: "72.0"
    return int(value) if re.fullmatch(r"-?\d{1,9}", value) else None


def _read_row(row: _Row, errors: _Errors) -> None:
    """The row's values, checked alone (the rules of the services); errors by column."""
    cells = row.cells
    try:
        row.code = facilities.check_facility_code(cells["code"], "code")
    except ValidationFailed as error:
        errors.add(row, "code", error)
    name = normalise_name(cells["name"] or "")
    if not name:
        errors.add(row, "name", ValidationFailed("name", "A value is required."))
    elif len(name) > 200:
        errors.add(row, "name", ValidationFailed("name", "A facility name has 1 to 200 characters."))
    row.name = name
    if not cells["level"]:
        errors.add(row, "level", ValidationFailed("level", "A value is required."))
    else:
        level = _choice(cells["level"], _LEVELS)
        if level is None:
            errors.add(row, "level", ValidationFailed("level", "The level is one of {accepted}; got {value}.",
                                                      accepted=", ".join(item.value for item in FacilityLevel),
                                                      value=cells["level"]))
        else:
            row.level = FacilityLevel(level)
    flags: dict[str, bool] = {}
    for column, default in (("primary_care", True), ("public", True), ("provisional", False),
                            ("health_station", False)):
        value = _choice(cells[column], _BOOLS) if cells[column] else default
        if value is None:
            errors.add(row, column, ValidationFailed(column, "Write yes or no (có or không)."))
            value = default
        flags[column] = value
    row.primary_care, row.public = flags["primary_care"], flags["public"]
    try:
        row.specialty = facilities.check_specialty(cells["specialty"])
    except ValidationFailed as error:
        errors.add(row, "specialty", error)

    given = [column for column in CLASSIFICATION_COLUMNS if cells[column]]
    if not given:
        return
    if not cells["level_2025"]:
        errors.add(row, "level_2025", ValidationFailed(
            "level_2025", "Give the level since 2025 (initial, basic or specialised) for the classification of "
                          "this row."))
        return
    score = None
    if cells["score"]:
        score = _whole_number(cells["score"])
        if score is None:
            errors.add(row, "score", ValidationFailed(
                "score", "The classification score is a whole number of points from 0 to {max}.",
                max=facilities.MAX_SCORE))
    valid_from = facilities.LEVELS_2025_FROM
    if cells["classified_from"]:
        valid_from = _day(cells["classified_from"])
        if valid_from is None:
            errors.add(row, "classified_from", ValidationFailed(
                "classified_from", "Not a date: write YYYY-MM-DD or DD/MM/YYYY."))
    if errors.has(row, "score", "classified_from", "provisional", "health_station"):
        return
    try:
        row.classification = facilities.check_classification(
            valid_from=valid_from, level_2025=_choice(cells["level_2025"], _LEVELS_2025) or cells["level_2025"],
            score=score, provisional=flags["provisional"], health_station=flags["health_station"],
            decision=cells["decision"])
    except ValidationFailed as error:
        column = _FIELD_COLUMN.get(error.field, error.field)
        errors.add(row, column if column in cells else "level_2025", error)


def _same_facility(row: _Row, facility: MedicalFacility | _Row) -> str | None:
    """The first column where the row differs from a registered facility (or an earlier row), else None."""
    for column in FACILITY_COLUMNS:
        if column in ("primary_care", "public", "specialty") and not row.cells[column] \
                and isinstance(facility, MedicalFacility):
            continue  # not given: the registered value stands
        ours, theirs = getattr(row, column), getattr(facility, column)
        if column == "name":
            ours, theirs = normalise_name(ours or ""), normalise_name(theirs or "")
        if ours != theirs:
            return column
    return None


def import_facilities(session: Session, *, content: bytes, file_name: str, principal: Principal | None = None,
                      org_unit: OrgUnit | str | None = None) -> FacilityImportReport:
    """Check a whole file of facilities (and their classifications), then register and classify them, or write
    nothing and return the errors. ``org_unit``: the office that contracts the new facilities (default the
    caller's own office; a national user names one when the file registers facilities). ``principal`` None:
    a command-line import, the whole country in scope."""
    from ansinh.registry.service import office_province_code

    file_name = (file_name or "upload").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:255]
    sha256 = hashlib.sha256(content).hexdigest()
    report = FacilityImportReport(file_name=file_name, sha256=sha256, status="rejected")
    office = _office(session, principal, org_unit)

    def rejected(items: list[ImportRowError]) -> FacilityImportReport:
        report.errors, report.error_count = items[:MAX_REPORTED_ERRORS], len(items)
        return report

    try:
        frame = read_table(content, file_name)
    except FileProblem as problem:
        return rejected(problem.errors)
    known = {spec.name for spec in COLUMNS}
    header = [ImportRowError(1, column, column, *_translated(ValidationFailed(
        column, "The required column {column} is missing.", column=column)))
        for column in (spec.name for spec in COLUMNS if spec.required) if column not in frame.columns]
    header += [ImportRowError(1, visible(column), visible(column), *_translated(ValidationFailed(
        column, "{column} is not a column of the facility import.", column=visible(column))))
        for column in frame.columns if column not in known]
    if header:
        return rejected(header)
    if frame.height == 0:
        return rejected([ImportRowError(1, "", "", *_translated(ValidationFailed("file",
                                                                               "The file has no data rows.")))])
    report.rows = frame.height
    errors = _Errors()
    rows = []
    for number, values in enumerate(frame.iter_rows(named=True), start=2):
        row = _Row(number, {spec.name: values.get(spec.name) for spec in COLUMNS})
        _read_row(row, errors)
        rows.append(row)

    # between rows: one facility says the same on each of its rows; one classification per facility and day
    first: dict[str, _Row] = {}
    days: dict[tuple[str, date], int] = {}
    for row in rows:
        if row.code is None:
            continue
        earlier = first.setdefault(row.code, row)
        if earlier is not row and not errors.has(row, *FACILITY_COLUMNS):
            column = _same_facility(row, earlier)
            if column is not None:
                errors.add(row, column, ValidationFailed(
                    column, "Facility {code} is described differently on row {row}.", code=row.code,
                    row=earlier.number))
        if row.classification is not None:
            key = (row.code, row.classification.valid_from)
            if key in days:
                errors.add(row, "classified_from", ValidationFailed(
                    "classified_from", "Facility {code} has another classification from this day on row {row}.",
                    code=row.code, row=days[key]))
            else:
                days[key] = row.number

    # against the database: facilities registered (in scope, described the same), classifications recorded
    codes = sorted(first)
    registered = {f.code: f for start in range(0, len(codes), 5_000) for f in session.scalars(
        select(MedicalFacility).where(MedicalFacility.code.in_(codes[start:start + 5_000])))}
    recorded = facilities.classification_histories(session, [f.id for f in registered.values()])
    in_scope: dict[int, bool] = {}
    province = None
    for row in rows:
        if row.code is None:
            continue
        facility = registered.get(row.code)
        if facility is None:
            if office is None:
                errors.add(row, "code", ValidationFailed(
                    "code", "Facility {code} is not registered: say which provincial or local office contracts "
                            "the new facilities.", code=row.code))
                continue
            province = province or office_province_code(session, office)
            if row.code[:2] != province[-2:]:
                errors.add(row, "code", ValidationFailed(
                    "code", "Facility code {value} does not start with the province code {province}.",
                    value=row.code, province=province[-2:]))
            continue
        row.facility = facility
        if facility.org_unit_id not in in_scope:
            in_scope[facility.org_unit_id] = _in_scope(session, principal, facility.org_unit_id)
        if not in_scope[facility.org_unit_id]:
            errors.add(row, "code", ValidationFailed(
                "code", "Facility {code} belongs to another office, outside your scope.", code=row.code))
            continue
        column = None if errors.has(row, *FACILITY_COLUMNS) else _same_facility(row, facility)
        if column is not None:
            errors.add(row, column, ValidationFailed(
                column, "Facility {code} is registered with a different {column}: change it on the facility's "
                        "page.", code=row.code, column=column))
        if row.classification is not None:
            same_day = next((c for c in recorded.get(facility.id, ())
                             if c.valid_from == row.classification.valid_from), None)
            if same_day is not None and not facilities.same_classification(same_day, row.classification):
                errors.add(row, "classified_from", ValidationFailed(
                    "classified_from", "Facility {code} already has a classification from {day}; a reclassification "
                                       "takes effect on another day.", code=row.code, day=same_day.valid_from))
            row.recorded = same_day is not None

    if errors.items:
        return rejected(errors.sorted())
    return _apply(session, report, rows, office, errors)


def _apply(session: Session, report: FacilityImportReport, rows: list[_Row], office: OrgUnit | None,
           errors: _Errors) -> FacilityImportReport:
    created_facilities = created_classifications = unchanged = 0
    savepoint = session.begin_nested()
    try:
        made: dict[str, MedicalFacility] = {}
        for row in rows:
            new_row = False
            facility = row.facility or made.get(row.code)
            if facility is None:
                facility = facilities.create_facility(session, facilities.FacilityData(
                    code=row.code, name=row.name, level=row.level, primary_care=row.primary_care,
                    public=row.public, specialty=row.specialty), office)
                made[row.code] = facility
                created_facilities += 1
                new_row = True
            if row.classification is not None and not row.recorded:
                data = row.classification
                facilities.classify_facility(session, facility, valid_from=data.valid_from,
                                             level_2025=data.level_2025, score=data.score,
                                             provisional=data.provisional, health_station=data.health_station,
                                             decision=data.decision)
                created_classifications += 1
                new_row = True
            unchanged += not new_row
    except DomainError as error:  # checked above; a facility registered meanwhile, say
        savepoint.rollback()
        name = getattr(error, "field", None)
        column = _FIELD_COLUMN.get(name, name)
        errors.add(row, column if column in row.cells else "code", error)
        report.errors, report.error_count = errors.sorted(), len(errors.items)
        return report
    savepoint.commit()
    report.facilities_created, report.classifications_created, report.unchanged = (
        created_facilities, created_classifications, unchanged)
    report.status = "applied" if created_facilities or created_classifications else "unchanged"
    if report.status == "applied":
        record_event(session, "import", "medical_facility", None,
                     org_unit_id=office.id if office is not None else None,
                     details={"file_name": report.file_name, "sha256": report.sha256, "rows": report.rows,
                              "facilities_created": created_facilities,
                              "classifications_created": created_classifications, "unchanged": unchanged})
    return report


def _office(session: Session, principal: Principal | None, org_unit: OrgUnit | str | None) -> OrgUnit | None:
    """The office the new facilities belong to (the one named, in the caller's scope; else the caller's own), or
    None (a national user naming none: then only registered facilities may be in the file)."""
    if isinstance(org_unit, str) and org_unit.strip():
        code = org_unit.strip()
        org_unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if org_unit is None:
            raise ValidationFailed("org_unit", "Org unit {code} does not exist.", code=code)
    elif isinstance(org_unit, str):
        org_unit = None
    if org_unit is None and principal is not None and principal.is_agency_staff:
        own = session.get(OrgUnit, principal.org_unit_id)
        org_unit = own if own is not None and own.level != OrgLevel.national else None
    if org_unit is not None and principal is not None:
        ensure_in_scope(principal, org_unit)
    if org_unit is not None and org_unit.level == OrgLevel.national:
        raise ValidationFailed("org_unit", "Say which provincial or local office the imported records belong to.")
    return org_unit


def _in_scope(session: Session, principal: Principal | None, org_unit_id: int) -> bool:
    if principal is None:
        return True
    try:
        ensure_in_scope(principal, session.get(OrgUnit, org_unit_id))
    except PermissionDenied:
        return False
    return True
