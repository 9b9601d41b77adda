"""Add or correct translations in the catalogues without rewriting the rest of them.

    .venv/bin/python scripts/translate.py FILE.tsv

FILE.tsv has one message per line: the English text (the msgid, exactly as in the code), a tab, the Vietnamese
text. Each message is added to (or corrected in) ``vi`` with its translation and to ``en`` with an empty
translation (English is the source text); the catalogues are written back sorted, as ``make messages`` writes them,
so that a diff shows only the new lines. ``\\n`` and ``\\t`` in the file stand for a line break and a tab.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Message
from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parents[1] / "src" / "ansinh" / "locale"


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", "\t")


def main(path: str) -> None:
    pairs = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        english, sep, vietnamese = line.partition("\t")
        if not sep or not vietnamese.strip():
            raise SystemExit(f"{path}:{number}: expected 'English<TAB>Vietnamese'")
        pairs.append((_unescape(english), _unescape(vietnamese)))
    for locale in ("vi", "en"):
        po = LOCALES / locale / "LC_MESSAGES" / "messages.po"
        catalog = read_po(io.BytesIO(po.read_bytes()), locale=locale)
        for english, vietnamese in pairs:
            flags = ["python-brace-format"] if "{" in english else []
            if english in catalog:  # Catalog.__setitem__ merges into an existing message, keeping its text
                del catalog[english]
            catalog[english] = Message(english, vietnamese if locale == "vi" else "", flags=flags)
        out = io.BytesIO()
        write_po(out, catalog, sort_output=True, width=76, ignore_obsolete=True, include_previous=False,
                 no_location=True)
        po.write_bytes(out.getvalue())
    print(f"{len(pairs)} messages in vi and en")


if __name__ == "__main__":
    main(sys.argv[1])
