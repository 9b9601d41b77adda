"""``ansinh report participation``: participant counts as of a date."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ansinh.cli_errors import fail_for, parse_day

report_app = typer.Typer(help="Reports.", no_args_is_help=True)


@report_app.command("participation")
def participation(on: Annotated[str, typer.Option("--on", help="Date (YYYY-MM-DD).")],
                  province: Annotated[str | None, typer.Option(help="Province code (of the chosen structure).")] = None,
                  structure: Annotated[str, typer.Option(help="2025 (34 provinces) or 2008 (63 provinces).")] = "2025",
                  as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Participants on a date by scheme and HI group, with coverage rates when population figures are loaded."""
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.participation.service import participation_summary
    from ansinh.registry.service import structure_of

    day = parse_day(on)
    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            result = participation_summary(session, None, on=day, province=province, structure=structure_of(structure))
    except DomainError as exc:
        fail_for(exc, "on")
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    table = Table(title=f"Participants on {result['on']} ({province or 'all provinces'}, structure {structure})")
    table.add_column("")
    table.add_column("", justify="right")
    for key in ("si_compulsory", "si_voluntary", "hi", "ui", "population", "working_age_population",
                "hi_coverage_rate", "si_working_age_rate"):
        if key in result:
            value = result[key]
            table.add_row(key, f"{value:,}" if isinstance(value, int) else f"{value:.2%}" if value is not None else "")
    for group, count in result["hi_by_group"].items():
        table.add_row(f"  hi {group}", f"{count:,}")
    Console(width=200).print(table)


def _add_target_reports() -> None:
    """The province report, the ranking and issuing (the targets domain) under ``ansinh report``."""
    from ansinh.targets.cli import issue_command, province_command, ranking_command

    report_app.command("province")(province_command)
    report_app.command("ranking")(ranking_command)
    report_app.command("issue")(issue_command)


_add_target_reports()
