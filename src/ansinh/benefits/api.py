"""HTTP routes of benefit claims under ``/api/v1/benefits``: filing, the officer's steps (incomplete, complete,
assess, decide, appeal, withdraw), reading a claim and its decision PDF, the queue by deadline, the employer's list of
sickness and maternity cases (01B-HSB) and the employment office's unemployment decisions.

Who (``benefits.*`` permissions, ``auth/permissions.py``): agency staff act on the claims of their org-unit subtree
(``org_subtree``); a citizen files and reads their own (``own_person``); an employer reads the cases it filed and
sends its list (``own_employer``). Each record is checked by the service (``benefits.service.claims_scope``): a claim
of another province, person or employer is 404, and nothing changes.

Dates default to the application's clock (:func:`ansinh.clock.today`) when a body leaves ``on`` out. Routes are
plain functions (run on the thread pool, never on the event loop); uploads are read on the event loop and processed
on the import lane (:func:`ansinh.registry.import_api.in_import_lane`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ansinh import clock
from ansinh.audit.service import record_event
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.benefits import employer_batch, service, unemployment_import
from ansinh.benefits.models import BenefitClaim, ClaimStatus, ClaimType
from ansinh.benefits.pdf import decision_document
from ansinh.bounds import Day, Offset, RecordId
from ansinh.errors import PermissionDenied
from ansinh.i18n import N_
from ansinh.registry.import_api import in_import_lane
from ansinh.schemas import ErrorBody
from ansinh.portal.employer.deps import require_duty

router = APIRouter(prefix="/api/v1/benefits", tags=["benefits"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
    422: {"model": ErrorBody}})

Reader = Annotated[Principal, Depends(require(Permission.benefits_read,
                                              scope=(Scope.org_subtree, Scope.own_person, Scope.own_employer)))]
Filer = Annotated[Principal, Depends(require(Permission.benefits_file, scope=(Scope.org_subtree, Scope.own_person)))]
BatchSender = Annotated[Principal, Depends(require_duty("declarations", Permission.benefits_file,
                                                        scope=(Scope.own_employer, Scope.org_subtree)))]
BatchReader = Annotated[Principal, Depends(require_duty("declarations", Permission.benefits_read,
                                                        scope=(Scope.own_employer, Scope.org_subtree)))]
Assessor = Annotated[Principal, Depends(require(Permission.benefits_assess, scope=Scope.org_subtree))]
Decider = Annotated[Principal, Depends(require(Permission.benefits_decide, scope=Scope.org_subtree))]
Importer = Annotated[Principal, Depends(require(Permission.benefits_file, scope=Scope.org_subtree))]
Queue = Annotated[Principal, Depends(require(Permission.benefits_read, scope=Scope.org_subtree))]
TemplateReader = Annotated[Principal, Depends(require(Permission.benefits_file, scope=Scope.reference))]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
ClaimTypeName = Literal["lump_sum", "pension", "sickness", "maternity", "unemployment", "funeral", "survivor"]
StatusName = Literal["received", "incomplete", "accepted", "assessed", "granted", "refused", "payment_ordered",
                     "paid", "failed", "reconciled", "withdrawn"]
Text = Annotated[str, Field(min_length=1, max_length=1000)]
Missing = Annotated[str, Field(min_length=1, max_length=200)]


def today() -> date:
    return clock.today()


# --- bodies -----------------------------------------------------------------------------------------------------

class FileClaimIn(BaseModel):
    """A claim as filed. ``details``: the type-specific part (``benefits.schemas.DETAILS``: leave days, the birth,
    the death, the employment office's decision, ...). ``missing``: documents the file lacks (the claim is then
    incomplete and its clock paused). ``external_ref``: a reference that makes the filing idempotent."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    claim_type: ClaimTypeName = Field(alias="type")
    citizen_id: str = Field(min_length=12, max_length=12, pattern=r"^\d{12}$")
    filed_on: Day | None = None
    channel: Literal["counter", "post", "portal"] = "counter"
    ground: str | None = Field(None, max_length=40)
    details: dict = Field(default_factory=dict)
    missing: list[Missing] = Field(default_factory=list, max_length=20)
    external_ref: str | None = Field(None, min_length=1, max_length=80)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: Day | None = Field(None, description="The business date of the step (default: today).")
    reason: str | None = Field(None, max_length=1000)


class IncompleteIn(ActionIn):
    missing: list[Missing] = Field(min_length=1, max_length=20)


class DecideIn(ActionIn):
    refuse: str | None = Field(None, min_length=1, max_length=1000, description="Refuse with this written reason.")


class AppealIn(ActionIn):
    reason: Text


# --- answers ----------------------------------------------------------------------------------------------------

def _view(session, claim: BenefitClaim) -> dict:
    from ansinh.benefits.payments import service as payments

    return service.claim_view(claim, payments.claim_payments(session, claim.id))


def _summary(claim: BenefitClaim, on: date | None = None) -> dict:
    row = {"id": claim.id, "type": ClaimType(claim.claim_type).value, "status": ClaimStatus(claim.status).value,
           "channel": claim.channel.value if hasattr(claim.channel, "value") else claim.channel,
           "citizen_id": claim.person_ref, "filed_on": claim.filed_on.isoformat(),
           "deadline": claim.deadline.isoformat() if claim.deadline else None,
           "decision_number": claim.decision_number, "amount": claim.amount,
           "monthly_amount": claim.monthly_amount}
    if on is not None:
        row["working_days_left"] = service.working_days_left(claim, on)
    return row


def audit_listed(session, principal: Principal, claims: list[BenefitClaim], *, what: str, query: dict) -> None:
    """One audit event (action ``list``) for a list of claims: the query and the claims (ids, the people's citizen
    IDs) returned, not one event per row."""
    record_event(session, "list", "benefit_claim", None, org_unit_id=principal.org_unit_id,
                 details={"what": what, "query": {k: v for k, v in query.items() if v not in (None, "")},
                          "count": len(claims), "claim_ids": [c.id for c in claims],
                          "person_refs": sorted({c.person_ref for c in claims if c.person_ref})})


def _timeline(session, claim_id: int) -> list[dict]:
    return [{"from": e.from_status, "to": e.to_status, "on": e.on.isoformat(), "by": e.by, "reason": e.reason,
             "details": e.details} for e in service.claim_events(session, claim_id)]


# --- claims -----------------------------------------------------------------------------------------------------

@router.post("/claims", status_code=201, responses={201: {"description": "filed"},
                                                    200: {"description": "filed before with this external_ref"}})
def file_claim(body: FileClaimIn, session: DbSession, principal: Filer) -> JSONResponse:
    """File a claim: accepted at once with its deadline when nothing is missing, else incomplete. A citizen files
    their own (through the portal); an employer sends its workers' cases as a list (``employer-batches``)."""
    if Role.employer in principal.roles and not principal.is_agency_staff:
        raise PermissionDenied(N_("An employer sends its workers' sickness and maternity cases as a list "
                                  "(form 01B-HSB)."))
    claim, new = service.file_claim(session, principal, claim_type=body.claim_type, citizen_id=body.citizen_id,
                                    filed_on=body.filed_on or today(), channel=body.channel, ground=body.ground,
                                    details=body.details, missing=body.missing, external_ref=body.external_ref)
    return JSONResponse(_view(session, claim), status_code=201 if new else 200)


@router.get("/claims")
def list_claims(session: DbSession, principal: Reader, status: StatusName | None = None,
                claim_type: Annotated[ClaimTypeName | None, Query(alias="type")] = None,
                limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> dict:
    """The claims the caller may see, newest first: ``{"items", "total", "limit", "offset"}``."""
    rows, total = service.claims_page(session, principal, status=status, claim_type=claim_type, limit=limit,
                                      offset=offset)
    audit_listed(session, principal, rows, what="claims", query={"status": status, "type": claim_type,
                                                                  "limit": limit, "offset": offset})
    return {"items": [_summary(claim) for claim in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/claims/{claim_id}")
def read_claim(claim_id: RecordId, session: DbSession, principal: Reader) -> dict:
    """A claim (``status``, ``type``, ``channel``, ``filed_on``, ``deadline``, ``decision``, ``amount``,
    ``payments``...) with its timeline; the read is audited."""
    claim = service.get_claim(session, principal, claim_id)
    return {**_view(session, claim), "timeline": _timeline(session, claim.id)}


@router.post("/claims/{claim_id}/incomplete")
def mark_incomplete(claim_id: RecordId, body: IncompleteIn, session: DbSession, principal: Assessor) -> dict:
    """The file lacks documents: the claim waits for them, its clock paused."""
    claim = service.mark_incomplete(session, principal, claim_id, missing=body.missing, on=body.on or today(),
                                    reason=body.reason)
    return _view(session, claim)


@router.post("/claims/{claim_id}/complete")
def complete(claim_id: RecordId, body: ActionIn, session: DbSession, principal: Assessor) -> dict:
    """The missing documents arrived: accepted, the clock starts that day."""
    claim = service.complete_claim(session, principal, claim_id, on=body.on or today(), reason=body.reason)
    return _view(session, claim)


@router.post("/claims/{claim_id}/assess")
def assess(claim_id: RecordId, body: ActionIn, session: DbSession, principal: Assessor) -> dict:
    """Eligibility and amounts from the person's records and the rules (never typed in)."""
    claim = service.assess(session, principal, claim_id, on=body.on or today())
    return _view(session, claim)


@router.post("/claims/{claim_id}/decide")
def decide(claim_id: RecordId, body: DecideIn, session: DbSession, principal: Decider) -> dict:
    """Grant an assessed claim with its amounts, or refuse it (``refuse``: the written reason): a numbered
    decision."""
    claim = service.decide(session, principal, claim_id, on=body.on or today(), refuse=body.refuse)
    return _view(session, claim)


@router.post("/claims/{claim_id}/appeal")
def appeal(claim_id: RecordId, body: AppealIn, session: DbSession, principal: Decider) -> dict:
    """A decided claim goes back for re-assessment by another officer than the one who decided it."""
    claim = service.appeal(session, principal, claim_id, on=body.on or today(), reason=body.reason)
    return _view(session, claim)


@router.post("/claims/{claim_id}/withdraw")
def withdraw(claim_id: RecordId, body: ActionIn, session: DbSession, principal: Assessor) -> dict:
    """The claimant withdraws a claim not yet decided."""
    claim = service.withdraw_claim(session, principal, claim_id, on=body.on or today(), reason=body.reason)
    return _view(session, claim)


@router.get("/claims/{claim_id}/decision.pdf", response_class=Response,
            responses={200: {"content": {PDF: {}}, "description": "the decision (PDF)"}})
def decision_pdf(claim_id: RecordId, session: DbSession, principal: Reader) -> Response:
    """The numbered decision of a decided claim, in Vietnamese (404 before the decision)."""
    name, content = decision_document(session, principal, claim_id)
    return Response(content, media_type=PDF, headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/due")
def due(session: DbSession, principal: Queue, on: Day | None = None,
        days_ahead: int = Query(3, ge=0, le=60, description="Upcoming: due within this many working days."),
        limit: int = Query(500, ge=1, le=5000)) -> dict:
    """The officer's queue on ``on`` (default today): claims whose clock runs, ``late``, ``due_today`` and
    ``upcoming``, each by deadline."""
    if not principal.is_agency_staff:
        raise PermissionDenied(N_("The queue of claims by deadline is the agency's staff's."))
    day = on or today()
    queue = service.due_claims(session, principal, on=day, days_ahead=days_ahead, limit=limit)
    audit_listed(session, principal, [c for rows in queue.values() for c in rows], what="due",
                 query={"on": day.isoformat(), "days_ahead": days_ahead})
    return {"on": day.isoformat(), **{key: [_summary(c, day) for c in rows] for key, rows in queue.items()}}


# --- the employer's list (01B-HSB) -----------------------------------------------------------------------------

@router.get("/employer-batches/template", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "the 01B-HSB template"}})
def employer_batch_template(_: TemplateReader) -> Response:
    """The template of the employer's list of sickness and maternity cases (Excel, with its columns described in
    Vietnamese and English)."""
    return Response(employer_batch.template_xlsx(), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="ansinh-01B-HSB.xlsx"'})


@router.post("/employer-batches", status_code=201,
             responses={201: {"description": "every line filed or rejected with its reason"},
                        200: {"description": "the same file was sent before: its outcome, nothing filed"},
                        422: {"description": "the file could not be read: nothing written"}})
async def send_employer_batch(request: Request, session: DbSession, principal: BatchSender,
                              file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx of the 01B-HSB "
                                                                           "template's columns")],
                              employer: Annotated[str | None, Form(max_length=14, pattern=r"^[0-9-]{10,14}$",
                                                                   description="The employer's tax code (agency "
                                                                               "staff; an employer: its own)")]
                              = None) -> JSONResponse:
    """Send an employer's list of sickness and maternity cases: each line becomes a claim or is rejected with its
    reason; one bad line never stops the others."""
    content = await file.read()  # bounded by ANSINH_MAX_UPLOAD_BYTES (413 above)
    name = file.filename or "01B-HSB.csv"

    def work() -> JSONResponse:
        report = employer_batch.submit_employer_batch(session, principal, content=content, file_name=name,
                                                      employer_tax_code=employer, on=today())
        if report.status == "rejected":
            session.rollback()
            return JSONResponse(report.to_json(), status_code=422)
        session.commit()
        return JSONResponse(report.to_json(), status_code=200 if report.status == "replayed" else 201)

    return await in_import_lane(request, work)


@router.get("/employer-batches/{batch_id}")
def read_employer_batch(batch_id: RecordId, session: DbSession, principal: BatchReader) -> dict:
    """A list sent, with the outcome of every line (the claim filed, or the reason of its rejection)."""
    batch = employer_batch.get_batch(session, principal, batch_id)
    return employer_batch.batch_report(session, batch).to_json()


# --- the employment office's decisions ----------------------------------------------------------------------------

@router.post("/unemployment-decisions", status_code=201,
             responses={201: {"description": "every row filed, filed before, or rejected with its reason"},
                        422: {"description": "the file could not be read: nothing written"}})
async def import_unemployment_decisions(request: Request, session: DbSession, principal: Importer,
                                        file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx: "
                                                                                     "decision_number, decision_on, "
                                                                                     "citizen_id, ...")]
                                        ) -> JSONResponse:
    """File an unemployment claim for each of the employment office's decisions (its number makes it idempotent);
    its clock runs from the decision."""
    content = await file.read()
    name = file.filename or "decisions.csv"

    def work() -> JSONResponse:
        report = unemployment_import.import_unemployment_decisions(session, principal, content=content,
                                                                   file_name=name, on=today())
        if report.status == "rejected":
            session.rollback()
            return JSONResponse(report.to_json(), status_code=422)
        session.commit()
        return JSONResponse(report.to_json(), status_code=201)

    return await in_import_lane(request, work)
