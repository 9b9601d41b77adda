"""The web pages of plans and indicators: ``/targets`` (a province's indicators for a period against its plan and
last year, with rank, a 12-month sparkline, the narrative and the difficulties; exports; issuing the report),
``/targets/ranking`` (the provinces ranked on one indicator, a bar chart and a table), ``/targets/plans`` (the plans
of a year, their versions, the cascade's warnings, the template, the import and the edit of one target) and
``/targets/drill`` (the records behind a figure). Thin routes over the services of :mod:`ansinh.targets`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.targets import drilldown
from ansinh.targets.indicators.registry import UNITS, indicators
from ansinh.targets.models import NATIONAL
from ansinh.targets.periods import Period, month_period, parse_period, quarter_of, quarter_period, year_to_date
from ansinh.web.forms import submit
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.targets_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.targets_manage, scope=Scope.org_subtree))]
Issuer = Annotated[Principal, Depends(require(Permission.targets_issue, scope=Scope.org_subtree))]
Driller = Annotated[Principal, Depends(require(Permission.targets_read, Permission.registry_read,
                                              scope=Scope.org_subtree))]
_Filter = Annotated[str, Query(max_length=30)]
_Field = Annotated[str, Form(max_length=300)]

register_nav_item(NavItem("targets", N_("Targets"), "/targets", Permission.targets_read, order=700,
                          agency_only=True, group="targets"))
register_nav_item(NavItem("targets_ranking", N_("Ranking of provinces"), "/targets/ranking",
                          Permission.targets_read, order=710, agency_only=True, group="targets"))
register_nav_item(NavItem("targets_plans", N_("Plans"), "/targets/plans", Permission.targets_read, order=720,
                          agency_only=True, group="targets"))

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Months drawn in an indicator's sparkline.
TREND_MONTHS = 12
#: The reasons an indicator is among the difficulties.
WHY = {"below_plan": N_("below plan"), "above_ceiling": N_("above its ceiling"), "worsening": N_("worse than last year")}


# --- periods --------------------------------------------------------------------------------------------------

def last_ended_month(today: date) -> Period:
    """The month before ``today``'s: the default period of the pages (its figures have stopped moving)."""
    day = today.replace(day=1) - timedelta(days=1)
    return month_period(day.year, day.month)


def period_choices(today: date) -> list[tuple[str, list[Period]]]:
    """The periods offered by the picker, by kind (msgid, periods), newest first: this month and the 12 before,
    this quarter and the 4 before, this year and the 2 before, and the year to the end of the last ended month."""
    months, day = [], today.replace(day=1)
    for _ in range(TREND_MONTHS + 1):
        months.append(month_period(day.year, day.month))
        day = (day - timedelta(days=1)).replace(day=1)
    quarters, year, quarter = [], today.year, quarter_of(today)
    for _ in range(5):
        quarters.append(quarter_period(year, quarter))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    years = [parse_period(str(today.year - back)) for back in range(3)]
    ended = last_ended_month(today)
    ytd = [year_to_date(ended.year, ended.end)]
    return [(N_("Month"), months), (N_("Quarter"), quarters), (N_("Year"), years), (N_("Year to date"), ytd)]


def chosen_period(text: str, today: date) -> Period:
    return parse_period(text, on=today) if text.strip() else last_ended_month(today)


def period_text(period: Period, locale: str | None = None) -> str:
    """A period as a reader writes it: "Tháng 11/2026", "Quý 3 năm 2026", "Năm 2026", "Năm 2026 đến 30/11/2026"."""
    from ansinh.formatting import day, month

    if period.kind == "month":
        return gettext("Month {month}").format(month=month(period.start, locale))
    if period.kind == "quarter":
        return gettext("Quarter {quarter} of {year}").format(quarter=period.quarter, year=period.year)
    if period.kind == "year":
        return gettext("Year {year}").format(year=period.year)
    return gettext("Year {year} to {day}").format(year=period.year, day=day(period.end, locale))


# --- provinces ------------------------------------------------------------------------------------------------

def province_choices(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """The provinces (and ``00``, the country) the reader may see, (code, name): the country first, then by name."""
    from ansinh.registry.places import province_names
    from ansinh.targets.plans.service import readable_provinces

    names = province_names(session)
    codes = readable_provinces(session, principal)
    choices = [(code, names.get(code, code)) for code in codes if code != NATIONAL]
    choices.sort(key=lambda pair: pair[1])
    if NATIONAL in codes:
        choices.insert(0, (NATIONAL, gettext("The whole country")))
    return choices


def chosen_province(session: Session, principal: Principal, text: str) -> str:
    """The province asked for, else the reader's own (national staff: the country)."""
    from ansinh.cards.service import principal_province

    value = text.strip()
    if value:
        if not (value.isdigit() and len(value) == 2):
            raise ValidationFailed("province", "{value} is not a code of {n} digits.", value=value, n=2)
        return value
    return principal_province(session, principal) or NATIONAL


def province_label(session: Session, code: str) -> str:
    from ansinh.registry.places import province_names

    if code == NATIONAL:
        return gettext("The whole country")
    return province_names(session).get(code, code)


# --- charts ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sparkline:
    """A small line of monthly values: the SVG polyline's points, the last point, and the range shown."""

    points: str
    last: tuple[float, float] | None
    low: float | None
    high: float | None
    first_value: float | None
    last_value: float | None
    width: int
    height: int


def sparkline(values: list[float | int | None], *, width: int = 96, height: int = 24, pad: float = 2) -> Sparkline:
    """The geometry of a sparkline (pure): months without a value are left out of the line."""
    known = [(index, float(value)) for index, value in enumerate(values) if value is not None]
    if not known:
        return Sparkline("", None, None, None, None, None, width, height)
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = high - low or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def point(index: int, value: float) -> tuple[float, float]:
        y = height - pad - (height - 2 * pad) * ((value - low) / span if high != low else 0.5)
        return round(pad + index * step, 1), round(y, 1)

    drawn = [point(index, value) for index, value in known]
    return Sparkline(" ".join(f"{x},{y}" for x, y in drawn), drawn[-1], low, high, known[0][1], known[-1][1],
                     width, height)


@dataclass(frozen=True)
class RankBar:
    province: str
    name: str
    value: float
    y: float
    width: float
    on_target: bool | None
    rank: int | None


@dataclass(frozen=True)
class RankChart:
    bars: list[RankBar]
    width: int
    height: int
    label_width: int
    plot_width: int
    row_height: int


def rank_chart(rows: list[dict], names: dict[str, str], *, width: int = 640, label_width: int = 150,
               row_height: int = 18) -> RankChart:
    """Horizontal bars of the provinces' values, in the ranking's order (pure; provinces without a value are left
    out)."""
    shown = [row for row in rows if row["value"] is not None]
    top = max([abs(float(row["value"])) for row in shown] or [1.0]) or 1.0
    plot = width - label_width - 90
    bars = [RankBar(row["province"], names.get(row["province"], row["province"]), float(row["value"]),
                    4 + index * row_height, round(plot * abs(float(row["value"])) / top, 1), row["on_target"],
                    row["rank"]) for index, row in enumerate(shown)]
    return RankChart(bars, width, 8 + len(bars) * row_height, label_width, plot, row_height)


def trends(session: Session, codes: list[str], province: str, period: Period,
           months: int = TREND_MONTHS) -> dict[str, list[tuple[Period, Any]]]:
    """The monthly values of indicators for a province over the ``months`` months ending with the period's last
    month: the monthly snapshots where taken, else computed from the records (:mod:`.indicators.snapshots`)."""
    from ansinh.targets.indicators.snapshots import series as snapshot_series

    last = month_period(period.end.year, period.end.month)
    chosen, day = [], last.start
    for _ in range(months):
        chosen.append(month_period(day.year, day.month))
        day = (day - timedelta(days=1)).replace(day=1)
    chosen.reverse()
    return snapshot_series(session, codes, province, chosen)


# --- /targets ---------------------------------------------------------------------------------------------------

def _targets_context(request: Request, session: Session, principal: Principal, province_text: str,
                     period_text_: str, live: str = "", notice: str = "", errors: dict | None = None,
                     form: dict | None = None) -> dict:
    from ansinh.targets.reports.service import province_report

    today = clock.today()
    province = chosen_province(session, principal, province_text)
    period = chosen_period(period_text_, today)
    report = province_report(session, principal, province=province, period=period, live=live == "1")
    catalogue = indicators()
    measured = [item["code"] for item in report["indicators"] if item.get("measured", True)
                and item["code"] in catalogue]
    series = trends(session, measured, province, period)
    sparks = {code: sparkline([value for _, value in values]) for code, values in series.items()}
    locale = request_locale(request)
    choices = period_choices(today)
    if not any(p.label == period.label for _, group in choices for p in group):
        choices.insert(0, (N_("Chosen"), [period]))
    issued_at = datetime.fromisoformat(report["issued"]["issued_at"]) \
        if report.get("issued") and report["issued"].get("issued_at") else None
    plan_from = date.fromisoformat(report["plan"]["effective_from"]) if report.get("plan") else None
    return {
        "report": report, "issued_at": issued_at, "plan_from": plan_from, "province": province, "province_name": province_label(session, province),
        "period": period, "period_text": period_text(period, locale), "period_choices": choices,
        "period_text_of": lambda p: period_text(p, locale), "provinces": province_choices(session, principal),
        "catalogue": catalogue, "units": UNITS, "sparks": sparks, "series": series, "why": WHY,
        "narrative": report.get("narrative", {}).get(locale, []), "live": live == "1",
        "can_issue": principal.has(Permission.targets_issue) and period.end < today
        and (province != NATIONAL or principal.org_unit_level == "national"),
        "can_drill": principal.has(Permission.registry_read), "drills": drilldown.DRILLS,
        "notice": notice if notice in ("issued", "unchanged") else "", "errors": errors or {},
        "form": form or {"reason": ""}}


@router.get("/targets")
def targets_page(request: Request, session: DbSession, principal: Reader, province: _Filter = "",
                 period: _Filter = "", live: _Filter = "", notice: _Filter = "") -> Response:
    """A province's indicators for a period against its plan (the reader's province, the last ended month)."""
    return render(request, "targets/targets.html", _targets_context(request, session, principal, province, period,
                                                                    live, notice))


@router.post("/targets/issue")
def issue_form(request: Request, session: DbSession, principal: Issuer, province: _Field = "", period: _Field = "",
               reason: _Field = "", csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Issue the report of an ended period (its figures frozen); then the targets page shows the issued version."""
    from ansinh.targets.reports.service import issue_report

    typed = {"reason": reason.strip()}

    def action() -> tuple[dict, bool]:
        today = clock.today()
        code = chosen_province(session, principal, province)
        return issue_report(session, principal, province=code, period=chosen_period(period, today),
                            actor=principal.username, reason=typed["reason"] or None, today=today)

    def done(result: tuple[dict, bool]) -> str:
        from urllib.parse import urlencode

        report, new = result
        return "/targets?" + urlencode({"province": report["province"], "period": report["period"],
                                        "notice": "issued" if new else "unchanged"})

    return submit(request, session, action, csrf_token=csrf_token, field="reason", fields=("reason",),
                  form=lambda errors: render(request, "targets/targets.html", _targets_context(
                      request, session, principal, province, period, errors=errors, form=typed)),
                  done=done, conflict_status=409)


def _report_file(session: Session, principal: Principal, request: Request, province: str, period: str,
                 format: str) -> Response:
    from ansinh.targets.reports import export
    from ansinh.targets.reports.service import province_report

    code = chosen_province(session, principal, province)
    chosen = chosen_period(period, clock.today())
    report = province_report(session, principal, province=code, period=chosen)
    locale = request_locale(request)
    content = export.report_xlsx(report, locale) if format == "xlsx" else export.report_pdf(report, locale)
    name = f"report-{code}-{chosen.label.replace('@', '-')}.{format}"
    return Response(content, media_type=XLSX if format == "xlsx" else "application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/targets/report.xlsx")
def report_xlsx(request: Request, session: DbSession, principal: Reader, province: _Filter = "",
                period: _Filter = "") -> Response:
    """The report shown on the page as Excel (the same export as the API's)."""
    return _report_file(session, principal, request, province, period, "xlsx")


@router.get("/targets/report.pdf")
def report_pdf(request: Request, session: DbSession, principal: Reader, province: _Filter = "",
               period: _Filter = "") -> Response:
    return _report_file(session, principal, request, province, period, "pdf")


# --- /targets/ranking ---------------------------------------------------------------------------------------

def _ranking(session: Session, principal: Principal, indicator: str, period: Period) -> tuple[Any, list[dict]]:
    from ansinh.targets.indicators.service import get_indicator, ranking

    chosen = get_indicator(indicator)
    return chosen, ranking(session, principal, code=chosen.code, period=period)


def _default_indicator() -> str:
    return next(code for code, indicator in indicators().items() if indicator.measured)


def versus_plan(row: dict) -> float | None:
    """How far a province's value is from its plan, in percent of the plan (positive: over it)."""
    if row.get("percent_of_plan") is None:
        return None
    return round(row["percent_of_plan"] - 100, 1)


@router.get("/targets/ranking")
def ranking_page(request: Request, session: DbSession, principal: Reader, indicator: _Filter = "",
                 period: _Filter = "") -> Response:
    """The provinces ranked on one indicator for a period, with the plan and whether each meets its target."""
    from ansinh.registry.places import province_names
    from ansinh.targets.plans.service import readable_provinces

    today = clock.today()
    chosen = chosen_period(period, today)
    chosen_indicator, rows = _ranking(session, principal, indicator.strip() or _default_indicator(), chosen)
    names = province_names(session)
    locale = request_locale(request)
    choices = period_choices(today)
    if not any(p.label == chosen.label for _, group in choices for p in group):
        choices.insert(0, (N_("Chosen"), [chosen]))
    return render(request, "targets/ranking.html", {
        "indicator": chosen_indicator, "rows": rows, "names": names, "chart": rank_chart(rows, names),
        "period": chosen, "period_text": period_text(chosen, locale), "period_choices": choices,
        "period_text_of": lambda p: period_text(p, locale), "catalogue": indicators(), "units": UNITS,
        "meeting": sum(1 for row in rows if row["on_target"] is True),
        "missing": sum(1 for row in rows if row["on_target"] is False), "versus_plan": versus_plan,
        "readable": set(readable_provinces(session, principal))})


@router.get("/targets/ranking.xlsx")
def ranking_xlsx(request: Request, session: DbSession, principal: Reader, indicator: _Filter = "",
                 period: _Filter = "") -> Response:
    """The ranking as Excel."""
    from ansinh.registry.places import province_names
    from ansinh.web.lists import xlsx_response

    chosen = chosen_period(period, clock.today())
    chosen_indicator, rows = _ranking(session, principal, indicator.strip() or _default_indicator(), chosen)
    names = province_names(session)
    locale = request_locale(request)
    headers = [gettext("Rank"), gettext("Province code"), gettext("Province"), gettext("Value"), gettext("Plan"),
               gettext("Percent of plan"), gettext("Gap"), gettext("Target met")]
    met = {True: gettext("Yes"), False: gettext("No"), None: ""}
    data = ([row["rank"], row["province"], names.get(row["province"], row["province"]), row["value"], row["plan"],
             row["percent_of_plan"], row["gap"], met[row["on_target"]]] for row in rows)
    title = f"{chosen_indicator.name(locale)} · {period_text(chosen, locale)}"
    return xlsx_response(f"ranking-{chosen_indicator.code}-{chosen.label.replace('@', '-')}.xlsx", headers, data,
                         sheet_name=gettext("Ranking"), title=title)


# --- /targets/plans ---------------------------------------------------------------------------------------------

def _year(text: str, today: date) -> int:
    from ansinh.targets.plans.service import FIRST_YEAR, LAST_YEAR

    value = text.strip()
    if not value:
        return today.year
    if not value.isdigit() or not FIRST_YEAR <= int(value) <= LAST_YEAR:
        raise ValidationFailed("year", "A year between {first} and {last}.", first=FIRST_YEAR, last=LAST_YEAR)
    return int(value)


def _offices_of(session: Session, province: str | None) -> list[tuple[str, str]]:
    """The local offices (code, name) of a province, for the edit form."""
    from sqlalchemy import select

    from ansinh.auth.models import OrgLevel, OrgUnit
    from ansinh.targets.plans.service import _offices

    if not province or province == NATIONAL:
        return []
    codes = sorted(code for code, of in _offices(session).items() if of == province)
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.level == OrgLevel.district,
                                                                          OrgUnit.code.in_(codes or [""]))).all())
    return [(code, names.get(code, code)) for code in codes]


def _with_days(plans: dict) -> dict:
    """The plans' JSON with its effective days as dates (written the reader's way by the template)."""
    def days(item: dict) -> dict:
        return item | {"effective_from": date.fromisoformat(item["effective_from"])}

    return plans | {"plans": [days(plan) | {"targets": [days(t) for t in plan["targets"]],
                                            "history": [days(v) for v in plan["history"]]}
                              for plan in plans["plans"]]}


def _plans_context(request: Request, session: Session, principal: Principal, year_text: str, province_text: str,
                   *, report: Any = None, upload_error: str = "", errors: dict | None = None,
                   form: dict | None = None, notice: str = "") -> dict:
    from ansinh.cards.service import principal_province
    from ansinh.registry.places import province_names
    from ansinh.targets.plans.service import plans_json

    today = clock.today()
    year = _year(year_text, today)
    province = province_text.strip() or None
    if province is not None and not (province.isdigit() and len(province) == 2):
        raise ValidationFailed("province", "{value} is not a code of {n} digits.", value=province, n=2)
    plans = _with_days(plans_json(session, principal, year=year, province=province))
    national = principal.org_unit_level == "national"
    own = principal_province(session, principal)
    can_manage = principal.has(Permission.targets_manage)
    locale = request_locale(request)
    edit_provinces = province_choices(session, principal) if national else \
        [(own, province_label(session, own))] if own else []
    default_form = {"indicator": "", "province": province or (own or NATIONAL), "year": str(year), "quarter": "",
                    "value": "", "source": "", "effective_from": f"{year}-01-01", "office": "", "note": ""}
    return {
        "plans": plans, "year": year, "province": province or "", "provinces": province_choices(session, principal),
        "names": province_names(session), "national_name": gettext("The whole country"),
        "catalogue": indicators(), "units": UNITS, "can_manage": can_manage, "national": national,
        "edit_provinces": edit_provinces, "offices": _offices_of(session, own) if not national else [],
        "years": list(range(today.year + 1, today.year - 4, -1)), "report": report,
        "report_lines": report.error_lines("vi" if locale == "vi" else "en") if report is not None else [],
        "upload_error": upload_error, "errors": errors or {}, "form": form or default_form,
        "notice": notice if notice in ("saved",) else ""}


@router.get("/targets/plans")
def plans_page(request: Request, session: DbSession, principal: Reader, year: _Filter = "", province: _Filter = "",
               notice: _Filter = "") -> Response:
    """The plans of a year: current versions, their targets and history, the cascade's warnings; the forms."""
    return render(request, "targets/plans.html", _plans_context(request, session, principal, year, province,
                                                                notice=notice))


@router.post("/targets/plans/import")
def plans_import(request: Request, session: DbSession, principal: Manager,
                 csrf_token: Annotated[str, Form(max_length=200)] = "",
                 file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Import a plan file from the page: all rows or none, the report (every bad row) shown on the page."""
    from ansinh.targets.plans.service import import_plans

    verify_csrf(request, csrf_token)
    name = (file.filename or "") if file is not None else ""
    content = file.file.read() if file is not None and name else b""
    if not name or not content:
        return render(request, "targets/plans.html", _plans_context(
            request, session, principal, "", "",
            upload_error=gettext("Choose a CSV or Excel (.xlsx) plan file.")), status_code=422)
    try:
        report = import_plans(session, content=content, file_name=name, principal=principal,
                              actor=principal.username)
    except DomainError as error:
        session.rollback()
        return render(request, "targets/plans.html", _plans_context(
            request, session, principal, "", "", upload_error=error.translated(gettext)),
            status_code=error.status_code)
    if report.status == "rejected":
        session.rollback()
        return render(request, "targets/plans.html", _plans_context(request, session, principal, "", "",
                                                                    report=report), status_code=422)
    session.flush()
    years = sorted({v["year"] for v in report.versions})
    return render(request, "targets/plans.html", _plans_context(
        request, session, principal, str(years[0]) if years else "", "", report=report))


TARGET_FIELDS = ("indicator", "province", "year", "quarter", "value", "source", "effective_from", "office", "note")


@router.post("/targets/plans/target")
def target_form(request: Request, session: DbSession, principal: Manager, indicator: _Field = "",
                province: _Field = "", year: _Field = "", quarter: _Field = "", value: _Field = "",
                source: _Field = "", effective_from: _Field = "", office: _Field = "", note: _Field = "",
                csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Set one target: a new version of that province's plan for the year."""
    from ansinh.targets.plans.service import ensure_may_read, set_target

    typed = {"indicator": indicator.strip(), "province": province.strip(), "year": year.strip(),
             "quarter": quarter.strip(), "value": value.strip(), "source": source.strip(),
             "effective_from": effective_from.strip(), "office": office.strip(), "note": note.strip()}
    if typed["province"]:  # another province's plan: refused outright (403), as reading it is
        ensure_may_read(session, principal, typed["province"])

    def action() -> list[dict]:
        chosen_year = _year(typed["year"] or "x", clock.today())
        if typed["quarter"] not in ("", "1", "2", "3", "4"):
            raise ValidationFailed("quarter", "The quarter is 1, 2, 3 or 4, or empty for the whole year.")
        return set_target(session, principal, actor=principal.username, indicator=typed["indicator"],
                          province=typed["province"], year=chosen_year,
                          quarter=int(typed["quarter"]) if typed["quarter"] else None, value=typed["value"],
                          source=typed["source"], effective_from=typed["effective_from"],
                          office_code=typed["office"] or None, note=typed["note"] or None)

    def done(_versions: list[dict]) -> str:
        from urllib.parse import urlencode

        return "/targets/plans?" + urlencode({"year": typed["year"], "province": typed["province"],
                                              "notice": "saved"})

    return submit(request, session, action, csrf_token=csrf_token, field="value", fields=TARGET_FIELDS,
                  aliases={"office_code": "office"},
                  refusals=(ValidationFailed, Conflict, PermissionDenied),
                  form=lambda errors: render(request, "targets/plans.html", _plans_context(
                      request, session, principal, typed["year"] if typed["year"].isdigit() else "", "",
                      errors=errors, form=typed)),
                  done=done)


@router.get("/targets/plans/template.xlsx", dependencies=[Depends(require(Permission.targets_read,
                                                                            scope=Scope.reference))])
def plans_template_xlsx() -> Response:
    from ansinh.targets.plans.service import template_xlsx

    return Response(template_xlsx(), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="plans-template.xlsx"'})


@router.get("/targets/plans/template.csv", dependencies=[Depends(require(Permission.targets_read,
                                                                           scope=Scope.reference))])
def plans_template_csv() -> Response:
    from ansinh.targets.plans.service import template_csv

    return Response(template_csv(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="plans-template.csv"'})


@router.get("/targets/plans/export.xlsx")
def plans_export(session: DbSession, principal: Reader, year: _Filter = "", province: _Filter = "") -> Response:
    """The current targets of a year's plans the reader may see, in the plan file's layout."""
    from ansinh.targets.plans.service import export_rows, export_xlsx

    chosen = _year(year, clock.today())
    rows = export_rows(session, principal, year=chosen, province=province.strip() or None)
    name = f"plans-{chosen}{'-' + province.strip() if province.strip() else ''}.xlsx"
    return Response(export_xlsx(rows), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- /targets/drill -----------------------------------------------------------------------------------------------

PAGE_SIZE = 50


@router.get("/targets/drill")
def drill_page(request: Request, session: DbSession, principal: Driller, indicator: _Filter = "",
               province: _Filter = "", period: _Filter = "",
               page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """The records behind an indicator's figure, a page at a time (audited), with the Excel export."""
    from ansinh.targets.indicators.service import get_indicator
    from ansinh.web.lists import Listing

    today = clock.today()
    code = chosen_province(session, principal, province)
    chosen = chosen_period(period, today)
    found = get_indicator(indicator.strip())
    columns, rows, total = drilldown.drill_rows(session, principal, indicator=found.code, province=code,
                                                period=chosen, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    listing = Listing(columns=(), sort="", descending=False, page=page, size=PAGE_SIZE,
                      filters={"indicator": found.code, "province": code, "period": chosen.label}, total=total,
                      has_next=page * PAGE_SIZE < total)
    locale = request_locale(request)
    return render(request, "targets/drill.html", {
        "indicator": found, "drill": drilldown.drill_of(found.code), "columns": columns,
        "rows": [row | {c.key: drilldown.cell(row.get(c.key), c.kind) for c in columns} for row in rows],
        "listing": listing, "province": code, "province_name": province_label(session, code), "period": chosen,
        "period_text": period_text(chosen, locale)})


@router.get("/targets/drill.xlsx")
def drill_xlsx(session: DbSession, principal: Driller, indicator: _Filter = "", province: _Filter = "",
               period: _Filter = "") -> Response:
    """The whole list behind the figure as Excel (audited)."""
    code = chosen_province(session, principal, province)
    chosen = chosen_period(period, clock.today())
    content, count = drilldown.drill_xlsx(session, principal, indicator=indicator.strip(), province=code,
                                          period=chosen)
    return Response(content, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{drilldown.drill_file_name(indicator.strip(), code, chosen)}"',
        "X-Row-Count": str(count)})
