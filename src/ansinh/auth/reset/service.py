"""Password reset through the office.

An officer of the person's province (permission ``accounts.reset``) issues a citizen a one-time reset code
(:func:`issue_reset_code`), creating the citizen's account when the registered person has none (username: the
citizen ID). The code is shown once and printed on a slip; only its Argon2 hash is kept, one live code per account
(a new one replaces the old), valid for ``reset_code_hours`` (a setting).

The citizen then sets a new password at /login/reset with their citizen ID and the code (:func:`use_reset_code`):
their sessions and API tokens end, their second factor is cleared (they enrol again), and the code is consumed by a
guarded update: a replay, or a second use at the same moment, fails. Attempts are throttled like sign-ins. Every
issue and use is audited; the code itself never is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ansinh.audit.service import act_as, record_event
from ansinh.auth import service as auth
from ansinh.auth.models import OrgUnit, Role, User, UserRole
from ansinh.auth.permissions import Permission, Principal, ensure_permission, org_scope
from ansinh.auth.reset.models import ResetCode
from ansinh.errors import Conflict, DomainError, NotFound, ValidationFailed
from ansinh.i18n import N_

#: Letters and digits that cannot be mistaken for one another when read from paper (no 0/O, 1/I/L, 5/S, 8/B, 2/Z).
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8


class ResetCodeInvalid(DomainError):
    """One answer for an unknown citizen ID, a wrong, expired or used code: nothing that helps guessing."""

    status_code = 400
    code = "reset_code_invalid"

    def __init__(self) -> None:
        super().__init__(N_("The citizen ID or the reset code is not right, or the code has expired or was used "
                            "already. Ask the office for a new code."))


def generate_code() -> str:
    """A reset code: :data:`CODE_LENGTH` characters of :data:`ALPHABET` (about 37 bits; its uses are throttled and
    it expires)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str | None) -> str:
    """What the citizen typed, as the code is printed: capitals, without spaces or dashes."""
    return "".join((text or "").split()).replace("-", "").upper()


def display_code(code: str) -> str:
    """The code in two groups of four, as printed: ``ACDE-FGHJ``."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def _clean_citizen_id(citizen_id: str | None) -> str:
    cid = (citizen_id or "").strip()
    if not auth.is_citizen_id(cid):
        raise ValidationFailed("citizen_id", "A citizen ID has 12 digits.")
    return cid


def citizen_account(session: Session, citizen_id: str) -> User | None:
    """The citizen account that acts for this citizen ID (role citizen, ``subject_ref``), if any."""
    found = session.scalars(select(User).join(UserRole, UserRole.user_id == User.id).where(
        User.subject_ref == citizen_id, UserRole.role == Role.citizen).order_by(User.id).limit(2)).all()
    if len(found) > 1:
        raise Conflict("Several accounts act for citizen ID {value}: ask an administrator.", value=citizen_id)
    return found[0] if found else None


@dataclass(frozen=True)
class IssuedCode:
    code: str
    user: User
    citizen_id: str
    full_name: str
    expires_at: datetime
    account_created: bool
    office_name: str


def issue_reset_code(session: Session, principal: Principal, citizen_id: str, *, now: datetime,
                     valid_hours: int) -> IssuedCode:
    """Issue the citizen of ``citizen_id`` (a registered person of the officer's scope) a reset code, creating their
    account when they have none. Another province's person: NotFound, and nothing written."""
    from ansinh.registry.models import Person

    ensure_permission(principal, Permission.accounts_reset)
    cid = _clean_citizen_id(citizen_id)
    person = session.scalar(select(Person).where(Person.citizen_id == cid, org_scope(principal, Person.org_unit_id)))
    if person is None:
        raise NotFound("No person with citizen ID {value} in your scope.", value=cid)
    user = citizen_account(session, cid)
    created = user is None
    if user is None:
        if auth.get_user_by_username(session, cid) is not None:
            raise Conflict("The username {value} is taken by another account: ask an administrator.", value=cid)
        # no password anyone knows until the citizen sets theirs with the code
        user = User(username=cid, full_name=person.full_name, password_hash=auth._hasher.hash(secrets.token_urlsafe(32)),
                    org_unit=session.get(OrgUnit, person.org_unit_id), subject_ref=cid, locale="vi",
                    roles=[UserRole(role=Role.citizen)])
        session.add(user)
        session.flush()
    elif set(user.role_enums) != {Role.citizen}:
        raise Conflict("This account holds other roles than citizen: ask an administrator.")
    elif not user.is_active:
        raise ValidationFailed("citizen_id", "The account of this person is deactivated: ask an administrator.")
    code = generate_code()
    expires_at = now + timedelta(hours=valid_hours)
    stored = session.scalar(select(ResetCode).where(ResetCode.user_id == user.id).with_for_update())
    if stored is None:
        stored = ResetCode(user_id=user.id)
        session.add(stored)
    stored.code_hash = auth._hasher.hash(code)
    stored.issued_by = principal.username[:64]
    stored.issued_at = now
    stored.expires_at = expires_at
    stored.used_at = None
    session.flush()
    record_event(session, "reset_code_issued", "app_user", user.id, org_unit_id=person.org_unit_id, person_ref=cid,
                 details={"account_created": created, "expires_at": expires_at.isoformat()})
    session.flush()
    unit = session.get(OrgUnit, principal.org_unit_id)
    return IssuedCode(code=code, user=user, citizen_id=cid, full_name=person.full_name, expires_at=expires_at,
                      account_created=created, office_name=unit.name if unit else "")


def live_code_matches(session: Session, principal: Principal, citizen_id: str, code: str, *,
                      now: datetime) -> User:
    """The account whose live reset code is ``code`` (to print its slip again right after issuing it), in the
    officer's scope; NotFound otherwise."""
    from ansinh.registry.models import Person

    ensure_permission(principal, Permission.accounts_reset)
    cid = _clean_citizen_id(citizen_id)
    person = session.scalar(select(Person).where(Person.citizen_id == cid, org_scope(principal, Person.org_unit_id)))
    user = citizen_account(session, cid) if person is not None else None
    stored = session.scalar(select(ResetCode).where(ResetCode.user_id == user.id)) if user is not None else None
    if stored is None or stored.used_at is not None or now >= auth._aware(stored.expires_at) \
            or not auth.verify_password(stored.code_hash, normalise_code(code)):
        raise NotFound("No live reset code for citizen ID {value} in your scope.", value=cid)
    return user, stored


def use_reset_code(session: Session, citizen_id: str, code: str, new_password: str, *, ip: str,
                   policy: auth.ThrottlePolicy, now: datetime, database=None) -> User:
    """Set a citizen's new password with the reset code the office gave them. The attempt is counted first (like a
    sign-in); a wrong, expired or used code is :class:`ResetCodeInvalid`; a weak password ValidationFailed (field
    ``password``, the code kept). On success the code is consumed (a guarded update: of two uses at once, one only
    succeeds), sessions and tokens end, the second factor is cleared."""
    from ansinh.auth.second_factor.service import clear_second_factor

    cid = (citizen_id or "").strip()
    key = f"reset:{cid[:20]}"
    auth.claim_attempt(session, key, ip, policy, now, database)
    user = citizen_account(session, cid) if auth.is_citizen_id(cid) else None
    stored = session.scalar(select(ResetCode).where(ResetCode.user_id == user.id)) if user is not None else None
    ok = auth.verify_password(stored.code_hash if stored is not None else auth._dummy_hash(), normalise_code(code))
    ok = ok and stored is not None and user.is_active and stored.used_at is None \
        and now < auth._aware(stored.expires_at)
    if not ok:
        record_event(session, "reset_code_failed", "app_user", user.id if user else None,
                     org_unit_id=user.org_unit_id if user else None, person_ref=cid if user else None,
                     details={"citizen_id": cid[:20]})
        session.flush()
        raise ResetCodeInvalid()
    auth.check_password_strength(new_password, user_inputs=(user.username, user.full_name, user.email or "", cid))
    taken = session.execute(update(ResetCode).where(
        ResetCode.id == stored.id, ResetCode.code_hash == stored.code_hash, ResetCode.used_at.is_(None),
        ResetCode.expires_at > now).values(used_at=now).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise ResetCodeInvalid()
    session.expire(stored)
    act_as(session, user_id=user.id, username=user.username, org_unit_id=user.org_unit_id)
    auth.set_password(session, user, new_password)
    auth._end_access(session, user, now)
    cleared = clear_second_factor(session, user)
    auth.release_sign_in(session, key, ip)
    auth.release_sign_in(session, user.username, ip)  # a sign-in locked by failures opens with the new password
    record_event(session, "password_reset_by_code", "app_user", user.id, org_unit_id=user.org_unit_id,
                 person_ref=cid, details={"second_factor_cleared": cleared})
    session.flush()
    return user
