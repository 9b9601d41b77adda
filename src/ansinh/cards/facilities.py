"""Medical facilities, their HI contracts and their classification into the levels of 2025. Only a facility with a
contract in force may look up cards (and, later, send claims); a facility user acts for the facility whose code is
their ``subject_ref``.

Since 2025-01-01 (Law 51/2024/QH15) a facility has a technical level (initial, basic, specialised) with, for a
basic facility, its classification score or a provisional classification, and, for an initial one, whether it is a
health station of visit category 1.2; its level before 2025 (``MedicalFacility.level``) still counts. The
classification is dated: :func:`classify_facility` adds one from a date, :func:`facility_classification_on` and
:func:`classifications_on` answer the one in force on a day.

Plain functions ``verb_noun(session, ...)``; they flush, the caller commits.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from sqlalchemy import String, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Principal
from ansinh.cards.models import (
    FacilityClassification,
    FacilityContract,
    FacilityLevel,
    FacilityLevel2025,
    MedicalFacility,
)
from ansinh.audit.service import record_event
from ansinh.bounds import has_control_characters
from ansinh.bulk import read_frame
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.registry.identifiers import search_key
from ansinh.registry.models import Place

FACILITY_CODE = re.compile(r"^\d{5}$")


def check_facility_code(code: str | None, field: str = "facility_code") -> str:
    """A facility code is 5 digits: the 2-digit province and a 3-digit number."""
    value = (code or "").strip()
    if not FACILITY_CODE.match(value):
        raise ValidationFailed(field, "A facility code is 5 digits (province and number); got {value}.", value=code)
    return value


@dataclass
class FacilityData:
    code: str
    name: str
    level: FacilityLevel | str
    primary_care: bool = True
    public: bool = True
    place_id: int | None = None
    specialty: str = "general"


SPECIALTIES_FILE = Path(__file__).parent / "data" / "facility_specialties.yaml"


@dataclass(frozen=True)
class Specialty:
    """One code of the facility specialty catalogue, in force from ``valid_from`` until ``valid_to``."""

    code: str
    name_vi: str
    name_en: str
    valid_from: date
    valid_to: date | None = None


@lru_cache(maxsize=1)
def specialties() -> tuple[Specialty, ...]:
    """The facility specialty catalogue (every entry, its history included), in the file's order."""
    document = yaml.safe_load(SPECIALTIES_FILE.read_text(encoding="utf-8"))
    return tuple(Specialty(code=str(e["code"]), name_vi=e["name_vi"], name_en=e["name_en"],
                           valid_from=date.fromisoformat(str(e["valid_from"])),
                           valid_to=date.fromisoformat(str(e["valid_to"])) if e.get("valid_to") else None)
                 for e in document["entries"])


def specialties_on(on: date) -> list[Specialty]:
    """The specialties in force on a day."""
    return [s for s in specialties() if s.valid_from <= on and (s.valid_to is None or on <= s.valid_to)]


def specialty_name(code: str | None, locale: str = "vi") -> str:
    """The specialty's name in the language (the code itself when unknown)."""
    for entry in specialties():
        if entry.code == code:
            return entry.name_vi if locale == "vi" else entry.name_en
    return code or ""


def check_specialty(code: str | None, field: str = "specialty") -> str:
    """A specialty code still in use (no ``valid_to``); empty: general."""
    value = (code or "").strip().lower() or "general"
    accepted = [s.code for s in specialties() if s.valid_to is None]
    if value not in accepted:
        raise ValidationFailed(field, "The specialty is one of {accepted}; got {value}.", accepted=", ".join(accepted),
                               value=code)
    return value


def create_facility(session: Session, data: FacilityData, org_unit: OrgUnit) -> MedicalFacility:
    """Register a facility under the office that contracts it; its province is the office's."""
    from ansinh.registry.service import office_province_code

    code = check_facility_code(data.code, "code")
    name = (data.name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name", "A facility name has 1 to 200 characters.")
    try:
        level = FacilityLevel(getattr(data.level, "value", data.level))
    except ValueError:
        raise ValidationFailed("level", "The level is one of {accepted}; got {value}.",
                               accepted=", ".join(level.value for level in FacilityLevel), value=data.level) from None
    province = office_province_code(session, org_unit)
    if code[:2] != province[-2:]:
        raise ValidationFailed("code", "Facility code {value} does not start with the province code {province}.",
                               value=code, province=province[-2:])
    specialty = check_specialty(data.specialty)
    if data.place_id is not None and session.get(Place, data.place_id) is None:
        raise ValidationFailed("place_id", "Place {id} does not exist.", id=data.place_id)
    if session.scalar(select(MedicalFacility.id).where(MedicalFacility.code == code)) is not None:
        raise Conflict("Facility {code} is already registered.", code=code)
    facility = MedicalFacility(code=code, name=name, level=level, primary_care=data.primary_care, public=data.public,
                               specialty=specialty, place_id=data.place_id, province_2025=province,
                               org_unit_id=org_unit.id)
    session.add(facility)
    session.flush()
    return facility


def get_facility(session: Session, code: str) -> MedicalFacility:
    facility = session.scalar(select(MedicalFacility).where(MedicalFacility.code == check_facility_code(code)))
    if facility is None:
        raise NotFound("Facility {code} is not registered.", code=code)
    return facility


def list_facilities(session: Session, *, province: str | None = None) -> list[MedicalFacility]:
    stmt = select(MedicalFacility).order_by(MedicalFacility.code)
    if province is not None:
        stmt = stmt.where(MedicalFacility.province_2025 == province)
    return list(session.scalars(stmt))


def sign_contract(session: Session, *, facility: MedicalFacility, contract_number: str, valid_from: date,
                  valid_until: date, org_unit: OrgUnit) -> FacilityContract:
    """Record an HI contract with a facility (dates inclusive)."""
    number = (contract_number or "").strip()
    if not number or len(number) > 40:
        raise ValidationFailed("contract_number", "A contract number has 1 to 40 characters.")
    if valid_until < valid_from:
        raise ValidationFailed("valid_until", "The end ({end}) is before the start ({start}).",
                               end=valid_until, start=valid_from)
    if session.scalar(select(FacilityContract.id).where(FacilityContract.facility_id == facility.id,
                                                        FacilityContract.contract_number == number)) is not None:
        raise Conflict("Contract {number} of facility {code} is already recorded.", number=number, code=facility.code)
    contract = FacilityContract(facility_id=facility.id, contract_number=number, valid_from=valid_from,
                                valid_until=valid_until, org_unit_id=org_unit.id)
    clear_contract_cache()
    session.add(contract)
    session.flush()
    return contract


def facility_contracts(session: Session, facility: MedicalFacility) -> list[FacilityContract]:
    return list(session.scalars(select(FacilityContract).where(FacilityContract.facility_id == facility.id)
                                .order_by(FacilityContract.valid_from, FacilityContract.id)))


# --- the levels of 2025 -----------------------------------------------------------------------------------

#: The day the levels of 2025 took effect (Law 51/2024/QH15, Art 1(17) replacing Art 22 of the HI Law).
LEVELS_2025_FROM = date(2025, 1, 1)
MAX_SCORE = 100
#: The code, in the Ministry's catalogue of visit categories, of the facilities ``health_station`` marks.
HEALTH_STATION_CATEGORY = "1.2"
DECISION_LENGTH = 120


@dataclass(frozen=True)
class ClassificationData:
    """A classification checked by :func:`check_classification`."""

    valid_from: date
    level_2025: FacilityLevel2025
    score: int | None
    provisional: bool
    health_station: bool
    decision: str | None


def check_classification(*, valid_from: date | None, level_2025: FacilityLevel2025 | str | None,
                         score: int | None = None, provisional: bool = False, health_station: bool = False,
                         decision: str | None = None) -> ClassificationData:
    """The rules of a classification, without the database (the form, the API and the import use them too): the
    date from 2025-01-01; the level one of initial, basic, specialised; a score (0 to 100) only for a basic
    facility, which has either its score or a provisional classification; the health-station flag only for an
    initial-level facility; a decision of at most 120 characters. ValidationFailed names the field."""
    from ansinh.bounds import latest_date

    if valid_from is None:
        raise ValidationFailed("valid_from", "Give the day the classification takes effect.")
    if valid_from < LEVELS_2025_FROM:
        raise ValidationFailed("valid_from", "The levels of 2025 apply from {start}; got {value}.",
                               start=LEVELS_2025_FROM, value=valid_from)
    if valid_from > latest_date():
        raise ValidationFailed("valid_from", "The date {value} is outside the accepted range.", value=valid_from)
    try:
        level = FacilityLevel2025(getattr(level_2025, "value", level_2025))
    except ValueError:
        raise ValidationFailed("level_2025", "The level since 2025 is one of {accepted}; got {value}.",
                               accepted=", ".join(item.value for item in FacilityLevel2025),
                               value=level_2025) from None
    provisional, health_station = bool(provisional), bool(health_station)
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int):
            raise ValidationFailed("score", "The classification score is a whole number of points from 0 to {max}.",
                                   max=MAX_SCORE)
        if level != FacilityLevel2025.basic:
            raise ValidationFailed("score", "Only a basic-level facility has a classification score.")
        if not 0 <= score <= MAX_SCORE:
            raise ValidationFailed("score", "The classification score is a whole number of points from 0 to {max}.",
                                   max=MAX_SCORE)
        if provisional:
            raise ValidationFailed("provisional", "A provisionally classified facility has no score yet: give the "
                                                  "score or mark the classification provisional, not both.")
    elif level == FacilityLevel2025.basic and not provisional:
        raise ValidationFailed("score", "A basic-level facility has its classification score, or is provisionally "
                                        "classified.")
    if health_station and level != FacilityLevel2025.initial:
        raise ValidationFailed("health_station", "Only an initial-level facility can be a health station "
                                                 "(visit category {code}).", code=HEALTH_STATION_CATEGORY)
    text = " ".join((decision or "").split()) or None
    if text is not None and (len(text) > DECISION_LENGTH or has_control_characters(decision or "")):
        raise ValidationFailed("decision", "The decision has at most {n} characters.", n=DECISION_LENGTH)
    return ClassificationData(valid_from=valid_from, level_2025=level, score=score, provisional=provisional,
                              health_station=health_station, decision=text)


def same_classification(row: FacilityClassification, data: ClassificationData) -> bool:
    """Whether a recorded classification says what ``data`` says (a replay)."""
    return (row.level_2025 == data.level_2025 and row.score == data.score and row.provisional == data.provisional
            and row.health_station == data.health_station and row.decision == data.decision)


def classify_facility(session: Session, facility: MedicalFacility, *, valid_from: date,
                      level_2025: FacilityLevel2025 | str, score: int | None = None, provisional: bool = False,
                      health_station: bool = False, decision: str | None = None) -> FacilityClassification:
    """Record the facility's classification from ``valid_from`` (in force until its next one). The same
    classification again changes nothing (the row recorded is returned); another one from a day that already has
    one is refused (Conflict): a reclassification takes its own date, and history is never rewritten."""
    data = check_classification(valid_from=valid_from, level_2025=level_2025, score=score, provisional=provisional,
                                health_station=health_station, decision=decision)
    def recorded() -> FacilityClassification | None:
        existing = session.scalar(select(FacilityClassification).where(
            FacilityClassification.facility_id == facility.id, FacilityClassification.valid_from == data.valid_from))
        if existing is None or same_classification(existing, data):
            return existing
        raise Conflict("Facility {code} already has a classification from {day}; a reclassification takes effect "
                       "on another day.", code=facility.code, day=data.valid_from)

    existing = recorded()
    if existing is not None:
        return existing
    row = FacilityClassification(facility_id=facility.id, valid_from=data.valid_from, level_2025=data.level_2025,
                                 score=data.score, provisional=data.provisional, health_station=data.health_station,
                                 decision=data.decision, org_unit_id=facility.org_unit_id)
    try:
        with session.begin_nested():  # a concurrent request recording the same day: its row, or a Conflict
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = recorded()
        if existing is None:
            raise
        return existing
    return row


def _facility_id(session: Session, facility: MedicalFacility | str | int) -> int:
    if isinstance(facility, MedicalFacility):
        return facility.id
    if isinstance(facility, int) and not isinstance(facility, bool):
        if session.get(MedicalFacility, facility) is None:
            raise NotFound("Facility {code} is not registered.", code=facility)
        return facility
    return get_facility(session, str(facility)).id


def facility_classification_on(session: Session, facility_code_or_id: MedicalFacility | str | int,
                               on: date) -> FacilityClassification | None:
    """The facility's classification in force on a day (the latest from that day or before); None before its
    first one. NotFound for a facility not registered."""
    facility_id = _facility_id(session, facility_code_or_id)
    return session.scalar(select(FacilityClassification).where(
        FacilityClassification.facility_id == facility_id, FacilityClassification.valid_from <= on)
        .order_by(FacilityClassification.valid_from.desc()).limit(1))


def facility_classifications(session: Session, facility: MedicalFacility) -> list[FacilityClassification]:
    """The facility's classifications, the earliest first (its history)."""
    return list(session.scalars(select(FacilityClassification).where(
        FacilityClassification.facility_id == facility.id).order_by(FacilityClassification.valid_from)))


def classification_histories(session: Session, facility_ids: Iterable[int]
                             ) -> dict[int, list[FacilityClassification]]:
    """The classifications of several facilities, by facility id, each the earliest first (one read per 5,000
    facilities, for lists)."""
    ids = sorted(set(facility_ids))
    found: dict[int, list[FacilityClassification]] = {}
    for start in range(0, len(ids), _CODES_PER_QUERY):
        for row in session.scalars(select(FacilityClassification).where(
                FacilityClassification.facility_id.in_(ids[start:start + _CODES_PER_QUERY]))
                .order_by(FacilityClassification.facility_id, FacilityClassification.valid_from)):
            found.setdefault(row.facility_id, []).append(row)
    return found


def in_force_on(history: list[FacilityClassification], on: date) -> FacilityClassification | None:
    """The row of a history (earliest first) in force on a day."""
    current = None
    for row in history:
        if row.valid_from > on:
            break
        current = row
    return current


#: Above this many codes, :func:`classifications_on` reads every facility and keeps the ones asked for (some 13,000
#: facilities nationwide: one read, without a list of parameters longer than a database accepts).
_CODES_PER_QUERY = 5_000

CLASSIFICATION_SCHEMA = {"code": pl.String, "level_2025": pl.String, "former_level": pl.String, "score": pl.Int64,
                         "provisional": pl.Boolean, "health_station": pl.Boolean}


def classifications_on(session: Session, codes: Iterable[str] | pl.Series, on: date) -> pl.DataFrame:
    """The classification in force on a day of each facility code asked for, set-based (one query, for the claims
    appraisal): columns ``code, level_2025, former_level, score, provisional, health_station``, one row per distinct
    code in the order first given. A facility without a classification on that day has nulls but its
    ``former_level``; a code not registered has nulls only."""
    wanted = list(dict.fromkeys(code for code in (codes.to_list() if isinstance(codes, pl.Series) else codes)
                                if code is not None))
    asked = pl.DataFrame({"code": wanted}, schema={"code": pl.String})
    if not wanted:
        return pl.DataFrame(schema=CLASSIFICATION_SCHEMA)
    latest = (select(FacilityClassification.facility_id, func.max(FacilityClassification.valid_from).label("day"))
              .where(FacilityClassification.valid_from <= on).group_by(FacilityClassification.facility_id)
              .subquery())
    stmt = (select(MedicalFacility.code, FacilityClassification.level_2025, MedicalFacility.level,
                   FacilityClassification.score, FacilityClassification.provisional,
                   FacilityClassification.health_station)
            .select_from(MedicalFacility)
            .outerjoin(latest, latest.c.facility_id == MedicalFacility.id)
            .outerjoin(FacilityClassification, (FacilityClassification.facility_id == MedicalFacility.id)
                       & (FacilityClassification.valid_from == latest.c.day)))
    if len(wanted) <= _CODES_PER_QUERY:
        stmt = stmt.where(MedicalFacility.code.in_(wanted))
    found = read_frame(session, stmt, CLASSIFICATION_SCHEMA)
    return asked.join(found, on="code", how="left", maintain_order="left").select(list(CLASSIFICATION_SCHEMA))


def hi_share_facility_args(classification: FacilityClassification | Mapping[str, Any],
                           former_level: FacilityLevel | str) -> dict:
    """The keyword arguments about the facility that the HI cost-sharing calculator takes, from a classification
    (a row, or a row of :func:`classifications_on` as a mapping) and the facility's level before 2025:
    ``facility_level`` (initial, basic, specialised), ``former_level`` (central, provincial, district, commune),
    ``facility_score`` (the score of a basic facility; None when provisional or not basic), ``provisional`` and
    ``health_station``. ValidationFailed when there is no classification or a value is not one of its kind."""
    if classification is None:
        raise ValidationFailed("level_2025", "The facility has no classification in force on that day.")

    def value(name: str) -> Any:
        item = classification.get(name) if isinstance(classification, Mapping) else getattr(classification, name)
        return getattr(item, "value", item)

    level = value("level_2025")
    if level is None:
        raise ValidationFailed("level_2025", "The facility has no classification in force on that day.")
    try:
        level = FacilityLevel2025(level).value
    except ValueError:
        raise ValidationFailed("level_2025", "The level since 2025 is one of {accepted}; got {value}.",
                               accepted=", ".join(item.value for item in FacilityLevel2025), value=level) from None
    former = getattr(former_level, "value", former_level)
    try:
        former = FacilityLevel(former).value
    except ValueError:
        raise ValidationFailed("former_level", "The level is one of {accepted}; got {value}.",
                               accepted=", ".join(item.value for item in FacilityLevel), value=former) from None
    provisional = bool(value("provisional"))
    score = value("score")
    return {"facility_level": level, "former_level": former,
            "facility_score": None if provisional or level != FacilityLevel2025.basic.value else score,
            "provisional": provisional, "health_station": bool(value("health_station"))}


def ensure_facility_in_scope(session: Session, principal: Principal, facility: MedicalFacility) -> None:
    """Officers manage the facilities of their own subtree only."""
    from ansinh.auth.permissions import ensure_in_scope

    ensure_in_scope(principal, session.get(OrgUnit, facility.org_unit_id))


def terminate_contract(session: Session, contract: FacilityContract, *, last_day: date,
                       reason: str | None = None) -> FacilityContract:
    """End a contract early: ``last_day`` is its last day in force. A reason given is kept in the audit trail
    (an event ``terminate`` of the contract)."""
    text = (reason or "").strip()
    if reason is not None and (not text or len(text) > 500 or has_control_characters(text)):
        raise ValidationFailed("reason", "Give the reason (1 to 500 characters).")
    if last_day < contract.valid_from or last_day > contract.valid_until:
        raise ValidationFailed("last_day", "The last day must fall within the contract ({start} to {end}).",
                               start=contract.valid_from, end=contract.valid_until)
    if contract.terminated_on is not None:
        raise Conflict("Contract {number} was already ended on {day}.", number=contract.contract_number,
                       day=contract.terminated_on)
    contract.terminated_on = last_day
    clear_contract_cache()
    session.flush()
    if text:
        record_event(session, "terminate", "facility_contract", contract.id, org_unit_id=contract.org_unit_id,
                     details={"reason": text, "last_day": last_day.isoformat()})
    return contract


def get_contract(session: Session, facility: MedicalFacility, contract_id: int) -> FacilityContract:
    """One of the facility's contracts; NotFound for a contract of another facility."""
    contract = session.get(FacilityContract, contract_id)
    if contract is None or contract.facility_id != facility.id:
        raise NotFound("Contract {id} of facility {code} does not exist.", id=contract_id, code=facility.code)
    return contract


def in_force_clause(on: date):
    """A condition true for facilities with a contract in force on a day (for lists)."""
    return exists().where(FacilityContract.facility_id == MedicalFacility.id, *_in_force(on))


def facilities_query(*, on: date, province: str | None = None, level: str | None = None,
                     contract: bool | None = None, text: str | None = None, primary_care: bool | None = None):
    """A ``select`` of (facility, whether a contract is in force on ``on``), filtered: the province code, the
    level, with or without a contract in force, a part of the name or the first digits of the code."""
    in_force = in_force_clause(on)
    stmt = select(MedicalFacility, in_force.label("in_force"))
    if province:
        stmt = stmt.where(MedicalFacility.province_2025 == province)
    if level:
        try:
            stmt = stmt.where(MedicalFacility.level == FacilityLevel(level))
        except ValueError:
            raise ValidationFailed("level", "The level is one of {accepted}; got {value}.",
                                   accepted=", ".join(item.value for item in FacilityLevel), value=level) from None
    if contract is not None:
        stmt = stmt.where(in_force if contract else ~in_force)
    if primary_care is not None:
        stmt = stmt.where(MedicalFacility.primary_care.is_(primary_care))
    words = (text or "").strip()
    if words:
        if words.isdigit():
            stmt = stmt.where(MedicalFacility.code.startswith(words))
        else:
            stmt = stmt.where(folded(MedicalFacility.name).like(f"%{_escape(search_key(words))}%", escape="\\"))
    return stmt


# --- names without accents, in SQL --------------------------------------------------------------------
# A facility's name is searched like a person's (``benh vien da khoa`` finds ``Bệnh viện Đa khoa``), but the facility
# table is small (some 13,000 facilities nationwide) and has no ``name_search`` column: its names are folded in the
# query, the way ``search_key`` folds them (Vietnamese letters with their marks, both cases, NFC).

_VIETNAMESE_VOWELS = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
_MARKED = sorted(({unicodedata.normalize("NFC", letter + tone) for base in _VIETNAMESE_VOWELS
                   for letter in (base, base.upper()) for tone in _TONES} | {"đ", "Đ"}) - set("aeiouyAEIOUY"))
_FOLDED = "".join(search_key(letter) for letter in _MARKED)


class folded(FunctionElement):
    """``lower(name)`` with the marks of Vietnamese letters taken off: what ``search_key`` gives, in SQL (PostgreSQL:
    one ``translate``; SQLite, which has none: ``search_key`` itself, registered on each connection by
    ``ansinh.db``)."""

    type = String()
    inherit_cache = True
    name = "folded"


@compiles(folded)
def _folded_postgresql(element, compiler, **kw):
    text = compiler.process(element.clauses, **kw)
    return f"translate(lower({text}), '{''.join(_MARKED)}', '{_FOLDED}')"


@compiles(folded, "sqlite")
def _folded_sqlite(element, compiler, **kw):
    return f"search_key({compiler.process(element.clauses, **kw)})"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_facility(session: Session, text: str, *, field: str = "facility_code") -> MedicalFacility:
    """A facility picked by its code or by its full name (as a form's list of names offers them, ``Name (01001)``
    too); ValidationFailed naming ``field`` when none or several match."""
    value = " ".join((text or "").split())
    match = re.search(r"(?:^|\()(\d{5})\)?$", value)
    if match:
        found = session.scalar(select(MedicalFacility).where(MedicalFacility.code == match.group(1)))
    elif value:
        named = list(session.scalars(select(MedicalFacility).where(MedicalFacility.name == value).limit(2))) or \
            list(session.scalars(select(MedicalFacility).where(func.lower(MedicalFacility.name) == value.lower())
                                 .limit(2)))
        if len(named) > 1:
            raise ValidationFailed(field, "Several facilities are named {value}: give the code.", value=value)
        found = named[0] if named else None
    else:
        raise ValidationFailed(field, "Choose a medical facility.")
    if found is None:
        raise ValidationFailed(field, "No medical facility {value} is registered.", value=value)
    return found


def _in_force(on: date):
    return (FacilityContract.valid_from <= on, FacilityContract.valid_until >= on,
            or_(FacilityContract.terminated_on.is_(None), FacilityContract.terminated_on >= on))


def codes_with_contract_in_force(session: Session, on: date) -> set[str]:
    """The codes of the facilities with a contract in force on a day (one read, for lists)."""
    return set(session.scalars(select(MedicalFacility.code).join(
        FacilityContract, FacilityContract.facility_id == MedicalFacility.id).where(*_in_force(on))))


def contract_in_force(session: Session, facility_code: str, on: date) -> FacilityContract | None:
    """The facility's contract in force on a day, if any."""
    return session.scalar(
        select(FacilityContract).join(MedicalFacility, MedicalFacility.id == FacilityContract.facility_id)
        .where(MedicalFacility.code == facility_code, *_in_force(on))
        .order_by(FacilityContract.valid_from.desc()).limit(1))


def contracted_by_level(session: Session, *, on: date, province: str | None = None) -> dict[str, dict[str, int]]:
    """The facilities with an HI contract in force on ``on`` (:func:`in_force_clause`), counted per 2025 province
    (``MedicalFacility.province_2025``; one province when given) and level: the level of 2025 of the
    classification in force on ``on`` (``FacilityClassification.level_2025``: initial, basic, specialised) or,
    for a facility not classified on that day, its level before 2025 (``MedicalFacility.level``: central,
    provincial, district, commune; the two sets of names do not overlap). A facility with two contracts in force
    counts once. One grouped query; no scope check (the caller's)."""
    latest = (select(FacilityClassification.facility_id, func.max(FacilityClassification.valid_from).label("day"))
              .where(FacilityClassification.valid_from <= on).group_by(FacilityClassification.facility_id)
              .subquery())
    stmt = (select(MedicalFacility.province_2025, FacilityClassification.level_2025, MedicalFacility.level,
                   func.count(MedicalFacility.id))
            .select_from(MedicalFacility)
            .outerjoin(latest, latest.c.facility_id == MedicalFacility.id)
            .outerjoin(FacilityClassification, (FacilityClassification.facility_id == MedicalFacility.id)
                       & (FacilityClassification.valid_from == latest.c.day))
            .where(in_force_clause(on), MedicalFacility.province_2025.is_not(None))
            .group_by(MedicalFacility.province_2025, FacilityClassification.level_2025, MedicalFacility.level))
    if province is not None:
        stmt = stmt.where(MedicalFacility.province_2025 == province)
    counts: dict[str, dict[str, int]] = {}
    for code, level_2025, former, number in session.execute(stmt):
        level = getattr(level_2025, "value", level_2025) or getattr(former, "value", former)
        per_level = counts.setdefault(code, {})
        per_level[level] = per_level.get(level, 0) + int(number)
    return {code: dict(sorted(levels.items())) for code, levels in sorted(counts.items())}


#: Whether a facility has a contract in force on a day, as read in the last minute#: Whether a facility has a contract in force on a day, as read in the last minute: (code, day) → (answer, until).
#: A desk looks up thousands of cards a day; the contract changes a few times a year. Signing or ending a contract
#: clears this process's entries at once; other worker processes see the change within ``CONTRACT_CACHE_SECONDS``.
CONTRACT_CACHE_SECONDS = 60.0
_contract_cache: dict[tuple[str, date], tuple[bool, float]] = {}


#: A facility's 2025 province as read in the last minute: code → (province, until). The card desk logs each lookup
#: under it without a query per lookup; cleared with the contract cache.
_province_cache: dict[str, tuple[str | None, float]] = {}


def clear_contract_cache() -> None:
    _contract_cache.clear()
    _province_cache.clear()


def facility_province(session: Session, code: str) -> str | None:
    """The 2025 province of a registered facility (None for a code not registered), read at most once a
    ``CONTRACT_CACHE_SECONDS`` per code in this process (the card desk's hot path)."""
    hit = _province_cache.get(code)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    province = session.scalar(select(MedicalFacility.province_2025).where(MedicalFacility.code == code))
    if len(_province_cache) >= 20_000:
        _province_cache.clear()
    _province_cache[code] = (province, time.monotonic() + CONTRACT_CACHE_SECONDS)
    return province


def _contract_in_force_cached(session: Session, code: str, today: date) -> bool:
    hit = _contract_cache.get((code, today))
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    in_force = contract_in_force(session, code, today) is not None
    if len(_contract_cache) >= 10_000:
        _contract_cache.clear()
    _contract_cache[(code, today)] = (in_force, time.monotonic() + CONTRACT_CACHE_SECONDS)
    return in_force


def known_without_reading(principal: Principal, today: date) -> bool:
    """Are the facility's contract and province for a lookup by this caller today in this process's caches (so that
    :func:`ensure_may_look_up` and :func:`facility_province` read nothing)?"""
    if Role.facility not in principal.roles:
        return True
    code = principal.subject_ref
    now = time.monotonic()
    contract, province = _contract_cache.get((code, today)), _province_cache.get(code)
    return contract is not None and contract[1] > now and province is not None and province[1] > now


def ensure_may_look_up(session: Session, principal: Principal, today: date) -> str | None:
    """The facility code a lookup is made for: a facility user's facility, which must have a contract in force
    today (403 otherwise); None for agency staff."""
    if Role.facility not in principal.roles:
        return None
    code = principal.subject_ref
    if not code or not _contract_in_force_cached(session, code, today):
        raise PermissionDenied("Facility {code} has no HI contract in force on {day}.", code=code or "?",
                               day=today)
    return code
