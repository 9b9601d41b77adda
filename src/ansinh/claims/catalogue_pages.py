"""The page of the catalogues a claim file is coded with (read-only, for agency staff): the cost groups (MA_NHOM), the
care types (MA_LOAI_KCB) with the way each counts the treatment days, the visit categories (MA_DOITUONG_KCB, the
rules' catalogue) — each code in Vietnamese and English with its dates and reference — and a check of ICD-10 codes."""

from __future__ import annotations

import re
from typing import Annotated

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ansinh import clock
from ansinh.auth.deps import require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.claims import catalogues
from ansinh.claims.prices.service import KIND_NAMES
from ansinh.i18n import N_
from ansinh.rules.visit_categories import visit_catalogue
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.claims_catalogues, scope=Scope.reference))]

register_nav_item(NavItem("claims_catalogues", N_("Claim catalogues"), "/claims/catalogues",
                          Permission.claims_catalogues, order=520, agency_only=True, group="claims"))

#: At most this many codes are checked at once on the page.
MAX_CODES = 50


@router.get("/claims/catalogues")
def catalogues_page(request: Request, principal: Reader,
                    icd: Annotated[str, Query(max_length=600)] = "") -> Response:
    """The catalogues, and the ICD-10 codes typed (separated by spaces, commas or semicolons) checked."""
    today = clock.today()
    codes = [code for code in re.split(r"[\s,;]+", icd.strip()) if code][:MAX_CODES]
    checked = []
    if codes:
        series = pl.Series("code", codes, dtype=pl.String)
        known = catalogues.icd10_is_known(series).to_list()
        leaves = catalogues.icd10_is_known(series, leaf_only=True).to_list()
        checked = [{"code": code, "plain": catalogues.with_dot(code), "known": bool(k), "leaf": bool(leaf),
                    "title": catalogues.icd10_title(code)} for code, k, leaf in zip(codes, known, leaves)]
    visits = visit_catalogue()
    return render(request, "claims/catalogues.html", {
        "cost_groups": catalogues.cost_groups(), "care_types": catalogues.care_types(), "today": today,
        "cost_source": catalogues.cost_group_catalogue().source, "care_source": catalogues.care_type_catalogue().source,
        "visits": sorted(visits.categories.values(), key=lambda c: catalogues._code_order(c.code)),
        "visit_source": visits.source, "visit_from": visits.valid_from, "kind_names": KIND_NAMES,
        "days_rules": catalogues.TREATMENT_DAYS_RULES, "icd": icd, "checked": checked,
        "icd_count": catalogues.icd10().codes.len()})
