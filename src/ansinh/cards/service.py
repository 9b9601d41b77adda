"""Issuing health insurance cards from coverage periods, and looking them up at the facility desk.

Issuance works on columns (a province's cards in one pass): the card of each person insured on a date, its code
(group, benefit digit from ``cards.benefit_digit_by_group``, province, SI number), validity, and the date from
which the person has five consecutive years of coverage (periods joined across gaps of at most
``cards.continuity_gap_days``). A card that changes becomes a new version; the old one is kept, superseded.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta

import polars as pl
from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.audit.models import AuditEvent
from ansinh.audit.service import read_event
from ansinh.auth.permissions import Principal, org_scope
from ansinh.bulk import bulk_insert, read_frame
from ansinh.bounds import has_control_characters
from ansinh.cards.desk_guard import desk_guard
from ansinh.cards.facilities import facility_province
from ansinh.cards.models import CardLookup, CardStatus, HICard, LookupAlert, MedicalFacility
from ansinh.db import utcnow
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.ops.metrics import count_lookup
from ansinh.participation.models import CoveragePeriod, Scheme
from ansinh.registry.identifiers import check_citizen_id, check_si_number, normalise_name, search_key
from ansinh.registry.models import Person
from ansinh.rules.parameters import get_parameters

logger = logging.getLogger(__name__)

BENEFIT_DIGIT = "cards.benefit_digit_by_group"
CONTINUITY_GAP = "cards.continuity_gap_days"
BENEFIT_LEVEL = "hi_benefits.benefit_level"
CONSECUTIVE_YEARS = "hi_benefits.full_coverage_consecutive_years"
CHILD_MONTHS = "cards.child_card_months"
CHILD_SCHOOL_YEAR_END = "cards.child_card_school_year_end"
CHILD_RULE = "cards.child_card_rule"
CHILD_GROUP = "TE"
CARD_CODE = re.compile(r"^([A-Z]{2})([1-5])(\d{2})(\d{10})$")
_CARD_COLUMNS = ("card_code", "hi_group", "benefit_digit", "province_code", "valid_from", "valid_until",
                 "five_years_from")


def check_card_code(code: str, on: date | None = None) -> tuple[str, str, str, str]:
    """(group, digit, province, SI number) of a card code of the right shape and a known group; ValidationFailed
    naming ``card_code`` otherwise. A known group is a key of ``cards.benefit_digit_by_group``; with ``on``, a group
    with a digit on that day (the groups change over time: a key is ``null`` on the days it has no digit)."""
    match = CARD_CODE.match((code or "").strip().upper())
    if match is None:
        raise ValidationFailed("card_code", "A card code is 2 letters, a digit 1-5, 2 digits and the 10-digit SI "
                                            "number; got {value}.", value=code)
    group, digit, province, si_number = match.groups()
    parameter = get_parameters()[BENEFIT_DIGIT]
    if group not in parameter.keys:
        raise ValidationFailed("card_code", "{group} is not a beneficiary group.", group=group)
    if on is not None:
        parameter.at(on, group, field_name="card_code")
    return group, digit, province, si_number


def five_years_dates(periods: pl.DataFrame, on: date, gap_days: int, years: int) -> pl.DataFrame:
    """Per person, the date from which they will have ``years`` consecutive years of coverage on ``on``: the
    start of the block of periods (joined across gaps of at most ``gap_days``) that covers ``on``, plus the
    years. Columns in: person_id, valid_from, valid_to (exclusive, null = open)."""
    frame = (periods.sort("person_id", "valid_from")
             .with_columns(previous_end=pl.col("valid_to").shift(1).over("person_id").fill_null(pl.date(1900, 1, 1)))
             .with_columns(new_block=(pl.col("valid_from") - pl.col("previous_end")).dt.total_days() > gap_days)
             .with_columns(block=pl.col("new_block").cast(pl.Int32).cum_sum().over("person_id")))
    blocks = frame.group_by("person_id", "block").agg(start=pl.col("valid_from").min(),
                                                      end=pl.col("valid_to").max(),
                                                      open=pl.col("valid_to").is_null().any())
    covering = blocks.filter((pl.col("start") <= on) & (pl.col("open") | (pl.col("end") > on)))
    return covering.select("person_id", five_years_from=pl.col("start").dt.offset_by(f"{years}y"))


def issue_cards(session: Session, *, on: date, person_ids: list[int] | None = None,
                principal: Principal | None = None, province: str | None = None,
                part: tuple[int, int] | None = None) -> dict:
    """Issue or renew the cards of everyone insured on ``on`` (or of the given people): unchanged cards stay,
    changed ones get a new version. Returns the counts. ``principal`` (None: the whole country) limits the run to
    the people of the caller's org subtree: an office issues its own people's cards, never another province's.
    ``province`` (a 2025 code) and ``part`` (``(k, n)``: the people whose id is k modulo n) cut the run into the
    chunks of a job (:mod:`ansinh.cards.card_jobs`); each chunk is idempotent as the whole run is."""
    parameters = get_parameters()
    conditions = [CoveragePeriod.scheme == Scheme.hi, CoveragePeriod.superseded_at.is_(None)]
    if person_ids is not None:
        conditions.append(CoveragePeriod.person_id.in_(person_ids))
    scoped = principal is not None and principal.org_unit_level != "national"
    if scoped:
        conditions.append(org_scope(principal, Person.org_unit_id))
    people_of_chunk = []
    if province is not None:
        people_of_chunk.append(Person.province_2025 == province)
    if part is not None:
        people_of_chunk.append(Person.id % part[1] == part[0])
    conditions.extend(people_of_chunk)
    rows = session.execute(select(CoveragePeriod.id, CoveragePeriod.person_id, CoveragePeriod.hi_group,
                                  CoveragePeriod.valid_from, CoveragePeriod.valid_to, CoveragePeriod.org_unit_id,
                                  Person.si_number, Person.province_2025)
                           .join(Person, Person.id == CoveragePeriod.person_id).where(*conditions)).all()
    schema = {"period_id": pl.Int64, "person_id": pl.Int64, "hi_group": pl.Utf8, "valid_from": pl.Date,
              "valid_to": pl.Date, "org_unit_id": pl.Int64, "si_number": pl.Utf8, "province": pl.Utf8}
    periods = pl.DataFrame(rows, schema=schema, orient="row")
    if periods.is_empty():
        return {"issued": 0, "unchanged": 0, "superseded": 0}
    gap = parameters[CONTINUITY_GAP].at(on)
    years = parameters[CONSECUTIVE_YEARS].at(on)
    five = five_years_dates(periods.select("person_id", "valid_from", "valid_to"), on, gap, years)
    current = periods.filter((pl.col("valid_from") <= on) & (pl.col("valid_to").is_null() | (pl.col("valid_to") > on)))
    current = current.sort("valid_from").unique("person_id", keep="last")  # two HI groups at once: the latest
    digits = parameters[BENEFIT_DIGIT].column(pl.Series([on] * current.height, dtype=pl.Date),
                                              current["hi_group"].fill_null("?"), field_name="hi_group")
    cards = current.with_columns(benefit_digit=digits.cast(pl.Utf8), province_code=pl.col("province").fill_null("00").str.slice(-2)) \
        .join(five, on="person_id", how="left") \
        .select("person_id", "org_unit_id", pl.col("period_id").alias("coverage_period_id"),
                pl.col("hi_group"), "benefit_digit", "province_code", "valid_from",
                valid_until=(pl.col("valid_to") - pl.duration(days=1)),
                five_years_from="five_years_from",
                card_code=pl.concat_str("hi_group", "benefit_digit", "province_code", "si_number"))
    existing_stmt = select(HICard.id, HICard.person_id, *(getattr(HICard, c) for c in _CARD_COLUMNS),
                           HICard.registered_facility, HICard.status, HICard.status_reason
                           ).where(HICard.superseded_at.is_(None))
    if person_ids is not None:
        existing_stmt = existing_stmt.where(HICard.person_id.in_(person_ids))
    if scoped:
        existing_stmt = existing_stmt.where(HICard.person_id.in_(
            select(Person.id).where(org_scope(principal, Person.org_unit_id))))
    if people_of_chunk:
        existing_stmt = existing_stmt.where(HICard.person_id.in_(select(Person.id).where(*people_of_chunk)))
    existing_rows = session.execute(existing_stmt).all()
    existing = pl.DataFrame([(*row[:-2], getattr(row[-2], "value", row[-2]), row[-1]) for row in existing_rows],
                            schema={"card_id": pl.Int64, "person_id": pl.Int64, "card_code": pl.Utf8,
                                    "hi_group": pl.Utf8, "benefit_digit": pl.Utf8, "province_code": pl.Utf8,
                                    "valid_from": pl.Date, "valid_until": pl.Date, "five_years_from": pl.Date,
                                    "registered_facility": pl.Utf8, "status": pl.Utf8, "status_reason": pl.Utf8},
                            orient="row")
    compared = cards.join(existing, on="person_id", how="left", suffix="_old")  # cards no longer covered stay
    same = pl.lit(True)
    for column in _CARD_COLUMNS:
        same = same & pl.col(column).eq_missing(pl.col(f"{column}_old"))
    compared = compared.with_columns(same=same)
    changed = compared.filter(~pl.col("same"))
    # The registered facility and a suspension carry over to the new version; a first card gets the default
    # primary-care facility of the person's commune (else of the province).
    defaults = _default_facilities(session, changed.filter(pl.col("registered_facility").is_null())["person_id"],
                                   everyone=person_ids is None and not scoped and not people_of_chunk)
    changed = (changed.join(defaults, on="person_id", how="left")
               .with_columns(registered_facility=pl.coalesce("registered_facility", "default_facility"),
                             status=pl.col("status").fill_null(CardStatus.active.value)))
    to_supersede = changed["card_id"].drop_nulls().to_list()
    if to_supersede:
        session.execute(update(HICard).where(HICard.id.in_(to_supersede)).values(superseded_at=utcnow()))
    bulk_insert(session, HICard.__table__, changed.select("person_id", "org_unit_id", "coverage_period_id",
                                                          *_CARD_COLUMNS, "registered_facility", "status",
                                                          "status_reason"))
    session.flush()
    return {"issued": changed.height, "unchanged": compared.height - changed.height, "superseded": len(to_supersede)}


def _default_facilities(session: Session, person_ids: pl.Series, *, everyone: bool = False) -> pl.DataFrame:
    """Per person, the primary-care facility a first card registers: the lowest-coded primary-care facility of the
    person's commune of residence, else of their province."""
    empty = pl.DataFrame(schema={"person_id": pl.Int64, "default_facility": pl.Utf8})
    if person_ids.is_empty():
        return empty
    facilities = pl.DataFrame(session.execute(
        select(MedicalFacility.code, MedicalFacility.place_id, MedicalFacility.province_2025)
        .where(MedicalFacility.primary_care.is_(True))).all(),
        schema={"code": pl.Utf8, "place_id": pl.Int64, "province": pl.Utf8}, orient="row")
    if facilities.is_empty():
        return empty
    stmt = select(Person.id, Person.residence_place_id, Person.province_2025)
    if not everyone:  # issuing for everyone: read the people whole rather than through a huge IN list
        stmt = stmt.where(Person.id.in_(person_ids.to_list()))
    people = pl.DataFrame(session.execute(stmt).all(),
                          schema={"person_id": pl.Int64, "place_id": pl.Int64, "province": pl.Utf8}, orient="row")
    people = people.join(pl.DataFrame({"person_id": person_ids}), on="person_id", how="semi")
    by_commune = facilities.drop_nulls("place_id").group_by("place_id").agg(commune_facility=pl.col("code").min())
    by_province = facilities.group_by("province").agg(province_facility=pl.col("code").min())
    return (people.join(by_commune, on="place_id", how="left").join(by_province, on="province", how="left")
            .select("person_id", default_facility=pl.coalesce("commune_facility", "province_facility")))


def current_card(session: Session, person_id: int) -> HICard | None:
    return session.scalar(select(HICard).where(HICard.person_id == person_id, HICard.superseded_at.is_(None))
                          .order_by(HICard.id.desc()).limit(1))


def card_history(session: Session, person_id: int) -> list[HICard]:
    return list(session.scalars(select(HICard).where(HICard.person_id == person_id).order_by(HICard.id)))


_VERSION_COLUMNS = ("person_id", "card_code", "hi_group", "benefit_digit", "province_code", "valid_from",
                    "valid_until", "registered_facility", "five_years_from", "coverage_period_id", "org_unit_id",
                    "status", "status_reason")


def _new_version(session: Session, person_id: int, **changes) -> HICard:
    """Supersede the person's current card with a copy carrying ``changes``."""
    card = current_card(session, person_id)
    if card is None:
        raise NotFound("This person has no health insurance card.")
    card.superseded_at = utcnow()
    version = HICard(**{column: getattr(card, column) for column in _VERSION_COLUMNS} | changes)
    session.add(version)
    session.flush()
    return version


def suspend_card(session: Session, person_id: int, *, reason: str) -> HICard:
    """Suspend a person's card (a lent card, a reported death...): lookups answer ``suspended`` until it is
    reinstated. The suspended card is a new version; the history keeps the active one."""
    text = (reason or "").strip()
    if not text or len(text) > 200:
        raise ValidationFailed("reason", "Give the reason for the suspension (1 to 200 characters).")
    card = current_card(session, person_id)
    if card is not None and card.status == CardStatus.suspended:
        raise Conflict("The card {code} is already suspended.", code=card.card_code)
    return _new_version(session, person_id, status=CardStatus.suspended, status_reason=text)


def reinstate_card(session: Session, person_id: int) -> HICard:
    card = current_card(session, person_id)
    if card is None:
        raise NotFound("This person has no health insurance card.")
    if card.status != CardStatus.suspended:
        raise Conflict("The card {code} is not suspended.", code=card.card_code)
    return _new_version(session, person_id, status=CardStatus.active, status_reason=None)


def change_registered_facility(session: Session, person_id: int, facility_code: str, *,
                               on: date | None = None) -> HICard:
    """Register the card holder at another primary-care facility (a new card version). With ``on``, the facility
    must have an HI contract in force that day."""
    from ansinh.cards.facilities import contract_in_force, get_facility

    facility = get_facility(session, facility_code)
    if not facility.primary_care:
        raise ValidationFailed("facility_code", "Facility {code} does not take primary-care registrations.",
                               code=facility.code)
    if on is not None and contract_in_force(session, facility.code, on) is None:
        raise ValidationFailed("facility_code", "Facility {code} has no HI contract in force on {day}.",
                               code=facility.code, day=on)
    card = current_card(session, person_id)
    if card is not None and card.registered_facility == facility.code:
        return card
    return _new_version(session, person_id, registered_facility=facility.code)


#: The rules of a child's last day (keys of ``cards.child_card_rule``; the one valued 1 on a date is in force).
CHILD_CARD_RULES = ("school_year_end", "end_of_month_after_cutoff")


def _months_after(day: date, months: int) -> date:
    """The day ``months`` months after ``day`` (the last day of a shorter month: 29 February → 28 February)."""
    years, extra = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, extra + 1
    return date(year, month, min(day.day, _last_of_month(year, month).day))


def _last_of_month(year: int, month: int) -> date:
    return date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)


def child_card_last_day(date_of_birth: date, *, months: int, school_year_end: tuple[int, int], rule: str) -> date:
    """The last day a child's card is valid, by one of :data:`CHILD_CARD_RULES`. Pure.

    ``school_year_end`` (HI Law Art 16(3) as amended by Law 46/2014): the day the child is ``months`` old, or, when
    that falls before the school year's start, the ``(month, day)`` of that year.
    ``end_of_month_after_cutoff`` (Decree 146/2018 Art 13(2); HI Law Art 16(3)(d) as amended by Law 51/2024 and
    Decree 188/2025 Art 13(2)): a child born on or before the ``(month, day)`` of the birth year keeps the card to
    that day of the year the child is ``months`` old; a child born after it, to the last day of that month."""
    reached = _months_after(date_of_birth, months)
    cutoff = date(reached.year, *school_year_end)
    if rule == "school_year_end":
        return max(reached, cutoff)
    if rule == "end_of_month_after_cutoff":
        if date_of_birth <= date(date_of_birth.year, *school_year_end):
            return cutoff
        return _last_of_month(reached.year, reached.month)
    raise ValueError(f"unknown child card rule {rule!r} (known: {', '.join(CHILD_CARD_RULES)})")


def child_card_rule_on(on: date, parameters=None) -> str:
    """The rule of ``cards.child_card_rule`` in force on a date: its one key valued 1."""
    parameter = (parameters or get_parameters())[CHILD_RULE]
    flags = parameter.at(on, field_name="registered_on")
    chosen = [key for key, flag in flags.items() if flag == 1]
    if len(chosen) != 1 or any(flag not in (0, 1) for flag in flags.values()) or chosen[0] not in CHILD_CARD_RULES:
        raise ValueError(f"{parameter.name} on {on}: exactly one of {', '.join(CHILD_CARD_RULES)} is 1, the others 0")
    return chosen[0]


def child_card_last_day_on(date_of_birth: date, on: date, parameters=None) -> date:
    """The last day of the card of a child born on ``date_of_birth``, by the rules in force on ``on`` (the day the
    card is issued: the birth registration). Pure given the parameters."""
    parameters = parameters or get_parameters()
    end = parameters[CHILD_SCHOOL_YEAR_END].at(on, field_name="registered_on")
    return child_card_last_day(date_of_birth, months=parameters[CHILD_MONTHS].at(on, field_name="registered_on"),
                               school_year_end=(end["month"], end["day"]), rule=child_card_rule_on(on, parameters))


def register_birth(session: Session, data, *, org_unit, registered_on: date,
                   parent: Person | None = None) -> tuple[Person, HICard]:
    """A birth registration from the civil registry: the child is registered (with the personal ID the
    registration issues), covered by HI in group TE from birth to the last day of the child card
    (``child_card_last_day`` by the rules in force on ``registered_on``, the day the card is issued: a later change
    of the rule does not rewrite it), and issued a card at once. ``data`` is a registry ``PersonData``. With the
    ``parent`` (the mother or father, found by their citizen ID), the child lives where the parent does unless a
    residence is given, and the audit trail of the registration names the parent."""
    from dataclasses import replace

    from ansinh.audit.service import record_event
    from ansinh.participation.service import enrol_state_budget
    from ansinh.registry.service import create_person

    if parent is not None and data.residence_place_id is None and not data.address:
        data = replace(data, residence_place_id=parent.residence_place_id, address=parent.address)
    if data.date_of_birth > registered_on:
        raise ValidationFailed("date_of_birth", "The date of birth {value} is after the registration.",
                               value=data.date_of_birth)
    last_day = child_card_last_day_on(data.date_of_birth, registered_on)
    if last_day < registered_on:
        raise ValidationFailed("date_of_birth", "A child born on {value} is past the age of a child card.",
                               value=data.date_of_birth)
    child = create_person(session, data, org_unit)
    enrol_state_budget(session, group=CHILD_GROUP, people=[child], start=data.date_of_birth,
                       end=last_day + timedelta(days=1), org_unit=org_unit)
    session.flush()
    issue_cards(session, on=registered_on, person_ids=[child.id])
    if parent is not None:
        _join_parent_household(session, child, parent, org_unit)
        record_event(session, "register_birth", "person", child.id, org_unit_id=child.org_unit_id,
                     person_ref=child.citizen_id or child.si_number,
                     details={"parent_person_id": parent.id, "parent_ref": parent.citizen_id or parent.si_number})
    return child, current_card(session, child.id)


def _join_parent_household(session: Session, child: Person, parent: Person, org_unit) -> None:
    """The newborn joins the parent's household (a household headed by the parent is registered when the parent has
    none): ``relation_to_head`` is ``child`` when the parent heads it, which the person pages show both ways. When the
    parent is another member, the child is a ``member`` (the relation to that parent is kept only by the audit
    event: the household records relations to its head alone)."""
    from ansinh.registry.models import Household
    from ansinh.registry.service import create_household, lock_people

    lock_people(session, [parent, child])
    if parent.household_id is None:
        create_household(session, head=parent, members=[child], org_unit=org_unit)
        child.relation_to_head = "child"
    else:
        head_id = session.scalar(select(Household.head_person_id).where(Household.id == parent.household_id))
        child.household_id = parent.household_id
        child.relation_to_head = "child" if head_id == parent.id else "member"
    session.flush()


def principal_province(session: Session, principal: Principal | None) -> str | None:
    """The 2025 province of the caller's office (a local office's place code is a commune)."""
    if principal is None or principal.org_unit_level == "national":
        return None
    if principal.org_unit_level == "province":
        return principal.place_code  # no read: a province office's place is its province
    from ansinh.auth.models import OrgUnit
    from ansinh.registry.service import office_province_code

    return office_province_code(session, session.get(OrgUnit, principal.org_unit_id))


def _lookup_statement(key):
    """Person, current card and its facility, by one key column (statements built once: building them per call
    cost more than running them)."""
    return (select(Person.id, Person.full_name, Person.date_of_birth, Person.sex, Person.citizen_id,
                   Person.si_number, Person.org_unit_id, Person.province_2025, HICard.id, HICard.card_code,
                   HICard.benefit_digit, HICard.valid_from, HICard.valid_until, HICard.registered_facility,
                   HICard.five_years_from, HICard.status, MedicalFacility.name)
            .outerjoin(HICard, (HICard.person_id == Person.id) & HICard.superseded_at.is_(None))
            .outerjoin(MedicalFacility, MedicalFacility.code == HICard.registered_facility)
            .where(key == bindparam("key")).order_by(HICard.id.desc()).limit(1))


_FIND = {"citizen_id": _lookup_statement(Person.citizen_id), "si_number": _lookup_statement(Person.si_number)}
_CARD_ON_DAY = (select(HICard.card_code, HICard.benefit_digit, HICard.valid_from, HICard.valid_until,
                       HICard.registered_facility, HICard.five_years_from, HICard.status, MedicalFacility.name)
                .outerjoin(MedicalFacility, MedicalFacility.code == HICard.registered_facility)
                .where(HICard.person_id == bindparam("person_id"), HICard.valid_from <= bindparam("on"),
                       HICard.valid_until.is_(None) | (HICard.valid_until >= bindparam("on")))
                .order_by(HICard.id.desc()).limit(1))
_LOG = insert(CardLookup)
_AUDIT = insert(AuditEvent)
#: The web server's batch writer of the lookup log (``cards.lookup_log``); None: written in the caller's transaction.
_log_writer = None
#: The web server's reader of the lookup's row (``cards.desk_reader``); None: read through the caller's session.
_desk_reader = None
#: ``lookup(row=...)`` not given: the lookup reads the row itself.
UNREAD = object()


def desk_reader_for(engine):
    """A :class:`~ansinh.cards.desk_reader.DeskReader` of the lookup's statements, for ``use_desk_reader``."""
    from ansinh.cards.desk_reader import DeskReader

    return DeskReader(engine, _FIND)


def reads_apart() -> bool:
    """Whether the lookup reads its row on the desk's own connection (not the session's)."""
    return _desk_reader is not None


def desk_reader():
    """The web server's :class:`~ansinh.cards.desk_reader.DeskReader`, or None (commands, tests)."""
    return _desk_reader


def use_desk_reader(reader) -> None:
    """Read the lookup's row with a ``DeskReader`` (the web server), or through the caller's session with None."""
    global _desk_reader
    _desk_reader = reader


def log_is_batched() -> bool:
    return _log_writer is not None


def use_lookup_log_writer(writer) -> None:
    """Send the lookup log (and the audit of the reads) to a ``LookupLogWriter``, or back to the caller's
    transaction with None."""
    global _log_writer
    _log_writer = writer


def lookup_key(citizen_id: str | None, card_code: str | None, si_number: str | None) -> tuple[str, str, str]:
    """(key type, column searched, value) of the key given; ValidationFailed for a malformed one."""
    if citizen_id:
        return "citizen_id", "citizen_id", check_citizen_id(citizen_id)
    if card_code:
        return "card_code", "si_number", check_card_code(card_code)[3]
    if si_number:
        return "si_number", "si_number", check_si_number(si_number)
    raise ValidationFailed("citizen_id", "Give a citizen ID, a card code or an SI number.")


#: The longest name a lookup compares (a registered name has at most 100 characters).
MAX_NAME_LENGTH = 100
#: Why a lookup answered nothing about the person: the name or the birth date given is not theirs.
NAME_MISMATCH = "name_mismatch"
BIRTH_DATE_MISMATCH = "birth_date_mismatch"


def check_identity(full_name: str | None, date_of_birth: date | None) -> tuple[str | None, date | None]:
    """The name (single spaces) and birth date a lookup checks the person against: at least one of them is given
    (the lookup rule: a key alone tells nothing). ValidationFailed naming ``full_name`` otherwise."""
    name = " ".join((full_name or "").split()) or None
    if name is None and date_of_birth is None:
        raise ValidationFailed("full_name", "Give the person's full name or date of birth as printed on their chip "
                                            "card, with the key.")
    if name is not None and (len(name) > MAX_NAME_LENGTH or has_control_characters(name)):
        raise ValidationFailed("full_name", "A name has 1 to {limit} characters, without control characters.",
                               limit=MAX_NAME_LENGTH)
    return name, date_of_birth


def same_name(given: str, recorded: str) -> bool:
    """Whether a name typed at the desk is the registered one: the same letters, case and spacing aside; a name
    typed without any accent (a keyboard without Vietnamese input) is compared without accents. Pure."""
    given = normalise_name(given).casefold()
    if given == normalise_name(recorded).casefold():
        return True
    plain = search_key(given)
    return plain == given and plain == search_key(recorded)


def _looker(principal: Principal | None, facility_code: str | None) -> str | None:
    """Whom the rate limit and the alerts count: the facility, else the staff user; None for a command."""
    if facility_code:
        return f"facility:{facility_code}"
    return f"user:{principal.user_id}" if principal is not None else None


def lookup(session: Session, principal: Principal | None, *, on: date, citizen_id: str | None = None,
           card_code: str | None = None, si_number: str | None = None, full_name: str | None = None,
           date_of_birth: date | None = None, facility_code: str | None = None,
           logged_at: datetime | None = None, row=UNREAD) -> dict:
    """Is this person covered on this day, and with which card? The lookup rule: the key (citizen ID, card code or
    SI number) **and** the person's name or date of birth as printed on the chip card (both when both are given);
    a mismatch is answered ``covered: false, reason: name_mismatch | birth_date_mismatch`` with no personal data.
    Bad keys raise ValidationFailed (HTTP 400); an unknown person is a normal answer (``unknown_person``). Each
    looker is rate-limited and watched (:mod:`ansinh.cards.desk_guard`). Every lookup is logged; a found person's
    record read is audited. A day outside the card in force is answered from the card version valid that day.
    The log counts a lookup in the province where it is made, as the agency counts lookups at a province's
    facilities: the facility's (``facility_code``, a registered facility), else the looker's office's, else (a
    command) the cardholder's.

    This is the desk's hot path (bench/cards_bench.py): one prepared statement finds the person with their current
    card and its facility, on the desk's own connection in the web server (``cards.desk_reader``), else on the
    session's connection without the ORM layer; the log entry and the audit of the
    read go to the web server's batch writer when one runs (``cards.lookup_log``), else into the caller's
    transaction. ``row``: the row of the lookup's statement for the key, already read (the web server's asynchronous
    read on PostgreSQL, ``cards.api``); the lookup reads it itself otherwise."""
    parameters = get_parameters()
    parameters[BENEFIT_LEVEL].entry_at(on)  # a date outside the parameters is refused, naming "on"
    key_type, column, value = lookup_key(citizen_id, card_code, si_number)
    name, born_on = check_identity(full_name, date_of_birth)
    looker = _looker(principal, facility_code)
    guard = desk_guard()
    if looker is not None:
        guard.admit(looker)
    if row is UNREAD:
        reader = _desk_reader
        row = (reader.first(column, {"key": value}) if reader is not None
               else session.connection().execute(_FIND[column], {"key": value}).first())
    answer: dict = {"on": on.isoformat(), "covered": False, "reason": None, "card_id": None, "card_code": None,
                    "benefit_level": None, "benefit_percentage": None, "valid_from": None, "valid_to": None,
                    "registered_facility": None, "registered_facility_name": None, "five_years_from": None,
                    "status": None, "full_name": None, "date_of_birth": None, "sex": None, "person_id": None}
    mismatch = None
    province = person_id = person_unit = person_ref = registered = None
    if row is None:
        answer["reason"] = "unknown_person"
    else:
        (person_id, full_name, born, sex, person_citizen_id, person_si, person_unit, province, card_id, code, digit,
         valid_from, valid_until, facility, five_years, status, facility_name) = row
        person_ref, registered = person_citizen_id or person_si, facility
        if name is not None and not same_name(name, full_name):
            mismatch = NAME_MISMATCH
        elif born_on is not None and born_on != born:
            mismatch = BIRTH_DATE_MISMATCH
    if mismatch is not None:
        answer["reason"] = mismatch
    elif row is not None:
        answer.update(full_name=full_name, date_of_birth=born.isoformat(), sex=getattr(sex, "value", sex),
                      person_id=person_id)
        if card_id is not None and (on < valid_from or (valid_until is not None and on > valid_until)):
            earlier = session.connection().execute(_CARD_ON_DAY, {"person_id": person_id, "on": on}).first()
            if earlier is not None:
                code, digit, valid_from, valid_until, facility, five_years, status, facility_name = earlier
        if card_id is None:
            answer["reason"] = "no_coverage"
        else:
            level = parameters[BENEFIT_LEVEL].at(on, digit)
            status = getattr(status, "value", status)
            answer.update(card_id=card_id, card_code=code, benefit_level=int(digit), benefit_percentage=float(level),
                          valid_from=valid_from.isoformat(), valid_to=valid_until.isoformat() if valid_until else None,
                          registered_facility=facility, registered_facility_name=facility_name,
                          five_years_from=five_years.isoformat() if five_years else None, status=status)
            if status == CardStatus.suspended.value:
                answer["reason"] = "suspended"
            elif on < valid_from:
                answer["reason"] = "not_yet_valid"
            elif valid_until is not None and on > valid_until:
                answer["reason"] = "expired"
            elif key_type == "card_code" and code != card_code.strip().upper():
                answer["reason"] = "card_replaced"
            else:
                answer["covered"] = True
    found = row is not None and mismatch is None
    event = None if not found else read_event(session, "person", person_id, org_unit_id=person_unit,
                                              person_ref=person_ref, details={"via": "card_lookup"})
    looker_province = principal_province(session, principal)
    # counted where the lookup is made: the facility's province, else the looker's office, else (a command) the
    # cardholder's
    logged_province = ((facility_province(session, facility_code) if facility_code else None) or looker_province
                       or province)
    result = ("covered" if answer["covered"] else "unknown_person" if row is None
              else "mismatch" if mismatch else "not_covered")
    entry = {"looked_up_at": logged_at or utcnow(), "user_id": principal.user_id if principal else None,
             "facility_code": facility_code, "province_2025": logged_province,
             "key_type": key_type, "on": on, "result": result, "reason": answer["reason"],
             "person_id": person_id}
    if _log_writer is not None:
        _log_writer.add(entry, event)
    else:
        session.connection().execute(_LOG, [entry])
        if event is not None:
            session.connection().execute(_AUDIT, [event])
    count_lookup(result)  # ansinh_card_lookups_total (ansinh.ops.metrics)
    if looker is not None:
        related = (registered is not None and registered == facility_code) or (
            province is not None and (looker_province is None or province == looker_province))
        for kind, count in guard.observe(looker, person_id=person_id if found else None, related=related,
                                         failed=not found):
            raise_lookup_alert(session.connection(), looker=looker, principal=principal, facility_code=facility_code,
                               province=looker_province, kind=kind, count=count, at=entry["looked_up_at"])
    return answer


def reads_more_than_the_row(row: tuple | None, on: date) -> bool:
    """Would :func:`lookup` with this row read the database again: the card of ``on`` when the current card is not
    valid that day."""
    if row is None or row[8] is None:  # unknown person, or no card
        return False
    valid_from, valid_until = row[11], row[12]
    return on < valid_from or (valid_until is not None and on > valid_until)


def raise_lookup_alert(connection, *, looker: str, principal: Principal | None, facility_code: str | None,
                       province: str | None, kind: str, count: int, at: datetime) -> None:
    """Record an alert on a looker's lookups (once per looker, kind and hour, whichever process sees it first) and
    log it for the operators."""
    hour = at.replace(minute=0, second=0, microsecond=0)
    values = {"raised_at": at, "looker": looker, "facility_code": facility_code,
              "user_id": principal.user_id if principal else None, "province_2025": province, "kind": kind,
              "count": count, "hour": hour}
    dialect = connection.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    connection.execute(dialect_insert(LookupAlert).values(**values).on_conflict_do_nothing())
    logger.warning("card lookup alert %s for %s: %d in the hour", kind, looker, count)


def _midnight(day: date) -> datetime:
    """The start of a day in Vietnam, as a moment: days of lookups and alerts are Vietnam's (the columns hold moments,
    ``UtcDateTime``, which take no bare date)."""
    return datetime.combine(day, time(), clock.VIETNAM)


def lookup_alerts(session: Session, principal: Principal | None, *, since: date, until: date) -> list[dict]:
    """The alerts raised on card lookups between two days (inclusive), newest first; an office sees those of the
    lookers of its province."""
    stmt = (select(LookupAlert).where(LookupAlert.raised_at >= _midnight(since),
                                      LookupAlert.raised_at < _midnight(until + timedelta(days=1)))
            .order_by(LookupAlert.raised_at.desc(), LookupAlert.id.desc()).limit(1000))
    province = principal_province(session, principal)
    if province is not None:
        stmt = stmt.where(LookupAlert.province_2025 == province)
    return [{"id": a.id, "raised_at": a.raised_at.isoformat(), "looker": a.looker, "facility_code": a.facility_code,
             "user_id": a.user_id, "province": a.province_2025, "kind": a.kind, "count": a.count}
            for a in session.scalars(stmt)]


def lookup_alerts_query(session: Session, principal: Principal | None, *, since: date | None = None,
                        until: date | None = None, kind: str | None = None, facility_code: str | None = None):
    """A ``select`` of the alerts raised on card lookups, filtered (days inclusive, kind, facility) and narrowed
    like :func:`lookup_alerts`: an office sees those of the lookers of its province."""
    stmt = select(LookupAlert)
    if since is not None:
        stmt = stmt.where(LookupAlert.raised_at >= _midnight(since))
    if until is not None:
        stmt = stmt.where(LookupAlert.raised_at < _midnight(until + timedelta(days=1)))
    if kind:
        stmt = stmt.where(LookupAlert.kind == kind)
    if facility_code:
        stmt = stmt.where(LookupAlert.facility_code == facility_code)
    province = principal_province(session, principal)
    if province is not None:
        stmt = stmt.where(LookupAlert.province_2025 == province)
    return stmt


def facility_knows_person(session: Session, facility_code: str, person_id: int) -> bool:
    """Whether a facility has looked this person up with a matching identity (or, later, claimed for them): what
    lets it read the person's cards as FHIR Coverage."""
    def known() -> bool:
        return session.scalar(select(CardLookup.id).where(
            CardLookup.facility_code == facility_code, CardLookup.person_id == person_id,
            CardLookup.result.in_(("covered", "not_covered"))).limit(1)) is not None

    if known():
        return True
    if _log_writer is not None and _log_writer.pending():  # the lookup a moment ago may still be in the batch
        _log_writer.flush()
        return known()
    return False


def _lookups_between(since: date, until: date) -> tuple:
    """The lookups made on the days from ``since`` to ``until`` (inclusive, Vietnam's days)."""
    return (CardLookup.looked_up_at >= _midnight(since), CardLookup.looked_up_at < _midnight(until + timedelta(days=1)))


#: Successful lookups: the person was covered (as the seed reports count them).
_SUCCESSFUL = func.sum(case((CardLookup.result == "covered", 1), else_=0))


def lookup_kpis(session: Session, principal: Principal | None, *, since: date, until: date,
                by: str = "province") -> list[dict]:
    """Lookups, successful ones and the success rate per province (or facility) and month, as the seed
    reports count them. A lookup's province is where it was made (see :func:`lookup`)."""
    key = CardLookup.province_2025 if by == "province" else CardLookup.facility_code
    month = (func.strftime("%Y-%m", CardLookup.looked_up_at) if session.get_bind().dialect.name == "sqlite"
             else func.to_char(CardLookup.looked_up_at, "YYYY-MM"))
    stmt = (select(key, month, func.count(), _SUCCESSFUL).where(*_lookups_between(since, until))
            .group_by(key, month).order_by(key, month))
    province = principal_province(session, principal)
    if province is not None:
        stmt = stmt.where(CardLookup.province_2025 == province)
    return [{by: k, "month": m, "lookups": n, "successful": int(ok or 0), "success_rate": round((ok or 0) / n, 4)}
            for k, m, n, ok in session.execute(stmt)]


def lookups_by_province(session: Session, *, since: date, until: date,
                        province: str | None = None) -> dict[str, tuple[int, int]]:
    """Card lookups made at each 2025 province's facilities (and by its offices) on the days from ``since`` to
    ``until`` inclusive: province → (lookups, successful ones: the person was covered), as :func:`lookup_kpis`
    counts them; one province when given. One grouped query; no scope check (the caller's); lookups logged
    without a province are left out."""
    stmt = (select(CardLookup.province_2025, func.count(), _SUCCESSFUL)
            .where(*_lookups_between(since, until), CardLookup.province_2025.is_not(None))
            .group_by(CardLookup.province_2025).order_by(CardLookup.province_2025))
    if province is not None:
        stmt = stmt.where(CardLookup.province_2025 == province)
    return {code: (int(count), int(ok or 0)) for code, count, ok in session.execute(stmt)}


def card_versions_of(session: Session, person_ids) -> pl.DataFrame:
    """Every version of the cards of some people (``person_ids``: ids, or a subquery of ids), in one read, for batch
    work (the claims appraisal): ``person_id, card_code, valid_from, valid_until, status, superseded_at,
    five_years_from``."""
    schema = {"person_id": pl.Int64, "card_code": pl.String, "valid_from": pl.Date, "valid_until": pl.Date,
              "status": pl.String, "superseded_at": pl.Datetime("us", "UTC"), "five_years_from": pl.Date}
    return read_frame(session, select(HICard.person_id, HICard.card_code, HICard.valid_from, HICard.valid_until,
                                      HICard.status, HICard.superseded_at, HICard.five_years_from)
                      .where(HICard.person_id.in_(person_ids)).order_by(HICard.id), schema)
