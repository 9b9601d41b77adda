"""Excel workbooks of the imports: the downloadable template of each kind (the documented columns, one example
row, and a sheet describing every column in Vietnamese and English) and the error report of an import.

Written with XlsxWriter in memory; every cell of a template is formatted as text so that Excel keeps the
leading zeros of citizen IDs, SI numbers and place codes."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter


def _workbook(buffer: io.BytesIO) -> xlsxwriter.Workbook:
    return xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})


def template_workbook(kind: str, columns: Sequence[Any],
                      extra_sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]] = ()) -> bytes:
    """A template: sheet ``data`` with the header and one example row, sheet ``columns`` with the layout, and any
    ``extra_sheets`` (name, rows; the first row bold), e.g. the codes a column takes."""
    buffer = io.BytesIO()
    book = _workbook(buffer)
    text = book.add_format({"num_format": "@"})
    header = book.add_format({"bold": True, "num_format": "@", "bg_color": "#DDEBF7", "border": 1})
    required = book.add_format({"bold": True, "num_format": "@", "bg_color": "#FCE4D6", "border": 1})
    data = book.add_worksheet("data")
    for index, column in enumerate(columns):
        data.set_column(index, index, max(14, len(column.name) + 4), text)
        data.write_string(0, index, column.name, required if column.required else header)
        data.write_string(1, index, column.example, text)
    data.freeze_panes(1, 0)
    layout = book.add_worksheet("columns")
    bold = book.add_format({"bold": True})
    for index, title in enumerate(("column / cột", "required / bắt buộc", "description", "mô tả", "example / ví dụ")):
        layout.write_string(0, index, title, bold)
    for row, column in enumerate(columns, start=1):
        layout.write_row(row, 0, [column.name, "yes / có" if column.required else "no / không",
                                  column.description_en, column.description_vi, column.example])
    layout.set_column(0, 0, 24)
    layout.set_column(1, 1, 18)
    layout.set_column(2, 3, 70)
    layout.set_column(4, 4, 20)
    layout.write_string(len(columns) + 2, 0, f"ansinh import {kind}: CSV (UTF-8, comma or semicolon) or .xlsx; "
                                             "the first sheet is read, the first row is the header.")
    for name, rows in extra_sheets:
        sheet = book.add_worksheet(name)
        for number, values in enumerate(rows):
            sheet.write_row(number, 0, [str(v) for v in values], bold if number == 0 else None)
        sheet.set_column(0, 0, 36)
        sheet.set_column(1, 2, 50)
    book.close()
    return buffer.getvalue()


REPORT_HEADER = ("file", "row", "column", "value", "reason (Vietnamese)", "reason (English)")


def report_workbook(summary: Iterable[tuple[str, Any]], file_name: str, errors: Iterable[Any]) -> bytes:
    """The report of an import: sheet ``errors`` (file, row, column, value, reason in both languages) and sheet
    ``summary``."""
    buffer = io.BytesIO()
    book = _workbook(buffer)
    bold = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    sheet = book.add_worksheet("errors")
    sheet.write_row(0, 0, REPORT_HEADER, bold)
    for row, error in enumerate(errors, start=1):
        sheet.write_string(row, 0, file_name)
        sheet.write_number(row, 1, error.row)
        sheet.write_string(row, 2, error.column)
        sheet.write_string(row, 3, error.value)
        sheet.write_string(row, 4, error.reason_vi)
        sheet.write_string(row, 5, error.reason_en)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 8)
    sheet.set_column(2, 3, 20)
    sheet.set_column(4, 5, 70)
    sheet.freeze_panes(1, 0)
    info = book.add_worksheet("summary")
    for row, (key, value) in enumerate(summary):
        info.write_string(row, 0, key)
        if isinstance(value, bool) or value is None:
            info.write_string(row, 1, "" if value is None else str(value).lower())
        elif isinstance(value, int):
            info.write_number(row, 1, value)
        else:
            info.write_string(row, 1, str(value))
    info.set_column(0, 1, 30)
    book.close()
    return buffer.getvalue()
