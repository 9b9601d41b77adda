"""Operations of the auth domain. Each is a plain function ``verb_noun(session, ...)``; it flushes,
the caller commits."""

from __future__ import annotations

import hashlib
import secrets
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from ansinh.audit.service import act_as, record_event
from ansinh.auth.models import (
    ApiToken,
    LoginAttempt,
    LoginThrottle,
    OrgLevel,
    OrgUnit,
    Role,
    User,
    UserRole,
    UserSession,
)
from ansinh.auth.permissions import Principal, ensure_in_scope, org_scope, permissions_for
from ansinh.db import utcnow
from ansinh.errors import DomainError, PermissionDenied, ValidationFailed
from ansinh.i18n import N_

_hasher = PasswordHasher()
#: The hasher and its hash verified against when the username is unknown, so that the answer takes the same time;
#: made on first use (hashing at the production costs takes a quarter of a second: not at every process's import).
_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("ansinh-dummy-password"))
    return _dummy[1]

#: Passwords: at least this long, and not guessable (``zxcvbn`` score at least :data:`MIN_PASSWORD_SCORE` of 4, with
#: the user's own name, username and e-mail counted as guessable words): NIST SP 800-63B, OWASP ASVS 2.1.
MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3
_PARENT_LEVEL = {OrgLevel.province: OrgLevel.national, OrgLevel.district: OrgLevel.province}
# Officer roles are tied to the level of the org unit they work in.
_ROLE_LEVEL = {
    Role.national_officer: OrgLevel.national,
    Role.provincial_officer: OrgLevel.province,
    Role.district_officer: OrgLevel.district,
}


class AuthError(DomainError):
    """Sign-in failed. The message never says whether the username exists."""

    status_code = 401
    code = "unauthenticated"


class TooManyAttempts(AuthError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(N_("Too many failed sign-in attempts. Try again in {minutes} minutes."),
                         minutes=max(1, (retry_after_seconds + 59) // 60))
        self.retry_after_seconds = retry_after_seconds


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every moment we store is UTC."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(password: str, *, user_inputs: Sequence[str] = ()) -> None:
    """Refuse a password that is short, common or guessable (a word of a dictionary, a name, a keyboard pattern, a
    repetition, a date, the user's own name or username), naming the field ``password``."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed("password", "A password has at least {n} characters.", n=MIN_PASSWORD_LENGTH)
    if len(password) > 256:
        raise ValidationFailed("password", "A password has at most {n} characters.", n=256)
    from zxcvbn import zxcvbn  # its dictionaries load on first use

    words: list[str] = []
    for value in user_inputs:
        if not value:
            continue
        plain = "".join(c for c in unicodedata.normalize("NFKD", value.replace("đ", "d").replace("Đ", "D"))
                        if not unicodedata.combining(c)).lower()
        for variant in {value, plain}:
            parts = variant.replace(".", " ").replace("@", " ").replace("_", " ").split()
            words += [variant, "".join(parts), *parts]
    if zxcvbn(password[:100], user_inputs=words)["score"] < MIN_PASSWORD_SCORE:
        raise ValidationFailed("password", "This password is too easy to guess (a common word, name, date, keyboard "
                                           "pattern or repetition). A phrase of several unrelated words is best.")


def hash_password(password: str, *, user_inputs: Sequence[str] = ()) -> str:
    check_password_strength(password, user_inputs=user_inputs)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- org units -------------------------------------------------------------------------------

def create_org_unit(session: Session, *, code: str, name: str, level: OrgLevel, place_code: str,
                    parent: OrgUnit | None = None) -> OrgUnit:
    if level == OrgLevel.national:
        if parent is not None:
            raise ValidationFailed("parent", "The national unit has no parent.")
    elif parent is None or parent.level != _PARENT_LEVEL[level]:
        raise ValidationFailed("parent", "A {level} unit sits under a {parent_level} unit.", level=level.value,
                               parent_level=_PARENT_LEVEL[level].value)
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
        raise ValidationFailed("code", "Org unit {code} already exists.", code=code)
    unit = OrgUnit(code=code, name=name, level=level, place_code=place_code, parent=parent)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    return unit


def get_org_unit_by_code(session: Session, code: str) -> OrgUnit | None:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def get_org_unit(session: Session, principal: Principal, org_unit_id: int) -> OrgUnit | None:
    """One org unit, or None if it does not exist; PermissionDenied if outside the caller's scope."""
    unit = session.get(OrgUnit, org_unit_id)
    if unit is not None:
        ensure_in_scope(principal, unit)
    return unit


def list_org_units(session: Session, principal: Principal) -> Sequence[OrgUnit]:
    return session.scalars(
        select(OrgUnit).where(org_scope(principal, OrgUnit.id)).order_by(OrgUnit.path)
    ).all()


# --- users -----------------------------------------------------------------------------------

def normalise_username(username: str) -> str:
    return username.strip().lower()


def create_user(session: Session, *, username: str, password: str, full_name: str, org_unit: OrgUnit,
                roles: Sequence[Role], email: str | None = None, subject_ref: str | None = None,
                locale: str = "vi") -> User:
    username = normalise_username(username)
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-@" for c in username):
        raise ValidationFailed("username", "A username has 1 to 64 letters, digits or . _ - @.")
    if not roles:
        raise ValidationFailed("roles", "A user holds at least one role.")
    for role in roles:
        required = _ROLE_LEVEL.get(role)
        if required is not None and org_unit.level != required:
            raise ValidationFailed("roles", "The role {role} belongs to a {level} org unit.", role=role.value,
                                   level=required.value)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationFailed("username", "User {username} already exists.", username=username)
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        password_hash=hash_password(password, user_inputs=(username, full_name, email or "")),
        org_unit=org_unit,
        subject_ref=subject_ref,
        locale=locale,
        roles=[UserRole(role=role) for role in sorted(set(roles), key=lambda r: r.value)],
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password, user_inputs=(user.username, user.full_name, user.email or ""))
    user.password_changed_at = utcnow()
    session.flush()


def set_user_locale(session: Session, user_id: int, locale: str) -> None:
    user = session.get(User, user_id)
    if user is not None and user.locale != locale:
        user.locale = locale
        session.flush()


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == normalise_username(username)))


def list_users(session: Session, principal: Principal, *, within: OrgUnit | None = None, limit: int = 100,
               offset: int = 0) -> tuple[Sequence[User], int]:
    """Users in the caller's subtree (or in the subtree of ``within``, itself in scope)."""
    scope = org_scope(principal, User.org_unit_id)
    if within is not None:
        ensure_in_scope(principal, within)
        scope = scope & User.org_unit_id.in_(
            select(OrgUnit.id).where(OrgUnit.path.startswith(within.path, autoescape=True)))
    total = session.scalar(select(func.count(User.id)).where(scope)) or 0
    users = session.scalars(select(User).where(scope).order_by(User.username).limit(limit).offset(offset)).all()
    return users, total


def get_user(session: Session, principal: Principal, user_id: int) -> User | None:
    """One user's record (personal data: the read is audited). PermissionDenied outside scope."""
    user = session.get(User, user_id)
    if user is None:
        return None
    ensure_in_scope(principal, user.org_unit)
    record_event(session, "read", "app_user", user.id, org_unit_id=user.org_unit_id)
    return user


# --- managing users (as an administrator) ----------------------------------------------------

#: Roles that act for an outside party, and what their ``subject_ref`` names.
SUBJECT_ROLES = {Role.employer: "employer", Role.citizen: "person", Role.facility: "facility"}


def grantable_roles(principal: Principal) -> list[Role]:
    """The roles a user may give: those granting nothing the giver lacks, whose level of org unit (for officer roles)
    lies in the giver's subtree (a provincial administrator gives no national officer role)."""
    levels = {OrgLevel.national: {OrgLevel.national, OrgLevel.province, OrgLevel.district},
              OrgLevel.province: {OrgLevel.province, OrgLevel.district},
              OrgLevel.district: {OrgLevel.district}}[OrgLevel(principal.org_unit_level)]
    return [role for role in Role
            if permissions_for({role}) <= principal.permissions
            and (_ROLE_LEVEL.get(role) is None or _ROLE_LEVEL[role] in levels)]


def _check_roles(session: Session, principal: Principal, org_unit: OrgUnit, roles: Sequence[Role],
                 subject_ref: str | None) -> str | None:
    """Refuse roles the principal may not give, a mix of agency and outside roles, or an outside role without an
    existing employer, person or facility of the principal's scope; returns the cleaned ``subject_ref``."""
    roles = list(dict.fromkeys(roles))
    if not roles:
        raise ValidationFailed("roles", "A user holds at least one role.")
    allowed = set(grantable_roles(principal))
    refused = [role for role in roles if role not in allowed]
    if refused:
        raise PermissionDenied("You may not give the role {role}.", role=refused[0].value)
    for role in roles:
        required = _ROLE_LEVEL.get(role)
        if required is not None and org_unit.level != required:
            raise ValidationFailed("roles", "The role {role} belongs to a {level} org unit.", role=role.value,
                                   level=required.value)
    outside = [role for role in roles if role in SUBJECT_ROLES]
    subject_ref = (subject_ref or "").strip() or None
    if not outside:
        return None
    if len(roles) > 1:
        raise ValidationFailed("roles", "An employer, citizen or medical facility account holds that one role only.")
    if subject_ref is None:
        raise ValidationFailed("subject_ref", "Give the tax code, citizen ID or facility code the account acts for.")
    unit_id = _subject_org_unit(session, outside[0], subject_ref)
    unit = session.get(OrgUnit, unit_id) if unit_id is not None else None
    if unit is None or not principal.covers_path(unit.path):
        messages = {Role.employer: "No employer with tax code {value} in your scope.",
                    Role.citizen: "No person with citizen ID {value} in your scope.",
                    Role.facility: "No medical facility with code {value} in your scope."}
        raise ValidationFailed("subject_ref", messages[outside[0]], value=subject_ref)
    return subject_ref


def _subject_org_unit(session: Session, role: Role, subject_ref: str) -> int | None:
    """The org unit of the employer, person or facility an outside account acts for (None: no such record)."""
    from ansinh.cards.models import MedicalFacility
    from ansinh.registry.models import Employer, Person

    column, unit = {Role.employer: (Employer.tax_code, Employer.org_unit_id),
                    Role.citizen: (Person.citizen_id, Person.org_unit_id),
                    Role.facility: (MedicalFacility.code, MedicalFacility.org_unit_id)}[role]
    return session.scalar(select(unit).where(column == subject_ref).limit(1))


def register_user(session: Session, principal: Principal, *, username: str, password: str, full_name: str,
                  org_unit: OrgUnit, roles: Sequence[Role], email: str | None = None,
                  subject_ref: str | None = None, locale: str = "vi") -> User:
    """Create a user as an administrator: in an org unit of their subtree, with roles they may give, and for an
    outside role the employer (tax code), person (citizen ID) or facility (code) it acts for, which must exist."""
    ensure_in_scope(principal, org_unit)
    if not (full_name or "").strip():
        raise ValidationFailed("full_name", "Give the user's full name.")
    subject_ref = _check_roles(session, principal, org_unit, roles, subject_ref)
    return create_user(session, username=username, password=password, full_name=full_name.strip(),
                       org_unit=org_unit, roles=roles, email=(email or "").strip() or None, subject_ref=subject_ref,
                       locale=locale)


def users_query(principal: Principal, *, within: OrgUnit | None = None, role: Role | None = None,
                active: bool | None = None, text: str | None = None):
    """The users of the principal's subtree (or of the subtree of ``within``) with a role, active or not, whose
    username, name or e-mail contains ``text``: a ``select`` of users joined to their org unit, to sort and page."""
    stmt = select(User).join(OrgUnit, OrgUnit.id == User.org_unit_id).where(org_scope(principal, User.org_unit_id))
    if within is not None:
        ensure_in_scope(principal, within)
        stmt = stmt.where(OrgUnit.path.startswith(within.path, autoescape=True))
    if role is not None:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    words = (text or "").strip().lower()
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(User.username).like(pattern, escape="\\")
                          | func.lower(User.full_name).like(pattern, escape="\\")
                          | func.lower(User.email).like(pattern, escape="\\"))
    return stmt


def managed_user(session: Session, principal: Principal, user_id: int) -> User:
    """A user the principal may change: NotFound if none, PermissionDenied outside their subtree."""
    from ansinh.errors import NotFound

    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User {id} does not exist.", id=user_id)
    ensure_in_scope(principal, user.org_unit)
    return user


def _not_self(principal: Principal, user: User) -> None:
    if user.id == principal.user_id:
        raise PermissionDenied("You cannot change your own account here; ask another administrator.")


def _end_access(session: Session, user: User, now: datetime) -> None:
    """End every web session and API token of a user (a deactivation, a new password)."""
    session.execute(update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
                    .values(revoked_at=now))
    hashes = session.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user.id,
                                                               ApiToken.revoked_at.is_(None))).all()
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))
    for token_hash in hashes:
        _token_cache.pop(token_hash, None)


def update_user_roles(session: Session, principal: Principal, user: User, roles: Sequence[Role], *,
                      subject_ref: str | None = None) -> User:
    """Give a user a new set of roles (never one's own: nobody raises their own roles). Audited: the roles before
    and after."""
    ensure_in_scope(principal, user.org_unit)
    _not_self(principal, user)
    before = [r.value for r in user.role_enums]
    if subject_ref is None and set(roles) & set(SUBJECT_ROLES):
        subject_ref = user.subject_ref
    subject_ref = _check_roles(session, principal, user.org_unit, roles, subject_ref)
    wanted = sorted(set(roles), key=lambda r: r.value)
    after = [r.value for r in wanted]
    if before == after and subject_ref == user.subject_ref:
        return user
    user.roles = [r for r in user.roles if r.role in wanted] + \
        [UserRole(role=role) for role in wanted if role not in user.role_enums]
    user.subject_ref = subject_ref
    session.flush()
    session.expire(user, ["roles"])
    record_event(session, "roles_changed", "app_user", user.id, org_unit_id=user.org_unit_id,
                 details={"roles": [before, after]})
    session.flush()
    return user


def deactivate_user(session: Session, principal: Principal, user: User, *, now: datetime | None = None) -> User:
    """Close an account: it can no longer sign in, and its sessions and API tokens end at once."""
    ensure_in_scope(principal, user.org_unit)
    _not_self(principal, user)
    if user.is_active:
        user.is_active = False
        _end_access(session, user, now or utcnow())
        session.flush()
    return user


def reactivate_user(session: Session, principal: Principal, user: User) -> User:
    ensure_in_scope(principal, user.org_unit)
    _not_self(principal, user)
    if not user.is_active:
        user.is_active = True
        session.flush()
    return user


def generate_password() -> str:
    """A temporary password: 4 groups of 4 random letters and digits (about 80 bits), easy to read out."""
    alphabet = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def reset_password(session: Session, principal: Principal, user: User, password: str | None = None, *,
                   now: datetime | None = None) -> str | None:
    """Set a temporary password chosen by the officer (checked for strength), or a generated one when none is given
    (returned, to be shown once). The user's sessions and API tokens end. Audited (without the password)."""
    ensure_in_scope(principal, user.org_unit)
    _not_self(principal, user)
    generated = None
    if not password:
        password = generated = generate_password()
    set_password(session, user, password)
    _end_access(session, user, now or utcnow())
    record_event(session, "password_reset", "app_user", user.id, org_unit_id=user.org_unit_id,
                 details={"generated": generated is not None})
    session.flush()
    return generated


def place_names(session: Session, codes: set[str]) -> dict[str, str]:
    """The names of the places org units serve (provinces and communes of the 2025 structure), by code."""
    from ansinh.i18n import gettext
    from ansinh.registry.models import Place, PlaceLevel, Structure

    names = {"VN": gettext("Viet Nam")} if "VN" in codes else {}
    rows = session.execute(select(Place.code, Place.name, Place.level).where(
        Place.structure == Structure.from_2025, Place.code.in_(sorted(codes - {"VN"})),
        Place.level.in_([PlaceLevel.province, PlaceLevel.commune])))
    for code, name, level in rows:
        if level == PlaceLevel.province or code not in names:
            names[code] = name
    return names


def find_commune(session: Session, province_code: str, text: str):
    """A commune of a province (2025 structure) by its code or its name (accents and case ignored); ValidationFailed
    naming the field ``place`` when none or several match."""
    from ansinh.registry.identifiers import search_key
    from ansinh.registry.models import Place, PlaceLevel, Structure

    text = (text or "").strip()
    if not text:
        raise ValidationFailed("place", "Give the commune the office serves (its name or code).")
    communes = select(Place).where(Place.structure == Structure.from_2025, Place.level == PlaceLevel.commune,
                                   Place.province_code == province_code)
    if text.isdigit():
        found = session.scalars(communes.where(Place.code == text.zfill(5))).all()
    else:
        key = search_key(text)
        found = session.scalars(communes.where(Place.name_search == key)).all() or \
            session.scalars(communes.where(Place.name_search.like(f"%{key}%")).limit(5)).all()
    if not found:
        raise ValidationFailed("place", "No commune of this province matches {value}.", value=text)
    if len(found) > 1:
        raise ValidationFailed("place", "Several communes of this province match {value}: give its full name or code.",
                               value=text)
    return found[0]


def open_local_office(session: Session, principal: Principal, *, parent: OrgUnit, code: str, name: str,
                      place: str) -> OrgUnit:
    """A local office (district level) under a provincial office of the principal's subtree, for a commune of that
    province (2025 structure; the commune given by code or name)."""
    ensure_in_scope(principal, parent)
    if parent.level != OrgLevel.province:
        raise ValidationFailed("parent", "A local office sits under a provincial office.")
    code = (code or "").strip().upper()
    if not code or len(code) > 32 or not all(c.isalnum() or c in "-_." for c in code):
        raise ValidationFailed("code", "A code has 1 to 32 letters, digits or - _ .")
    if not (name or "").strip():
        raise ValidationFailed("name", "Give the name of the office.")
    commune = find_commune(session, parent.place_code, place)
    return create_org_unit(session, code=code, name=name.strip()[:200], level=OrgLevel.district,
                           place_code=commune.code, parent=parent)


def principal_for(user: User) -> Principal:
    roles = frozenset(r.role for r in user.roles)
    unit = user.org_unit
    return Principal(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        org_unit_id=unit.id,
        org_unit_code=unit.code,
        org_unit_name=unit.name,
        org_unit_path=unit.path,
        org_unit_level=unit.level.value,
        place_code=unit.place_code,
        roles=roles,
        subject_ref=user.subject_ref,
        locale=user.locale,
        permissions=permissions_for(roles),
    )


# --- sign-in ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta


def _throttle_keys(username: str, ip: str) -> list[tuple[str, int]]:
    return [(f"user:{username}"[:100], 1), (f"ip:{ip}"[:100], 5)]


def claim_sign_in(session: Session, username: str, ip: str, policy: ThrottlePolicy, now: datetime) -> None:
    """Count one sign-in attempt for the username and for the address, atomically, **before** the password is
    checked; raise :class:`TooManyAttempts` when either is over its limit (the username: ``max_failures`` in the
    window; the address: five times that, as an office shares one address).

    Each count is one conditional upsert (a row lock held for that statement only, when the caller commits at once):
    of 40 guesses sent at the same moment, exactly as many are let through as of 40 sent one after another. A
    successful sign-in gives its attempts back (:func:`release_sign_in`), so that only failures count."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert_for = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    since = now - policy.window
    table = LoginThrottle.__table__
    for key, factor in _throttle_keys(normalise_username(username)[:64], ip):
        stale = table.c.window_started_at <= since
        stmt = insert_for(table).values(key=key, attempts=1, window_started_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
            "attempts": case((stale, 1), else_=table.c.attempts + 1),
            "window_started_at": case((stale, now), else_=table.c.window_started_at),
        }).returning(table.c.attempts, table.c.window_started_at)
        attempts, started = session.execute(stmt).one()
        if attempts > policy.max_failures * factor:
            retry = int((_aware(started) + policy.window - now).total_seconds()) + 1
            raise TooManyAttempts(max(retry, 1))


def release_sign_in(session: Session, username: str, ip: str) -> None:
    """A successful sign-in: the username's count starts again; the address gives back this attempt."""
    user_key, ip_key = (key for key, _ in _throttle_keys(normalise_username(username)[:64], ip))
    session.execute(update(LoginThrottle).where(LoginThrottle.key == user_key).values(attempts=0))
    session.execute(update(LoginThrottle).where(LoginThrottle.key == ip_key, LoginThrottle.attempts > 0)
                    .values(attempts=LoginThrottle.attempts - 1))


class SecondFactorRequired(AuthError):
    """The password was right; the account signs in with a code of its authenticator app too (API: ``otp``)."""

    code = "second_factor_required"


class SecondFactorInvalid(AuthError):
    code = "second_factor_invalid"


class SecondFactorEnrolmentRequired(AuthError):
    """The account's role must sign in with a second factor, and it has none yet: enrol on the web first."""

    status_code = 403
    code = "second_factor_enrolment_required"


def is_citizen_id(value: str) -> bool:
    return len(value) == 12 and value.isdigit()


def find_sign_in_user(session: Session, login: str) -> User | None:
    """The account a sign-in names: by username, or (a citizen) by their 12-digit citizen ID."""
    login = normalise_username(login)[:64]
    user = get_user_by_username(session, login)
    if user is None and is_citizen_id(login):
        found = session.scalars(select(User).join(UserRole, UserRole.user_id == User.id).where(
            User.subject_ref == login, UserRole.role == Role.citizen).limit(2)).all()
        user = found[0] if len(found) == 1 else None
    return user


def claim_attempt(session: Session, key: str | Callable[[Session], str], ip: str, policy: ThrottlePolicy,
                  now: datetime, database=None) -> str:
    """:func:`claim_sign_in` in a unit of work of its own committed at once when ``database`` is given (concurrent
    guesses see each other's counts), else in ``session``; returns the key counted. ``key`` may be a function that
    reads it in that unit of work: the request's own session must read nothing before the claim commits (SQLite
    would refuse its later writes, its snapshot being older than the claim)."""
    if database is not None:
        with database.unit_of_work() as claim:
            name = key(claim) if callable(key) else key
            claim_sign_in(claim, name, ip, policy, now)
        return name
    name = key(session) if callable(key) else key
    claim_sign_in(session, name, ip, policy, now)
    return name


def _account_name(login: str) -> Callable[[Session], str]:
    """The name a sign-in's attempts are counted under: the account's username (whether typed or found by citizen
    ID), else what was typed."""
    def read(session: Session) -> str:
        user = find_sign_in_user(session, login)
        return user.username if user is not None else login
    return read


def record_failed_sign_in(session: Session, user: User | None, key: str, ip: str, now: datetime, *,
                          reason: str | None = None) -> None:
    session.add(LoginAttempt(username=key, ip=ip[:64], attempted_at=now, succeeded=False))
    details = {"username": key, **({"reason": reason} if reason else {})}
    record_event(session, "login_failed", "app_user", user.id if user else None,
                 org_unit_id=user.org_unit_id if user else None, details=details)
    session.flush()


def check_password(session: Session, username: str, password: str, *, ip: str, policy: ThrottlePolicy,
                   now: datetime | None = None, database=None) -> User:
    """The first step of a sign-in: the account (by username, or a citizen by citizen ID) and its password.

    The attempt is counted first (:func:`claim_sign_in`, under the account's username), and given back only when the
    whole sign-in succeeds (:func:`complete_sign_in`): the codes of a second factor count against the same limit.
    Raises :class:`TooManyAttempts` when throttled (the password is not even checked) and :class:`AuthError` with one
    message for unknown user, wrong password and disabled account."""
    now = now or utcnow()
    login = normalise_username(username)[:64]
    key = claim_attempt(session, _account_name(login), ip, policy, now, database)
    user = find_sign_in_user(session, login)
    ok = verify_password(user.password_hash if user else _dummy_hash(), password)
    ok = ok and user is not None and user.is_active
    if not ok:
        record_failed_sign_in(session, user, key, ip, now)
        raise AuthError("Wrong username or password.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def complete_sign_in(session: Session, user: User, *, ip: str, now: datetime | None = None) -> User:
    """The sign-in succeeded (password, and the code when the account has a second factor): recorded, the attempts
    given back."""
    now = now or utcnow()
    session.add(LoginAttempt(username=user.username, ip=ip[:64], attempted_at=now, succeeded=True))
    release_sign_in(session, user.username, ip)
    act_as(session, user_id=user.id, username=user.username, org_unit_id=user.org_unit_id)
    user.last_login_at = now
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str, *, ip: str, policy: ThrottlePolicy,
                 now: datetime | None = None, database=None, otp: str | None = None,
                 required_roles: Sequence[str] = ()) -> User:
    """Check a username (or a citizen's ID) and password, and the one-time code ``otp`` when the account has a
    second factor; record the attempt either way (see :func:`check_password`).

    Raises :class:`SecondFactorRequired` when the code is missing, :class:`SecondFactorInvalid` when it is wrong or
    used already (both counted as failed attempts), :class:`SecondFactorEnrolmentRequired` when the account's role
    must have a second factor (``required_roles``) and it has none."""
    from ansinh.auth.second_factor import service as second_factor

    now = now or utcnow()
    user = check_password(session, username, password, ip=ip, policy=policy, now=now, database=database)
    if second_factor.is_enrolled(session, user.id):
        if not (otp or "").strip():
            record_failed_sign_in(session, user, user.username, ip, now, reason="second_factor_missing")
            raise SecondFactorRequired(N_("Type the six-digit code of your authenticator app too."))
        if not second_factor.check_code(session, user, otp, at=now):
            record_failed_sign_in(session, user, user.username, ip, now, reason="second_factor_wrong")
            raise SecondFactorInvalid(N_("The code of the authenticator app is not right, or was used already."))
    elif second_factor.is_required(user.role_enums, required_roles):
        record_failed_sign_in(session, user, user.username, ip, now, reason="second_factor_not_enrolled")
        raise SecondFactorEnrolmentRequired(N_("Your account must sign in with a second factor: set it up by "
                                               "signing in on the web first."))
    return complete_sign_in(session, user, ip=ip, now=now)


def start_session(session: Session, user: User, *, ip: str | None, user_agent: str | None,
                  max_age: timedelta, now: datetime | None = None) -> tuple[str, UserSession]:
    """Open a web session; returns the cookie token (shown once) and the stored session."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    stored = UserSession(
        token_hash=hash_token(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now, expires_at=now + max_age, ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(stored)
    record_event(session, "login", "app_user", user.id, org_unit_id=user.org_unit_id)
    session.flush()
    return token, stored


@dataclass(frozen=True)
class SessionCheck:
    user_session: UserSession | None
    expired: bool


def resolve_session(session: Session, token: str, *, idle: timedelta, now: datetime | None = None
                    ) -> SessionCheck:
    """The live session for a cookie token. An idle or past-lifetime session is expired (and
    revoked); an unknown token is simply absent."""
    now = now or utcnow()
    stored = session.get(UserSession, hash_token(token))
    if stored is None or stored.revoked_at is not None:
        return SessionCheck(None, expired=stored is not None)
    if now >= _aware(stored.expires_at) or now - _aware(stored.last_seen_at) >= idle or not stored.user.is_active:
        stored.revoked_at = now
        session.flush()
        return SessionCheck(None, expired=True)
    # Touch at most once a minute to keep writes low on busy pages.
    if now - _aware(stored.last_seen_at) >= timedelta(minutes=1):
        stored.last_seen_at = now
        session.flush()
    return SessionCheck(stored, expired=False)


def end_session(session: Session, token: str) -> None:
    stored = session.get(UserSession, hash_token(token))
    if stored is not None and stored.revoked_at is None:
        stored.revoked_at = utcnow()
        record_event(session, "logout", "app_user", stored.user_id, org_unit_id=stored.user.org_unit_id)
        session.flush()


def issue_api_token(session: Session, user: User, *, lifetime: timedelta, name: str = "api",
                    now: datetime | None = None) -> tuple[str, ApiToken]:
    now = now or utcnow()
    token = "ans_" + secrets.token_urlsafe(32)
    stored = ApiToken(token_hash=hash_token(token), user_id=user.id, name=name[:100], created_at=now,
                      expires_at=now + lifetime)
    session.add(stored)
    session.flush()
    record_event(session, "token_issued", "api_token", stored.id, org_unit_id=user.org_unit_id)
    return token, stored


def _valid_api_token(session: Session, token: str, now: datetime) -> ApiToken | None:
    """The stored token, if it exists, is neither revoked nor expired, and its user is active."""
    stored = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if stored is None or stored.revoked_at is not None or now >= _aware(stored.expires_at) \
            or not stored.user.is_active:
        return None
    return stored


def resolve_api_token(session: Session, token: str, now: datetime | None = None) -> User | None:
    stored = _valid_api_token(session, token, now or utcnow())
    return stored.user if stored is not None else None


#: Bearer tokens resolved in the last few seconds: token hash → (principal, token expiry, cached until). A facility's
#: desk system calls the API thousands of times a minute with one token; resolving it each time (token, user,
#: roles, org unit: four reads) was a third of the cost of a card lookup. A revoked token stops working at once in
#: the process that revoked it; a revoked or expired token or a deactivated user stops working everywhere within
#: ``TOKEN_CACHE_SECONDS``.
TOKEN_CACHE_SECONDS = 10.0
TOKEN_CACHE_SIZE = 10_000
_token_cache: dict[str, tuple[Principal, datetime, float]] = {}


def clear_token_cache() -> None:
    _token_cache.clear()


def cached_principal(token: str, now: datetime | None = None) -> Principal | None:
    """The caller of a bearer token resolved in the last seconds, without reading the database; None if not."""
    hit = _token_cache.get(hash_token(token))
    if hit is not None and hit[2] > time.monotonic() and (now or utcnow()) < hit[1]:
        return hit[0]
    return None


def principal_for_token(session: Session, token: str, now: datetime | None = None) -> Principal | None:
    """The caller a bearer token stands for, or None (unknown, revoked, expired, or the user inactive)."""
    key = hash_token(token)
    now = now or utcnow()
    if (cached := cached_principal(token, now)) is not None:
        return cached
    stored = _valid_api_token(session, token, now)
    if stored is None:
        _token_cache.pop(key, None)
        return None
    principal = principal_for(stored.user)
    if len(_token_cache) >= TOKEN_CACHE_SIZE:
        _token_cache.clear()
    _token_cache[key] = (principal, _aware(stored.expires_at), time.monotonic() + TOKEN_CACHE_SECONDS)
    return principal


def revoke_api_token(session: Session, token: str) -> bool:
    _token_cache.pop(hash_token(token), None)
    stored = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if stored is None or stored.revoked_at is not None:
        return False
    stored.revoked_at = utcnow()
    session.flush()
    return True


__all__ = [
    "AuthError", "SecondFactorRequired", "SecondFactorInvalid", "SecondFactorEnrolmentRequired", "check_password",
    "complete_sign_in", "find_sign_in_user", "PermissionDenied", "TooManyAttempts", "ValidationFailed", "ThrottlePolicy",
    "authenticate", "check_password_strength", "claim_sign_in", "release_sign_in", "create_org_unit", "create_user", "end_session", "get_org_unit", "get_user",
    "issue_api_token", "list_org_units", "list_users", "cached_principal", "principal_for", "principal_for_token", "resolve_api_token",
    "resolve_session", "revoke_api_token", "start_session", "grantable_roles", "register_user", "managed_user",
    "update_user_roles", "deactivate_user", "reactivate_user", "reset_password", "generate_password",
    "open_local_office",
]
