"""The Ministry's visit categories (MA_DOITUONG_KCB) and the case of the cost-sharing table each is paid under.

A medical claim carries its visit category; the appraisal pays it under the case this catalogue names, with the
share the parameter ``hi_benefits.self_referred_share`` gives on the visit date. Each category also holds an
example visit, which the calculator hi-share must place in the same case and category (tested), so the two
never disagree. The catalogue is data (``data/visit_categories.yaml``), not code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE = Path(__file__).parent / "data" / "visit_categories.yaml"


@dataclass(frozen=True)
class VisitCategory:
    code: str
    case: str | None  # a key of hi_benefits.self_referred_share; None: nothing to share (withdrawn, not HI, ...)
    name_en: str
    name_vi: str
    full_cost: bool = False  # paid in full whatever the card level (Art 22(1)(c))
    example: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VisitCatalogue:
    source: str
    valid_from: date
    categories: dict[str, VisitCategory]

    def get(self, code: str) -> VisitCategory | None:
        return self.categories.get(code)


@lru_cache(maxsize=1)
def visit_catalogue() -> VisitCatalogue:
    document = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    categories = {}
    for entry in document["categories"]:
        code = str(entry["code"])
        categories[code] = VisitCategory(code=code, case=entry.get("case"), name_en=entry["en"], name_vi=entry["vi"],
                                         full_cost=bool(entry.get("full_cost", False)),
                                         example=dict(entry.get("example") or {}))
    valid_from = document["valid_from"]
    return VisitCatalogue(source=document["source"],
                          valid_from=valid_from if isinstance(valid_from, date) else date.fromisoformat(valid_from),
                          categories=categories)
