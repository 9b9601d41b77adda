"""Lists that serve an office: server-side sorting, filters, pagination with totals, and the Excel export of exactly
the filtered rows — one way for every list page.

A page declares its columns (which may be sorted, by which SQL expression) and reads its filters; the helpers
sort and page a ``select``, and stream the same ``select`` without its page to an ``.xlsx`` file::

    COLUMNS = (Column("name", N_("Full name"), Person.name_search), Column("born", N_("Date of birth"), ...))
    listing = read_listing(request, COLUMNS, default_sort="name", filters={"province": province})
    rows = fetch_page(session, stmt, listing, tiebreak=Person.id)
    ...
    return xlsx_response("people.xlsx", headers, (row_values(r) for r in stream_rows(session, stmt)))

The template draws the headers and the pager with the macros of ``lists.html`` (``sort_header``, ``pager``). The
export is written row by row in xlsxwriter's constant-memory mode to a temporary file, then sent in chunks: a
million rows take the memory of one row.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import xlsxwriter
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ansinh.errors import ValidationFailed
from ansinh.formatting import in_vietnam
from ansinh.spreadsheets import safe_cell

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 1_000_000
#: Rows fetched from the database at a time while exporting (a server-side cursor on PostgreSQL).
EXPORT_BATCH = 5_000
#: The most rows an export writes (Excel's own limit is 1,048,576 rows per sheet, one of them the header).
EXPORT_MAX_ROWS = 1_048_575


@dataclass(frozen=True)
class Column:
    """A column of a list: its key in the address (``?sort=key``), its heading (an English msgid), and the SQL
    expression it sorts by (``None``: not sortable)."""

    key: str
    label: str
    sort: Any = None
    numeric: bool = False


@dataclass
class Listing:
    """What the reader asked of a list: sort, direction, page, page size and filters (kept in every link)."""

    columns: Sequence[Column]
    sort: str
    descending: bool
    page: int
    size: int
    filters: dict[str, str] = field(default_factory=dict)
    total: int = 0

    def query(self, **overrides: Any) -> str:
        """The address query of this list with some values changed (empty values are left out)."""
        values: dict[str, Any] = {**self.filters, "sort": self.sort, "dir": "desc" if self.descending else "asc",
                                  "page": self.page, "size": self.size}
        values.update(overrides)
        if values.get("size") == DEFAULT_PAGE_SIZE:
            values.pop("size")
        if values.get("page") == 1:
            values.pop("page")
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})

    def filter_query(self) -> str:
        """Only the filters (and the sort): the address of the export of exactly these rows."""
        return urlencode({k: v for k, v in {**self.filters, "sort": self.sort,
                                            "dir": "desc" if self.descending else "asc"}.items() if v not in (None, "")})

    def sort_query(self, key: str) -> str:
        descending = not self.descending if key == self.sort else False
        return self.query(sort=key, dir="desc" if descending else "asc", page=1)

    @property
    def pages(self) -> int:
        return max(1, (self.total + self.size - 1) // self.size)

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def filtered(self) -> bool:
        return any(v not in (None, "") for v in self.filters.values())


def read_listing(request: Request, columns: Sequence[Column], *, default_sort: str, default_descending: bool = False,
                 filters: dict[str, Any] | None = None) -> Listing:
    """The sort, page and size of the request. An unknown sort falls back to the default; a page or a size out of
    range is refused (422 naming the field), as every query out of range is."""
    params = request.query_params
    sortable = {c.key for c in columns if c.sort is not None}
    sort = params.get("sort", default_sort)
    if sort not in sortable:
        sort = default_sort
    direction = params.get("dir")
    descending = default_descending if direction not in ("asc", "desc") or sort != params.get("sort") \
        else direction == "desc"
    page = _bounded_int(params.get("page"), 1, 1, MAX_PAGE, "page")
    size = _bounded_int(params.get("size"), DEFAULT_PAGE_SIZE, min(PAGE_SIZES), max(PAGE_SIZES), "size")
    clean = {k: ("" if v is None else str(v)) for k, v in (filters or {}).items()}
    return Listing(columns=columns, sort=sort, descending=descending, page=page, size=size, filters=clean)


def _bounded_int(text: str | None, default: int, low: int, high: int, field: str) -> int:
    if text in (None, ""):
        return default
    if not text.isdigit() or len(text) > 9 or not low <= int(text) <= high:
        raise ValidationFailed(field, "{value} is not a number from {low} to {high}.", value=text[:20], low=low,
                               high=high)
    return int(text)


def sorted_by(stmt: Select, listing: Listing, *tiebreak: Any) -> Select:
    """The ``select`` ordered by the chosen column (then the tie-breakers, so that pages never overlap)."""
    column = next(c for c in listing.columns if c.key == listing.sort)
    order = column.sort.desc() if listing.descending else column.sort.asc()
    return stmt.order_by(order, *tiebreak)


def count_rows(session: Session, stmt: Select) -> int:
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def fetch_page(session: Session, stmt: Select, listing: Listing, *tiebreak: Any, scalars: bool = False) -> list:
    """One page of the sorted ``select``; sets ``listing.total`` to the number of rows of all pages."""
    listing.total = count_rows(session, stmt)
    if listing.page > listing.pages:
        listing.page = listing.pages
    page = sorted_by(stmt, listing, *tiebreak).limit(listing.size).offset(listing.offset)
    return list(session.scalars(page).all() if scalars else session.execute(page).all())


def stream_rows(session: Session, stmt: Select, *, limit: int = EXPORT_MAX_ROWS) -> Iterator:
    """Every row of the ``select`` (up to ``limit``), fetched in batches through a server-side cursor."""
    result = session.execute(stmt.limit(limit).execution_options(stream_results=True, yield_per=EXPORT_BATCH))
    yield from result


def parse_filter_date(text: str, field: str) -> date | None:
    """A date filter typed by the reader (``YYYY-MM-DD`` from a date input, or ``DD/MM/YYYY``)."""
    text = (text or "").strip()
    if not text:
        return None
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    raise ValidationFailed(field, "{value} is not a date (use DD/MM/YYYY).", value=text)


# --- the Excel export -------------------------------------------------------------------------------------

def _write_value(sheet, row: int, col: int, value: Any, formats: dict) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, in_vietnam(value).replace(tzinfo=None), formats["moment"])
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), formats["day"])
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, formats["number"])
    else:
        sheet.write_string(row, col, str(safe_cell(str(value))))


def write_xlsx(path: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet_name: str = "Sheet1",
               title: str | None = None) -> int:
    """Write the rows to an ``.xlsx`` file in constant memory; text cells are made safe from formula injection.
    Returns the number of data rows written."""
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False,
                                      "strings_to_formulas": False, "strings_to_urls": False})
    formats = {"day": book.add_format({"num_format": "dd/mm/yyyy"}),
               "moment": book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"}),
               "number": book.add_format({"num_format": "#,##0"}),
               "bold": book.add_format({"bold": True})}
    sheet = book.add_worksheet(sheet_name[:31])
    row = 0
    if title:
        sheet.write_string(row, 0, str(safe_cell(title)), formats["bold"])
        row = 2
    for col, header in enumerate(headers):
        sheet.write_string(row, col, str(safe_cell(header)), formats["bold"])
        sheet.set_column(col, col, max(10, min(40, len(header) + 4)))
    sheet.freeze_panes(row + 1, 0)
    written = 0
    for values in rows:
        row += 1
        for col, value in enumerate(values):
            _write_value(sheet, row, col, value, formats)
        written += 1
    book.close()
    return written


def _chunks(path: str, size: int = 1 << 16) -> Iterator[bytes]:
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(size):
                yield chunk
    finally:
        os.unlink(path)


def xlsx_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                  sheet_name: str = "Sheet1", title: str | None = None) -> StreamingResponse:
    """The rows as an Excel file download. Called from a synchronous route (run on the thread pool, never on the
    event loop): the file is written to a temporary file in constant memory and streamed back in chunks."""
    handle, path = tempfile.mkstemp(prefix="ansinh-export-", suffix=".xlsx")
    os.close(handle)
    try:
        count = write_xlsx(path, headers, rows, sheet_name=sheet_name, title=title)
    except BaseException:
        os.unlink(path)
        raise
    return StreamingResponse(
        _chunks(path), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
                 "Content-Length": str(os.path.getsize(path)), "X-Row-Count": str(count)})
