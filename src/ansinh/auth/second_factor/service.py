"""The second factor: time-based one-time codes (RFC 6238, six digits, 30-second steps) from an authenticator app.

Pure functions take the moment explicitly (:func:`code_at`, :func:`matching_step`), so that a test passes any date.
The operations on the database (``verb_noun(session, ...)``) flush; the caller commits.

- A code is accepted for the current step and one step either side (a phone's clock a little off), and only for a
  step after the last one accepted (:attr:`SecondFactor.last_step`, moved by a guarded update): a code is never
  accepted twice, even by two requests at once.
- The secret is shown while the user enrols, never after they confirm it, and never in the audit log (redacted).
- Which roles must enrol is a setting (``second_factor_roles``); a user of such a role without a confirmed factor is
  sent to enrol right after their password, before they get a session.
- The web's state between the password and the code is a short-lived signed token (:func:`sign_pending`), not a
  session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.models import User
from ansinh.auth.second_factor.models import SecondFactor
from ansinh.errors import Conflict, ValidationFailed

STEP_SECONDS = 30
DIGITS = 6
#: Steps either side of the current one still accepted (clock drift of the phone).
DRIFT_STEPS = 1
ISSUER = "ansinh"
#: How long the state between the password and the code lasts (seconds).
PENDING_SECONDS = 300


# --- pure functions ----------------------------------------------------------------------------------------------

def new_secret() -> str:
    """A random secret: 32 base32 characters (160 bits, RFC 4226's recommended length)."""
    return pyotp.random_base32()


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at the moment ``at``."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(at)


def normalise_code(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "")


def matching_step(secret: str, code: str | None, at: datetime, *, after_step: int | None = None) -> int | None:
    """The time step (within :data:`DRIFT_STEPS` of ``at``, after ``after_step``) whose code is ``code``; None if no
    such step: a wrong code, one too old or too early, or one already used."""
    code = normalise_code(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now_step = time_step(at)
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def provisioning_uri(secret: str, account_name: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code (issuer "ansinh")."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account_name,
                                                                                    issuer_name=ISSUER)


def grouped_secret(secret: str) -> str:
    """The secret in groups of four, to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_svg(content: str) -> str:
    """The provisioning address as an inline SVG QR code (segno; no user markup in it)."""
    from ansinh.collection.vietqr import qr_svg as svg

    return svg(content, scale=4)


def is_required(roles: Iterable, required_roles: Iterable[str]) -> bool:
    """The user holds a role that must sign in with a second factor (the setting ``second_factor_roles``)."""
    wanted = set(required_roles)
    return any(getattr(role, "value", role) in wanted for role in roles)


@dataclass(frozen=True)
class Pending:
    """Who gave the right password, and what they must do next: ``code`` (type a code) or ``enrol``."""

    user_id: int
    password_stamp: int
    step: str
    next_url: str


def _sign(key: str, body: bytes) -> str:
    return hmac.new(hashlib.sha256(f"login-pending:{key}".encode()).digest(), body, hashlib.sha256).hexdigest()


def sign_pending(key: str, pending: Pending, at: datetime) -> str:
    """A token of the pending sign-in, signed with the application's secret key, valid :data:`PENDING_SECONDS`."""
    body = json.dumps({"u": pending.user_id, "p": pending.password_stamp, "s": pending.step, "n": pending.next_url,
                       "t": int(at.timestamp())}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + _sign(key, body)


def read_pending(key: str, token: str | None, at: datetime) -> Pending | None:
    """The pending sign-in of a token, or None when it is missing, forged, malformed or older than allowed."""
    if not token or "." not in token or len(token) > 2000:
        return None
    data, _, signature = token.rpartition(".")
    try:
        body = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _sign(key, body)):
        return None
    try:
        values = json.loads(body)
        issued = int(values["t"])
        pending = Pending(int(values["u"]), int(values["p"]), str(values["s"]), str(values["n"]))
    except (ValueError, KeyError, TypeError):
        return None
    if not 0 <= int(at.timestamp()) - issued <= PENDING_SECONDS or pending.step not in ("code", "enrol"):
        return None
    return pending


def password_stamp(user: User) -> int:
    """Changes when the password does: a pending sign-in ends with a new password."""
    return int(user.password_changed_at.timestamp()) if user.password_changed_at else 0


# --- the database ------------------------------------------------------------------------------------------------

def second_factor_of(session: Session, user_id: int) -> SecondFactor | None:
    return session.get(SecondFactor, user_id)


def is_enrolled(session: Session, user_id: int) -> bool:
    return session.scalar(select(SecondFactor.confirmed_at).where(SecondFactor.user_id == user_id)) is not None


def start_enrolment(session: Session, user: User) -> SecondFactor:
    """The user's factor being set up: the one started earlier and not confirmed, or a new secret. Conflict when the
    user already has a confirmed factor (its secret is never shown again)."""
    factor = session.get(SecondFactor, user.id)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict("The second factor is already on. Switch it off first to set up another app.")
    if factor is None:
        factor = SecondFactor(user_id=user.id, secret=new_secret())
        session.add(factor)
        session.flush()
    return factor


def confirm_enrolment(session: Session, user: User, code: str, *, at: datetime) -> SecondFactor:
    """Switch the second factor on, once the user shows a code of the app they set up. ValidationFailed (field
    ``code``) for a wrong code."""
    factor = session.get(SecondFactor, user.id)
    if factor is None:
        raise ValidationFailed("code", "Start the set-up of the second factor first.")
    if factor.confirmed_at is not None:
        raise Conflict("The second factor is already on. Switch it off first to set up another app.")
    step = matching_step(factor.secret, code, at)
    if step is None:
        raise ValidationFailed("code", "This code is not right. Type the six digits the app shows now.")
    done = session.execute(update(SecondFactor).where(SecondFactor.user_id == user.id,
                                                      SecondFactor.confirmed_at.is_(None))
                           .values(confirmed_at=at, last_step=step).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("The second factor is already on. Switch it off first to set up another app.")
    session.refresh(factor)
    record_event(session, "second_factor_enabled", "app_user", user.id, org_unit_id=user.org_unit_id)
    session.flush()
    return factor


def check_code(session: Session, user: User, code: str | None, *, at: datetime) -> bool:
    """True when ``code`` is a code of the user's confirmed factor not used before; the step is then taken by a
    guarded update (of two requests with one code, one only succeeds)."""
    factor = session.get(SecondFactor, user.id)
    if factor is None or factor.confirmed_at is None:
        return False
    step = matching_step(factor.secret, code, at, after_step=factor.last_step)
    if step is None:
        return False
    taken = session.execute(update(SecondFactor).where(
        SecondFactor.user_id == user.id, SecondFactor.confirmed_at.is_not(None),
        or_(SecondFactor.last_step.is_(None), SecondFactor.last_step < step)).values(last_step=step)
        .execution_options(synchronize_session=False))
    session.expire(factor)
    return taken.rowcount == 1


def disable_second_factor(session: Session, user: User, password: str, code: str, *, at: datetime) -> None:
    """Switch the second factor off: with the password and a current code. ValidationFailed naming the field."""
    from ansinh.auth.service import verify_password

    if not is_enrolled(session, user.id):
        raise ValidationFailed("code", "The second factor is not on.")
    if not verify_password(user.password_hash, password or ""):
        raise ValidationFailed("password", "The password is not right.")
    if not check_code(session, user, code, at=at):
        raise ValidationFailed("code", "This code is not right. Type the six digits the app shows now.")
    clear_second_factor(session, user)
    record_event(session, "second_factor_disabled", "app_user", user.id, org_unit_id=user.org_unit_id)
    session.flush()


def cancel_enrolment(session: Session, user: User) -> None:
    """Drop a set-up not confirmed (a new secret is made next time)."""
    session.execute(delete(SecondFactor).where(SecondFactor.user_id == user.id, SecondFactor.confirmed_at.is_(None)))


def clear_second_factor(session: Session, user: User) -> bool:
    """Remove the user's factor (switched off, or a password reset at the office: they enrol again)."""
    factor = session.get(SecondFactor, user.id)
    if factor is None:
        return False
    session.delete(factor)
    session.flush()
    return True
