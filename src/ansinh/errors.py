"""The errors every domain raises, and that the API and web layers turn into 4xx answers.

A message is an English template (also the gettext msgid) plus parameters, so that it can be shown
in the user's language: ``ValidationFailed("username", "user {username} already exists",
username="an")``.
"""

from __future__ import annotations

from typing import Any

from ansinh.i18n import N_


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **params: Any) -> None:
        self.template = message
        self.params = params
        if params:  # the English text (logs, the CLI, stored reasons): its numbers grouped the English way
            from ansinh.formatting import message_params

            message = message.format(**message_params(params, "en"))
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self)

    def translated(self, gettext) -> str:
        """The message in the current language, its numbers and dates written the way that language writes them."""
        from ansinh.formatting import message_params

        text = gettext(self.template)
        return text.format(**message_params(self.params)) if self.params else text


class ValidationFailed(DomainError):
    """A value is not acceptable; ``field`` names it (and ``row`` / ``file`` for imports)."""

    status_code = 422
    code = "validation_failed"

    def __init__(self, field: str, message: str, **params: Any) -> None:
        self.field = field
        super().__init__(message, **params)


class BadQuery(ValidationFailed):
    """A malformed key in a lookup query (a citizen ID, a card code, a date outside the rules): HTTP 400, with the
    field and the reason, as the facility desk's systems expect."""

    status_code = 400
    code = "bad_request"

    @classmethod
    def of(cls, error: ValidationFailed) -> BadQuery:
        query = cls(error.field, error.template, **error.params)
        query.__cause__ = error
        return query


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"

    def __init__(self, message: str = N_("You are not allowed to do this."), **params: Any) -> None:
        super().__init__(message, **params)


class ServiceBusy(DomainError):
    """The database could not serve the request in time (a lock held too long, a statement over its time limit,
    a deadlock): nothing was changed, and the same request can be sent again."""

    status_code = 503
    code = "busy"

    def __init__(self, message: str = N_("The system is busy; nothing was changed. Please try again in a moment."),
                 retry_after_seconds: int = 2, **params: Any) -> None:
        super().__init__(message, **params)
        self.retry_after_seconds = retry_after_seconds


class TooManyRequests(DomainError):
    """The caller sent more requests of a kind than its limit allows in a while: nothing was done; the same request
    can be sent again after ``retry_after_seconds``."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after_seconds: int = 60, **params: Any) -> None:
        super().__init__(message, **params)
        self.retry_after_seconds = retry_after_seconds


#: PostgreSQL error codes of a request that waited too long or lost a race: lock_not_available, query_canceled
#: (statement_timeout), deadlock_detected, serialization_failure, idle_in_transaction_session_timeout.
_RETRYABLE_PGCODES = {"55P03", "57014", "40P01", "40001", "25P03"}


def database_error(exc: BaseException) -> DomainError | None:
    """The answer to give for a database error that reached a route, or None for a bug (an answer of 500).

    - a lock or statement timeout, a deadlock, a serialization failure, SQLite's "database is locked" → 503, retry;
    - a unique or foreign-key violation (two requests raced to create the same record) → 409;
    - a value the database refuses (out of range, a NUL character) → 422.
    The checks at the edge (``ansinh.bounds``) are meant to stop bad values first; these are the safety net."""
    from sqlalchemy import exc as sa

    if isinstance(exc, OverflowError):  # SQLite's driver refusing an integer beyond 64 bits
        return ValidationFailed("", N_("A value is outside what can be stored; nothing was changed."))
    if not isinstance(exc, sa.DBAPIError):
        return None
    original = getattr(exc, "orig", None)
    pgcode = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    text = str(original or exc).lower()
    if pgcode in _RETRYABLE_PGCODES or "database is locked" in text or "database table is locked" in text:
        return ServiceBusy()
    if isinstance(exc, sa.IntegrityError):
        return Conflict(N_("This conflicts with a record written at the same time; nothing was changed. "
                           "Reload and try again."))
    if isinstance(exc, sa.DataError) or (pgcode or "").startswith("22"):
        return ValidationFailed("", N_("A value is outside what can be stored; nothing was changed."))
    return None
