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
        super().__init__(message.format(**params) if params else message)

    @property
    def message(self) -> str:
        return str(self)

    def translated(self, gettext) -> str:
        text = gettext(self.template)
        return text.format(**self.params) if self.params else text


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
