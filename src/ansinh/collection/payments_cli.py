"""``ansinh payments import FILE [--json]``: import a bank statement (CSV or .xlsx), all rows or none, with a
progress bar. ``ansinh payments reconcile [--json]``: reconcile the ledger with the bills, payments,
allocations, reversals and write-offs.

Exit codes: import — 0 when applied or unchanged (the same file again), 2 when refused (nothing written; every
bad row listed) or the command is wrong; reconcile — 0 when everything agrees, 1 when something does not (each
check named with its count)."""

from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ansinh import clock

payments_app = typer.Typer(help="Bank payments: statement imports.", no_args_is_help=True)
out = Console(width=200)
err = Console(stderr=True, width=200)


@payments_app.callback()
def payments_group() -> None:
    """Bank payments: statement imports."""


@payments_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="Bank statement: CSV (UTF-8) or .xlsx with the columns date, amount, "
                                              "payer_account, reference, bank_transaction_id, receiving_account.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    today: Annotated[str | None, typer.Option("--today", help="Treat this date (YYYY-MM-DD) as today.")] = None,
) -> None:
    """Import a bank statement: validate every line, record and match the payments, allocate them."""
    from ansinh.audit.service import audit_context
    from ansinh.collection.payments import import_statement
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        on = date.fromisoformat(today) if today else clock.today()
    except ValueError:
        err.print(f"[bold red]error:[/] --today {today!r} is not a date (YYYY-MM-DD)", highlight=False)
        raise typer.Exit(2) from None
    username = f"cli:{getpass.getuser()}"
    steps = ("read", "validated", "recorded", "allocated")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task("reading", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            """Each step of the import (rows read, validated, recorded, allocated) as a quarter of the bar."""
            step = steps.index(stage) if stage in steps else len(steps) - 1
            bar.update(task, description=f"{path.name}: {stage}", total=max(total, 1) * len(steps),
                       completed=max(total, 1) * step + done)

        try:
            with audit_context(channel="cli", actor_username=username), \
                    get_database().unit_of_work() as session:
                report = import_statement(session, content=path.read_bytes(), file_name=path.name,
                                          actor=username, today=on, progress=progress)
        except DomainError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
    if as_json:
        out.print_json(json.dumps(report.to_json(), ensure_ascii=False, default=str))
    else:
        summary = Table(show_header=False, box=None)
        for key in ("file_name", "status", "rows", "created", "skipped", "matched", "suspense", "amount", "allocated",
                    "statement_id"):
            value = getattr(report, key)
            summary.add_row(key, f"{value:,}" if isinstance(value, int) else str(value or "—"))
        out.print(summary)
        if report.errors:
            count = max(report.error_count, len(report.errors))
            table = Table(title=f"{count:,} error(s)")
            for column in ("row", "column", "value", "reason", "lý do"):
                table.add_column(column, overflow="fold")
            for error in report.errors[:200]:
                table.add_row(str(error.row), error.column, error.value, error.reason_en, error.reason_vi)
            out.print(table)
    raise typer.Exit(2 if report.status == "rejected" else 0)


@payments_app.command("reconcile")
def reconcile_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Reconcile collection: every ledger balance recomputed from the bills, payments, allocations, reversals
    and write-offs. Prints each check with the count of what disagrees (all 0 when consistent); exit code 1 if
    any."""
    from ansinh.collection.reconcile import check_integrity
    from ansinh.db import get_database

    with get_database().unit_of_work() as session:
        counts = check_integrity(session)
    wrong = {name: count for name, count in counts.items() if count}
    if as_json:
        out.print_json(json.dumps({"consistent": not wrong, "counts": counts}))
    else:
        verdict = "consistent" if not wrong else f"{len(wrong)} check(s) disagree"
        table = Table(title=f"Reconciliation: {verdict}")
        table.add_column("check")
        table.add_column("disagreeing", justify="right")
        for name, count in counts.items():
            table.add_row(name, f"[bold red]{count:,}[/]" if count else "0")
        out.print(table)
    raise typer.Exit(1 if wrong else 0)
