"""``ansinh places load|show``: the administrative units of both structures."""

from __future__ import annotations

import getpass
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

places_app = typer.Typer(help="Administrative units (63 provinces until 2025-06-30, 34 from 2025-07-01).",
                         no_args_is_help=True)
out = Console(width=200)
err = Console(stderr=True, width=200)


@places_app.command("load")
def places_load() -> None:
    """Load the places of both structures and the mapping between them (does nothing when already loaded)."""
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.registry.places import load_places

    started = time.perf_counter()
    with audit_context(channel="cli", actor_username=f"cli:{getpass.getuser()}"), \
            get_database().unit_of_work() as session:
        result = load_places(session)
    elapsed = time.perf_counter() - started
    if result["skipped"]:
        err.print(f"places already loaded ({elapsed:.1f} s)")
    else:
        err.print(f"loaded {result['places']:,} places and {result['mappings']:,} mapping rows in {elapsed:.1f} s")


@places_app.command("show")
def places_show(
    code: Annotated[str, typer.Argument(help="Official code: 2 digits a province, 3 a district, 5 a commune.")],
    structure: Annotated[str, typer.Option(help="2008 or 2025.")] = "2025",
) -> None:
    """Show a place, its parents and what it maps to in the other structure."""
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.registry.models import Place, PlaceLevel, Structure
    from ansinh.registry.places import find_place, map_to_2008, map_to_2025, provinces_of

    code = code.strip()
    level = {2: PlaceLevel.province, 3: PlaceLevel.district, 5: PlaceLevel.commune}.get(len(code))
    if level is None or not code.isdigit():
        err.print(f"[bold red]error:[/] {code!r} is not a code of 2, 3 or 5 digits", highlight=False)
        raise typer.Exit(2)
    try:
        with get_database().unit_of_work() as session:
            place = find_place(session, structure, level, code)
            if place is None:
                err.print(f"[bold red]error:[/] no {level.value} {code} in the {structure} structure", highlight=False)
                raise typer.Exit(1)
            chain, parent = [], place
            while parent.parent_id is not None:
                parent = session.get(Place, parent.parent_id)
                chain.append(f"{parent.name} ({parent.code})")
            old_province, new_province = provinces_of(session, place.id)
            others = map_to_2025(session, place.id) if place.structure is Structure.before_2025 \
                else map_to_2008(session, place.id)
            table = Table(show_header=False, box=None)
            table.add_row("place", f"{place.name} ({place.level.value} {place.code}, structure {place.structure.value})")
            if chain:
                table.add_row("in", ", ".join(chain))
            table.add_row("valid", f"from {place.valid_from}" + (f" until {place.valid_to} (exclusive)"
                                                                if place.valid_to else ""))
            table.add_row("province 2008 / 2025", f"{old_province or '—'} / {new_province or '—'}")
            other = "2025" if place.structure is Structure.before_2025 else "2008"
            table.add_row(f"in {other}", "\n".join(f"{p.name} ({p.level.value} {p.code})" for p in others) or "—")
            out.print(table)
    except DomainError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
