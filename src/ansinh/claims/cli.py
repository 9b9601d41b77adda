"""``ansinh claims …``: the commands of the claims domain (intake of claim files, price lists, catalogues, budgets)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ansinh.cli_errors import fail, parse_day
from ansinh.claims.budgets.cli import budgets_app
from ansinh.claims.intake.cli import import_command
from ansinh.claims.monitoring.cli import budget_use_command, costs_command
from ansinh.claims.prices.cli import prices_app
from ansinh.claims.review.cli import appraise_command, override_command, review_app, show_command
from ansinh.claims.settlement.cli import advances_app, settle_command, settlement_app, settlements_command

claims_app = typer.Typer(help="Medical claims: intake of claim files, price lists, catalogues, budgets.",
                         no_args_is_help=True)
claims_app.command("import")(import_command)
claims_app.add_typer(prices_app, name="prices")
claims_app.add_typer(budgets_app, name="budgets")
claims_app.command("appraise")(appraise_command)
claims_app.command("show")(show_command)
claims_app.command("override")(override_command)
claims_app.add_typer(review_app, name="review")
claims_app.command("settle")(settle_command)
claims_app.command("settlements")(settlements_command)
claims_app.add_typer(advances_app, name="advances")
claims_app.add_typer(settlement_app, name="settlement")
claims_app.command("costs")(costs_command)
claims_app.command("budget-use")(budget_use_command)

CATALOGUES = ("cost-groups", "care-types", "visit-categories")


@claims_app.command("catalogue")
def catalogue(name: Annotated[str, typer.Argument(help="cost-groups, care-types or visit-categories.")],
              on: Annotated[str | None, typer.Option("--on", help="In force on this day (default: every entry, "
                                                                   "with its dates).")] = None,
              as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """A catalogue of the claim file: its codes with their names in Vietnamese and English and their dates."""
    from ansinh.claims import catalogues
    from ansinh.rules.visit_categories import visit_catalogue

    if name not in CATALOGUES:
        fail(f"NAME: one of {', '.join(CATALOGUES)}")
    day = parse_day(on) if on else None
    if name == "visit-categories":
        visits = visit_catalogue()
        rows = [{"code": c.code, "name_vi": c.name_vi, "name_en": c.name_en, "valid_from": visits.valid_from.isoformat(),
                 "valid_to": None, "reference": visits.source, "case": c.case, "full_cost": c.full_cost}
                for c in visits.categories.values()]
    else:
        entries = catalogues.cost_groups(day) if name == "cost-groups" else catalogues.care_types(day)
        rows = [{"code": e.code, "name_vi": e.name_vi, "name_en": e.name_en, "valid_from": e.valid_from.isoformat(),
                 "valid_to": e.valid_to.isoformat() if e.valid_to else None, "reference": e.reference,
                 "verified": e.verified, **e.extra} for e in entries]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        dates = f"{row['valid_from']} → {row['valid_to'] or ''}"
        print(f"{row['code']:6} {dates:25} {row['name_vi']} / {row['name_en']}")


@claims_app.command("icd10")
def icd10(codes: Annotated[list[str], typer.Argument(help="ICD-10 codes, with or without the dot (J18.9, J189).")],
          as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Whether each code is a known ICD-10 code (WHO 2019 and the Vietnamese additions), and its title."""
    import polars as pl

    from ansinh.claims import catalogues

    series = pl.Series("code", codes, dtype=pl.String)
    known = catalogues.icd10_is_known(series).to_list()
    leaf = catalogues.icd10_is_known(series, leaf_only=True).to_list()
    rows = [{"code": code, "known": bool(k), "leaf": bool(f), "title": catalogues.icd10_title(code)}
            for code, k, f in zip(codes, known, leaf)]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            state = "known" if row["known"] else "unknown"
            print(f"{row['code']:10} {state:8} {row['title'] or ''}")
    raise typer.Exit(0 if all(row["known"] for row in rows) else 1)
