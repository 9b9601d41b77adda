"""HTTP routes of the appraisal and the review of claims.

- ``POST /api/v1/claims/appraisals`` {facility_code, month}: run the appraisal (claims.appraise; a facility of the
  caller's subtree) and answer the run: claims, findings, disallowed, per outcome counts.
- ``GET /api/v1/claims``: the claims the caller may see, filtered and sorted, a page at a time.
- ``GET /api/v1/claims/review/queue`` and ``/review/sample``: the appraisers' flagged claims and a reproducible random
  sample of accepted ones (claims.review).
- ``POST /api/v1/claims/findings/{id}/override`` {reason}: set a finding aside (claims.review); the claim's figures.
- ``GET /api/v1/claims/{facility_code}/{ma_lk}``: ``{"status", "claimed", "disallowed", "accepted_amount",
  "findings": [{"rule", "line", "amount", "message", …}], …}``, messages in the caller's language; the read is
  audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Amount, Day, Offset, RecordId
from ansinh.claims.review import service
from ansinh.claims.review.schemas import FACILITY_PATTERN, MONTH_PATTERN, AppraisalIn, OverrideIn
from ansinh.i18n import get_locale
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/claims", tags=["claims"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
    422: {"model": ErrorBody}})
Appraiser = Annotated[Principal, Depends(require(Permission.claims_appraise, scope=Scope.org_subtree))]
Reviewer = Annotated[Principal, Depends(require(Permission.claims_review, scope=Scope.org_subtree))]
Reader = Annotated[Principal, Depends(require(Permission.claims_read, scope=(Scope.own_facility, Scope.org_subtree)))]
FacilityCode = Annotated[str | None, Query(pattern=FACILITY_PATTERN)]
Month = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="Settlement month, YYYY-MM")]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post("/appraisals")
def appraise(body: AppraisalIn, session: DbSession, principal: Appraiser) -> dict:
    """Appraise the current claims of a facility and/or a settlement month; the run's figures."""
    return service.start_appraisal(session, principal=principal, facility_code=body.facility_code,
                                   month=service.parse_month(body.month))


@router.get("")
def list_claims(session: DbSession, principal: Reader, facility_code: FacilityCode = None, month: Month = None,
                status: Annotated[str | None, Query(pattern="^(received|appraised|settled)$")] = None,
                outcome: Annotated[str | None, Query(pattern="^(accepted|partly_accepted|rejected)$")] = None,
                rule: Annotated[str | None, Query(max_length=32)] = None, min_disallowed: Amount | None = None,
                q: Annotated[str | None, Query(max_length=100, description="MA_LK, or the start of a card code")] = None,
                sort: Annotated[str, Query(pattern="^(arrival|disallowed|claimed)$")] = "arrival",
                descending: bool = True, limit: Limit = 50, offset: Offset = 0) -> list[dict]:
    """The current claims the caller may see (a facility its own; staff their subtree's)."""
    stmt = service.claims_query(principal, facility_code=facility_code, month=service.parse_month(month),
                                status=status, outcome=outcome, rule=rule, min_disallowed=min_disallowed, search=q)
    stmt = service.sorted_claims(stmt, sort, descending).limit(limit).offset(offset)
    return [service.claim_summary(claim) for claim in session.scalars(stmt)]


@router.get("/review/queue")
def review_queue(session: DbSession, principal: Reviewer, facility_code: FacilityCode = None,
                 rule: Annotated[str | None, Query(max_length=32)] = None, min_amount: Amount | None = None,
                 limit: Limit = 50, offset: Offset = 0) -> list[dict]:
    """Flagged claims (partly accepted or rejected, with a finding not overridden), largest disallowed first."""
    stmt = service.review_queue_query(principal, facility_code=facility_code, rule=rule, min_amount=min_amount)
    return [service.claim_summary(claim) for claim in session.scalars(stmt.limit(limit).offset(offset))]


@router.get("/review/sample")
def review_sample(session: DbSession, principal: Reviewer, facility_code: FacilityCode = None, month: Month = None,
                  seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0, on: Day | None = None) -> list[dict]:
    """A random sample of accepted claims for a spot check (the same for the same seed)."""
    claims = service.review_sample(session, principal=principal, on=on or clock.today(), seed=seed,
                                   facility_code=facility_code, month=service.parse_month(month))
    return [service.claim_summary(claim) for claim in claims]


@router.post("/findings/{finding_id}/override")
def override_finding(finding_id: RecordId, body: OverrideIn, session: DbSession, principal: Reviewer) -> dict:
    """Set a finding aside with a reason; the claim's disallowed amount and outcome without it."""
    return service.override_finding(session, principal=principal, finding_id=finding_id, reason=body.reason)


@router.get("/{facility_code}/{ma_lk}")
def read_claim(session: DbSession, principal: Reader,
               facility_code: Annotated[str, Path(pattern=FACILITY_PATTERN)],
               ma_lk: Annotated[str, Path(min_length=1, max_length=100)]) -> dict:
    """A claim's figures, findings, lines and versions; the read is audited."""
    return service.claim_detail(session, principal=principal, facility_code=facility_code, episode_key=ma_lk,
                                locale=get_locale())
