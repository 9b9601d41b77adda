"""HTTP routes of health insurance cards: lookup at the desk, lookup KPIs, issuance, suspension, primary-care
registration, births, and the medical facilities with their HI contracts."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import parse_qsl

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from ansinh.bounds import Day, RecordId
from ansinh import clock
from ansinh.auth.deps import DbSession, bind_audit_context, remembered_principal, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.cards import facilities, service
from ansinh.cards.schemas import (
    BirthOut,
    BirthsIn,
    CardOut,
    ClassificationIn,
    ClassificationOut,
    ContractIn,
    ContractOut,
    FacilityIn,
    FacilityOut,
    LookupAnswer,
    RegisteredFacilityIn,
    SuspensionIn,
)
from ansinh.errors import BadQuery, NotFound, ValidationFailed
from ansinh.registry import service as registry
from ansinh.registry.service import PersonData
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/cards", tags=["cards"], responses={
    400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}})
facilities_router = APIRouter(prefix="/api/v1/facilities", tags=["facilities"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}})

Manager = Annotated[Principal, Depends(require(Permission.cards_manage, scope=Scope.org_subtree))]
FacilityManager = Annotated[Principal, Depends(require(Permission.facilities_manage, scope=Scope.org_subtree))]


def today() -> date:
    return clock.today()


#: Threads of the desk's lane on PostgreSQL when ``lookup_threads`` is not set (BENCHMARKS.md, issue 17).
POSTGRESQL_LOOKUP_THREADS = 2


def desk_threads(request: Request) -> int:
    """``ANSINH_LOOKUP_THREADS``, or when unset 0 on SQLite (the lookup on the event loop: a read of a local file)
    and ``POSTGRESQL_LOOKUP_THREADS`` on PostgreSQL (while one lookup waits for the server, the event loop serves
    others: measured at more than twice the lookups per second of the event loop alone)."""
    threads = request.app.state.settings.lookup_threads
    if threads is None:
        dialect = request.app.state.database.engine.dialect.name
        threads = POSTGRESQL_LOOKUP_THREADS if dialect == "postgresql" else 0
    return threads


def desk_lane(request: Request) -> CapacityLimiter:
    """The threads of this process that run card lookups that wait on the database (:func:`desk_threads`; one when
    that is 0), apart from the pool of the other routes. Measured (BENCHMARKS.md): spread over the general pool's
    threads, lookups queued for the interpreter lock and one in a hundred took over a second."""
    lane = getattr(request.app.state, "desk_lane", None)
    if lane is None:
        lane = request.app.state.desk_lane = CapacityLimiter(max(1, desk_threads(request)))
    return lane


#: The lookup's query: (name, the most characters or None, a date or not), as declared by the route below.
_LOOKUP_QUERY = (("citizen_id", None, False), ("card_code", None, False), ("si_number", None, False),
                 ("full_name", 100, False), ("date_of_birth", None, True), ("on", None, True))
_DAY = TypeAdapter(Day)


def _desk_query(request: Request) -> dict | None:
    """The lookup's query read as the route's declaration reads it, for the desk's fast path
    (:class:`DeskLookupRoute`); None when anything in it is not plainly valid (then the route's declared parsing runs
    and answers what is wrong, with the usual error)."""
    query: dict = {}
    for name, value in parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True):
        if name in query or not value:
            return None  # repeated, or empty: left to the declared parsing
        query[name] = value
    values: dict = {}
    for name, longest, is_day in _LOOKUP_QUERY:
        value = query.get(name)
        if value is None:
            values[name] = None
        elif is_day:
            try:
                values[name] = _DAY.validate_python(value)
            except ValidationError:
                return None
        elif longest is not None and len(value) > longest:
            return None
        else:
            values[name] = value
    return values


def _look_up(request: Request, session, principal: Principal, query: dict, row=service.UNREAD) -> dict:
    """The lookup of the route below (on the event loop or on the desk's lane of threads): the facility's contract,
    the lookup, its log."""
    facility = facilities.ensure_may_look_up(session, principal, today())
    if service.log_is_batched() and not service.reads_apart() and not session.in_transaction():
        # The lookup itself writes nothing (its log goes to the batch writer): read in autocommit, without the
        # BEGIN and COMMIT round trips.
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    try:
        answer = service.lookup(session, principal, on=query["on"] or today(), citizen_id=query["citizen_id"],
                                card_code=query["card_code"], si_number=query["si_number"],
                                full_name=query["full_name"], date_of_birth=query["date_of_birth"],
                                facility_code=facility, row=row)
    except ValidationFailed as error:
        raise BadQuery.of(error) from None
    if session.in_transaction():  # an alert raised, a card of another day read
        session.commit()  # here, in the lookup's thread: no second hop to a thread to commit
    return answer


def desk_reads_async(request: Request) -> bool:
    """Are the lookups' reads made on asynchronous connections of the event loop (PostgreSQL, ``ANSINH_LOOKUP_THREADS``
    unset; ``cards.desk_reader.DeskReader.first_async``)? ``ANSINH_LOOKUP_THREADS=2`` chooses the lane of threads
    instead (the default before, measured against it in BENCHMARKS.md)."""
    return (request.app.state.settings.lookup_threads is None
            and request.app.state.database.engine.dialect.name == "postgresql")


async def _answer(request: Request, session, principal: Principal, query: dict) -> JSONResponse:
    # already plain JSON values: no second pass through the response model
    if desk_threads(request) == 0 and service.log_is_batched():
        # One indexed read of a local file (SQLite): cheaper on the event loop than handed to a thread and back,
        # which measured a fifth fewer lookups per second (BENCHMARKS.md).
        return JSONResponse(_look_up(request, session, principal, query))
    reader = service.desk_reader()
    if reader is not None and reader.reads_async and service.log_is_batched() and desk_reads_async(request) \
            and principal.org_unit_level in ("national", "province") \
            and facilities.known_without_reading(principal, today()):
        # PostgreSQL: the row read on the event loop's own connection, awaited (the loop serves other requests
        # meanwhile), then the rest of the lookup, which reads nothing more, on the loop. A lookup that would read
        # again (the card of another day) goes to the lane as a whole.
        try:
            _, column, value = service.lookup_key(query["citizen_id"], query["card_code"], query["si_number"])
        except ValidationFailed as error:
            raise BadQuery.of(error) from None
        row = await reader.first_async(column, {"key": value})
        if not service.reads_more_than_the_row(row, query["on"] or today()):
            return JSONResponse(_look_up(request, session, principal, query, row=row))
    return JSONResponse(await to_thread.run_sync(_look_up, request, session, principal, query,
                                                 limiter=desk_lane(request)))


async def _fast_answer(request: Request) -> Response | None:
    """The desk's fast path: the answer to a lookup by a caller whose token was resolved in the last seconds
    (``auth.deps.remembered_principal``), holding the permission, with a plainly valid query; None for anything
    else (then the route's declared path answers)."""
    principal = remembered_principal(request)
    query = _desk_query(request) if principal is not None else None
    if query is None or not principal.has(Permission.cards_lookup):
        return None
    with request.app.state.database.reading() as session:  # _look_up commits what it writes
        bind_audit_context(request, session, principal)
        return await _answer(request, session, principal, query)


class DeskLookupRoute(APIRoute):
    """The card lookup's route, the most called of all (issue 17). Declared as any route (its parameters, its
    permission and scope, its OpenAPI entry) and answered the declared way when anything is unusual; but a lookup by
    a caller whose token was resolved in the last seconds (``auth.deps.remembered_principal``), holding the
    permission, with a plainly valid query, is answered without FastAPI's resolution of the dependencies and
    parameters, which cost more than the lookup itself (BENCHMARKS.md, issue 17): the same caller, the same checks,
    the same audit context, the same lookup and log, the same error answers (raised to the same handlers).

    Each answer it gives also tells :class:`DeskLookupMiddleware` how the router reached it (the route as the
    router sets it in the request, the exception handlers), so that later lookups skip the router too."""

    def get_route_handler(self):
        declared = super().get_route_handler()

        async def handler(request: Request) -> Response:
            handlers = request.scope.get("starlette.exception_handlers")
            if handlers is not None:
                request.app.state.desk_route = (request.scope.get("route"), request.scope.get("endpoint"), handlers)
            answer = await _fast_answer(request)
            return answer if answer is not None else await declared(request)

        return handler


LOOKUP_PATH = "/api/v1/cards/lookup"


class DeskLookupMiddleware:
    """The innermost middleware: a card lookup on the fast path (:func:`_fast_answer`) goes straight to the desk,
    past Starlette's exception middleware, FastAPI's exit stacks and the search of the routes, which together cost
    a third of a lookup's time (BENCHMARKS.md, issue 17). What the request gets is the same: the middlewares outside
    this one (request id and language, security headers, the body limit and control characters, the metrics and the
    access log, which name the route as the router would) have run; the route in the request is the router's; the
    exceptions go to the same handlers, by the same rules (``starlette._exception_handler``, as Starlette's and
    FastAPI's own routes do). Until the router has answered a first lookup (which shows this middleware the route
    and handlers, :class:`DeskLookupRoute`), and for anything not on the fast path, the request goes on as any."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != LOOKUP_PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        known = getattr(scope["app"].state, "desk_route", None)
        if known is None:
            await self.app(scope, receive, send)
            return
        scope["route"], scope["endpoint"], scope["starlette.exception_handlers"] = known
        scope["path_params"] = {}
        request = Request(scope, receive, send)
        passed_on = False

        async def desk(scope: AsgiScope, receive: Receive, send: Send) -> None:
            nonlocal passed_on
            response = await _fast_answer(request)
            if response is None:
                passed_on = True
            else:
                await response(scope, receive, send)

        await wrap_app_handling_exceptions(desk, request)(scope, receive, send)
        if passed_on:  # not on the fast path: the router and the route's declared path
            await self.app(scope, receive, send)


async def lookup(request: Request, session: DbSession,
                 principal: Annotated[Principal, Depends(require(Permission.cards_lookup, scope=Scope.desk_lookup))],
                 citizen_id: str | None = None, card_code: str | None = None, si_number: str | None = None,
                 full_name: Annotated[str | None, Query(max_length=100, description=
                                                        "The name as printed on the chip card")] = None,
                 date_of_birth: Annotated[Day | None, Query(description=
                                                            "The date of birth as printed on the chip card")] = None,
                 on: Day | None = None) -> JSONResponse:
    """Covered or not on a day (and why not: no_coverage, expired, not_yet_valid, suspended, card_replaced,
    unknown_person), with the card, benefit level and identity for the desk. The lookup rule: a key (citizen ID,
    card code or SI number) **and** the person's full name or date of birth as on their chip card; a mismatch is
    answered ``name_mismatch`` or ``birth_date_mismatch`` with no personal data. Facility users need a contract in
    force; each facility is rate-limited (429) and alerts are raised on lookups of many unrelated people. An unknown
    person is a normal answer; a malformed key or a date outside the rules is a 400. Every lookup is logged."""
    return await _answer(request, session, principal, {
        "citizen_id": citizen_id, "card_code": card_code, "si_number": si_number, "full_name": full_name,
        "date_of_birth": date_of_birth, "on": on})


router.add_api_route("/lookup", lookup, methods=["GET"], response_model=LookupAnswer,
                     route_class_override=DeskLookupRoute)


@router.get("/kpis")
def kpis(session: DbSession, principal: Annotated[Principal, Depends(require(Permission.reports_view, scope=Scope.org_subtree))],
         since: Day, until: Day, by: str = Query("province", pattern="^(province|facility)$")) -> list[dict]:
    """Lookups, successful lookups and the success rate per province (or facility) and month."""
    return service.lookup_kpis(session, principal, since=since, until=until, by=by)


@router.get("/lookup-alerts")
def lookup_alerts(session: DbSession,
                  principal: Annotated[Principal, Depends(require(Permission.reports_view, scope=Scope.org_subtree))],
                  since: Day, until: Day) -> list[dict]:
    """Alerts raised on card lookups (a facility or user looking up many unrelated people, or failing many
    identity checks within an hour), newest first; an office sees those of its province's lookers."""
    return service.lookup_alerts(session, principal, since=since, until=until)


@router.post("/issue")
def issue(session: DbSession, principal: Manager, on: Day | None = None) -> dict:
    """Issue or renew the cards of everyone insured on a day in the caller's scope (unchanged cards stay): an
    office issues its own people's cards, the national office the country's."""
    return service.issue_cards(session, on=on or today(), principal=principal)


def _card_out(card, superseded: bool = False) -> CardOut:
    return CardOut.model_validate(card).model_copy(update={"superseded": superseded})


@router.get("/people/{person_id}", response_model=list[CardOut])
def person_cards(person_id: RecordId, session: DbSession,
                 principal: Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]) -> list[CardOut]:
    """Every version of a person's card, oldest first; the last one not superseded is the card in force."""
    registry.get_person(session, principal, person_id)  # scope, and the read is audited
    return [_card_out(card, card.superseded_at is not None) for card in service.card_history(session, person_id)]


@router.post("/people/{person_id}/suspension", response_model=CardOut)
def suspend(person_id: RecordId, body: SuspensionIn, session: DbSession, principal: Manager) -> CardOut:
    """Suspend the person's card: lookups answer ``suspended`` until it is reinstated."""
    registry.get_person(session, principal, person_id)
    return _card_out(service.suspend_card(session, person_id, reason=body.reason))


@router.delete("/people/{person_id}/suspension", response_model=CardOut)
def reinstate(person_id: RecordId, session: DbSession, principal: Manager) -> CardOut:
    registry.get_person(session, principal, person_id)
    return _card_out(service.reinstate_card(session, person_id))


@router.put("/people/{person_id}/registered-facility", response_model=CardOut)
def register_facility(person_id: RecordId, body: RegisteredFacilityIn, session: DbSession, principal: Manager) -> CardOut:
    """Register the holder at another primary-care facility (a new card version)."""
    registry.get_person(session, principal, person_id)
    return _card_out(service.change_registered_facility(session, person_id, body.facility_code))


@router.post("/births", response_model=list[BirthOut], status_code=status.HTTP_201_CREATED)
def births(body: BirthsIn, session: DbSession, principal: Manager) -> list[BirthOut]:
    """Birth registrations from the civil registry: each child is registered, covered (group TE) and carded.
    All or nothing: one bad birth refuses the batch, naming its index and field."""
    registered_on = body.registered_on or today()
    out = []
    for index, birth in enumerate(body.births):
        unit = registry.org_unit_for_new_record(session, principal, birth.org_unit_code)
        data = PersonData(full_name=birth.full_name, date_of_birth=birth.date_of_birth, sex=birth.sex,
                          citizen_id=birth.citizen_id, ethnicity=birth.ethnicity,
                          residence_place_id=birth.residence_place_id, address=birth.address)
        try:
            child, card = service.register_birth(session, data, org_unit=unit, registered_on=registered_on)
        except ValidationFailed as error:
            raise ValidationFailed(f"births[{index}].{error.field}", error.template, **error.params) from None
        out.append(BirthOut(person_id=child.id, si_number=child.si_number, full_name=child.full_name,
                            card=_card_out(card)))
    return out


ReferenceReader = Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.reference))]


def _facility_out(facility, in_force: set[str], history: list | None = None, on: date | None = None) -> FacilityOut:
    history = history or []
    current = facilities.in_force_on(history, on or today())
    return FacilityOut.model_validate(facility).model_copy(update={
        "contract_in_force": facility.code in in_force,
        "classification": ClassificationOut.model_validate(current) if current is not None else None,
        "classifications": [ClassificationOut.model_validate(row) for row in history]})


@facilities_router.get("", response_model=list[FacilityOut])
def list_facilities(session: DbSession, _: ReferenceReader, province: str | None = None,
                    on: Annotated[Day | None, Query(description="The day of the classification shown "
                                                                "(default today)")] = None) -> list[FacilityOut]:
    """Every facility (reference data), with whether a contract is in force today, its classification into the
    levels of 2025 in force on ``on`` and their history."""
    in_force = facilities.codes_with_contract_in_force(session, today())
    found = facilities.list_facilities(session, province=province)
    histories = facilities.classification_histories(session, [f.id for f in found])
    return [_facility_out(f, in_force, histories.get(f.id), on) for f in found]


@facilities_router.post("", response_model=FacilityOut, status_code=status.HTTP_201_CREATED)
def create_facility(body: FacilityIn, session: DbSession, principal: FacilityManager) -> FacilityOut:
    unit = registry.org_unit_for_new_record(session, principal, body.org_unit_code)
    data = facilities.FacilityData(**body.model_dump(exclude={"org_unit_code"}))
    return _facility_out(facilities.create_facility(session, data, unit), set())  # no contract yet


@facilities_router.post("/import", responses={201: {"description": "applied"},
                                               200: {"description": "nothing new: every row already recorded"},
                                               422: {"description": "rejected: the errors, nothing written"}})
def import_facilities(session: DbSession, principal: FacilityManager,
                      file: Annotated[UploadFile, File(description="CSV (UTF-8, comma or semicolon) or .xlsx")],
                      org_unit_code: Annotated[str | None, Form(max_length=40)] = None) -> JSONResponse:
    """Register facilities and their classifications of 2025 from a file, all rows or none (columns: code, name,
    level; optional primary_care, public, level_2025, score, provisional, health_station, classified_from,
    decision). Rows about a facility of another office are errors."""
    from ansinh.cards.facility_import import import_facilities as run

    report = run(session, content=file.file.read(), file_name=file.filename or "upload", principal=principal,
                 org_unit=org_unit_code or None)
    return JSONResponse(report.to_json(), status_code={"applied": 201, "unchanged": 200}.get(report.status, 422))


@facilities_router.get("/{code}", response_model=FacilityOut)
def get_facility(code: str, session: DbSession, _: ReferenceReader,
                 on: Annotated[Day | None, Query(description="The day of the classification shown "
                                                             "(default today)")] = None) -> FacilityOut:
    """One facility (reference data), with its classification into the levels of 2025 on ``on`` and their
    history."""
    facility = facilities.get_facility(session, code)
    in_force = {facility.code} if facilities.contract_in_force(session, facility.code, today()) else set()
    return _facility_out(facility, in_force, facilities.facility_classifications(session, facility), on)


@facilities_router.post("/{code}/classifications", response_model=ClassificationOut,
                        status_code=status.HTTP_201_CREATED,
                        responses={200: {"description": "the same classification was already recorded"},
                                   409: {"model": ErrorBody, "description": "another one from that day"}})
def classify_facility(code: str, body: ClassificationIn, session: DbSession,
                      principal: FacilityManager) -> JSONResponse:
    """Add the facility's classification into the levels of 2025 from a day (a reclassification is a new one from
    its day; history is kept). The same classification again changes nothing (200)."""
    facility = facilities.get_facility(session, code)
    facilities.ensure_facility_in_scope(session, principal, facility)
    known = {row.id for row in facilities.facility_classifications(session, facility)}
    row = facilities.classify_facility(session, facility, **body.model_dump())
    return JSONResponse(ClassificationOut.model_validate(row).model_dump(mode="json"),
                        status_code=200 if row.id in known else status.HTTP_201_CREATED)


@facilities_router.get("/{code}/contracts", response_model=list[ContractOut])
def list_contracts(code: str, session: DbSession,
                   principal: Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]
                   ) -> list[ContractOut]:
    """The facility's HI contracts, for the office that contracts it (and the offices above it)."""
    facility = facilities.get_facility(session, code)
    facilities.ensure_facility_in_scope(session, principal, facility)
    return [ContractOut.model_validate(c) for c in facilities.facility_contracts(session, facility)]


@facilities_router.post("/{code}/contracts", response_model=ContractOut, status_code=status.HTTP_201_CREATED)
def sign_contract(code: str, body: ContractIn, session: DbSession, principal: FacilityManager) -> ContractOut:
    facility = facilities.get_facility(session, code)
    facilities.ensure_facility_in_scope(session, principal, facility)
    unit = registry.org_unit_for_new_record(session, principal, None)
    return ContractOut.model_validate(facilities.sign_contract(
        session, facility=facility, contract_number=body.contract_number, valid_from=body.valid_from,
        valid_until=body.valid_until, org_unit=unit))


@facilities_router.post("/{code}/contracts/{contract_id}/termination", response_model=ContractOut)
def terminate_contract(code: str, contract_id: RecordId, session: DbSession, principal: FacilityManager,
                       last_day: Day) -> ContractOut:
    facility = facilities.get_facility(session, code)
    facilities.ensure_facility_in_scope(session, principal, facility)
    contract = next((c for c in facilities.facility_contracts(session, facility) if c.id == contract_id), None)
    if contract is None:
        raise NotFound("Contract {id} of facility {code} does not exist.", id=contract_id, code=code)
    return ContractOut.model_validate(facilities.terminate_contract(session, contract, last_day=last_day))

