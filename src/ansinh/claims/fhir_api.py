"""FHIR R4 route of the claim pre-check (:mod:`ansinh.claims.fhir`): ``POST /fhir/r4/Claim`` (or
``/fhir/r4/Claim/$submit``), a Claim in, a ClaimResponse out; errors are OperationOutcomes (the route class of
:mod:`ansinh.cards.fhir`). A facility user pre-checks its own facility's claims (claims.submit, a contract in force);
agency staff those of the facilities in their scope (claims.submit and claims.appraise). Nothing is stored; the read
of the person is audited, and so is every refusal."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ansinh import clock, i18n
from ansinh.auth.deps import CSRF_HEADER, DbSession, require, verify_csrf
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.cards.fhir import ACCEPTED_MEDIA, FHIR_JSON, FhirRoute, UnsupportedMediaType, _documented, fhir_response
from ansinh.claims.fhir import precheck_claim
from ansinh.i18n import N_

router = APIRouter(prefix="/fhir/r4", tags=["fhir"], route_class=FhirRoute)
Submitter = Annotated[Principal, Depends(require(Permission.claims_submit,
                                                 scope=(Scope.own_facility, Scope.org_subtree)))]
_ERRORS = {status: _documented("OperationOutcome") for status in (400, 401, 403, 404, 415, 422)}
_SUBMIT = {"response_model": None, "responses": _ERRORS | {200: _documented("ClaimResponse")},
           "openapi_extra": {"requestBody": {"required": True, "content": {
               FHIR_JSON: {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}}}}


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post("/Claim", **_SUBMIT)
@router.post("/Claim/$submit", **_SUBMIT)
async def submit_claim(request: Request, session: DbSession, principal: Submitter,
                       raw: Annotated[bytes, Depends(_raw_body)]) -> Response:
    """Pre-check one claim with the automatic appraisal: a FHIR Claim in, a ClaimResponse out (nothing stored);
    the messages in the language of ``Accept-Language`` (else the site's)."""
    locale = request.scope["state"]["locale"]  # negotiated by the middleware (Accept-Language)

    def work() -> Response:
        i18n.set_locale(locale)  # in this thread's context
        verify_csrf(request, request.headers.get(CSRF_HEADER))
        media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if media not in ACCEPTED_MEDIA:
            raise UnsupportedMediaType(N_("Send the resource as {accepted}; got {value}."),
                                       accepted=" or ".join(sorted(ACCEPTED_MEDIA)), value=media or "nothing")
        return fhir_response(precheck_claim(session, principal=principal, raw=raw, today=clock.today()))

    return await to_thread.run_sync(work)
