"""Web pages of appraised claims: the claim list (filters, sorting, paging), a claim's page (figures, lines,
findings, overrides, the override form) and the appraisers' review queue with its spot-check sample.

Thin routes over :mod:`ansinh.claims.review.service`; a facility user sees its own facility's claims, staff their
subtree's; the review queue and overrides need ``claims.review``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from ansinh import clock
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.claims.models import Claim
from ansinh.claims.review import service
from ansinh.errors import DomainError, ValidationFailed
from ansinh.i18n import N_, get_locale, gettext
from ansinh.web.forms import redirect
from ansinh.web.labels import register_labels
from ansinh.web.lists import Column, fetch_page, read_listing
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.claims_read, scope=(Scope.own_facility, Scope.org_subtree)))]
Reviewer = Annotated[Principal, Depends(require(Permission.claims_review, scope=Scope.org_subtree))]

register_nav_item(NavItem("claims_list", N_("Claims"), "/claims", Permission.claims_read, order=520, group="claims"))
register_nav_item(NavItem("claims_review", N_("Review queue"), "/claims/review", Permission.claims_review, order=530,
                          group="claims"))
register_labels({"appraised": N_("Appraised"), "partly_accepted": N_("Partly accepted"),
                 # a claim's outcome: "accepted" alone is also a file's status (received), hence the prefix
                 "outcome.accepted": N_("Accepted for payment"), "outcome.partly_accepted": N_("Partly accepted"),
                 "outcome.rejected": N_("Rejected"),
                 "received": N_("Received, not appraised"), "settled": N_("Settled with the facility")})

COLUMNS = (
    Column("arrival", N_("Arrival"), Claim.arrived_at),
    Column("facility", N_("Facility")),
    Column("ma_lk", N_("Episode (MA_LK)")),
    Column("status", N_("Status")),
    Column("outcome", N_("Outcome")),
    Column("claimed", N_("Claimed from the fund"), Claim.fund_claimed, numeric=True),
    Column("disallowed", N_("Disallowed"), Claim.disallowed, numeric=True),
)
_Filter = Annotated[str, Query(max_length=100)]


def _amount(text: str, field: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 15:
        raise ValidationFailed(field, "{value} is not a whole number of dong.", value=text[:20])
    return int(text)


def claim_url(claim: Claim) -> str:
    return f"/claims/{claim.facility_code}/{quote(claim.episode_key, safe='')}"


@router.get("/claims")
def claims_page(request: Request, session: DbSession, principal: Reader, facility: _Filter = "", month: _Filter = "",
                status: _Filter = "", outcome: _Filter = "", rule: _Filter = "", min_disallowed: _Filter = "",
                q: _Filter = "") -> Response:
    """The claims the caller may see, newest arrival first, with filters."""
    filters = {"facility": facility if facility.isdigit() and len(facility) == 5 else "",
               "month": month, "status": status if status in service.STATUSES else "",
               "outcome": outcome if outcome in service.OUTCOMES else "", "rule": rule[:32],
               "min_disallowed": min_disallowed, "q": q}
    listing = read_listing(request, COLUMNS, default_sort="arrival", default_descending=True, filters=filters)
    stmt = service.claims_query(principal, facility_code=filters["facility"] or None,
                                month=service.parse_month(month), status=filters["status"] or None,
                                outcome=filters["outcome"] or None, rule=filters["rule"] or None,
                                min_disallowed=_amount(min_disallowed, "min_disallowed"), search=q or None)
    rows = fetch_page(session, stmt, listing, Claim.id.desc(), scalars=True)
    return render(request, "claims/claims.html", {"listing": listing, "claims": rows, "claim_url": claim_url,
                                                  "statuses": service.STATUSES, "outcomes": service.OUTCOMES})


@router.get("/claims/review")
def review_page(request: Request, session: DbSession, principal: Reviewer, facility: _Filter = "",
                rule: _Filter = "", min_amount: _Filter = "", month: _Filter = "", seed: _Filter = "") -> Response:
    """The flagged claims, largest disallowed first, and a random sample of accepted claims for spot checks."""
    facility_code = facility if facility.isdigit() and len(facility) == 5 else None
    queue = session.scalars(service.review_queue_query(principal, facility_code=facility_code, rule=rule[:32] or None,
                                                       min_amount=_amount(min_amount, "min_amount")).limit(100)).all()
    chosen_seed = int(seed) if seed.isdigit() and len(seed) < 10 else 0
    sample = service.review_sample(session, principal=principal, on=clock.today(), seed=chosen_seed,
                                   facility_code=facility_code, month=service.parse_month(month))
    return render(request, "claims/review.html", {
        "queue": queue, "sample": sample, "claim_url": claim_url, "seed": chosen_seed,
        "filters": {"facility": facility_code or "", "rule": rule[:32], "min_amount": min_amount, "month": month}})


def _claim_response(request: Request, session, principal: Principal, facility_code: str, ma_lk: str, *,
                    error: str | None = None, notice: str = "", status_code: int = 200) -> Response:
    detail = service.claim_detail(session, principal=principal, facility_code=facility_code, episode_key=ma_lk,
                                  locale=get_locale(), markup=True)
    detail["arrived"] = datetime.fromisoformat(detail["arrived_at"])
    for finding in detail["findings"]:
        if finding["overridden"]:
            finding["overridden"]["moment"] = datetime.fromisoformat(finding["overridden"]["at"])
    for line in detail["lines"]:
        line["quantity_number"] = Decimal(line["quantity"])
    return render(request, "claims/claim.html", {
        "claim": detail, "can_review": principal.has(Permission.claims_review), "error": error,
        "notice": notice, "reason_max": service.REASON_MAX}, status_code=status_code)


@router.post("/claims/findings/{finding_id}/override")
def override_form(request: Request, session: DbSession, principal: Reviewer, finding_id: RecordId,
                  csrf_token: Annotated[str, Form(max_length=200)] = "",
                  reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """The override form of a claim's page: the same as ``POST /api/v1/claims/findings/{id}/override``."""
    verify_csrf(request, csrf_token)
    try:
        answer = service.override_finding(session, principal=principal, finding_id=finding_id, reason=reason)
    except ValidationFailed as exc:
        session.rollback()
        from ansinh.claims.appraisal.models import Finding

        finding = session.get(Finding, finding_id)
        claim = session.get(Claim, finding.claim_id)
        return _claim_response(request, session, principal, claim.facility_code, claim.episode_key,
                               error=exc.translated(gettext), status_code=422)
    except DomainError:
        session.rollback()
        raise
    session.commit()
    return redirect(f"/claims/{answer['facility_code']}/{quote(answer['ma_lk'], safe='')}?notice=overridden",
                    request)


@router.get("/claims/{facility_code}/{ma_lk}")
def claim_page(request: Request, session: DbSession, principal: Reader, facility_code: str, ma_lk: str,
               notice: Annotated[str, Query(max_length=20)] = "") -> Response:
    """A claim: its figures, lines, findings (with overrides) and versions."""
    if not (facility_code.isdigit() and len(facility_code) == 5) or len(ma_lk) > 100:
        raise ValidationFailed("facility_code", "A facility code is 5 digits.")
    return _claim_response(request, session, principal, facility_code, ma_lk,
                           notice=notice if notice == "overridden" else "")
