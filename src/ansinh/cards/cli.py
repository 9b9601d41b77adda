"""``ansinh cards lookup|issue``."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from ansinh.cli_errors import fail_for, parse_day

cards_app = typer.Typer(help="Health insurance cards.", no_args_is_help=True)


def _day(text: str | None) -> date:
    return parse_day(text) if text else date.today()


@cards_app.command("lookup")
def lookup(citizen_id: Annotated[str | None, typer.Option("--citizen-id")] = None,
           card_code: Annotated[str | None, typer.Option("--card-code")] = None,
           si_number: Annotated[str | None, typer.Option("--si-number")] = None,
           on: Annotated[str | None, typer.Option("--on", help="Day of the visit (default today).")] = None,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Is this person covered by health insurance on a day?"""
    from ansinh.audit.service import audit_context
    from ansinh.cards.service import lookup as lookup_card
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = _day(on)
    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            answer = lookup_card(session, None, on=day, citizen_id=citizen_id, card_code=card_code, si_number=si_number)
    except DomainError as exc:
        fail_for(exc, "citizen_id")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
    else:
        for key, value in answer.items():
            print(f"{key:22} {value}")


@cards_app.command("issue")
def issue(on: Annotated[str | None, typer.Option("--on", help="Day (default today).")] = None) -> None:
    """Issue or renew the cards of everyone insured on a day."""
    from ansinh.audit.service import audit_context
    from ansinh.cards.service import issue_cards
    from ansinh.db import get_database

    with audit_context(channel="cli"), get_database().unit_of_work() as session:
        print(json.dumps(issue_cards(session, on=_day(on))))
