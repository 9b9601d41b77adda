"""HTTP routes of the registry: people, households, employers.

Creating requests accept an ``Idempotency-Key`` (:mod:`ansinh.idempotency`): the same request sent again answers
the same record and creates no other. Lists of people are audited as one event naming the people returned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Offset, RecordId
from ansinh.errors import NotFound, ValidationFailed
from ansinh.idempotency import IdempotencyKeyHeader, idempotent
from ansinh.registry import service
from ansinh.registry.models import Person
from ansinh.registry.schemas import (
    EmployerIn,
    EmployerOut,
    HouseholdIn,
    HouseholdOut,
    PersonIn,
    PersonOut,
    PersonPatch,
)
from ansinh.schemas import ErrorBody, Page

router = APIRouter(prefix="/api/v1", tags=["registry"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Reader = Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.registry_manage, scope=Scope.org_subtree))]
EmployerViewer = Annotated[Principal, Depends(require(scope=(Scope.org_subtree, Scope.own_employer)))]
SearchText = Annotated[str, Query(max_length=120, description="Citizen ID, SI number or name")]


@router.get("/people", response_model=Page[PersonOut])
def search_people(session: DbSession, principal: Reader, q: SearchText = "", limit: int = Query(50, ge=1, le=500),
                  offset: Offset = 0) -> Page[PersonOut]:
    """By citizen ID, SI number or name without accents, within your org unit (the list is audited: one event
    naming the people returned)."""
    people, total = service.search_people(session, principal, q, limit=limit, offset=offset)
    return Page[PersonOut](items=[PersonOut.model_validate(p) for p in people], total=total, limit=limit, offset=offset)


@router.get("/people/lookup", response_model=PersonOut)
def lookup_person(session: DbSession, principal: Reader,
                  citizen_id: Annotated[str | None, Query(max_length=12)] = None,
                  si_number: Annotated[str | None, Query(max_length=10)] = None) -> Person:
    """A person of your scope by citizen ID or SI number (the read is audited; 403 for a person of another office)."""
    person = service.find_person(session, principal, citizen_id=citizen_id, si_number=si_number)
    if person is None:
        raise NotFound("No person has this identifier.")
    return person


@router.get("/people/{person_id}", response_model=PersonOut)
def read_person(person_id: RecordId, session: DbSession, principal: Reader) -> Person:
    """One person's record (the read is audited)."""
    return service.get_person(session, principal, person_id)


@router.post("/people", response_model=PersonOut, status_code=status.HTTP_201_CREATED)
def create_person(body: PersonIn, request: Request, session: DbSession, principal: Manager,
                  idempotency_key: IdempotencyKeyHeader = None):
    def create() -> PersonOut:
        unit = service.org_unit_for_new_record(session, principal, body.org_unit_code)
        data = service.PersonData(**body.model_dump(exclude={"org_unit_code"}))
        return PersonOut.model_validate(service.create_person(session, data, unit))

    return idempotent(session, request, principal, idempotency_key, body, create,
                      status_code=status.HTTP_201_CREATED)


@router.patch("/people/{person_id}", response_model=PersonOut)
def update_person(person_id: RecordId, body: PersonPatch, session: DbSession, principal: Manager) -> Person:
    """Change the fields sent (name, date of birth and sex may be left out, not emptied)."""
    return service.update_person(session, principal, person_id, body.model_dump(exclude_unset=True))


@router.post("/households", response_model=HouseholdOut, status_code=status.HTTP_201_CREATED)
def create_household(body: HouseholdIn, request: Request, session: DbSession, principal: Manager,
                     idempotency_key: IdempotencyKeyHeader = None):
    """A household of people of your scope (its head and every member)."""

    def create() -> HouseholdOut:
        unit = service.org_unit_for_new_record(session, principal, body.org_unit_code)
        head = service.get_person(session, principal, body.head_person_id)
        members = [service.get_person(session, principal, pid) for pid in body.member_person_ids]
        household = service.create_household(session, head=head, members=members, org_unit=unit,
                                             address=body.address)
        listed = service.household_members(session, household.id)
        service.record_people_listed(session, principal, listed, what="household_members",
                                     query={"household_id": household.id})
        return HouseholdOut.model_validate(household).model_copy(update={
            "members": [PersonOut.model_validate(p) for p in listed]})

    return idempotent(session, request, principal, idempotency_key, body, create,
                      status_code=status.HTTP_201_CREATED)


@router.get("/employers", response_model=Page[EmployerOut])
def list_employers(session: DbSession, principal: EmployerViewer, q: SearchText = "",
                   limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> Page[EmployerOut]:
    """Employers in your scope (an employer user: only their own)."""
    if principal.is_agency_staff and not principal.has(Permission.registry_read):
        raise ValidationFailed("q", "You cannot list employers.")
    employers, total = service.list_employers(session, principal, q, limit=limit, offset=offset)
    return Page[EmployerOut](items=[EmployerOut.model_validate(e) for e in employers], total=total, limit=limit,
                             offset=offset)


@router.get("/employers/{employer_id}", response_model=EmployerOut)
def read_employer(employer_id: RecordId, session: DbSession, principal: EmployerViewer):
    return service.get_employer(session, principal, employer_id)


@router.post("/employers", response_model=EmployerOut, status_code=status.HTTP_201_CREATED)
def create_employer(body: EmployerIn, request: Request, session: DbSession, principal: Manager,
                    idempotency_key: IdempotencyKeyHeader = None):
    def create() -> EmployerOut:
        unit = service.org_unit_for_new_record(session, principal, body.org_unit_code)
        data = service.EmployerData(**body.model_dump(exclude={"org_unit_code"}))
        return EmployerOut.model_validate(service.create_employer(session, data, unit))

    return idempotent(session, request, principal, idempotency_key, body, create,
                      status_code=status.HTTP_201_CREATED)
