"""The geometry of the dashboard's charts, drawn server-side as inline SVG by the templates (no script): horizontal
bars of ratios against reference lines, and monthly columns. Pure functions of the figures; the words are the
template's (translated there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH, LABEL_WIDTH, ROW_HEIGHT, PLOT_HEIGHT = 640, 70, 22, 180


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    alert: bool = False


@dataclass(frozen=True)
class RatioChart:
    """Bars of ratios (1 = the peer median) with the lines of the median and of the alert threshold."""

    bars: list[Bar]
    width: int
    height: int
    median_x: float
    threshold_x: float
    threshold: float


def ratio_chart(items: list[tuple[str, float]], threshold: float) -> RatioChart:
    """``items``: (label, ratio); the scale runs from 0 to the larger of the highest ratio and 1.2 × the threshold."""
    top = max([threshold * 1.2] + [value for _, value in items])
    plot = WIDTH - LABEL_WIDTH - 60

    def x(value: float) -> float:
        return LABEL_WIDTH + plot * value / top

    bars = [Bar(label, value, LABEL_WIDTH, 4 + index * ROW_HEIGHT, round(x(value) - LABEL_WIDTH, 1), ROW_HEIGHT - 6,
                alert=value > threshold) for index, (label, value) in enumerate(items)]
    return RatioChart(bars, WIDTH, 8 + len(items) * ROW_HEIGHT, round(x(1), 1), round(x(threshold), 1), threshold)


@dataclass(frozen=True)
class ColumnChart:
    columns: list[Bar]
    width: int
    height: int
    top: float


def column_chart(items: list[tuple[str, float | None]]) -> ColumnChart:
    """Monthly columns (a month without a value has none), scaled to the highest value."""
    top = max([value for _, value in items if value] or [1])
    step = (WIDTH - 20) / max(len(items), 1)
    columns = []
    for index, (label, value) in enumerate(items):
        height = round(PLOT_HEIGHT * (value or 0) / top, 1)
        columns.append(Bar(label, value or 0, round(10 + index * step + step * 0.15, 1), round(10 + PLOT_HEIGHT - height, 1),
                           round(step * 0.7, 1), height))
    return ColumnChart(columns, WIDTH, PLOT_HEIGHT + 40, top)


def top_ratios(rows: list[dict[str, Any]], key: str, count: int = 20) -> list[tuple[str, float]]:
    """The facilities with the highest ratio ``key`` (those with one), highest first."""
    found = [(row["code"], row[key]) for row in rows if row.get(key) is not None]
    return sorted(found, key=lambda pair: (-pair[1], pair[0]))[:count]
