"""``ansinh partitions``: the monthly partitions of the tables that grow without end (PostgreSQL;
:mod:`ansinh.ops.partitions`). ``ensure`` is the monthly job; on SQLite both commands say there is nothing to do."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from ansinh.cli_errors import err, fail

partitions_app = typer.Typer(help="PostgreSQL's monthly partitions (the ledger, bill lines, lookup and audit logs).",
                             no_args_is_help=True)

SQLITE = "SQLite keeps ordinary tables: there are no partitions to manage (PostgreSQL only)."


def _month(text: str, option: str) -> date:
    try:
        return date.fromisoformat(f"{text.strip()}-01")
    except ValueError:
        fail(f"{option}: give a month as YYYY-MM")


def _through(months_ahead: int, through: str | None) -> date:
    from ansinh import clock
    from ansinh.ops.partitions import add_months

    if through is not None:
        return _month(through, "--through")
    return add_months(clock.today().replace(day=1), months_ahead)


@partitions_app.command("ensure")
def ensure(months_ahead: Annotated[int, typer.Option("--months-ahead", min=0, max=60,
                                                     help="Months after this one to create.")] = 3,
           through: Annotated[str | None, typer.Option("--through", help="Create up to this month instead "
                                                                         "(YYYY-MM).")] = None,
           since: Annotated[str | None, typer.Option("--since", help="Also create every month from this one "
                                                                     "(YYYY-MM), to load past months.")] = None
           ) -> None:
    """Create the missing monthly partitions up to a month ahead and move any row out of the default partitions.
    Idempotent: run it monthly (a job) or at any time."""
    from ansinh.db import get_database
    from ansinh.ops.partitions import ensure_partitions

    last = _through(months_ahead, through)
    with get_database().unit_of_work() as session:
        result = ensure_partitions(session, through=last,
                                    since=_month(since, "--since") if since else None)
    if not result.supported:
        err.print(SQLITE)
        return
    for name in result.created:
        print(f"created {name}")
    for table, rows in result.moved.items():
        print(f"moved {rows} row(s) of {table} out of its default partition")
    if not result.changed:
        err.print(f"every partition up to {last:%Y-%m} exists; nothing to do")


@partitions_app.command("list")
def list_(months: Annotated[bool, typer.Option("--all", help="Every partition (default: the last 3 of each "
                                                             "table and the default one).")] = False) -> None:
    """The partitions of each table: month, rows (the planner's estimate; exact for the default partition), size."""
    from ansinh.db import get_database
    from ansinh.ops.partitions import list_partitions

    with get_database().unit_of_work() as session:
        if session.get_bind().dialect.name != "postgresql":
            err.print(SQLITE)
            return
        partitions = list_partitions(session)
    by_table: dict[str, list] = {}
    for partition in partitions:
        by_table.setdefault(partition.table, []).append(partition)
    for table, found in by_table.items():
        dated = [p for p in found if p.month is not None]
        shown = (dated if months else dated[-3:]) + [p for p in found if p.month is None]
        first = f"{dated[0].month:%Y-%m}" if dated else "-"
        last = f"{dated[-1].month:%Y-%m}" if dated else "-"
        print(f"{table}: {len(dated)} month(s) {first} .. {last}")
        for p in shown:
            month = f"{p.month:%Y-%m}" if p.month else "DEFAULT"
            print(f"  {p.name:<28} {month:<8} {p.rows:>12} rows {p.bytes / 1e6:>10.1f} MB")
