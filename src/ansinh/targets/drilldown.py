"""Drill-down: the records behind an indicator's figure (the people who left compulsory SI in the period, the new
and returning voluntary participants, the employers in arrears, those overdue 3 months or more, the people without
health insurance), for a province (``00``: the country) and a period.

An indicator names its list (``Indicator.drill``); :data:`DRILLS` maps that name to the domain's list function.
The lists are of people and employers: reading one needs ``registry.read`` besides ``targets.read`` and the province
in the caller's scope, and every list or export is audited (:func:`ansinh.registry.service.record_people_listed`,
``record_people_exported``; the employers' lists as ``list``/``export`` events of ``employer``).

Also the small API route ``GET /api/v1/targets/drill`` (JSON, or ``format=xlsx``) over the same function.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope, permission_denied
from ansinh.errors import NotFound, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.schemas import ErrorBody
from ansinh.targets.models import NATIONAL
from ansinh.targets.indicators.registry import code_enum
from ansinh.targets.periods import PERIOD_PATTERN, Period, parse_period

#: Rows of a drill-down export at most (a country's leavers of a year may be many; the export is the page's list).
EXPORT_LIMIT = 200_000
#: Rows fetched at a time while exporting.
EXPORT_BATCH = 5_000
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class DrillColumn:
    """A column of a drill-down list: the row's key, its heading (an English msgid) and how its value is shown
    (``text``, ``code``, ``day``, ``number``, ``money``)."""

    key: str
    label: str
    kind: str = "text"


Lister = Callable[..., tuple[list[dict], int]]


@dataclass(frozen=True)
class Drill:
    name: str
    title: str  # an English msgid
    columns: tuple[DrillColumn, ...]
    lister: Lister  # (session, principal, *, province, period, limit, offset) -> (rows, total)
    people: bool = True  # rows are people (audited as such); else employers


PERSON = (DrillColumn("si_number", N_("Social insurance number"), "code"), DrillColumn("full_name", N_("Full name")))


def _leavers(session: Session, principal: Principal | None, *, province: str | None, period: Period, limit: int,
             offset: int) -> tuple[list[dict], int]:
    from ansinh.participation.flows import list_compulsory_leavers

    return list_compulsory_leavers(session, since=period.start, until=period.end, province=province, limit=limit,
                                   offset=offset)


def _voluntary_new(session: Session, principal: Principal | None, *, province: str | None, period: Period,
                   limit: int, offset: int) -> tuple[list[dict], int]:
    from ansinh.participation.flows import list_voluntary_new

    return list_voluntary_new(session, since=period.start, until=period.end, province=province, limit=limit,
                              offset=offset)


def _voluntary_returning(session: Session, principal: Principal | None, *, province: str | None, period: Period,
                         limit: int, offset: int) -> tuple[list[dict], int]:
    from ansinh.participation.flows import list_voluntary_returning

    return list_voluntary_returning(session, since=period.start, until=period.end, province=province, limit=limit,
                                    offset=offset)


def _uncovered(session: Session, principal: Principal | None, *, province: str | None, period: Period, limit: int,
               offset: int) -> tuple[list[dict], int]:
    from ansinh.registry.shares import list_uncovered

    return list_uncovered(session, on=period.end, province=province, limit=limit, offset=offset)


def _debtors(min_months: int) -> Lister:
    def lister(session: Session, principal: Principal | None, *, province: str | None, period: Period, limit: int,
               offset: int) -> tuple[list[dict], int]:
        from ansinh.collection.arrears import debtor_list

        rows = debtor_list(session, principal, on=period.end, province=province, min_months=min_months)
        return rows[offset:offset + limit], len(rows)
    return lister


EMPLOYER = (DrillColumn("tax_code", N_("Tax code"), "code"), DrillColumn("name", N_("Employer")))
DEBTS = (DrillColumn("months_overdue", N_("Months overdue"), "number"), DrillColumn("arrears", N_("Arrears"), "money"),
         DrillColumn("interest", N_("Late interest"), "money"), DrillColumn("oldest_due", N_("Oldest due"), "day"))

#: The lists behind the figures, by the name an indicator gives (``Indicator.drill``).
DRILLS: dict[str, Drill] = {drill.name: drill for drill in (
    Drill("leavers", N_("People who left compulsory social insurance"),
          (*PERSON, DrillColumn("employer_name", N_("Employer they left")), DrillColumn("left_on", N_("Left on"), "day")),
          _leavers),
    Drill("voluntary_new", N_("New voluntary participants"),
          (*PERSON, DrillColumn("joined_on", N_("Joined on"), "day")), _voluntary_new),
    Drill("voluntary_returning", N_("Voluntary participants returning"),
          (*PERSON, DrillColumn("joined_on", N_("Joined on"), "day")), _voluntary_returning),
    Drill("uncovered", N_("People without health insurance"),
          (*PERSON, DrillColumn("date_of_birth", N_("Date of birth"), "day"), DrillColumn("commune", N_("Commune"))),
          _uncovered),
    Drill("debtors", N_("Employers in arrears"), (*EMPLOYER, *DEBTS), _debtors(1), people=False),
    Drill("debtors_3_months", N_("Employers overdue 3 months or more"), (*EMPLOYER, *DEBTS), _debtors(3),
          people=False),
)}


def drill_of(indicator: str) -> Drill:
    """The list behind an indicator (404 when it has none)."""
    from ansinh.targets.indicators.service import get_indicator

    found = get_indicator(indicator)
    if found.drill is None or found.drill not in DRILLS:
        raise NotFound("The indicator {code} has no list of records behind it.", code=indicator)
    return DRILLS[found.drill]


def ensure_may_drill(session: Session, principal: Principal | None, province: str) -> None:
    """``targets.read`` and ``registry.read`` (the lists name people and employers), the province in scope."""
    from ansinh.targets.plans.service import ensure_may_read

    if principal is not None and not principal.has(Permission.registry_read):
        raise permission_denied(Permission.registry_read)
    ensure_may_read(session, principal, province)


def _query(indicator: str, province: str, period: Period) -> dict:
    return {"indicator": indicator, "province": province, "period": period.label}


def drill_rows(session: Session, principal: Principal | None, *, indicator: str, province: str, period: Period,
               limit: int = 50, offset: int = 0) -> tuple[list[DrillColumn], list[dict], int]:
    """One page of the records behind an indicator's figure: (columns, rows, total). The listing is audited."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed("limit", "From {low} to {high}.", low=1, high=MAX_PAGE_SIZE)
    if offset < 0:
        raise ValidationFailed("offset", "From {low} to {high}.", low=0, high=10**9)
    drill = drill_of(indicator)
    ensure_may_drill(session, principal, province)
    rows, total = drill.lister(session, principal, province=None if province == NATIONAL else province,
                               period=period, limit=limit, offset=offset)
    if drill.people:
        from ansinh.registry.service import record_people_listed

        people = [SimpleNamespace(id=row.get("person_id"), si_number=row.get("si_number")) for row in rows]
        record_people_listed(session, principal, people, what=f"targets.drill.{drill.name}",
                             query=_query(indicator, province, period), total=total)
    else:
        record_event(session, "list", "employer", None, org_unit_id=principal.org_unit_id if principal else None,
                     details={"what": f"targets.drill.{drill.name}", "query": _query(indicator, province, period),
                              "count": len(rows), "total": total,
                              "employer_ids": [row.get("employer_id") for row in rows]})
    return list(drill.columns), rows, total


def _all_rows(session: Session, principal: Principal | None, drill: Drill, province: str, period: Period
              ) -> Iterator[dict]:
    offset = 0
    while offset < EXPORT_LIMIT:
        rows, total = drill.lister(session, principal, province=None if province == NATIONAL else province,
                                   period=period, limit=min(EXPORT_BATCH, EXPORT_LIMIT - offset), offset=offset)
        yield from rows
        offset += len(rows)
        if not rows or offset >= total:
            return


def cell(value: Any, kind: str) -> Any:
    """A value as an Excel cell (dates stay dates; ISO text of a date becomes one)."""
    if kind == "day" and isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


def drill_xlsx(session: Session, principal: Principal | None, *, indicator: str, province: str,
               period: Period) -> tuple[bytes, int]:
    """The whole list behind an indicator's figure as an Excel file (headings in the reader's language) and the
    number of rows written. The export is audited."""
    from ansinh.web.lists import write_xlsx

    drill = drill_of(indicator)
    ensure_may_drill(session, principal, province)
    columns = drill.columns
    handle, path = tempfile.mkstemp(prefix="ansinh-drill-", suffix=".xlsx")
    os.close(handle)
    try:
        count = write_xlsx(path, [gettext(c.label) for c in columns],
                           ([cell(row.get(c.key), c.kind) for c in columns]
                            for row in _all_rows(session, principal, drill, province, period)),
                           sheet_name=drill.name, title=f"{gettext(drill.title)} · {province} · {period.label}")
        with open(path, "rb") as source:
            content = source.read()
    finally:
        os.unlink(path)
    if drill.people:
        from ansinh.registry.service import record_people_exported

        record_people_exported(session, principal, what=f"targets.drill.{drill.name}",
                               query=_query(indicator, province, period), count=count)
    else:
        record_event(session, "export", "employer", None, org_unit_id=principal.org_unit_id if principal else None,
                     details={"what": f"targets.drill.{drill.name}", "query": _query(indicator, province, period),
                              "count": count})
    return content, count


def drill_file_name(indicator: str, province: str, period: Period) -> str:
    return f"drill-{indicator}-{province}-{period.label.replace('@', '-')}.xlsx"


# --- the API route ---------------------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1/targets", tags=["targets"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Driller = Annotated[Principal, Depends(require(Permission.targets_read, Permission.registry_read,
                                              scope=Scope.org_subtree))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/drill")
def drill(session: DbSession, principal: Driller,
          indicator: Annotated[code_enum(drill_only=True), Query(description="An indicator's code with a drill-down")],
          period: Annotated[str, Query(pattern=PERIOD_PATTERN, description="2026-11, 2026-Q3, 2026 or 2026-YTD")],
          province: Annotated[str | None, Query(pattern=r"^\d{2}$", description="2-digit province code; 00 = the "
                                                "country (default: the caller's own)")] = None,
          on: Annotated[date | None, Query(description="The last day of a year to date (default today)")] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
          format: Annotated[str, Query(pattern="^(json|xlsx)$")] = "json") -> Any:
    """The records behind an indicator's figure (leavers, new or returning voluntary participants, employers in
    arrears, people without health insurance): a page of them, or all of them as Excel. Audited."""
    from ansinh import clock

    from ansinh.targets.plans.service import default_province

    chosen = parse_period(period, on=on or clock.today())
    indicator = indicator.value
    province = province or default_province(session, principal)
    if format == "xlsx":
        content, count = drill_xlsx(session, principal, indicator=indicator, province=province, period=chosen)
        return Response(content, media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="{drill_file_name(indicator, province, chosen)}"',
            "X-Row-Count": str(count)})
    columns, rows, total = drill_rows(session, principal, indicator=indicator, province=province, period=chosen,
                                      limit=limit, offset=offset)
    return {"indicator": indicator, "province": province, "period": chosen.label, "total": total,
            "limit": limit, "offset": offset,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in columns], "rows": rows}
