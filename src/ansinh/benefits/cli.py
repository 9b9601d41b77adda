"""``ansinh benefits …``: benefit claims from the command line, over the same services as the API.

``file``, ``incomplete``, ``complete``, ``assess``, ``decide``, ``appeal``, ``withdraw``, ``show``, ``due``,
``decision`` (the PDF), ``employer-batch`` (an employer's 01B-HSB list) and ``unemployment-import`` (the employment
office's decisions). A command is a trusted operator on the server: it acts for the whole country, recorded as
``cli:<user>``; ``--as USERNAME`` (before the command: ``ansinh benefits --as lan.pham decide 12``) acts as that
user instead, with their roles and org unit (an appeal is re-decided by another officer than the one who decided).
Dates default to the application's clock (``ansinh.clock``). Bad input: one line ``error: --option: message`` and exit
code 2.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ansinh.cli_errors import fail, fail_for, parse_day

benefits_app = typer.Typer(help="Benefit claims: filing, the legal clock, decisions, employers' lists.",
                           no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
On = Annotated[str | None, typer.Option("--on", help="The business date of the step, YYYY-MM-DD (default: today).")]
ClaimId = Annotated[int, typer.Argument(help="The claim's id.", min=1)]
Reason = Annotated[str | None, typer.Option("--reason", help="Why (written on the claim's timeline).")]
TYPES = ("lump_sum", "pension", "sickness", "maternity", "unemployment", "funeral", "survivor")
CHANNELS = ("counter", "post", "employer", "portal")
_state: dict[str, Any] = {"as": None}


@benefits_app.callback()
def _options(act_as: Annotated[str | None, typer.Option("--as", help="Act as this user (default: the operator, "
                                                                     "for the whole country).")] = None) -> None:
    _state["as"] = act_as


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def operator_principal(session, username: str | None = None):
    """The principal a command acts as: the user ``username`` (their roles and org unit), or the operator on the
    server, an administrator of the national org unit recorded as ``cli:<user>``."""
    from sqlalchemy import select

    from ansinh.auth.models import OrgUnit, Role, User
    from ansinh.auth.permissions import Permission, Principal
    from ansinh.auth.service import principal_for

    if username:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            fail(f"--as: no user {username!r}")
        return principal_for(user)
    root = session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id).limit(1))
    if root is None:
        fail("no org units: run `ansinh db upgrade` and create the national unit first")
    return Principal(user_id=0, username=_actor(), full_name=_actor(), org_unit_id=root.id, org_unit_code=root.code,
                     org_unit_name=root.name, org_unit_path=root.path, org_unit_level=root.level.value,
                     place_code=root.place_code, roles=frozenset({Role.administrator}),
                     permissions=frozenset(Permission), locale="en")


@contextmanager
def _acting(default_field: str = "on") -> Iterator[tuple[Any, Any]]:
    """A unit of work and the principal acting in it; a domain error is ``error: --field: message`` (exit 2) and
    nothing is written."""
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli", actor_username=_state["as"] or _actor()), \
                get_database().unit_of_work() as session:
            yield session, operator_principal(session, _state["as"])
    except DomainError as exc:
        fail_for(exc, default_field)


def _day(on: str | None, option: str = "--on"):
    from ansinh import clock

    return parse_day(on, option) if on else clock.today()


def _view(session, claim) -> dict:
    from ansinh.benefits import service
    from ansinh.benefits.payments import service as payments

    return service.claim_view(claim, payments.claim_payments(session, claim.id))


def _print_claim(view: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(view, ensure_ascii=False))
        return
    line = f"claim {view['id']}: {view['type']} {view['status']} (filed {view['filed_on']} by {view['channel']})"
    if view.get("deadline"):
        line += f", deadline {view['deadline']}"
    print(line)
    if view.get("missing"):
        print("  missing: " + "; ".join(view["missing"]))
    if view.get("eligible") is not None:
        print(f"  eligible: {'yes' if view['eligible'] else 'no'}; amount {view['amount'] or 0:,} dong"
              + (f"; monthly {view['monthly_amount']:,} dong" if view.get("monthly_amount") else ""))
    decision = view.get("decision")
    if decision:
        kind = "granted" if decision["granted"] else f"refused: {decision['refusal_reason']}"
        print(f"  decision {decision['number']} of {decision['decided_on']}: {kind}")
    for payment in view.get("payments") or []:
        print(f"  payment {payment.get('id')}: {payment.get('month') or ''} {payment.get('amount'):,} dong "
              f"{payment.get('status')}")


def _step(claim_id: int, as_json: bool, act: Callable, default_field: str = "on") -> None:
    with _acting(default_field) as (session, principal):
        claim = act(session, principal)
        view = _view(session, claim)
    _print_claim(view, as_json)


def _details(pairs: list[str]) -> dict:
    """``key=value`` pairs (``--detail days=5``); numbers and true/false as such, the rest as text."""
    details: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--detail: write key=value, got {pair!r}")
        text = value.strip()
        if text.lower() in ("true", "false"):
            details[key.strip()] = text.lower() == "true"
        elif text.isdigit():
            details[key.strip()] = int(text)
        else:
            details[key.strip()] = text
    return details


# --- filing and the officer's steps ----------------------------------------------------------------------------

@benefits_app.command("file")
def file_command(
    claim_type: Annotated[str, typer.Option("--type", help=f"One of {', '.join(TYPES)}.")],
    citizen_id: Annotated[str, typer.Option("--citizen-id", help="The insured person's citizen ID (12 digits).")],
    filed_on: Annotated[str | None, typer.Option("--filed-on", help="The filing date (default: today).")] = None,
    channel: Annotated[str, typer.Option("--channel", help=f"One of {', '.join(CHANNELS)}.")] = "counter",
    ground: Annotated[str | None, typer.Option("--ground", help="Lump sum: the ground of the withdrawal.")] = None,
    detail: Annotated[list[str] | None, typer.Option("--detail", help="The type's details, key=value "
                                                     "(repeatable): --detail leave_from=2026-02-02 --detail days=5.")]
    = None,
    missing: Annotated[list[str] | None, typer.Option("--missing", help="A document the file lacks "
                                                      "(repeatable): the claim waits, its clock paused.")] = None,
    external_ref: Annotated[str | None, typer.Option("--external-ref", help="A reference that files once.")] = None,
    as_json: AsJson = False,
) -> None:
    """File a claim: accepted with its deadline when complete, else incomplete with what is missing."""
    from ansinh.benefits import service

    if claim_type not in TYPES:
        fail(f"--type: one of {', '.join(TYPES)}")
    if channel not in CHANNELS:
        fail(f"--channel: one of {', '.join(CHANNELS)}")
    if len(citizen_id) != 12 or not citizen_id.isdigit():
        fail(f"--citizen-id: a citizen ID is 12 digits, got {citizen_id!r}")
    day = _day(filed_on, "--filed-on")
    details = _details(detail or [])
    with _acting("citizen_id") as (session, principal):
        claim, new = service.file_claim(session, principal, claim_type=claim_type, citizen_id=citizen_id,
                                        filed_on=day, channel=channel, ground=ground, details=details,
                                        missing=missing or [], external_ref=external_ref)
        view = _view(session, claim)
    if not as_json and not new:
        print(f"already filed with reference {external_ref}")
    _print_claim(view, as_json)


@benefits_app.command("incomplete")
def incomplete_command(claim_id: ClaimId,
                       missing: Annotated[list[str], typer.Option("--missing", help="A missing document "
                                                                  "(repeatable).")],
                       on: On = None, reason: Reason = None, as_json: AsJson = False) -> None:
    """The file lacks documents: the claim waits for them, its clock paused."""
    from ansinh.benefits import service

    day = _day(on)
    _step(claim_id, as_json, lambda s, p: service.mark_incomplete(s, p, claim_id, missing=missing, on=day,
                                                                  reason=reason))


@benefits_app.command("complete")
def complete_command(claim_id: ClaimId, on: On = None, reason: Reason = None, as_json: AsJson = False) -> None:
    """The missing documents arrived: accepted, the clock starts that day."""
    from ansinh.benefits import service

    day = _day(on)
    _step(claim_id, as_json, lambda s, p: service.complete_claim(s, p, claim_id, on=day, reason=reason))


@benefits_app.command("assess")
def assess_command(claim_id: ClaimId, on: On = None, as_json: AsJson = False) -> None:
    """Eligibility and amounts from the person's records and the rules."""
    from ansinh.benefits import service

    day = _day(on)
    _step(claim_id, as_json, lambda s, p: service.assess(s, p, claim_id, on=day))


@benefits_app.command("decide")
def decide_command(claim_id: ClaimId,
                   refuse: Annotated[str | None, typer.Option("--refuse", help="Refuse, with this written "
                                                              "reason.")] = None,
                   on: On = None, as_json: AsJson = False) -> None:
    """Grant an assessed claim with its amounts, or refuse it: a numbered decision."""
    from ansinh.benefits import service

    day = _day(on)
    _step(claim_id, as_json, lambda s, p: service.decide(s, p, claim_id, on=day, refuse=refuse))


@benefits_app.command("appeal")
def appeal_command(claim_id: ClaimId,
                   reason: Annotated[str, typer.Option("--reason", help="The grounds of the appeal.")],
                   on: On = None, as_json: AsJson = False) -> None:
    """A decided claim goes back for re-assessment by another officer."""
    from ansinh.benefits import service

    day = _day(on)
    _step(claim_id, as_json, lambda s, p: service.appeal(s, p, claim_id, on=day, reason=reason))


@benefits_app.command("withdraw")
def withdraw_command(claim_id: ClaimId, on: On = None, reason: Reason = None, as_json: AsJson = False) -> None:
    """The claimant withdraws a claim not yet decided."""
    from ansinh.benefits import service

    day = _day(on)
    _step(claim_id, as_json, lambda s, p: service.withdraw_claim(s, p, claim_id, on=day, reason=reason))


@benefits_app.command("show")
def show_command(claim_id: ClaimId, as_json: AsJson = False) -> None:
    """A claim: status, type, channel, filed_on, deadline, decision, amount, payments (and its timeline)."""
    from ansinh.benefits import service

    with _acting("id") as (session, principal):
        claim = service.get_claim(session, principal, claim_id)
        view = _view(session, claim)
        timeline = [{"from": e.from_status, "to": e.to_status, "on": e.on.isoformat(), "by": e.by,
                     "reason": e.reason} for e in service.claim_events(session, claim.id)]
    if as_json:
        print(json.dumps(view, ensure_ascii=False))
        return
    _print_claim(view, False)
    for step in timeline:
        print(f"  {step['on']} {step['from'] or '-'} → {step['to']} by {step['by']}"
              + (f": {step['reason']}" if step["reason"] else ""))


@benefits_app.command("due")
def due_command(on: On = None,
                days_ahead: Annotated[int, typer.Option("--days-ahead", min=0, max=60, help="Upcoming: due within "
                                                        "this many working days.")] = 3,
                as_json: AsJson = False) -> None:
    """The queue by deadline: claims late, due today, and due within the next working days."""
    from ansinh.benefits import service

    day = _day(on)
    with _acting() as (session, principal):
        queue = service.due_claims(session, principal, on=day, days_ahead=days_ahead)
        answer = {key: [{"id": c.id, "type": c.claim_type.value, "status": c.status.value,
                         "citizen_id": c.person_ref, "filed_on": c.filed_on.isoformat(),
                         "deadline": c.deadline.isoformat(), "working_days_left": service.working_days_left(c, day)}
                        for c in rows] for key, rows in queue.items()}
    if as_json:
        print(json.dumps({"on": day.isoformat(), **answer}, ensure_ascii=False))
        return
    for key, title in (("late", "late"), ("due_today", "due today"), ("upcoming", "upcoming")):
        print(f"{title}: {len(answer[key])}")
        for row in answer[key]:
            print(f"  claim {row['id']} {row['type']} {row['status']} deadline {row['deadline']} "
                  f"({row['working_days_left']:+d} working days)")


@benefits_app.command("decision")
def decision_command(claim_id: ClaimId,
                     out: Annotated[Path, typer.Option("--out", help="Where to write the PDF.")]) -> None:
    """Write the numbered decision of a decided claim (PDF, Vietnamese)."""
    from ansinh.benefits.pdf import decision_document

    with _acting("id") as (session, principal):
        _name, content = decision_document(session, principal, claim_id)
    out.write_bytes(content)
    print(f"wrote {out} ({len(content):,} bytes)")


# --- files -----------------------------------------------------------------------------------------------------

def _print_report(report, as_json: bool, summary: str) -> None:
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(summary)
        for line in report.error_lines():
            print(f"  {line}")
    if report.status == "rejected":
        raise typer.Exit(1)


@benefits_app.command("employer-batch")
def employer_batch_command(
    file: Annotated[Path, typer.Argument(help="The 01B-HSB list: CSV (UTF-8) or .xlsx of the template's columns.")],
    employer: Annotated[str, typer.Option("--employer", help="The employer's tax code.")],
    on: On = None, as_json: AsJson = False,
) -> None:
    """File an employer's list of sickness and maternity cases: each line a claim, or rejected with its reason."""
    from ansinh.benefits import employer_batch

    if not file.is_file():
        fail(f"FILE: no such file: {file}")
    day = _day(on)
    with _acting("employer") as (session, principal):
        report = employer_batch.submit_employer_batch(session, principal, content=file.read_bytes(),
                                                      file_name=file.name, employer_tax_code=employer, on=day)
        if report.status == "rejected":
            session.rollback()
    _print_report(report, as_json, f"{file.name}: {report.status}, batch {report.batch_id}, {report.lines} lines: "
                                   f"{report.filed} filed, {report.already_filed} filed before, "
                                   f"{report.rejected} rejected")


@benefits_app.command("unemployment-import")
def unemployment_import_command(
    file: Annotated[Path, typer.Argument(help="The employment office's decisions: CSV (UTF-8) or .xlsx.")],
    on: On = None, as_json: AsJson = False,
) -> None:
    """File an unemployment claim for each decision of the employment office (the decision number files once)."""
    from ansinh.benefits import unemployment_import

    if not file.is_file():
        fail(f"FILE: no such file: {file}")
    day = _day(on)
    with _acting("file") as (session, principal):
        report = unemployment_import.import_unemployment_decisions(session, principal, content=file.read_bytes(),
                                                                   file_name=file.name, on=day)
        if report.status == "rejected":
            session.rollback()
    _print_report(report, as_json, f"{file.name}: {report.status}, {report.rows} rows: {report.filed} filed, "
                                   f"{report.already_filed} filed before, {report.rejected} rejected")


def _add_payments_commands() -> None:
    """The payroll and payments commands of ``benefits/payments`` (its Typer ``app``: ``ansinh benefits payroll``,
    ``ansinh benefits payments …``, ``accounts``, ``overpayments``) join these."""
    from ansinh.benefits.payments import cli as payments_cli

    benefits_app.registered_commands.extend(payments_cli.app.registered_commands)
    benefits_app.registered_groups.extend(payments_cli.app.registered_groups)


_add_payments_commands()
