"""The demo's plans: targets for this year and last year for the demo's provinces and the country, set from the
figures the demo's records give, so that the plans, reports and ranking pages have something to say.

For each measured indicator, the actual figure (this year to date; last year: the whole year) is computed through
the indicator service (:func:`~ansinh.targets.indicators.service.figures_of`) and the target set around it: a stock
at the actual × a factor, a flow at the actual projected to the whole year × a factor, a rate likewise (at most
100%). The factor is drawn (seeded) below 1 for half the provinces and above 1 for the other half, so some provinces
are above their plan and some below. The overdue rates get the ceilings VSS usually assigns per quarter
(:data:`CEILINGS`). The country's target of an indicator whose values add up is the sum of the provinces' (the
cascade check finds nothing); of a rate, its own actual × a factor. Each target names the decision it comes from
(:data:`SOURCES`). Then one province's plan (and the country's, to keep the sum) is revised from 1 July, so a plan's
history shows two versions.

Everything goes through :func:`~ansinh.targets.plans.service.import_plans` (a CSV built in memory, actor ``demo``).

An indicator ansinh does not measure yet (``measured`` false) gets no plan here.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from ansinh.targets.indicators.registry import Figure, Indicator, indicators
from ansinh.targets.indicators.service import figures_of
from ansinh.targets.indicators.sources import Sources
from ansinh.targets.models import NATIONAL
from ansinh.targets.periods import Period, parse_period, year_to_date
from ansinh.targets.plans.service import import_plans

#: Demo ceilings of the overdue rates, in percent, the same each quarter (a demo's figures, not a legal one).
CEILINGS = {"arrears.overdue_rate": "1.2", "arrears.interest_bearing_rate": "0.5"}
#: The decisions the demo's targets cite: the Prime Minister's for the country and coverage, the provincial
#: People's Council's for a province's other targets.
SOURCES = {"national": "QĐ 546/QĐ-TTg", "coverage": "QĐ 546/QĐ-TTg", "province": "Nghị quyết HĐND tỉnh"}
REVISION_SOURCE = "Nghị quyết HĐND tỉnh (điều chỉnh)"
#: Factors of the target over the actual figure: a province "ahead" gets a target below its figure.
AHEAD, BEHIND = (0.90, 0.99), (1.01, 1.15)
COLUMNS = ("indicator", "province", "year", "quarter", "value", "source", "effective_from")


def _factor(seed, province: str, code: str, year: int, ahead: bool) -> float:
    low, high = AHEAD if ahead else BEHIND
    return random.Random(f"{seed}/plans/{province}/{code}/{year}").uniform(low, high)


def _actuals(session: Session, indicator: Indicator, period: Period,
             sources: Sources) -> dict[str, Figure]:
    """The indicator's figures for every province and the country."""
    from ansinh.registry.places import province_names

    return figures_of(indicator, sources, period, sorted(province_names(session)))


def _target(indicator: Indicator, figure: Figure | None, factor: float, scale: float) -> Decimal | None:
    """The target around an actual figure: × scale (a flow projected to the year) × factor; a rate at most 100."""
    if figure is None or figure.value is None:
        return None
    value = Decimal(str(figure.value)) * Decimal(str(scale)) * Decimal(str(factor))
    if indicator.unit == "percent":
        return min(value, Decimal(100)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def _source(code: str, province: str) -> str:
    if province == NATIONAL:
        return SOURCES["national"]
    return SOURCES["coverage"] if code.startswith("coverage.") else SOURCES["province"]


def _year_rows(session: Session, year: int, period: Period, provinces: Sequence[str], seed,
               skipped: set[str]) -> list[dict]:
    """The rows of a year's plans, from the figures of ``period`` (this year to date, or the whole year)."""
    year_days = (date(year, 12, 31) - date(year, 1, 1)).days + 1
    sources = Sources(session)
    effective = date(year, 1, 1).isoformat()
    rows: list[dict] = []
    for code, indicator in sorted(indicators().items()):
        if not indicator.measured:
            skipped.add(code)
            continue
        if code in CEILINGS:
            for province in (*provinces, NATIONAL):
                for quarter in (1, 2, 3, 4):
                    rows.append({"indicator": code, "province": province, "year": year, "quarter": quarter,
                                 "value": CEILINGS[code], "source": _source(code, province),
                                 "effective_from": effective})
            continue
        figures = _actuals(session, indicator, period, sources)
        scale = year_days / period.days if indicator.flow else 1.0
        total = Decimal(0)
        planned = 0
        for index, province in enumerate(provinces):
            target = _target(indicator, figures.get(province), _factor(seed, province, code, year, index % 2 == 0),
                             scale)
            if target is None:
                continue
            rows.append({"indicator": code, "province": province, "year": year, "quarter": "",
                         "value": str(target), "source": _source(code, province), "effective_from": effective})
            total += target
            planned += 1
        national = total if indicator.additive else _target(
            indicator, figures.get(NATIONAL), _factor(seed, NATIONAL, code, year, True), scale)
        if planned and national is not None:
            rows.append({"indicator": code, "province": NATIONAL, "year": year, "quarter": "",
                         "value": str(national), "source": _source(code, NATIONAL), "effective_from": effective})
    return rows


def _csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _revision(rows: list[dict], province: str, year: int) -> list[dict]:
    """One province's stock of participants raised by 5% from 1 July (the provincial council's revision), and the
    country's target by the same amount so the sum still holds."""
    code = "participants.si_compulsory"
    current = {row["province"]: Decimal(row["value"]) for row in rows
               if row["indicator"] == code and row["quarter"] == "" and row["province"] in (province, NATIONAL)}
    if province not in current or NATIONAL not in current:
        return []
    raised = (current[province] * Decimal("1.05")).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    effective = date(year, 7, 1).isoformat()
    return [{"indicator": code, "province": province, "year": year, "quarter": "", "value": str(raised),
             "source": REVISION_SOURCE, "effective_from": effective},
            {"indicator": code, "province": NATIONAL, "year": year, "quarter": "",
             "value": str(current[NATIONAL] + raised - current[province]), "source": SOURCES["national"],
             "effective_from": effective}]


def load_demo_plans(session: Session, *, today: date, provinces: Sequence[str], seed) -> dict:
    """Plans of this year and last year for ``provinces`` and the country, and one revision (see the module's
    text). Returns what was written."""
    provinces = sorted(provinces)
    skipped: set[str] = set()
    this_year = _year_rows(session, today.year, year_to_date(today.year, today), provinces, seed, skipped)
    last_year = _year_rows(session, today.year - 1, parse_period(str(today.year - 1)), provinces, seed, skipped)
    versions = targets = 0
    for name, rows in (("last-year", last_year), ("this-year", this_year),
                       ("revision", _revision(this_year, provinces[0], today.year) if provinces else [])):
        if not rows:
            continue
        report = import_plans(session, content=_csv(rows), file_name=f"demo-plans-{name}.csv", principal=None,
                              actor="demo")
        if report.status == "rejected":  # pragma: no cover - the demo's own rows are valid
            raise RuntimeError("the demo's plans were refused: " + "; ".join(report.error_lines()))
        versions += len(report.versions)
        targets += len(rows)
    return {"plan versions": versions, "targets": targets,
            "indicators": len({row["indicator"] for row in this_year}), "not yet measured": len(skipped)}


def snapshot_demo_months(session: Session, *, today: date, months: int = 13) -> int:
    """The indicators' monthly snapshots of the last ``months`` months up to this one (for the pages' trends)."""
    from ansinh.targets.indicators.snapshots import take_snapshots
    from ansinh.targets.periods import month_period

    chosen, year, month = [], today.year, today.month
    for _ in range(months):
        chosen.append(month_period(year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return take_snapshots(session, chosen[::-1])
