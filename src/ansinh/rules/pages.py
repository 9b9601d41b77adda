"""The page listing every legal parameter with its dated history, references and verification status."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ansinh.auth.deps import require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.formatting import number
from ansinh.i18n import N_, get_locale, gettext
from ansinh.rules.parameters import get_parameters
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("rules", N_("Legal parameters"), "/rules", Permission.dashboard_view, order=800,
                          group="reference"))

AREA_LABELS = {
    "salary": N_("Salary bases"), "contributions": N_("Compulsory contributions"),
    "voluntary": N_("Voluntary social insurance"), "health_insurance": N_("Health insurance contributions"),
    "late_payment": N_("Late payment"), "hi_benefits": N_("Health insurance benefits"), "benefits": N_("Benefits"),
}


def _plain(value) -> str:
    """A figure in the reader's format, exact to six decimals (a ratio of 0.0586 stays 0,0586 in Vietnamese)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(value)
    return format_decimal(exact, format="#,##0.######", locale=get_locale())


def shown_value(parameter, value) -> list[tuple[str | None, str]]:
    """A parameter's value as (key, text) parts, figures in the reader's format: one part without a key for a
    single figure or a scale; one part per key (a group, a facility level) shown as the code it is."""
    if isinstance(value, dict):
        return [(key, "; ".join(text for _, text in shown_value(parameter, v))) for key, v in value.items()]
    if value is None:
        return [(None, gettext("no longer applies"))]
    if isinstance(value, tuple):  # a scale: thresholds are plain numbers, values in the parameter's unit
        return [(None, "; ".join(f"≥ {_plain(t)} → {shown_value(parameter, v)[0][1]}" for t, v in value))]
    if parameter.is_fraction:
        text = _plain(value)
        if parameter.unit.startswith("ratio"):
            text += f" ({_plain(Fraction(value) * 100)}%)"
        return [(None, text)]
    return [(None, number(value))]


@router.get("/rules")
def parameters_page(request: Request, _: Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.reference))],
                    unverified: bool = False) -> Response:
    groups: dict[str, list] = defaultdict(list)
    total = unverified_count = 0
    for parameter in get_parameters():
        has_unverified = any(not v.verified for v in parameter.values)
        total += 1
        unverified_count += has_unverified
        if unverified and not has_unverified:
            continue
        rows = [(entry, shown_value(parameter, entry.value)) for entry in reversed(parameter.values)]
        groups[parameter.name.split(".")[0]].append((parameter, rows, has_unverified))
    return render(request, "rules.html", {
        "groups": sorted(groups.items()), "area_labels": AREA_LABELS, "total": total,
        "unverified_count": unverified_count, "only_unverified": unverified,
    })
