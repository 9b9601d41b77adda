"""How every ``ansinh`` command reports bad input: one line ``error: --option: message`` on standard error and
exit code 2, never a traceback. Domain command modules use these (``ansinh.cli`` imports them, so this cannot
live there)."""

from __future__ import annotations

from datetime import date
from typing import NoReturn

import typer
from rich.console import Console

err = Console(stderr=True, width=200)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def parse_day(text: str, option: str = "--on") -> date:
    """An ISO date given on the command line, or exit 2 naming the option."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        fail(f"{option}: not a date (YYYY-MM-DD): {text!r}")


def fail_for(exc, default_field: str = "on") -> NoReturn:
    """A domain error as ``--field: message`` (the field of a ValidationFailed, else ``default_field``)."""
    field = (getattr(exc, "field", None) or default_field).replace("_", "-")
    fail(f"--{field}: {exc.message}")
