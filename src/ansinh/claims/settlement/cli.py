"""``ansinh claims settle|settlements|advances|settlement``: settle a facility's month, list the settlements, record
the advances paid to facilities, export a settlement sheet. Commands act for the whole country."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ansinh.cli_errors import fail, fail_for, parse_day

advances_app = typer.Typer(help="Advances paid to medical facilities.", no_args_is_help=True)
settlement_app = typer.Typer(help="One settlement: its sheet.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _print_settlement(answer: dict) -> None:
    print(f"{answer['facility_code']} {answer['month']}: {answer['claims']:,} claims, claimed {answer['claimed']:,}, "
          f"disallowed {answer['disallowed']:,}, accepted {answer['accepted']:,}, advances {answer['advances']:,}, "
          f"due {answer['due']:,} dong")


def settle_command(facility: Annotated[str, typer.Option("--facility", help="The facility's code.")],
                   month: Annotated[str, typer.Option("--month", help="The settlement month, YYYY-MM.")],
                   on: Annotated[str | None, typer.Option("--on", help="The settlement's day (default today).")] = None,
                   as_json: Json = False) -> None:
    """Settle a facility's month (every current claim appraised); the month is then closed to claim files."""
    from ansinh import clock
    from ansinh.audit.service import audit_context
    from ansinh.claims.settlement import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = parse_day(on) if on else clock.today()
    try:
        chosen = service.parse_month(month)
        with audit_context(channel="cli", actor_username="cli"), get_database().unit_of_work() as session:
            done = service.settle_month(session, principal=None, facility_code=facility, month=chosen, on=day)
            answer = service.settlement_json(done.settlement) | {"replayed": done.replayed}
    except DomainError as exc:
        fail_for(exc, "month")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
    else:
        _print_settlement(answer)
        if answer["replayed"]:
            print("(settled before: nothing changed)")


def settlements_command(month: Annotated[str | None, typer.Option("--month", help="Only this month, YYYY-MM.")] = None,
                        facility: Annotated[str | None, typer.Option("--facility", help="Only this facility.")] = None,
                        as_json: Json = False) -> None:
    """The settlements (newest month first) and their totals."""
    from ansinh.claims.settlement import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        chosen = service.parse_month(month) if month else None
        with get_database().unit_of_work() as session:
            rows = [service.settlement_json(row) for row in session.scalars(
                service.settlements_query(None, month=chosen, facility_code=facility))]
            totals = service.settlement_totals(session, None, month=chosen, facility_code=facility)
    except DomainError as exc:
        fail_for(exc, "month")
    if as_json:
        print(json.dumps({"settlements": rows, "totals": totals}, ensure_ascii=False))
        return
    for row in rows:
        _print_settlement(row)
    print(f"total: {totals['settlements']:,} settlements, accepted {totals['accepted']:,}, due {totals['due']:,} dong")


@advances_app.command("record")
def record(facility: Annotated[str, typer.Option("--facility", help="The facility's code.")],
           reference: Annotated[str, typer.Option("--reference", help="The payment's reference (recorded once).")],
           amount: Annotated[int, typer.Option("--amount", help="Whole dong.")],
           paid_on: Annotated[str, typer.Option("--paid-on", help="The day it was paid, YYYY-MM-DD.")],
           period_from: Annotated[str, typer.Option("--from", help="The first month it advances, YYYY-MM.")],
           period_to: Annotated[str | None, typer.Option("--to", help="The last month (default: the first).")] = None,
           as_json: Json = False) -> None:
    """Record an advance paid to a facility for a month or a quarter (the same reference again changes nothing)."""
    from ansinh.audit.service import audit_context
    from ansinh.claims.settlement import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = parse_day(paid_on, "--paid-on")
    try:
        first = service.parse_month(period_from, "from")
        last = service.parse_month(period_to, "to") if period_to else None
        with audit_context(channel="cli", actor_username="cli"), get_database().unit_of_work() as session:
            done = service.record_advance(session, principal=None, facility_code=facility, reference=reference,
                                          paid_on=day, amount=amount, period_from=first, period_to=last)
            answer = service.advance_json(done.advance) | {"replayed": done.replayed}
    except DomainError as exc:
        fail_for(exc, "reference")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
    else:
        print(f"{answer['facility_code']} {answer['reference']}: {answer['amount']:,} dong for "
              f"{answer['period_from']} … {answer['period_to']}" + (" (recorded before)" if answer["replayed"] else ""))


@settlement_app.command("export")
def export(facility: Annotated[str, typer.Option("--facility", help="The facility's code.")],
           month: Annotated[str, typer.Option("--month", help="The settlement month, YYYY-MM.")],
           output: Annotated[Path, typer.Option("-o", "--output", help="The file to write.")],
           format: Annotated[str, typer.Option("--format", help="xlsx or pdf.")] = "xlsx") -> None:
    """Write a settlement's sheet: Excel (with the claims settled) or PDF."""
    from ansinh.audit.service import audit_context
    from ansinh.claims.settlement import service
    from ansinh.claims.settlement.pages import export_response
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    if format not in ("xlsx", "pdf"):
        fail("--format: xlsx or pdf")
    try:
        chosen = service.parse_month(month)
        with audit_context(channel="cli", actor_username="cli"), get_database().unit_of_work() as session:
            row = service.find_settlement(session, None, facility, chosen)
            content = export_response(session, row, format).body
    except DomainError as exc:
        fail_for(exc, "month")
    output.write_bytes(content)
    print(f"{output}: {len(content):,} bytes")
