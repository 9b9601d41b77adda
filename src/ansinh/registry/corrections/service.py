"""Correction requests: the citizen files one for their own record (:func:`file_correction`), a registry officer of
the person's office lists the open ones (:func:`open_requests`) and accepts (:func:`accept_correction`: the change
goes through :func:`ansinh.registry.service.update_person`, whose flush listener audits old and new values) or
rejects one with a reason (:func:`reject_correction`). Either way the citizen gets a ``correction_resolved`` notice.

Scope: a citizen files and reads only requests about the person their account names (``own_person``); staff act on
requests of their subtree (``org_scope``), anything else is 404. A request is resolved once: its row is locked and
a second resolution is a conflict that changes nothing. The caller owns the transaction; dates are passed in.
"""

from __future__ import annotations

from dataclasses import fields as dc_fields
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_read
from ansinh.auth.models import Role
from ansinh.auth.permissions import Principal, org_scope
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.i18n import N_
from ansinh.registry import service as registry
from ansinh.registry.corrections.models import CorrectionRequest, CorrectionStatus
from ansinh.registry.models import Person, Sex

#: The fields a citizen may ask to correct, in the order shown (the citizen ID is the account's key: not here).
FIELDS = ("full_name", "date_of_birth", "sex", "ethnicity", "address", "phone")
FIELD_LABELS = {"full_name": N_("Full name"), "date_of_birth": N_("Date of birth"), "sex": N_("Sex"),
                "ethnicity": N_("Ethnicity"), "address": N_("Address"), "phone": N_("Phone")}
#: The most requests listed at once.
MAX_LISTED = 200
#: Outcomes written into the citizen's notice (English msgids, translated when the notice is read).
ACCEPTED = N_("accepted: your record is corrected")
REJECTED = N_("refused: {reason}")


def _is_citizen(principal: Principal) -> bool:
    return Role.citizen in principal.roles and not principal.is_agency_staff


def _value_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(getattr(value, "value", value))


def _typed(field: str, text: str | None):
    """A field's value as the registry takes it (a date, a sex); ``None`` for an emptied optional field."""
    if text is None:
        return None
    if field == "date_of_birth":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValidationFailed("date_of_birth", "{value} is not a date (YYYY-MM-DD).", value=text) from None
    if field == "sex":
        try:
            return Sex(text)
        except ValueError:
            raise ValidationFailed("sex", "The sex is male or female.") from None
    return text


def check_changes(person: Person, raw: dict) -> dict[str, str | None]:
    """The changes asked for (``{field: text}``, empty text: none asked for that field) checked as the registry
    checks a record: only the correctable fields, each different from the record, the result a valid person.
    Returns ``{field: new value as text}``; raises :class:`ValidationFailed` naming the field."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValidationFailed(unknown[0], "This field cannot be changed here.")
    changes: dict[str, str | None] = {}
    for field in FIELDS:
        text = raw.get(field)
        if text is None:
            continue
        if not isinstance(text, str):
            raise ValidationFailed(field, "Text is expected.")
        text = " ".join(text.split()) if field != "date_of_birth" else text.strip()
        if not text:
            continue
        current = _value_text(getattr(person, field))
        if text != current:
            changes[field] = text
    if not changes:
        raise ValidationFailed("changes", "Write at least one value that differs from your record.")
    merged = {f.name: getattr(person, f.name) for f in dc_fields(registry.PersonData)}
    merged.update({field: _typed(field, text) for field, text in changes.items()})
    try:
        checked = registry.validate_person(registry.PersonData(**merged))
    except ValidationFailed as exc:
        if exc.field == "citizen_id":  # the ID encodes the birth year and sex: they must still agree with it
            field = "date_of_birth" if "date_of_birth" in changes else "sex"
            raise ValidationFailed(field, "This does not agree with your citizen ID {value}.",
                                   value=person.citizen_id) from None
        raise
    return {field: _value_text(getattr(checked, field)) for field in changes}


def file_correction(session: Session, principal: Principal, *, changes: dict, note: str | None,
                    on: date) -> CorrectionRequest:
    """The signed-in citizen asks for their record to be corrected (one open request at a time: a second one, or
    the same form sent twice, is a conflict that files nothing)."""
    person = registry.own_person(session, principal)
    checked = check_changes(person, changes)
    note = registry.clean_text(note, "note", 500)
    registry.lock_people(session, [person])
    if session.scalar(select(CorrectionRequest.id).where(CorrectionRequest.person_id == person.id,
                                                         CorrectionRequest.status == CorrectionStatus.open)):
        raise Conflict(N_("You already have a correction request being processed; wait for its answer."))
    request = CorrectionRequest(person_id=person.id, person_ref=person.citizen_id, changes=checked,
                                previous={f: _value_text(getattr(person, f)) for f in checked}, note=note,
                                status=CorrectionStatus.open, filed_on=on, filed_by=principal.username,
                                org_unit_id=person.org_unit_id, province_2025=person.province_2025)
    session.add(request)
    session.flush()
    return request


def own_requests(session: Session, person: Person) -> list[CorrectionRequest]:
    """The requests about a person (the person the caller's account names), newest first."""
    return list(session.scalars(select(CorrectionRequest).where(CorrectionRequest.person_id == person.id)
                                .order_by(CorrectionRequest.id.desc()).limit(MAX_LISTED)))


def _scope(principal: Principal):
    if _is_citizen(principal):
        own = select(Person.id).where(Person.citizen_id == (principal.subject_ref or "\x00"))
        return CorrectionRequest.person_id.in_(own)
    if not principal.is_agency_staff:
        return CorrectionRequest.id.is_(None)  # nothing
    return org_scope(principal, CorrectionRequest.org_unit_id)


def open_requests(session: Session, principal: Principal, *, limit: int = MAX_LISTED,
                  offset: int = 0) -> tuple[list[tuple[CorrectionRequest, Person]], int]:
    """The open requests of the caller's subtree, oldest first (the order they are answered in), with their
    person; the list is audited as one event."""
    stmt = select(CorrectionRequest, Person).join(Person, Person.id == CorrectionRequest.person_id).where(
        CorrectionRequest.status == CorrectionStatus.open, _scope(principal))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(session.execute(stmt.order_by(CorrectionRequest.filed_on, CorrectionRequest.id)
                                .limit(min(limit, MAX_LISTED)).offset(offset)).all())
    registry.record_people_listed(session, principal, [person for _, person in rows], what="correction_requests",
                                  query={"status": "open"}, total=total)
    return rows, total


def get_request(session: Session, principal: Principal, request_id: int, *, lock: bool = False) -> CorrectionRequest:
    """A request the caller may see (the read audited); 404 otherwise."""
    stmt = select(CorrectionRequest).where(CorrectionRequest.id == request_id, _scope(principal))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = session.scalar(stmt)
    if found is None:
        raise NotFound("Correction request {id} does not exist.", id=request_id)
    record_read(session, "correction_request", found.id, org_unit_id=found.org_unit_id, person_ref=found.person_ref)
    return found


def _resolvable(session: Session, principal: Principal, request_id: int) -> CorrectionRequest:
    if _is_citizen(principal) or not principal.is_agency_staff:
        raise NotFound("Correction request {id} does not exist.", id=request_id)
    request = get_request(session, principal, request_id, lock=True)
    if request.status is not CorrectionStatus.open:
        raise Conflict(N_("This request was answered already; nothing was changed."))
    return request


def _notify(session: Session, request: CorrectionRequest, on: date, outcome: str, reason: str | None) -> None:
    from ansinh.notices.service import send_notice

    params = {"request_id": request.id, "outcome": outcome}
    if reason:
        params["reason"] = reason
    send_notice(session, kind="correction_resolved", key=f"correction_resolved:{request.id}", on=on, params=params,
                person_id=request.person_id, person_ref=request.person_ref, link="/me/corrections")


def accept_correction(session: Session, principal: Principal, request_id: int, *, on: date) -> CorrectionRequest:
    """Apply the request to the person's record (the registry's update, audited with old and new values); the
    citizen is told."""
    request = _resolvable(session, principal, request_id)
    registry.update_person(session, principal, request.person_id,
                           {field: _typed(field, text) for field, text in request.changes.items()})
    request.status, request.resolved_on, request.resolved_by = CorrectionStatus.accepted, on, principal.username
    session.flush()
    _notify(session, request, on, ACCEPTED, None)
    return request


def reject_correction(session: Session, principal: Principal, request_id: int, *, on: date,
                      reason: str) -> CorrectionRequest:
    """Refuse the request with the officer's written reason (the record unchanged); the citizen is told why."""
    reason = registry.clean_text(reason, "reason", 500)
    if not reason:
        raise ValidationFailed("reason", "Write the reason of the refusal.")
    request = _resolvable(session, principal, request_id)
    request.status, request.resolved_on, request.resolved_by = CorrectionStatus.rejected, on, principal.username
    request.reason = reason
    session.flush()
    _notify(session, request, on, REJECTED, reason)
    return request


def request_view(request: CorrectionRequest, person: Person | None = None) -> dict:
    answer = {"id": request.id, "status": request.status.value, "changes": request.changes,
              "previous": request.previous, "note": request.note, "filed_on": request.filed_on.isoformat(),
              "resolved_on": request.resolved_on and request.resolved_on.isoformat(),
              "resolved_by": request.resolved_by, "reason": request.reason}
    if person is not None:
        answer["person"] = {"id": person.id, "full_name": person.full_name, "citizen_id": person.citizen_id,
                            "si_number": person.si_number}
    return answer
