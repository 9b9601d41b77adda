"""``ansinh plans import|show|template``, ``ansinh indicators``, and ``ansinh report province|ranking|issue``:
plans, the catalogue of indicators, and the province reports. Commands act for the whole country."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ansinh.cli_errors import fail, fail_for, parse_day

plans_app = typer.Typer(help="Plans: the targets assigned to the country, the provinces and their offices.",
                        no_args_is_help=True)
indicators_app = typer.Typer(help="The catalogue of indicators.", no_args_is_help=False,
                             invoke_without_command=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
On = Annotated[str | None, typer.Option("--on", help="The last day of a year-to-date period (default today).")]


@plans_app.command("import")
def import_command(file: Annotated[Path, typer.Argument(help="A CSV or Excel file of the template's columns.")],
                   as_json: Json = False) -> None:
    """Import a plan file, all or nothing: each province and year in it gets a new version of its plan."""
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.targets.plans import service

    if not file.is_file():
        fail(f"FILE: no such file: {file}")
    with audit_context(channel="cli", actor_username="cli"), get_database().unit_of_work() as session:
        report = service.import_plans(session, content=file.read_bytes(), file_name=file.name, principal=None,
                                      actor="cli")
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(f"{file.name}: {report.status}, {report.rows} rows, {len(report.versions)} new plan versions")
        for version in report.versions:
            print(f"  province {version['province']} {version['year']}: version {version['version']} "
                  f"({version['targets']} targets, from {version['effective_from']})")
        for warning in report.warnings:
            print(f"  warning: {_warning_text(warning)}")
        for line in report.error_lines():
            print(line)
    if report.status == "rejected":
        raise typer.Exit(1)


def _warning_text(warning: dict) -> str:
    quarter = f" Q{warning['quarter']}" if warning["quarter"] else ""
    return (f"{warning['indicator']}{quarter}: the parts of {warning['province']} add up to {warning['parts_sum']:,} "
            f"against {warning['whole']:,} ({warning['difference']:+,})")


@plans_app.command("show")
def show_command(year: Annotated[int, typer.Option("--year", help="The plans' year.")],
                 province: Annotated[str | None, typer.Option("--province", help="A 2-digit province code; "
                                                              "00 = the country.")] = None,
                 as_json: Json = False) -> None:
    """The plans of a year (their current versions and history) and the cascade's warnings."""
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.targets.plans import service

    try:
        with get_database().unit_of_work() as session:
            answer = service.plans_json(session, None, year=year, province=province)
    except DomainError as exc:
        fail_for(exc, "province")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
        return
    for plan in answer["plans"]:
        print(f"province {plan['province']} {plan['year']} version {plan['version']} from {plan['effective_from']} "
              f"({plan['source']}); versions: {len(plan['history'])}")
        for target in plan["targets"]:
            where = f" office {target['office']}" if target["office"] else ""
            quarter = f" Q{target['quarter']}" if target["quarter"] else ""
            print(f"  {target['indicator']}{quarter}{where}: {target['value']:,}")
    for warning in answer["warnings"]:
        print(f"warning: {_warning_text(warning)}")


@plans_app.command("export")
def export_command(year: Annotated[int, typer.Option("--year", help="The plans' year.")],
                   out: Annotated[Path, typer.Option("--out", help="Where to write it (.xlsx or .csv).")],
                   province: Annotated[str | None, typer.Option("--province", help="A 2-digit province code; "
                                                                "00 = the country.")] = None) -> None:
    """Write the current targets of a year's plans in the plan file's layout (edit it and import it back)."""
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.targets.plans import service

    try:
        with get_database().unit_of_work() as session:
            rows = service.export_rows(session, None, year=year, province=province)
    except DomainError as exc:
        fail_for(exc, "province")
    out.write_bytes(service.export_csv(rows) if out.suffix.lower() == ".csv" else service.export_xlsx(rows))
    print(f"wrote {out}: {len(rows)} targets")


@plans_app.command("template")
def template_command(out: Annotated[Path, typer.Option("--out", help="Where to write it (.xlsx or .csv).")]) -> None:
    """Write the plan template (Excel with the indicators sheet, or CSV)."""
    from ansinh.targets.plans import service

    out.write_bytes(service.template_csv() if out.suffix.lower() == ".csv" else service.template_xlsx())
    print(f"wrote {out}")


@indicators_app.callback()
def list_command(ctx: typer.Context, as_json: Json = False) -> None:
    """The indicators: code, names, unit, stock or flow, and the service each is computed through."""
    if ctx.invoked_subcommand is not None:
        return
    from ansinh.targets.indicators.registry import indicators

    rows = [{"code": i.code, "name_en": i.name_en, "name_vi": i.name_vi, "unit": i.unit,
             "kind": "flow" if i.flow else "stock", "better": i.better, "source": i.source,
             "measured": i.measured, "description": i.description} for i in indicators().values()]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        print(f"{row['code']:<36} {row['kind']:<5} {row['unit']:<10} {row['name_en']}")


@indicators_app.command("snapshot")
def snapshot_command(month: Annotated[str | None, typer.Option("--month", help="One month, YYYY-MM.")] = None,
                     first: Annotated[str | None, typer.Option("--from", help="The first month, YYYY-MM.")] = None,
                     last: Annotated[str | None, typer.Option("--to", help="The last month, YYYY-MM.")] = None,
                     as_json: Json = False) -> None:
    """Take the monthly snapshots of every indicator (all provinces and the country) that trends read; a month taken
    again is replaced."""
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.targets.indicators.snapshots import take_snapshots
    from ansinh.targets.periods import months_between, parse_period

    if (month is None) == (first is None or last is None):
        fail("--month: give --month, or --from and --to")
    try:
        if month:
            months = [parse_period(month, field="month")]
        else:
            months = months_between(parse_period(first, field="from"), parse_period(last, field="to"))
        if any(m.kind != "month" for m in months):
            fail("--month: a month, YYYY-MM")
        with audit_context(channel="cli", actor_username="cli"), get_database().unit_of_work() as session:
            rows = take_snapshots(session, months)
    except DomainError as exc:
        fail_for(exc, "month")
    answer = {"months": [m.label for m in months], "rows": rows}
    print(json.dumps(answer) if as_json else f"{len(months)} months, {rows:,} figures stored")


# --- reports -----------------------------------------------------------------------------------------------

def province_command(province: Annotated[str, typer.Option("--province", help="A 2-digit province code; 00 = the "
                                                           "country.")],
                     period: Annotated[str, typer.Option("--period", help="2026-11, 2026-Q3, 2026 or 2026-YTD.")],
                     format: Annotated[str, typer.Option("--format", help="json, xlsx or pdf.")] = "json",
                     out: Annotated[Path | None, typer.Option("--out", help="The file to write (xlsx, pdf).")] = None,
                     on: On = None,
                     live: Annotated[bool, typer.Option("--live", help="Compute from the records even when the "
                                                        "report was issued.")] = False,
                     language: Annotated[str, typer.Option("--language", help="vi or en (xlsx, pdf).")] = "vi") -> None:
    """A province's report for a period: every indicator with last year, plan, % of plan and gap (JSON), or the
    workbook or PDF. An issued report is shown as issued (frozen) unless --live."""
    from ansinh import clock
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.targets.periods import parse_period
    from ansinh.targets.reports import service

    if format not in ("json", "xlsx", "pdf"):
        fail("--format: json, xlsx or pdf")
    if language not in ("vi", "en"):
        fail("--language: vi or en")
    day = parse_day(on) if on else clock.today()
    try:
        chosen = parse_period(period, on=day)
        with audit_context(channel="cli", actor_username="cli"), get_database().unit_of_work() as session:
            report = service.province_report(session, None, province=province, period=chosen, live=live)
    except DomainError as exc:
        fail_for(exc, "period")
    if format == "json":
        text = json.dumps(report, ensure_ascii=False)
        if out:
            out.write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return
    from ansinh.targets.reports import export

    content = export.report_xlsx(report, language) if format == "xlsx" else export.report_pdf(report, language)
    target = out or Path(f"report-{province}-{chosen.label.replace('@', '-')}.{format}")
    target.write_bytes(content)
    print(f"wrote {target}")


def issue_command(province: Annotated[str, typer.Option("--province", help="A 2-digit province code; 00 = the "
                                                        "country.")],
                  period: Annotated[str, typer.Option("--period", help="2026-11, 2026-Q3, 2026 or 2026-YTD.")],
                  reason: Annotated[str | None, typer.Option("--reason", help="Why it is issued again.")] = None,
                  on: On = None, as_json: Json = False) -> None:
    """Issue a province's report for an ended period: its figures and plan version frozen (a re-issue needs
    --reason and makes a new version)."""
    from ansinh import clock
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.targets.periods import parse_period
    from ansinh.targets.reports import service

    today = clock.today()
    day = parse_day(on) if on else today
    try:
        chosen = parse_period(period, on=day)
        with audit_context(channel="cli", actor_username="cli"), get_database().unit_of_work() as session:
            report, new = service.issue_report(session, None, province=province, period=chosen, actor="cli",
                                               reason=reason, today=today)
    except DomainError as exc:
        fail_for(exc, "period")
    if as_json:
        print(json.dumps(report | {"new": new}, ensure_ascii=False))
        return
    issued = report["issued"]
    print(f"{province} {chosen.label}: version {issued['version']} "
          + ("issued" if new else "unchanged (the figures are those already issued)"))


def ranking_command(indicator: Annotated[str, typer.Option("--indicator", help="An indicator's code.")],
                    period: Annotated[str, typer.Option("--period", help="2026-11, 2026-Q3, 2026 or 2026-YTD.")],
                    on: On = None, as_json: Json = False) -> None:
    """Provinces ranked on an indicator for a period, with plan, % of plan and gap."""
    from ansinh import clock
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.targets.indicators.service import ranking
    from ansinh.targets.periods import parse_period

    day = parse_day(on) if on else clock.today()
    try:
        chosen = parse_period(period, on=day)
        with get_database().unit_of_work() as session:
            rows = ranking(session, None, code=indicator, period=chosen)
    except DomainError as exc:
        fail_for(exc, "indicator")
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        pct = f"{row['percent_of_plan']:.1f}% of plan" if row["percent_of_plan"] is not None else ""
        print(f"{row['rank'] or '-':>3} {row['province']} {row['value'] if row['value'] is not None else '-':>14} "
              f"{pct}")
