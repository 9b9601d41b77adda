"""Commands of benefit payments (mounted under ``ansinh benefits``): the monthly payroll, ordering one-off
payments, payment files to banks and paying points, the banks' result files, reconciliation, beneficiaries' bank
accounts and overpayments.

``ansinh benefits payroll --month 2026-01 [--province 01] [--json]``; ``ansinh benefits payments order|export|import|
reconcile``; ``ansinh benefits accounts add|list``; ``ansinh benefits overpayments list``.

The CLI is the operator on the server: it acts on every org unit (a national principal), recorded as
``cli:<user>``. Exit codes: 0 done; 1 reconciliation found something that disagrees; 2 bad input or a refused
file (nothing written, every bad row listed)."""

from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ansinh import clock
from ansinh.cli_errors import fail, fail_for, parse_day

app = typer.Typer(help="Benefit payments: payroll, payment files, bank results.", no_args_is_help=True)
payments_app = typer.Typer(help="Benefit payments: order, export, import results, reconcile.", no_args_is_help=True)
accounts_app = typer.Typer(help="Beneficiaries' bank accounts.", no_args_is_help=True)
overpayments_app = typer.Typer(help="Overpayments to recover.", no_args_is_help=True)
app.add_typer(payments_app, name="payments")
app.add_typer(accounts_app, name="accounts")
app.add_typer(overpayments_app, name="overpayments")
out = Console(width=200)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]
OnOption = Annotated[str | None, typer.Option("--on", help="The business date (YYYY-MM-DD); default: today.")]


def _username() -> str:
    return f"cli:{getpass.getuser()}"


def cli_principal(session):
    """The operator on the server: national scope, every permission, recorded as ``cli:<user>``."""
    from sqlalchemy import select

    from ansinh.auth.models import OrgLevel, OrgUnit, Role
    from ansinh.auth.permissions import Principal, permissions_for

    unit = session.scalar(select(OrgUnit).where(OrgUnit.level == OrgLevel.national).order_by(OrgUnit.id).limit(1))
    roles = frozenset({Role.national_officer})
    return Principal(user_id=0, username=_username(), full_name="CLI", org_unit_id=unit.id if unit else 0,
                     org_unit_code=unit.code if unit else "", org_unit_name=unit.name if unit else "",
                     org_unit_path=unit.path if unit else "", org_unit_level=OrgLevel.national.value,
                     place_code=unit.place_code if unit else "VN", roles=roles, permissions=permissions_for(roles))


def _day(text: str | None, option: str = "--on") -> date:
    return parse_day(text, option) if text else clock.today()


def _json(data) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _work():
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database

    class Work:
        def __enter__(self):
            self.audit = audit_context(channel="cli", actor_username=_username())
            self.audit.__enter__()
            self.unit = get_database().unit_of_work()
            return self.unit.__enter__()

        def __exit__(self, *exc):
            try:
                return self.unit.__exit__(*exc)
            finally:
                self.audit.__exit__(*exc)

    return Work()


@app.command("payroll")
def payroll_command(
    month: Annotated[str, typer.Option("--month", help="The month paid (YYYY-MM).")],
    province: Annotated[str | None, typer.Option("--province", help="A province (2025 code); default: the whole "
                                                                    "country.")] = None,
    chunks: Annotated[int | None, typer.Option("--chunks", help="Chunks of the run (1–1024).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Chunks run at the same time.")] = 1,
    on: OnOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the monthly payroll: a payment for every entitlement in force in the month, posted; idempotent and
    resumable (run again, it finishes what is missing and pays nothing twice)."""
    from ansinh.audit.service import audit_context
    from ansinh.benefits.payments import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        first = date.fromisoformat(month + "-01")
    except ValueError:
        fail(f"--month: not a month (YYYY-MM): {month!r}")
    day = _day(on) if on else first
    try:
        with audit_context(channel="cli", actor_username=_username()):
            summary = service.run_payroll(get_database(), month=first, by=_username(), province=province, on=day,
                                          chunks=chunks, workers=workers)
    except DomainError as exc:
        fail_for(exc, "month")
    if as_json:
        _json(summary)
        return
    table = Table(show_header=False, box=None)
    for key in ("run_id", "month", "province", "status", "payments", "total", "without_method", "chunks_done",
                "resumed"):
        value = summary[key]
        table.add_row(key, f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value))
    out.print(table)


@payments_app.command("order")
def order_command(
    claim: Annotated[list[int] | None, typer.Option("--claim", help="Only these claims (repeat).")] = None,
    on: OnOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Order the payments of granted one-off claims (lump sum, sickness, maternity, funeral, survivor grant)."""
    from ansinh.benefits.payments import service
    from ansinh.errors import DomainError

    day = _day(on)
    try:
        with _work() as session:
            result = service.order_payments(session, cli_principal(session), on=day, claim_ids=claim or None)
    except DomainError as exc:
        fail_for(exc)
    if as_json:
        _json(result)
        return
    out.print(f"ordered {len(result['ordered']):,} payment(s) of "
              f"{sum(o['amount'] for o in result['ordered']):,} dong; {len(result['skipped']):,} skipped")
    for skipped in result["skipped"]:
        out.print(f"  claim {skipped['claim_id']}: {skipped['reason']}", highlight=False)


@payments_app.command("export")
def export_command(
    out_path: Annotated[Path, typer.Option("--out", help="The file to write (.csv or .xlsx).")],
    bank: Annotated[str | None, typer.Option("--bank", help="The bank's BIN (6 digits).")] = None,
    paying_point: Annotated[str | None, typer.Option("--paying-point", help="A paying point's code.")] = None,
    province: Annotated[str | None, typer.Option("--province", help="Only this province's payments.")] = None,
    on: OnOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Send the ordered payments of a bank (file for the bank) or of a paying point (cash list)."""
    from ansinh.benefits.payments import service
    from ansinh.errors import DomainError

    if (bank is None) == (paying_point is None):
        fail("--bank: give --bank BIN or --paying-point CODE")
    fmt = "xlsx" if out_path.suffix.lower() == ".xlsx" else "csv"
    day = _day(on)
    try:
        with _work() as session:
            principal = cli_principal(session)
            file = service.export_payment_file(session, principal, on=day, bank_bin=bank, paying_point=paying_point,
                                               province=province)
            _, content = service.payment_file_content(session, principal, file.id, fmt=fmt)
            view = service.payment_file_view(file)
    except DomainError as exc:
        fail_for(exc, "bank")
    out_path.write_bytes(content)
    if as_json:
        _json({**view, "path": str(out_path)})
    else:
        out.print(f"file {view['id']}: {view['payments']:,} payment(s), {view['total']:,} dong → {out_path}")


@payments_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="The bank's result file (CSV or .xlsx): reference, status "
                                              "(paid|returned), reason[, amount].")],
    on: OnOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Import a bank's result file: all rows or none; the same file twice changes nothing."""
    from ansinh.benefits.payments import service
    from ansinh.errors import DomainError

    day = _day(on)
    try:
        with _work() as session:
            report = service.import_bank_results(session, cli_principal(session), file_name=path.name,
                                                 content=path.read_bytes(), on=day)
    except DomainError as exc:
        fail_for(exc, "file")
    if as_json:
        _json(report.to_json())
    else:
        out.print(f"{report.file_name}: {report.status}; {report.rows:,} row(s), {report.paid:,} paid "
                  f"({report.paid_total:,} dong), {report.returned:,} returned")
        if report.errors:
            table = Table(title=f"{max(report.error_count, len(report.errors)):,} error(s)")
            for column in ("file", "row", "field", "value", "reason", "lý do"):
                table.add_column(column, overflow="fold")
            for error in report.errors:
                table.add_row(error.file, str(error.row), error.field, error.value, error.reason_en, error.reason_vi)
            out.print(table)
    raise typer.Exit(2 if report.status == "rejected" else 0)


@payments_app.command("reconcile")
def reconcile_command(on: OnOption = None, as_json: JsonFlag = False) -> None:
    """Payments ↔ ledger: each check with the count of what disagrees (all 0 when consistent; exit 1 if not).
    Paid claims whose payments all reconcile become ``reconciled``."""
    from ansinh.benefits.payments import service

    day = _day(on)
    with _work() as session:
        counts = service.reconcile_payments(session, day, by=_username())
    wrong = {name: count for name, count in counts.items() if count}
    if as_json:
        _json({"consistent": not wrong, "counts": counts})
    else:
        table = Table(title="Reconciliation: " + ("consistent" if not wrong else f"{len(wrong)} check(s) disagree"))
        table.add_column("check")
        table.add_column("disagreeing", justify="right")
        for name, count in counts.items():
            table.add_row(name, f"[bold red]{count:,}[/]" if count else "0")
        out.print(table)
    raise typer.Exit(1 if wrong else 0)


@accounts_app.command("add")
def accounts_add(
    citizen_id: Annotated[str, typer.Option("--citizen-id", help="The beneficiary's citizen ID.")],
    bank: Annotated[str, typer.Option("--bank", help="The bank's BIN (6 digits).")],
    account: Annotated[str, typer.Option("--account", help="The account number.")],
    holder: Annotated[str, typer.Option("--holder", help="The holder's name as the bank has it.")],
    on: OnOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a beneficiary's bank account (verified against the registry's name)."""
    from ansinh.benefits.payments import service
    from ansinh.errors import DomainError

    day = _day(on)
    try:
        with _work() as session:
            row = service.add_bank_account(session, cli_principal(session), citizen_id=citizen_id, bank_bin=bank,
                                           account_number=account, holder_name=holder, on=day)
            view = service.bank_account_view(row)
    except DomainError as exc:
        fail_for(exc, "citizen_id")
    if as_json:
        _json(view)
    else:
        out.print(f"account {view['id']}: {'verified' if view['verified'] else 'NOT verified: ' + (view['verify_note'] or '')}")


@accounts_app.command("list")
def accounts_list(
    citizen_id: Annotated[str | None, typer.Option("--citizen-id", help="One beneficiary's accounts.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Beneficiaries' bank accounts (newest first)."""
    from ansinh.benefits.payments import service
    from ansinh.errors import DomainError

    try:
        with _work() as session:
            rows = [service.bank_account_view(a) for a in service.bank_accounts(session, cli_principal(session),
                                                                     citizen_id=citizen_id)]
    except DomainError as exc:
        fail_for(exc, "citizen_id")
    if as_json:
        _json(rows)
        return
    table = Table()
    for column in ("id", "citizen_id", "bank_bin", "account_number", "holder_name", "verified", "closed_on"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("id", "citizen_id", "bank_bin", "account_number", "holder_name",
                                              "verified", "closed_on")))
    out.print(table)


@overpayments_app.command("list")
def overpayments_list(
    status: Annotated[str | None, typer.Option("--status", help="open | recovered")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Overpayments to recover."""
    from ansinh.benefits.payments import service

    with _work() as session:
        rows, total = service.overpayments(session, cli_principal(session), status=status)
        views = [service.overpayment_view(o) for o in rows]
    if as_json:
        _json({"total": total, "items": views})
        return
    table = Table(title=f"{total:,} overpayment(s)")
    for column in ("id", "person_id", "amount", "recovered", "status", "reason"):
        table.add_column(column)
    for view in views:
        table.add_row(*(f"{view[c]:,}" if isinstance(view[c], int) else str(view[c])
                        for c in ("id", "person_id", "amount", "recovered", "status", "reason")))
    out.print(table)
