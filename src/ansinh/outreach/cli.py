"""``ansinh outreach``: the people not covered (JSON or the Excel list for collection agents) and the matching of
the tax authority's lists. The command line acts for the whole country (no principal); every listing is audited."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ansinh.cli_errors import err, fail, fail_for, parse_day

outreach_app = typer.Typer(help="Outreach: people not covered, tax matching, renewals, collection agents, sponsors.",
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


def _month(text: str, option: str) -> date:
    from ansinh.collection.billing_api import parse_period
    from ansinh.errors import ValidationFailed

    try:
        return parse_period((text or "").strip(), option.lstrip("-"))
    except ValidationFailed:
        fail(f"{option}: a month is written YYYY-MM; got {text!r}")


@outreach_app.command("renewals")
def renewals_command(province: Annotated[str, typer.Option("--province", help="Province code (2025 structure).")],
                     month: Annotated[str, typer.Option("--month", help="The month of the list (YYYY-MM): what ends "
                                                                        "the month after it.")],
                     commune: Annotated[str | None, typer.Option("--commune", help="Commune (place code).")] = None,
                     notify: Annotated[bool, typer.Option("--notify", help="Send each person a reminder (once per "
                                                                           "person, card or cycle and month).")]
                     = False,
                     as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
                     xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write the Excel list here.")] = None
                     ) -> None:
    """HI cards and voluntary SI payment cycles that end next month, by commune: the agents' list and reminders."""
    from ansinh import clock
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.outreach import renewals

    first = _month(month, "--month")
    if not (as_json or xlsx or notify):
        fail("give --json, --xlsx FILE and/or --notify")
    sent = None
    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            listing = renewals.renewals_due(session, None, province=province.strip(), month=first,
                                            commune=(commune or "").strip() or None)
            renewals.audit_renewals(session, None, listing,
                                    what="outreach.renewals.notices" if notify else "outreach.renewals")
            if notify:
                sent = renewals.send_reminders(session, listing, on=clock.today())
    except DomainError as exc:
        fail_for(exc, "month")
    if xlsx is not None:
        xlsx.write_bytes(renewals.renewals_xlsx(listing))
        err.print(f"{len(listing.rows)} renewal(s) ending in {listing.ends_in:%Y-%m} → {xlsx}")
    if sent is not None:
        err.print(f"reminders: {sent['sent']} sent, {sent['already']} sent before")
    if as_json:
        print(_json({**listing.to_json(), **({"notices": sent} if sent is not None else {})}))


agents_app = typer.Typer(help="Collection agents (post offices, commune agents): collections and commission.",
                         no_args_is_help=True)
sponsors_app = typer.Typer(help="Sponsors of donated cards and the people they pay for.", no_args_is_help=True)
outreach_app.add_typer(agents_app, name="agents")
outreach_app.add_typer(sponsors_app, name="sponsors")


def _run(work, field: str = "code"):
    from ansinh.audit.service import audit_context
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            return work(session)
    except DomainError as exc:
        fail_for(exc, field)


@agents_app.command("add")
def agents_add(code: Annotated[str, typer.Argument(help="The agent's code.")],
               name: Annotated[str, typer.Option("--name", help="Name.")],
               province: Annotated[str, typer.Option("--province", help="Province code (2025 structure).")],
               kind: Annotated[str, typer.Option("--kind", help="post_office or commune_agent.")] = "post_office",
               commune: Annotated[str | None, typer.Option("--commune", help="Commune (place code).")] = None) -> None:
    """Register a collection agent."""
    from ansinh.outreach import agents

    print(_json(_run(lambda s: agents.agent_json(agents.create_agent(s, None, agents.AgentData(
        code=code, name=name, kind=kind, province=province, commune=commune))))))


@agents_app.command("list")
def agents_list(province: Annotated[str | None, typer.Option("--province", help="Province code.")] = None) -> None:
    """The agents (JSON lines)."""
    from ansinh.outreach import agents

    for row in _run(lambda s: [agents.agent_json(a) for a in agents.list_agents(s, None, province=province)]):
        print(_json(row))


@agents_app.command("collect")
def agents_collect(code: Annotated[str, typer.Argument(help="The agent's code.")],
                   reference: Annotated[str, typer.Option("--reference", help="The bill's reference.")],
                   amount: Annotated[int, typer.Option("--amount", help="Dong collected.")],
                   receipt: Annotated[str, typer.Option("--receipt", help="The agent's receipt number.")],
                   on: Annotated[str, typer.Option("--on", help="The day collected (YYYY-MM-DD).")]) -> None:
    """Record money an agent took for a voluntary SI or household HI bill (a replay of a receipt changes nothing)."""
    from ansinh import clock
    from ansinh.outreach import agents

    day = parse_day(on)

    def work(session):
        agent = agents.agent_by_code(session, None, code)
        collection, new = agents.record_collection(session, None, agent, reference=reference, amount=amount,
                                                   collected_on=day, receipt=receipt, today=clock.today())
        return {"id": collection.id, "payment_id": collection.payment_id, "scheme": collection.scheme,
                "amount": collection.amount, "created": new}

    print(_json(_run(work, "reference")))


@agents_app.command("commissions")
def agents_commissions(since: Annotated[str, typer.Option("--since", help="First month (YYYY-MM).")],
                       until: Annotated[str, typer.Option("--until", help="Last month (YYYY-MM).")],
                       province: Annotated[str | None, typer.Option("--province", help="Province code.")] = None
                       ) -> None:
    """Per agent, month and scheme: collected and commission (JSON)."""
    from ansinh.outreach import agents

    first, last = _month(since, "--since"), _month(until, "--until")
    rows = _run(lambda s: agents.commissions(s, None, since=first, until=last, province=province), "since")
    print(_json({"rows": [agents.commission_json(r) for r in rows],
                 "total_commission": sum(r["commission"] for r in rows)}))


@sponsors_app.command("add")
def sponsors_add(name: Annotated[str, typer.Argument(help="The sponsor's name.")],
                 province: Annotated[str, typer.Option("--province", help="Province code (2025 structure).")],
                 kind: Annotated[str, typer.Option("--kind", help="organisation or local_budget.")] = "organisation",
                 tax_code: Annotated[str | None, typer.Option("--tax-code", help="Tax code.")] = None) -> None:
    """Register a sponsor (a payer of its own, D:<id>)."""
    from ansinh.outreach import sponsors

    print(_json(_run(lambda s: sponsors.sponsor_json(sponsors.create_sponsor(s, None, sponsors.SponsorData(
        name=name, kind=kind, province=province, tax_code=tax_code), actor="cli")), "name")))


@sponsors_app.command("sponsor")
def sponsors_sponsor(sponsor_id: Annotated[int, typer.Argument(help="The sponsor's id.")],
                     citizen_id: Annotated[str, typer.Option("--citizen-id", help="The person's citizen ID.")],
                     scheme: Annotated[str, typer.Option("--scheme", help="household_hi or student_hi.")],
                     from_month: Annotated[str, typer.Option("--from", help="First month (YYYY-MM).")],
                     to_month: Annotated[str, typer.Option("--to", help="Last month (YYYY-MM).")]) -> None:
    """The sponsor pays a person's household HI or student HI for these months."""
    from ansinh import clock
    from ansinh.outreach import sponsors

    first, last = _month(from_month, "--from"), _month(to_month, "--to")

    def work(session):
        sponsor = sponsors.get_sponsor(session, None, sponsor_id)
        made = sponsors.sponsor_person(session, None, sponsor, citizen_id=citizen_id, scheme=scheme,
                                       from_month=first, to_month=last, actor="cli", today=clock.today())
        return {"id": made.id, "person_id": made.person_id, "coverage_period_id": made.coverage_period_id}

    print(_json(_run(work, "citizen_id")))


@sponsors_app.command("list")
def sponsors_list(province: Annotated[str | None, typer.Option("--province", help="Province code.")] = None) -> None:
    """Each sponsor with the people it pays for, billed, paid and owed (JSON lines)."""
    from ansinh.outreach import sponsors

    for row in _run(lambda s: sponsors.sponsor_accounts(s, None, province=province), "province"):
        print(_json(row))


@outreach_app.command("demo-tax-files")
def demo_tax_files(directory: Annotated[Path, typer.Argument(help="Where to write doanh-nghiep.csv and tncn.csv.")],
                   province: Annotated[str, typer.Option("--province", help="Province code.")] = "01",
                   seed: Annotated[int, typer.Option("--seed", help="Seed.")] = 2026) -> None:
    """Write demo tax authority files for the tax match of a demo province (from its registered employers)."""
    from ansinh import clock
    from ansinh.db import get_database
    from ansinh.synth.outreach import demo_tax_files as files

    enterprises, withholdings = files(get_database(), on=clock.today(), seed=seed, province=province)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "doanh-nghiep.csv").write_text(enterprises, encoding="utf-8")
    (directory / "tncn.csv").write_text(withholdings, encoding="utf-8")
    err.print(f"→ {directory / 'doanh-nghiep.csv'}, {directory / 'tncn.csv'}")
