"""The approved prices of medical facilities: price lists imported from CSV or Excel files, the price of an item on a
day, and every price of many facilities over a period as one frame (for the appraisal).

A price list is one file for one facility, imported all or nothing (:func:`import_price_list`). Each row is an item
(``kind``: service, drug, supply or bed; ``code``) with its price in whole dong, valid from ``valid_from`` to
``valid_to`` (inclusive; empty: open). A list imported later supersedes, from its own ``valid_from``, the earlier
prices of the same (facility, kind, code) whose period meets its own: the older item gets ``superseded_from`` (it is
in force until the day before) and stays in the history. The rule, stated once:

    On any day, the price of an item is that of the latest imported list whose item covers the day, unless a
    later list's item for the same (kind, code) overlapped it and began on or before the day (a later list
    replaces an older price from its own first day for good: the older price does not come back after the
    later one ends).

So the days an item is in force always form one period, ``valid_from`` … ``in_force_until`` (the earliest of
``valid_to`` and the day before ``superseded_from``), and at most one item of a (facility, kind, code) is in force on
any day. A file already imported for the facility is not imported again (by its SHA-256), even after later lists:
it is no new list and changes nothing (to bring back earlier prices, import them in a new file). Two imports of the
same facility take the facility's row lock first (``SELECT … FOR NO KEY UPDATE`` on
PostgreSQL; SQLite serialises writers itself), so each sees what the other recorded and never both win; the update
of ``superseded_from`` is guarded as well (it only ever moves earlier). A row identical to a price not superseded is
left alone (importing it again would change no day's price).

Who: a provincial officer (``claims.prices.manage``) of the office that contracts the facility, or above, imports;
agency staff of that subtree read; a facility user reads its own facility's prices only. Runs in the caller's
transaction; the caller commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Select, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Permission, Principal, ensure_in_scope, permission_denied, subtree_ids
from ansinh.bounds import EARLIEST_DATE, latest_date
from ansinh.bulk import bulk_insert, read_frame
from ansinh.cards.facilities import check_facility_code
from ansinh.cards.models import MedicalFacility
from ansinh.claims.prices.models import PriceItem, PriceList
from ansinh.db import allow_waiting
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.formatting import in_both_languages
from ansinh.i18n import N_
from ansinh.registry.imports import (
    MAX_REPORTED_ERRORS,
    ColumnSpec,
    ImportRowError,
    FileProblem,
    date_column,
    name_column,
    read_table,
    search_key_column,
    visible,
)
from ansinh.registry.templates_xlsx import report_workbook, template_workbook

#: The kinds of priced items, as the claim file has them: services (examinations, tests, procedures...) and beds in
#: XML3's MA_DICH_VU, supplies in its MA_VAT_TU, drugs (blood included) in XML2's MA_THUOC.
KINDS = ("service", "drug", "supply", "bed")
KIND_NAMES = {"service": N_("Service"), "drug": N_("Drug"), "supply": N_("Medical supply"), "bed": N_("Bed day")}
_KIND_WORDS = {"service": "service", "dich vu": "service", "dich vu ky thuat": "service", "dvkt": "service",
               "drug": "drug", "thuoc": "drug", "supply": "supply", "vat tu": "supply", "vat tu y te": "supply",
               "vtyt": "supply", "bed": "bed", "giuong": "bed", "ngay giuong": "bed"}
#: The highest unit price accepted: ten billion dong, above any approved price of one service, drug unit, supply or
#: bed day, and low enough that a price times a claim line's quantity (in thousandths) stays inside 64 bits.
MAX_PRICE = 10**10
MAX_CODE, MAX_NAME, MAX_UNIT, MAX_TENDER = 50, 1024, 50, 100
#: An item code: letters, digits and . _ / - (the Ministry's codes: ``02.1896``, ``01.0001.1778_GT``, ``40.17``,
#: ``N03.01.010``, ``K21.1930``), without spaces.
CODE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._/\-]*$"
#: How long an import waits for another import of the same facility (PostgreSQL ``lock_timeout``).
IMPORT_LOCK_WAIT_MS = 60_000
LOOKUP_CHUNK = 5_000

COLUMNS = [
    ColumnSpec("kind", True, "service, drug, supply or bed (dịch vụ, thuốc, vật tư, giường).",
               "service, drug, supply hoặc bed (dịch vụ, thuốc, vật tư, giường).", "service"),
    ColumnSpec("code", True, "The item's code in the Ministry's catalogue (the MA_DICH_VU, MA_THUOC or MA_VAT_TU the "
               "claim files carry), at most 50 characters without spaces.",
               "Mã của mục trong danh mục của Bộ Y tế (MA_DICH_VU, MA_THUOC hoặc MA_VAT_TU trong hồ sơ đề nghị "
               "thanh toán), tối đa 50 ký tự, không có dấu cách.", "02.1896"),
    ColumnSpec("name", True, "The item's name, at most 1,024 characters.", "Tên của mục, tối đa 1.024 ký tự.",
               "Khám Nội"),
    ColumnSpec("unit", False, "The unit the price is for (lần, ngày, viên, cái...), at most 50 characters.",
               "Đơn vị tính của giá (lần, ngày, viên, cái...), tối đa 50 ký tự.", "lần"),
    ColumnSpec("price", True, "The approved price in whole dong, from 1 to 10,000,000,000 (thousands may be "
               "grouped with . , or spaces).", "Giá được phê duyệt, số đồng nguyên, từ 1 đến 10.000.000.000 (có thể "
               "phân cách hàng nghìn bằng . , hoặc dấu cách).", "42100"),
    ColumnSpec("valid_from", True, "The first day of the price: YYYY-MM-DD or DD/MM/YYYY (or an Excel date).",
               "Ngày đầu áp dụng giá: YYYY-MM-DD hoặc DD/MM/YYYY (hoặc ô ngày của Excel).", "2026-01-01"),
    ColumnSpec("valid_to", False, "The last day of the price, if it has one (empty: until a later list replaces it).",
               "Ngày cuối áp dụng giá, nếu có (để trống: đến khi có bảng giá sau thay thế).", ""),
    ColumnSpec("tender", False, "The tender of a drug or supply (decision;package;group;year), at most 100 "
               "characters.", "Thông tin thầu của thuốc, vật tư (quyết định;gói thầu;nhóm thầu;năm), tối đa 100 "
               "ký tự.", ""),
]
REQUIRED = tuple(spec.name for spec in COLUMNS if spec.required)

#: Why a row is refused (English msgids, translated into both languages in the report).
REASONS = {
    "required": N_("A value is required."),
    "kind": N_("The kind is service, drug, supply or bed (dịch vụ, thuốc, vật tư or giường)."),
    "too_long": N_("At most {n} characters."),
    "code": N_("A code has letters, digits and . _ / - only, without spaces."),
    "price": N_("Write a whole number of dong (digits, thousands may be grouped)."),
    "price_range": N_("The price is from 1 to {limit} dong."),
    "date": N_("Not a date: write YYYY-MM-DD or DD/MM/YYYY."),
    "date_range": N_("The date is between {first} and {last}."),
    "before_start": N_("The last day is before the first day."),
    "overlap": N_("Row {row} of this file gives the same item for an overlapping period."),
}


# --- the report -----------------------------------------------------------------------------------------

@dataclass
class PriceImportReport:
    """What an import did: ``applied`` (a new list recorded), ``unchanged`` (the same file, or nothing new: no list
    recorded), or ``rejected`` (nothing written; ``errors`` name the row and column, header = row 1)."""

    file_name: str
    sha256: str
    facility_code: str
    status: str
    rows: int = 0
    created: int = 0  # items recorded
    unchanged: int = 0  # rows identical to a price in force and not superseded
    superseded: int = 0  # earlier items this list superseded (from its first day)
    list_id: int | None = None
    same_file_as: int | None = None  # the list this file was already imported as
    errors: list[ImportRowError] = field(default_factory=list)
    error_count: int = 0

    def to_json(self) -> dict:
        return {"kind": "price_list", "file_name": self.file_name, "sha256": self.sha256,
                "facility_code": self.facility_code, "status": self.status, "rows": self.rows,
                "created": self.created, "unchanged": self.unchanged, "superseded": self.superseded,
                "list_id": self.list_id, "same_file_as": self.same_file_as,
                "error_count": max(self.error_count, len(self.errors)), "errors": [asdict(e) for e in self.errors]}

    def error_lines(self, language: str = "en") -> list[str]:
        """Each error as ``FILE, row N, column: reason``."""
        return [f"{self.file_name}, {'row' if language == 'en' else 'dòng'} {e.row}, {e.column}: "
                f"{e.reason_en if language == 'en' else e.reason_vi}" for e in self.errors]

    def to_xlsx(self) -> bytes:
        summary = [("facility", self.facility_code), ("file", self.file_name), ("sha256", self.sha256),
                   ("status", self.status), ("rows", self.rows), ("created", self.created),
                   ("unchanged", self.unchanged), ("superseded", self.superseded),
                   ("errors", max(self.error_count, len(self.errors)))]
        return report_workbook(summary, self.file_name, self.errors)


def template_xlsx() -> bytes:
    """The template of a price list: the columns, an example row, and the layout in both languages."""
    return template_workbook("claims prices", COLUMNS)


def _both(template: str, **params: Any) -> tuple[str, str]:
    return in_both_languages(template, **params)


def _error(number: int, column: str, value: Any, key: str, **params: Any) -> ImportRowError:
    return ImportRowError(number, column, visible("" if value is None else str(value)), *_both(REASONS[key], **params))


# --- who may do what ------------------------------------------------------------------------------------

def get_facility(session: Session, code: str, *, field: str = "facility") -> MedicalFacility:
    facility = session.scalar(select(MedicalFacility).where(MedicalFacility.code == check_facility_code(code, field)))
    if facility is None:
        raise NotFound("Facility {code} is not registered.", code=code)
    return facility


def ensure_may_read(session: Session, principal: Principal | None, facility: MedicalFacility) -> None:
    """Agency staff read the prices of the facilities of their subtree; a facility user those of its own facility;
    anyone else is refused (403). ``principal`` None: a command, the whole country."""
    if principal is None:
        return
    if not principal.has(Permission.claims_prices_read):
        raise permission_denied(Permission.claims_prices_read)
    if principal.is_agency_staff:
        ensure_in_scope(principal, session.get(OrgUnit, facility.org_unit_id))
        return
    if Role.facility in principal.roles and principal.subject_ref == facility.code:
        return
    raise PermissionDenied("These are the prices of another facility.")


def ensure_may_import(session: Session, principal: Principal | None, facility: MedicalFacility) -> None:
    """Officers of the office that contracts the facility (or of an office above it) import its price lists."""
    if principal is None:
        return
    if not principal.has(Permission.claims_prices_manage):
        raise permission_denied(Permission.claims_prices_manage)
    ensure_in_scope(principal, session.get(OrgUnit, facility.org_unit_id))


def readable_facility(session: Session, principal: Principal | None, code: str) -> MedicalFacility:
    """The facility named, if the caller may read its prices (404 for an unknown code, 403 for another's)."""
    facility = get_facility(session, code)
    ensure_may_read(session, principal, facility)
    return facility


def facilities_in_scope(principal: Principal | None) -> Select:
    """The facilities whose prices the caller may read, as a ``select`` of MedicalFacility."""
    stmt = select(MedicalFacility)
    if principal is None:
        return stmt
    if principal.is_agency_staff:
        return stmt.where(MedicalFacility.org_unit_id.in_(subtree_ids(principal)))
    return stmt.where(MedicalFacility.code == (principal.subject_ref or "-"))


# --- reading a file ---------------------------------------------------------------------------------------

def _check_header(frame: pl.DataFrame) -> pl.DataFrame:
    known = {spec.name for spec in COLUMNS}
    errors = [ImportRowError(1, name, name, *_both(N_("The required column {column} is missing."), column=name))
              for name in REQUIRED if name not in frame.columns]
    errors += [ImportRowError(1, visible(name), visible(name), *_both(
        N_("{column} is not a column of a price list (see the template)."), column=visible(name)))
        for name in frame.columns if name not in known]
    if errors:
        raise FileProblem(errors)
    missing = [spec.name for spec in COLUMNS if spec.name not in frame.columns]
    if missing:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name) for name in missing)
    return frame.select([spec.name for spec in COLUMNS]).with_columns(
        _row=pl.int_range(2, frame.height + 2, dtype=pl.Int64))


def _parsed(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        _kind=search_key_column(pl.col("kind")).replace_strict(_KIND_WORDS, default=None, return_dtype=pl.String),
        _name=name_column(pl.col("name")),
        _unit=name_column(pl.col("unit")),
        _tender=name_column(pl.col("tender")),
        _price=price_column(pl.col("price")),
        _from=date_column(pl.col("valid_from")),
        _to=date_column(pl.col("valid_to")),
    )


def price_column(expr: pl.Expr) -> pl.Expr:
    """Whole dong: digits, thousands grouped by ``.``, ``,`` or spaces (``245.000`` is 245,000 dong, as Vietnamese
    lists write it), or a number Excel gives with zero decimals (``42100.0``)."""
    text = expr.str.strip_chars()
    grouped = text.str.contains(r"^\d{1,3}([., ]\d{3})+$").fill_null(False)
    excel = text.str.contains(r"^\d+\.0+$").fill_null(False)
    digits = pl.when(grouped).then(text.str.replace_all(r"[., ]", "")) \
        .when(excel).then(text.str.replace(r"\.0+$", "")).otherwise(text)
    return pl.when(digits.str.contains(r"^\d{1,15}$")).then(digits.cast(pl.Int64, strict=False))


def _row_errors(frame: pl.DataFrame, today: date) -> list[ImportRowError]:
    """Every problem of the rows alone, at most one per (row, column): the first check that fails."""
    first, last = EARLIEST_DATE, latest_date(today)
    checks: list[tuple[str, pl.Expr, str, dict]] = [
        ("kind", pl.col("kind").is_null(), "required", {}),
        ("kind", pl.col("_kind").is_null(), "kind", {}),
        ("code", pl.col("code").is_null(), "required", {}),
        ("code", pl.col("code").str.len_chars() > MAX_CODE, "too_long", {"n": MAX_CODE}),
        ("code", ~pl.col("code").str.contains(CODE_PATTERN), "code", {}),
        ("name", pl.col("_name").is_null() | (pl.col("_name") == ""), "required", {}),
        ("name", pl.col("_name").str.len_chars() > MAX_NAME, "too_long", {"n": MAX_NAME}),
        ("unit", pl.col("_unit").str.len_chars() > MAX_UNIT, "too_long", {"n": MAX_UNIT}),
        ("price", pl.col("price").is_null(), "required", {}),
        ("price", pl.col("_price").is_null(), "price", {}),
        ("price", (pl.col("_price") < 1) | (pl.col("_price") > MAX_PRICE), "price_range", {"limit": MAX_PRICE}),
        ("valid_from", pl.col("valid_from").is_null(), "required", {}),
        ("valid_from", pl.col("_from").is_null(), "date", {}),
        ("valid_from", (pl.col("_from") < first) | (pl.col("_from") > last), "date_range",
         {"first": first, "last": last}),
        ("valid_to", pl.col("valid_to").is_not_null() & pl.col("_to").is_null(), "date", {}),
        ("valid_to", (pl.col("_to") < first) | (pl.col("_to") > last), "date_range", {"first": first, "last": last}),
        ("valid_to", pl.col("_to") < pl.col("_from"), "before_start", {}),
        ("tender", pl.col("_tender").str.len_chars() > MAX_TENDER, "too_long", {"n": MAX_TENDER}),
    ]
    flagged = frame.select(
        "_row", *[c for c in ("kind", "code", "name", "unit", "price", "valid_from", "valid_to", "tender")],
        *[check[1].fill_null(False).alias(f"_c{index}") for index, check in enumerate(checks)])
    problems = flagged.filter(pl.any_horizontal(pl.col(r"^_c\d+$")))
    errors: list[ImportRowError] = []
    order = {spec.name: index for index, spec in enumerate(COLUMNS)}
    for row in problems.iter_rows(named=True):
        seen: set[str] = set()
        for index, (column, _bad, key, params) in enumerate(checks):
            if row[f"_c{index}"] and column not in seen:
                seen.add(column)
                errors.append(_error(row["_row"], column, row[column], key, **params))
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    return sorted(errors, key=lambda e: (e.row, order.get(e.column, 99)))


def _overlaps(frame: pl.DataFrame) -> list[ImportRowError]:
    """Rows giving the same (kind, code) for periods that meet: the later row (by first day, then row) is wrong."""
    good = frame.filter(pl.col("_kind").is_not_null() & pl.col("code").is_not_null() & pl.col("_from").is_not_null())
    repeated = good.filter(pl.len().over("_kind", "code") > 1).sort("_kind", "code", "_from", "_row")
    errors = []
    earlier: dict[tuple[str, str], list[tuple[date, date, int]]] = {}
    for row in repeated.iter_rows(named=True):
        start, end = row["_from"], row["_to"] or date.max
        periods = earlier.setdefault((row["_kind"], row["code"]), [])
        hit = next((number for first, last, number in periods if first <= end and start <= last), None)
        if hit is not None:
            errors.append(_error(row["_row"], "valid_from", row["valid_from"], "overlap", row=hit))
        else:
            periods.append((start, end, row["_row"]))
    return errors


# --- the import -------------------------------------------------------------------------------------------

def lock_facility(session: Session, facility_code: str) -> MedicalFacility:
    """Take the facility's row lock for the rest of the transaction (``FOR NO KEY UPDATE``: its contracts and
    classifications may still be written meanwhile): the imports of one facility's prices queue behind each other."""
    facility = session.scalar(select(MedicalFacility).where(MedicalFacility.code == facility_code)
                              .with_for_update(key_share=True).execution_options(populate_existing=True))
    if facility is None:
        raise NotFound("Facility {code} is not registered.", code=facility_code)
    return facility


def import_price_list(session: Session, *, content: bytes, file_name: str, facility_code: str,
                      principal: Principal | None = None, actor: str | None = None,
                      today: date | None = None) -> PriceImportReport:
    """Check a whole price list of a facility, then record it (status ``applied``), or write nothing and return
    every problem (``rejected``), or do nothing when the same file was already imported for the facility, or when
    every row is already recorded as it is (``unchanged``). Raises only for an unknown facility (404) or a caller
    who may not import its prices (403). ``principal`` None: a command, the whole country (``actor`` names who)."""
    from ansinh import clock

    today = today or clock.today()
    file_name = (file_name or "upload").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200] or "upload"
    facility = get_facility(session, facility_code)
    ensure_may_import(session, principal, facility)
    sha256 = hashlib.sha256(content).hexdigest()
    report = PriceImportReport(file_name=file_name, sha256=sha256, facility_code=facility.code, status="rejected")

    def rejected(errors: list[ImportRowError]) -> PriceImportReport:
        report.errors, report.error_count = errors[:MAX_REPORTED_ERRORS], len(errors)
        report.status = "rejected"
        return report

    try:
        frame = _check_header(read_table(content, file_name))
    except FileProblem as problem:
        return rejected(problem.errors)
    if frame.height == 0:
        return rejected([ImportRowError(1, "", "", *_both(N_("The file has no data rows.")))])
    report.rows = frame.height
    frame = _parsed(frame)
    errors = _row_errors(frame, today)
    if not errors:
        errors = _overlaps(frame)
    if errors:
        return rejected(errors)

    # against the database, under the facility's lock: what another import recorded meanwhile is seen
    allow_waiting(session, lock_timeout_ms=IMPORT_LOCK_WAIT_MS)
    facility = lock_facility(session, facility.code)
    previous = session.scalar(select(PriceList.id).where(PriceList.facility_code == facility.code,
                                                         PriceList.sha256 == sha256).order_by(PriceList.id).limit(1))
    if previous is not None:
        report.status, report.same_file_as, report.unchanged = "unchanged", previous, frame.height
        return report
    items = frame.select(pl.col("_kind").alias("kind"), "code", pl.col("_name").alias("name"),
                         pl.col("_unit").alias("unit"), pl.col("_price").alias("price"),
                         pl.col("_tender").alias("tender"), pl.col("_from").alias("valid_from"),
                         pl.col("_to").alias("valid_to"))
    existing = _items_of(session, facility.code, items.select("kind", "code").unique())
    same = _unchanged(items, existing)
    new = items.filter(~same)
    report.unchanged = frame.height - new.height
    if new.is_empty():
        report.status = "unchanged"
        return report
    username = principal.username if principal is not None else (actor or "system")
    price_list = PriceList(facility_code=facility.code, org_unit_id=facility.org_unit_id, file_name=file_name,
                           sha256=sha256, items=new.height, imported_by=username[:64])
    session.add(price_list)
    session.flush()
    cuts = _supersessions(new, existing)
    bulk_insert(session, PriceItem.__table__, new.with_columns(
        list_id=pl.lit(price_list.id, dtype=pl.Int64), facility_code=pl.lit(facility.code),
        superseded_from=pl.lit(None, dtype=pl.Date)))
    report.superseded = _supersede(session, cuts)
    report.status, report.list_id, report.created = "applied", price_list.id, new.height
    record_event(session, "import", "price_list", price_list.id, org_unit_id=facility.org_unit_id,
                 details={"facility_code": facility.code, "file_name": file_name, "sha256": sha256,
                          "rows": report.rows, "created": report.created, "unchanged": report.unchanged,
                          "superseded": report.superseded})
    return report


_EXISTING_SCHEMA = {"id": pl.Int64, "kind": pl.String, "code": pl.String, "name": pl.String, "unit": pl.String,
                    "price": pl.Int64, "tender": pl.String, "valid_from": pl.Date, "valid_to": pl.Date,
                    "superseded_from": pl.Date}


def _items_of(session: Session, facility_code: str, keys: pl.DataFrame) -> pl.DataFrame:
    """The facility's items of these (kind, code) that are in force on some day (the others can change nothing)."""
    stmt = select(PriceItem.id, PriceItem.kind, PriceItem.code, PriceItem.name, PriceItem.unit, PriceItem.price,
                  PriceItem.tender, PriceItem.valid_from, PriceItem.valid_to, PriceItem.superseded_from).where(
        PriceItem.facility_code == facility_code,
        or_(PriceItem.superseded_from.is_(None), PriceItem.superseded_from > PriceItem.valid_from))
    codes = keys["code"].unique().to_list()
    rows = []
    for start in range(0, len(codes), LOOKUP_CHUNK):
        rows += session.execute(stmt.where(PriceItem.code.in_(codes[start:start + LOOKUP_CHUNK]))).all()
    existing = pl.DataFrame(rows, schema=_EXISTING_SCHEMA, orient="row")
    return existing.join(keys, on=["kind", "code"], how="semi")


_SAME = ["kind", "code", "name", "unit", "price", "tender", "valid_from", "valid_to"]


def _unchanged(items: pl.DataFrame, existing: pl.DataFrame) -> pl.Series:
    """Rows identical to an item not superseded (importing them again would change no day's price)."""
    current = existing.filter(pl.col("superseded_from").is_null()).select(_SAME).unique()
    marked = items.with_row_index("_i").join(current.with_columns(_same=pl.lit(True)), on=_SAME, how="left",
                                             nulls_equal=True)
    return marked.sort("_i")["_same"].fill_null(False).alias("unchanged")


def _supersessions(new: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    """(id, superseded_from) of the existing items whose days in force meet a new item's period: each is superseded
    from the first day of the earliest such new item."""
    if existing.is_empty():
        return pl.DataFrame(schema={"id": pl.Int64, "superseded_from": pl.Date})
    in_force = existing.with_columns(
        _end=pl.min_horizontal(pl.col("valid_to"), pl.col("superseded_from").dt.offset_by("-1d")))
    pairs = in_force.join(new.select("kind", "code", pl.col("valid_from").alias("_nf"),
                                     pl.col("valid_to").alias("_nt")), on=["kind", "code"])
    meets = pairs.filter(
        (pl.col("_nt").is_null() | (pl.col("valid_from") <= pl.col("_nt")))
        & (pl.col("_end").is_null() | (pl.col("_end") >= pl.col("_nf"))))
    return meets.group_by("id").agg(pl.col("_nf").min().alias("superseded_from")).sort("id")


def _supersede(session: Session, cuts: pl.DataFrame) -> int:
    """Set ``superseded_from`` on the items (guarded: only ever earlier than it was). Returns the items changed."""
    if cuts.is_empty():
        return 0
    table = PriceItem.__table__
    statement = update(table).where(
        table.c.id == bindparam("b_id"),
        or_(table.c.superseded_from.is_(None), table.c.superseded_from > bindparam("b_day"))
    ).values(superseded_from=bindparam("b_day"))
    params = [{"b_id": item_id, "b_day": day} for item_id, day in cuts.iter_rows()]
    result = session.execute(statement, params)
    for obj in list(session.identity_map.values()):  # the rows changed under the ORM: no stale item may answer
        if isinstance(obj, PriceItem):
            session.expire(obj)
    return result.rowcount if isinstance(result.rowcount, int) and result.rowcount >= 0 else len(params)


# --- reading prices ---------------------------------------------------------------------------------------

def in_force_on(on: date):
    """The condition "the item is in force on this day"."""
    return and_(PriceItem.valid_from <= on, or_(PriceItem.valid_to.is_(None), PriceItem.valid_to >= on),
                or_(PriceItem.superseded_from.is_(None), PriceItem.superseded_from > on))


def price_on(session: Session, facility_code: str, kind: str, code: str, on: date) -> PriceItem | None:
    """The item of the facility's price lists in force on the day (at most one), or None."""
    return session.scalar(select(PriceItem).where(
        PriceItem.facility_code == facility_code, PriceItem.kind == kind, PriceItem.code == code, in_force_on(on))
        .order_by(PriceItem.valid_from.desc(), PriceItem.id.desc()).limit(1))


def in_force_until(item: PriceItem) -> date | None:
    """The last day the item is in force (None: open), considering ``valid_to`` and ``superseded_from``; before
    ``valid_from`` when it never was."""
    ends = [d for d in (item.valid_to, item.superseded_from - timedelta(days=1) if item.superseded_from else None)
            if d is not None]
    return min(ends) if ends else None


#: The columns of :func:`prices_for`, in order.
PRICES_SCHEMA = {"facility_code": pl.String, "kind": pl.String, "code": pl.String, "price": pl.Int64,
                 "valid_from": pl.Date, "in_force_until": pl.Date, "item_id": pl.Int64, "tender": pl.String}


def prices_for(session: Session, facility_codes: Iterable[str] | pl.Series, since: date, until: date
               ) -> pl.DataFrame:
    """Every price of these facilities in force on some day from ``since`` to ``until`` (inclusive), one row per
    item: ``facility_code``, ``kind``, ``code``, ``price`` (dong), ``valid_from``, ``in_force_until`` (the last day
    in force, considering ``valid_to`` and ``superseded_from``; null: open), ``item_id`` (PriceItem.id),
    ``tender``. The periods of one (facility, kind, code) never overlap, so a claim line joined on (facility, kind,
    code) with its day between ``valid_from`` and ``in_force_until`` (null: no end) finds at most one price (see
    :func:`approved_prices`). Set-based: one query per 5,000 facilities."""
    codes = sorted({str(code) for code in (facility_codes.to_list() if isinstance(facility_codes, pl.Series)
                                           else facility_codes) if code is not None})
    if not codes or until < since:
        return pl.DataFrame(schema=PRICES_SCHEMA)
    stmt = select(PriceItem.facility_code, PriceItem.kind, PriceItem.code, PriceItem.price, PriceItem.valid_from,
                  PriceItem.valid_to, PriceItem.superseded_from, PriceItem.id, PriceItem.tender).where(
        PriceItem.valid_from <= until, or_(PriceItem.valid_to.is_(None), PriceItem.valid_to >= since),
        or_(PriceItem.superseded_from.is_(None),
            and_(PriceItem.superseded_from > since, PriceItem.superseded_from > PriceItem.valid_from)))
    schema = {"facility_code": pl.String, "kind": pl.String, "code": pl.String, "price": pl.Int64,
              "valid_from": pl.Date, "valid_to": pl.Date, "superseded_from": pl.Date, "item_id": pl.Int64,
              "tender": pl.String}
    frame = pl.concat([read_frame(session, stmt.where(PriceItem.facility_code.in_(codes[start:start + LOOKUP_CHUNK])),
                                  schema) for start in range(0, len(codes), LOOKUP_CHUNK)])
    frame = frame.with_columns(in_force_until=pl.min_horizontal(
        pl.col("valid_to"), pl.col("superseded_from").dt.offset_by("-1d")))
    return frame.select(list(PRICES_SCHEMA)).sort("facility_code", "kind", "code", "valid_from")


def approved_prices(lines: pl.DataFrame, prices: pl.DataFrame, *, day: str = "day",
                    keys: Sequence[str] = ("facility_code", "kind", "code")) -> pl.DataFrame:
    """``lines`` with the approved price of each on its ``day`` (a Date column): ``approved_price`` and
    ``price_item_id``, null where the facility had no price of the item that day. ``prices`` is a frame of
    :func:`prices_for` over a period covering the lines' days. The lines keep their order and count."""
    keys = list(keys)
    indexed = lines.with_row_index("_line")
    candidates = indexed.select("_line", *keys, day).join(
        prices.select(*keys, "valid_from", "in_force_until", "price", "item_id"), on=keys, how="inner")
    found = candidates.filter((pl.col("valid_from") <= pl.col(day))
                              & (pl.col("in_force_until").is_null() | (pl.col("in_force_until") >= pl.col(day))))
    found = found.group_by("_line").agg(pl.col("price").first().alias("approved_price"),
                                        pl.col("item_id").first().alias("price_item_id"))
    return indexed.join(found, on="_line", how="left").sort("_line").drop("_line")


def prices_in_force(facility_code: str, on: date, *, kind: str | None = None, text: str | None = None) -> Select:
    """The facility's items in force on a day, as a ``select`` of PriceItem (the list page, the API, the export):
    of one kind, and whose code starts with ``text`` or whose name contains it (case and accents ignored)."""
    from ansinh.cards.facilities import _escape, folded
    from ansinh.registry.identifiers import search_key

    stmt = select(PriceItem).where(PriceItem.facility_code == facility_code, in_force_on(on))
    if kind:
        stmt = stmt.where(PriceItem.kind == kind)
    words = " ".join((text or "").split())
    if words:
        stmt = stmt.where(or_(PriceItem.code.startswith(words, autoescape=True),
                              folded(PriceItem.name).like(f"%{_escape(search_key(words))}%", escape="\\")))
    return stmt


def price_history(session: Session, facility_code: str, *, kind: str | None = None, code: str | None = None,
                  limit: int = 1_000) -> list[PriceItem]:
    """Every item of the facility (of one kind, of one code), superseded ones included, by code then first day."""
    stmt = select(PriceItem).where(PriceItem.facility_code == facility_code)
    if kind:
        stmt = stmt.where(PriceItem.kind == kind)
    if code:
        stmt = stmt.where(PriceItem.code == code)
    return list(session.scalars(stmt.order_by(PriceItem.kind, PriceItem.code, PriceItem.valid_from, PriceItem.id)
                                .limit(limit)))


def price_lists(session: Session, facility_code: str, *, limit: int = 100) -> list[PriceList]:
    """The lists imported for the facility, newest first."""
    return list(session.scalars(select(PriceList).where(PriceList.facility_code == facility_code)
                                .order_by(PriceList.id.desc()).limit(limit)))


def check_kind(kind: str | None, field: str = "kind") -> str | None:
    """A kind typed by a reader (service, drug, supply, bed; or its Vietnamese word), or None when empty."""
    if not kind or not kind.strip():
        return None
    from ansinh.registry.identifiers import search_key

    value = _KIND_WORDS.get(search_key(kind))
    if value is None:
        raise ValidationFailed(field, "The kind is service, drug, supply or bed (dịch vụ, thuốc, vật tư or giường).")
    return value


def item_json(item: PriceItem) -> dict:
    until = in_force_until(item)
    return {"id": item.id, "list_id": item.list_id, "facility_code": item.facility_code, "kind": item.kind,
            "code": item.code, "name": item.name, "unit": item.unit, "price": item.price, "tender": item.tender,
            "valid_from": item.valid_from.isoformat(),
            "valid_to": item.valid_to.isoformat() if item.valid_to else None,
            "superseded_from": item.superseded_from.isoformat() if item.superseded_from else None,
            "in_force_until": until.isoformat() if until else None}
