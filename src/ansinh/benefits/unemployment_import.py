"""The employment office's decisions on unemployment benefit, imported as a file (CSV or Excel: decision_number,
decision_on, citizen_id, employment_ended_on, benefit_months, monthly_amount, first_month).

The employment office (trung tâm dịch vụ việc làm) decides who receives unemployment benefit, for how many months and
how much (Law 38/2013/QH13 on Employment); the agency pays it. Each row becomes an unemployment claim, filed on the
decision's day and complete at once, so that its legal clock (``benefits.deadlines.unemployment``: the first payment
within that many working days of the decision) runs from the decision. The claim's ``external_ref`` is the decision
number: a row imported again (the same file, or the decision in a later file) files nothing and answers the claim
filed then. A bad row is rejected with its reason (file, row, column; both languages); the other rows go on, each in
a savepoint.

Who: agency staff, for the people of their org-unit subtree (a person of another province: "not registered").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.permissions import Permission, Principal, permission_denied
from ansinh.benefits import service
from ansinh.benefits.employer_batch import FileReport, _LineError, bounds_of, parse_day, parse_whole
from ansinh.benefits.models import BenefitClaim, Channel, ClaimType
from ansinh.benefits.schemas import UnemploymentDetails
from ansinh.errors import DomainError, PermissionDenied
from ansinh.formatting import in_both_languages
from ansinh.i18n import N_
from ansinh.registry.imports import ColumnSpec, FileProblem, read_checked_table
from ansinh.registry.templates_xlsx import template_workbook

MAX_ROWS = 20_000


#: What a row may say: the bounds of the claim's details, so that a row passing here is a claim's details.
MONTHS = bounds_of(UnemploymentDetails, "benefit_months")
MONTHLY_AMOUNT = bounds_of(UnemploymentDetails, "monthly_amount")
#: The channel of a decision received from the employment office (an exchange between offices, not the portal).
CHANNEL = Channel.counter

COLUMNS = [
    ColumnSpec("decision_number", True, "The employment office's decision number.",
               "Số quyết định hưởng trợ cấp thất nghiệp của trung tâm dịch vụ việc làm.", "123/QĐ-TTDVVL"),
    ColumnSpec("decision_on", True, "The day of the decision (YYYY-MM-DD or DD/MM/YYYY).",
               "Ngày ký quyết định (YYYY-MM-DD hoặc DD/MM/YYYY).", "2026-03-02"),
    ColumnSpec("citizen_id", True, "The person's citizen ID (CCCD), 12 digits.",
               "Số định danh cá nhân (CCCD), 12 chữ số.", "001090012345"),
    ColumnSpec("employment_ended_on", True, "The last day of the employment contract.",
               "Ngày chấm dứt hợp đồng lao động.", "2026-01-31"),
    ColumnSpec("benefit_months", True, "Months of benefit decided (1 to 12).", "Số tháng hưởng trợ cấp (1 đến 12).",
               "3"),
    ColumnSpec("monthly_amount", True, "The monthly benefit decided, in dong.", "Mức hưởng hằng tháng (đồng).",
               "6000000"),
    ColumnSpec("first_month", False, "The first month of benefit (YYYY-MM or a date in it; default: the month "
               "of the decision).", "Tháng đầu hưởng (YYYY-MM hoặc một ngày trong tháng; mặc định: tháng của "
               "quyết định).", "2026-03"),
]
REQUIRED = tuple(spec.name for spec in COLUMNS if spec.required)

REASONS = {
    "decision_number": N_("A decision number has 1 to 60 characters."),
    "citizen_id": N_("A citizen ID is 12 digits."),
    "required": N_("A value is required."),
    "ended_after": N_("The employment ended ({day}) after the decision ({on})."),
    "duplicate": N_("Row {row} of this file gives the same decision."),
    "future": N_("The date {day} is after the day the file is imported ({on})."),
}


def _reason(key: str, **params: Any) -> tuple[str, str]:
    return in_both_languages(REASONS[key], shown=False, **params)


class _RowError(_LineError):
    reasons: ClassVar[dict[str, str]] = {**_LineError.reasons, **REASONS}


@dataclass
class DecisionsReport(FileReport):
    """``done`` (every row filed, found filed before, or rejected with its reason) or ``rejected`` (the file itself
    could not be read or lacks columns: nothing written)."""
    rows: int = 0

    def to_json(self) -> dict:
        return {**super().to_json(), "rows": self.rows}


def template_xlsx() -> bytes:
    return template_workbook("unemployment-decisions", COLUMNS)


def _month(raw: str | None, default: date) -> date:
    text = (raw or "").strip()
    if not text:
        return default.replace(day=1)
    if len(text) == 7 and text[4] == "-":  # YYYY-MM
        text += "-01"
    elif len(text) == 7 and text[2] == "/":  # MM/YYYY
        text = "01/" + text
    day = parse_day("first_month", text, required=True)
    return day.replace(day=1)


def read_decision(raw: dict, *, on: date) -> dict:
    """One row checked on its own: the claim's details, or a _LineError naming the column."""
    number = (raw.get("decision_number") or "").strip()
    if not number or len(number) > 60:
        raise _RowError("decision_number", raw.get("decision_number"), "required" if not number else
                         "decision_number")
    citizen_id = (raw.get("citizen_id") or "").strip()
    if not citizen_id:
        raise _RowError("citizen_id", raw.get("citizen_id"), "required")
    if len(citizen_id) != 12 or not (citizen_id.isascii() and citizen_id.isdigit()):
        raise _RowError("citizen_id", citizen_id, "citizen_id")
    decided = parse_day("decision_on", raw.get("decision_on"), required=True)
    if decided > on:
        raise _RowError("decision_on", decided.isoformat(), "future", day=decided.isoformat(), on=on.isoformat())
    ended = parse_day("employment_ended_on", raw.get("employment_ended_on"), required=True)
    if ended > decided:
        raise _RowError("employment_ended_on", ended.isoformat(), "ended_after", day=ended.isoformat(),
                         on=decided.isoformat())
    months = parse_whole("benefit_months", raw.get("benefit_months"), low=MONTHS[0], high=MONTHS[1])
    amount = parse_whole("monthly_amount", raw.get("monthly_amount"), low=MONTHLY_AMOUNT[0], high=MONTHLY_AMOUNT[1])
    first = _month(raw.get("first_month"), decided)
    return {"citizen_id": citizen_id, "decided_on": decided,
            "details": {"decision_number": number, "decision_on": decided.isoformat(),
                        "employment_ended_on": ended.isoformat(), "benefit_months": months,
                        "monthly_amount": amount, "first_month": first.isoformat()}}


def import_unemployment_decisions(session: Session, principal: Principal, *, content: bytes, file_name: str,
                                  on: date) -> DecisionsReport:
    """File an unemployment claim for each decision of the file (see the module's docstring); the caller owns the
    transaction."""
    if not principal.has(Permission.benefits_file):
        raise permission_denied(Permission.benefits_file)
    if not principal.is_agency_staff:
        raise PermissionDenied(N_("The employment office's decisions are imported by the agency's staff."))
    file_name = (file_name or "decisions")[:200]
    digest = hashlib.sha256(content).hexdigest()
    report = DecisionsReport(file_name=file_name, sha256=digest, status="rejected")
    try:
        frame = read_checked_table(content, file_name, required=REQUIRED, max_rows=MAX_ROWS)
    except FileProblem as problem:
        report.errors = problem.errors
        return report
    report.status, report.rows = "done", frame.height
    seen: dict[str, int] = {}
    columns = [c for c in (spec.name for spec in COLUMNS) if c in frame.columns]
    for index, raw in enumerate(frame.select(columns).iter_rows(named=True)):
        report.outcomes.append(_file_row(session, principal, raw, index + 2, on=on, seen=seen))
    for outcome in report.outcomes:
        if outcome["status"] == "filed":
            report.filed += 1
        elif outcome["status"] == "already_filed":
            report.already_filed += 1
        else:
            report.rejected += 1
    record_event(session, "benefits.unemployment_import", "unemployment_decisions", None,
                 details={"file_name": file_name, "sha256": digest, "rows": report.rows, "filed": report.filed,
                          "already_filed": report.already_filed, "rejected": report.rejected})
    return report


def _file_row(session: Session, principal: Principal, raw: dict, row: int, *, on: date,
              seen: dict[str, int]) -> dict:
    number = (raw.get("decision_number") or "").strip()[:60] or None
    citizen_id = (raw.get("citizen_id") or "").strip()[:12] or None
    outcome = {"row": row, "decision_number": number, "citizen_id": citizen_id, "status": "rejected",
               "claim_id": None, "error": None}
    try:
        decision = read_decision(raw, on=on)
        key = decision["details"]["decision_number"]
        if key in seen:
            raise _RowError("decision_number", key, "duplicate", row=seen[key])
        seen[key] = row
    except _LineError as problem:
        outcome["error"] = problem.as_json()
        return outcome
    try:
        with session.begin_nested():
            claim, new = service.file_claim(
                session, principal, claim_type=ClaimType.unemployment, citizen_id=decision["citizen_id"],
                filed_on=decision["decided_on"], channel=CHANNEL, details=decision["details"],
                external_ref=decision["details"]["decision_number"])
    except IntegrityError:  # the same decision imported at the same moment by another file: the claim filed then
        claim = session.scalar(select(BenefitClaim).where(
            BenefitClaim.external_ref == decision["details"]["decision_number"]))
        if claim is None:
            raise
        outcome.update(status="already_filed", claim_id=claim.id)
        return outcome
    except DomainError as exc:
        field_name = (getattr(exc, "field", None) or "citizen_id").removeprefix("details.")
        en, vi = in_both_languages(exc.template, **exc.params)
        outcome["error"] = {"column": field_name, "value": "", "reason_en": en, "reason_vi": vi}
        return outcome
    outcome.update(status="filed" if new else "already_filed", claim_id=claim.id)
    return outcome
