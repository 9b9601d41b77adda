"""Operations of the registry: people, households, employers. Plain functions ``verb_noun(session, ...)``;
they flush, the caller commits. Every query is scoped to the caller's org unit subtree; every read of a person's
record is audited (``record_read``), every list or export of people is one audit event naming the records returned
(:func:`record_people_listed`), and every change is audited by the flush listener.

The services check the bounds of every value they store (:mod:`ansinh.bounds`: ids, dates, text lengths, control
characters) whoever calls them: the API (whose schemas check the same), the pages, the CLI and the imports.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Text, and_, cast, func, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.audit.service import record_event, record_read
from ansinh.auth.models import OrgLevel, OrgUnit, Role
from ansinh.auth.permissions import Principal, ensure_in_scope, org_scope
from ansinh.bounds import EARLIEST_DATE, MAX_ID, has_control_characters
from ansinh.db import per_dialect
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.registry.identifiers import (
    check_citizen_id,
    check_si_number,
    check_tax_code,
    normalise_name,
    search_key,
)
from ansinh.registry.models import (
    Employer,
    Household,
    Ownership,
    Person,
    Place,
    Sex,
    SiNumberCounter,
    Structure,
)

REGIONS = ("I", "II", "III", "IV")
SECTORS = ("private", "state")


# --- org units and places -----------------------------------------------------------------------------

def office_province_code(session: Session, org_unit: OrgUnit) -> str:
    """The (2025) province code of the province office an org unit belongs to."""
    if org_unit.level == OrgLevel.province:
        return org_unit.place_code
    if org_unit.level == OrgLevel.district and org_unit.parent_id is not None:
        return session.get(OrgUnit, org_unit.parent_id).place_code
    raise ValidationFailed("org_unit", "Records belong to a provincial or local office, not to {code}.",
                           code=org_unit.code)


def place_provinces(session: Session, place_id: int | None) -> tuple[str | None, str | None]:
    """The (2008, 2025) province codes of a place, through the mapping of the two structures."""
    if place_id is None:
        return None, None
    from ansinh.registry import places

    return places.provinces_of(session, place_id)


def check_ref(value: int | None, field: str) -> int | None:
    """A record id given in a body, a form or a file: None, or 1 … 2⁶³−1 (beyond, no record can exist)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValidationFailed(field, "{value} is not a record id.", value=value)
    return value


def clean_text(value: str | None, field: str, max_length: int) -> str | None:
    """Optional free text: trimmed (empty → None), without control characters, at most ``max_length`` long."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(field, "Text is expected.")
    text = value.strip()
    if has_control_characters(text):
        raise ValidationFailed(field, "Control characters (such as NUL) are not accepted.")
    if len(text) > max_length:
        raise ValidationFailed(field, "Longer than {limit} characters.", limit=max_length)
    return text or None


def _check_place(session: Session, place_id: int | None, field: str) -> None:
    if check_ref(place_id, field) is not None and session.get(Place, place_id) is None:
        raise ValidationFailed(field, "Place {id} does not exist.", id=place_id)


# --- SI numbers ---------------------------------------------------------------------------------------

def issue_si_numbers(session: Session, prefix: str, count: int = 1) -> list[str]:
    """Reserve ``count`` new SI numbers: the 2-digit province prefix and an 8-digit sequence. The counter row
    is locked (PostgreSQL) or the write serialised (SQLite), so two offices never get the same number."""
    if len(prefix) != 2 or not prefix.isdigit():
        raise ValidationFailed("prefix", "An SI number prefix is a 2-digit province code; got {prefix}.", prefix=prefix)
    counter = session.scalar(select(SiNumberCounter).where(SiNumberCounter.prefix == prefix).with_for_update())
    if counter is None:
        counter = SiNumberCounter(prefix=prefix, next_value=1)
        session.add(counter)
        session.flush()
    first = counter.next_value
    if first + count > 10**8:
        raise Conflict("The SI numbers of province {prefix} are exhausted.", prefix=prefix)
    session.execute(update(SiNumberCounter).where(SiNumberCounter.prefix == prefix)
                    .values(next_value=SiNumberCounter.next_value + count))
    session.expire(counter)
    return [f"{prefix}{value:08d}" for value in range(first, first + count)]


# --- people -------------------------------------------------------------------------------------------

@dataclass
class PersonData:
    full_name: str
    date_of_birth: date
    sex: Sex
    citizen_id: str | None = None
    si_number: str | None = None
    ethnicity: str | None = None
    residence_place_id: int | None = None
    address: str | None = None
    phone: str | None = None


def check_date_of_birth(value: date | None, today: date | None = None) -> date:
    """A date of birth: from :data:`ansinh.bounds.EARLIEST_DATE` (1900-01-01) to today."""
    if not isinstance(value, date):
        raise ValidationFailed("date_of_birth", "A value is required.")
    if value < EARLIEST_DATE or value > (today or clock.today()):
        raise ValidationFailed("date_of_birth", "The date of birth {value} is not plausible.", value=value.isoformat())
    return value


def validate_person(data: PersonData, province_codes: set[str] | None = None) -> PersonData:
    """Checks and normalises a person's identity (raises ValidationFailed naming the field)."""
    if not isinstance(data.full_name, str):
        raise ValidationFailed("full_name", "A full name has 1 to 120 characters.")
    if has_control_characters(data.full_name):
        raise ValidationFailed("full_name", "Control characters (such as NUL) are not accepted.")
    name = normalise_name(data.full_name)
    if not name or len(name) > 120:
        raise ValidationFailed("full_name", "A full name has 1 to 120 characters.")
    date_of_birth = check_date_of_birth(data.date_of_birth)
    try:
        sex = Sex(getattr(data.sex, "value", data.sex))
    except ValueError:
        raise ValidationFailed("sex", "The sex is male or female.") from None
    citizen_id = clean_text(data.citizen_id, "citizen_id", 12)
    citizen_id = check_citizen_id(citizen_id, date_of_birth, sex, province_codes) if citizen_id else None
    si_number = clean_text(data.si_number, "si_number", 10)
    si_number = check_si_number(si_number) if si_number else None
    phone = clean_text(data.phone, "phone", 20)
    if phone is not None and not phone.lstrip("+").isdigit():
        raise ValidationFailed("phone", "A phone number has digits only; got {value}.", value=phone)
    ethnicity = clean_text(data.ethnicity, "ethnicity", 40)
    return PersonData(full_name=name, date_of_birth=date_of_birth, sex=sex, citizen_id=citizen_id,
                      si_number=si_number, ethnicity=normalise_name(ethnicity) if ethnicity else None,
                      residence_place_id=check_ref(data.residence_place_id, "residence_place_id"),
                      address=clean_text(data.address, "address", 300), phone=phone)


def create_person(session: Session, data: PersonData, org_unit: OrgUnit) -> Person:
    """Register a person managed by ``org_unit``; an SI number is issued when none is given."""
    data = validate_person(data)
    _check_place(session, data.residence_place_id, "residence_place_id")
    if data.citizen_id and session.scalar(select(Person.id).where(Person.citizen_id == data.citizen_id)):
        raise Conflict("A person with citizen ID {value} is already registered.", value=data.citizen_id)
    if data.si_number and session.scalar(select(Person.id).where(Person.si_number == data.si_number)):
        raise Conflict("SI number {value} is already in use.", value=data.si_number)
    province = office_province_code(session, org_unit)
    si_number = data.si_number or issue_si_numbers(session, province[-2:])[0]
    p2008, p2025 = place_provinces(session, data.residence_place_id)
    person = Person(
        citizen_id=data.citizen_id, si_number=si_number, full_name=data.full_name,
        name_search=search_key(data.full_name), date_of_birth=data.date_of_birth, sex=data.sex,
        ethnicity=data.ethnicity, residence_place_id=data.residence_place_id, address=data.address, phone=data.phone,
        org_unit_id=org_unit.id, province_2008=p2008, province_2025=p2025 or province,
    )
    session.add(person)
    session.flush()
    return person


PERSON_FIELDS = ("full_name", "date_of_birth", "sex", "citizen_id", "ethnicity", "residence_place_id", "address",
                 "phone")
#: Fields a person's record cannot be without (a change may leave them out, not empty them).
REQUIRED_PERSON_FIELDS = ("full_name", "date_of_birth", "sex")


def update_person(session: Session, principal: Principal, person_id: int, changes: dict) -> Person:
    """Change a person's identity fields (the flush listener records old and new values)."""
    person = _person_in_scope(session, principal, person_id)
    unknown = set(changes) - set(PERSON_FIELDS)
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], "This field cannot be changed here.")
    for field in REQUIRED_PERSON_FIELDS:
        if field in changes and changes[field] is None:
            raise ValidationFailed(field, "A value is required.")
    merged = PersonData(**{f: changes.get(f, getattr(person, f)) for f in PERSON_FIELDS}, si_number=person.si_number)
    merged = validate_person(merged)
    if merged.citizen_id != person.citizen_id and merged.citizen_id and session.scalar(
            select(Person.id).where(Person.citizen_id == merged.citizen_id, Person.id != person.id)):
        raise Conflict("A person with citizen ID {value} is already registered.", value=merged.citizen_id)
    _check_place(session, merged.residence_place_id, "residence_place_id")
    for field in PERSON_FIELDS:
        setattr(person, field, getattr(merged, field))
    person.name_search = search_key(merged.full_name)
    if "residence_place_id" in changes:
        p2008, p2025 = place_provinces(session, merged.residence_place_id)
        person.province_2008, person.province_2025 = p2008, p2025 or person.province_2025
    session.flush()
    return person


def _person_in_scope(session: Session, principal: Principal, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("Person {id} does not exist.", id=person_id)
    if Role.citizen in principal.roles and not principal.is_agency_staff:
        if person.citizen_id is None or person.citizen_id != principal.subject_ref:
            raise PermissionDenied()
        return person
    ensure_in_scope(principal, session.get(OrgUnit, person.org_unit_id))
    return person


def get_person(session: Session, principal: Principal, person_id: int) -> Person:
    """A person's record (the read is audited); 403 outside the caller's scope."""
    person = _person_in_scope(session, principal, person_id)
    record_read(session, "person", person.id, org_unit_id=person.org_unit_id, person_ref=person.citizen_id or person.si_number)
    return person


def own_person(session: Session, principal: Principal) -> Person:
    """The person a citizen's account stands for (its citizen ID), the read audited; 404 for any other account."""
    if Role.citizen not in principal.roles or not principal.subject_ref:
        raise NotFound("No personal record is linked to this account.")
    person = session.scalar(select(Person).where(Person.citizen_id == principal.subject_ref,
                                                 Person.merged_into_id.is_(None)))
    if person is None:
        raise NotFound("No personal record is linked to this account.")
    record_read(session, "person", person.id, org_unit_id=person.org_unit_id, person_ref=person.citizen_id)
    return person


def record_people_listed(session: Session, principal: Principal | None, people: Iterable[Person], *, what: str,
                         query: dict | None = None, total: int | None = None) -> None:
    """One audit event (action ``list``) for a list or an export that returns people (a search, a household's
    members, an employer's workers, the samples of a population sync): what was listed, the query, and the records
    returned (ids and SI numbers), not one event per row."""
    people = list(people)
    details = {"what": what, "query": {k: v for k, v in (query or {}).items() if v not in (None, "")},
               "count": len(people), "person_ids": [p.id for p in people],
               "si_numbers": [p.si_number for p in people]}
    if total is not None:
        details["total"] = total
    record_event(session, "list", "person", None, org_unit_id=principal.org_unit_id if principal else None,
                 details=details)


def find_person(session: Session, principal: Principal, *, citizen_id: str | None = None,
                si_number: str | None = None) -> Person | None:
    """A person by citizen ID or SI number, within the caller's scope (audited), or None — also when the person
    exists elsewhere: a lookup never tells whether an identifier is registered in another province."""
    if citizen_id:
        found = select(Person.id).where(Person.citizen_id == citizen_id.strip())
    elif si_number:
        found = select(Person.id).where(Person.si_number == si_number.strip())
    else:
        raise ValidationFailed("citizen_id", "Give a citizen ID or an SI number.")
    person_id = session.scalar(found.where(org_scope(principal, Person.org_unit_id)))
    return None if person_id is None else get_person(session, principal, person_id)


def person_ids_by_citizen_id(session: Session, citizen_ids: Sequence[str]) -> dict[str, int]:
    """citizen ID → the id of the person registered with it (the surviving record when it was merged), for the IDs
    found: one query (the IDs as one array parameter on PostgreSQL). For batch work that links records to people
    (claims intake); it answers ids only, no personal data."""
    keys = sorted({key for key in citizen_ids if key})
    if not keys:
        return {}
    stmt = select(Person.citizen_id, func.coalesce(Person.merged_into_id, Person.id))
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import any_, bindparam

        rows = session.execute(stmt.where(Person.citizen_id == any_(bindparam(
            "keys", keys, type_=postgresql.ARRAY(Person.citizen_id.type))))).all()
    else:
        rows = [row for offset in range(0, len(keys), 5_000)
                for row in session.execute(stmt.where(Person.citizen_id.in_(keys[offset:offset + 5_000]))).all()]
    return {citizen_id: person_id for citizen_id, person_id in rows}


def find_person_for_declaration(session: Session, *, citizen_id: str | None, si_number: str | None) -> Person:
    """The worker an employer declares, by citizen ID or SI number (anywhere in the country: a worker may live in
    another province than the employer). Not a read of the record: nothing is returned to the employer but the
    declaration."""
    if citizen_id:
        person = session.scalar(select(Person).where(Person.citizen_id == citizen_id.strip()))
    elif si_number:
        person = session.scalar(select(Person).where(Person.si_number == si_number.strip()))
    else:
        raise ValidationFailed("citizen_id", "Give the worker's citizen ID or SI number.")
    if person is None:
        raise ValidationFailed("citizen_id", "No person with this identifier is registered; register them first.")
    return person


def search_people(session: Session, principal: Principal, text: str, *, limit: int = 50, offset: int = 0
                  ) -> tuple[Sequence[Person], int]:
    """By citizen ID (12 digits), SI number (10 digits) or name without accents ("nguyen van a" finds
    "Nguyễn Văn A"); scoped to the caller's subtree. The list is audited: one event naming the people returned and
    the query (:func:`record_people_listed`)."""
    text = (text or "").strip()
    scope = org_scope(principal, Person.org_unit_id)
    condition = _person_text_condition(text) if text else Person.id.is_not(None)
    stmt = select(Person).where(scope, condition, Person.merged_into_id.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    people = session.scalars(stmt.order_by(Person.name_search, Person.id).limit(limit).offset(offset)).all()
    record_people_listed(session, principal, people, what="search", total=total,
                         query={"q": text, "limit": limit, "offset": offset})
    return people, total


def lock_people(session: Session, people: Iterable[Person]) -> None:
    """Lock the rows of these people (``SELECT … FOR UPDATE``, in id order so that two requests never wait on each
    other in a cycle) and refresh them: what is checked next (their household, their coverage) is what other
    requests committed. On SQLite, whose writers are serialised, the read only refreshes."""
    ids = sorted({p.id for p in people})
    if ids:
        session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id).with_for_update()
                        .execution_options(populate_existing=True)).all()


# --- households ---------------------------------------------------------------------------------------

def create_household(session: Session, *, head: Person, members: Sequence[Person] = (), org_unit: OrgUnit,
                     address: str | None = None, residence_place_id: int | None = None) -> Household:
    """A household of a head and members. Their rows are locked first (in id order): two requests putting one
    person in two households are applied one after the other, and the second is refused."""
    address = clean_text(address, "address", 300)
    _check_place(session, residence_place_id, "residence_place_id")
    people = [head, *[m for m in members if m.id != head.id]]
    lock_people(session, people)
    for person in people:
        if person.household_id is not None:
            raise Conflict("{name} already belongs to household {household}.", name=person.full_name,
                           household=person.household_id)
    prefix = office_province_code(session, org_unit)[-2:]
    household = Household(code=f"pending-{uuid.uuid4().hex[:12]}", head_person_id=head.id, org_unit_id=org_unit.id,
                          address=address or head.address, residence_place_id=residence_place_id or head.residence_place_id)
    session.add(household)
    session.flush()
    household.code = f"HGD{prefix}{household.id:09d}"  # from the id: unique without a counter
    for person in people:
        person.household_id = household.id
        person.relation_to_head = "head" if person.id == head.id else "member"
    session.flush()
    return household


def household_members(session: Session, household_id: int) -> Sequence[Person]:
    return session.scalars(select(Person).where(Person.household_id == household_id).order_by(Person.id)).all()


# --- employers ----------------------------------------------------------------------------------------

@dataclass
class EmployerData:
    tax_code: str
    name: str
    ownership: Ownership | str
    region: str
    sector: str = "private"
    place_id: int | None = None
    address: str | None = None
    e_transactions: bool = False
    contact_name: str | None = None
    phone: str | None = None
    email: str | None = None


def validate_employer(data: EmployerData) -> EmployerData:
    tax_code = check_tax_code(clean_text(data.tax_code, "tax_code", 14) or "")
    if not isinstance(data.name, str):
        raise ValidationFailed("name", "An employer's name has 1 to 200 characters.")
    if has_control_characters(data.name):
        raise ValidationFailed("name", "Control characters (such as NUL) are not accepted.")
    name = normalise_name(data.name)
    if not name or len(name) > 200:
        raise ValidationFailed("name", "An employer's name has 1 to 200 characters.")
    try:
        ownership = Ownership(getattr(data.ownership, "value", data.ownership))
    except ValueError:
        raise ValidationFailed("ownership", "Ownership {value} is not one of {accepted}.", value=data.ownership,
                               accepted=", ".join(o.value for o in Ownership)) from None
    if data.region not in REGIONS:
        raise ValidationFailed("region", "Region {value} is not one of {accepted}.", value=data.region,
                               accepted=", ".join(REGIONS))
    if data.sector not in SECTORS:
        raise ValidationFailed("sector", "Sector {value} is not one of {accepted}.", value=data.sector,
                               accepted=", ".join(SECTORS))
    email = clean_text(data.email, "email", 254)
    if email and "@" not in email:
        raise ValidationFailed("email", "{value} is not an e-mail address.", value=email)
    return EmployerData(tax_code=tax_code, name=name, ownership=ownership, region=data.region, sector=data.sector,
                        place_id=check_ref(data.place_id, "place_id"), address=clean_text(data.address, "address", 300),
                        e_transactions=bool(data.e_transactions),
                        contact_name=clean_text(data.contact_name, "contact_name", 120),
                        phone=clean_text(data.phone, "phone", 20), email=email)


def create_employer(session: Session, data: EmployerData, org_unit: OrgUnit) -> Employer:
    data = validate_employer(data)
    _check_place(session, data.place_id, "place_id")
    if session.scalar(select(Employer.id).where(Employer.tax_code == data.tax_code)):
        raise Conflict("An employer with tax code {value} is already registered.", value=data.tax_code)
    if len(data.tax_code) == 13 and not session.scalar(select(Employer.id).where(Employer.tax_code == data.tax_code[:10])):
        raise ValidationFailed("tax_code", "Branch {value} needs its parent {parent} registered first.",
                               value=data.tax_code, parent=data.tax_code[:10])
    p2008, p2025 = place_provinces(session, data.place_id)
    employer = Employer(**{k: getattr(data, k) for k in EmployerData.__dataclass_fields__},
                        name_search=search_key(data.name), org_unit_id=org_unit.id, province_2008=p2008,
                        province_2025=p2025 or office_province_code(session, org_unit))
    session.add(employer)
    session.flush()
    return employer


def ensure_employer_access(session: Session, principal: Principal, employer: Employer) -> None:
    """Agency staff within scope; an employer user only for their own employer (by tax code)."""
    if principal.is_agency_staff:
        ensure_in_scope(principal, session.get(OrgUnit, employer.org_unit_id))
    elif not (Role.employer in principal.roles and principal.subject_ref == employer.tax_code):
        raise PermissionDenied("You may only see your own employer.")


def get_employer(session: Session, principal: Principal, employer_id: int) -> Employer:
    employer = session.get(Employer, employer_id)
    if employer is None:
        raise NotFound("Employer {id} does not exist.", id=employer_id)
    ensure_employer_access(session, principal, employer)
    return employer


def get_employer_by_tax_code(session: Session, principal: Principal, tax_code: str) -> Employer:
    employer = session.scalar(select(Employer).where(Employer.tax_code == tax_code.replace("-", "").strip()))
    if employer is None:
        raise NotFound("No employer has tax code {value}.", value=tax_code)
    ensure_employer_access(session, principal, employer)
    return employer


def list_employers(session: Session, principal: Principal, text: str = "", *, limit: int = 50, offset: int = 0
                   ) -> tuple[Sequence[Employer], int]:
    if principal.is_agency_staff:
        condition = org_scope(principal, Employer.org_unit_id)
    else:
        condition = Employer.tax_code == (principal.subject_ref or "-")
    text = (text or "").strip()
    if text:
        key = search_key(text)
        condition = condition & or_(Employer.tax_code.startswith(text.replace("-", "")),
                                    Employer.name_search.contains(key, autoescape=True))
    stmt = select(Employer).where(condition)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return session.scalars(stmt.order_by(Employer.name_search).limit(limit).offset(offset)).all(), total


def org_unit_for_new_record(session: Session, principal: Principal, org_unit_code: str | None) -> OrgUnit:
    """The office a new record belongs to: the one named (in scope), else the caller's own."""
    if org_unit_code:
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == org_unit_code))
        if unit is None:
            raise ValidationFailed("org_unit_code", "Org unit {code} does not exist.", code=org_unit_code)
        ensure_in_scope(principal, unit)
        return unit
    unit = session.get(OrgUnit, principal.org_unit_id)
    if unit.level == OrgLevel.national:
        raise ValidationFailed("org_unit_code", "Say which provincial or local office the record belongs to.")
    return unit


def structure_of(value: str) -> Structure:
    try:
        return Structure(value)
    except ValueError:
        raise ValidationFailed("structure", "Structure {value} is not one of 2008, 2025.", value=value) from None


# --- lists of people and employers (the list pages and their Excel exports) ---------------------------

def provinces_in_scope(session: Session, principal: Principal) -> dict[str, str]:
    """The (2025) provinces whose records the caller may see, code → name, by name: every province for national
    staff, else the province of the caller's office (and of the offices under it)."""
    from ansinh.registry import places

    names = places.province_names(session)
    if principal.org_unit_level == OrgLevel.national.value:
        codes = set(names)
    else:
        units = session.scalars(select(OrgUnit).where(org_scope(principal, OrgUnit.id))).all()
        codes = set()
        for unit in units:
            if unit.level != OrgLevel.national:
                codes.add(office_province_code(session, unit))
        codes.add(office_province_code(session, session.get(OrgUnit, principal.org_unit_id)))
    return dict(sorted(((code, names.get(code, code)) for code in codes), key=lambda item: search_key(item[1])))


def communes_of(session: Session, province_code: str) -> list[Place]:
    """The communes (2025 structure) of a province, by name."""
    if not province_code:
        return []
    return list(session.scalars(select(Place).where(
        Place.structure == Structure.from_2025, Place.level == "commune", Place.province_code == province_code)
        .order_by(Place.name_search, Place.id)))


def _person_text_condition(text: str):
    """The free-text search of people: citizen ID (12 digits), SI number (10 digits) or name without accents."""
    if text.isdigit() and len(text) == 12:
        return Person.citizen_id == text
    if text.isdigit() and len(text) == 10:
        return Person.si_number == text
    return starts_a_word(Person.name_search, search_key(text))


#: The longest word-initial prefix the name index holds (migration 0013's ``name_word_prefixes``): a longer search
#: is looked up by its first letters and checked in full on the rows found.
NAME_PREFIX_LENGTH = 12


def starts_a_word(column, key: str):
    """The names (accent-free, see :func:`search_key`) in which a word starts with ``key``: "nguyen van" finds
    "nguyen van an" and "le nguyen van binh", not "thi nguyenvan". On PostgreSQL the GIN index of every word-initial
    prefix answers it with the people found and no others; elsewhere LIKE."""
    like = or_(column.startswith(key, autoescape=True), column.contains(f" {key}", autoescape=True))
    indexed = func.name_word_prefixes(column).op("@>", is_comparison=True)(
        cast(postgresql.array([key[:NAME_PREFIX_LENGTH]]), postgresql.ARRAY(Text)))
    if len(key) > NAME_PREFIX_LENGTH:
        indexed = and_(indexed, like)
    return per_dialect(postgresql=indexed, default=like)


HOUSEHOLD_FILTERS = ("yes", "no")


@dataclass
class PeopleFilter:
    """What a list of people is narrowed to (every field optional)."""

    q: str = ""
    province: str = ""
    commune_id: int | None = None
    sex: str = ""
    born_from: int | None = None
    born_to: int | None = None
    household: str = ""  # yes | no
    scheme: str = ""  # a scheme covering the person on ``on`` (today)
    on: date | None = None

    def as_query(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "") and k != "on"}


def place_names(session: Session, ids: Iterable[int | None] | None = None) -> dict[int, str]:
    """Place id → name, for the ids given (the rows of a page), or every commune (an export)."""
    stmt = select(Place.id, Place.name)
    if ids is None:
        stmt = stmt.where(Place.level == "commune")
    else:
        wanted = sorted({i for i in ids if i is not None})
        if not wanted:
            return {}
        stmt = stmt.where(Place.id.in_(wanted))
    return {place_id: name for place_id, name in session.execute(stmt)}


def check_people_filter(data: PeopleFilter) -> PeopleFilter:
    """Checks a list's filters (raises ValidationFailed naming the filter)."""
    from ansinh.participation.models import Scheme

    if data.sex and data.sex not in {s.value for s in Sex}:
        raise ValidationFailed("sex", "The sex is male or female.")
    for field in ("born_from", "born_to"):
        year = getattr(data, field)
        if year is not None and not EARLIEST_DATE.year <= year <= clock.today().year:
            raise ValidationFailed(field, "{value} is not a plausible year of birth.", value=str(year))
    if data.born_from and data.born_to and data.born_from > data.born_to:
        raise ValidationFailed("born_to", "The last year is before the first.")
    if data.household and data.household not in HOUSEHOLD_FILTERS:
        raise ValidationFailed("household", "Choose yes or no.")
    if data.scheme and data.scheme not in {s.value for s in Scheme}:
        raise ValidationFailed("scheme", "Scheme {value} is not one of {accepted}.", value=data.scheme,
                               accepted=", ".join(s.value for s in Scheme))
    check_ref(data.commune_id, "commune_id")
    return data


def people_query(principal: Principal, data: PeopleFilter):
    """A ``select`` of the columns of a list of people (never the entities: an export may stream a million rows),
    narrowed to the caller's scope and the filters; merged records are left out. The residence commune is the column
    ``residence_place_id`` (see :func:`place_names`)."""
    from ansinh.participation.models import CoveragePeriod
    from ansinh.participation.service import active
    from ansinh.registry.models import PlaceMapping

    data = check_people_filter(data)
    # The residence's place, named by the caller (place_names): no join, so that the keys of a deep page are read
    # from an index alone and a search sorts the rows found without a lookup each.
    stmt = (select(Person.id, Person.full_name, Person.citizen_id, Person.si_number, Person.date_of_birth,
                   Person.sex, Person.province_2025, Person.household_id, Person.residence_place_id)
            .where(org_scope(principal, Person.org_unit_id), Person.merged_into_id.is_(None)))
    text = (data.q or "").strip()
    if text:
        stmt = stmt.where(_person_text_condition(text))
    if data.province:
        stmt = stmt.where(Person.province_2025 == data.province)
    if data.commune_id:
        old = select(PlaceMapping.old_place_id).where(PlaceMapping.new_place_id == data.commune_id)
        stmt = stmt.where(or_(Person.residence_place_id == data.commune_id, Person.residence_place_id.in_(old)))
    if data.sex:
        stmt = stmt.where(Person.sex == Sex(data.sex))
    if data.born_from:
        stmt = stmt.where(Person.date_of_birth >= date(data.born_from, 1, 1))
    if data.born_to:
        stmt = stmt.where(Person.date_of_birth <= date(data.born_to, 12, 31))
    if data.household == "yes":
        stmt = stmt.where(Person.household_id.is_not(None))
    elif data.household == "no":
        stmt = stmt.where(Person.household_id.is_(None))
    if data.scheme:
        covered = active(select(CoveragePeriod.id).where(CoveragePeriod.person_id == Person.id,
                                                         CoveragePeriod.scheme == data.scheme),
                         data.on or clock.today())
        stmt = stmt.where(covered.exists())
    return stmt


def record_people_exported(session: Session, principal: Principal | None, *, what: str, query: dict,
                           count: int) -> None:
    """One audit event (action ``export``) for an export of people: the query and the number of rows written (an
    export may hold a million people: their ids are in the query's answer, not in the log)."""
    record_event(session, "export", "person", None, org_unit_id=principal.org_unit_id if principal else None,
                 details={"what": what, "query": {k: v for k, v in query.items() if v not in (None, "")},
                          "count": count})


ELECTRONIC_FILTERS = ("yes", "no")


@dataclass
class EmployersFilter:
    q: str = ""
    province: str = ""
    ownership: str = ""
    region: str = ""
    electronic: str = ""  # yes | no

    def as_query(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def employers_query(principal: Principal, data: EmployersFilter):
    """A ``select`` of the columns of a list of employers in the caller's scope (an employer user: their own)."""
    if data.ownership and data.ownership not in {o.value for o in Ownership}:
        raise ValidationFailed("ownership", "Ownership {value} is not one of {accepted}.", value=data.ownership,
                               accepted=", ".join(o.value for o in Ownership))
    if data.region and data.region not in REGIONS:
        raise ValidationFailed("region", "Region {value} is not one of {accepted}.", value=data.region,
                               accepted=", ".join(REGIONS))
    if data.electronic and data.electronic not in ELECTRONIC_FILTERS:
        raise ValidationFailed("electronic", "Choose yes or no.")
    if principal.is_agency_staff:
        condition = org_scope(principal, Employer.org_unit_id)
    else:
        condition = Employer.tax_code == (principal.subject_ref or "-")
    stmt = (select(Employer.id, Employer.name, Employer.tax_code, Employer.ownership, Employer.region,
                   Employer.province_2025, Employer.e_transactions, Employer.created_at, Place.name.label("commune"))
            .outerjoin(Place, Place.id == Employer.place_id).where(condition))
    text = (data.q or "").strip()
    if text:
        key = search_key(text)
        stmt = stmt.where(or_(Employer.tax_code.startswith(text.replace("-", ""), autoescape=True),
                              Employer.name_search.contains(key, autoescape=True)))
    if data.province:
        stmt = stmt.where(Employer.province_2025 == data.province)
    if data.ownership:
        stmt = stmt.where(Employer.ownership == Ownership(data.ownership))
    if data.region:
        stmt = stmt.where(Employer.region == data.region)
    if data.electronic:
        stmt = stmt.where(Employer.e_transactions.is_(data.electronic == "yes"))
    return stmt


#: What an officer may change of an employer's record. Not ``e_transactions``: after creation, only the registration
#: for electronic transactions (``ansinh.portal.employer``) sets it, with its date.
EMPLOYER_FIELDS = ("name", "ownership", "region", "sector", "place_id", "address", "contact_name", "phone", "email")


def update_employer(session: Session, principal: Principal, employer_id: int, changes: dict) -> Employer:
    """Change an employer's record (not its tax code: the key its users and payments know it by). Agency staff of
    its scope only; validated as on creation; the flush listener records old and new values."""
    employer = session.get(Employer, employer_id)
    if employer is None:
        raise NotFound("Employer {id} does not exist.", id=employer_id)
    if not principal.is_agency_staff:
        raise PermissionDenied()
    ensure_in_scope(principal, session.get(OrgUnit, employer.org_unit_id))
    unknown = set(changes) - set(EMPLOYER_FIELDS)
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], "This field cannot be changed here.")
    merged = EmployerData(tax_code=employer.tax_code,
                          **{f: changes[f] if f in changes else getattr(employer, f) for f in EMPLOYER_FIELDS})
    merged = validate_employer(merged)
    _check_place(session, merged.place_id, "place_id")
    for field in EMPLOYER_FIELDS:
        setattr(employer, field, getattr(merged, field))
    employer.name_search = search_key(merged.name)
    if "place_id" in changes and merged.place_id is not None:
        p2008, p2025 = place_provinces(session, merged.place_id)
        employer.province_2008, employer.province_2025 = p2008, p2025 or employer.province_2025
    session.flush()
    return employer


# --- merging duplicate people -------------------------------------------------------------------------

@dataclass
class MergeResult:
    kept: Person
    moved: dict[str, int]
    replayed: bool = False


def _payer_key(person_id: int) -> str:
    return f"P:{person_id}"


def merge_people(session: Session, principal: Principal, keep_id: int, duplicate_id: int, reason: str
                 ) -> MergeResult:
    """Merge a duplicate record into the one kept, in the caller's transaction: the duplicate's coverage periods,
    declarations, cards, card lookups, bills, bill lines and its payer account (``P:<id>`` on bills, payments,
    ledger entries, write-offs and billing exceptions) move to the kept record; it takes the duplicate's place in a
    household and the identifiers and contact details the kept record lacks; the duplicate is marked
    ``merged_into_id``. Both rows are locked first. Refused when either is outside the caller's scope, when both
    carry different citizen IDs, when they belong to different households, or when both were billed as voluntary
    payers for the same month. Audited as one ``merge`` event naming both records and the reason (the row changes
    are recorded by the listener as usual). Merging again the same pair changes nothing."""
    from ansinh.cards.models import CardLookup, HICard
    from ansinh.collection.models import Bill, BillingException, BillLine, LedgerEntry, Payment, WriteOff
    from ansinh.participation.models import CoveragePeriod, Declaration
    from ansinh.db import utcnow
    from ansinh.participation.service import refresh_overlaps

    reason = clean_text(reason, "reason", 300)
    if not reason:
        raise ValidationFailed("reason", "Say why these records are the same person.")
    check_ref(keep_id, "keep_id")
    check_ref(duplicate_id, "duplicate_id")
    if keep_id == duplicate_id:
        raise ValidationFailed("duplicate", "A record cannot be merged into itself.")
    keep = _person_in_scope(session, principal, keep_id)
    duplicate = _person_in_scope(session, principal, duplicate_id)
    if not principal.is_agency_staff:
        raise PermissionDenied()
    lock_people(session, [keep, duplicate])
    if duplicate.merged_into_id == keep.id:
        return MergeResult(keep, {}, replayed=True)
    if duplicate.merged_into_id is not None:
        raise Conflict("This record was already merged into another.")
    if keep.merged_into_id is not None:
        raise Conflict("The record to keep was itself merged into another.")
    if keep.citizen_id and duplicate.citizen_id and keep.citizen_id != duplicate.citizen_id:
        raise ValidationFailed("duplicate", "The two records carry different citizen IDs ({keep} and {duplicate}): "
                               "they are not the same person.", keep=keep.citizen_id, duplicate=duplicate.citizen_id)
    if keep.household_id and duplicate.household_id and keep.household_id != duplicate.household_id:
        raise Conflict("The two records belong to different households; move one of them first.")
    old_key, new_key = _payer_key(duplicate.id), _payer_key(keep.id)
    both_billed = session.scalar(select(func.count()).select_from(Bill).where(
        Bill.payer_key == old_key, Bill.period.in_(select(Bill.period).where(Bill.payer_key == new_key))))
    both_billed = both_billed or session.scalar(select(func.count()).select_from(BillingException).where(
        BillingException.payer_key == old_key,
        BillingException.run_id.in_(select(BillingException.run_id).where(BillingException.payer_key == new_key))))
    if both_billed:
        raise Conflict("Both records were billed as voluntary payers for the same month; the bills must be "
                       "settled before the records are merged.")

    moved: dict[str, int] = {}

    def move(model, column, old, new) -> None:
        result = session.execute(update(model).where(column == old).values({column.key: new})
                                 .execution_options(synchronize_session=False))
        if result.rowcount:
            moved[model.__tablename__ + ("" if column.key == "person_id" else f".{column.key}")] = result.rowcount

    session.flush()
    # A person has one current card: the kept record's stays, the duplicate's current ones are replaced.
    if session.scalar(select(HICard.id).where(HICard.person_id == keep.id, HICard.superseded_at.is_(None))):
        session.execute(update(HICard).where(HICard.person_id == duplicate.id, HICard.superseded_at.is_(None))
                        .values(superseded_at=utcnow()).execution_options(synchronize_session=False))
    for model in (CoveragePeriod, Declaration, HICard, CardLookup, Bill, BillLine):
        move(model, model.person_id, duplicate.id, keep.id)
    for model in (Bill, Payment, LedgerEntry, WriteOff, BillingException):
        move(model, model.payer_key, old_key, new_key)
    session.execute(update(Household).where(Household.head_person_id == duplicate.id)
                    .values(head_person_id=keep.id).execution_options(synchronize_session=False))

    household_id, relation = duplicate.household_id, duplicate.relation_to_head
    citizen_id = duplicate.citizen_id if not keep.citizen_id else None
    duplicate.merged_into_id = keep.id
    duplicate.household_id = None
    duplicate.relation_to_head = None
    if citizen_id:
        duplicate.citizen_id = None
        session.flush()  # the citizen ID is unique: free it before the kept record takes it
        keep.citizen_id = citizen_id
    if household_id and not keep.household_id:
        keep.household_id, keep.relation_to_head = household_id, relation
    for field in ("ethnicity", "residence_place_id", "address", "phone"):
        if getattr(keep, field) is None and getattr(duplicate, field) is not None:
            setattr(keep, field, getattr(duplicate, field))
    if keep.residence_place_id is not None and keep.province_2025 is None:
        keep.province_2008, keep.province_2025 = place_provinces(session, keep.residence_place_id)
    session.flush()
    session.expire_all()
    refresh_overlaps(session, keep.id)
    record_event(session, "merge", "person", keep.id, org_unit_id=keep.org_unit_id,
                 person_ref=keep.citizen_id or keep.si_number,
                 details={"kept_id": keep.id, "duplicate_id": duplicate.id, "kept_si_number": keep.si_number,
                          "duplicate_si_number": duplicate.si_number, "reason": reason, "moved": moved})
    return MergeResult(keep, moved)


def dates_of_birth(session: Session, person_ids) -> "pl.DataFrame":  # noqa: F821 - polars imported below
    """The registry's date of birth of some people (``person_ids``: ids, or a subquery of ids), in one read, for batch
    work (the claims appraisal): ``person_id, date_of_birth``."""
    import polars as pl

    from ansinh.bulk import read_frame

    return read_frame(session, select(Person.id, Person.date_of_birth).where(Person.id.in_(person_ids)),
                      {"person_id": pl.Int64, "date_of_birth": pl.Date})
