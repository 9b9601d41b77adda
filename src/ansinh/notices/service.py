"""Sending and reading notices. The caller owns the transaction; dates are passed in.

``send_notice`` is idempotent by ``key`` (a job that runs again sends nothing new) and safe under concurrent senders
(an insert that meets the unique key is a no-op). Reading is always of the caller's own notices:
:func:`list_notices` takes the person or employer the portal resolved from the signed-in account.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ansinh.db import utcnow
from ansinh.errors import NotFound, ValidationFailed
from ansinh.formatting import message_params, stored_params
from ansinh.i18n import gettext
from ansinh.notices.kinds import NOTICE_KINDS
from ansinh.notices.models import Notice

#: The most notices listed at once (newest first).
MAX_NOTICES = 200


def send_notice(session: Session, *, kind: str, key: str, on: date, params: dict | None = None,
                person_id: int | None = None, person_ref: str | None = None, employer_id: int | None = None,
                link: str | None = None) -> Notice:
    """Send one notice to a person or an employer; the same ``key`` again returns the notice already sent."""
    spec = NOTICE_KINDS.get(kind)
    if spec is None:
        raise ValidationFailed("kind", "Unknown kind of notice.")
    if (person_id is None) == (employer_id is None):
        raise ValidationFailed("person_id", "A notice goes to one person or one employer.")
    params = {k: v.isoformat() if isinstance(v, date) else v for k, v in (params or {}).items()}
    missing = [p for p in spec.params if p not in params]
    if missing:
        raise ValidationFailed("params", "The notice needs these values: {names}.", names=", ".join(missing))
    existing = session.scalar(select(Notice).where(Notice.key == key))
    if existing is not None:
        return existing
    notice = Notice(kind=kind, key=key, sent_on=on, params=params, person_id=person_id, person_ref=person_ref,
                    employer_id=employer_id, link=link)
    try:
        with session.begin_nested():
            session.add(notice)
            session.flush()
    except IntegrityError:  # a concurrent sender won the key
        return session.scalars(select(Notice).where(Notice.key == key)).one()
    return notice


def _own(person_id: int | None, employer_id: int | None):
    if (person_id is None) == (employer_id is None):
        raise ValueError("notices of one person or one employer")
    return Notice.person_id == person_id if person_id is not None else Notice.employer_id == employer_id


def list_notices(session: Session, *, person_id: int | None = None, employer_id: int | None = None,
                 limit: int = MAX_NOTICES) -> list[Notice]:
    """The addressee's notices, newest first."""
    return list(session.scalars(select(Notice).where(_own(person_id, employer_id))
                                .order_by(Notice.sent_on.desc(), Notice.id.desc()).limit(min(limit, MAX_NOTICES))))


def count_unread(session: Session, *, person_id: int | None = None, employer_id: int | None = None) -> int:
    return session.scalar(select(func.count()).select_from(Notice)
                          .where(_own(person_id, employer_id), Notice.read_at.is_(None))) or 0


def mark_read(session: Session, notice_id: int, *, person_id: int | None = None,
              employer_id: int | None = None) -> None:
    """Mark one of the addressee's notices read (a guarded update: another's notice is not found)."""
    result = session.execute(update(Notice).where(Notice.id == notice_id, _own(person_id, employer_id))
                             .values(read_at=func.coalesce(Notice.read_at, utcnow())))
    if result.rowcount == 0:
        raise NotFound("Notice not found.")


def notice_view(notice: Notice) -> dict:
    """A notice as the reader sees it, in the request's language (its dates and amounts written that way)."""
    spec = NOTICE_KINDS[notice.kind]
    params = message_params(stored_params(notice.params or {}))
    for name in spec.translated:
        if name in params:
            params[name] = gettext(str(params[name])).format(**params)
    return {"id": notice.id, "kind": notice.kind, "sent_on": notice.sent_on.isoformat(),
            "title": gettext(spec.title), "text": gettext(spec.text).format(**params), "link": notice.link,
            "read": notice.read_at is not None}
