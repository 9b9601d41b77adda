"""The employer's list of sickness and maternity cases (form 01B-HSB, "danh sách đề nghị giải quyết hưởng chế độ ốm
đau, thai sản"), sent as one file (CSV or Excel, the template's columns): each line becomes a benefit claim filed
through the employer (channel ``employer``) or is rejected with its reason, named by file, row and column in both
languages. One bad line never stops the others.

- **Who**: an employer account for its own workers (its ``subject_ref`` is its tax code); agency staff for an
  employer of their org-unit subtree. Another employer's list is refused (403), an employer of another province is
  not found (404), and nothing is written.
- **Checks per line**: the person is registered (by citizen ID); they were a worker of this employer, with
  compulsory social insurance, on the first day of the leave (sickness) or on the birth (maternity), as the
  participation records show; the dates are dates and not after the day the list is sent; the numbers are whole.
- **Nothing twice**: the same file again (same employer, same SHA-256) answers the first outcome and files nothing;
  a case sent again in another file (same worker, type and first day) is not filed twice either: its claim's
  ``external_ref`` is ``01B:<tax code>:<citizen ID>:<type>:<date>`` and the claim filed then is answered.
- Every line runs in a savepoint: a line whose filing fails is rolled back alone; the batch row records the outcome
  of every line (``EmployerBenefitBatch.outcomes``).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event, record_read
from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Permission, Principal, org_scope, permission_denied
from ansinh.benefits import service
from ansinh.benefits.models import BenefitClaim, Channel, ClaimType, EmployerBenefitBatch
from ansinh.benefits.schemas import MaternityDetails, SicknessDetails
from ansinh.bounds import EARLIEST_DATE
from ansinh.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ansinh.formatting import in_both_languages
from ansinh.i18n import N_
from ansinh.participation import service as participation
from ansinh.participation.models import Scheme
from ansinh.registry.imports import ColumnSpec, FileProblem, ImportRowError, read_checked_table, visible
from ansinh.registry.models import Employer, Person
from ansinh.registry.templates_xlsx import template_workbook

#: The most lines one list may hold (a large employer's month of cases fits many times over).
MAX_LINES = 5_000
#: Claim types an employer's list carries.
TYPES = (ClaimType.sickness.value, ClaimType.maternity.value)


def bounds_of(model, name: str) -> tuple[int, int]:
    """The range a field of a claim's details takes (its schema's ``ge`` and ``le``): a line passing these is a
    claim's details."""
    low = next(int(m.ge) for m in model.model_fields[name].metadata if getattr(m, "ge", None) is not None)
    high = next(int(m.le) for m in model.model_fields[name].metadata if getattr(m, "le", None) is not None)
    return low, high


DAYS = bounds_of(SicknessDetails, "days")
CHILDREN = bounds_of(MaternityDetails, "children")
CHILD_ORDER = bounds_of(MaternityDetails, "child_order")

COLUMNS = [
    ColumnSpec("line", False, "The line number on the employer's list (default: the row of the file).",
               "Số thứ tự trên danh sách của đơn vị (mặc định: số dòng của tệp).", "1"),
    ColumnSpec("citizen_id", True, "The worker's citizen ID (CCCD), 12 digits.",
               "Số định danh cá nhân (CCCD) của người lao động, 12 chữ số.", "001090012345"),
    ColumnSpec("type", True, "sickness (ốm đau) or maternity (thai sản).", "sickness (ốm đau) hoặc maternity "
               "(thai sản).", "sickness"),
    ColumnSpec("leave_from", False, "Sickness: the first day of the leave (YYYY-MM-DD or DD/MM/YYYY).",
               "Ốm đau: ngày đầu nghỉ việc (YYYY-MM-DD hoặc DD/MM/YYYY).", "2026-02-02"),
    ColumnSpec("days", False, "Sickness: the working days of leave certified (1 to 365).",
               "Ốm đau: số ngày nghỉ làm việc được xác nhận (1 đến 365).", "5"),
    ColumnSpec("hazardous", False, "Sickness: yes if the work is heavy, hazardous or dangerous (default no).",
               "Ốm đau: có nếu làm nghề nặng nhọc, độc hại, nguy hiểm (mặc định không).", "no"),
    ColumnSpec("birth_on", False, "Maternity: the day of the birth (YYYY-MM-DD or DD/MM/YYYY).",
               "Thai sản: ngày sinh con (YYYY-MM-DD hoặc DD/MM/YYYY).", ""),
    ColumnSpec("children", False, "Maternity: children born (default 1).", "Thai sản: số con sinh (mặc định 1).",
               ""),
    ColumnSpec("child_order", False, "Maternity: the order of the (first) child of this birth (default 1).",
               "Thai sản: con thứ mấy (mặc định 1).", ""),
]
REQUIRED = tuple(spec.name for spec in COLUMNS if spec.required)
_YES = {"yes", "y", "1", "true", "x", "co", "có"}
_NO = {"no", "n", "0", "false", "khong", "không", ""}

REASONS = {
    "required": N_("A value is required."),
    "type": N_("The type is sickness or maternity."),
    "citizen_id": N_("A citizen ID is 12 digits."),
    "date": N_("Not a date: write YYYY-MM-DD or DD/MM/YYYY."),
    "future": N_("The date {day} is after the day the list is sent ({on})."),
    "whole": N_("Write a whole number from {low} to {high}."),
    "yes_no": N_("Write yes or no."),
    "unknown_person": N_("No person is registered with citizen ID {citizen_id}."),
    "not_worker": N_("{citizen_id} was not a worker of this employer with compulsory social insurance on {on}."),
    "duplicate": N_("Row {row} of this file gives the same case."),
}


def _reason(key: str, **params: Any) -> tuple[str, str]:
    return in_both_languages(REASONS[key], shown=False, **params)


@dataclass
class LineOutcome:
    """What became of one line: ``filed`` (a new claim), ``already_filed`` (the claim filed before for the same
    case) or ``rejected`` (``error``: the column, the value, and the reason in both languages)."""
    row: int  # the row of the file (header = 1)
    line: int | str
    citizen_id: str | None
    type: str | None
    status: str
    claim_id: int | None = None
    error: dict | None = None


@dataclass
class FileReport:
    """What became of a file of lines (an employer's list, the employment office's decisions): each line filed,
    found filed before, or rejected (``outcomes``); or the file itself rejected (``errors``: nothing written)."""
    file_name: str
    sha256: str
    status: str
    filed: int = 0
    already_filed: int = 0
    rejected: int = 0
    outcomes: list[dict] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"file_name": self.file_name, "sha256": self.sha256, "status": self.status, "filed": self.filed,
                "already_filed": self.already_filed, "rejected": self.rejected, "outcomes": self.outcomes,
                "errors": [asdict(e) for e in self.errors]}

    def error_lines(self, language: str = "en") -> list[str]:
        """Every problem as ``file, row N, column: reason`` (for the command line)."""
        word = "row" if language == "en" else "dòng"
        lines = [f"{self.file_name}, {word} {e.row}, {e.column}: {e.reason_en if language == 'en' else e.reason_vi}"
                 for e in self.errors]
        for outcome in self.outcomes:
            error = outcome.get("error")
            if error:
                reason = error["reason_en"] if language == "en" else error["reason_vi"]
                lines.append(f"{self.file_name}, {word} {outcome['row']}, {error['column']}: {reason}")
        return lines


@dataclass
class BatchReport(FileReport):
    """The answer to a list: ``status`` is ``done`` (the lines were filed or rejected one by one), ``replayed``
    (the same file was sent before: its outcome, nothing filed) or ``rejected`` (the file itself could not be read or
    lacks columns: nothing written, ``errors`` name the row and column, header = row 1)."""
    batch_id: int | None = None
    employer_tax_code: str | None = None
    lines: int = 0

    def to_json(self) -> dict:
        return {**super().to_json(), "batch_id": self.batch_id, "employer_tax_code": self.employer_tax_code,
                "lines": self.lines}


# --- templates ----------------------------------------------------------------------------------------------

def template_xlsx() -> bytes:
    """The 01B-HSB template: sheet ``data`` (the columns and an example line) and ``columns`` (their meaning in both
    languages)."""
    return template_workbook("01B-HSB", COLUMNS)


def template_csv() -> bytes:
    return (",".join(spec.name for spec in COLUMNS) + "\n" + ",".join(spec.example for spec in COLUMNS)
            + "\n").encode()


# --- who may send an employer's list -------------------------------------------------------------------------

def _is_employer_account(principal: Principal) -> bool:
    return Role.employer in principal.roles and not principal.is_agency_staff


def employer_for_batch(session: Session, principal: Principal, tax_code: str | None) -> Employer:
    """The employer a list is sent for: an employer account's own (another's is refused, 403); for agency staff an
    employer of their subtree (another province's is not found, 404)."""
    if not principal.has(Permission.benefits_file):
        raise permission_denied(Permission.benefits_file)
    if _is_employer_account(principal):
        own = principal.subject_ref or ""
        if tax_code and tax_code.strip() != own:
            raise PermissionDenied(N_("An employer sends the list of its own workers only."))
        tax_code = own
    elif Role.citizen in principal.roles and not principal.is_agency_staff:
        raise PermissionDenied(N_("An employer or the agency's staff send an employer's list of cases."))
    tax_code = (tax_code or "").strip()
    if not tax_code:
        raise ValidationFailed("employer", "Give the tax code of the employer whose list this is.")
    employer = session.scalar(select(Employer).where(Employer.tax_code == tax_code))
    if employer is None:
        raise NotFound("No employer with tax code {tax_code}.", tax_code=tax_code)
    if not _is_employer_account(principal):
        unit = session.get(OrgUnit, employer.org_unit_id)
        if unit is None or not principal.covers_path(unit.path):
            raise NotFound("No employer with tax code {tax_code}.", tax_code=tax_code)
    return employer


def _batch_scope(principal: Principal):
    if _is_employer_account(principal):
        mine = select(Employer.id).where(Employer.tax_code == (principal.subject_ref or "\x00"))
        return EmployerBenefitBatch.employer_id.in_(mine)
    if Role.citizen in principal.roles and not principal.is_agency_staff:
        return EmployerBenefitBatch.id.is_(None)  # a citizen sees no employer's list
    return org_scope(principal, EmployerBenefitBatch.org_unit_id)


def get_batch(session: Session, principal: Principal, batch_id: int) -> EmployerBenefitBatch:
    """A list the caller may see (the employer that sent it, staff of its subtree); 404 otherwise. The read is
    audited (its outcomes name workers)."""
    batch = session.scalar(select(EmployerBenefitBatch).where(EmployerBenefitBatch.id == batch_id,
                                                              _batch_scope(principal)))
    if batch is None:
        raise NotFound("The employer's list {id} does not exist.", id=batch_id)
    record_read(session, "employer_benefit_batch", batch.id, org_unit_id=batch.org_unit_id)
    return batch


def batch_report(session: Session, batch: EmployerBenefitBatch, *, status: str = "done") -> BatchReport:
    employer = session.get(Employer, batch.employer_id)
    outcomes = list(batch.outcomes or [])
    return BatchReport(file_name=batch.file_name, sha256=batch.file_sha256, status=status, batch_id=batch.id,
                       employer_tax_code=employer.tax_code if employer else None, lines=batch.lines,
                       filed=batch.filed, rejected=batch.rejected,
                       already_filed=sum(1 for o in outcomes if o.get("status") == "already_filed"),
                       outcomes=outcomes)


# --- reading a line ---------------------------------------------------------------------------------------------

class _LineError(Exception):
    """A line's problem: its column, the value as given, and the reason (a key of :attr:`reasons`) in both
    languages."""
    reasons: ClassVar[dict[str, str]] = REASONS

    def __init__(self, column: str, value: Any, key: str, **params: Any) -> None:
        super().__init__(key)
        self.column, self.value = column, visible("" if value is None else str(value))
        self.reason_en, self.reason_vi = in_both_languages(self.reasons[key], shown=False, **params)

    def as_json(self) -> dict:
        return {"column": self.column, "value": self.value, "reason_en": self.reason_en, "reason_vi": self.reason_vi}


def parse_day(column: str, raw: str | None, *, required: bool) -> date | None:
    """A date as the templates write it: YYYY-MM-DD, DD/MM/YYYY, or an Excel date read as text."""
    text = (raw or "").strip()
    if not text:
        if required:
            raise _LineError(column, raw, "required")
        return None
    text = text.removesuffix(" 00:00:00").removesuffix("T00:00:00")  # an Excel date read as text
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            value = date(year, month, day)
        else:
            value = date.fromisoformat(text)
    except ValueError:
        raise _LineError(column, raw, "date") from None
    if value < EARLIEST_DATE:
        raise _LineError(column, raw, "date")
    return value


def parse_whole(column: str, raw: str | None, *, low: int, high: int, default: int | None = None) -> int:
    text = (raw or "").strip()
    if not text:
        if default is None:
            raise _LineError(column, raw, "required")
        return default
    text = text.removesuffix(".0")  # a number cell of Excel read as text
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise _LineError(column, raw, "whole", low=low, high=high)
    return int(text)


def _yes_no(column: str, raw: str | None) -> bool:
    text = (raw or "").strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _LineError(column, raw, "yes_no")


@dataclass
class _Case:
    row: int
    line: int | str
    citizen_id: str
    claim_type: str
    on: date  # the day the worker must have been employed: first day of leave, or the birth
    details: dict

    @property
    def key(self) -> str:
        return f"{self.citizen_id}:{self.claim_type}:{self.on.isoformat()}"


def read_case(raw: dict, row: int, *, sent_on: date) -> _Case:
    """One line checked on its own (no database): the case, or a _LineError naming the column."""
    line: int | str = (raw.get("line") or "").strip()[:20] or row
    citizen_id = (raw.get("citizen_id") or "").strip()
    if not citizen_id:
        raise _LineError("citizen_id", raw.get("citizen_id"), "required")
    if len(citizen_id) != 12 or not (citizen_id.isascii() and citizen_id.isdigit()):
        raise _LineError("citizen_id", citizen_id, "citizen_id")
    claim_type = (raw.get("type") or "").strip().lower()
    if claim_type not in TYPES:
        raise _LineError("type", raw.get("type"), "required" if not claim_type else "type")
    if claim_type == ClaimType.sickness.value:
        on = parse_day("leave_from", raw.get("leave_from"), required=True)
        details = {"leave_from": on.isoformat(),
                   "days": parse_whole("days", raw.get("days"), low=DAYS[0], high=DAYS[1]),
                   "hazardous": _yes_no("hazardous", raw.get("hazardous"))}
        column = "leave_from"
    else:
        on = parse_day("birth_on", raw.get("birth_on"), required=True)
        details = {"birth_on": on.isoformat(),
                   "children": parse_whole("children", raw.get("children"), low=CHILDREN[0], high=CHILDREN[1],
                                           default=1),
                   "child_order": parse_whole("child_order", raw.get("child_order"), low=CHILD_ORDER[0],
                                              high=CHILD_ORDER[1], default=1)}
        column = "birth_on"
    if on > sent_on:
        raise _LineError(column, on.isoformat(), "future", day=on.isoformat(), on=sent_on.isoformat())
    return _Case(row, line, citizen_id, claim_type, on, details)


def was_worker(session: Session, person_id: int, employer_id: int, on: date) -> bool:
    """The participation records show the person insured (compulsory SI) by this employer on ``on``."""
    return any(period.employer_id == employer_id and period.scheme == Scheme.si_compulsory
               for period in participation.coverage_on(session, person_id, on))


# --- the list ---------------------------------------------------------------------------------------------------

def submit_employer_batch(session: Session, principal: Principal, *, content: bytes, file_name: str,
                          employer_tax_code: str | None, on: date) -> BatchReport:
    """Read an employer's list sent on ``on`` and file a claim for each good line (see the module's docstring).
    The caller owns the transaction (and commits the batch with its claims)."""
    employer = employer_for_batch(session, principal, employer_tax_code)
    file_name = (file_name or "01B-HSB")[:200]
    digest = hashlib.sha256(content).hexdigest()
    existing = session.scalar(select(EmployerBenefitBatch).where(EmployerBenefitBatch.employer_id == employer.id,
                                                                 EmployerBenefitBatch.file_sha256 == digest))
    if existing is not None:
        return batch_report(session, existing, status="replayed")
    report = BatchReport(file_name=file_name, sha256=digest, status="rejected", employer_tax_code=employer.tax_code)
    try:
        frame = read_checked_table(content, file_name, required=REQUIRED, max_rows=MAX_LINES)
    except FileProblem as problem:
        report.errors = problem.errors
        return report

    batch = EmployerBenefitBatch(employer_id=employer.id, file_name=file_name, file_sha256=digest, submitted_on=on,
                                 lines=frame.height, org_unit_id=employer.org_unit_id,
                                 submitted_by=principal.username)
    try:
        with session.begin_nested():  # the same file sent twice at once: the second waits here, then replays
            session.add(batch)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(EmployerBenefitBatch).where(
            EmployerBenefitBatch.employer_id == employer.id, EmployerBenefitBatch.file_sha256 == digest))
        if existing is None:
            raise
        return batch_report(session, existing, status="replayed")
    outcomes: list[LineOutcome] = []
    seen: dict[str, int] = {}
    columns = [c for c in (spec.name for spec in COLUMNS) if c in frame.columns]
    for index, raw in enumerate(frame.select(columns).iter_rows(named=True)):
        row = index + 2
        outcomes.append(_file_line(session, principal, employer, batch, raw, row, on=on, seen=seen))
    batch.outcomes = [asdict(o) for o in outcomes]
    batch.filed = sum(1 for o in outcomes if o.status == "filed")
    batch.rejected = sum(1 for o in outcomes if o.status == "rejected")
    session.flush()
    record_event(session, "benefits.employer_batch", "employer_benefit_batch", batch.id, org_unit_id=batch.org_unit_id,
                 details={"employer_id": employer.id, "file_name": file_name, "sha256": digest, "lines": batch.lines,
                          "filed": batch.filed, "rejected": batch.rejected})
    return batch_report(session, batch)


def _file_line(session: Session, principal: Principal, employer: Employer, batch: EmployerBenefitBatch, raw: dict,
               row: int, *, on: date, seen: dict[str, int]) -> LineOutcome:
    citizen_id = (raw.get("citizen_id") or "").strip()[:12] or None
    claim_type = (raw.get("type") or "").strip().lower()[:12] or None
    line = (raw.get("line") or "").strip()[:20] or row
    try:
        case = read_case(raw, row, sent_on=on)
        if case.key in seen:
            raise _LineError("citizen_id", case.citizen_id, "duplicate", row=seen[case.key])
        seen[case.key] = row
        person = session.scalar(select(Person).where(Person.citizen_id == case.citizen_id,
                                                     Person.merged_into_id.is_(None)))
        if person is None:
            raise _LineError("citizen_id", case.citizen_id, "unknown_person", citizen_id=case.citizen_id)
        if not was_worker(session, person.id, employer.id, case.on):
            column = "leave_from" if case.claim_type == ClaimType.sickness.value else "birth_on"
            raise _LineError(column, case.on.isoformat(), "not_worker", citizen_id=case.citizen_id,
                             on=case.on.isoformat())
    except _LineError as problem:
        return LineOutcome(row, line, citizen_id, claim_type, "rejected", error=problem.as_json())
    reference = f"01B:{employer.tax_code}:{case.key}"
    try:
        with session.begin_nested():
            claim, new = service.file_claim(
                session, principal, claim_type=case.claim_type, citizen_id=case.citizen_id, filed_on=on,
                channel=Channel.employer, details=case.details,
                external_ref=reference, employer_id=employer.id, batch_id=batch.id, batch_line=row)
    except IntegrityError:  # the same case filed at the same moment by another list: the claim filed then
        claim = session.scalar(select(BenefitClaim).where(BenefitClaim.external_ref == reference))
        if claim is None:
            raise
        return LineOutcome(row, case.line, case.citizen_id, case.claim_type, "already_filed", claim_id=claim.id)
    except DomainError as exc:  # the filing refused this line (its savepoint rolled back): the others go on
        field_name = (getattr(exc, "field", None) or "citizen_id").removeprefix("details.")
        en, vi = in_both_languages(exc.template, **exc.params)
        return LineOutcome(row, case.line, case.citizen_id, case.claim_type, "rejected",
                           error={"column": field_name, "value": "", "reason_en": en, "reason_vi": vi})
    return LineOutcome(row, case.line, case.citizen_id, case.claim_type, "filed" if new else "already_filed",
                       claim_id=claim.id)


def claims_of_batch(session: Session, batch_id: int) -> list[BenefitClaim]:
    return list(session.scalars(select(BenefitClaim).where(BenefitClaim.employer_batch_id == batch_id)
                                .order_by(BenefitClaim.batch_line)))
