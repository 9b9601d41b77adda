"""Vietnamese and English for every text shown to users.

Source strings are English and double as gettext msgids; the catalogues live in
``src/ansinh/locale/<lang>/LC_MESSAGES/messages.po`` (Babel). They are compiled in memory at first
use, so there is no build step. The current language is a context variable set per request from
the user's choice (cookie or saved preference), then Accept-Language, then the configured default
(Vietnamese).
"""

from __future__ import annotations

import contextvars
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations

LOCALES: tuple[str, ...] = ("vi", "en")
DEFAULT_LOCALE = "vi"
LOCALE_DIR = Path(__file__).parent / "locale"
LOCALE_NAMES = {"vi": "Tiếng Việt", "en": "English"}

#: Keywords that mark translatable text for extraction (``make messages`` and the catalogue test):
#: the usual gettext functions, and the message argument of the domain errors.
EXTRACTION_KEYWORDS = {
    "_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None,
    "DomainError": None, "ValidationFailed": (2,), "NotFound": None, "Conflict": None,
    "PermissionDenied": None, "AuthError": None, "NotAuthenticated": None,
}

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("ansinh_locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=None)
def translations(locale: str) -> Translations:
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return Translations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


def get_locale() -> str:
    return _locale.get()


def set_locale(locale: str) -> None:
    _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _locale.reset(token)


def gettext(message: str) -> str:
    return translations(_locale.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_locale.get()).ungettext(singular, plural, n)


_ = gettext


def lazy_gettext(message: str) -> LazyProxy:
    """Translated when shown, not when defined (for labels declared at import time)."""
    return LazyProxy(gettext, message, enable_cache=False)


def negotiate_locale(*, chosen: str | None, saved: str | None, accept_language: str | None,
                     default: str = DEFAULT_LOCALE) -> str:
    """The user's explicit choice, then their saved preference, then the browser's languages."""
    for candidate in (chosen, saved):
        if candidate in LOCALES:
            return candidate
    if accept_language:
        weighted: list[tuple[float, str]] = []
        for part in accept_language.split(","):
            piece = part.strip().split(";")
            lang = piece[0].strip().lower().split("-")[0]
            quality = 1.0
            for param in piece[1:]:
                if param.strip().startswith("q="):
                    try:
                        quality = float(param.strip()[2:])
                    except ValueError:
                        quality = 0.0
            if lang in LOCALES:
                weighted.append((quality, lang))
        if weighted:
            return max(weighted, key=lambda item: item[0])[1]
    return default


def N_(message: str) -> str:
    """Mark a string for translation without translating it now (it is translated when shown)."""
    return message
