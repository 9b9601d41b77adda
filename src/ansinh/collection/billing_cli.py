"""``ansinh billing run --period YYYY-MM [--province CODE] [--json]``: bill a month (resumable, idempotent).

A run that could not bill some payers ends ``completed_with_exceptions`` and lists them with the reason (exit
code 0: every other payer is billed); once the records are corrected, the same command bills those payers
only. A run being billed by another process is refused (exit code 2). With a broker (``ANSINH_BROKER_URL``) the
month goes to the workers as a job instead (:mod:`ansinh.jobs`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from ansinh import clock
from ansinh.cli_errors import fail_for

billing_app = typer.Typer(help="Billing of contributions.", no_args_is_help=True)
err = Console(stderr=True, width=200)


@billing_app.callback()
def billing() -> None:
    """Billing of contributions (a group, so that ``run`` stays a subcommand)."""


@billing_app.command("run")
def run(period: Annotated[str, typer.Option("--period", help="The month billed (YYYY-MM).")],
        province: Annotated[str | None, typer.Option(help="2025 province code; the whole country if omitted.")] = None,
        chunks: Annotated[int | None, typer.Option(help="Chunks of a new run (each its own transaction).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Bill a month: employers (a line per worker, fund and side), voluntary, household and State-budget payers,
    adjustments of retroactive declarations. Running it again finishes a stopped run or changes nothing. With
    ANSINH_BROKER_URL set, the month is billed by the workers as a job (``ansinh jobs start billing``: the country
    province × chunk), followed with a progress bar."""
    from ansinh.config import get_settings

    if get_settings().broker_url:
        from ansinh.jobs.cli import start

        start("billing", period=period, province=province, chunks=chunks, wait=True, as_json=as_json)
        return
    from ansinh.audit.service import audit_context
    from ansinh.collection.billing import run_billing
    from ansinh.collection.billing_api import parse_period
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    quiet = as_json

    def progress(chunk: int, total: int, bills: int) -> None:
        if not quiet:
            err.print(f"chunk {chunk + 1}/{total}: {bills:,} bills")

    try:
        month = parse_period(period)
        with audit_context(channel="cli", actor_username="cli"):
            summary = run_billing(get_database(), period=month, province=province, actor="cli",
                                  today=clock.today(), chunks=chunks, progress=progress)
    except DomainError as exc:
        fail_for(exc, "period")
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
        return
    out = Console(width=200)
    out.print(
        f"Billing {summary['period']} ({summary['province']}): {summary['status']}, {summary['bills']:,} bills, "
        f"{summary['lines']:,} lines, total {summary['total']:,} dong"
        + (" (resumed)" if summary["resumed"] else ""), highlight=False)
    if summary["exceptions"]:
        from rich.table import Table

        table = Table(title=f"{summary['exceptions']:,} payer(s) not billed (correct them, then run again)")
        for column in ("payer", "type", "province", "reason", "why"):
            table.add_column(column, overflow="fold")
        for row in summary["exception_list"]:
            table.add_row(row["payer_key"], row["payer_type"], row["province"] or "", row["reason"],
                          row["message"])
        if summary["exceptions"] > len(summary["exception_list"]):
            table.caption = f"the first {len(summary['exception_list'])}; all: GET /api/v1/billing/runs/" \
                            f"{summary['run_id']}/exceptions"
        out.print(table)
