"""``ansinh cards lookup|issue|suspend|reinstate|birth`` and ``ansinh facilities add|list|classify|import``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ansinh import clock
from ansinh.cli_errors import fail_for, parse_day

cards_app = typer.Typer(help="Health insurance cards.", no_args_is_help=True)


def _day(text: str | None) -> date:
    return parse_day(text) if text else clock.today()


@cards_app.command("lookup")
def lookup(citizen_id: Annotated[str | None, typer.Option("--citizen-id")] = None,
           card_code: Annotated[str | None, typer.Option("--card-code")] = None,
           si_number: Annotated[str | None, typer.Option("--si-number")] = None,
           full_name: Annotated[str | None, typer.Option("--full-name", help="The name on the chip card.")] = None,
           date_of_birth: Annotated[str | None, typer.Option("--date-of-birth",
                                                             help="The date of birth on the chip card.")] = None,
           on: Annotated[str | None, typer.Option("--on", help="Day of the visit (default today).")] = None,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Is this person covered by health insurance on a day? Give a key and the name or date of birth printed on
    the person's chip card (a mismatch answers name_mismatch or birth_date_mismatch, with no personal data)."""
    from ansinh.audit.service import audit_context
    from ansinh.cards.service import lookup as lookup_card
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    day = _day(on)
    born_on = parse_day(date_of_birth, "--date-of-birth") if date_of_birth else None
    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            answer = lookup_card(session, None, on=day, citizen_id=citizen_id, card_code=card_code, si_number=si_number,
                                 full_name=full_name, date_of_birth=born_on)
    except DomainError as exc:
        fail_for(exc, "citizen_id")
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
    else:
        for key, value in answer.items():
            print(f"{key:22} {value}")


@cards_app.command("alerts")
def alerts(since: Annotated[str, typer.Option("--since", help="First day (YYYY-MM-DD).")],
           until: Annotated[str | None, typer.Option("--until", help="Last day (default today).")] = None) -> None:
    """The alerts raised on card lookups: lookers who looked up many unrelated people or failed many identity
    checks within an hour."""
    from ansinh.cards.service import lookup_alerts
    from ansinh.db import get_database

    with get_database().unit_of_work() as session:
        rows = lookup_alerts(session, None, since=parse_day(since, "--since"), until=_day(until))
    if not rows:
        print("no alerts")
    for row in rows:
        print(f"{row['raised_at']}  {row['looker']:20} {row['kind']:28} {row['count']:6}  province {row['province']}")


@cards_app.command("issue")
def issue(on: Annotated[str | None, typer.Option("--on", help="Day (default today).")] = None) -> None:
    """Issue or renew the cards of everyone insured on a day."""
    from ansinh.audit.service import audit_context
    from ansinh.cards.service import issue_cards
    from ansinh.db import get_database

    with audit_context(channel="cli"), get_database().unit_of_work() as session:
        print(json.dumps(issue_cards(session, on=_day(on))))


def _unit(session, code: str):
    from ansinh.auth.service import get_org_unit_by_code
    from ansinh.cli_errors import fail

    unit = get_org_unit_by_code(session, code)
    if unit is None:
        fail(f"--org-unit: no org unit {code!r}")
    return unit


def _person_id(session, citizen_id: str) -> int:
    from sqlalchemy import select

    from ansinh.cli_errors import fail
    from ansinh.registry.identifiers import check_citizen_id
    from ansinh.registry.models import Person

    person_id = session.scalar(select(Person.id).where(Person.citizen_id == check_citizen_id(citizen_id)))
    if person_id is None:
        fail(f"--citizen-id: no person with citizen ID {citizen_id}")
    return person_id


def _card_json(card) -> str:
    return json.dumps({"card_code": card.card_code, "status": card.status.value, "status_reason": card.status_reason,
                       "valid_from": card.valid_from.isoformat(),
                       "valid_until": card.valid_until.isoformat() if card.valid_until else None,
                       "registered_facility": card.registered_facility}, ensure_ascii=False)


@cards_app.command("suspend")
def suspend(citizen_id: Annotated[str, typer.Option("--citizen-id")],
            reason: Annotated[str, typer.Option("--reason", help="Why (a lent card, a reported death...).")]) -> None:
    """Suspend a person's card: lookups answer "suspended" until it is reinstated."""
    from ansinh.audit.service import audit_context
    from ansinh.cards.service import suspend_card
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            print(_card_json(suspend_card(session, _person_id(session, citizen_id), reason=reason)))
    except DomainError as exc:
        fail_for(exc, "citizen_id")


@cards_app.command("reinstate")
def reinstate(citizen_id: Annotated[str, typer.Option("--citizen-id")]) -> None:
    """Lift the suspension of a person's card."""
    from ansinh.audit.service import audit_context
    from ansinh.cards.service import reinstate_card
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            print(_card_json(reinstate_card(session, _person_id(session, citizen_id))))
    except DomainError as exc:
        fail_for(exc, "citizen_id")


@cards_app.command("birth")
def birth(full_name: Annotated[str, typer.Option("--name")],
          date_of_birth: Annotated[str, typer.Option("--born")],
          sex: Annotated[str, typer.Option("--sex", help="male or female")],
          org_unit: Annotated[str, typer.Option("--org-unit", help="The office, e.g. BHXH-01")],
          citizen_id: Annotated[str | None, typer.Option("--citizen-id", help="Issued at registration")] = None,
          registered_on: Annotated[str | None, typer.Option("--registered-on")] = None) -> None:
    """A birth registration: register the child, cover them (group TE) and issue their card."""
    from ansinh.audit.service import audit_context
    from ansinh.cards.service import register_birth
    from ansinh.db import get_database
    from ansinh.errors import DomainError
    from ansinh.registry.models import Sex
    from ansinh.registry.service import PersonData

    if sex not in ("male", "female"):
        from ansinh.cli_errors import fail

        fail(f"--sex: male or female, not {sex!r}")
    data = PersonData(full_name=full_name, date_of_birth=parse_day(date_of_birth, "--born"), sex=Sex(sex),
                      citizen_id=citizen_id)
    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            child, card = register_birth(session, data, org_unit=_unit(session, org_unit),
                                         registered_on=_day(registered_on))
            print(_card_json(card))
    except DomainError as exc:
        fail_for(exc, "born")


facilities_app = typer.Typer(help="Medical facilities and their HI contracts.", no_args_is_help=True)


@facilities_app.command("add")
def add_facility(code: Annotated[str, typer.Option("--code", help="5 digits: province and number")],
                 name: Annotated[str, typer.Option("--name")],
                 level: Annotated[str, typer.Option("--level", help="central, provincial, district or commune")],
                 org_unit: Annotated[str, typer.Option("--org-unit", help="The province office, e.g. BHXH-01")],
                 contract: Annotated[str | None, typer.Option("--contract", help="Contract number")] = None,
                 valid_from: Annotated[str | None, typer.Option("--from")] = None,
                 valid_until: Annotated[str | None, typer.Option("--until")] = None,
                 no_primary_care: Annotated[bool, typer.Option("--no-primary-care")] = False) -> None:
    """Register a facility, with its HI contract when --contract, --from and --until are given."""
    from ansinh.audit.service import audit_context
    from ansinh.cards import facilities
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            unit = _unit(session, org_unit)
            facility = facilities.create_facility(session, facilities.FacilityData(
                code=code, name=name, level=level, primary_care=not no_primary_care), unit)
            if contract:
                facilities.sign_contract(session, facility=facility, contract_number=contract,
                                         valid_from=parse_day(valid_from or "", "--from"),
                                         valid_until=parse_day(valid_until or "", "--until"), org_unit=unit)
            print(json.dumps({"code": facility.code, "name": facility.name, "level": facility.level.value,
                              "province_2025": facility.province_2025, "contract": contract}, ensure_ascii=False))
    except DomainError as exc:
        fail_for(exc, "code")


@facilities_app.command("list")
def list_facilities(province: Annotated[str | None, typer.Option("--province")] = None) -> None:
    """The facilities (of a province), with whether a contract is in force today."""
    from ansinh.cards import facilities
    from ansinh.db import get_database

    with get_database().unit_of_work() as session:
        today = clock.today()
        codes_in_force = facilities.codes_with_contract_in_force(session, today)
        found = facilities.list_facilities(session, province=province)
        levels = facilities.classifications_on(session, [f.code for f in found], today).rows_by_key(
            "code", named=True, unique=True)
        for facility in found:
            in_force = facility.code in codes_in_force
            level = levels.get(facility.code) or {}
            since = level.get("level_2025") or "-"
            if level.get("provisional"):
                since += " (provisional)"
            elif level.get("score") is not None:
                since += f" ({level['score']})"
            elif level.get("health_station"):
                since += " (1.2)"
            print(f"{facility.code}  {facility.level.value:10}  {since:17}  "
                  f"{'contract' if in_force else 'NO CONTRACT':11}  {facility.name}")


@facilities_app.command("classify")
def classify(code: Annotated[str, typer.Option("--code", help="The facility's code")],
             level_2025: Annotated[str, typer.Option("--level-2025", help="initial, basic or specialised")],
             valid_from: Annotated[str, typer.Option("--from", help="The day it takes effect")] = "2025-01-01",
             score: Annotated[int | None, typer.Option("--score", help="Points, 0 to 100 (a basic facility)")] = None,
             provisional: Annotated[bool, typer.Option("--provisional", help="Provisionally classified")] = False,
             health_station: Annotated[bool, typer.Option(
                 "--health-station", help="An initial facility of visit category 1.2")] = False,
             decision: Annotated[str | None, typer.Option("--decision", help='e.g. "QĐ 123/QĐ-SYT"')] = None) -> None:
    """Classify a facility into the levels of 2025 from a day (a reclassification is a new one from its day)."""
    from ansinh.audit.service import audit_context
    from ansinh.cards import facilities
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli"), get_database().unit_of_work() as session:
            row = facilities.classify_facility(
                session, facilities.get_facility(session, code), valid_from=parse_day(valid_from, "--from"),
                level_2025=level_2025, score=score, provisional=provisional, health_station=health_station,
                decision=decision)
            print(json.dumps({"code": code, "valid_from": row.valid_from.isoformat(),
                              "level_2025": row.level_2025.value, "score": row.score, "provisional": row.provisional,
                              "health_station": row.health_station, "decision": row.decision}, ensure_ascii=False))
    except DomainError as exc:
        fail_for(exc, "code")


@facilities_app.command("import")
def import_facilities(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                                           help="CSV (UTF-8, comma or semicolon) or .xlsx file.")],
                      org_unit: Annotated[str | None, typer.Option(
                          "--org-unit", help="The office that contracts the new facilities, e.g. BHXH-01")] = None,
                      as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False
                      ) -> None:
    """Register facilities and their classifications of 2025 from a file, all rows or none. Columns: code, name,
    level (before 2025); optional primary_care, public, level_2025, score, provisional, health_station,
    classified_from, decision. Exit 2 when the file is rejected (nothing written)."""
    import getpass

    from ansinh.audit.service import audit_context
    from ansinh.cards.facility_import import import_facilities as run
    from ansinh.db import get_database
    from ansinh.errors import DomainError

    try:
        with audit_context(channel="cli", actor_username=f"cli:{getpass.getuser()}"), \
                get_database().unit_of_work() as session:
            report = run(session, content=file.read_bytes(), file_name=file.name, org_unit=org_unit)
    except DomainError as exc:
        fail_for(exc, "org_unit")
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(f"{report.file_name}: {report.status}, {report.rows} rows, {report.facilities_created} facilities and "
              f"{report.classifications_created} classifications recorded, {report.unchanged} unchanged")
        for line in report.error_lines():
            print(line)
    raise typer.Exit(2 if report.status == "rejected" else 0)
