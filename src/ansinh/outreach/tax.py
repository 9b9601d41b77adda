"""Matching the tax authority's data with the agency's records (nothing is stored: a report).

Two files (CSV in UTF-8 or Excel, header on row 1):

- the **enterprises** (``tax_code, name, address, employee_count``): the tax authority's register of enterprises
  with the employees of their payroll or income-tax filings;
- the **withholdings** (``employer_tax_code, citizen_id, month``), optional: the income tax withheld per worker and
  month (``YYYY-MM``).

Findings:

- ``unregistered``: an enterprise whose tax code no employer of the agency has;
- ``under_declared``: a registered employer (of the caller's scope) whose compulsory social insurance workers on the
  day (distinct people with a current compulsory SI period of the employer in force) are fewer than the employees
  the tax data show;
- ``worker_without_si``: a worker with tax withheld in a month but no compulsory SI period in force on any day of
  that month (with any employer), or not in the registry at all. Reported when the withholding employer is of the
  caller's scope or registered nowhere; a person of another scope is named only by the citizen ID of the file.

A bad row is named by file, row (header = 1) and column in both languages and left out of the matching; the rest
is matched. Every finding about a registered employer can open an inspection case
(:func:`open_inspection`, through :mod:`ansinh.collection.inspections`).

Set-based: the rows are checked on columns (Polars); the registry is read by chunks of keys (``IN`` lists); the
comparisons are joins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ansinh.auth.permissions import Principal, ensure_in_scope
from ansinh.errors import Conflict, NotFound
from ansinh.formatting import in_both_languages
from ansinh.i18n import N_
from ansinh.participation.models import CoveragePeriod, Scheme
from ansinh.registry.identifiers import tax_code_check_digit
from ansinh.registry.imports import ImportRowError, FileProblem, read_table
from ansinh.registry.models import Employer, Person

MAX_ROWS = 2_000_000
CHUNK = 5_000
ENTERPRISE_COLUMNS = ("tax_code", "name", "address", "employee_count")
ENTERPRISE_REQUIRED = ("tax_code", "name", "employee_count")
WITHHOLDING_COLUMNS = ("employer_tax_code", "citizen_id", "month")
MAX_EMPLOYEES = 10_000_000

REASONS = {
    "missing_column": N_("The file has no column {column}."),
    "empty": N_("The file has no lines."),
    "too_many": N_("A file holds at most {limit} rows."),
    "required": N_("A value is required."),
    "tax_code": N_("A tax code has 10 digits, or 13 for a branch, with a correct check digit."),
    "citizen_id": N_("A citizen ID is 12 digits."),
    "month": N_("A month is written YYYY-MM, from 1995-01 on."),
    "count": N_("A whole number from 0 to {high} is expected."),
    "name": N_("A name has at most 200 characters."),
    "duplicate_enterprise": N_("The same tax code is on an earlier row."),
}


def _reason(key: str, **params: Any) -> tuple[str, str]:
    return in_both_languages(REASONS[key], shown=False, **params)


@dataclass
class FileErrors:
    file_name: str
    errors: list[ImportRowError] = field(default_factory=list)


@dataclass
class TaxMatchReport:
    on: date
    status: str  # done | rejected (a file unreadable or without its columns: no findings)
    enterprises_file: str
    withholdings_file: str | None
    sha256: str
    enterprises: int = 0
    withholdings: int = 0
    outside_scope: int = 0  # enterprises registered with an office outside the caller's scope (not matched)
    errors: list[dict] = field(default_factory=list)  # file, row, column, value, reason_en, reason_vi
    unregistered: list[dict] = field(default_factory=list)
    under_declared: list[dict] = field(default_factory=list)
    workers_without_si: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"on": self.on.isoformat(), "status": self.status, "enterprises_file": self.enterprises_file,
                "withholdings_file": self.withholdings_file, "sha256": self.sha256, "enterprises": self.enterprises,
                "withholdings": self.withholdings, "outside_scope": self.outside_scope, "errors": self.errors,
                "counts": {"unregistered": len(self.unregistered), "under_declared": len(self.under_declared),
                           "workers_without_si": len(self.workers_without_si)},
                "unregistered": self.unregistered, "under_declared": self.under_declared,
                "workers_without_si": self.workers_without_si}

    def error_lines(self, language: str = "en") -> list[str]:
        word = "row" if language == "en" else "dòng"
        return [f"{e['file']}, {word} {e['row']}, {e['column']}: {e['reason_' + language]}" for e in self.errors]


# --- reading and checking the files ---------------------------------------------------------------------------

def _valid_tax_codes(values: pl.Series) -> pl.Series:
    """Per value: 10 digits (or 13 for a branch, hyphen allowed) with a correct check digit."""
    unique = values.drop_nulls().unique().to_list()
    good = {v for v in unique if len(v) in (10, 13) and v.isascii() and v.isdigit()
            and tax_code_check_digit(v[:9]) == int(v[9])}
    return values.is_in(list(good)).fill_null(False)


def _errors_of(frame: pl.DataFrame, file_name: str, column: str, bad: pl.Series, key: str, **params) -> list[dict]:
    en, vi = _reason(key, **params)
    rows = frame.filter(bad)  # ``row``: the row of the file (header = 1)
    return [{"file": file_name, "row": int(i), "column": column, "value": "" if v is None else str(v)[:100],
             "reason_en": en, "reason_vi": vi} for i, v in rows.select("row", column).iter_rows()]


def _file_errors(file_name: str, problems: Iterable[ImportRowError]) -> list[dict]:
    return [{"file": file_name, **asdict(e)} for e in problems]


def _read(content: bytes, file_name: str, columns: tuple[str, ...], required: tuple[str, ...]
          ) -> tuple[pl.DataFrame | None, list[dict]]:
    try:
        frame = read_table(content, file_name)
    except FileProblem as problem:
        return None, _file_errors(file_name, problem.errors)
    missing = [name for name in required if name not in frame.columns]
    if missing:
        return None, [{"file": file_name, "row": 1, "column": name, "value": "",
                       **dict(zip(("reason_en", "reason_vi"), _reason("missing_column", column=name)))}
                      for name in missing]
    if frame.height == 0:
        return None, [{"file": file_name, "row": 1, "column": "", "value": "",
                       **dict(zip(("reason_en", "reason_vi"), _reason("empty")))}]
    if frame.height > MAX_ROWS:
        return None, [{"file": file_name, "row": MAX_ROWS + 2, "column": "", "value": "",
                       **dict(zip(("reason_en", "reason_vi"), _reason("too_many", limit=MAX_ROWS)))}]
    frame = frame.select(*(pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in columns))
    return frame.with_row_index("row", offset=2), []


def read_enterprises(content: bytes, file_name: str) -> tuple[pl.DataFrame | None, list[dict]]:
    """The good rows (``row, tax_code, name, address, employee_count``) and the errors of the others; None: the
    file itself is rejected."""
    frame, errors = _read(content, file_name, ENTERPRISE_COLUMNS, ENTERPRISE_REQUIRED)
    if frame is None:
        return None, errors
    frame = frame.with_columns(pl.col("tax_code").str.replace_all("-", ""))
    count = pl.col("employee_count").str.strip_suffix(".0")
    checks = [
        ("tax_code", frame["tax_code"].is_null(), "required", {}),
        ("tax_code", frame["tax_code"].is_not_null() & ~_valid_tax_codes(frame["tax_code"]), "tax_code", {}),
        ("name", frame["name"].is_null(), "required", {}),
        ("name", frame["name"].str.len_chars().fill_null(0) > 200, "name", {}),
        ("employee_count", frame.select(~count.str.contains(r"^[0-9]{1,8}$").fill_null(False)).to_series()
         | (frame.select(count.cast(pl.Int64, strict=False)).to_series().fill_null(-1) > MAX_EMPLOYEES),
         "count", {"high": MAX_EMPLOYEES}),
    ]
    bad = pl.Series([False] * frame.height)
    for column, mask, key, params in checks:
        errors += _errors_of(frame, file_name, column, mask & ~bad, key, **params)
        bad = bad | mask
    frame = frame.filter(~bad).with_columns(employee_count=count.cast(pl.Int64))
    duplicate = frame["tax_code"].is_duplicated() & ~frame["tax_code"].is_first_distinct()
    errors += _errors_of(frame, file_name, "tax_code", duplicate, "duplicate_enterprise")
    return frame.filter(~duplicate), sorted(errors, key=lambda e: e["row"])


def read_withholdings(content: bytes, file_name: str) -> tuple[pl.DataFrame | None, list[dict]]:
    """The good rows (``row, employer_tax_code, citizen_id, month`` as the month's first day), each worker and month
    of an employer once, and the errors of the others."""
    frame, errors = _read(content, file_name, WITHHOLDING_COLUMNS, WITHHOLDING_COLUMNS)
    if frame is None:
        return None, errors
    frame = frame.with_columns(pl.col("employer_tax_code").str.replace_all("-", ""))
    month = pl.col("month").str.slice(0, 7)
    parsed = frame.select(pl.when(pl.col("month").str.contains(r"^[0-9]{4}-(0[1-9]|1[0-2])(-01)?$"))
                          .then((month + "-01").str.to_date("%Y-%m-%d", strict=False))).to_series()
    checks = [
        ("employer_tax_code", frame["employer_tax_code"].is_null(), "required"),
        ("employer_tax_code", frame["employer_tax_code"].is_not_null()
         & ~_valid_tax_codes(frame["employer_tax_code"]), "tax_code"),
        ("citizen_id", frame["citizen_id"].is_null(), "required"),
        ("citizen_id", ~frame["citizen_id"].str.contains(r"^[0-9]{12}$").fill_null(True), "citizen_id"),
        ("month", parsed.is_null() | (parsed < date(1995, 1, 1)).fill_null(True), "month"),
    ]
    bad = pl.Series([False] * frame.height)
    for column, mask, key in checks:
        errors += _errors_of(frame, file_name, column, mask & ~bad, key)
        bad = bad | mask
    frame = (frame.with_columns(month=parsed).filter(~bad)
             .unique(["employer_tax_code", "citizen_id", "month"], keep="first", maintain_order=True))
    return frame, sorted(errors, key=lambda e: e["row"])


# --- reading the registry by chunks ---------------------------------------------------------------------------

def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _employers(session: Session, tax_codes: list[str]) -> pl.DataFrame:
    rows = []
    for chunk in _chunks(tax_codes):
        rows += session.execute(select(Employer.id, Employer.tax_code, Employer.name, Employer.org_unit_id)
                                .where(Employer.tax_code.in_(chunk))).all()
    return pl.DataFrame(rows, schema={"employer_id": pl.Int64, "tax_code": pl.String, "registered_name": pl.String,
                                      "org_unit_id": pl.Int64}, orient="row")


def _scope_units(session: Session, principal: Principal | None, unit_ids: Iterable[int]) -> set[int]:
    """The org units of ``unit_ids`` in the caller's scope (all of them for the CLI and national staff)."""
    from ansinh.auth.models import OrgUnit

    ids = sorted(set(unit_ids))
    if principal is None or principal.org_unit_level == "national":
        return set(ids)
    found: set[int] = set()
    for chunk in _chunks(ids):
        found |= {unit_id for unit_id, path in session.execute(select(OrgUnit.id, OrgUnit.path)
                                                                .where(OrgUnit.id.in_(chunk)))
                  if principal.covers_path(path)}
    return found


def _si_workers(session: Session, employer_ids: list[int], on: date) -> pl.DataFrame:
    """Per employer: distinct people with a current compulsory SI period of the employer in force on ``on``."""
    rows = []
    for chunk in _chunks(employer_ids):
        rows += session.execute(
            select(CoveragePeriod.employer_id, func.count(func.distinct(CoveragePeriod.person_id)))
            .where(CoveragePeriod.employer_id.in_(chunk), CoveragePeriod.scheme == Scheme.si_compulsory,
                   CoveragePeriod.superseded_at.is_(None), CoveragePeriod.valid_from <= on,
                   or_(CoveragePeriod.valid_to.is_(None), CoveragePeriod.valid_to > on))
            .group_by(CoveragePeriod.employer_id)).all()
    return pl.DataFrame(rows, schema={"employer_id": pl.Int64, "si_workers": pl.Int64}, orient="row")


def _people(session: Session, citizen_ids: list[str]) -> pl.DataFrame:
    rows = []
    for chunk in _chunks(citizen_ids):
        rows += session.execute(select(Person.id, Person.citizen_id, Person.full_name, Person.si_number,
                                       Person.org_unit_id)
                                .where(Person.citizen_id.in_(chunk), Person.merged_into_id.is_(None))).all()
    return pl.DataFrame(rows, schema={"person_id": pl.Int64, "citizen_id": pl.String, "full_name": pl.String,
                                      "si_number": pl.String, "person_unit": pl.Int64}, orient="row")


def _compulsory_periods(session: Session, person_ids: list[int]) -> pl.DataFrame:
    rows = []
    for chunk in _chunks(person_ids):
        rows += session.execute(select(CoveragePeriod.person_id, CoveragePeriod.valid_from, CoveragePeriod.valid_to)
                                .where(CoveragePeriod.person_id.in_(chunk),
                                       CoveragePeriod.scheme == Scheme.si_compulsory,
                                       CoveragePeriod.superseded_at.is_(None))).all()
    return pl.DataFrame(rows, schema={"person_id": pl.Int64, "valid_from": pl.Date, "valid_to": pl.Date},
                        orient="row")


# --- the matching ---------------------------------------------------------------------------------------------

def tax_match(session: Session, principal: Principal | None, *, enterprises: bytes, enterprises_name: str,
              on: date, withholdings: bytes | None = None, withholdings_name: str | None = None) -> TaxMatchReport:
    """Match the tax authority's files with the registry and the participation on ``on`` (module docstring). Reads
    only; the caller records the report's audit (:func:`audit_match`)."""
    enterprises_name = (enterprises_name or "enterprises.csv")[:200]
    withholdings_name = (withholdings_name or "withholdings.csv")[:200] if withholdings is not None else None
    digest = hashlib.sha256(enterprises + (withholdings or b"")).hexdigest()
    report = TaxMatchReport(on=on, status="rejected", enterprises_file=enterprises_name,
                            withholdings_file=withholdings_name, sha256=digest)
    firms, errors = read_enterprises(enterprises, enterprises_name)
    report.errors += errors
    workers = None
    if withholdings is not None:
        workers, errors = read_withholdings(withholdings, withholdings_name)
        report.errors += errors
        if workers is None:
            return report
    if firms is None:
        return report
    report.status, report.enterprises = "done", firms.height
    report.withholdings = workers.height if workers is not None else 0

    codes = firms["tax_code"].to_list() + (workers["employer_tax_code"].unique().to_list() if workers is not None
                                           else [])
    employers = _employers(session, sorted(set(codes)))
    in_scope = _scope_units(session, principal, employers["org_unit_id"].to_list())
    employers = employers.with_columns(in_scope=pl.col("org_unit_id").is_in(list(in_scope)))

    matched = firms.join(employers, on="tax_code", how="left")
    report.outside_scope = matched.filter(pl.col("employer_id").is_not_null() & ~pl.col("in_scope")).height
    report.unregistered = (matched.filter(pl.col("employer_id").is_null())
                           .select("row", "tax_code", "name", "address", "employee_count").to_dicts())
    mine = matched.filter(pl.col("in_scope").fill_null(False))
    counts = _si_workers(session, mine["employer_id"].to_list(), on)
    report.under_declared = (
        mine.join(counts, on="employer_id", how="left").with_columns(pl.col("si_workers").fill_null(0))
        .filter(pl.col("si_workers") < pl.col("employee_count"))
        .select("row", "employer_id", "tax_code", "registered_name", "employee_count", "si_workers",
                missing=pl.col("employee_count") - pl.col("si_workers"))
        .rename({"registered_name": "name"}).to_dicts())
    if workers is not None:
        report.workers_without_si = _workers_without_si(session, principal, workers, employers)
    return report


def _workers_without_si(session: Session, principal: Principal | None, workers: pl.DataFrame,
                        employers: pl.DataFrame) -> list[dict]:
    rows = (workers.join(employers.select(pl.col("tax_code").alias("employer_tax_code"), "employer_id", "in_scope"),
                         on="employer_tax_code", how="left")
            .filter(pl.col("in_scope").fill_null(True)))  # of the caller's scope, or registered nowhere
    people = _people(session, rows["citizen_id"].unique().to_list())
    visible = _scope_units(session, principal, people["person_unit"].to_list())
    people = people.with_columns(person_visible=pl.col("person_unit").is_in(list(visible)))
    periods = _compulsory_periods(session, people["person_id"].to_list())
    rows = rows.join(people, on="citizen_id", how="left").with_columns(
        month_end=pl.col("month").dt.offset_by("1mo"))
    covered = (rows.filter(pl.col("person_id").is_not_null()).select("row", "person_id", "month", "month_end")
               .join(periods, on="person_id", how="inner")
               .filter((pl.col("valid_from") < pl.col("month_end"))
                       & (pl.col("valid_to").is_null() | (pl.col("valid_to") > pl.col("month"))))
               .select("row").unique())
    found = rows.join(covered, on="row", how="anti").sort("row")
    visible_person = pl.col("person_visible").fill_null(False)
    return found.select(
        "row", "employer_tax_code", "employer_id", "citizen_id",
        month=pl.col("month").dt.strftime("%Y-%m"),
        registered=pl.col("person_id").is_not_null(),
        person_id=pl.when(visible_person).then(pl.col("person_id")),
        full_name=pl.when(visible_person).then(pl.col("full_name")),
        si_number=pl.when(visible_person).then(pl.col("si_number")),
    ).to_dicts()


def audit_match(session: Session, principal: Principal | None, report: TaxMatchReport) -> None:
    """One audit event for a match run: the files, the counts, and the people named (those of the caller's scope)."""
    from ansinh.audit.service import record_event
    from ansinh.registry.service import record_people_listed

    record_event(session, "outreach.tax_match", "tax_match", None,
                 org_unit_id=principal.org_unit_id if principal else None,
                 details={"on": report.on.isoformat(), "enterprises_file": report.enterprises_file,
                          "withholdings_file": report.withholdings_file, "sha256": report.sha256,
                          "status": report.status, **report.to_json()["counts"], "errors": len(report.errors)})
    named = [row for row in report.workers_without_si if row["person_id"] is not None]
    if named:
        from types import SimpleNamespace

        record_people_listed(session, principal, [SimpleNamespace(id=r["person_id"], si_number=r["si_number"])
                                                  for r in named], what="outreach.tax_match",
                             query={"on": report.on.isoformat(), "sha256": report.sha256})


# --- opening an inspection case -------------------------------------------------------------------------------

def open_inspection(session: Session, principal: Principal | None, *, tax_code: str, on: date,
                    findings: str | None = None) -> tuple[Any, bool]:
    """Open an inspection case for a finding about a registered employer (``collection.inspections.open_case``),
    with the finding's text as the case's findings. The employer's open case, if it has one, is the answer (a
    replay opens nothing and changes nothing): ``(case, opened)``."""
    from ansinh.collection import inspections

    code = (tax_code or "").strip().replace("-", "")
    employer = session.scalar(select(Employer).where(Employer.tax_code == code))
    if employer is None:
        raise NotFound("No employer with tax code {tax_code}.", tax_code=code)
    if principal is not None:
        from ansinh.auth.models import OrgUnit

        ensure_in_scope(principal, session.get(OrgUnit, employer.org_unit_id))
    try:
        with session.begin_nested():
            case = inspections.open_case(session, principal, employer_id=employer.id, on=on)
    except Conflict:
        existing = inspections.list_cases(session, principal, employer_id=employer.id, status=inspections.OPEN,
                                          limit=1)
        if not existing:
            raise
        return existing[0], False
    if findings and findings.strip():
        inspections.record_findings(session, principal, case.id, findings)
    return case, True


def finding_text(kind: str, row: dict) -> str:
    """The findings of an inspection case opened from a tax finding (in Vietnamese, the case file's language)."""
    if kind == "under_declared":
        return (f"Đối chiếu dữ liệu thuế: {row['employee_count']} lao động theo cơ quan thuế, "
                f"{row['si_workers']} lao động tham gia BHXH bắt buộc (thiếu {row['missing']}).")
    return (f"Đối chiếu dữ liệu thuế: người lao động {row['citizen_id']} bị khấu trừ thuế TNCN tháng {row['month']} "
            f"nhưng không tham gia BHXH bắt buộc.")


