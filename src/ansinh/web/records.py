"""Records named the way a person recognises them: a person by name and citizen ID, an employer by name and tax code,
a user by username — never ``person#1366``. Used by the audit log, which names the records its events are about.

:func:`describe_records` takes (record type, id) pairs and answers, for each, a text and a link (or None), reading
each kind of record once for the whole page."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.i18n import N_, gettext
from ansinh.web.labels import label, register_labels


@dataclass(frozen=True)
class Described:
    text: str
    href: str | None = None


#: Record types as a reader names them (the ``|label`` filter also shows them in filters).
RECORD_TYPES: dict[str, str] = {
    "person": N_("Person"),
    "employer": N_("Employer"),
    "household": N_("Household"),
    "app_user": N_("User account"),
    "user_role": N_("Role of a user"),
    "api_token": N_("API token"),
    "org_unit": N_("Org unit"),
    "medical_facility": N_("Medical facility"),
    "facility_contract": N_("Health insurance contract"),
    "hi_card": N_("Health insurance card"),
    "bill": N_("Bill"),
    "billing_run": N_("Billing run"),
    "payment": N_("Payment"),
    "inspection_case": N_("Inspection case"),
    "write_off": N_("Write-off"),
    "declaration": N_("Declaration"),
    "coverage_period": N_("Coverage period"),
    "import_batch": N_("Import"),
    "statement_import": N_("Bank statement"),
    "claim_file": N_("Claim file"),
    "claim": N_("Medical claim"),
    "route": N_("Page or API operation"),
}
register_labels({f"record:{key}": text for key, text in RECORD_TYPES.items()})


def record_type_label(entity_type: str) -> str:
    return label(f"record:{entity_type}") if entity_type in RECORD_TYPES else entity_type.replace("_", " ")


def _ints(ids: Iterable[str]) -> list[int]:
    return [int(i) for i in ids if i and i.isdigit() and len(i) < 19]


def _people(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.registry.models import Person

    rows = session.execute(select(Person.id, Person.full_name, Person.citizen_id, Person.si_number)
                           .where(Person.id.in_(_ints(ids))))
    return {str(i): Described(f"{name} · {cid or si}", f"/registry/people/{i}") for i, name, cid, si in rows}


def _employers(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.registry.models import Employer

    rows = session.execute(select(Employer.id, Employer.name, Employer.tax_code).where(Employer.id.in_(_ints(ids))))
    return {str(i): Described(f"{name} · {tax}", f"/registry/employers/{i}") for i, name, tax in rows}


def _users(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.auth.models import User

    rows = session.execute(select(User.id, User.username, User.full_name).where(User.id.in_(_ints(ids))))
    return {str(i): Described(f"{username} ({name})", f"/admin/users/{i}") for i, username, name in rows}


def _user_roles(session: Session, ids: set[str]) -> dict[str, Described]:
    """``12/administrator``: the role of user 12."""
    users = _users(session, {i.split("/", 1)[0] for i in ids})
    out = {}
    for key in ids:
        user_id, _, role = key.partition("/")
        if user_id in users:
            out[key] = Described(f"{users[user_id].text}: {label(role)}", users[user_id].href)
    return out


def _tokens(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.auth.models import ApiToken

    owners = dict(session.execute(select(ApiToken.id, ApiToken.user_id).where(ApiToken.id.in_(_ints(ids)))).all())
    users = _users(session, {str(u) for u in owners.values()})
    return {str(t): Described(gettext("API token of {user}").format(user=users[str(u)].text), users[str(u)].href)
            for t, u in owners.items() if str(u) in users}


def _org_units(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.auth.models import OrgUnit

    rows = session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(_ints(ids))))
    return {str(i): Described(name, "/admin/org-units") for i, name in rows}


def _households(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.registry.models import Household

    heads = dict(session.execute(select(Household.id, Household.head_person_id)
                                 .where(Household.id.in_(_ints(ids)))).all())
    people = _people(session, {str(p) for p in heads.values() if p is not None})
    return {str(h): Described(gettext("Household of {person}").format(person=people[str(p)].text), people[str(p)].href)
            for h, p in heads.items() if str(p) in people}


def _facilities(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.cards.models import MedicalFacility

    rows = session.execute(select(MedicalFacility.id, MedicalFacility.name, MedicalFacility.code)
                           .where(MedicalFacility.id.in_(_ints(ids))))
    return {str(i): Described(f"{name} · {code}") for i, name, code in rows}


def _contracts(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.cards.models import FacilityContract, MedicalFacility

    rows = session.execute(select(FacilityContract.id, FacilityContract.contract_number, MedicalFacility.name)
                           .join(MedicalFacility, MedicalFacility.id == FacilityContract.facility_id)
                           .where(FacilityContract.id.in_(_ints(ids))))
    return {str(i): Described(f"{number} · {name}") for i, number, name in rows}


def _cards(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.cards.models import HICard
    from ansinh.registry.models import Person

    rows = session.execute(select(HICard.id, HICard.card_code, Person.id, Person.full_name)
                           .join(Person, Person.id == HICard.person_id).where(HICard.id.in_(_ints(ids))))
    return {str(i): Described(f"{code} · {name}", f"/registry/people/{p}") for i, code, p, name in rows}


def _bills(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.collection.models import Bill

    rows = session.execute(select(Bill.id, Bill.reference).where(Bill.id.in_(_ints(ids))))
    return {str(i): Described(reference, f"/collection/bills/{i}") for i, reference in rows}


def _inspections(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.collection.models import InspectionCase
    from ansinh.registry.models import Employer

    rows = session.execute(select(InspectionCase.id, Employer.name, Employer.tax_code)
                           .join(Employer, Employer.id == InspectionCase.employer_id)
                           .where(InspectionCase.id.in_(_ints(ids))))
    return {str(i): Described(gettext("Inspection of {employer}").format(employer=f"{name} · {tax}"),
                              f"/collection/inspections/{i}") for i, name, tax in rows}


def _declarations(session: Session, ids: set[str]) -> dict[str, Described]:
    from ansinh.participation.models import Declaration
    from ansinh.registry.models import Employer, Person

    rows = session.execute(select(Declaration.id, Person.full_name, Person.citizen_id, Employer.name, Employer.id)
                           .join(Person, Person.id == Declaration.person_id)
                           .join(Employer, Employer.id == Declaration.employer_id)
                           .where(Declaration.id.in_(_ints(ids))))
    return {str(i): Described(f"{person} · {cid or ''} — {employer}".replace(" ·  —", " —"),
                              f"/registry/employers/{e}") for i, person, cid, employer, e in rows}


def _routes(session: Session, ids: set[str]) -> dict[str, Described]:
    """A refused request names its operation (``GET /admin/users``): already words, not an id."""
    return {i: Described(i) for i in ids}


NAMERS: dict[str, Callable[[Session, set[str]], dict[str, Described]]] = {
    "person": _people, "employer": _employers, "app_user": _users, "user_role": _user_roles, "api_token": _tokens,
    "org_unit": _org_units, "household": _households, "medical_facility": _facilities,
    "facility_contract": _contracts, "hi_card": _cards, "bill": _bills, "inspection_case": _inspections,
    "declaration": _declarations, "route": _routes,
}


def describe_records(session: Session, pairs: Iterable[tuple[str, str | None]]) -> dict[tuple[str, str], Described]:
    """Each (record type, id) named for a reader; a record that no longer exists (or a kind without a namer) is
    named by its kind and number ("Payment no. 12")."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entity_type, entity_id in pairs:
        if entity_id:
            wanted[entity_type].add(entity_id)
    out: dict[tuple[str, str], Described] = {}
    for entity_type, ids in wanted.items():
        namer = NAMERS.get(entity_type)
        found = namer(session, ids) if namer is not None else {}
        for entity_id in ids:
            out[(entity_type, entity_id)] = found.get(entity_id) or Described(
                gettext("{kind} no. {number}").format(kind=record_type_label(entity_type), number=entity_id))
    return out
