"""``ansinh users reset-code``: an officer issues a citizen a password reset code at the counter."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ansinh.cli_errors import fail

console = Console(width=200)


def reset_code(
    citizen_id: Annotated[str, typer.Argument(help="The citizen's 12-digit citizen ID.")],
    as_user: Annotated[str, typer.Option("--as", help="The officer issuing the code (their province's people only).")],
    slip: Annotated[Path | None, typer.Option(help="Write the slip to print (PDF) to this file.")] = None,
) -> None:
    """Issue a citizen a one-time password reset code (shown once); their account is created if they have none."""
    from sqlalchemy import select

    from ansinh import clock
    from ansinh.audit.service import audit_context
    from ansinh.auth.models import User
    from ansinh.auth.reset import service
    from ansinh.auth.reset.pdf import render_slip
    from ansinh.auth.service import principal_for
    from ansinh.config import get_settings
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli", actor_username=f"cli:{getpass.getuser()}"), \
                get_database().unit_of_work() as session:
            officer = session.scalar(select(User).where(User.username == as_user.strip().lower()))
            if officer is None or not officer.is_active:
                fail(f"--as: no active user {as_user!r}")
            principal = principal_for(officer)
            with audit_context(channel="cli", actor_username=officer.username, actor_user_id=officer.id,
                               actor_org_unit_id=officer.org_unit_id):
                now = clock.utcnow()
                issued = service.issue_reset_code(session, principal, citizen_id, now=now,
                                                  valid_hours=get_settings().reset_code_hours)
            if slip is not None:
                slip.write_bytes(render_slip(citizen_id=issued.citizen_id, full_name=issued.full_name,
                                             code=issued.code, valid_until=issued.expires_at, issued_at=now,
                                             office_name=issued.office_name, username=issued.user.username))
    except DomainError as exc:
        fail(f"{getattr(exc, 'field', None) or 'citizen_id'}: {exc.message}" if getattr(exc, "field", None)
             else exc.message)
    console.print(f"reset code for {issued.full_name} ({issued.citizen_id}, user {issued.user.username}"
                  f"{', account created' if issued.account_created else ''}): "
                  f"[bold]{service.display_code(issued.code)}[/] valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC"
                  + (f"; slip: {slip}" if slip else ""), highlight=False)
