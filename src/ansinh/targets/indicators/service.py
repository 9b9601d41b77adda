"""Indicators for a province (or the country) and a period, against the plan and the same period last year, and
provinces ranked on one indicator.

Every indicator is computed for all provinces at once (:mod:`.sources`): a province's result carries its rank, and
the country's figure is the sum of the provinces' (a rate: the ratio of the summed numerators and denominators).

A result: ``value``; ``last_year`` (the same period a year before: the figure of the report issued for it when one
was, else counted from the records) and ``change`` (value − last year);
``plan`` (the target of the period, pro-rated for a flow), ``percent_of_plan`` (value / plan × 100) and ``gap``
(what is still missing to reach the plan: plan − value for an indicator where higher is better, value − plan for
one where lower is better, such as an overdue rate against its ceiling; negative when the plan is beaten);
``rank`` among the provinces (1 = best) and ``ranked`` (how many provinces were ranked).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy.orm import Session

from ansinh.auth.permissions import Principal
from ansinh.errors import NotFound
from ansinh.targets.indicators.registry import Figure, Indicator, indicators
from ansinh.targets.indicators.sources import Sources
from ansinh.targets.models import NATIONAL
from ansinh.targets.periods import Period
from ansinh.targets.plans.service import PeriodPlan, ensure_may_read, plain_number, plan_for_period, version_json


def get_indicator(code: str) -> Indicator:
    indicator = indicators().get(code)
    if indicator is None:
        raise NotFound("There is no indicator {code}.", code=code)
    return indicator


def _all_provinces(session: Session) -> list[str]:
    from ansinh.registry.places import province_names

    return sorted(province_names(session))


def figures_of(indicator: Indicator, sources: Sources, period: Period, provinces: list[str]) -> dict[str, Figure]:
    """The indicator's figure for every province (a count a province has nothing of is 0; a rate without a
    denominator is left out) and for the country (``00``)."""
    if not indicator.measured:
        return {}
    computed = indicator.compute(sources, period)
    figures: dict[str, Figure] = {}
    for province in provinces:
        figure = computed.get(province)
        if figure is None and indicator.unit != "percent":
            figure = Figure(0, None, {} if any(f.parts is not None for f in computed.values()) else None)
        if figure is not None:
            figures[province] = figure
    total = None
    for province, figure in computed.items():
        total = figure if total is None else total + figure
    if total is None and indicator.unit != "percent":
        total = Figure(0)
    if total is not None:
        figures[NATIONAL] = total
    return figures


def ranks(indicator: Indicator, figures: dict[str, Figure]) -> dict[str, int]:
    """Provinces ranked on the indicator's value (1 = the best: the highest, or the lowest where lower is better);
    equal values share a rank."""
    values = [(province, figure.value) for province, figure in figures.items()
              if province != NATIONAL and figure.value is not None]
    values.sort(key=lambda item: (-item[1] if indicator.better == "higher" else item[1], item[0]))
    result, previous, rank = {}, None, 0
    for position, (province, value) in enumerate(values, start=1):
        if value != previous:
            rank, previous = position, value
        result[province] = rank
    return result


def compare(indicator: Indicator, value: int | float | None, last_year: int | float | None,
            plan: Decimal | None) -> dict:
    """Change on last year, % of plan and gap (pure)."""
    change = None if value is None or last_year is None else _round(value - last_year, indicator)
    percent = gap = None
    if plan is not None and value is not None:
        plan_value = float(plan) if indicator.unit == "percent" else int(plan)
        if plan_value:
            percent = round(100 * value / plan_value, 2)
        gap = _round(plan_value - value if indicator.better == "higher" else value - plan_value, indicator)
    return {"change": change, "plan": plain_number(plan), "percent_of_plan": percent, "gap": gap}


def _round(value: float, indicator: Indicator) -> int | float:
    return round(value, 2) if indicator.unit == "percent" else int(value)


def indicator_results(session: Session, principal: Principal | None, *, province: str, period: Period,
                      codes: Iterable[str] | None = None, sources: Sources | None = None,
                      plan: PeriodPlan | None = None) -> dict:
    """Every indicator (or those named) for a province (``00``: the country) and a period, with last year, plan,
    % of plan, gap and rank. Checks the caller may read the province."""
    ensure_may_read(session, principal, province)
    catalogue = indicators()
    chosen = [get_indicator(code) for code in codes] if codes else list(catalogue.values())
    sources = sources or Sources(session)
    plan = plan or plan_for_period(session, province, period)
    provinces = _all_provinces(session)
    previous = period.last_year()
    published = issued_values(session, province, previous)
    if all(indicator.code in published for indicator in chosen):
        sources.prepare([period.end], [(period.start, period.end)])
    else:
        sources.prepare([period.end, previous.end], [(period.start, period.end), (previous.start, previous.end)])
    results = []
    for indicator in chosen:
        now = figures_of(indicator, sources, period, provinces)
        figure = now.get(province)
        value = figure.value if figure is not None else None
        if indicator.code in published:
            last = published[indicator.code]
        else:
            before = figures_of(indicator, sources, previous, provinces).get(province)
            last = before.value if before is not None else None
        entry = {"code": indicator.code, "name_en": indicator.name_en, "name_vi": indicator.name_vi,
                 "unit": indicator.unit, "kind": "flow" if indicator.flow else "stock", "better": indicator.better,
                 "measured": indicator.measured, "judged": indicator.judged, "value": value, "last_year": last,
                 **compare(indicator, value, last, plan.values.get(indicator.code))}
        order = ranks(indicator, now)
        entry["rank"] = order.get(province) if province != NATIONAL else None
        entry["ranked"] = len(order)
        if figure is not None and figure.parts is not None:
            entry["parts"] = dict(sorted(figure.parts.items()))
        if figure is not None and figure.denominator is not None:
            entry["numerator"], entry["denominator"] = figure.numerator, figure.denominator
        results.append(entry)
    return {"province": province, "period": period.label, "start": period.start.isoformat(),
            "end": period.end.isoformat(), "last_year_issued": bool(published),
            "plan_version": plan.version.version if plan.version is not None else None,
            "plan": version_json(plan.version) if plan.version is not None else None,
            "indicators": results}


def issued_values(session: Session, province: str, period: Period) -> dict[str, int | float | None]:
    """The figures of the latest report issued for a province and period, by indicator: what the agency published.
    The same period last year is compared with these when they exist (a correction of last year's records after
    the report was issued does not change the comparison, as it does not change what was published)."""
    from sqlalchemy import select

    from ansinh.targets.models import IssuedReport

    figures = session.scalars(select(IssuedReport.figures).where(IssuedReport.province == province,
                                                                 IssuedReport.period == period.label)
                              .order_by(IssuedReport.version.desc()).limit(1)).first()
    if not figures:
        return {}
    return {item["code"]: item.get("value") for item in figures.get("indicators", []) if "code" in item}


def ranking(session: Session, principal: Principal | None, *, code: str, period: Period) -> list[dict]:
    """Every province on one indicator for a period, best first: value, plan, % of plan, gap, rank, and whether
    it is above or below its target (``on_target``). Figures of provinces are aggregates: any reader of
    indicators may see the ranking."""
    from ansinh.auth.permissions import Permission, permission_denied

    if principal is not None and not principal.has(Permission.targets_read):
        raise permission_denied(Permission.targets_read)
    indicator = get_indicator(code)
    provinces = _all_provinces(session)
    sources = Sources(session)
    figures = figures_of(indicator, sources, period, provinces)
    order = ranks(indicator, figures)
    rows = []
    for province in provinces:
        figure = figures.get(province)
        value = figure.value if figure is not None else None
        plan = plan_for_period(session, province, period).values.get(code)
        compared = compare(indicator, value, None, plan)
        on_target = None
        if compared["gap"] is not None:
            on_target = compared["gap"] <= 0
        rows.append({"province": province, "value": value, "plan": compared["plan"],
                     "percent_of_plan": compared["percent_of_plan"], "gap": compared["gap"],
                     "on_target": on_target, "rank": order.get(province)})
    rows.sort(key=lambda row: (row["rank"] is None, row["rank"] or 0, row["province"]))
    return rows
