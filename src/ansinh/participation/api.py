"""HTTP routes of participation: declarations, enrolments, coverage, participant counts.

Creating requests (declarations, the three enrolments) accept an ``Idempotency-Key`` (:mod:`ansinh.idempotency`).
Every record named by id is checked against the caller's scope (people, households, employers)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from ansinh.bounds import Day, RecordId
from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope, ensure_in_scope
from ansinh.errors import NotFound
from ansinh.idempotency import IdempotencyKeyHeader, idempotent
from ansinh.participation import service
from ansinh.participation.schemas import (
    CoverageOut,
    DeclarationIn,
    DeclarationOut,
    HouseholdEnrolmentIn,
    StateBudgetEnrolmentIn,
    Summary,
    VoluntaryEnrolmentIn,
)
from ansinh.portal.employer.deps import require_duty
from ansinh.registry import service as registry
from ansinh.registry.models import Household
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["participation"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
Manager = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
Submitter = Annotated[Principal, Depends(require_duty("declarations", Permission.declarations_submit,
                                                      scope=(Scope.org_subtree, Scope.own_employer)))]
EmployerViewer = Annotated[Principal, Depends(require(scope=(Scope.org_subtree, Scope.own_employer)))]


def today() -> date:
    return clock.today()


@router.post("/declarations", response_model=DeclarationOut, status_code=status.HTTP_201_CREATED)
def submit_declaration(body: DeclarationIn, request: Request, session: DbSession, principal: Submitter,
                       idempotency_key: IdempotencyKeyHeader = None):
    """Join, leave or salary change from a month (employer users: for their own employer only). Validated
    against the registry and the rules, applied as one transaction; retroactive ones are flagged for re-billing."""

    def submit() -> DeclarationOut:
        employer = registry.get_employer_by_tax_code(session, principal, body.employer_tax_code)
        person = registry.find_person_for_declaration(session, citizen_id=body.citizen_id, si_number=body.si_number)
        return DeclarationOut.model_validate(service.apply_declaration(
            session, employer=employer, person=person, kind=body.kind, effective_month=body.effective_month,
            insured_salary=body.insured_salary, hi_group=body.hi_group, submitted_by=principal.username,
            today=today()))

    return idempotent(session, request, principal, idempotency_key, body, submit,
                      status_code=status.HTTP_201_CREATED)


@router.get("/employers/{employer_id}/declarations", response_model=list[DeclarationOut])
def list_declarations(employer_id: RecordId, session: DbSession, principal: EmployerViewer):
    """The employer's latest declarations (the list is audited: one event naming the people it is about)."""
    registry.get_employer(session, principal, employer_id)
    declarations = list(service.employer_declarations(session, employer_id))
    service.record_declarations_listed(session, principal, employer_id, declarations)
    return declarations


@router.get("/people/{person_id}/coverage", response_model=list[CoverageOut])
def person_coverage(person_id: RecordId, session: DbSession,
                    principal: Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))],
                    include_superseded: bool = False):
    """A person's coverage history per scheme (the read is audited)."""
    registry.get_person(session, principal, person_id)
    return service.coverage_history(session, person_id, include_superseded=include_superseded)


@router.post("/enrolments/voluntary", response_model=CoverageOut, status_code=status.HTTP_201_CREATED)
def enrol_voluntary(body: VoluntaryEnrolmentIn, request: Request, session: DbSession, principal: Manager,
                    idempotency_key: IdempotencyKeyHeader = None):
    def enrol() -> CoverageOut:
        person = registry.get_person(session, principal, body.person_id)
        unit = session.get(OrgUnit, person.org_unit_id)
        return CoverageOut.model_validate(service.enrol_voluntary(
            session, person=person, income=body.income, months=body.months, group=body.group, start=body.start,
            org_unit=unit, today=today()))

    return idempotent(session, request, principal, idempotency_key, body, enrol,
                      status_code=status.HTTP_201_CREATED)


@router.post("/enrolments/household-hi", response_model=list[CoverageOut], status_code=status.HTTP_201_CREATED)
def enrol_household(body: HouseholdEnrolmentIn, request: Request, session: DbSession, principal: Manager,
                    idempotency_key: IdempotencyKeyHeader = None):
    """Household HI for members of a household of your scope (each member in your scope too)."""

    def enrol() -> list[CoverageOut]:
        household = session.get(Household, body.household_id)
        if household is None:
            raise NotFound("Household {id} does not exist.", id=body.household_id)
        ensure_in_scope(principal, session.get(OrgUnit, household.org_unit_id))
        members = [registry.get_person(session, principal, pid) for pid in body.member_person_ids]
        periods = service.enrol_household_hi(session, household=household, members=members, start=body.start,
                                             months=body.months, today=today())
        return [CoverageOut.model_validate(p) for p in periods]

    return idempotent(session, request, principal, idempotency_key, body, enrol,
                      status_code=status.HTTP_201_CREATED)


@router.post("/enrolments/state-budget", response_model=list[CoverageOut], status_code=status.HTTP_201_CREATED)
def enrol_state_budget(body: StateBudgetEnrolmentIn, request: Request, session: DbSession, principal: Manager,
                       idempotency_key: IdempotencyKeyHeader = None):
    def enrol() -> list[CoverageOut]:
        unit = registry.org_unit_for_new_record(session, principal, body.org_unit_code)
        people = [registry.get_person(session, principal, pid) for pid in body.person_ids]
        periods = service.enrol_state_budget(session, group=body.group, people=people, start=body.start,
                                             end=body.end, org_unit=unit, today=today())
        return [CoverageOut.model_validate(p) for p in periods]

    return idempotent(session, request, principal, idempotency_key, body, enrol,
                      status_code=status.HTTP_201_CREATED)


@router.get("/participation/summary", response_model=Summary)
def summary(session: DbSession, principal: Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))],
            on: Day | None = None, province: Annotated[str | None, Query(max_length=8)] = None,
            structure: str = Query("2025", pattern="^(2008|2025)$")) -> dict:
    """Participants on a date by scheme and HI group, for a province (in either structure) or your scope (a
    province outside your scope is refused, 403)."""
    return service.participation_summary(session, principal, on=on or today(), province=province,
                                         structure=registry.structure_of(structure))
