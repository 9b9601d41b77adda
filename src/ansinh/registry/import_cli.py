"""``ansinh import people|households|employers|declarations|population|population-figures FILE``.

Prints the report (``--json`` for the JSON body), writes the error report as Excel with ``--report-xlsx``; exit
code 0 when applied or unchanged, 2 when rejected (nothing written) or the command is wrong."""

from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ansinh import clock
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import_app = typer.Typer(help="Import a CSV (UTF-8, comma or semicolon) or Excel .xlsx file; all rows or none.",
                         no_args_is_help=True)
out = Console(width=200)
err = Console(stderr=True, width=200)

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or .xlsx file.")]
OrgUnitOpt = Annotated[str | None, typer.Option("--org-unit", help="Code of the office the records belong to.")]
ReportOpt = Annotated[Path | None, typer.Option("--report-xlsx", help="Write the report (with its errors) here.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
TodayOpt = Annotated[str | None, typer.Option("--today", help="Treat this date (YYYY-MM-DD) as today.")]


def run_import(kind: str, path: Path, org_unit: str | None, report_xlsx: Path | None, as_json: bool,
               today: str | None = None) -> None:
    from ansinh.audit.service import audit_context
    from ansinh.db import allow_waiting, get_database
    from ansinh.errors import DomainError
    from ansinh.registry.imports import import_file, population_sync_report

    content = path.read_bytes()
    username = f"cli:{getpass.getuser()}"
    try:
        on = date.fromisoformat(today) if today else clock.today()
    except ValueError:
        err.print(f"[bold red]error:[/] --today {today!r} is not a date (YYYY-MM-DD)", highlight=False)
        raise typer.Exit(2) from None
    sync = None
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=as_json or not err.is_terminal) as progress:
            tasks: dict[str, int] = {}

            def report_progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=total)
                progress.update(tasks[stage], completed=done, total=total)

            with audit_context(channel="cli", actor_username=username), get_database().unit_of_work() as session:
                allow_waiting(session)  # a batch: it may queue behind another import rather than fail
                report = import_file(session, kind=kind, content=content, file_name=path.name,
                                     principal_or_context=username, org_unit=org_unit, today=on,
                                     progress=report_progress)
                if kind == "population" and report.status != "rejected" and report.batch_id:
                    sync = population_sync_report(session, report.batch_id, None)
    except DomainError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if report_xlsx is not None:
        report_xlsx.write_bytes(report.to_xlsx())
    if as_json:
        body = report.to_json()
        if sync is not None:
            body["sync"] = sync
        out.print_json(json.dumps(body, ensure_ascii=False))
    else:
        _print(report, sync)
    raise typer.Exit(2 if report.status == "rejected" else 0)


def _print(report, sync) -> None:
    summary = Table(show_header=False, box=None)
    for key, value in (("file", report.file_name), ("kind", report.kind), ("status", report.status),
                       ("rows", f"{report.rows:,}"), ("created", f"{report.created:,}"),
                       ("unchanged", f"{report.unchanged:,}"), ("batch", str(report.batch_id or "—")),
                       *((k, str(v)) for k, v in report.details.items())):
        summary.add_row(key, value)
    out.print(summary)
    if report.errors:
        count = max(report.error_count, len(report.errors))
        table = Table(title=f"{count:,} error(s)" + (f", first {len(report.errors):,} listed"
                                                      if count > len(report.errors) else ""))
        for column in ("row", "column", "value", "reason", "lý do"):
            table.add_column(column, overflow="fold")
        for error in report.errors[:200]:
            table.add_row(str(error.row), error.column, error.value, error.reason_en, error.reason_vi)
        out.print(table)
    if sync is not None:
        out.print(sync["summary_en"])
        out.print({k: sync[k] for k in ("registry_people", "extract_records", "matched", "differing",
                                        "missing_in_registry", "missing_in_extract", "differing_fields")})


def _command(kind: str, name: str, help_text: str) -> None:
    def command(file: FileArg, org_unit: OrgUnitOpt = None, report_xlsx: ReportOpt = None, json_: JsonOpt = False,
                today: TodayOpt = None) -> None:
        run_import(kind, file, org_unit, report_xlsx, json_, today)

    command.__doc__ = help_text
    import_app.command(name)(command)


_command("people", "people", "People (citizen ID, name, date of birth, sex, residence...); SI numbers issued.")
_command("households", "households", "Households: one row per member, the head marked.")
_command("employers", "employers", "Employers (tax code, name, ownership, region, sector, place...).")
_command("declarations", "declarations", "Employer declarations: join, leave, salary change, by month.")
_command("population", "population", "An extract of the national population database; prints the sync report.")
_command("population_figures", "population-figures", "Population and working-age population per province and year.")
