"""Appraised claims as appraisers and facilities see them, and the appraisers' review.

- :func:`claim_detail`: one episode's current version — what the facility claims from the fund (T_BHTT), what the
  appraisal disallowed, what is accepted, its findings (messages in the caller's language, overrides with who, when
  and why), its lines with their disallowed amounts, and its versions. Reading it is audited (personal data).
- :func:`claims_query`: the claims a caller may see, filtered (facility, settlement month, status, outcome, rule,
  least disallowed, MA_LK or card code).
- :func:`review_queue_query`: the flagged claims (partly accepted or rejected, with a finding not overridden),
  largest disallowed first; :func:`review_sample`: a random sample of accepted claims for spot checks, the same for
  the same seed, its size a dated parameter (``claims.review.sample_share``).
- :func:`override_finding`: an appraiser sets a finding aside with a reason: a guarded update (only a current
  finding not overridden yet, of a claim not settled), the claim's row locked, its lines' and its own disallowed
  amount and outcome recomputed in the same transaction (:func:`ansinh.claims.appraisal.service.write_outcomes`);
  audited. A later run that finds the same thing again keeps the override.

Who: a facility user sees its own facility's claims; agency staff those of their org-unit subtree; another facility
gets 404, another province's staff 403, and nothing changes. ``principal`` None: a command on the server.
Plain functions; they flush, the caller commits.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import polars as pl
from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event, record_read
from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Permission, Principal, ensure_in_scope, ensure_permission, org_scope
from ansinh.claims.appraisal.models import Finding
from ansinh.claims.appraisal.rules import describe
from ansinh.claims.appraisal.service import current_findings, lock_appraisal, write_outcomes
from ansinh.claims.models import SETTLED, Claim, ClaimLine, claim_is_settled, claim_month_of
from ansinh.db import utcnow
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.i18n import use_locale
from ansinh.rules.parameters import get_parameters

STATUSES = ("received", "appraised", SETTLED)
OUTCOMES = ("accepted", "partly_accepted", "rejected")
FLAGGED = ("partly_accepted", "rejected")
SAMPLE_PARAMETER = "claims.review.sample_share"
#: The longest reason an override keeps (the column's length).
REASON_MAX = Finding.override_reason.type.length
#: The orders of the claim list: arrival, disallowed, claimed.
SORTS = {"arrival": Claim.arrived_at, "disallowed": Claim.disallowed, "claimed": Claim.fund_claimed}


def _is_facility(principal: Principal | None) -> bool:
    return principal is not None and Role.facility in principal.roles and not principal.is_agency_staff


def claims_in_scope(principal: Principal | None):
    """A WHERE clause keeping the claims the caller may see (None: every claim)."""
    if principal is None:
        return None
    if _is_facility(principal):
        return Claim.facility_code == (principal.subject_ref or "")
    return org_scope(principal, Claim.org_unit_id)


def _ensure_sees(session: Session, principal: Principal | None, claim: Claim, missing: NotFound) -> None:
    if principal is None:
        return
    if _is_facility(principal):
        if claim.facility_code != principal.subject_ref:
            raise missing
    else:
        ensure_in_scope(principal, session.get(OrgUnit, claim.org_unit_id))


def get_claim(session: Session, principal: Principal | None, facility_code: str, episode_key: str) -> Claim:
    """The current version of an episode the caller may see (404: no such episode, or another facility's for a
    facility user; 403: outside a staff member's subtree)."""
    if principal is not None:
        ensure_permission(principal, Permission.claims_read)
    missing = NotFound("There is no claim {ma_lk} of facility {facility}.", ma_lk=episode_key[:100],
                       facility=facility_code[:5])
    claim = session.scalar(select(Claim).where(Claim.facility_code == facility_code, Claim.episode_key == episode_key,
                                               Claim.superseded_at.is_(None))
                         .execution_options(populate_existing=True))
    if claim is None:
        raise missing
    _ensure_sees(session, principal, claim, missing)
    return claim


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _milli(value: int | None) -> str | None:
    return None if value is None else str(Decimal(value) / 1000)


def claim_summary(claim: Claim) -> dict:
    """The figures of a claim: ``claimed`` is the fund's share the facility asks for (T_BHTT); ``accepted_amount``
    = claimed − disallowed."""
    return {"id": claim.id, "facility_code": claim.facility_code, "ma_lk": claim.episode_key,
            "version": claim.version, "status": claim.state, "outcome": claim.outcome_status,
            "claimed": claim.fund_claimed, "disallowed": claim.disallowed,
            "accepted_amount": claim.fund_claimed - claim.disallowed,
            "settlement_month": f"{claim.settlement_year:04d}-{claim.settlement_month:02d}",
            "arrived_at": _moment(claim.arrived_at), "appraised_at": _moment(claim.appraised_at)}


def finding_json(finding: Finding, line: ClaimLine | None, *, markup: bool = False) -> dict:
    """A finding, its message in the current language (``markup``: HTML for a page, the codes marked)."""
    details = dict(finding.details or {})
    overridden = None
    if finding.overridden_at is not None:
        overridden = {"by": finding.overridden_by, "at": _moment(finding.overridden_at),
                      "reason": finding.override_reason}
    return {"id": finding.id, "rule": finding.rule, "line": line.row_no if line is not None else None,
            "line_id": finding.line_id, "table": line.source_table if line is not None else None,
            "amount": finding.amount, "message": describe(finding.rule, details, markup=markup),
            "whole": bool(details.get("whole")), "overridden": overridden}


def claim_detail(session: Session, *, principal: Principal | None, facility_code: str, episode_key: str,
                 locale: str, markup: bool = False) -> dict:
    """An episode's current version with its findings (messages in ``locale``), lines and versions; the read is
    audited."""
    claim = get_claim(session, principal, facility_code, episode_key)
    lines = list(session.scalars(select(ClaimLine).where(
        ClaimLine.claim_id == claim.id, ClaimLine.claim_month == claim_month_of(claim.settlement_year,
                                                                               claim.settlement_month))
                                 .order_by(ClaimLine.source_table, ClaimLine.row_no)
                                 .execution_options(populate_existing=True)))
    by_id = {line.id: line for line in lines}
    with use_locale(locale):
        findings = [finding_json(row, by_id.get(row.line_id), markup=markup)
                    for row in current_findings(session, None, claim.id)]
    versions = session.scalars(select(Claim).where(Claim.facility_code == claim.facility_code,
                                                   Claim.episode_key == claim.episode_key)
                               .order_by(Claim.version.desc()))
    record_read(session, "claim", claim.id, org_unit_id=claim.org_unit_id,
                details={"facility": claim.facility_code, "ma_lk": claim.episode_key})
    return {
        **claim_summary(claim), "findings": findings,
        "patient": {"full_name": claim.full_name, "card_code": claim.card_code,
                    "date_of_birth": claim.date_of_birth.isoformat() if claim.date_of_birth else None},
        "care_type": claim.care_type, "visit_category": claim.visit_category, "main_icd": claim.main_icd,
        "discharged_at": _moment(claim.discharged_at), "total_insured": claim.total_insured,
        "lines": [{"id": line.id, "table": line.source_table, "line": line.row_no, "kind": line.kind,
                   "code": line.code, "name": line.name, "quantity": _milli(line.quantity_milli),
                   "unit_price": _milli(line.unit_price_milli), "fund_amount": line.fund_amount,
                   "disallowed": line.disallowed} for line in lines],
        "versions": [{"version": row.version, "file_id": row.file_id, "received_at": _moment(row.received_at),
                      "superseded_at": _moment(row.superseded_at), "claimed": row.fund_claimed,
                      "status": row.state} for row in versions],
    }


def parse_month(text: str | None, field: str = "month") -> date | None:
    """``YYYY-MM`` → the first day of that month (None for empty); 422 naming the field otherwise."""
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise ValidationFailed(field, "{value} is not a month (YYYY-MM).", value=text[:20]) from None


def _rule_found(rule: str):
    return exists().where(Finding.claim_id == Claim.id, Finding.superseded_at.is_(None), Finding.rule == rule)


def claims_query(principal: Principal | None, *, facility_code: str | None = None, month: date | None = None,
                 status: str | None = None, outcome: str | None = None, rule: str | None = None,
                 min_disallowed: int | None = None, search: str | None = None) -> Select:
    """The current claims the caller may see, filtered (unordered: the caller sorts)."""
    if principal is not None:
        ensure_permission(principal, Permission.claims_read)
    if status and status not in STATUSES:
        raise ValidationFailed("status", "{value} is not one of {allowed}.", value=status[:20],
                               allowed=", ".join(STATUSES))
    if outcome and outcome not in OUTCOMES:
        raise ValidationFailed("outcome", "{value} is not one of {allowed}.", value=outcome[:20],
                               allowed=", ".join(OUTCOMES))
    stmt = select(Claim).where(Claim.superseded_at.is_(None))
    scope = claims_in_scope(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    if facility_code:
        stmt = stmt.where(Claim.facility_code == facility_code)
    if month is not None:
        stmt = stmt.where(Claim.settlement_year == month.year, Claim.settlement_month == month.month)
    if status == SETTLED:
        stmt = stmt.where(claim_is_settled())
    elif status:
        stmt = stmt.where(Claim.status == status, ~claim_is_settled())
    if outcome:
        stmt = stmt.where(Claim.outcome_status == outcome)
    if rule:
        stmt = stmt.where(_rule_found(rule))
    if min_disallowed:
        stmt = stmt.where(Claim.disallowed >= min_disallowed)
    if search:
        stmt = stmt.where(or_(Claim.episode_key == search.strip(), Claim.card_code.startswith(search.strip(),
                                                                                              autoescape=True)))
    return stmt


def sorted_claims(stmt: Select, sort: str = "arrival", descending: bool = True) -> Select:
    if sort not in SORTS:
        raise ValidationFailed("sort", "{value} is not one of {allowed}.", value=sort[:20], allowed=", ".join(SORTS))
    column = SORTS[sort]
    return stmt.order_by(column.desc() if descending else column.asc(), Claim.id.desc() if descending else Claim.id)


def review_queue_query(principal: Principal | None, *, facility_code: str | None = None, rule: str | None = None,
                       min_amount: int | None = None) -> Select:
    """The flagged claims: current, appraised, partly accepted or rejected, with a refusing finding not overridden
    (of ``rule`` when given), of at least ``min_amount`` disallowed; largest disallowed first."""
    if principal is not None:
        ensure_permission(principal, Permission.claims_review)
    open_finding = exists().where(Finding.claim_id == Claim.id, Finding.superseded_at.is_(None),
                                  Finding.overridden_at.is_(None), Finding.amount > 0,
                                  *([Finding.rule == rule] if rule else []))
    stmt = claims_query(None, facility_code=facility_code, min_disallowed=min_amount).where(
        Claim.status == "appraised", ~claim_is_settled(), Claim.outcome_status.in_(FLAGGED), open_finding)
    if principal is not None:
        stmt = stmt.where(org_scope(principal, Claim.org_unit_id))
    return stmt.order_by(Claim.disallowed.desc(), Claim.id)


def review_sample(session: Session, *, principal: Principal | None, on: date, seed: int,
                  facility_code: str | None = None, month: date | None = None) -> list[Claim]:
    """A random sample of the accepted claims (current, appraised, not settled) for a spot check: the share in
    force ``on`` of them (at least one when there is any), the same claims for the same seed and claims."""
    if principal is not None:
        ensure_permission(principal, Permission.claims_review)
    stmt = claims_query(None, facility_code=facility_code, month=month).where(
        Claim.status == "appraised", ~claim_is_settled(), Claim.outcome_status == "accepted")
    if principal is not None:
        stmt = stmt.where(org_scope(principal, Claim.org_unit_id))
    ids = pl.Series("id", session.scalars(stmt.with_only_columns(Claim.id).order_by(Claim.id)).all(), dtype=pl.Int64)
    if ids.is_empty():
        return []
    share = get_parameters()[SAMPLE_PARAMETER].at(on)
    size = max(1, math.ceil(len(ids) * share))
    chosen = ids.sample(min(size, len(ids)), seed=seed).sort().to_list()
    return list(session.scalars(select(Claim).where(Claim.id.in_(chosen)).order_by(Claim.id)
                                .execution_options(populate_existing=True)))


def override_finding(session: Session, *, principal: Principal | None, finding_id: int, reason: str,
                     actor: str | None = None) -> dict:
    """Set a current finding aside with a reason: the claim (locked) gets its disallowed amount and outcome again
    without it. 404 for an unknown finding (or another facility's), 403 outside the caller's subtree, 409 when the
    finding is no longer current, already overridden, or its claim settled or replaced by a later version."""
    if principal is not None:
        ensure_permission(principal, Permission.claims_review)
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("reason", "Say why the finding is set aside.")
    if len(text) > REASON_MAX:
        raise ValidationFailed("reason", "The reason is longer than {limit} characters.", limit=REASON_MAX)
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFound("There is no finding {id}.", id=finding_id)
    if principal is not None:
        ensure_in_scope(principal, session.get(OrgUnit, finding.org_unit_id))
    claim = session.get(Claim, finding.claim_id)
    # the settlement of the claim's month takes this lock too: the claim is settled before or after, never during
    lock_appraisal(session, claim.facility_code, date(claim.settlement_year, claim.settlement_month, 1))
    claim = session.scalar(select(Claim).where(Claim.id == finding.claim_id).with_for_update()
                           .execution_options(populate_existing=True))
    if claim.settled:
        raise Conflict("Claim {ma_lk} is settled: its findings can no longer be overridden.", ma_lk=claim.episode_key)
    if claim.superseded_at is not None:
        raise Conflict("Claim {ma_lk} was replaced by a later version.", ma_lk=claim.episode_key)
    who = (actor or (principal.username if principal is not None else "cli"))[:64]
    now = utcnow()
    changed = session.execute(
        update(Finding).where(Finding.id == finding_id, Finding.superseded_at.is_(None),
                              Finding.overridden_at.is_(None))
        .values(overridden_at=now, overridden_by=who, override_reason=text)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict("Finding {id} is no longer current or was already overridden.", id=finding_id)
    before = {"disallowed": claim.disallowed, "outcome": claim.outcome_status}
    write_outcomes(session, select(Claim.id).where(Claim.id == claim.id), appraised_at=claim.appraised_at or now,
                   month=claim_month_of(claim.settlement_year, claim.settlement_month))
    session.refresh(claim)
    session.refresh(finding)
    record_event(session, "override", "appraisal_finding", finding.id, org_unit_id=claim.org_unit_id,
                 details={"claim_id": claim.id, "facility": claim.facility_code, "ma_lk": claim.episode_key,
                          "rule": finding.rule, "amount": finding.amount, "reason": text, "before": before,
                          "after": {"disallowed": claim.disallowed, "outcome": claim.outcome_status}})
    session.flush()
    return {**claim_summary(claim), "finding": {"id": finding.id, "rule": finding.rule, "amount": finding.amount,
                                                "overridden": {"by": who, "at": _moment(now), "reason": text}}}


def start_appraisal(session: Session, *, principal: Principal | None, facility_code: str | None,
                    month: date | None, started_by: str | None = None) -> dict:
    """Appraise the current claims of a facility and/or a settlement month (see
    :func:`ansinh.claims.appraisal.service.appraise_claims`): a facility outside the caller's subtree is refused
    (403; 404 when unknown) before anything is written. Answers the run: claims, findings, disallowed, and the count
    and disallowed amount of each outcome."""
    from ansinh.cards import facilities
    from ansinh.claims.appraisal.service import appraise_claims, run_conditions

    if principal is not None:
        ensure_permission(principal, Permission.claims_appraise)
    if facility_code is not None:
        facility = facilities.get_facility(session, facility_code)
        if principal is not None:
            ensure_in_scope(principal, session.get(OrgUnit, facility.org_unit_id))
    run = appraise_claims(session, principal=principal, facility_code=facility_code, month=month,
                          started_by=started_by)
    counts = session.execute(select(Claim.outcome_status, func.count(), func.coalesce(func.sum(Claim.disallowed), 0))
                             .where(*run_conditions(principal, facility_code, month), Claim.appraised_at.is_not(None))
                             .group_by(Claim.outcome_status)).all()
    outcomes = {outcome: {"claims": 0, "disallowed": 0} for outcome in OUTCOMES}
    outcomes.update({outcome: {"claims": count, "disallowed": int(amount)} for outcome, count, amount in counts
                     if outcome in outcomes})
    return {"run_id": run.id, "facility_code": facility_code, "month": f"{month:%Y-%m}" if month else None,
            "claims": run.claims, "findings": run.findings,
            "disallowed": sum(item["disallowed"] for item in outcomes.values()), "outcomes": outcomes,
            "started_by": run.started_by}
