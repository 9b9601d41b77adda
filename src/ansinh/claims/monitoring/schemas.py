"""What crosses the API of cost monitoring: the query fields, checked at the edge."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

MonthQuery = Annotated[str, Query(pattern=r"^\d{4}-\d{1,2}$", description="The settlement month, YYYY-MM")]
ProvinceQuery = Annotated[str | None, Query(pattern=r"^\d{2}$", description="A province's code (2025)")]
FacilityQuery = Annotated[str | None, Query(pattern=r"^\d{5}$", description="A facility's code")]


class CostsOut(BaseModel):
    month: str
    province: str | None
    facility: str | None
    thresholds: dict[str, float]
    alerts: int
    facilities: list[dict[str, Any]]
    peer_groups: list[dict[str, Any]]
    trend: list[dict[str, Any]] | None = None


class BudgetUseOut(BaseModel):
    year: int
    on: str
    days_elapsed: int
    days_in_year: int
    thresholds: dict[str, float]
    provinces: list[dict[str, Any]]
    facilities: list[dict[str, Any]]


class FrequentCardsOut(BaseModel):
    month: str
    province: str | None
    more_than: int
    cards: list[dict[str, Any]]
