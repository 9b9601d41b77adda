"""Plans: the targets VSS assigns the country and each province (and a province its local offices) per year.

A plan is versioned per province and year (:class:`~ansinh.targets.models.PlanVersion`). Importing a file or
editing a target on the web revises the plans it touches: for each province and year in it, a new version holding the
previous version's targets with the file's rows laid over them. A file or an edit that changes nothing makes no
version (a replay changes nothing). A file is imported all or nothing: one bad row and nothing is written, every
error named by row and column (header = row 1).

The plan a period is compared with is the latest version of its province and year in effect on the period's last
day. For a **stock** (participants, rates), the target of the period's quarter when there is one, else the year's;
for a **flow** (money collected, new participants), the quarter's or year's target **pro-rated by days** to the
period (a month of a quarter: the quarter's target × the month's days / the quarter's days; a year to date: the
quarters before it whole and the current one pro-rated, or the year's target × the days elapsed / the year's days).

Plans cascade national → province → local office: :func:`cascade_warnings` compares each whole with the sum of its
parts for the indicators whose values add up (a warning, not a block).

Who: ``targets.manage``. National staff assign the national and the provinces' plans; a province's officers assign
its local offices' targets (rows with an ``office``). Reading: ``targets.read``.
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Permission, Principal, permission_denied
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.formatting import in_both_languages
from ansinh.i18n import N_
from ansinh.registry.imports import ColumnSpec, ImportRowError, FileProblem, read_table, visible
from ansinh.registry.templates_xlsx import report_workbook, template_workbook
from ansinh.spreadsheets import safe_cell
from ansinh.targets.indicators.registry import Indicator, indicators
from ansinh.targets.models import NATIONAL, PlanTarget, PlanVersion
from ansinh.targets.periods import Period, quarter_period

#: The largest value of a target (dong: a country's yearly collection is about 5 × 10^14).
MAX_VALUE = Decimal(10) ** 16

COLUMNS = [
    ColumnSpec("indicator", True, "The indicator's code (see the sheet indicators), e.g. participants.si_compulsory.",
               "Mã chỉ tiêu (xem trang indicators), ví dụ participants.si_compulsory.", "participants.si_compulsory"),
    ColumnSpec("province", True, "The 2-digit province code of 2025; 00 = the whole country.",
               "Mã tỉnh 2 chữ số (theo đơn vị hành chính 2025); 00 = toàn quốc.", "01"),
    ColumnSpec("year", True, "The plan's year.", "Năm kế hoạch.", "2026"),
    ColumnSpec("quarter", False, "1 to 4 for a quarter's target; empty for the whole year.",
               "Quý 1 đến 4 nếu là chỉ tiêu quý; để trống nếu cả năm.", ""),
    ColumnSpec("value", True, "The target in the indicator's unit: people, dong, or percent for rates (91.7).",
               "Giá trị chỉ tiêu theo đơn vị của chỉ tiêu: người, đồng, hoặc phần trăm với tỷ lệ (91,7).", "60393"),
    ColumnSpec("source", True, "The decision assigning it, e.g. QĐ 546/QĐ-TTg.",
               "Văn bản giao chỉ tiêu, ví dụ QĐ 546/QĐ-TTg.", "QĐ 546/QĐ-TTg"),
    ColumnSpec("effective_from", True, "The day the target takes effect (YYYY-MM-DD or DD/MM/YYYY).",
               "Ngày chỉ tiêu có hiệu lực (YYYY-MM-DD hoặc DD/MM/YYYY).", "2026-01-01"),
    ColumnSpec("office", False, "A local office's org unit code, for its share of the province's target; empty "
               "for the whole province.", "Mã đơn vị BHXH cơ sở nếu là chỉ tiêu giao cho cơ sở; để trống nếu là "
               "cả tỉnh.", ""),
]
REQUIRED = tuple(spec.name for spec in COLUMNS if spec.required)

REASONS = {
    "required": N_("A value is required."),
    "indicator": N_("There is no indicator {value}: see the indicators sheet of the template."),
    "province": N_("There is no province {value} (write the 2-digit code of 2025, or 00 for the country)."),
    "year": N_("A year between {first} and {last}."),
    "quarter": N_("The quarter is 1, 2, 3 or 4, or empty for the whole year."),
    "value": N_("Write a number (a decimal comma or point; no thousands separators needed)."),
    "value_range": N_("The value is from 0 to {limit}."),
    "percent": N_("A rate is a percent from 0 to 100."),
    "whole": N_("This indicator counts whole {unit}: write a whole number."),
    "too_long": N_("At most {n} characters."),
    "date": N_("Not a date: write YYYY-MM-DD or DD/MM/YYYY."),
    "effective_year": N_("The target takes effect in its year or the year before."),
    "office": N_("There is no local office {value} in province {province}."),
    "office_national": N_("The country's plan has no offices."),
    "duplicate": N_("Row {row} of this file gives the same target."),
    "same_effective": N_("Row {row} gives another effective date for the same province and year: a revision "
                         "takes effect on one day."),
}
FIRST_YEAR, LAST_YEAR = 2000, 2100
_PERCENT_LIMIT = Decimal(100)


# --- report of an import ---------------------------------------------------------------------------------

@dataclass
class PlanImportReport:
    """What an import did: ``applied`` (new versions recorded), ``unchanged`` (the plans already say this) or
    ``rejected`` (nothing written; ``errors`` name the row and column, header = row 1)."""

    file_name: str
    sha256: str
    status: str
    rows: int = 0
    versions: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"kind": "plans", "file_name": self.file_name, "sha256": self.sha256, "status": self.status,
                "rows": self.rows, "versions": self.versions, "warnings": self.warnings,
                "error_count": len(self.errors), "errors": [asdict(e) for e in self.errors]}

    def error_lines(self, language: str = "en") -> list[str]:
        return [f"{self.file_name}, {'row' if language == 'en' else 'dòng'} {e.row}, {e.column}: "
                f"{e.reason_en if language == 'en' else e.reason_vi}" for e in self.errors]

    def to_xlsx(self) -> bytes:
        return report_workbook([("kind", "plans"), ("file", self.file_name), ("sha256", self.sha256),
                                ("status", self.status), ("rows", self.rows), ("versions", len(self.versions)),
                                ("errors", len(self.errors))], self.file_name, self.errors)


def _error(at_row: int, column: str, raw: Any, key: str, **params: Any) -> ImportRowError:
    return ImportRowError(at_row, column, visible("" if raw is None else str(raw)),
                          *in_both_languages(REASONS[key], shown=False, **params))


# --- templates --------------------------------------------------------------------------------------------

def template_xlsx() -> bytes:
    """The plan template: sheet ``data`` (the columns and an example row), ``columns`` (their meaning in both
    languages) and ``indicators`` (every code, its names, unit and whether it is a stock or a flow)."""
    rows = [["code", "name_en", "name_vi", "unit", "kind", "better"]]
    rows += [[i.code, i.name_en, i.name_vi, i.unit, "flow" if i.flow else "stock", i.better]
             for i in indicators().values()]
    return template_workbook("plans", COLUMNS, extra_sheets=[("indicators", rows)])


def export_rows(session: Session, principal: Principal | None, *, year: int, province: str | None = None
                ) -> list[dict]:
    """The current targets of a year's plans the caller may read, as rows of the plan file (so that an export,
    edited, imports back as a revision)."""
    plans = plans_json(session, principal, year=year, province=province)["plans"]
    return [{"indicator": t["indicator"], "province": plan["province"], "year": plan["year"],
             "quarter": t["quarter"] or "", "value": t["value"], "source": t["source"],
             "effective_from": t["effective_from"], "office": t["office"] or ""}
            for plan in plans for t in plan["targets"]]


def export_csv(rows: list[dict]) -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[spec.name for spec in COLUMNS], lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: safe_cell(value) if isinstance(value, str) else value for key, value in row.items()}
                     for row in rows)
    return buffer.getvalue().encode()


def export_xlsx(rows: list[dict]) -> bytes:
    """The plans as the template's ``data`` sheet (text cells for the codes, numbers for the values)."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    sheet = book.add_worksheet("data")
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    names = [spec.name for spec in COLUMNS]
    for column, name in enumerate(names):
        sheet.write_string(0, column, name, header)
        sheet.set_column(column, column, 30 if name in ("indicator", "source") else 14)
    for number, row in enumerate(rows, start=1):
        for column, name in enumerate(names):
            value = row[name]
            if name == "value" or (name in ("year", "quarter") and value != ""):
                sheet.write_number(number, column, value)
            else:
                sheet.write_string(number, column, str(safe_cell(value)), text)
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def template_csv() -> bytes:
    header = ",".join(spec.name for spec in COLUMNS)
    example = ",".join(spec.example for spec in COLUMNS)
    return f"{header}\n{example}\n".encode()


# --- checking rows ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetRow:
    """One target as given (a file's row or a web edit), checked."""

    indicator: str
    province: str
    year: int
    quarter: int | None
    value: Decimal
    source: str
    effective_from: date
    office_code: str | None = None
    row: int = 0  # the file's row (header = 1); 0 for an edit

    @property
    def key(self) -> tuple:
        return (self.indicator, self.office_code, self.quarter)


def parse_value(text: str | None) -> Decimal:
    """A target's value: digits with a decimal comma or point (``91,7``), thousands grouped by spaces allowed."""
    cleaned = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    value = Decimal(cleaned)
    if not value.is_finite():
        raise InvalidOperation
    return value


def _date(text: str | None) -> date:
    from ansinh.registry.imports import date_column

    parsed = pl.select(date_column(pl.lit(text, dtype=pl.String))).item()
    if parsed is None:
        raise ValueError(text)
    return parsed


def _province_codes(session: Session) -> set[str]:
    from ansinh.registry.places import province_names

    return set(province_names(session))


def _offices(session: Session) -> dict[str, str]:
    """Local offices by code → their province's code."""
    from ansinh.registry.service import office_province_code

    return {unit.code: office_province_code(session, unit) for unit in session.scalars(
        select(OrgUnit).where(OrgUnit.level == OrgLevel.district))}


def check_row(raw: dict[str, Any], number: int, *, catalogue: dict[str, Indicator], provinces: set[str],
              offices: dict[str, str]) -> tuple[TargetRow | None, list[ImportRowError]]:
    """A row checked: the target, or the errors naming each bad column."""
    errors: list[ImportRowError] = []

    def text(name: str) -> str | None:
        value = raw.get(name)
        return None if value is None or str(value).strip() == "" else str(value).strip()

    for name in REQUIRED:
        if text(name) is None:
            errors.append(_error(number, name, "", "required"))
    code, province = text("indicator"), text("province")
    indicator = catalogue.get(code) if code else None
    if code and indicator is None:
        errors.append(_error(number, "indicator", code, "indicator", value=code))
    if province and province != NATIONAL and province not in provinces:
        errors.append(_error(number, "province", province, "province", value=province))
    year = quarter = value = effective = None
    if text("year") is not None:
        try:
            year = int(text("year"))
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise ValueError
        except ValueError:
            errors.append(_error(number, "year", text("year"), "year", first=FIRST_YEAR, last=LAST_YEAR))
            year = None
    if text("quarter") is not None:
        if text("quarter") not in ("1", "2", "3", "4"):
            errors.append(_error(number, "quarter", text("quarter"), "quarter"))
        else:
            quarter = int(text("quarter"))
    if text("value") is not None:
        try:
            value = parse_value(text("value"))
        except (InvalidOperation, ValueError):
            errors.append(_error(number, "value", text("value"), "value"))
        else:
            if not Decimal(0) <= value <= MAX_VALUE:
                errors.append(_error(number, "value", text("value"), "value_range", limit=f"{MAX_VALUE:,.0f}"))
                value = None
            elif indicator is not None and indicator.unit == "percent" and value > _PERCENT_LIMIT:
                errors.append(_error(number, "value", text("value"), "percent"))
                value = None
            elif indicator is not None and indicator.unit != "percent" and value != value.to_integral_value():
                errors.append(_error(number, "value", text("value"), "whole", unit=indicator.unit))
                value = None
    source = text("source")
    if source is not None and len(source) > 200:
        errors.append(_error(number, "source", source[:40] + "…", "too_long", n=200))
    if text("effective_from") is not None:
        try:
            effective = _date(text("effective_from"))
        except (ValueError, pl.exceptions.PolarsError):
            errors.append(_error(number, "effective_from", text("effective_from"), "date"))
        else:
            if year is not None and effective.year not in (year - 1, year):
                errors.append(_error(number, "effective_from", text("effective_from"), "effective_year"))
    office = text("office")
    if office is not None:
        if province == NATIONAL:
            errors.append(_error(number, "office", office, "office_national"))
        elif offices.get(office) != province:
            errors.append(_error(number, "office", office, "office", value=office, province=province or ""))
    if errors or indicator is None or year is None or value is None or effective is None:
        return None, errors
    return TargetRow(indicator=indicator.code, province=province, year=year, quarter=quarter, value=value,
                     source=source, effective_from=effective, office_code=office, row=number), []


def ensure_may_assign(session: Session, principal: Principal | None, row: TargetRow) -> str | None:
    """None when the caller may assign the target, else why not. National staff assign every plan; a province's
    officers only its local offices' targets."""
    if principal is None:
        return None
    if not principal.has(Permission.targets_manage):
        raise permission_denied(Permission.targets_manage)
    if principal.org_unit_level == OrgLevel.national.value:
        return None
    from ansinh.cards.service import principal_province

    if row.office_code is None:
        return N_("national staff assign the plans of the country and of the provinces.")
    if principal.org_unit_level != OrgLevel.province.value or principal_province(session, principal) != row.province:
        return N_("a province's officers assign the targets of its own local offices.")
    return None


# --- versions ---------------------------------------------------------------------------------------------

def current_version(session: Session, province: str, year: int, *, on: date | None = None) -> PlanVersion | None:
    """The latest version of a province's plan for a year (in effect on ``on`` when given)."""
    stmt = select(PlanVersion).where(PlanVersion.province == province, PlanVersion.year == year)
    if on is not None:
        stmt = stmt.where(PlanVersion.effective_from <= on)
    return session.scalars(stmt.order_by(PlanVersion.version.desc()).limit(1)).first()


def version_targets(session: Session, version: PlanVersion | None) -> list[PlanTarget]:
    if version is None:
        return []
    return list(session.scalars(select(PlanTarget).where(PlanTarget.plan_version_id == version.id)
                                .order_by(PlanTarget.indicator, PlanTarget.office_code, PlanTarget.quarter)))


def _normal(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.0001"))


def revise_plans(session: Session, rows: list[TargetRow], *, actor: str, note: str | None = None) -> list[dict]:
    """Lay the rows over the current plans: per province and year touched, a new version with the previous
    version's targets and these rows (or none when nothing changes). The caller has checked the rows and the
    caller's right to assign them. Versions are numbered under a lock of the plan's current version row."""
    groups: dict[tuple[str, int], list[TargetRow]] = defaultdict(list)
    for row in rows:
        groups[(row.province, row.year)].append(row)
    made = []
    for (province, year), part in sorted(groups.items()):
        latest = session.scalars(select(PlanVersion).where(PlanVersion.province == province, PlanVersion.year == year)
                                 .order_by(PlanVersion.version.desc()).limit(1).with_for_update()).first()
        previous = {(t.indicator, t.office_code, t.quarter): t for t in version_targets(session, latest)}
        merged = {key: (t.value, t.source, t.effective_from) for key, t in previous.items()}
        for row in part:
            merged[row.key] = (row.value, row.source, row.effective_from)
        unchanged = latest is not None and all(
            key in previous and _normal(previous[key].value) == _normal(value) and previous[key].source == source
            for key, (value, source, _day) in merged.items()) and len(merged) == len(previous)
        if unchanged:
            continue
        effective = part[0].effective_from
        sources = sorted({row.source for row in part})
        version = PlanVersion(province=province, year=year, version=(latest.version + 1) if latest else 1,
                              effective_from=effective, source="; ".join(sources)[:200], note=(note or None),
                              created_by=actor)
        session.add(version)
        session.flush()
        for (indicator, office, quarter), (value, source, day) in sorted(
                merged.items(), key=lambda item: (item[0][0], item[0][1] or "", item[0][2] or 0)):
            session.add(PlanTarget(plan_version_id=version.id, indicator=indicator, office_code=office,
                                   quarter=quarter, value=_normal(value), source=source, effective_from=day))
        session.flush()
        record_event(session, "plan.revise", "plan_version", version.id,
                     details={"province": province, "year": year, "version": version.version,
                              "targets": len(merged), "changed": len(part), "note": note})
        made.append(version_json(version) | {"targets": len(merged)})
    return made


def version_json(version: PlanVersion) -> dict:
    return {"id": version.id, "province": version.province, "year": version.year, "version": version.version,
            "effective_from": version.effective_from.isoformat(), "source": version.source, "note": version.note,
            "created_at": version.created_at.isoformat() if version.created_at else None,
            "created_by": version.created_by}


def import_plans(session: Session, *, content: bytes, file_name: str, principal: Principal | None,
                 actor: str) -> PlanImportReport:
    """Import a plan file (CSV or Excel, the template's columns): all or nothing."""
    digest = hashlib.sha256(content).hexdigest()
    report = PlanImportReport(file_name=file_name, sha256=digest, status="rejected")
    if principal is not None and not principal.has(Permission.targets_manage):
        raise permission_denied(Permission.targets_manage)
    try:
        frame = read_table(content, file_name)
    except FileProblem as problem:
        report.errors = problem.errors
        return report
    missing = [name for name in REQUIRED if name not in frame.columns]
    if missing:
        report.errors = [_error(1, name, name, "required") for name in missing]
        return report
    catalogue = indicators()
    provinces, offices = _province_codes(session), _offices(session)
    rows: list[TargetRow] = []
    errors: list[ImportRowError] = []
    seen: dict[tuple, int] = {}
    effective_of: dict[tuple[str, int], tuple[date, int]] = {}
    for index, raw in enumerate(frame.iter_rows(named=True)):
        number = index + 2
        row, row_errors = check_row(raw, number, catalogue=catalogue, provinces=provinces, offices=offices)
        errors += row_errors
        if row is None:
            continue
        full_key = (row.province, row.year, *row.key)
        if full_key in seen:
            errors.append(_error(number, "indicator", row.indicator, "duplicate", row=seen[full_key]))
            continue
        seen[full_key] = number
        first = effective_of.setdefault((row.province, row.year), (row.effective_from, number))
        if first[0] != row.effective_from:
            errors.append(_error(number, "effective_from", row.effective_from.isoformat(), "same_effective",
                                 row=first[1]))
            continue
        why = ensure_may_assign(session, principal, row)
        if why is not None:  # another's plan: a refusal (403) of the whole file, as for any record out of scope
            raise PermissionDenied("Row {row} assigns a target you may not assign: {why}", row=number, why=why)
        rows.append(row)
    report.rows = frame.height
    if errors:
        report.errors = errors[:500]
        return report
    report.versions = revise_plans(session, rows, actor=actor, note=file_name[:300])
    report.status = "applied" if report.versions else "unchanged"
    years = sorted({row.year for row in rows})
    report.warnings = [warning for year in years for warning in cascade_warnings(session, year)]
    record_event(session, "plan.import", "plan_file", None,
                 details={"file_name": file_name, "sha256": digest, "rows": frame.height,
                          "status": report.status, "versions": [v["id"] for v in report.versions]})
    return report


def set_target(session: Session, principal: Principal | None, *, actor: str, indicator: str, province: str,
               year: int, quarter: int | None, value: str, source: str, effective_from: str,
               office_code: str | None = None, note: str | None = None) -> list[dict]:
    """Set one target (the web's edit): a new version of that province's plan for the year. Errors name the
    field (as a file's would its column)."""
    raw = {"indicator": indicator, "province": province, "year": str(year), "quarter": str(quarter or ""),
           "value": value, "source": source, "effective_from": effective_from, "office": office_code or ""}
    row, errors = check_row(raw, 0, catalogue=indicators(), provinces=_province_codes(session),
                            offices=_offices(session) if office_code else {})
    if errors:
        first = errors[0]
        from ansinh.i18n import get_locale

        raise ValidationFailed(first.column, "{reason}",
                               reason=first.reason_vi if get_locale() == "vi" else first.reason_en)
    why = ensure_may_assign(session, principal, row)
    if why is not None:
        raise PermissionDenied(why)
    return revise_plans(session, [row], actor=actor, note=note)


# --- reading plans ----------------------------------------------------------------------------------------

def ensure_may_read(session: Session, principal: Principal | None, province: str) -> None:
    """Plans and results of a province: ``targets.read`` and the province in the caller's scope (national staff and
    the commands: every province and the country; a province's staff: their province)."""
    if principal is None:
        return
    if not principal.has(Permission.targets_read):
        raise permission_denied(Permission.targets_read)
    if principal.org_unit_level == OrgLevel.national.value:
        return
    from ansinh.cards.service import principal_province

    if province == NATIONAL or principal_province(session, principal) != province:
        raise PermissionDenied("Province {code} is outside your scope.", code=province)


def default_province(session: Session, principal: Principal | None) -> str:
    """The province a reader means when naming none: their own; the country (``00``) for national staff and
    commands."""
    from ansinh.cards.service import principal_province

    if principal is None or principal.org_unit_level == OrgLevel.national.value:
        return NATIONAL
    return principal_province(session, principal) or NATIONAL


def readable_provinces(session: Session, principal: Principal | None) -> list[str]:
    """The provinces (and ``00``, the country) whose plans and reports the caller may read."""
    from ansinh.cards.service import principal_province
    from ansinh.registry.places import province_names

    if principal is None or principal.org_unit_level == OrgLevel.national.value:
        return [NATIONAL, *sorted(province_names(session))]
    own = principal_province(session, principal)
    return [own] if own else []


def plans_json(session: Session, principal: Principal | None, *, year: int, province: str | None = None) -> dict:
    """The plans of a year (current versions) with their history, and the cascade's warnings."""
    wanted = [province] if province else readable_provinces(session, principal)
    for code in wanted:
        ensure_may_read(session, principal, code)
    plans = []
    for code in wanted:
        history = list(session.scalars(select(PlanVersion).where(PlanVersion.province == code,
                                                                 PlanVersion.year == year)
                                       .order_by(PlanVersion.version.desc())))
        if not history:
            continue
        current = history[0]
        plans.append(version_json(current) | {
            "targets": [target_json(t) for t in version_targets(session, current)],
            "history": [version_json(v) for v in history]})
    warnings = [w for w in cascade_warnings(session, year)
                if province is None or w["province"] == province or province in w.get("parts", ())]
    return {"year": year, "plans": plans, "warnings": warnings}


def target_json(target: PlanTarget) -> dict:
    return {"indicator": target.indicator, "office": target.office_code, "quarter": target.quarter,
            "value": plain_number(Decimal(target.value)),
            "source": target.source, "effective_from": target.effective_from.isoformat()}


def _current_targets(session: Session, year: int) -> dict[str, list[PlanTarget]]:
    """The targets of the latest version of every province's plan of a year."""
    latest = (select(PlanVersion.province, func.max(PlanVersion.version).label("version"))
              .where(PlanVersion.year == year).group_by(PlanVersion.province).subquery())
    rows = session.execute(select(PlanVersion.province, PlanTarget)
                           .join(PlanTarget, PlanTarget.plan_version_id == PlanVersion.id)
                           .join(latest, (latest.c.province == PlanVersion.province)
                                 & (latest.c.version == PlanVersion.version))
                           .where(PlanVersion.year == year))
    result: dict[str, list[PlanTarget]] = defaultdict(list)
    for province, target in rows:
        result[province].append(target)
    return result


def cascade_warnings(session: Session, year: int) -> list[dict]:
    """Where the parts of a plan do not add up to the whole, for the indicators whose values add up: the country's
    target against the sum of the provinces' (when every province has one), a province's against the sum of its
    local offices' (when any office has one). A warning, not a block."""
    catalogue = indicators()
    targets = _current_targets(session, year)
    warnings = []
    national = {(t.indicator, t.quarter): Decimal(t.value) for t in targets.get(NATIONAL, []) if t.office_code is None}
    provinces = {code: rows for code, rows in targets.items() if code != NATIONAL}
    for (code, quarter), whole in sorted(national.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
        indicator = catalogue.get(code)
        if indicator is None or not indicator.additive:
            continue
        parts = {province: Decimal(t.value) for province, rows in provinces.items() for t in rows
                 if t.indicator == code and t.quarter == quarter and t.office_code is None}
        if parts and sum(parts.values()) != whole:
            warnings.append(_warning(code, quarter, NATIONAL, whole, parts))
    for province, rows in sorted(provinces.items()):
        wholes = {(t.indicator, t.quarter): Decimal(t.value) for t in rows if t.office_code is None}
        offices: dict[tuple, dict[str, Decimal]] = defaultdict(dict)
        for t in rows:
            if t.office_code is not None:
                offices[(t.indicator, t.quarter)][t.office_code] = Decimal(t.value)
        for key, parts in sorted(offices.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
            indicator = catalogue.get(key[0])
            if indicator is None or not indicator.additive or key not in wholes:
                continue
            if sum(parts.values()) != wholes[key]:
                warnings.append(_warning(key[0], key[1], province, wholes[key], parts))
    return warnings


def _warning(code: str, quarter: int | None, province: str, whole: Decimal, parts: dict[str, Decimal]) -> dict:
    total = sum(parts.values())
    return {"indicator": code, "quarter": quarter, "province": province, "whole": plain_number(whole),
            "parts_sum": plain_number(total), "parts": sorted(parts), "difference": plain_number(total - whole)}


def plain_number(value: Decimal | None) -> int | float | None:
    """A Decimal as JSON writes it: an int when whole, else a float."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


# --- the plan of a period ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeriodPlan:
    version: PlanVersion | None
    values: dict[str, Decimal]  # indicator → the target for the period (pro-rated for flows)


def _pro_rate(value: Decimal, part_days: int, whole_days: int) -> Decimal:
    return (value * part_days / whole_days).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def plan_for_period(session: Session, province: str, period: Period) -> PeriodPlan:
    """The targets a period is compared with: from the latest version of the province's plan for the period's year
    in effect on its last day (see the module's text for stocks and flows)."""
    version = current_version(session, province, period.year, on=period.end)
    if version is None:
        return PeriodPlan(None, {})
    by_code: dict[str, dict[int | None, Decimal]] = defaultdict(dict)
    for target in version_targets(session, version):
        if target.office_code is None:
            by_code[target.indicator][target.quarter] = Decimal(target.value)
    catalogue = indicators()
    values = {}
    for code, targets in by_code.items():
        indicator = catalogue.get(code)
        if indicator is None:
            continue
        value = _period_value(targets, period, flow=indicator.flow)
        if value is not None:
            values[code] = value
    return PeriodPlan(version, values)


def _period_value(targets: dict[int | None, Decimal], period: Period, *, flow: bool) -> Decimal | None:
    year_days = (date(period.year, 12, 31) - date(period.year, 1, 1)).days + 1
    year = targets.get(None)
    quarter = period.quarter if period.kind in ("month", "quarter") else None
    if period.kind == "ytd":
        quarter = (period.end.month - 1) // 3 + 1
    if not flow:
        if period.kind == "year":
            return year if year is not None else targets.get(4)
        return targets.get(quarter, year)
    if period.kind == "year":
        if year is not None:
            return year
        return sum(targets.get(q, Decimal(0)) for q in (1, 2, 3, 4)) if all(q in targets for q in (1, 2, 3, 4)) \
            else None
    if period.kind == "quarter":
        if quarter in targets:
            return targets[quarter]
        return _pro_rate(year, period.days, year_days) if year is not None else None
    if period.kind == "month":
        if quarter in targets:
            return _pro_rate(targets[quarter], period.days, quarter_period(period.year, quarter).days)
        return _pro_rate(year, period.days, year_days) if year is not None else None
    # a year to date: whole quarters before the current one, the current one pro-rated
    if all(q in targets for q in range(1, quarter + 1)):
        current = quarter_period(period.year, quarter)
        elapsed = (period.end - current.start).days + 1
        return sum((targets[q] for q in range(1, quarter)), Decimal(0)) + _pro_rate(targets[quarter], elapsed,
                                                                                    current.days)
    return _pro_rate(year, period.days, year_days) if year is not None else None


def get_version(session: Session, principal: Principal | None, version_id: int) -> PlanVersion:
    version = session.get(PlanVersion, version_id)
    if version is None:
        raise NotFound("There is no plan version {id}.", id=version_id)
    ensure_may_read(session, principal, version.province)
    return version
