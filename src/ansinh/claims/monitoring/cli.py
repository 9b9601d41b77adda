"""``ansinh claims costs`` and ``ansinh claims budget-use``: the facilities' costs of a month against their peers,
and the use of the yearly budgets pro-rated to a day (the whole country: a command acts as the agency)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ansinh.cli_errors import fail_for, parse_day


def costs_command(month: Annotated[str, typer.Option("--month", help="The settlement month, YYYY-MM.")],
                  province: Annotated[str | None, typer.Option("--province", help="A province's code (2025), "
                                                                                  "e.g. 01.")] = None,
                  facility: Annotated[str | None, typer.Option("--facility", help="A facility's code (with its "
                                                                                  "12-month trend).")] = None,
                  as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The facilities' visits and costs of a settlement month against the medians of their peers, with alerts."""
    from ansinh.claims.monitoring import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with get_database().unit_of_work() as session:
            answer = service.facility_costs(session, principal=None, month=month, province=province,
                                            facility_code=facility).to_json()
            if facility:
                answer["trend"] = service.facility_trend(session, principal=None, facility_code=facility,
                                                         month=month)
    except DomainError as exc:
        fail_for(exc, "month")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False, default=str))
        return
    print(f"{answer['month']}: {len(answer['facilities'])} facilities, {answer['alerts']} alerts")
    for row in answer["facilities"]:
        per_visit = row["cost_per_outpatient_visit"]
        ratio = row["outpatient_country_ratio"]
        alerts = ", ".join(a["kind"] + (f":{a['setting']}:{a['scope']}" if "setting" in a else "")
                           for a in row["alerts"])
        print(f"  {row['code']} {row['peer_group']:24} visits {row['visits']:>8,} (inpatient "
              f"{row['inpatient_visits']:,})  cost/outpatient visit {per_visit or 0:>12,.0f}  ratio "
              f"{ratio or 0:5.2f}  {alerts}")
    for item in answer.get("trend") or []:
        print(f"  {item['month']}  visits {item['visits']:>8,}  cost {item['cost']:>16,}")


def budget_use_command(year: Annotated[int, typer.Option("--year", help="The year of the budgets.")],
                       on: Annotated[str | None, typer.Option("--on", help="The day (default today).")] = None,
                       province: Annotated[str | None, typer.Option("--province", help="One province's code.")]
                       = None,
                       as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Spending of the year to the day against each province's estimate and each facility's figure, pro-rated."""
    from ansinh import clock
    from ansinh.claims.monitoring import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = parse_day(on) if on else clock.today()
    try:
        with get_database().unit_of_work() as session:
            answer = service.budget_use(session, principal=None, year=year, on=day, province=province).to_json()
    except DomainError as exc:
        fail_for(exc, "year")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
        return
    print(f"{answer['year']} on {answer['on']}: {answer['days_elapsed']} of {answer['days_in_year']} days")
    for row in answer["provinces"]:
        share = row["share_of_expected"]
        print(f"  {row['province']} {row['spent']:>20,} of {row['expected_to_date'] or 0:>20,} pro-rated  "
              f"{'' if share is None else f'{share:7.1%}'}  {row['level']}")
