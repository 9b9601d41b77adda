"""``ansinh outreach``: the people not covered (JSON or the Excel list for collection agents) and the matching of
the tax authority's lists. The command line acts for the whole country (no principal); every listing is audited."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ansinh.cli_errors import err, fail, fail_for, parse_day

outreach_app = typer.Typer(help="Outreach: people not covered, tax and business-registry matching.",
                           no_args_is_help=True)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda v: v.isoformat() if isinstance(v, date) else str(v))


@outreach_app.command("uncovered")
def uncovered(on: Annotated[str, typer.Option("--on", help="Date (YYYY-MM-DD).")],
              province: Annotated[str, typer.Option("--province", help="Province code (2025 structure).")],
              commune: Annotated[str | None, typer.Option("--commune", help="Commune (place code).")] = None,
              as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
              xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write the Excel list here.")] = None) -> None:
    """The people without health insurance on a date, by commune and group, with what each could join."""
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.outreach.service import audit_listing, uncovered_people, uncovered_xlsx

    day = parse_day(on)
    if not as_json and xlsx is None:
        fail("give --json and/or --xlsx FILE")
    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            listing = uncovered_people(session, None, on=day, province=province.strip(),
                                       commune=(commune or "").strip() or None)
            rows = listing.page(listing.total, 0)
            audit_listing(session, None, listing, rows, what="outreach.uncovered")
    except DomainError as exc:
        fail_for(exc, "on")
    if xlsx is not None:
        xlsx.write_bytes(uncovered_xlsx(listing))
        err.print(f"{listing.total} person(s) without health insurance on {day.isoformat()} → {xlsx}")
    if as_json:
        print(_json(listing.to_json()))


@outreach_app.command("tax-match")
def tax_match(file: Annotated[Path, typer.Argument(help="The tax authority's enterprises: tax_code, name, address, "
                                                        "employee_count (CSV or .xlsx).")],
              withholdings: Annotated[Path | None, typer.Option(
                  "--withholdings", help="Income tax withheld per worker: employer_tax_code, citizen_id, month "
                                         "(YYYY-MM).")] = None,
              on: Annotated[str | None, typer.Option("--on", help="Date of the declared workers (YYYY-MM-DD; "
                                                                  "default: today).")] = None,
              as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
              open_cases: Annotated[bool, typer.Option(
                  "--open-cases", help="Open an inspection case for each registered employer with a finding.")]
              = False) -> None:
    """Enterprises not registered with the agency, employers declaring fewer workers than the tax data show, and
    workers with income tax withheld but no compulsory social insurance in that month."""
    from ansinh import clock
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.outreach import tax

    day = parse_day(on) if on else clock.today()
    for path, option in ((file, "FILE"), (withholdings, "--withholdings")):
        if path is not None and not path.is_file():
            fail(f"{option}: no such file: {path}")
    opened: list[dict] = []
    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            report = tax.tax_match(session, None, enterprises=file.read_bytes(), enterprises_name=file.name, on=day,
                                   withholdings=withholdings.read_bytes() if withholdings else None,
                                   withholdings_name=withholdings.name if withholdings else None)
            tax.audit_match(session, None, report)
            if open_cases and report.status == "done":
                for kind, rows in (("under_declared", report.under_declared),
                                   ("worker_without_si", [r for r in report.workers_without_si if r["employer_id"]])):
                    for row in rows:
                        code = row.get("tax_code") or row["employer_tax_code"]
                        case, new = tax.open_inspection(session, None, tax_code=code, on=day,
                                                        findings=tax.finding_text(kind, row))
                        opened.append({"tax_code": code, "case_id": case.id, "opened": new})
    except DomainError as exc:
        fail_for(exc, "on")
    result = {**report.to_json(), "cases": opened}
    for line in report.error_lines("en"):
        err.print(line, highlight=False, markup=False)
    if as_json:
        print(_json(result))
    else:
        counts = result["counts"]
        print(f"{report.enterprises} enterprise(s), {report.withholdings} withholding(s): "
              f"{counts['unregistered']} not registered, {counts['under_declared']} declaring fewer workers, "
              f"{counts['workers_without_si']} worker-month(s) without compulsory SI; {len(report.errors)} bad row(s)")
    if report.status == "rejected":
        raise typer.Exit(2)
