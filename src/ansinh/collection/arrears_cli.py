"""``ansinh arrears``: the overdue-rate report and the debtor list files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ansinh import formatting
from ansinh.cli_errors import fail_for, parse_day

arrears_app = typer.Typer(help="Arrears, late interest and debtor lists.", no_args_is_help=True)
err = Console(stderr=True, width=200)


def _day(value: str, option: str = "--on") -> date:
    return parse_day(value, option)


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"


@arrears_app.command("report")
def report(on: Annotated[str, typer.Option("--on", help="Date (YYYY-MM-DD).")],
           province: Annotated[str | None, typer.Option(help="Province code (2025 structure).")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Due, paid, arrears, interest, the interest-bearing arrears and the two overdue rates on a date, by province, with last year's figures."""
    from ansinh.audit.service import audit_context
    from ansinh.collection.arrears import arrears_report
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = _day(on)
    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            result = arrears_report(session, None, on=day, province=province)
    except DomainError as exc:
        fail_for(exc, "on")
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    table = Table(title=f"Arrears on {result['on']} ({province or 'all provinces'})")
    for name in ("", "due", "paid", "arrears", "interest", "interest-bearing", "overdue rate",
                 "interest-bearing rate"):
        table.add_column(name, justify="left" if not name else "right")

    def add(label: str, figures: dict) -> None:
        table.add_row(label, f"{figures['due']:,}", f"{figures['paid']:,}", f"{figures['arrears']:,}",
                      f"{figures['interest']:,}", f"{figures['interest_bearing']:,}", _rate(figures["overdue_rate"]),
                      _rate(figures["interest_bearing_rate"]))

    add("total", result)
    add(f"last year ({result['last_year']['on']})", result["last_year"])
    for row in result["by_province"]:
        add(f"  {row['province']}", row)
    Console(width=200).print(table)


@arrears_app.command("debtors")
def debtors(on: Annotated[str, typer.Option("--on", help="Date (YYYY-MM-DD).")],
            province: Annotated[str | None, typer.Option(help="Province code (2025 structure).")] = None,
            xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write the Excel list here.")] = None,
            pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the PDF list here.")] = None,
            min_months: Annotated[int, typer.Option("--min-months", help="Only debts overdue this many months or more.")] = 1,
            ) -> None:
    """The publishable list of employers in arrears on a date, as Excel and/or PDF."""
    from ansinh.audit.service import audit_context, record_event
    from ansinh.collection.arrears import debtor_list
    from ansinh.collection.debtors import debtors_pdf, debtors_xlsx
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = _day(on)
    if xlsx is None and pdf is None:
        err.print("[bold red]error:[/] give --xlsx PATH and/or --pdf PATH")
        raise typer.Exit(2)
    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            rows = debtor_list(session, None, on=day, province=province, min_months=min_months)
            record_event(session, "export", "debtor_list", None,
                         details={"on": day.isoformat(), "province": province, "rows": len(rows)})
    except DomainError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(2) from None
    if xlsx is not None:
        xlsx.write_bytes(debtors_xlsx(rows, on=day, province=province))
    if pdf is not None:
        pdf.write_bytes(debtors_pdf(rows, on=day, province=province))
    err.print(f"{len(rows)} employer(s) in arrears on {formatting.day(day, 'en')}")
