"""``ansinh claims prices import|show|template``: a facility's price lists from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ansinh.cli_errors import fail, fail_for, parse_day

prices_app = typer.Typer(help="Price lists of medical facilities.", no_args_is_help=True)


@prices_app.command("import")
def import_prices(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                                       help="CSV (UTF-8, comma or semicolon) or .xlsx file.")],
                  facility: Annotated[str, typer.Option("--facility", help="The facility's code, e.g. 01001.")],
                  as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False) -> None:
    """Import a facility's price list, all rows or none. Columns: kind (service, drug, supply, bed), code, name,
    price (whole dong), valid_from; optional unit, valid_to (empty: open), tender. A later list supersedes the
    earlier prices of the same items from its own first day. Exit 2 when the file is rejected (nothing written)."""
    import getpass

    from ansinh.audit.service import audit_context
    from ansinh.claims.prices.service import import_price_list
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    actor = f"cli:{getpass.getuser()}"
    try:
        with audit_context(channel="cli", actor_username=actor), get_database().unit_of_work() as session:
            report = import_price_list(session, content=file.read_bytes(), file_name=file.name,
                                       facility_code=facility.strip(), actor=actor)
    except DomainError as exc:
        fail_for(exc, "facility")
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(f"{report.file_name} ({report.facility_code}): {report.status}, {report.rows} rows, {report.created} "
              f"prices recorded, {report.unchanged} unchanged, {report.superseded} earlier prices superseded")
        for line in report.error_lines():
            print(line)
    raise typer.Exit(2 if report.status == "rejected" else 0)


@prices_app.command("show")
def show_prices(facility: Annotated[str, typer.Option("--facility", help="The facility's code, e.g. 01001.")],
                on: Annotated[str | None, typer.Option("--on", help="The day (YYYY-MM-DD, default today).")] = None,
                code: Annotated[str | None, typer.Option("--code", help="One item's code: its whole history.")] = None,
                kind: Annotated[str | None, typer.Option("--kind", help="service, drug, supply or bed.")] = None,
                as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The facility's prices in force on a day; with --code (and no --on), every price the item has had."""
    from ansinh import clock
    from ansinh.claims.prices import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = parse_day(on) if on else clock.today()
    try:
        with get_database().unit_of_work() as session:
            found = service.get_facility(session, facility.strip())
            chosen = service.check_kind(kind)
            if code and not on:
                items = service.price_history(session, found.code, kind=chosen, code=code.strip())
            else:
                stmt = service.prices_in_force(found.code, day, kind=chosen)
                if code:
                    from ansinh.claims.prices.models import PriceItem

                    stmt = stmt.where(PriceItem.code == code.strip())
                items = list(session.scalars(stmt.order_by(*_order())))
            rows = [service.item_json(item) for item in items]
    except DomainError as exc:
        fail_for(exc, "facility")
    if as_json:
        print(json.dumps({"facility": facility.strip(), "on": None if code and not on else day.isoformat(),
                          "items": rows}, ensure_ascii=False))
        return
    if not rows:
        print("no prices")
    for row in rows:
        until = row["in_force_until"] or "open"
        print(f"{row['kind']:8} {row['code']:20} {row['price']:>14,} {row['valid_from']} → {until:10}  {row['name']}")


def _order():
    from ansinh.claims.prices.models import PriceItem

    return PriceItem.kind, PriceItem.code, PriceItem.valid_from


@prices_app.command("template")
def template(out: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the .xlsx template.")]) -> None:
    """Write the Excel template of a price list (the columns, an example row, and their meaning in both
    languages)."""
    from ansinh.claims.prices.service import template_xlsx

    if out.suffix.lower() != ".xlsx":
        fail("OUT: give a file name ending in .xlsx")
    out.write_bytes(template_xlsx())
    print(f"wrote {out}")
