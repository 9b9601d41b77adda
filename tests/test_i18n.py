"""Every text shown to users exists in Vietnamese and English."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ansinh import i18n

ROOT = Path(__file__).resolve().parents[1]
METHOD_MAP = [("src/ansinh/**.py", "python"), ("src/ansinh/web/templates/**.html", "jinja2")]
OPTIONS = {"src/ansinh/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), METHOD_MAP, OPTIONS, keywords=i18n.EXTRACTION_KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_in_the_code_has_a_vietnamese_translation():
    with (i18n.LOCALE_DIR / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    messages = _source_messages()
    assert len(messages) > 80
    missing = sorted(messages - translated)
    assert not missing, f"translate these in vi/messages.po (make messages): {missing}"


def test_placeholders_survive_translation():
    with (i18n.LOCALE_DIR / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    import string

    for message in catalog:
        if message.id and message.string:
            fields = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
            assert fields(message.id) == fields(message.string), message.id


def test_translation_follows_the_current_locale():
    with i18n.use_locale("vi"):
        assert i18n.gettext("Sign in") == "Đăng nhập"
    with i18n.use_locale("en"):
        assert i18n.gettext("Sign in") == "Sign in"
    with i18n.use_locale("fr"):  # unknown → default
        assert i18n.get_locale() == "vi"


def test_negotiation_prefers_the_users_choice():
    assert i18n.negotiate_locale(chosen="en", saved="vi", accept_language="vi") == "en"
    assert i18n.negotiate_locale(chosen=None, saved="en", accept_language="vi") == "en"
    assert i18n.negotiate_locale(chosen=None, saved=None, accept_language="fr-FR, en;q=0.8, vi;q=0.9") == "vi"
    assert i18n.negotiate_locale(chosen="xx", saved=None, accept_language=None) == "vi"
