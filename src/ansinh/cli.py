"""The ``ansinh`` command: assembles every domain's commands."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ansinh import clock
from ansinh.config import ConfigurationError, get_settings, resolve_secret_key

app = typer.Typer(help="ansinh: social security administration.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
demo_app = typer.Typer(help="Demonstration data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")


def _add_domain_commands() -> None:
    """Every domain's command groups."""
    from ansinh.benefits.cli import benefits_app
    from ansinh.cards.cli import cards_app, facilities_app
    from ansinh.claims.cli import claims_app
    from ansinh.collection.arrears_cli import arrears_app
    from ansinh.collection.billing_cli import billing_app
    from ansinh.collection.payments_cli import payments_app
    from ansinh.jobs.cli import jobs_app, worker
    from ansinh.participation.cli import report_app
    from ansinh.ops.cli import partitions_app
    from ansinh.outreach.cli import outreach_app
    from ansinh.registry.cli import places_app
    from ansinh.registry.import_cli import import_app
    from ansinh.rules.cli import calc_app, rules_app
    from ansinh.targets.cli import indicators_app, plans_app

    app.add_typer(calc_app, name="calc")
    app.add_typer(rules_app, name="rules")
    app.add_typer(report_app, name="report")
    app.add_typer(places_app, name="places")
    app.add_typer(import_app, name="import")
    app.add_typer(billing_app, name="billing")
    app.add_typer(payments_app, name="payments")
    app.add_typer(arrears_app, name="arrears")
    app.add_typer(cards_app, name="cards")
    app.add_typer(facilities_app, name="facilities")
    app.add_typer(claims_app, name="claims")
    app.add_typer(plans_app, name="plans")
    app.add_typer(indicators_app, name="indicators")
    app.add_typer(benefits_app, name="benefits")
    app.add_typer(outreach_app, name="outreach")
    app.add_typer(partitions_app, name="partitions")
    app.add_typer(jobs_app, name="jobs")
    app.command("worker")(worker)


_add_domain_commands()


def _add_user_commands() -> None:
    from ansinh.auth.reset.cli import reset_code

    users_app.command("reset-code")(reset_code)


_add_user_commands()

# Wide when output is not a terminal, so that tables (demo passwords) are never cut.
console = Console() if sys.stdout.isatty() else Console(width=200)
err = Console(stderr=True)


from ansinh.cli_errors import fail  # noqa: E402 - one way to report bad input


def progress_bar() -> Progress:
    """The progress bar every long command shows."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=False)


#: Seconds a worker process of ``serve --workers N`` may take to answer its supervisor before it is restarted.
WORKER_HEALTHCHECK_SECONDS = 30


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
          port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
          workers: Annotated[int, typer.Option(min=1, help="Worker processes, each running the application "
                                                          "(1: served by this process).")] = 1,
          reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False) -> None:
    """Serve the web UI and the API.

    With ``--workers N`` above 1, N processes share the port, each with its own database pool; their metrics are
    summed through files in a directory of their own under the var directory (PROMETHEUS_MULTIPROC_DIR, removed
    at exit). SIGTERM (or Ctrl-C) stops accepting connections, lets the requests in progress finish for up to
    ANSINH_SHUTDOWN_TIMEOUT_SECONDS, and writes the rows the lookup log still holds before each process ends."""
    import os
    import shutil
    import tempfile
    from pathlib import Path

    import uvicorn

    from ansinh.ops.logging import logging_config
    from ansinh.rules.parameters import ParameterFileError, get_parameters

    settings = get_settings()
    try:
        resolve_secret_key(settings)
        get_parameters()
    except (ConfigurationError, ParameterFileError) as exc:
        fail(str(exc))
    host = host or settings.host
    port = port or settings.port
    if settings.log_format == "text":
        err.print(f"ansinh on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    metrics_dir = None
    if workers > 1 and not (os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")):
        # Set before the worker processes start: prometheus-client chooses its mode when first imported there.
        base = Path(settings.var_dir) / "metrics"
        base.mkdir(parents=True, exist_ok=True)
        metrics_dir = tempfile.mkdtemp(prefix=f"serve-{os.getpid()}-", dir=base)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run("ansinh.api:create_app", factory=True, host=host, port=port, workers=workers, reload=reload,
                    # the client's address from the proxies named in ANSINH_FORWARDED_ALLOW_IPS only
                    proxy_headers=bool(settings.forwarded_allow_ips),
                    forwarded_allow_ips=settings.forwarded_allow_ips or None,
                    access_log=False,  # the access log is ansinh.access (ansinh.ops.logging)
                    log_config=logging_config(settings.log_format, settings.log_level),
                    timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
                    # A worker answers its supervisor's pings only once Python has started in it: on a loaded
                    # machine that took over uvicorn's 5 seconds, and the supervisor killed it and started another.
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the migrations up to a revision (default: the newest)."""
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.migrate import upgrade_database
    from ansinh.registry.places import load_places

    settings = get_settings()
    upgrade_database(settings.database_url, revision)
    database = get_database()
    err.print(f"database at revision {database.current_revision()}")
    if revision == "head":  # reference data that every later step needs: the places of both structures
        with audit_context(channel="cli", actor_username="db-upgrade"), database.unit_of_work() as session:
            loaded = load_places(session)
        err.print(f"places: {loaded}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's current revision."""
    from ansinh.db import get_database

    console.print(get_database().current_revision() or "(empty)")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument()],
    org_unit: Annotated[str, typer.Option("--org-unit", help="Org unit code, e.g. VSS or BHXH-01.")],
    role: Annotated[list[str], typer.Option("--role", help="Role (repeatable).")],
    full_name: Annotated[str, typer.Option("--full-name")],
    email: Annotated[str | None, typer.Option()] = None,
    subject_ref: Annotated[str | None, typer.Option(help="Tax code, citizen ID or facility code.")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Create a user (the password is asked for, or read from stdin)."""
    from ansinh.audit.service import audit_context
    from ansinh.auth import service
    from ansinh.auth.models import Role
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        roles = [Role(r) for r in role]
    except ValueError:
        fail(f"unknown role; choose from {', '.join(r.value for r in Role)}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat: "):
            fail("the passwords differ")
    try:
        with audit_context(channel="cli", actor_username=f"cli:{getpass.getuser()}"), \
                get_database().unit_of_work() as session:
            unit = service.get_org_unit_by_code(session, org_unit)
            if unit is None:
                fail(f"org unit {org_unit!r} does not exist")
            user = service.create_user(session, username=username, password=password, full_name=full_name,
                                       org_unit=unit, roles=roles, email=email, subject_ref=subject_ref)
            console.print(f"created user {user.username} (id {user.id}) in {unit.code}")
    except DomainError as exc:
        fail(exc.message)


@demo_app.command("load")
def demo_load(seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same data.")] = 2026,
              people: Annotated[int, typer.Option(help="Synthetic people across the demo provinces.")] = 5_000,
              if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the database has users.")] = False,
              force: Annotated[bool, typer.Option(help="Allow in production mode.")] = False) -> None:
    """Load the demonstration data set and print the demo users with their passwords (once)."""
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.synth.demo import is_empty, load_demo, plan_demo

    settings = get_settings()
    if settings.is_production and not force:
        fail("refusing to load demo data in production mode (use --force if you really mean it)")
    database = get_database()
    with database.unit_of_work() as session:
        empty = is_empty(session)
    if not empty:
        if if_empty:
            err.print("database already has data; demo not loaded")
            return
        fail("the database already has data; the demo loads into an empty database only")
    plan = plan_demo(seed)
    employer_accounts: list = []
    with audit_context(channel="cli", actor_username="demo-loader"), database.unit_of_work() as session, \
            progress_bar() as progress:
        task = progress.add_task("demo data", total=len(plan.org_units) + len(plan.users))
        load_demo(session, plan, progress=lambda _name: progress.advance(task))
    if people > 0:

        from ansinh.synth.demo import load_demo_registry

        with audit_context(channel="cli", actor_username="demo-loader"), database.unit_of_work() as session, \
                progress_bar() as progress:
            task = progress.add_task("synthetic population", total=None)
            written = load_demo_registry(session, plan, people=people, today=clock.today(),
                                         progress=lambda table, rows: progress.update(
                                             task, description=f"synthetic population: {table}", advance=rows))
        err.print("synthetic population: " + ", ".join(f"{k} {v:,}" for k, v in written.items()
                                                        if isinstance(v, int)))
        from ansinh.synth.collection import load_collection_year

        with audit_context(channel="cli", actor_username="demo-loader"), progress_bar() as progress:
            task = progress.add_task("bills and payments", total=None)
            summary = load_collection_year(database, seed=seed, today=clock.today(), progress=lambda what, n: progress.update(
                task, description=f"collection: {what}", advance=n))
        err.print("a year of bills and payments: " + ", ".join(
            f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in summary.items()))
        from ansinh.synth.facilities import load_demo_health_insurance

        with audit_context(channel="cli", actor_username="demo-loader"), database.unit_of_work() as session:
            cards = load_demo_health_insurance(session, plan, today=clock.today())
        err.print("health insurance: " + ", ".join(f"{k} {v:,}" for k, v in cards.items()))
        from ansinh.claims.settlement.service import settle_demo_months
        from ansinh.synth.claims import load_demo_claims

        with audit_context(channel="cli", actor_username="demo-loader"), database.unit_of_work() as session:
            claims = load_demo_claims(session, plan, today=clock.today())
            claims["months settled"] = settle_demo_months(session, on=clock.today())
        err.print("claim files: " + ", ".join(f"{k} {v:,}" for k, v in claims.items()))
        from ansinh.synth.benefits import load_demo_benefits, pay_demo
        from ansinh.synth.demo import DEFAULT_PROVINCES

        with audit_context(channel="cli", actor_username="demo-loader"), database.unit_of_work() as session:
            benefits = load_demo_benefits(session, today=clock.today(), provinces=DEFAULT_PROVINCES, seed=seed)
        with audit_context(channel="cli", actor_username="demo-loader"):
            benefits.update(pay_demo(database, today=clock.today(), provinces=DEFAULT_PROVINCES, seed=seed))
        err.print("benefits: " + ", ".join(f"{k} {v:,}" for k, v in benefits.items()))
        from ansinh.synth.citizen import load_demo_citizens

        with audit_context(channel="cli", actor_username="demo-loader"), database.unit_of_work() as session:
            citizens = load_demo_citizens(session, plan, today=clock.today())
        err.print("citizens' self-service: " + ", ".join(f"{k} {v:,}" for k, v in citizens.items()))

        from ansinh.synth.employer_portal import load_demo_employer_portal

        with audit_context(channel="cli", actor_username="demo-loader"), database.unit_of_work() as session:
            employer_accounts = load_demo_employer_portal(session, plan, today=clock.today())
        err.print(f"employers online: {len(employer_accounts)} registered, each with an accountant")
        from ansinh.synth.targets import load_demo_plans, snapshot_demo_months

        with audit_context(channel="cli", actor_username="demo-loader"), database.unit_of_work() as session:
            plans = load_demo_plans(session, today=clock.today(), provinces=DEFAULT_PROVINCES, seed=seed)
            plans["monthly figures stored"] = snapshot_demo_months(session, today=clock.today())
        err.print("plans: " + ", ".join(f"{k} {v:,}" for k, v in plans.items()))
        from ansinh.synth.outreach import load_demo_outreach

        with audit_context(channel="cli", actor_username="demo-loader"):
            outreach = load_demo_outreach(database, today=clock.today(), seed=seed)
        err.print("outreach: " + ", ".join(f"{k} {v:,}" for k, v in outreach.items()))
    table = Table(title=f"Demo users (seed {seed}) — shown once, keep them", show_lines=False)
    for column in ("username", "password", "roles", "org unit", "acts for"):
        table.add_column(column)
    for user in plan.users:
        table.add_row(user.username, user.password, ", ".join(r.value for r in user.roles), user.org_unit_code,
                      user.subject_ref or "")
    for account in employer_accounts:
        table.add_row(account.username, account.password, f"employer ({account.duty})", "", account.tax_code)
    console.print(table)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
