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
export is written a thousand rows at a time into a zipped SpreadsheetML file (``write_xlsx``, below), then sent in
chunks: a million rows take the memory of a thousand. A deep page (``DEFERRED_OFFSET`` rows skipped or more) reads
its keys first, from the sort's index, then its rows.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ansinh.errors import ValidationFailed
from ansinh.formatting import in_vietnam
from ansinh.spreadsheets import safe_cell

PAGE_SIZES = (25, 50, 100, 200)
#: Rows counted before a list says "more than …" (a count over a million rows costs more than the page itself);
#: ``?count=all`` counts them all.
COUNT_CAP = 10_000
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 1_000_000
#: From this many rows skipped, a page is read by its keys first (see ``_deferred``).
DEFERRED_OFFSET = 1_000
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
    #: Whether ``total`` is the exact number of rows (else: more than ``total`` rows match, see COUNT_CAP).
    exact: bool = True
    #: The reader asked for the exact count (``?count=all``).
    count_all: bool = False
    #: Whether a page follows this one (known also when the total is not).
    has_next: bool = False
    #: The filters select few rows (a name search): sort the rows found rather than walk the sort's index looking
    #: for them (the planner cannot know that "nguyen van" sits at the end of the alphabet).
    selective: bool = False

    def query(self, **overrides: Any) -> str:
        """The address query of this list with some values changed (empty values are left out)."""
        values: dict[str, Any] = {**self.filters, "sort": self.sort, "dir": "desc" if self.descending else "asc",
                                  "page": self.page, "size": self.size, "count": "all" if self.count_all else ""}
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
        """The number of pages (when the total is not exact: the pages known so far)."""
        known = max(1, (self.total + self.size - 1) // self.size)
        return known if self.exact else max(known, self.page + (1 if self.has_next else 0))

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return self.page * self.size if not self.exact else min(self.total, self.page * self.size)

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
    return Listing(columns=columns, sort=sort, descending=descending, page=page, size=size, filters=clean,
                   count_all=params.get("count") == "all")


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
    expression = func.coalesce(column.sort, column.sort) if listing.selective else column.sort
    order = expression.desc() if listing.descending else expression.asc()
    return stmt.order_by(order, *tiebreak)


def count_rows(session: Session, stmt: Select) -> int:
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def count_capped(session: Session, stmt: Select, cap: int = COUNT_CAP) -> int:
    """The number of rows of the ``select``, counting no further than ``cap + 1``."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).limit(cap + 1).subquery())) or 0


def fetch_page(session: Session, stmt: Select, listing: Listing, *tiebreak: Any, scalars: bool = False) -> list:
    """One page of the sorted ``select``. Sets ``listing.total``: the number of rows of all pages, exact up to
    :data:`COUNT_CAP` (or when the reader asked ``?count=all``), else the cap with ``listing.exact`` false."""
    counted = count_capped(session, stmt)
    if counted <= COUNT_CAP:
        listing.total, listing.exact = counted, True
    elif listing.count_all:
        listing.total, listing.exact = count_rows(session, stmt), True
    else:
        listing.total, listing.exact = COUNT_CAP, False
    if listing.exact and listing.page > listing.pages:
        listing.page = listing.pages
    page = sorted_by(stmt, listing, *tiebreak).limit(listing.size + 1).offset(listing.offset)
    if listing.offset >= DEFERRED_OFFSET and tiebreak:
        page = _deferred(stmt, listing, tiebreak)
    rows = list(session.scalars(page).all() if scalars else session.execute(page).all())
    listing.has_next = len(rows) > listing.size
    return rows[:listing.size]


def _deferred(stmt: Select, listing: Listing, tiebreak: Sequence[Any]) -> Select:
    """A deep page read in two steps: the keys of the page first (only the sort and the key are read for the rows
    skipped, from an index that holds them), then the page's rows by their keys. The first tie-breaker is the rows'
    unique key (an id, possibly descending)."""
    key = getattr(tiebreak[0], "element", tiebreak[0])  # Bill.id.desc() → Bill.id
    keys = sorted_by(stmt.with_only_columns(key), listing, *tiebreak).limit(listing.size + 1).offset(listing.offset)
    return sorted_by(stmt.where(key.in_(keys)), listing, *tiebreak).limit(listing.size + 1)


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
#
# The sheet is written as SpreadsheetML straight into a deflated zip entry, a thousand rows at a time: text as
# inline strings, numbers as numbers (grouped by a cell style), dates and times as Excel serials with a date
# format, the header bold and frozen. A general library (xlsxwriter) spends most of an export's time in its
# per-cell calls; this writer does one string formatting per cell, in constant memory.

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_NS}">'
        '<numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
        '<numFmt numFmtId="165" formatCode="dd/mm/yyyy hh:mm:ss"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
}
_BOLD, _DAY, _MOMENT, _NUMBER = 1, 2, 3, 4
_EPOCH = date(1899, 12, 30)
#: XML escapes, and the control characters XML 1.0 cannot carry (dropped).
_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;",
            **{c: None for c in range(32) if c not in (9, 10, 13)}}


def _column_letters(count: int) -> list[str]:
    letters = []
    for index in range(count):
        name, n = "", index + 1
        while n:
            n, rest = divmod(n - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


def _text_cell(ref: str, value: str, style: int = 0) -> str:
    text = str(safe_cell(value)).translate(_ESCAPES)
    styled = f' s="{style}"' if style else ""
    return f'<c r="{ref}" t="inlineStr"{styled}><is><t xml:space="preserve">{text}</t></is></c>'


def _cell(ref: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}" s="{_NUMBER}"><v>{value}</v></c>'
    if isinstance(value, datetime):
        local = in_vietnam(value).replace(tzinfo=None)
        serial = (local.date() - _EPOCH).days + (local.hour * 3600 + local.minute * 60 + local.second) / 86400
        return f'<c r="{ref}" s="{_MOMENT}"><v>{serial:.6f}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{_DAY}"><v>{(value - _EPOCH).days}</v></c>'
    return _text_cell(ref, str(value))


def write_xlsx(path: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet_name: str = "Sheet1",
               title: str | None = None, batch: int = 1_000) -> int:
    """Write the rows to an ``.xlsx`` file in constant memory; text cells are made safe from formula injection.
    Returns the number of data rows written."""
    import zipfile

    letters = _column_letters(len(headers))
    name = str(sheet_name)[:31].translate(_ESCAPES).replace('"', "&quot;") or "Sheet1"
    header_row = 3 if title else 1
    widths = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{max(10, min(40, len(h) + 4))}" customWidth="1"/>'
                     for i, h in enumerate(headers))
    written = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for part, xml in _PARTS.items():
            book.writestr(part, xml)
        book.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_NS}" xmlns:r="{_REL}">'
            f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}">'
                    f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{header_row}" '
                    f'topLeftCell="A{header_row + 1}" activePane="bottomLeft" state="frozen"/></sheetView>'
                    f'</sheetViews><cols>{widths}</cols><sheetData>']
            if title:
                head.append(f'<row r="1">{_text_cell("A1", title, _BOLD)}</row>')
            head.append(f'<row r="{header_row}">' + "".join(
                _text_cell(f"{letters[i]}{header_row}", h, _BOLD) for i, h in enumerate(headers)) + "</row>")
            sheet.write("".join(head).encode())
            number = header_row
            chunk: list[str] = []
            for values in rows:
                number += 1
                chunk.append(f'<row r="{number}">' + "".join(
                    _cell(f"{letters[i]}{number}", v) for i, v in enumerate(values)) + "</row>")
                written += 1
                if len(chunk) >= batch:
                    sheet.write("".join(chunk).encode())
                    chunk.clear()
            chunk.append("</sheetData></worksheet>")
            sheet.write("".join(chunk).encode())
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
