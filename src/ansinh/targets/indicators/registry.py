"""The registry of indicators. Each indicator declares itself once, like the calculators of ``rules``::

    register(Indicator(
        code="participants.si_compulsory",
        name_en="Compulsory social insurance participants", name_vi="Người tham gia BHXH bắt buộc",
        unit="people", flow=False,                       # a stock: counted as of the period's last day
        compute=lambda sources, period: sources.participants(period.end, "si_compulsory"),
        source="participation.service.participation_by_province",
        description="Distinct people with a compulsory SI period in force on the day.",
    ))

``compute`` answers every province at once (``{province: Figure}``): the national figure is their sum, and provinces
are ranked on it. A rate is a :class:`Figure` with a numerator and a denominator, so that the country's rate is the
ratio of the sums, never an average of rates.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ansinh.i18n import N_

if TYPE_CHECKING:
    from ansinh.targets.indicators.sources import Sources
    from ansinh.targets.periods import Period

#: Units of indicators: how a value is written and whether values of provinces add up.
UNITS = {
    "people": N_("people"),
    "dong": N_("dong"),
    "percent": N_("%"),
    "employers": N_("employers"),
    "facilities": N_("facilities"),
    "lookups": N_("lookups"),
    "visits": N_("visits"),
    "claims": N_("claims"),
}
#: The levels of org units an indicator answers for.
LEVELS = ("national", "province")


@dataclass(frozen=True)
class Figure:
    """An indicator's figure for one province: a count (``denominator`` None), or a rate ``numerator /
    denominator`` written in percent; ``parts`` breaks a count down (facilities by level)."""

    numerator: int
    denominator: int | None = None
    parts: dict[str, int] | None = None

    @property
    def value(self) -> float | int | None:
        if self.denominator is None:
            return self.numerator
        return round(100 * self.numerator / self.denominator, 2) if self.denominator else None

    def __add__(self, other: Figure) -> Figure:
        parts = None
        if self.parts is not None or other.parts is not None:
            parts = dict(self.parts or {})
            for key, count in (other.parts or {}).items():
                parts[key] = parts.get(key, 0) + count
        denominator = None if self.denominator is None and other.denominator is None else \
            (self.denominator or 0) + (other.denominator or 0)
        return Figure(self.numerator + other.numerator, denominator, parts)


@dataclass(frozen=True)
class Indicator:
    code: str
    name_en: str
    name_vi: str
    unit: str
    flow: bool  # counted over the period (a flow) or as of its last day (a stock)
    compute: Callable[[Sources, Period], dict[str, Figure]]
    source: str  # the domain service it is computed through
    description: str
    better: str = "higher"  # higher | lower: the direction of rank and gap (an overdue rate: lower)
    levels: tuple[str, ...] = LEVELS
    drill: str | None = None  # the list of records behind the figure (targets.drilldown)
    measured: bool = True  # False: declared for plans, not yet counted by ansinh (its domain has not landed)
    judged: bool = True  # False: a volume neither good nor bad in itself (visits, costs claimed, lookups)
    reference: str = ""  # where the agency defines or cites it
    extra: dict[str, Any] = field(default_factory=dict)

    def name(self, locale: str) -> str:
        return self.name_vi if locale == "vi" else self.name_en

    @property
    def additive(self) -> bool:
        """Values of parts add up to the whole (counts and amounts; not rates)."""
        return self.unit != "percent"


INDICATORS: dict[str, Indicator] = {}


def register(indicator: Indicator) -> Indicator:
    if indicator.unit not in UNITS:
        raise ValueError(f"{indicator.code}: unknown unit {indicator.unit}")
    if indicator.better not in ("higher", "lower"):
        raise ValueError(f"{indicator.code}: better must be higher or lower")
    INDICATORS[indicator.code] = indicator
    return indicator


def indicators() -> dict[str, Indicator]:
    """Every indicator, importing the catalogue first."""
    from ansinh.targets.indicators import catalogue  # noqa: F401 - registers the indicators

    return INDICATORS


def code_enum(*, drill_only: bool = False) -> type[enum.Enum]:
    """The indicators' codes as an enumeration, for the API's parameters (the OpenAPI document lists them; an unknown
    code is refused with 422 naming the field)."""
    codes = [i.code for i in indicators().values() if i.drill or not drill_only]
    return enum.Enum("DrillIndicator" if drill_only else "IndicatorCode", {code: code for code in codes}, type=str)
