"""Every text shown to users exists in Vietnamese and English."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ansinh import i18n
from ansinh.auth.models import Role

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


def test_template_messages_survive_jinja_formatting_in_every_language():
    """Jinja's new-style gettext formats every message with ``%`` (``_("…") % {}``), even without variables: a bare
    ``%`` in a translation used by a template answered 500 for the arrears page in Vietnamese."""
    template_messages = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "src" / "ansinh" / "web" / "templates"), [("**.html", "jinja2")],
            {"**.html": {"extensions": "jinja2.ext.i18n"}}, keywords=i18n.EXTRACTION_KEYWORDS):
        template_messages.add(message[0] if isinstance(message, tuple) else message)
    assert "Overdue rate over the last 12 months, in percent" in template_messages
    broken = []
    for language in ("vi", "en"):
        with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if message.id in template_messages:
                for text in (message.id, message.string or message.id):
                    try:
                        text % {}
                    except (ValueError, TypeError):
                        broken.append((language, text))
    assert broken == [], "write a literal % as %% in messages shown by templates (or reword them)"


def test_arrears_page_renders_in_vietnamese(client, org, make_user):
    from tests.conftest import web_login

    make_user("hn.thu", org.hanoi, Role.provincial_officer)
    assert web_login(client, "hn.thu").status_code == 303
    client.get("/lang/vi")
    page = client.get("/collection/arrears", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text[:500]
    assert "Tỷ lệ chậm đóng 12 tháng qua, tính theo phần trăm" in page.text


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
