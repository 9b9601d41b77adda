"""The province report (and the national one, province ``00``): every indicator for a period against its plan and
the same period last year, a narrative in Vietnamese and English, and the difficulties the figures show.

A report **issued** for a period is frozen: its figures and the plan version are stored
(:class:`~ansinh.targets.models.IssuedReport`), so later corrections of the records do not change what was issued.
Reading a report returns the latest issued version when there is one (``issued`` names it), else the figures as the
records stand (``issued`` null, a draft). Re-issuing is explicit, with a reason, and kept as a new version.

Who: reading, ``targets.read`` within the caller's scope (a province's staff: their province); issuing,
``targets.issue`` (a province's officers for their province, national staff for any and for the country).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.permissions import Permission, Principal, permission_denied
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.formatting import day as format_day
from ansinh.formatting import money, number, percent
from ansinh.targets.indicators.service import indicator_results
from ansinh.targets.models import NATIONAL, IssuedReport
from ansinh.targets.periods import Period
from ansinh.targets.plans.service import ensure_may_read

#: The indicators the narrative speaks of, in its order (each only when it has a value).
HEADLINE = ("participants.si_total", "participants.si_compulsory", "participants.si_voluntary", "participants.hi",
            "participants.ui", "coverage.hi_population_pct", "coverage.si_working_age_pct",
            "flows.si_compulsory_leavers", "flows.si_voluntary_new", "collection.collected",
            "arrears.overdue_rate", "arrears.interest_bearing_rate", "cards.lookups_successful")


def province_name(session: Session, province: str, locale: str = "vi") -> str:
    from ansinh.registry.places import province_names

    if province == NATIONAL:
        return "Toàn quốc" if locale == "vi" else "The whole country"
    return province_names(session).get(province, province)


def compute_report(session: Session, principal: Principal | None, *, province: str, period: Period) -> dict:
    """The report as the records stand now (not stored)."""
    result = indicator_results(session, principal, province=province, period=period)
    result["province_name"] = province_name(session, province)
    result["difficulties"] = difficulties(result["indicators"])
    result["narrative"] = {locale: narrative(result, locale, province_name(session, province, locale))
                           for locale in ("vi", "en")}
    return result


def _latest_issued(session: Session, province: str, label: str) -> IssuedReport | None:
    return session.scalars(select(IssuedReport).where(IssuedReport.province == province, IssuedReport.period == label)
                           .order_by(IssuedReport.version.desc()).limit(1)).first()


def issued_json(row: IssuedReport) -> dict:
    return {"id": row.id, "version": row.version, "issued_at": row.issued_at.isoformat() if row.issued_at else None,
            "issued_by": row.issued_by, "reason": row.reason}


def province_report(session: Session, principal: Principal | None, *, province: str, period: Period,
                    live: bool = False) -> dict:
    """The report of a province (``00``: the country) for a period: the latest issued version (frozen) unless
    ``live``, else computed now. Reading it is audited."""
    ensure_may_read(session, principal, province)
    issued = None if live else _latest_issued(session, province, period.label)
    if issued is not None:
        report = dict(issued.figures) | {"issued": issued_json(issued)}
    else:
        report = compute_report(session, principal, province=province, period=period) | {"issued": None}
    record_event(session, "report.read", "province_report", None,
                 details={"province": province, "period": period.label,
                          "issued_version": issued.version if issued else None})
    return report


def issue_report(session: Session, principal: Principal | None, *, province: str, period: Period, actor: str,
                 reason: str | None = None, today: date) -> tuple[dict, bool]:
    """Issue the report: its figures frozen as a new version. The first issue needs no reason; a re-issue does
    (why the figures changed). A period not yet ended is refused (its figures would still move). Returns the
    report and whether it was newly issued (False: re-issuing with identical figures changes nothing)."""
    ensure_may_read(session, principal, province)
    if principal is not None and not principal.has(Permission.targets_issue):
        raise permission_denied(Permission.targets_issue)
    if principal is not None and province == NATIONAL and principal.org_unit_level != "national":
        raise permission_denied(Permission.targets_issue)
    if period.end >= today:
        raise ValidationFailed("period", "The period {period} has not ended: a report is issued once it has.",
                               period=period.label)
    from ansinh.targets.models import IssuedReport as Row

    # one issuer at a time per province and period: the latest version's row is locked while the next is numbered
    latest = session.scalars(select(Row).where(Row.province == province, Row.period == period.label)
                             .order_by(Row.version.desc()).limit(1).with_for_update()).first()
    if latest is not None and not (reason or "").strip():
        raise Conflict("The report of {period} was issued (version {version}): re-issue it with a reason.",
                       period=period.label, version=latest.version)
    figures = compute_report(session, principal, province=province, period=period)
    if latest is not None and _same_figures(latest.figures, figures):
        return dict(latest.figures) | {"issued": issued_json(latest)}, False
    from ansinh.targets.models import PlanVersion

    plan_id = None
    if figures.get("plan"):
        plan_id = figures["plan"]["id"]
        if session.get(PlanVersion, plan_id) is None:  # pragma: no cover - read in the same transaction
            plan_id = None
    row = Row(province=province, period=period.label, version=(latest.version + 1) if latest else 1,
              plan_version_id=plan_id, figures=figures, reason=(reason or "").strip()[:300] or None,
              issued_by=actor, org_unit_id=principal.org_unit_id if principal else None)
    session.add(row)
    session.flush()
    record_event(session, "report.issue", "issued_report", row.id,
                 details={"province": province, "period": period.label, "version": row.version,
                          "plan_version": figures.get("plan_version"), "reason": row.reason})
    return figures | {"issued": issued_json(row)}, True


def _same_figures(stored: dict, figures: dict) -> bool:
    keys = ("code", "value", "last_year", "plan")
    return ([{k: item.get(k) for k in keys} for item in stored.get("indicators", [])]
            == [{k: item.get(k) for k in keys} for item in figures.get("indicators", [])]
            and stored.get("plan_version") == figures.get("plan_version"))


def issued_versions(session: Session, principal: Principal | None, *, province: str, period: Period) -> list[dict]:
    ensure_may_read(session, principal, province)
    rows = session.scalars(select(IssuedReport).where(IssuedReport.province == province,
                                                      IssuedReport.period == period.label)
                           .order_by(IssuedReport.version.desc()))
    return [issued_json(row) | {"plan_version": row.figures.get("plan_version")} for row in rows]


def get_issued(session: Session, principal: Principal | None, report_id: int) -> IssuedReport:
    row = session.get(IssuedReport, report_id)
    if row is None:
        raise NotFound("There is no issued report {id}.", id=report_id)
    ensure_may_read(session, principal, row.province)
    return row


# --- what the figures say ----------------------------------------------------------------------------------

def difficulties(results: list[dict]) -> list[dict]:
    """The indicators below their plan (or above their ceiling) and those worsening on last year, worst first:
    ``{"code", "why": below_plan | above_ceiling | worsening, "gap" | "change"}``."""
    found = []
    for item in results:
        if item["value"] is None:
            continue
        if item.get("gap") is not None and item["gap"] > 0:
            found.append({"code": item["code"], "why": "below_plan" if item["better"] == "higher" else
                          "above_ceiling", "gap": item["gap"], "percent_of_plan": item["percent_of_plan"]})
        change = item.get("change")
        if change is not None and change != 0 and ((change < 0) == (item["better"] == "higher")):
            found.append({"code": item["code"], "why": "worsening", "change": change})
    return found


def _value(item: dict, locale: str) -> str:
    if item["unit"] == "percent":
        return percent(item["value"], locale, decimals=2)
    if item["unit"] == "dong":
        return money(item["value"], locale)
    return number(item["value"], locale)


_TEXT = {
    "intro": {"vi": "Tính đến ngày {day}, {place}", "en": "As of {day}, {place}"},
    "had": {"vi": "có {value} {name}", "en": "had {value} {name}"},
    "plan": {"vi": "đạt {pct} kế hoạch", "en": "{pct} of the plan"},
    "change_up": {"vi": "tăng {delta} so với cùng kỳ năm trước", "en": "up {delta} on the same period last year"},
    "change_down": {"vi": "giảm {delta} so với cùng kỳ năm trước",
                    "en": "down {delta} on the same period last year"},
    "rate": {"vi": "{name} là {value}", "en": "the {name} was {value}"},
    "ceiling_over": {"vi": "cao hơn chỉ tiêu {plan} là {gap} điểm phần trăm",
                     "en": "{gap} points above the target of {plan}"},
    "ceiling_under": {"vi": "thấp hơn chỉ tiêu {plan}", "en": "below the target of {plan}"},
    "flow": {"vi": "trong kỳ, {name}: {value}", "en": "in the period, {name}: {value}"},
    "difficult": {"vi": "Khó khăn: {items}.", "en": "Difficulties: {items}."},
    "below": {"vi": "{name} chưa đạt kế hoạch (còn thiếu {gap})", "en": "{name} below plan ({gap} short)"},
    "above": {"vi": "{name} vượt chỉ tiêu ({gap})", "en": "{name} above its ceiling (by {gap})"},
    "worse": {"vi": "{name} giảm so với cùng kỳ", "en": "{name} worse than last year"},
    "worse_lower": {"vi": "{name} tăng so với cùng kỳ", "en": "{name} up on last year"},
}


def _gap(item: dict, locale: str) -> str:
    if item["unit"] == "percent":
        return number(abs(item["gap"]), locale, decimals=2) + (" điểm %" if locale == "vi" else " points")
    return money(abs(item["gap"]), locale) if item["unit"] == "dong" else number(abs(item["gap"]), locale)


def narrative(report: dict, locale: str, place: str) -> list[str]:
    """The report's text, one paragraph per headline indicator, then the difficulties (pure: from the report)."""
    by_code = {item["code"]: item for item in report["indicators"]}
    end = date.fromisoformat(report["end"])
    paragraphs = []
    for code in HEADLINE:
        item = by_code.get(code)
        if item is None or item["value"] is None:
            continue
        name = item["name_vi"] if locale == "vi" else item["name_en"].lower()
        value = _value(item, locale)
        if item["unit"] == "percent":
            text = _TEXT["rate"][locale].format(name=name, value=value)
            if item.get("plan") is not None and item["better"] == "lower":
                plan = percent(item["plan"], locale, decimals=2)
                key = "ceiling_over" if item["gap"] > 0 else "ceiling_under"
                text += ", " + _TEXT[key][locale].format(plan=plan, gap=number(abs(item["gap"]), locale,
                                                                               decimals=2))
            elif item.get("percent_of_plan") is not None:
                text += ", " + _TEXT["plan"][locale].format(pct=percent(item["percent_of_plan"], locale))
        elif item["kind"] == "flow":
            text = _TEXT["flow"][locale].format(name=name, value=value)
            if item.get("percent_of_plan") is not None:
                text += ", " + _TEXT["plan"][locale].format(pct=percent(item["percent_of_plan"], locale))
        else:
            text = _TEXT["had"][locale].format(value=value, name=name)
            if item.get("percent_of_plan") is not None:
                text += ", " + _TEXT["plan"][locale].format(pct=percent(item["percent_of_plan"], locale))
        change = item.get("change")
        if change:
            delta = (number(abs(change), locale, decimals=2) + (" điểm %" if locale == "vi" else " points")
                     if item["unit"] == "percent" else
                     money(abs(change), locale) if item["unit"] == "dong" else number(abs(change), locale))
            text += ", " + _TEXT["change_up" if change > 0 else "change_down"][locale].format(delta=delta)
        paragraphs.append(text)
    lead = _TEXT["intro"][locale].format(day=format_day(end, locale), place=place)
    sentences = [f"{lead} " + "; ".join(paragraphs) + "."] if paragraphs else []
    problems = []
    for item in difficulties(report["indicators"]):
        source = by_code[item["code"]]
        name = source["name_vi"] if locale == "vi" else source["name_en"].lower()
        if item["why"] == "below_plan":
            problems.append(_TEXT["below"][locale].format(name=name, gap=_gap(source, locale)))
        elif item["why"] == "above_ceiling":
            problems.append(_TEXT["above"][locale].format(name=name, gap=_gap(source, locale)))
        else:
            key = "worse" if source["better"] == "higher" else "worse_lower"
            problems.append(_TEXT[key][locale].format(name=name))
    if problems:
        sentences.append(_TEXT["difficult"][locale].format(items="; ".join(problems)))
    return sentences
