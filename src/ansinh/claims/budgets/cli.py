"""``ansinh claims budgets set|show``: the yearly budgets of HI medical costs of a province and its facilities."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ansinh.cli_errors import fail_for, parse_day

budgets_app = typer.Typer(help="Yearly budgets of HI medical costs (provinces and facilities).",
                          no_args_is_help=True)


@budgets_app.command("set")
def set_figure(province: Annotated[str, typer.Option("--province", help="The province's code (2025), e.g. 01.")],
               year: Annotated[int, typer.Option("--year", help="The year of the budget.")],
               amount: Annotated[int, typer.Option("--amount", help="Whole dong.")],
               source: Annotated[str, typer.Option("--source", help="The decision that sets it.")],
               facility: Annotated[str | None, typer.Option("--facility", help="A facility's code: its indicative "
                                                                               "figure (else the province's "
                                                                               "estimate).")] = None,
               valid_from: Annotated[str | None, typer.Option("--valid-from", help="The day it takes effect "
                                                                                   "(default 1 January of the "
                                                                                   "year).")] = None,
               as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Record a new version of a province's yearly estimate or of a facility's indicative figure (the earlier
    versions are kept)."""
    import getpass
    from datetime import date

    from ansinh.audit.service import audit_context
    from ansinh.claims.budgets import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = parse_day(valid_from, "--valid-from") if valid_from else date(year, 1, 1)
    actor = f"cli:{getpass.getuser()}"
    try:
        with audit_context(channel="cli", actor_username=actor), get_database().unit_of_work() as session:
            budget = service.set_budget(session, province=province, year=year, amount=amount, source=source,
                                        valid_from=day, facility_code=facility, actor=actor)
            answer = service.budget_json(budget)
    except DomainError as exc:
        fail_for(exc, "province")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
    else:
        who = answer["facility_code"] or f"province {answer['province']}"
        print(f"{who} {answer['year']}: {answer['amount']:,} dong from {answer['valid_from']} "
              f"(version {answer['version']})")


@budgets_app.command("show")
def show(province: Annotated[str, typer.Option("--province", help="The province's code (2025), e.g. 01.")],
         year: Annotated[int, typer.Option("--year", help="The year of the budget.")],
         on: Annotated[str | None, typer.Option("--on", help="The versions in force on this day (default: the "
                                                             "latest).")] = None,
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """A province's estimate for a year and its facilities' figures."""
    from ansinh.claims.budgets import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = parse_day(on) if on else None
    try:
        with get_database().unit_of_work() as session:
            view = service.budget_for(session, province, year, on=day)
            answer = view.to_json()
    except DomainError as exc:
        fail_for(exc, "province")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
        return
    total = answer["total"]
    print(f"province {answer['province']} {answer['year']}: "
          + (f"{total['amount']:,} dong (version {total['version']}, {total['source']})" if total else "no estimate"))
    for row in answer["facilities"]:
        print(f"  {row['facility_code']} {row['amount']:>20,}  {row['facility_name'] or ''}")
    print(f"  assigned {answer['assigned']:,}" + (f", unassigned {answer['unassigned']:,}"
                                                 if answer["unassigned"] is not None else ""))
