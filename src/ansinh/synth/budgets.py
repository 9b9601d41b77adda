"""Synthetic yearly budgets of HI medical costs for the demo's provinces: each province's estimate for 2025 and 2026,
the indicative figures of its priced hospitals, and one adjustment in October 2026 (a new version). Deterministic for
a seed, fixed dates."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from ansinh.cards.models import FacilityLevel, MedicalFacility

#: A province's yearly estimate, in billions of dong (of the order of the provinces' real ones).
ESTIMATES = {"01": 11_800, "14": 1_650, "48": 2_300, "79": 19_500}
DEFAULT_ESTIMATE = 2_000
BILLION = 1_000_000_000


def load_demo_budgets(session: Session, *, seed: int | str, province: str, facilities: Iterable[MedicalFacility],
                      years: tuple[int, ...] = (2025, 2026)) -> int:
    """The province's estimates and its hospitals' figures through the service; the number of versions recorded."""
    from ansinh.claims.budgets.service import set_budget

    rng = random.Random(f"{seed}-budgets-{province}")
    hospitals = sorted((f for f in facilities if f.level != FacilityLevel.commune), key=lambda f: f.code)[:5]
    recorded = 0
    for year in years:
        growth = 1 + 0.07 * (year - years[0])
        estimate = int(ESTIMATES.get(province, DEFAULT_ESTIMATE) * growth) * BILLION
        set_budget(session, province=province, year=year, amount=estimate, valid_from=date(year - 1, 12, 20),
                   source=f"QĐ {rng.randint(100, 999)}/QĐ-BHXH ngày 20/12/{year - 1}", actor="demo-loader")
        recorded += 1
        shares = [0.35] + [rng.uniform(0.03, 0.08) for _ in hospitals[1:]]
        for facility, share in zip(hospitals, shares):
            amount = int(estimate * share) // 1_000_000 * 1_000_000
            set_budget(session, province=province, year=year, facility_code=facility.code, amount=amount,
                       valid_from=date(year, 1, 1), actor="demo-loader",
                       source=f"QĐ {rng.randint(100, 999)}/QĐ-BHXH{province} ngày 05/01/{year}")
            recorded += 1
        if year == years[-1] and hospitals:  # an adjustment requested by 15 October
            first = hospitals[0]
            amount = int(estimate * shares[0] * 1.04) // 1_000_000 * 1_000_000
            set_budget(session, province=province, year=year, facility_code=first.code, amount=amount,
                       valid_from=date(year, 10, 31), actor="demo-loader",
                       source=f"QĐ {rng.randint(100, 999)}/QĐ-BHXH{province} ngày 31/10/{year} (điều chỉnh)")
            recorded += 1
    return recorded
