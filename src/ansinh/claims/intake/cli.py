"""``ansinh claims import FILE... [--facility CODE] [--json]``: receive national claim files, each accepted or
refused as a whole, each in its own transaction, one report per file (with ``--json``, one JSON object per line).

Exit codes: 0 when every file was accepted (a file received before and accepted counts), 1 when any was refused
(its refusal is recorded, nothing of it written; every problem listed), 2 when the command is wrong (a missing
file, an unknown facility, a facility code not of 5 digits)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ansinh.cli_errors import fail, parse_day

out = Console(width=200)
#: Problems printed per file (the JSON report has every listed problem).
SHOWN_PROBLEMS = 200


def import_command(
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True,
                                                help="National claim files (XML of Decision 130/4750, or 4210).")],
    facility: Annotated[str | None, typer.Option("--facility", help="The facility the files are sent for (5 digits; "
                                                                    "default: each file's MACSKCB).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each report as JSON (one object per line).")] = False,
    lang: Annotated[str, typer.Option("--lang", help="Language of the reasons: en or vi.")] = "en",
    today: Annotated[str | None, typer.Option("--today", help="Treat this date (YYYY-MM-DD) as today.")] = None,
) -> None:
    """Receive claim files: each accepted or refused as a whole; the same file again changes nothing."""
    from ansinh import clock
    from ansinh.audit.service import audit_context
    from ansinh.claims.intake.service import receive_claim_file
    from ansinh.config import get_settings
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.i18n import use_locale

    if facility is not None and not (len(facility) == 5 and facility.isdigit()):
        fail(f"--facility: a facility code is 5 digits; got {facility!r}")
    if lang not in ("en", "vi"):
        fail(f"--lang: en or vi; got {lang!r}")
    on = parse_day(today, "--today") if today else clock.today()
    username = f"cli:{getpass.getuser()}"
    max_bytes = get_settings().claim_file_max_bytes
    refused = False
    for path in paths:
        try:
            with audit_context(channel="cli", actor_username=username), get_database().unit_of_work() as session, \
                    path.open("rb") as stream:
                report = receive_claim_file(session, content=stream, file_name=path.name, principal=None,
                                            facility_code=facility, max_bytes=max_bytes, today=on,
                                            received_by=username)
        except DomainError as exc:
            field = (getattr(exc, "field", None) or "facility").replace("_code", "").replace("_", "-")
            fail(f"{path.name}: --{field}: {exc.message}")
        refused = refused or not report.accepted
        with use_locale(lang):
            if as_json:
                print(json.dumps(report.to_json(), ensure_ascii=False, default=str))
            else:
                _print(report)
    raise typer.Exit(1 if refused else 0)


def _print(report) -> None:
    verdict = "accepted" if report.accepted else "REFUSED"
    again = " (received before: nothing changed)" if report.replayed else ""
    out.print(f"[bold]{report.file_name}[/]: {verdict}{again} — facility {report.facility_code}, "
              f"{report.claims:,} claims, {report.lines:,} lines, {report.resent:,} sent again, "
              f"{report.problem_count:,} problems", highlight=False)
    if report.problems:
        table = Table(show_lines=False)
        for column in ("ma_lk", "table", "row", "field", "reason", "value"):
            table.add_column(column, overflow="fold")
        for item in report.problems[:SHOWN_PROBLEMS]:
            data = item.to_json()
            table.add_row(*(str(data[key]) if data[key] is not None else "" for key in
                            ("ma_lk", "table", "row", "field", "reason", "value")))
        out.print(table)
        if report.problem_count > SHOWN_PROBLEMS:
            out.print(f"… and {report.problem_count - SHOWN_PROBLEMS:,} more (see --json or the report page)")
