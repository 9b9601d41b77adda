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

import re
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

#: A field of a narrative sentence: an indicator code with an optional suffix (``{participants.hi_cmp}``).
_FIELD = re.compile(r"\{([a-z0-9_.]+)\}")


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
    # one issuer at a time per province and period: the latest version's row is locked while the next is numbered
    latest = session.scalars(select(IssuedReport).where(IssuedReport.province == province,
                                                        IssuedReport.period == period.label)
                             .order_by(IssuedReport.version.desc()).limit(1).with_for_update()).first()
    if latest is not None and not (reason or "").strip():
        raise Conflict("The report of {period} was issued (version {version}): re-issue it with a reason.",
                       period=period.label, version=latest.version)
    figures = compute_report(session, principal, province=province, period=period)
    if latest is not None and _same_figures(latest.figures, figures):
        return dict(latest.figures) | {"issued": issued_json(latest)}, False
    plan_id = figures["plan"]["id"] if figures.get("plan") else None
    row = IssuedReport(province=province, period=period.label, version=(latest.version + 1) if latest else 1,
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
        if item["value"] is None or not item.get("judged", True):
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


def _points(value: float, locale: str) -> str:
    return number(abs(value), locale, decimals=2) + (" điểm phần trăm" if locale == "vi" else " points")


def _delta(item: dict, locale: str) -> str:
    if item["unit"] == "percent":
        return _points(item["change"], locale)
    return money(abs(item["change"]), locale) if item["unit"] == "dong" else number(abs(item["change"]), locale)


_WORDS = {
    "vi": {"of_plan": "đạt {pct} kế hoạch", "up": "tăng {delta} so với cùng kỳ năm trước",
           "down": "giảm {delta} so với cùng kỳ năm trước", "above": "cao hơn chỉ tiêu {plan} là {gap}",
           "within": "trong chỉ tiêu {plan}", "difficult": "Khó khăn: {items}.",
           "below_plan": "{name} chưa đạt kế hoạch (còn thiếu {gap})",
           "above_ceiling": "{name} vượt chỉ tiêu (cao hơn {gap})", "worse": "{name} giảm so với cùng kỳ",
           "worse_lower": "{name} tăng so với cùng kỳ"},
    "en": {"of_plan": "{pct} of the plan", "up": "up {delta} on the same period last year",
           "down": "down {delta} on the same period last year", "above": "{gap} above the target of {plan}",
           "within": "within the target of {plan}", "difficult": "Difficulties: {items}.",
           "below_plan": "{name} below plan ({gap} short)", "above_ceiling": "{name} above its ceiling (by {gap})",
           "worse": "{name} down on last year", "worse_lower": "{name} up on last year"},
}

#: The narrative's sentences, each with the indicators it speaks of (a sentence is left out when its first
#: indicator has no value); ``{x}`` is an indicator's value, ``{x_plan}`` its comparison with plan and last year.
_SENTENCES = {
    "vi": [
        ("Tính đến ngày {day}, {place} có {participants.si_total} người tham gia BHXH{participants.si_total_cmp}"
         "{coverage.si_working_age_pct_of}, trong đó {participants.si_compulsory} người tham gia bắt buộc và "
         "{participants.si_voluntary} người tham gia tự nguyện.",
         ("participants.si_total", "coverage.si_working_age_pct", "participants.si_compulsory",
          "participants.si_voluntary")),
        ("Số người tham gia BHYT là {participants.hi}{participants.hi_cmp}{coverage.hi_population_pct_cover}.",
         ("participants.hi", "coverage.hi_population_pct")),
        ("Số người tham gia BHTN là {participants.ui}{participants.ui_cmp}.", ("participants.ui",)),
        ("Trong kỳ, {flows.si_compulsory_leavers} người dừng tham gia BHXH bắt buộc; "
         "{flows.si_voluntary_new} người tham gia BHXH tự nguyện mới và {flows.si_voluntary_returning} người "
         "tham gia lại.", ("flows.si_compulsory_leavers", "flows.si_voluntary_new", "flows.si_voluntary_returning")),
        ("Số tiền thu trong kỳ là {collection.collected}{collection.collected_cmp}.", ("collection.collected",)),
        ("Tỷ lệ nợ là {arrears.overdue_rate}{arrears.overdue_rate_cmp}; tỷ lệ nợ phải tính lãi là "
         "{arrears.interest_bearing_rate}{arrears.interest_bearing_rate_cmp}.",
         ("arrears.overdue_rate", "arrears.interest_bearing_rate")),
        ("Các cơ sở khám chữa bệnh đã tra cứu thẻ BHYT {cards.lookups} lượt, trong đó {cards.lookups_successful} "
         "lượt thành công.", ("cards.lookups", "cards.lookups_successful")),
    ],
    "en": [
        ("As of {day}, {place} had {participants.si_total} social insurance participants"
         "{participants.si_total_cmp}{coverage.si_working_age_pct_of}: {participants.si_compulsory} compulsory and "
         "{participants.si_voluntary} voluntary.",
         ("participants.si_total", "coverage.si_working_age_pct", "participants.si_compulsory",
          "participants.si_voluntary")),
        ("{participants.hi} people had health insurance{participants.hi_cmp}{coverage.hi_population_pct_cover}.",
         ("participants.hi", "coverage.hi_population_pct")),
        ("{participants.ui} people had unemployment insurance{participants.ui_cmp}.", ("participants.ui",)),
        ("In the period, {flows.si_compulsory_leavers} workers left compulsory social insurance; "
         "{flows.si_voluntary_new} people joined voluntary social insurance for the first time and "
         "{flows.si_voluntary_returning} came back to it.",
         ("flows.si_compulsory_leavers", "flows.si_voluntary_new", "flows.si_voluntary_returning")),
        ("{collection.collected} was collected in the period{collection.collected_cmp}.", ("collection.collected",)),
        ("The overdue rate was {arrears.overdue_rate}{arrears.overdue_rate_cmp}; the interest-bearing overdue rate "
         "{arrears.interest_bearing_rate}{arrears.interest_bearing_rate_cmp}.",
         ("arrears.overdue_rate", "arrears.interest_bearing_rate")),
        ("Facilities looked up health insurance cards {cards.lookups} times, {cards.lookups_successful} of them "
         "successfully.", ("cards.lookups", "cards.lookups_successful")),
    ],
}


def _comparison(item: dict, locale: str) -> str:
    """``, 95,7% of the plan, down 607 on the same period last year`` (what is known of the two)."""
    words, parts = _WORDS[locale], []
    if item.get("plan") is not None:
        if item["better"] == "lower":
            plan = _value(item | {"value": item["plan"]}, locale)
            gap = _points(item["gap"], locale) if item["unit"] == "percent" else _value(
                item | {"value": abs(item["gap"])}, locale)
            parts.append(words["above"].format(plan=plan, gap=gap) if item["gap"] > 0
                         else words["within"].format(plan=plan))
        elif item.get("percent_of_plan") is not None:
            parts.append(words["of_plan"].format(pct=percent(item["percent_of_plan"], locale)))
    if item.get("change"):
        parts.append(words["up" if item["change"] > 0 else "down"].format(delta=_delta(item, locale)))
    return "".join(f", {part}" for part in parts)


def _gap(item: dict, locale: str) -> str:
    if item["unit"] == "percent":
        return _points(item["gap"], locale)
    return money(abs(item["gap"]), locale) if item["unit"] == "dong" else number(abs(item["gap"]), locale)


def narrative(report: dict, locale: str, place: str) -> list[str]:
    """The report's text: a sentence for each group of headline indicators that have values, then the difficulties
    (pure: from the report's figures)."""
    by_code = {item["code"]: item for item in report["indicators"]}
    end = date.fromisoformat(report["end"])
    fields: dict[str, str] = {"day": format_day(end, locale), "place": place}
    for code, item in by_code.items():
        fields[code] = _value(item, locale) if item.get("value") is not None else "—"
        fields[f"{code}_cmp"] = _comparison(item, locale) if item.get("value") is not None else ""
    for code, key, template in (("coverage.si_working_age_pct", "_of",
                                 {"vi": " (bằng {value} lực lượng lao động trong độ tuổi)",
                                  "en": " ({value} of the working-age population)"}),
                                ("coverage.hi_population_pct", "_cover",
                                 {"vi": ", bao phủ {value} dân số{cmp}", "en": ", {value} of the population{cmp}"})):
        item = by_code.get(code)
        fields[code + key] = template[locale].format(value=fields[code], cmp=fields[f"{code}_cmp"]) \
            if item is not None and item.get("value") is not None else ""
    sentences = []
    for template, codes in _SENTENCES[locale]:
        first = by_code.get(codes[0])
        if first is None or first.get("value") is None:
            continue
        sentences.append(_FIELD.sub(lambda match: fields.get(
            match.group(1), "" if match.group(1).endswith(("_cmp", "_of", "_cover")) else "—"), template))
    problems = []
    for found in difficulties(report["indicators"]):
        item = by_code[found["code"]]
        name = item["name_vi"] if locale == "vi" else item["name_en"]
        name = name[:1].lower() + name[1:]  # inside the sentence ("người tham gia BHXH")
        if found["why"] in ("below_plan", "above_ceiling"):
            problems.append(_WORDS[locale][found["why"]].format(name=name, gap=_gap(item, locale)))
        else:
            problems.append(_WORDS[locale]["worse" if item["better"] == "higher" else "worse_lower"].format(
                name=name))
    if problems:
        sentences.append(_WORDS[locale]["difficult"].format(items="; ".join(problems)))
    return sentences
