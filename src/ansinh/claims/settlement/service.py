"""The monthly settlement of a facility's claims, the advances paid to facilities, and their ledger.

:func:`settle_month` settles one facility's settlement month (NAM_QT, THANG_QT) once every current claim of it is
appraised: one aggregate over the current claims (how many, claimed T_BHTT, disallowed), one settlement row, the
advances of the period offset, and the ledger posted (the health fund's expense against the facility's payable; the
advances offset against the payable). The claims are not rewritten: a claim is settled when its facility's month is
(``Claim.settled``, :func:`ansinh.claims.models.claim_is_settled`), so settling a month of a million claims writes a
handful of rows. The month is then closed: intake refuses any later file with claims of it
(:func:`settled_months`), the appraisal and overrides leave its claims alone.

- **Once**: a settlement takes the facility's claims lock (the one intake takes: a transaction-scoped advisory lock
  on PostgreSQL, with a lock timeout; SQLite serialises writers) and the appraisal lock of the facility and month
  (so no appraisal run changes the amounts it adds up), then looks for the settlement of that month: a
  second settlement of the same month answers the first one and changes nothing; the unique key (facility, year,
  month) holds whatever happens.
- **Advances** (:func:`record_advance`): paid for a period of months (a month or a quarter); recorded once per
  (facility, reference): the same reference again answers the advance recorded and changes nothing. Each settlement
  of the period offsets what is left of them, up to what it accepted; the last month of an advance's period offsets
  all that is left (``due`` is then negative when the advances exceed what was accepted: the facility owes it back).
- **Ledger** (sign: debit positive): settlement ``hi_medical_expense +accepted`` / ``facility_payable −accepted``;
  advance paid ``facility_advance +x`` / ``bank −x``; offset ``facility_payable +m`` / ``facility_advance −m``,
  ``m`` = min(accepted, advances offset). The facility's code is the entries' ``payer_key``.
- **Who**: settling and recording advances: ``claims.settle`` (a province's officers for the facilities of their
  office, national staff for all); reading: ``claims.read`` (agency staff their subtree's, a facility user its own
  facility's). ``principal`` None: a command, the whole country.

Plain functions ``verb_noun(session, *, principal, ...)``; they flush, the caller commits. Pure of the clock: the
day of the settlement (``on``) is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, exists, func, select, text, update
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event, record_read
from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Permission, Principal, ensure_in_scope, ensure_permission, org_scope
from ansinh.cards import facilities
from ansinh.cards.models import MedicalFacility
from ansinh.claims.appraisal.service import lock_appraisal
from ansinh.claims.models import Claim
from ansinh.claims.settlement.models import Advance, AdvanceOffset, Settlement
from ansinh.collection import ledger
from ansinh.collection.models import BANK, FACILITY_ADVANCE, FACILITY_PAYABLE, HI_MEDICAL_EXPENSE
from ansinh.db import allow_waiting, utcnow
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

#: How long a settlement or an advance waits for an intake or a settlement of the same facility (PostgreSQL
#: ``lock_timeout``); then it fails cleanly and changes nothing.
SETTLE_LOCK_WAIT_MS = 30_000
#: The largest advance accepted (whole dong): far above any facility's quarter, inside the ledger's 64 bits.
MAX_ADVANCE = 10**15
MAX_REFERENCE = 64
FIRST_YEAR, LAST_YEAR = 2015, 2100
#: The fund of the ledger's entries (as the collection domain names the health insurance fund).
FUND = "health"
SETTLED = "settled"


@dataclass
class Settled:
    """What :func:`settle_month` did: the settlement, and whether it already existed (nothing changed)."""

    settlement: Settlement
    replayed: bool = False


@dataclass
class Recorded:
    """What :func:`record_advance` did: the advance, and whether it was recorded before (nothing changed)."""

    advance: Advance
    replayed: bool = False


# --- months ------------------------------------------------------------------------------------------------------

def first_day(month: date) -> date:
    return month.replace(day=1)


def month_text(month: date) -> str:
    """A month as both languages write it on a sheet: ``10/2026``."""
    return f"{month.month:02d}/{month.year}"


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def parse_month(text_value: str, field: str = "month") -> date:
    """``YYYY-MM`` (or a day of the month, ``YYYY-MM-DD``) as the month's first day; else a clear error."""
    value = (text_value or "").strip()
    try:
        parts = [int(part) for part in value.split("-")]
        if len(parts) not in (2, 3) or len(value.split("-")[0]) != 4:
            raise ValueError
        month = date(parts[0], parts[1], parts[2] if len(parts) == 3 else 1)
    except (ValueError, TypeError):
        raise ValidationFailed(field, "Not a month: write YYYY-MM.") from None
    if not FIRST_YEAR <= month.year <= LAST_YEAR:
        raise ValidationFailed(field, "A month from {first} to {last}.", first=FIRST_YEAR, last=LAST_YEAR)
    return first_day(month)


# --- who may do what ---------------------------------------------------------------------------------------------

def _is_facility_user(principal: Principal) -> bool:
    return Role.facility in principal.roles and not principal.is_agency_staff


def _facility_to_settle(session: Session, principal: Principal | None, facility_code: str) -> MedicalFacility:
    """The facility, if the caller may settle it (404 unknown, 403 outside the caller's subtree)."""
    if principal is not None:
        ensure_permission(principal, Permission.claims_settle)
    facility = facilities.get_facility(session, (facility_code or "").strip())
    if principal is not None:
        ensure_in_scope(principal, session.get(OrgUnit, facility.org_unit_id))
    return facility


def in_scope(principal: Principal | None, code_column, org_unit_column):
    """A WHERE clause keeping the rows the caller may read (None: every row)."""
    if principal is None:
        return None
    if _is_facility_user(principal):
        return code_column == (principal.subject_ref or "")
    return org_scope(principal, org_unit_column)


def _lock_facility(session: Session, facility_code: str) -> None:
    """The facility's claims lock (the one intake takes), waiting at most :data:`SETTLE_LOCK_WAIT_MS`."""
    if session.get_bind().dialect.name == "postgresql":
        from ansinh.claims.intake.service import _CLAIMS_LOCK

        allow_waiting(session, lock_timeout_ms=SETTLE_LOCK_WAIT_MS, statement_timeout_ms=600_000)
        session.execute(text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema() || ':' || :facility))"),
                        {"key": _CLAIMS_LOCK, "facility": facility_code})


# --- settling ----------------------------------------------------------------------------------------------------

def _current_claims(facility_code: str, month: date) -> list:
    return [Claim.facility_code == facility_code, *_month_claims(month)]


def settle_month(session: Session, *, principal: Principal | None, facility_code: str, month: date,
                 on: date) -> Settled:
    """Settle a facility's claims of a settlement month (``month``: any day of it) on the day ``on`` (see the module
    docstring). Refused: a month not yet over on ``on``, a month without claims, a month with claims not yet
    appraised (how many). The same month again answers its settlement, unchanged."""
    facility = _facility_to_settle(session, principal, facility_code)
    month = first_day(month)
    if next_month(month) > on:
        raise ValidationFailed("month", "The month {month} is not over on {day}: it cannot be settled yet.",
                               month=month_text(month), day=on)
    _lock_facility(session, facility.code)
    lock_appraisal(session, facility.code, month)
    existing = session.scalar(select(Settlement).where(
        Settlement.facility_code == facility.code, Settlement.year == month.year, Settlement.month == month.month)
        .execution_options(populate_existing=True))
    if existing is not None:
        return Settled(existing, replayed=True)

    current = _current_claims(facility.code, month)
    count, waiting, claimed, disallowed = session.execute(select(
        func.count(), func.count().filter(Claim.status != "appraised"),
        func.coalesce(func.sum(Claim.fund_claimed), 0), func.coalesce(func.sum(Claim.disallowed), 0))
        .where(*current)).one()
    if not count:
        raise ValidationFailed("month", "Facility {code} has no claim for {month}.", code=facility.code, month=month_text(month))
    if waiting:
        raise Conflict("{count} claims of {month} are not appraised yet: appraise them before settling.",
                       count=int(waiting), month=month_text(month))
    claimed, disallowed = int(claimed), int(disallowed)
    accepted = claimed - disallowed
    who = principal.username if principal is not None else "cli"
    settlement = Settlement(facility_code=facility.code, org_unit_id=facility.org_unit_id,
                            province_2025=facility.province_2025, year=month.year, month=month.month,
                            claims=int(count), claimed=claimed, disallowed=disallowed, accepted=accepted, advances=0,
                            due=accepted, status=SETTLED, settled_on=on, settled_at=utcnow(), settled_by=who[:64])
    session.add(settlement)
    session.flush()
    offset = _offset_advances(session, settlement, month)
    settlement.advances = offset
    settlement.due = accepted - offset
    _post_settlement(session, settlement, month)
    record_event(session, "settle", "claim_settlement", settlement.id, org_unit_id=facility.org_unit_id,
                 details={"facility": facility.code, "month": month.isoformat(), "claims": settlement.claims,
                          "claimed": claimed, "disallowed": disallowed, "accepted": accepted, "advances": offset,
                          "due": settlement.due})
    session.flush()
    return Settled(settlement)


def _offset_advances(session: Session, settlement: Settlement, month: date) -> int:
    """Offset the advances of the period not yet offset (oldest first): each up to what is left of the accepted
    amount, all that is left of one whose period ends with this month. Each advance row is changed by a guarded
    UPDATE (its offset so far as read), so no part of it is offset twice."""
    rows = session.scalars(select(Advance).where(
        Advance.facility_code == settlement.facility_code, Advance.period_from <= month, Advance.period_to >= month,
        Advance.offset_amount < Advance.amount).order_by(Advance.paid_on, Advance.id)
        .with_for_update().execution_options(populate_existing=True)).all()
    left, total = settlement.accepted, 0
    for advance in rows:
        remaining = advance.amount - advance.offset_amount
        take = remaining if advance.period_to == month else min(remaining, max(left, 0))
        if take <= 0:
            continue
        changed = session.execute(update(Advance).where(Advance.id == advance.id,
                                                        Advance.offset_amount == advance.offset_amount)
                                  .values(offset_amount=advance.offset_amount + take)
                                  .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            raise Conflict("An advance of facility {code} changed meanwhile; nothing was settled. Try again.",
                           code=settlement.facility_code)
        session.add(AdvanceOffset(advance_id=advance.id, settlement_id=settlement.id, amount=take))
        left -= take
        total += take
    session.flush()
    for advance in rows:  # their offsets were changed in SQL
        session.expire(advance)
    return total


def _post_settlement(session: Session, settlement: Settlement, month: date) -> None:
    """The settlement's ledger: the fund's expense against the facility's payable, then the advances offset."""
    def entry(account: str, amount: int) -> ledger.Entry:
        return ledger.Entry(account, amount, payer_key=settlement.facility_code, fund=FUND, period=month,
                            province_2025=settlement.province_2025)

    if settlement.accepted:
        settlement.ledger_txn = ledger.post(session, [entry(HI_MEDICAL_EXPENSE, settlement.accepted),
                                                      entry(FACILITY_PAYABLE, -settlement.accepted)],
                                            posted_on=settlement.settled_on, source_type="settlement",
                                            source_id=settlement.id)
    offset = min(max(settlement.accepted, 0), settlement.advances)
    if offset:
        ledger.post(session, [entry(FACILITY_PAYABLE, offset), entry(FACILITY_ADVANCE, -offset)],
                    posted_on=settlement.settled_on, source_type="advance_offset", source_id=settlement.id)


# --- advances ----------------------------------------------------------------------------------------------------

def record_advance(session: Session, *, principal: Principal | None, facility_code: str, reference: str,
                   paid_on: date, amount: int, period_from: date, period_to: date | None = None) -> Recorded:
    """Record an advance paid to a facility for the months ``period_from`` … ``period_to`` (any day of each; default
    one month), and post it (``facility_advance`` against ``bank``). The same reference again: the advance recorded,
    unchanged (a different amount, day or period under that reference is refused)."""
    facility = _facility_to_settle(session, principal, facility_code)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed("reference", "A value is required.")
    if len(reference) > MAX_REFERENCE:
        raise ValidationFailed("reference", "At most {n} characters.", n=MAX_REFERENCE)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_ADVANCE:
        raise ValidationFailed("amount", "The amount is a whole number of dong from 1 to {limit}.",
                               limit=MAX_ADVANCE)
    start = first_day(period_from)
    end = first_day(period_to or period_from)
    if end < start:
        raise ValidationFailed("period_to", "The last month is before the first month.")
    _lock_facility(session, facility.code)
    existing = session.scalar(select(Advance).where(Advance.facility_code == facility.code,
                                                    Advance.reference == reference)
                              .execution_options(populate_existing=True))
    if existing is not None:
        if (existing.amount, existing.paid_on, existing.period_from, existing.period_to) != (amount, paid_on, start,
                                                                                           end):
            raise Conflict("Advance {reference} of facility {code} was recorded with other figures.",
                           reference=reference, code=facility.code)
        return Recorded(existing, replayed=True)
    if session.scalar(select(func.count()).select_from(Settlement).where(
            Settlement.facility_code == facility.code, Settlement.year == end.year, Settlement.month == end.month)):
        raise ValidationFailed("period_to", "The month {month} of facility {code} is settled: an advance for it can "
                                            "no longer be offset.", month=month_text(end), code=facility.code)
    who = principal.username if principal is not None else "cli"
    advance = Advance(facility_code=facility.code, org_unit_id=facility.org_unit_id,
                      province_2025=facility.province_2025, reference=reference, paid_on=paid_on, amount=amount,
                      period_from=start, period_to=end, offset_amount=0, created_by=who[:64])
    session.add(advance)
    session.flush()
    advance.ledger_txn = ledger.post(session, [
        ledger.Entry(FACILITY_ADVANCE, amount, payer_key=facility.code, fund=FUND, period=start,
                     province_2025=facility.province_2025),
        ledger.Entry(BANK, -amount, payer_key=facility.code, fund=FUND, period=start,
                     province_2025=facility.province_2025)], posted_on=paid_on, source_type="advance",
        source_id=advance.id)
    record_event(session, "create", "claim_advance", advance.id, org_unit_id=facility.org_unit_id,
                 details={"facility": facility.code, "reference": reference, "amount": amount,
                          "period_from": start.isoformat(), "period_to": end.isoformat()})
    session.flush()
    return Recorded(advance)


def advances_query(principal: Principal | None, *, facility_code: str | None = None) -> Select:
    stmt = select(Advance).order_by(Advance.paid_on.desc(), Advance.id.desc())
    scope = in_scope(principal, Advance.facility_code, Advance.org_unit_id)
    if scope is not None:
        stmt = stmt.where(scope)
    if facility_code:
        stmt = stmt.where(Advance.facility_code == facility_code)
    return stmt


# --- reading -----------------------------------------------------------------------------------------------------

def settlements_query(principal: Principal | None, *, month: date | None = None,
                      facility_code: str | None = None) -> Select:
    """The settlements the caller may see, newest month first, then by facility."""
    stmt = select(Settlement).order_by(Settlement.year.desc(), Settlement.month.desc(), Settlement.facility_code)
    scope = in_scope(principal, Settlement.facility_code, Settlement.org_unit_id)
    if scope is not None:
        stmt = stmt.where(scope)
    if month is not None:
        stmt = stmt.where(Settlement.year == month.year, Settlement.month == month.month)
    if facility_code:
        stmt = stmt.where(Settlement.facility_code == facility_code)
    return stmt


def settlement_totals(session: Session, principal: Principal | None, *, month: date | None = None,
                      facility_code: str | None = None) -> dict:
    """The sums of the settlements :func:`settlements_query` selects."""
    chosen = settlements_query(principal, month=month, facility_code=facility_code).order_by(None).subquery()
    row = session.execute(select(func.count(), *(func.coalesce(func.sum(chosen.c[name]), 0) for name in TOTALS))
                          .select_from(chosen)).one()
    return {"settlements": int(row[0]), **{name: int(value) for name, value in zip(TOTALS, row[1:])}}


TOTALS = ("claims", "claimed", "disallowed", "accepted", "advances", "due")


def months_to_settle(session: Session, principal: Principal | None, *, month: date, limit: int = 1000) -> list[dict]:
    """The facilities in the caller's scope with current claims of ``month`` and no settlement of it yet: how many
    claims, how many still to appraise, the fund claimed and disallowed so far, and whether it can be settled now
    (every claim appraised). One GROUP BY over the month's claims; the facilities waiting longest for appraisal
    first."""
    month = first_day(month)
    grouped = (select(Claim.facility_code, func.count().label("claims"),
                      func.count().filter(Claim.status != "appraised").label("to_appraise"),
                      func.coalesce(func.sum(Claim.fund_claimed), 0).label("claimed"),
                      func.coalesce(func.sum(Claim.disallowed), 0).label("disallowed"))
               .where(*_month_claims(month)).group_by(Claim.facility_code))
    scope = in_scope(principal, Claim.facility_code, Claim.org_unit_id)
    if scope is not None:
        grouped = grouped.where(scope)
    grouped = grouped.subquery()
    # a facility's month is settled or not as a whole: one look per facility, not per claim
    settled = exists().where(Settlement.facility_code == grouped.c.facility_code, Settlement.year == month.year,
                             Settlement.month == month.month)
    stmt = (select(grouped).where(~settled)
            .order_by(grouped.c.to_appraise.desc(), grouped.c.facility_code).limit(limit))
    return [{"facility_code": code, "claims": int(count), "to_appraise": int(waiting), "claimed": int(claimed),
             "disallowed": int(disallowed), "ready": not waiting}
            for code, count, waiting, claimed, disallowed in session.execute(stmt).all()]


def _month_claims(month: date) -> list:
    return [Claim.settlement_year == month.year, Claim.settlement_month == month.month, Claim.superseded_at.is_(None)]


def get_settlement(session: Session, principal: Principal | None, settlement_id: int) -> Settlement:
    """A settlement the caller may read (404 unknown, or another facility's for a facility user; 403 outside a staff
    member's subtree)."""
    if principal is not None:
        ensure_permission(principal, Permission.claims_read)
    row = session.get(Settlement, settlement_id)
    if row is None:
        raise NotFound("There is no settlement {id}.", id=settlement_id)
    if principal is not None:
        if _is_facility_user(principal):
            if row.facility_code != principal.subject_ref:
                raise NotFound("There is no settlement {id}.", id=settlement_id)
        elif principal.is_agency_staff:
            ensure_in_scope(principal, session.get(OrgUnit, row.org_unit_id))
        else:
            raise PermissionDenied("This record belongs to another org unit, outside your scope.")
    return row


def find_settlement(session: Session, principal: Principal | None, facility_code: str, month: date) -> Settlement:
    """The settlement of a facility's month, if the caller may read it."""
    row = session.scalar(select(Settlement.id).where(Settlement.facility_code == facility_code,
                                                     Settlement.year == month.year, Settlement.month == month.month))
    if row is None:
        raise NotFound("Facility {code} has no settlement for {month}.", code=facility_code,
                       month=month_text(month))
    return get_settlement(session, principal, row)


def settlement_offsets(session: Session, settlement: Settlement) -> list[dict]:
    """The advances this settlement offset, and how much of each."""
    rows = session.execute(select(Advance.reference, Advance.paid_on, Advance.amount, AdvanceOffset.amount)
                           .join(AdvanceOffset, AdvanceOffset.advance_id == Advance.id)
                           .where(AdvanceOffset.settlement_id == settlement.id).order_by(AdvanceOffset.id)).all()
    return [{"reference": ref, "paid_on": paid_on, "advance": amount, "offset": offset}
            for ref, paid_on, amount, offset in rows]


CLAIM_LIST_COLUMNS = ("episode_key", "full_name", "card_code", "care_type", "arrived_at", "discharged_at",
                      "outcome_status", "fund_claimed", "disallowed")


def settled_claims(session: Session, settlement: Settlement) -> list[dict]:
    """The claims a settlement settled, by episode key (personal data: the read is audited)."""
    rows = session.execute(select(*(getattr(Claim, name) for name in CLAIM_LIST_COLUMNS))
                           .where(*_current_claims(settlement.facility_code, date(settlement.year, settlement.month, 1)))
                           .order_by(Claim.episode_key)).all()
    record_read(session, "claim_settlement", settlement.id, org_unit_id=settlement.org_unit_id,
                details={"facility": settlement.facility_code, "claims": len(rows)})
    return [dict(zip(CLAIM_LIST_COLUMNS, row)) | {"accepted": row[-2] - row[-1]} for row in rows]


def settlement_json(row: Settlement) -> dict:
    return {"id": row.id, "facility_code": row.facility_code, "province": row.province_2025,
            "month": f"{row.year:04d}-{row.month:02d}", "claims": row.claims, "claimed": row.claimed,
            "disallowed": row.disallowed, "accepted": row.accepted, "advances": row.advances, "due": row.due,
            "status": row.status, "settled_on": row.settled_on.isoformat(),
            "settled_at": row.settled_at.isoformat() if row.settled_at else None, "settled_by": row.settled_by,
            "ledger_txn": row.ledger_txn}


def advance_json(row: Advance) -> dict:
    return {"id": row.id, "facility_code": row.facility_code, "reference": row.reference,
            "paid_on": row.paid_on.isoformat(), "amount": row.amount, "period_from": row.period_from.isoformat()[:7],
            "period_to": row.period_to.isoformat()[:7], "offset": row.offset_amount,
            "left": row.amount - row.offset_amount, "ledger_txn": row.ledger_txn}


def settled_months(session: Session, facility_code: str) -> set[tuple[int, int]]:
    """The (year, month) the facility has settled: closed to claim files."""
    return {(int(year), int(month)) for year, month in session.execute(
        select(Settlement.year, Settlement.month).where(Settlement.facility_code == facility_code))}


# --- the demo ----------------------------------------------------------------------------------------------------

def settle_demo_months(session: Session, *, on: date) -> int:
    """For each facility with claims: settle its earliest settlement month that is over on ``on``, not settled, and
    whose current claims are all appraised. Returns how many months were settled."""
    ready = (select(Claim.facility_code, Claim.settlement_year, Claim.settlement_month)
             .where(Claim.superseded_at.is_(None))
             .group_by(Claim.facility_code, Claim.settlement_year, Claim.settlement_month)
             .having(func.count().filter(Claim.status != "appraised") == 0)
             .order_by(Claim.facility_code, Claim.settlement_year, Claim.settlement_month))
    settled = 0
    done: set[str] = set()
    for code, year, month in session.execute(ready).all():
        first = date(int(year), int(month), 1)
        if code in done or next_month(first) > on:
            continue
        done.add(code)
        if not settle_month(session, principal=None, facility_code=code, month=first, on=on).replayed:
            settled += 1
    return settled
