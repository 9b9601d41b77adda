"""Demo budgets of HI medical costs: for each province with claims this year, a yearly estimate set so that the
provinces in turn stand within, near (warning) and over their pro-rated budget on the day, and an indicative figure
for each facility with claims — through the budgets service, so that the budget-use page has something to show."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

#: The share of the pro-rated estimate the provinces have spent, in turn: within, warning, over.
DEMO_SHARES = (Fraction(7, 10), Fraction(9, 10), Fraction(11, 10))
FACILITY_SHARE = Fraction(8, 10)


def load_demo_budgets(session, *, today: date) -> dict:
    from ansinh.claims.budgets.service import set_budget
    from ansinh.claims.monitoring.service import budget_use

    use = budget_use(session, principal=None, year=today.year, on=today)
    figures = 0

    def figure(spent: int, share: Fraction) -> int:
        return int(Fraction(spent * use.days_in_year, max(use.elapsed, 1)) / share)

    for index, row in enumerate(r for r in use.provinces if r["spent"] > 0):
        set_budget(session, province=row["province"], year=today.year,
                   amount=figure(row["spent"], DEMO_SHARES[index % len(DEMO_SHARES)]),
                   source=f"QĐ {100 + index}/QĐ-BHXH (demo)", valid_from=date(today.year, 1, 1), actor="demo-loader")
        figures += 1
    for row in use.facilities:
        if row["spent"] > 0 and row["budget"] is None:
            set_budget(session, province=row["province"], year=today.year, amount=figure(row["spent"], FACILITY_SHARE),
                       source="QĐ 1/QĐ-BHXH (demo)", valid_from=date(today.year, 1, 1),
                       facility_code=row["facility_code"], actor="demo-loader")
            figures += 1
    return {"budget figures": figures}
