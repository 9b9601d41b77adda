"""The benefit claim's workflow: filing, the legal clock, assessment from the records, the decision, appeals and
withdrawal. Every transition goes through :func:`transition` (the allowed graph is ``models.TRANSITIONS``): the
claim's row is locked, the step is written to the claim's timeline with who, when and why, and the row change is
audited. The caller owns the transaction.

Scope: a claim belongs to the org unit of the person's record (the office that resolves it); agency staff act on
claims of their subtree, a citizen on their own (as the insured person or the payee), an employer on the claims it
filed (01B-HSB). Anything else is 404 (a claim of another province is not confirmed to exist).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ansinh.audit.service import record_read
from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Principal, org_scope
from ansinh.benefits import calendar, eligibility
from ansinh.benefits.models import (
    CLOCK_RUNNING,
    TRANSITIONS,
    BenefitClaim,
    Channel,
    ClaimEvent,
    ClaimStatus,
    ClaimType,
    DecisionSequence,
)
from ansinh.benefits.schemas import parse_details
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_
from ansinh.registry.models import Employer, Person

S = ClaimStatus
#: How long a transition waits for another to release a claim's row (PostgreSQL ``lock_timeout`` applies).
MAX_MISSING_ITEMS = 20


class IllegalTransition(Conflict):
    """A step the claim's status does not allow (deciding a withdrawn claim, paying a refused one)."""


# --- reading and scope --------------------------------------------------------------------------------------------

def _is_citizen(principal: Principal) -> bool:
    return Role.citizen in principal.roles and not principal.is_agency_staff


def _is_employer(principal: Principal) -> bool:
    return Role.employer in principal.roles and not principal.is_agency_staff


def claims_scope(principal: Principal):
    """A WHERE clause keeping the claims the caller may see."""
    if _is_citizen(principal):
        own = select(Person.id).where(Person.citizen_id == (principal.subject_ref or "\x00"))
        return or_(BenefitClaim.person_id.in_(own), BenefitClaim.payee_person_id.in_(own))
    if _is_employer(principal):
        # an employer account's subject_ref is its tax code (auth.service.SUBJECT_ROLES)
        mine = select(Employer.id).where(Employer.tax_code == (principal.subject_ref or "\x00"))
        return BenefitClaim.employer_id.in_(mine)
    return org_scope(principal, BenefitClaim.org_unit_id)


def _load(session: Session, principal: Principal, claim_id: int, *, lock: bool) -> BenefitClaim:
    stmt = select(BenefitClaim).where(BenefitClaim.id == claim_id, claims_scope(principal))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    claim = session.scalar(stmt)
    if claim is None:
        raise NotFound("Claim {id} does not exist.", id=claim_id)
    return claim


def get_claim(session: Session, principal: Principal, claim_id: int) -> BenefitClaim:
    """A claim the caller may see (the read audited); 404 otherwise."""
    claim = _load(session, principal, claim_id, lock=False)
    record_read(session, "benefit_claim", claim.id, org_unit_id=claim.org_unit_id, person_ref=claim.person_ref)
    return claim


def lock_claim(session: Session, principal: Principal, claim_id: int) -> BenefitClaim:
    """A claim the caller may act on, its row locked for the rest of the transaction."""
    return _load(session, principal, claim_id, lock=True)


def claim_events(session: Session, claim_id: int) -> Sequence[ClaimEvent]:
    return session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id)
                           .order_by(ClaimEvent.at, ClaimEvent.id)).all()


# --- the one way to change a claim's status ---------------------------------------------------------------------

def transition(session: Session, claim: BenefitClaim, to: ClaimStatus, *, on: date, by: str,
               reason: str | None = None, details: dict | None = None) -> ClaimEvent:
    """Move a (locked) claim to ``to``, or refuse the step (409). Written to the claim's timeline."""
    to = ClaimStatus(to)
    current = ClaimStatus(claim.status)
    if to not in TRANSITIONS[current]:
        raise IllegalTransition("A claim that is {current} cannot become {to}.", current=current.value, to=to.value)
    if on < claim.filed_on:
        raise ValidationFailed("on", "The date {on} is before the claim was filed ({filed_on}).", on=on,
                               filed_on=claim.filed_on)
    claim.status = to
    event = ClaimEvent(claim_id=claim.id, from_status=current.value, to_status=to.value, on=on, by=by,
                       reason=reason, details=details)
    session.add(event)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(N_("This claim was changed by someone else at the same time; nothing was changed. "
                          "Reload and try again.")) from None
    return event


# --- filing -------------------------------------------------------------------------------------------------------

def _check_ground(claim_type: ClaimType, ground: str | None, filed_on: date) -> str | None:
    if claim_type is not ClaimType.lump_sum:
        if ground:
            raise ValidationFailed("ground", "A ground is only given for a lump-sum withdrawal.")
        return None
    grounds = eligibility.lump_sum_grounds(filed_on)
    if not ground:
        raise ValidationFailed("ground", "Give the ground of the lump-sum withdrawal: one of {grounds}.",
                               grounds=", ".join(grounds))
    if ground not in grounds:
        raise ValidationFailed("ground", "{ground} is not a ground of a lump-sum withdrawal filed on {filed_on}: "
                               "one of {grounds}.", ground=ground, filed_on=filed_on, grounds=", ".join(grounds))
    return ground


def _relative_of_citizen(session: Session, principal: Principal, person: Person, claim_type: ClaimType | None,
                         details: dict | None) -> bool:
    """A death benefit a citizen files for a deceased member of their own household, as the relative who claims."""
    if claim_type not in (ClaimType.funeral, ClaimType.survivor):
        return False
    if (details or {}).get("claimant_citizen_id") != principal.subject_ref or person.household_id is None:
        return False
    own = session.scalar(select(Person).where(Person.citizen_id == principal.subject_ref,
                                              Person.merged_into_id.is_(None)))
    return own is not None and own.id != person.id and own.household_id == person.household_id


def _person_for_filing(session: Session, principal: Principal, citizen_id: str, claim_type: ClaimType | None = None,
                       details: dict | None = None) -> Person:
    person = session.scalar(select(Person).where(Person.citizen_id == citizen_id, Person.merged_into_id.is_(None)))
    if person is None:
        raise NotFound("No person is registered with citizen ID {citizen_id}.", citizen_id=citizen_id)
    if _is_citizen(principal):
        if person.citizen_id != principal.subject_ref:
            if _relative_of_citizen(session, principal, person, claim_type, details):
                return person
            raise PermissionDenied(N_("You can only file your own claims."))
    elif _is_employer(principal):
        pass  # checked against the employer's workers by the batch
    else:
        unit = session.get(OrgUnit, person.org_unit_id)
        if unit is None or not principal.covers_path(unit.path):
            raise NotFound("No person is registered with citizen ID {citizen_id}.", citizen_id=citizen_id)
    return person


def _payee(session: Session, claim_type: ClaimType, details: dict, person: Person) -> Person:
    claimant = details.get("claimant_citizen_id")
    if claim_type in (ClaimType.funeral, ClaimType.survivor):
        if not claimant:
            raise ValidationFailed("details.claimant_citizen_id", "Give the citizen ID of the relative who claims.")
        payee = session.scalar(select(Person).where(Person.citizen_id == claimant, Person.merged_into_id.is_(None)))
        if payee is None:
            raise ValidationFailed("details.claimant_citizen_id",
                                   "No person is registered with citizen ID {citizen_id}.", citizen_id=claimant)
        if payee.id == person.id:
            raise ValidationFailed("details.claimant_citizen_id", "The claimant is a relative of the deceased.")
        return payee
    return person


def file_claim(session: Session, principal: Principal, *, claim_type: ClaimType | str, citizen_id: str,
               filed_on: date, channel: Channel | str, ground: str | None = None, details: dict | None = None,
               missing: Sequence[str] = (), external_ref: str | None = None, employer_id: int | None = None,
               batch_id: int | None = None, batch_line: int | None = None) -> tuple[BenefitClaim, bool]:
    """File a claim; returns it and whether it is new (a filing with an ``external_ref`` already filed returns the
    claim filed then, changing nothing). Complete (nothing ``missing``): accepted at once and its clock starts on
    ``filed_on``; otherwise incomplete with what is missing, the clock paused. A claim by post stays ``received``
    until an officer has checked the file (:func:`complete_claim` or :func:`mark_incomplete`)."""
    claim_type = ClaimType(claim_type)
    channel = Channel(channel)
    if _is_citizen(principal):
        channel = Channel.portal
    if external_ref:
        existing = session.scalar(select(BenefitClaim).where(BenefitClaim.external_ref == external_ref))
        if existing is not None:
            if session.scalar(select(BenefitClaim.id).where(BenefitClaim.id == existing.id,
                                                            claims_scope(principal))) is None:
                raise Conflict(N_("This reference was filed already."))
            return existing, False
    person = _person_for_filing(session, principal, citizen_id, claim_type, details)
    details = parse_details(claim_type, details)
    ground = _check_ground(claim_type, ground, filed_on)
    missing = [str(m).strip()[:200] for m in missing if str(m).strip()][:MAX_MISSING_ITEMS]
    payee = _payee(session, claim_type, details, person)
    if employer_id is None and claim_type in (ClaimType.sickness, ClaimType.maternity):
        employer_id = details.get("employer_id")
    by = principal.username
    claim = BenefitClaim(claim_type=claim_type, person_id=person.id, person_ref=person.citizen_id or person.si_number,
                         payee_person_id=payee.id, channel=channel, status=S.received, ground=ground, details=details,
                         filed_on=filed_on, employer_id=employer_id, employer_batch_id=batch_id, batch_line=batch_line,
                         external_ref=external_ref, org_unit_id=person.org_unit_id,
                         province_2025=person.province_2025, filed_by=by)
    session.add(claim)
    session.flush()
    session.add(ClaimEvent(claim_id=claim.id, from_status=None, to_status=S.received.value, on=filed_on, by=by,
                           details={"channel": channel.value}))
    if missing:
        mark_incomplete_claim(session, claim, missing=missing, on=filed_on, by=by)
    elif channel is not Channel.post:
        _accept(session, claim, on=filed_on, by=by)
    # By post: received, until an officer has checked the file (complete_claim, or mark_incomplete).
    return claim, True


def _accept(session: Session, claim: BenefitClaim, *, on: date, by: str, reason: str | None = None) -> None:
    claim.missing = None
    claim.complete_on = on
    claim.deadline = calendar.resolution_deadline(claim.claim_type.value, on,
                                                  direct=bool((claim.details or {}).get("direct")))
    transition(session, claim, S.accepted, on=on, by=by, reason=reason,
               details={"deadline": claim.deadline.isoformat()})


def mark_incomplete_claim(session: Session, claim: BenefitClaim, *, missing: Sequence[str], on: date, by: str,
                          reason: str | None = None) -> None:
    """The file lacks documents: the clock stops (no deadline) until they arrive."""
    items = [str(m).strip()[:200] for m in missing if str(m).strip()][:MAX_MISSING_ITEMS]
    if not items:
        raise ValidationFailed("missing", "Name what is missing from the file.")
    claim.missing = items
    claim.complete_on = None
    claim.deadline = None
    transition(session, claim, S.incomplete, on=on, by=by, reason=reason, details={"missing": items})


def mark_incomplete(session: Session, principal: Principal, claim_id: int, *, missing: Sequence[str], on: date,
                    reason: str | None = None) -> BenefitClaim:
    claim = lock_claim(session, principal, claim_id)
    mark_incomplete_claim(session, claim, missing=missing, on=on, by=principal.username, reason=reason)
    return claim


def complete_claim(session: Session, principal: Principal, claim_id: int, *, on: date,
                   reason: str | None = None) -> BenefitClaim:
    """The file is complete on ``on`` (the missing documents arrived, or a file received by post was checked):
    accepted, the clock starts that day."""
    claim = lock_claim(session, principal, claim_id)
    if ClaimStatus(claim.status) not in (S.incomplete, S.received):
        raise IllegalTransition("A claim that is {current} cannot become {to}.", current=claim.status.value,
                                to=S.accepted.value)
    _accept(session, claim, on=on, by=principal.username, reason=reason)
    return claim


def withdraw_claim(session: Session, principal: Principal, claim_id: int, *, on: date,
                   reason: str | None = None) -> BenefitClaim:
    claim = lock_claim(session, principal, claim_id)
    transition(session, claim, S.withdrawn, on=on, by=principal.username, reason=reason)
    return claim


# --- assessment and decision ------------------------------------------------------------------------------------

def _check_not_excluded(claim: BenefitClaim, principal: Principal) -> None:
    if claim.excluded_officer and claim.excluded_officer == principal.username:
        raise PermissionDenied(N_("This claim is on appeal: another officer than the one who decided it "
                                  "re-assesses and decides it."))


def assess(session: Session, principal: Principal, claim_id: int, *, on: date) -> BenefitClaim:
    """Eligibility and amounts from the person's records and the rules (never typed in): stored on the claim."""
    claim = lock_claim(session, principal, claim_id)
    _check_not_excluded(claim, principal)
    if ClaimStatus(claim.status) not in (S.accepted, S.assessed):
        raise IllegalTransition("A claim that is {current} cannot become {to}.", current=claim.status.value,
                                to=S.assessed.value)
    result = eligibility.assess(session, claim, on=on)
    claim.assessment = result.as_json()
    claim.eligible = result.eligible
    claim.amount = result.amount if result.eligible else 0
    claim.monthly_amount = result.monthly_amount if result.eligible else None
    claim.benefit_months = result.benefit_months if result.eligible else None
    claim.first_month = result.first_month if result.eligible else None
    claim.assessed_on = on
    claim.assessed_by = principal.username
    if ClaimStatus(claim.status) is S.assessed:  # re-assessed (new records): the step is written, the status kept
        session.add(ClaimEvent(claim_id=claim.id, from_status=S.assessed.value, to_status=S.assessed.value, on=on,
                               by=principal.username, reason="re-assessed", details={"eligible": result.eligible}))
        session.flush()
    else:
        transition(session, claim, S.assessed, on=on, by=principal.username,
                   details={"eligible": result.eligible, "amount": claim.amount,
                            "monthly_amount": claim.monthly_amount})
    return claim


def next_decision_number(session: Session, province: str, year: int) -> str:
    """The next number of a province's decisions in a year (a guarded increment: two decisions never share one)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(DecisionSequence).values(province=province, year=year, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["province", "year"],
                                      set_={"last": DecisionSequence.last + 1}).returning(DecisionSequence.last)
    number = session.execute(stmt).scalar_one()
    return f"{number:05d}/{year}/QĐ-BHXH-{province}"


def decide(session: Session, principal: Principal, claim_id: int, *, on: date,
           refuse: str | None = None) -> BenefitClaim:
    """Grant an eligible assessed claim with its amounts, or refuse it: with the officer's written reason, or with
    the assessment's grounds and the article cited when the records show it is not eligible. A grant of what the
    records do not support is impossible. Each decision gets a number; a monthly benefit starts its entitlement."""
    claim = lock_claim(session, principal, claim_id)
    _check_not_excluded(claim, principal)
    if ClaimStatus(claim.status) is not S.assessed:
        raise IllegalTransition("A claim that is {current} cannot become {to}.", current=claim.status.value,
                                to=S.refused.value if refuse else S.granted.value)
    reasons = (claim.assessment or {}).get("reasons") or []
    if refuse is not None and not refuse.strip():
        raise ValidationFailed("refuse", "Write the reason of the refusal.")
    if refuse is None and not claim.eligible:
        refuse_text = "; ".join(r["text_vi"] for r in reasons) or "Không đủ điều kiện hưởng"
        article = "; ".join(r["article"] for r in reasons if r.get("article")) or None
    else:
        refuse_text = refuse.strip() if refuse else None
        article = None
    claim.decision_number = next_decision_number(session, claim.province_2025 or "00", on.year)
    claim.decided_on = on
    claim.decided_by = principal.username
    if claim.resolved_on is None:
        claim.resolved_on = on
    if refuse_text is not None:
        claim.refusal_reason = refuse_text[:1000]
        claim.refusal_article = (article or "")[:120] or None
        claim.amount = 0
        claim.monthly_amount = None
        transition(session, claim, S.refused, on=on, by=principal.username, reason=refuse_text,
                   details={"decision_number": claim.decision_number, "article": claim.refusal_article})
    else:
        claim.refusal_reason = None
        claim.refusal_article = None
        transition(session, claim, S.granted, on=on, by=principal.username,
                   details={"decision_number": claim.decision_number, "amount": claim.amount,
                            "monthly_amount": claim.monthly_amount})
        from ansinh.benefits.payments import service as payments

        payments.on_granted(session, claim, on=on)
    if Channel(claim.channel) is Channel.portal:
        _notify_decided(session, claim, on)
    return claim


#: The outcome a ``claim_decided`` notice names (English msgids, translated when the citizen reads it).
DECIDED_OUTCOMES = {S.granted: N_("granted"), S.refused: N_("refused")}


def _notify_decided(session: Session, claim: BenefitClaim, on: date) -> None:
    """A claim filed in the portal: its claimant is told of the decision (once per decision number)."""
    from ansinh.notices.service import send_notice

    payee = session.get(Person, claim.payee_person_id or claim.person_id)
    send_notice(session, kind="claim_decided", key=f"claim_decided:{claim.id}:{claim.decision_number}", on=on,
                params={"claim_id": claim.id, "outcome": DECIDED_OUTCOMES[ClaimStatus(claim.status)]},
                person_id=payee.id, person_ref=payee.citizen_id, link="/me/claims")


# --- the unemployment benefit's monthly report -------------------------------------------------------------------

#: The statuses of an unemployment claim whose benefit is being paid (the monthly report applies).
IN_BENEFIT = frozenset({S.granted, S.payment_ordered, S.paid, S.failed, S.reconciled})
JOB_SEARCH_REPORT = "job_search_report"


def report_job_search(session: Session, principal: Principal, claim_id: int, *, month: date, on: date,
                      contacts: int, note: str | None = None) -> ClaimEvent:
    """The monthly report of job seeking during an unemployment benefit (Employment Law Art 52): written to the
    claim's timeline (its status kept), one per month of benefit; the same month again is a conflict."""
    claim = lock_claim(session, principal, claim_id)
    if ClaimType(claim.claim_type) is not ClaimType.unemployment:
        raise ValidationFailed("claim", "Only an unemployment benefit has a monthly job-seeking report.")
    if ClaimStatus(claim.status) not in IN_BENEFIT or not claim.first_month:
        raise ValidationFailed("claim", "This claim's benefit is not being paid.")
    month = month.replace(day=1)
    first = claim.first_month.replace(day=1)
    index = (month.year - first.year) * 12 + month.month - first.month
    if not 0 <= index < (claim.benefit_months or 0):
        raise ValidationFailed("month", "{month} is not a month of this benefit.", month=month.strftime("%m/%Y"))
    if month > on.replace(day=1):
        raise ValidationFailed("month", "{month} is not a month of this benefit.", month=month.strftime("%m/%Y"))
    if isinstance(contacts, bool) or not isinstance(contacts, int) or not 0 <= contacts <= 100:
        raise ValidationFailed("contacts", "Give the number of employers contacted (0 to 100).")
    for event in claim_events(session, claim.id):
        if event.reason == JOB_SEARCH_REPORT and (event.details or {}).get("month") == month.strftime("%Y-%m"):
            raise Conflict(N_("The report of this month was sent already."))
    status = ClaimStatus(claim.status).value
    event = ClaimEvent(claim_id=claim.id, from_status=status, to_status=status, on=on, by=principal.username,
                       reason=JOB_SEARCH_REPORT, details={"month": month.strftime("%Y-%m"), "contacts": contacts,
                                                          "note": (note or "").strip()[:500] or None})
    session.add(event)
    session.flush()
    return event


def job_search_reports(session: Session, claim_id: int) -> list[dict]:
    """The monthly reports of an unemployment claim (from its timeline), oldest first."""
    return [{"month": e.details["month"], "contacts": e.details.get("contacts"), "note": e.details.get("note"),
             "on": e.on.isoformat()} for e in claim_events(session, claim_id)
            if e.reason == JOB_SEARCH_REPORT and e.details]


def appeal(session: Session, principal: Principal, claim_id: int, *, on: date, reason: str) -> BenefitClaim:
    """A decided claim goes back for re-assessment by another officer than the one who decided it."""
    if not reason or not reason.strip():
        raise ValidationFailed("reason", "Write the grounds of the appeal.")
    claim = lock_claim(session, principal, claim_id)
    if ClaimStatus(claim.status) not in (S.granted, S.refused):
        raise IllegalTransition("A claim that is {current} cannot become {to}.", current=claim.status.value,
                                to=S.accepted.value)
    previous = claim.decided_by
    claim.excluded_officer = previous
    claim.appeal_count = (claim.appeal_count or 0) + 1
    claim.decision_number = None
    transition(session, claim, S.accepted, on=on, by=principal.username, reason=reason.strip()[:1000],
               details={"appeal": claim.appeal_count, "decided_by": previous})
    return claim


# --- the legal clock --------------------------------------------------------------------------------------------

def due_claims(session: Session, principal: Principal, *, on: date, days_ahead: int = 3,
               limit: int = 500) -> dict[str, list[BenefitClaim]]:
    """The officer's queue on ``on``: claims whose clock runs, split into ``late`` (deadline passed), ``due_today``
    and ``upcoming`` (due within ``days_ahead`` working days), each by deadline."""
    horizon = calendar.add_working_days(on, days_ahead)
    rows = session.scalars(select(BenefitClaim).where(
        claims_scope(principal), BenefitClaim.status.in_([s.value for s in CLOCK_RUNNING]),
        BenefitClaim.deadline.is_not(None), BenefitClaim.deadline <= horizon)
        .order_by(BenefitClaim.deadline, BenefitClaim.id).limit(limit)).all()
    return {"late": [c for c in rows if c.deadline < on],
            "due_today": [c for c in rows if c.deadline == on],
            "upcoming": [c for c in rows if c.deadline > on]}


def is_late(claim: BenefitClaim, on: date) -> bool:
    """Decided after its deadline, or still open past it on ``on``."""
    if claim.deadline is None:
        return False
    decided = claim.resolved_on
    return (decided or on) > claim.deadline


def claims_page(session: Session, principal: Principal, *, status: str | None = None,
                claim_type: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[BenefitClaim], int]:
    stmt = select(BenefitClaim).where(claims_scope(principal))
    if status:
        stmt = stmt.where(BenefitClaim.status == ClaimStatus(status).value)
    if claim_type:
        stmt = stmt.where(BenefitClaim.claim_type == ClaimType(claim_type).value)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(stmt.order_by(BenefitClaim.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def claim_view(claim: BenefitClaim, payments: Sequence[dict] = ()) -> dict:
    """A claim as the CLI's ``show --json`` and the API answer it."""
    status = ClaimStatus(claim.status).value
    return {
        "id": claim.id, "type": ClaimType(claim.claim_type).value, "status": status,
        "channel": Channel(claim.channel).value, "citizen_id": claim.person_ref, "ground": claim.ground,
        "details": claim.details, "missing": claim.missing,
        "filed_on": claim.filed_on.isoformat(), "complete_on": claim.complete_on and claim.complete_on.isoformat(),
        "deadline": claim.deadline and claim.deadline.isoformat(),
        "decision": None if claim.decision_number is None else {
            "number": claim.decision_number, "decided_on": claim.decided_on and claim.decided_on.isoformat(),
            "decided_by": claim.decided_by, "granted": status not in ("refused",),
            "refusal_reason": claim.refusal_reason, "article": claim.refusal_article},
        "eligible": claim.eligible, "amount": claim.amount, "monthly_amount": claim.monthly_amount,
        "benefit_months": claim.benefit_months, "first_month": claim.first_month and claim.first_month.isoformat(),
        "assessment": claim.assessment, "appeal_count": claim.appeal_count, "payments": list(payments),
    }


def working_days_left(claim: BenefitClaim, on: date) -> int | None:
    """Working days from ``on`` to the deadline (negative: late by that many)."""
    if claim.deadline is None:
        return None
    if claim.deadline >= on:
        return calendar.working_days_between(on, claim.deadline)
    return -calendar.working_days_between(claim.deadline, on)


def first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)
