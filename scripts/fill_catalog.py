"""Fill a catalogue's empty translations from a Python file defining ``VI = {msgid: text}``.

    python scripts/fill_catalog.py vi translations.py
Entries already translated are left alone; what is still missing is listed.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "src" / "ansinh" / "locale"


def main(lang: str, source: str) -> int:
    table = runpy.run_path(source)[lang.upper()]
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        if not message.string:
            if message.id in table:
                message.string = table[message.id]
            else:
                missing.append(message.id)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True)
    for msgid in missing:
        print(f"missing: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
