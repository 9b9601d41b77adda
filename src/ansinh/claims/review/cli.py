"""``ansinh claims appraise|show|override`` and ``ansinh claims review queue|sample``: the appraisal run, a claim's
figures and findings, an appraiser's override, the review queue and the spot-check sample. A command is a trusted
operator on the server: it acts on every org unit (``principal=None``), recorded as ``cli:<user>``."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from ansinh.cli_errors import fail_for, parse_day

review_app = typer.Typer(help="The appraisers' review: flagged claims and spot checks.", no_args_is_help=True)
Facility = Annotated[str | None, typer.Option("--facility", help="The facility's code (5 digits).")]
Month = Annotated[str | None, typer.Option("--month", help="The settlement month, YYYY-MM.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def appraise_command(facility: Facility = None, month: Month = None, as_json: AsJson = False) -> None:
    """Appraise the current claims of a facility and/or a settlement month; print the run."""
    from ansinh.audit.service import audit_context
    from ansinh.claims.review import service
    from ansinh.db import allow_waiting, get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli", actor_username=_actor()), get_database().unit_of_work() as session:
            allow_waiting(session)  # a batch: it may queue behind another run of the same claims
            answer = service.start_appraisal(session, principal=None, facility_code=facility,
                                             month=service.parse_month(month), started_by=_actor())
    except DomainError as exc:
        fail_for(exc, "facility")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
        return
    print(f"run {answer['run_id']}: {answer['claims']:,} claims, {answer['findings']:,} findings, "
          f"{answer['disallowed']:,} dong disallowed")
    for outcome, figures in answer["outcomes"].items():
        print(f"  {outcome:16} {figures['claims']:>10,} claims {figures['disallowed']:>18,} dong")


def show_command(facility: Annotated[str, typer.Option("--facility", help="The facility's code (5 digits).")],
                 ma_lk: Annotated[str, typer.Option("--ma-lk", help="The episode's key (MA_LK).")],
                 lang: Annotated[str, typer.Option("--lang", help="Language of the messages: en or vi.")] = "en",
                 as_json: AsJson = False) -> None:
    """A claim: status, claimed (T_BHTT), disallowed, accepted amount, findings, lines and versions."""
    from ansinh.audit.service import audit_context
    from ansinh.claims.review import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli", actor_username=_actor()), get_database().unit_of_work() as session:
            answer = service.claim_detail(session, principal=None, facility_code=facility, episode_key=ma_lk,
                                          locale=lang)
    except DomainError as exc:
        fail_for(exc, "ma_lk")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
        return
    print(f"{answer['facility_code']} {answer['ma_lk']} v{answer['version']}: {answer['status']} "
          f"{answer['outcome'] or ''} — claimed {answer['claimed']:,}, disallowed {answer['disallowed']:,}, "
          f"accepted {answer['accepted_amount']:,}")
    for finding in answer["findings"]:
        where = f"{finding['table']} line {finding['line']}" if finding["line"] else "claim"
        overridden = f" [overridden by {finding['overridden']['by']}: {finding['overridden']['reason']}]" \
            if finding["overridden"] else ""
        print(f"  #{finding['id']} {finding['rule']:20} {where:16} {finding['amount']:>12,}  "
              f"{finding['message']}{overridden}")


def override_command(finding_id: Annotated[int, typer.Argument(help="The finding's id (see claims show).")],
                     reason: Annotated[str, typer.Option("--reason", help="Why the finding is set aside.")],
                     as_json: AsJson = False) -> None:
    """Set a finding aside with a reason; the claim's disallowed amount and outcome are recomputed."""
    from ansinh.audit.service import audit_context
    from ansinh.claims.review import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli", actor_username=_actor()), get_database().unit_of_work() as session:
            answer = service.override_finding(session, principal=None, finding_id=finding_id, reason=reason,
                                              actor=_actor())
    except DomainError as exc:
        fail_for(exc, "reason")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
        return
    print(f"finding {finding_id} overridden: {answer['facility_code']} {answer['ma_lk']} now {answer['outcome']}, "
          f"disallowed {answer['disallowed']:,}, accepted {answer['accepted_amount']:,}")


def _print_claims(rows: list[dict], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        print(f"{row['facility_code']} {row['ma_lk']:30} {row['outcome'] or '':16} {row['claimed']:>14,} "
              f"{row['disallowed']:>14,}")


@review_app.command("queue")
def queue(facility: Facility = None,
          rule: Annotated[str | None, typer.Option("--rule", help="Only claims with a finding of this rule.")] = None,
          min_amount: Annotated[int | None, typer.Option("--min-amount", help="Least disallowed, dong.")] = None,
          limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100, as_json: AsJson = False) -> None:
    """The flagged claims, largest disallowed first."""
    from ansinh.claims.review import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with get_database().unit_of_work() as session:
            stmt = service.review_queue_query(None, facility_code=facility, rule=rule, min_amount=min_amount)
            rows = [service.claim_summary(claim) for claim in session.scalars(stmt.limit(limit))]
    except DomainError as exc:
        fail_for(exc, "facility")
    _print_claims(rows, as_json)


@review_app.command("sample")
def sample(on: Annotated[str, typer.Option("--on", help="The day whose sample share applies (YYYY-MM-DD).")],
           facility: Facility = None, month: Month = None,
           seed: Annotated[int, typer.Option("--seed", min=0, help="The draw: the same seed, the same claims.")] = 0,
           as_json: AsJson = False) -> None:
    """A random sample of accepted claims for a spot check."""
    from ansinh.claims.review import service
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = parse_day(on)
    try:
        with get_database().unit_of_work() as session:
            rows = [service.claim_summary(claim) for claim in service.review_sample(
                session, principal=None, on=day, seed=seed, facility_code=facility,
                month=service.parse_month(month))]
    except DomainError as exc:
        fail_for(exc, "month")
    _print_claims(rows, as_json)
