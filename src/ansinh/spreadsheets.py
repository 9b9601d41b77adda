"""Cells of the spreadsheets the system writes (exports, templates, error reports), safe to open.

A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is read by Excel and
LibreOffice as a formula when the file is opened or re-saved as CSV: a name or a transfer text typed by an outsider
(``=HYPERLINK(...)``) would then run in an officer's spreadsheet (CSV/formula injection, OWASP). Every text written
to a cell goes through :func:`safe_cell`, which keeps the text but makes it plain text by a leading apostrophe, as
Excel itself does for text typed that way. Numbers and dates are written as numbers and dates, unchanged.
"""

from __future__ import annotations

from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value to write in a cell: text that could be read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_row(values) -> list:
    return [safe_cell(value) for value in values]
