"""The page listing every legal parameter with its dated history, references and verification status."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ansinh.auth.deps import require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.i18n import N_
from ansinh.rules.cli import _format_value
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
        rows = [(entry, _format_value(parameter, entry.value)) for entry in reversed(parameter.values)]
        groups[parameter.name.split(".")[0]].append((parameter, rows, has_unverified))
    return render(request, "rules.html", {
        "groups": sorted(groups.items()), "area_labels": AREA_LABELS, "total": total,
        "unverified_count": unverified_count, "only_unverified": unverified,
    })
