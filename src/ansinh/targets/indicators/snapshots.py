"""Monthly snapshots of the indicators: every indicator's figure for every province and the country, month by month,
stored (:class:`~ansinh.targets.models.IndicatorValue`) so that a trend of twelve months reads twelve stored rows
instead of recomputing a year from the records (the way DHIS2 keeps its analytics tables).

``ansinh indicators snapshot --month 2026-11`` (or ``--from 2025-12 --to 2026-11``) takes them; a month taken again
is replaced whole (the same records give the same rows). A month without a snapshot is computed from the records when
a trend asks for it, and not stored (a read never writes). The batch runs set-based: one computation per month for
all provinces at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.db import utcnow
from ansinh.targets.indicators.registry import Figure, indicators
from ansinh.targets.indicators.service import _all_provinces, figures_of
from ansinh.targets.indicators.sources import Sources
from ansinh.targets.models import IndicatorValue
from ansinh.targets.periods import Period


def take_snapshots(session: Session, months: Sequence[Period]) -> int:
    """Compute and store every measured indicator for each month (all provinces and the country), replacing what
    was stored for those months. Returns the rows written."""
    provinces = _all_provinces(session)
    sources = Sources(session)
    sources.prepare([month.end for month in months], [(month.start, month.end) for month in months])
    now = utcnow()
    written = 0
    for month in months:
        if month.kind != "month":
            raise ValueError(f"snapshots are taken per month, not {month.label}")
        rows = []
        for code, indicator in indicators().items():
            if not indicator.measured:
                continue
            for province, figure in figures_of(indicator, sources, month, provinces).items():
                rows.append({"indicator": code, "province": province, "period": month.label,
                             "numerator": figure.numerator, "denominator": figure.denominator, "computed_at": now})
        session.execute(delete(IndicatorValue).where(IndicatorValue.period == month.label))
        if rows:
            session.execute(insert(IndicatorValue), rows)
        written += len(rows)
    record_event(session, "indicators.snapshot", "indicator_value", None,
                 details={"months": [m.label for m in months], "rows": written})
    return written


def series(session: Session, codes: Iterable[str], province: str, months: Sequence[Period]
           ) -> dict[str, list[tuple[Period, float | int | None]]]:
    """The monthly values of indicators for a province: stored snapshots where taken, else computed from the
    records (one :class:`Sources` for all the months missing)."""
    codes = list(codes)
    labels = [month.label for month in months]
    stored: dict[tuple[str, str], Figure] = {}
    for code, period, numerator, denominator in session.execute(
            select(IndicatorValue.indicator, IndicatorValue.period, IndicatorValue.numerator,
                   IndicatorValue.denominator)
            .where(IndicatorValue.province == province, IndicatorValue.period.in_(labels),
                   IndicatorValue.indicator.in_(codes))):
        stored[(code, period)] = Figure(numerator, denominator)
    taken = {period for (_code, period) in stored}
    catalogue = indicators()
    sources = provinces = None
    result: dict[str, list[tuple[Period, float | int | None]]] = {}
    for code in codes:
        values = []
        for month in months:
            if month.label in taken:  # a month snapshotted: an indicator without a row had no figure
                figure = stored.get((code, month.label))
            else:
                if sources is None:
                    sources, provinces = Sources(session), _all_provinces(session)
                    missing = [m for m in months if m.label not in taken]
                    sources.prepare([m.end for m in missing], [(m.start, m.end) for m in missing])
                figure = figures_of(catalogue[code], sources, month, provinces).get(province)
            values.append((month, figure.value if figure is not None else None))
        result[code] = values
    return result
