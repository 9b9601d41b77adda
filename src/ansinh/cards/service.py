"""Issuing health insurance cards from coverage periods, and looking them up at the facility desk.

Issuance works on columns (a province's cards in one pass): the card of each person insured on a date, its code
(group, benefit digit from ``cards.benefit_digit_by_group``, province, SI number), validity, and the date from
which the person has five consecutive years of coverage (periods joined across gaps of at most
``cards.continuity_gap_days``). A card that changes becomes a new version; the old one is kept, superseded.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from ansinh.audit.service import record_read
from ansinh.auth.permissions import Principal, org_scope
from ansinh.bulk import bulk_insert
from ansinh.cards.models import CardLookup, HICard
from ansinh.db import utcnow
from ansinh.errors import ValidationFailed
from ansinh.participation.models import CoveragePeriod, Scheme
from ansinh.registry.identifiers import check_citizen_id, check_si_number
from ansinh.registry.models import Person
from ansinh.rules.parameters import SCALE, get_parameters

BENEFIT_DIGIT = "cards.benefit_digit_by_group"
CONTINUITY_GAP = "cards.continuity_gap_days"
BENEFIT_LEVEL = "hi_benefits.benefit_level"
CONSECUTIVE_YEARS = "hi_benefits.full_coverage_consecutive_years"
CARD_CODE = re.compile(r"^([A-Z]{2})([1-5])(\d{2})(\d{10})$")
_CARD_COLUMNS = ("card_code", "hi_group", "benefit_digit", "province_code", "valid_from", "valid_until",
                 "five_years_from")


def make_card_code(group: str, digit: str | int, province: str, si_number: str) -> str:
    return f"{group}{digit}{province[-2:]}{si_number}"


def check_card_code(code: str, on: date | None = None) -> tuple[str, str, str, str]:
    """(group, digit, province, SI number) of a card code of the right shape and a known group (and, given a
    date, the digit that group has then); ValidationFailed naming ``card_code`` otherwise."""
    match = CARD_CODE.match((code or "").strip().upper())
    if match is None:
        raise ValidationFailed("card_code", "A card code is 2 letters, a digit 1-5, 2 digits and the 10-digit SI "
                                            "number; got {value}.", value=code)
    group, digit, province, si_number = match.groups()
    parameter = get_parameters()[BENEFIT_DIGIT]
    if group not in parameter.keys:
        raise ValidationFailed("card_code", "{group} is not a beneficiary group.", group=group)
    if on is not None and str(parameter.at(on, group)) != digit:
        raise ValidationFailed("card_code", "Group {group} has benefit digit {expected}, the code says {digit}.",
                               group=group, expected=parameter.at(on, group), digit=digit)
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


def issue_cards(session: Session, *, on: date, person_ids: list[int] | None = None) -> dict:
    """Issue or renew the cards of everyone insured on ``on`` (or of the given people): unchanged cards stay,
    changed ones get a new version. Returns the counts."""
    parameters = get_parameters()
    conditions = [CoveragePeriod.scheme == Scheme.hi, CoveragePeriod.superseded_at.is_(None)]
    if person_ids is not None:
        conditions.append(CoveragePeriod.person_id.in_(person_ids))
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
    existing_rows = session.execute(select(HICard.id, HICard.person_id, *(getattr(HICard, c) for c in _CARD_COLUMNS))
                                    .where(HICard.superseded_at.is_(None),
                                           HICard.person_id.in_(cards["person_id"].to_list()))).all()
    existing = pl.DataFrame(existing_rows, schema={"card_id": pl.Int64, "person_id": pl.Int64, "card_code": pl.Utf8,
                                                   "hi_group": pl.Utf8, "benefit_digit": pl.Utf8,
                                                   "province_code": pl.Utf8, "valid_from": pl.Date,
                                                   "valid_until": pl.Date, "five_years_from": pl.Date}, orient="row")
    compared = cards.join(existing, on="person_id", how="left", suffix="_old")
    same = pl.lit(True)
    for column in _CARD_COLUMNS:
        same = same & pl.col(column).eq_missing(pl.col(f"{column}_old"))
    compared = compared.with_columns(same=same)
    changed = compared.filter(~pl.col("same"))
    to_supersede = changed["card_id"].drop_nulls().to_list()
    if to_supersede:
        session.execute(update(HICard).where(HICard.id.in_(to_supersede)).values(superseded_at=utcnow()))
    bulk_insert(session, HICard.__table__, changed.select("person_id", "org_unit_id", "coverage_period_id",
                                                          *_CARD_COLUMNS))
    session.flush()
    return {"issued": changed.height, "unchanged": compared.height - changed.height, "superseded": len(to_supersede)}


def current_card(session: Session, person_id: int) -> HICard | None:
    return session.scalar(select(HICard).where(HICard.person_id == person_id, HICard.superseded_at.is_(None))
                          .order_by(HICard.id.desc()).limit(1))


def card_history(session: Session, person_id: int) -> list[HICard]:
    return list(session.scalars(select(HICard).where(HICard.person_id == person_id).order_by(HICard.id)))


def _principal_province(session: Session, principal: Principal | None) -> str | None:
    """The 2025 province of the caller's office (a local office's place code is a commune)."""
    if principal is None or principal.org_unit_level == "national":
        return None
    from ansinh.auth.models import OrgUnit
    from ansinh.registry.service import office_province_code

    return office_province_code(session, session.get(OrgUnit, principal.org_unit_id))


def lookup(session: Session, principal: Principal | None, *, on: date, citizen_id: str | None = None,
           card_code: str | None = None, si_number: str | None = None, facility_code: str | None = None) -> dict:
    """Is this person covered on this day, and with which card? Bad keys raise ValidationFailed (HTTP 400/422);
    an unknown person is a normal answer (``covered: false, reason: unknown_person``). Every lookup is logged;
    a found person's record read is audited."""
    parameters = get_parameters()
    parameters[BENEFIT_LEVEL].entry_at(on)  # a date outside the parameters is refused, naming "on"
    if citizen_id:
        key_type, condition = "citizen_id", Person.citizen_id == check_citizen_id(citizen_id)
    elif card_code:
        _group, _digit, _province, number = check_card_code(card_code)
        key_type, condition = "card_code", Person.si_number == number
    elif si_number:
        key_type, condition = "si_number", Person.si_number == check_si_number(si_number)
    else:
        raise ValidationFailed("citizen_id", "Give a citizen ID, a card code or an SI number.")
    person = session.scalar(select(Person).where(condition))
    answer: dict = {"on": on.isoformat(), "covered": False, "reason": None, "card_code": None, "benefit_level": None,
                    "benefit_percentage": None, "valid_from": None, "valid_to": None, "registered_facility": None,
                    "five_years_from": None, "full_name": None, "date_of_birth": None, "sex": None}
    card = None
    if person is None:
        answer["reason"] = "unknown_person"
    else:
        card = current_card(session, person.id)
        answer.update(full_name=person.full_name, date_of_birth=person.date_of_birth.isoformat(), sex=person.sex.value)
        if card is None:
            answer["reason"] = "no_coverage"
        else:
            level = parameters[BENEFIT_LEVEL].at(on, card.benefit_digit)
            answer.update(card_code=card.card_code, benefit_level=int(card.benefit_digit),
                          benefit_percentage=float(level), valid_from=card.valid_from.isoformat(),
                          valid_to=card.valid_until.isoformat() if card.valid_until else None,
                          registered_facility=card.registered_facility,
                          five_years_from=card.five_years_from.isoformat() if card.five_years_from else None)
            if on < card.valid_from:
                answer["reason"] = "not_yet_valid"
            elif card.valid_until is not None and on > card.valid_until:
                answer["reason"] = "expired"
            elif key_type == "card_code" and card.card_code != card_code.strip().upper():
                answer["reason"] = "card_replaced"
            else:
                answer["covered"] = True
        record_read(session, "person", person.id, org_unit_id=person.org_unit_id,
                    person_ref=person.citizen_id or person.si_number, details={"via": "card_lookup"})
    session.add(CardLookup(user_id=principal.user_id if principal else None, facility_code=facility_code,
                           province_2025=(person.province_2025 if person is not None else None)
                           or _principal_province(session, principal),
                           key_type=key_type, on=on, result="covered" if answer["covered"] else
                           ("unknown_person" if person is None else "not_covered"), reason=answer["reason"],
                           person_id=person.id if person is not None else None))
    session.flush()
    return answer


def lookup_kpis(session: Session, principal: Principal | None, *, since: date, until: date,
                by: str = "province") -> list[dict]:
    """Lookups, successful ones and the success rate per province (or facility) and month, as the seed
    reports count them."""
    key = CardLookup.province_2025 if by == "province" else CardLookup.facility_code
    month = (func.strftime("%Y-%m", CardLookup.looked_up_at) if session.get_bind().dialect.name == "sqlite"
             else func.to_char(CardLookup.looked_up_at, "YYYY-MM"))
    stmt = (select(key, month, func.count(), func.sum(case((CardLookup.result == "covered", 1), else_=0)))
            .where(CardLookup.looked_up_at >= since, CardLookup.looked_up_at < until + timedelta(days=1))
            .group_by(key, month).order_by(key, month))
    province = _principal_province(session, principal)
    if province is not None:
        stmt = stmt.where(CardLookup.province_2025 == province)
    return [{by: k, "month": m, "lookups": n, "successful": int(ok or 0), "success_rate": round((ok or 0) / n, 4)}
            for k, m, n, ok in session.execute(stmt)]
