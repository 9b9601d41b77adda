"""HTTP routes of indicators and reports: ``GET /api/v1/indicators`` (the catalogue), ``GET
/api/v1/reports/province?province=&period=[&on=&live=&format=json|xlsx|pdf]``, ``POST
/api/v1/reports/province/issue``, ``GET /api/v1/reports/province/versions``, ``GET /api/v1/reports/ranking``.

Who: ``targets.read`` (a province's staff: their province's report; the ranking of provinces, aggregates, to any
reader); issuing, ``targets.issue``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Day
from ansinh.schemas import ErrorBody
from ansinh.targets.indicators.registry import code_enum
from ansinh.targets.periods import PERIOD_PATTERN, parse_period
from ansinh.targets.plans.service import default_province
from ansinh.targets.reports import service

router = APIRouter(prefix="/api/v1", tags=["targets"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
    422: {"model": ErrorBody}})
Reader = Annotated[Principal, Depends(require(Permission.targets_read, scope=Scope.org_subtree))]
Issuer = Annotated[Principal, Depends(require(Permission.targets_issue, scope=Scope.org_subtree))]
PeriodQuery = Annotated[str, Query(pattern=PERIOD_PATTERN, description="2026-11, 2026-Q3, 2026 or 2026-YTD")]
OnQuery = Annotated[Day | None, Query(description="The last day of a year to date (default today)")]
ProvinceQuery = Annotated[str | None, Query(pattern=r"^\d{2}$", description="2-digit province code; 00 = the "
                                            "country (default: the caller's own; the country for national staff)")]
IndicatorQuery = Annotated[code_enum(), Query(description="An indicator's code")]
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


@router.get("/indicators", dependencies=[Depends(require(Permission.targets_read, scope=Scope.reference))])
def list_indicators() -> list[dict]:
    """Every indicator: code, names, unit, stock or flow, the direction that is better, and its source."""
    from ansinh.targets.indicators.registry import indicators

    return [{"code": i.code, "name_en": i.name_en, "name_vi": i.name_vi, "unit": i.unit,
             "kind": "flow" if i.flow else "stock", "better": i.better, "source": i.source,
             "measured": i.measured, "description": i.description, "drill": i.drill}
            for i in indicators().values()]


@router.get("/reports/province")
def province_report(session: DbSession, principal: Reader, period: PeriodQuery, province: ProvinceQuery = None,
                    on: OnQuery = None, live: bool = False,
                    format: Annotated[str, Query(pattern="^(json|xlsx|pdf)$")] = "json",
                    language: Annotated[str | None, Query(pattern="^(vi|en)$")] = None) -> Response:
    """A province's report: the issued version when there is one (unless ``live``), else computed now."""
    chosen = parse_period(period, on=on or clock.today())
    province = province or default_province(session, principal)
    report = service.province_report(session, principal, province=province, period=chosen, live=live)
    if format == "json":
        return JSONResponse(report)
    from ansinh.targets.reports import export

    locale = language or principal.locale or "vi"
    content = export.report_xlsx(report, locale) if format == "xlsx" else export.report_pdf(report, locale)
    name = f"report-{province}-{chosen.label.replace('@', '-')}.{format}"
    return Response(content, media_type=MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})


class IssueIn(BaseModel):
    province: str = Field(pattern=r"^\d{2}$")
    period: str = Field(pattern=PERIOD_PATTERN)
    on: date | None = None
    reason: str | None = Field(None, max_length=300)


@router.post("/reports/province/issue", status_code=201,
             responses={200: {"description": "unchanged: the figures are those already issued"}})
def issue(body: IssueIn, session: DbSession, principal: Issuer) -> JSONResponse:
    """Issue a report for an ended period: its figures and plan version frozen (a re-issue needs a reason)."""
    today = clock.today()
    chosen = parse_period(body.period, on=body.on or today)
    report, new = service.issue_report(session, principal, province=body.province, period=chosen,
                                       actor=principal.username, reason=body.reason, today=today)
    return JSONResponse(report | {"new": new}, status_code=201 if new else 200)


@router.get("/reports/province/versions")
def issued_versions(session: DbSession, principal: Reader, period: PeriodQuery, province: ProvinceQuery = None,
                    on: OnQuery = None) -> list[dict]:
    """The versions issued of a report, newest first."""
    return service.issued_versions(session, principal, province=province or default_province(session, principal),
                                   period=parse_period(period, on=on or clock.today()))


@router.get("/reports/ranking")
def ranking(session: DbSession, principal: Reader,
            indicator: IndicatorQuery, period: PeriodQuery, on: OnQuery = None) -> list[dict]:
    """Every province on one indicator, best first, with plan, % of plan, gap and whether it is on target."""
    from ansinh.targets.indicators.service import ranking as rank

    return rank(session, principal, code=indicator.value, period=parse_period(period, on=on or clock.today()))
