"""Imports of CSV and Excel files: people, households, employers, declarations, an extract of the national
population database, and population figures per province and year.

One engine, one spec per kind. Every row is validated before anything is written; a file with errors writes no
data row and returns the report (file, row, column, value, reason in Vietnamese and English), as JSON and as an
Excel workbook. Only the attempt itself is kept (an ``import_batch`` row with status ``rejected``) for the
import page. The same file imported again (same kind and SHA-256) changes nothing, and rows already in the
registry with identical data (by natural key: citizen ID, tax code, (employer, person, kind, month)) are counted
as unchanged; a natural key already registered with different data is an error row (updates go through the
record's own page or API, where the change is audited field by field).

People and the population extract are validated on whole columns with Polars (a million rows in seconds) and
written with :func:`ansinh.bulk.bulk_insert` (COPY on PostgreSQL); the batch gets one audit event. Households,
employers, declarations and population figures are small files and go through the services row by row, still
all or nothing (declarations are applied inside a savepoint that is rolled back when any row fails).

Everything happens in the caller's transaction: the caller (request, CLI command) commits.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from ansinh import clock
from ansinh.audit.service import record_event
from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Principal, ensure_in_scope, org_scope
from ansinh.bounds import CONTROL_CHARACTERS, EARLIEST_DATE, MAX_AMOUNT, has_control_characters, latest_date
from ansinh.bulk import bulk_insert
from ansinh.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import gettext, use_locale
from ansinh.registry.identifiers import TAX_CODE_WEIGHTS, normalise_name, search_key
from ansinh.registry.models import (
    Employer,
    Household,
    ImportBatch,
    Person,
    Place,
    PlaceLevel,
    PlaceMapping,
    PopulationFigure,
    PopulationRecord,
    Structure,
)
from ansinh.registry.templates_xlsx import report_workbook, template_workbook

Progress = Callable[[str, int, int], None]  # (stage, done, total)

#: At most this many errors are listed in a report (``error_count`` has them all).
MAX_REPORTED_ERRORS = 10_000
WRITE_CHUNK = 100_000
#: The largest population figure accepted (a province, or the country, is far below it; a sum of a few hundred of
#: them stays far below 2⁶³).
MAX_POPULATION = 10**10
LOOKUP_CHUNK = 5_000

# Python's str.split() whitespace, as a regular expression (Rust's \s lacks the four separators \x1c-\x1f).
_WS = r"[\s\x1c-\x1f]+"
_NOT_ASCII = r"[^\x00-\x7f]"


# --- the documented layout ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ColumnSpec:
    name: str
    required: bool
    description_en: str
    description_vi: str
    example: str


def _c(name, required, en, vi, example) -> ColumnSpec:
    return ColumnSpec(name, required, en, vi, example)


_CITIZEN_ID = _c("citizen_id", True, "Citizen ID (CCCD), 12 digits; province, century/sex digit and year are checked "
                 "against the date of birth and sex.",
                 "Số định danh cá nhân (CCCD), 12 chữ số; mã tỉnh, mã thế kỷ/giới tính và năm sinh được đối chiếu "
                 "với ngày sinh và giới tính.", "001090012345")
_FULL_NAME = _c("full_name", True, "Full name in Vietnamese (stored in Unicode NFC), at most 120 characters.",
                "Họ và tên tiếng Việt có dấu (lưu dạng Unicode NFC), tối đa 120 ký tự.", "Nguyễn Văn An")
_DOB = _c("date_of_birth", True, "Date of birth: YYYY-MM-DD or DD/MM/YYYY (or an Excel date).",
          "Ngày sinh: YYYY-MM-DD hoặc DD/MM/YYYY (hoặc ô ngày của Excel).", "1990-05-17")
_SEX = _c("sex", True, "male or female (nam or nữ).", "nam hoặc nữ (male hoặc female).", "male")
_RESIDENCE_STRUCTURE = _c("residence_structure", False,
                          "Which administrative structure residence_code is in: 2025 (34 provinces, default) or 2008 "
                          "(63 provinces).",
                          "Mã xã theo cơ cấu hành chính nào: 2025 (34 tỉnh, mặc định) hoặc 2008 (63 tỉnh).", "2025")

COLUMNS: dict[str, list[ColumnSpec]] = {
    "people": [
        _CITIZEN_ID, _FULL_NAME, _DOB, _SEX,
        _c("ethnicity", False, "Ethnicity (Kinh, Tày, Thái, ...).", "Dân tộc (Kinh, Tày, Thái, ...).", "Kinh"),
        _c("residence_code", True, "Official 5-digit code of the commune of residence.",
           "Mã xã/phường nơi cư trú (5 chữ số, mã chính thức).", "00004"),
        _RESIDENCE_STRUCTURE,
        _c("address", False, "Address (house, street, hamlet), at most 300 characters.",
           "Địa chỉ (số nhà, đường, thôn), tối đa 300 ký tự.", "12 Phố Đội Cấn"),
        _c("phone", False, "Phone number, digits only (a leading + allowed).",
           "Số điện thoại, chỉ gồm chữ số (có thể bắt đầu bằng +).", "0912345678"),
        _c("si_number", False, "SI number (10 digits) when the person already has one; otherwise one is issued.",
           "Mã số BHXH (10 chữ số) nếu đã có; nếu để trống hệ thống cấp mới.", ""),
    ],
    "households": [
        _c("household_key", True, "Any key that groups the rows of one household in this file.",
           "Mã bất kỳ để nhóm các dòng của cùng một hộ trong tệp.", "HO-001"),
        _c("citizen_id", True, "Citizen ID of a member (already in the registry).",
           "Số CCCD của thành viên (đã có trong cơ sở dữ liệu).", "001090012345"),
        _c("role", True, "head (chủ hộ) or member (thành viên); exactly one head per household.",
           "head (chủ hộ) hoặc member (thành viên); mỗi hộ đúng một chủ hộ.", "head"),
        _c("address", False, "Address of the household (taken from the head's row; default the head's address).",
           "Địa chỉ của hộ (lấy ở dòng chủ hộ; mặc định địa chỉ của chủ hộ).", "12 Phố Đội Cấn"),
    ],
    "employers": [
        _c("tax_code", True, "Tax code: 10 digits with check digit, or 13 for a branch (parent registered or in "
           "the file).", "Mã số thuế: 10 chữ số (có chữ số kiểm tra), hoặc 13 chữ số với chi nhánh (đơn vị "
           "chủ quản đã đăng ký hoặc có trong tệp).", "0100109106"),
        _c("name", True, "Name of the employer, at most 200 characters.", "Tên đơn vị, tối đa 200 ký tự.",
           "Công ty TNHH Ánh Dương"),
        _c("ownership", True, "state, private, fdi, cooperative, household_business, public_service, association "
           "or other.", "Loại hình: state (nhà nước), private (tư nhân), fdi (vốn nước ngoài), cooperative (hợp "
           "tác xã), household_business (hộ kinh doanh), public_service (đơn vị sự nghiệp), association (hội), "
           "other (khác).", "private"),
        _c("region", True, "Minimum-wage region: I, II, III or IV.", "Vùng lương tối thiểu: I, II, III hoặc IV.",
           "I"),
        _c("sector", False, "private (employer-set pay, default) or state (state-set pay).",
           "private (đơn vị tự quyết định tiền lương, mặc định) hoặc state (lương do Nhà nước quy định).",
           "private"),
        _c("place_code", False, "Official 5-digit code of the commune of its seat.",
           "Mã xã/phường nơi đặt trụ sở (5 chữ số).", "00004"),
        _c("place_structure", False, "Structure of place_code: 2025 (default) or 2008.",
           "Cơ cấu hành chính của place_code: 2025 (mặc định) hoặc 2008.", "2025"),
        _c("address", False, "Address, at most 300 characters.", "Địa chỉ, tối đa 300 ký tự.", "1 Phố Liễu Giai"),
        _c("e_transactions", False, "Registered for electronic transactions: yes or no (có / không).",
           "Đăng ký giao dịch điện tử: yes hoặc no (có / không).", "yes"),
        _c("contact_name", False, "Contact person.", "Người liên hệ.", "Trần Thị Bình"),
        _c("phone", False, "Phone number.", "Số điện thoại.", "0243123456"),
        _c("email", False, "E-mail address.", "Thư điện tử.", "nhansu@anhduong.vn"),
    ],
    "declarations": [
        _c("employer_tax_code", True, "Tax code of the employer (registered).", "Mã số thuế của đơn vị (đã đăng ký).",
           "0100109106"),
        _c("citizen_id", True, "Citizen ID of the worker (in the registry).",
           "Số CCCD của người lao động (đã có trong cơ sở dữ liệu).", "001090012345"),
        _c("kind", True, "join (báo tăng), leave (báo giảm) or salary_change (điều chỉnh lương).",
           "join (báo tăng), leave (báo giảm) hoặc salary_change (điều chỉnh lương).", "join"),
        _c("effective_month", True, "Month it takes effect: YYYY-MM (or MM/YYYY). Earlier months are allowed and "
           "flagged for re-billing.", "Tháng có hiệu lực: YYYY-MM (hoặc MM/YYYY). Được khai tháng trước (truy "
           "thu), đánh dấu để tính lại.", "2025-01"),
        _c("insured_salary", False, "Monthly salary for contributions, in dong (join and salary_change).",
           "Tiền lương tháng đóng bảo hiểm, đồng (báo tăng và điều chỉnh lương).", "8000000"),
        _c("hi_group", False, "HI beneficiary group: DN, HC or XK (default from the employer's ownership).",
           "Mã đối tượng BHYT: DN, HC hoặc XK (mặc định theo loại hình đơn vị).", "DN"),
    ],
    "population": [
        _CITIZEN_ID, _FULL_NAME, _DOB, _SEX,
        _c("residence_code", False, "Official 5-digit code of the commune of residence.",
           "Mã xã/phường nơi thường trú (5 chữ số).", "00004"),
        _RESIDENCE_STRUCTURE,
    ],
    "population_figures": [
        _c("province_code", True, "Official 2-digit province code.", "Mã tỉnh/thành phố (2 chữ số).", "01"),
        _c("structure", False, "Structure of the province code: 2025 (default) or 2008.",
           "Cơ cấu hành chính của mã tỉnh: 2025 (mặc định) hoặc 2008.", "2025"),
        _c("year", True, "Year of the figures.", "Năm của số liệu.", "2025"),
        _c("population", True, "Population.", "Dân số.", "8700000"),
        _c("working_age_population", True, "Working-age population.", "Dân số trong độ tuổi lao động.", "5600000"),
    ],
}
KINDS = tuple(COLUMNS)

FIELD_VI = {
    "citizen_id": "số CCCD", "full_name": "họ tên", "date_of_birth": "ngày sinh", "sex": "giới tính",
    "ethnicity": "dân tộc", "residence_code": "nơi cư trú", "residence_structure": "nơi cư trú", "address": "địa chỉ",
    "phone": "số điện thoại", "si_number": "mã số BHXH", "name": "tên", "ownership": "loại hình",
    "region": "vùng", "sector": "khu vực", "place_code": "địa bàn", "place_structure": "địa bàn",
    "e_transactions": "giao dịch điện tử", "contact_name": "người liên hệ", "email": "thư điện tử",
    "insured_salary": "tiền lương", "hi_group": "mã đối tượng BHYT", "population": "dân số",
    "working_age_population": "dân số trong độ tuổi lao động",
}

# --- reasons, in both languages --------------------------------------------------------------------------
# ``{name}`` is filled from Python values; in vectorised checks ``<name>`` is filled from a column of the frame.

R = {
    "unreadable": ("The file cannot be read as CSV (UTF-8) or Excel .xlsx: {detail}",
                   "Không đọc được tệp dạng CSV (UTF-8) hoặc Excel .xlsx: {detail}"),
    "control": ("The cell contains control characters (such as NUL), shown here as \\xNN: remove them.",
                "Ô này chứa ký tự điều khiển (như NUL), hiển thị ở đây dạng \\xNN: hãy xoá chúng."),
    "empty": ("The file has no data rows.", "Tệp không có dòng dữ liệu nào."),
    "too_many_rows": ("A file holds at most {limit} rows.", "Mỗi tệp có tối đa {limit} dòng."),
    "missing_column": ("The required column {column} is missing.", "Thiếu cột bắt buộc {column}."),
    "unknown_column": ("{column} is not a column of this import (see the template).",
                       "{column} không phải là cột của loại dữ liệu này (xem tệp mẫu)."),
    "duplicate_column": ("The column {column} appears twice.", "Cột {column} xuất hiện hai lần."),
    "required": ("A value is required.", "Phải có giá trị."),
    "duplicate": ("Repeated in this file (first at row <_first>).", "Bị lặp trong tệp (lần đầu ở dòng <_first>)."),
    "too_long": ("At most {n} characters.", "Tối đa {n} ký tự."),
    "cid_format": ("A citizen ID has 12 digits.", "Số CCCD gồm 12 chữ số."),
    "cid_province": ("<_cid_province> is not a province code of birth registration.",
                     "<_cid_province> không phải mã tỉnh nơi đăng ký khai sinh."),
    "cid_year": ("The citizen ID says born in <_cid_year>, the date of birth says <_dob_text>.",
                 "Số CCCD cho biết sinh năm <_cid_year>, nhưng ngày sinh là <_dob_text>."),
    "cid_sex": ("The citizen ID says <_cid_sex>, the row says <_sex>.",
                "Số CCCD cho biết giới tính <_cid_sex_vi>, nhưng dòng này ghi <_sex_vi>."),
    "date": ("Not a date: write YYYY-MM-DD or DD/MM/YYYY.", "Không phải ngày: ghi dạng YYYY-MM-DD hoặc DD/MM/YYYY."),
    "dob_range": ("The date of birth is not plausible (after today or before 1900).",
                  "Ngày sinh không hợp lý (sau hôm nay hoặc trước năm 1900)."),
    "sex": ("The sex is male or female (nam or nữ).", "Giới tính là nam hoặc nữ (male hoặc female)."),
    "phone": ("A phone number has digits only, a leading + allowed.",
              "Số điện thoại chỉ gồm chữ số, có thể bắt đầu bằng +."),
    "si_number": ("An SI number has 10 digits.", "Mã số BHXH gồm 10 chữ số."),
    "si_taken": ("This SI number belongs to another person.", "Mã số BHXH này đã cấp cho người khác."),
    "structure": ("The structure is 2025 or 2008.", "Cơ cấu hành chính là 2025 hoặc 2008."),
    "commune": ("No commune has this code in the <_structure> structure.",
                "Không có xã/phường nào mang mã này trong cơ cấu hành chính <_structure>."),
    "province": ("No province has this code in the {structure} structure.",
                 "Không có tỉnh/thành phố nào mang mã này trong cơ cấu hành chính {structure}."),
    "differs": ("A person with this citizen ID is registered with a different {field}.",
                "Người có số CCCD này đã được đăng ký với {field_vi} khác."),
    "employer_differs": ("An employer with this tax code is registered with a different {field}.",
                         "Đơn vị có mã số thuế này đã được đăng ký với {field_vi} khác."),
    "figure_differs": ("Figures for this province and year are already loaded with a different {field}.",
                       "Số liệu của tỉnh và năm này đã có với {field_vi} khác."),
    "no_person": ("No person with this citizen ID is in the registry.",
                  "Không có người nào mang số CCCD này trong cơ sở dữ liệu."),
    "out_of_scope": ("This record belongs to another org unit, outside your scope.",
                     "Hồ sơ này thuộc đơn vị khác, ngoài phạm vi của bạn."),
    "role": ("The role is head or member (chủ hộ or thành viên).",
             "Vai trò là head hoặc member (chủ hộ hoặc thành viên)."),
    "no_head": ("Household {key} has no head.", "Hộ {key} không có chủ hộ."),
    "two_heads": ("Household {key} has more than one head.", "Hộ {key} có nhiều hơn một chủ hộ."),
    "in_household": ("This person already belongs to household {code}.", "Người này đã thuộc hộ {code}."),
    "bool": ("Write yes or no (có or không).", "Ghi yes hoặc no (có hoặc không)."),
    "branch_parent": ("Branch {value} needs its parent {parent} registered first, or in this file.",
                      "Chi nhánh {value} cần đơn vị chủ quản {parent} đã đăng ký hoặc có trong tệp."),
    "no_employer": ("No employer has this tax code.", "Không có đơn vị nào mang mã số thuế này."),
    "not_your_employer": ("You may only declare for your own employer.", "Bạn chỉ được khai báo cho đơn vị của mình."),
    "kind": ("The kind is join, leave or salary_change (tăng, giảm or điều chỉnh).",
             "Loại khai báo là join, leave hoặc salary_change (tăng, giảm hoặc điều chỉnh)."),
    "month": ("Not a month: write YYYY-MM or MM/YYYY.", "Không phải tháng: ghi dạng YYYY-MM hoặc MM/YYYY."),
    "amount": ("Write a whole number of dong (digits, separators allowed).",
               "Ghi số tiền nguyên (đồng), chỉ gồm chữ số (cho phép dấu phân cách)."),
    "amount_range": ("At most {limit} dong.", "Tối đa {limit} đồng."),
    "population_range": ("At most {limit}.", "Tối đa {limit}."),
    "declaration_differs": ("This declaration (employer, person, kind, month) is already recorded with a "
                            "different salary or group.",
                            "Khai báo này (đơn vị, người, loại, tháng) đã được ghi nhận với tiền lương hoặc mã "
                            "đối tượng khác."),
    "whole_number": ("Write a whole number.", "Ghi một số nguyên."),
    "year": ("A year between 1900 and {last}.", "Năm từ 1900 đến {last}."),
    "working_age": ("The working-age population is larger than the population.",
                    "Dân số trong độ tuổi lao động lớn hơn dân số."),
}


def _reason(key: str, **params: Any) -> tuple[str, str]:
    en, vi = R[key]
    return en.format(**params), vi.format(**params)


# --- report ---------------------------------------------------------------------------------------------

@dataclass
class ImportRowError:
    row: int  # 1-based row of the file as the user sees it: header = 1, first data row = 2
    column: str
    value: str
    reason_en: str
    reason_vi: str


@dataclass
class ImportReport:
    kind: str
    file_name: str
    sha256: str
    status: str  # applied | rejected | unchanged (the same file was already imported)
    rows: int
    created: int
    unchanged: int
    errors: list[ImportRowError]
    batch_id: int | None
    error_count: int = 0  # every error, when more than MAX_REPORTED_ERRORS are listed
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"kind": self.kind, "file_name": self.file_name, "sha256": self.sha256, "status": self.status,
                "rows": self.rows, "created": self.created, "unchanged": self.unchanged,
                "error_count": max(self.error_count, len(self.errors)),
                "errors_listed": len(self.errors), "batch_id": self.batch_id, "details": self.details,
                "errors": [asdict(e) for e in self.errors]}

    @classmethod
    def from_json(cls, data: dict) -> "ImportReport":
        """The report again from :meth:`to_json` (an answer replayed for an ``Idempotency-Key``)."""
        return cls(kind=data["kind"], file_name=data["file_name"], sha256=data["sha256"], status=data["status"],
                   rows=data["rows"], created=data["created"], unchanged=data["unchanged"],
                   errors=[ImportRowError(**e) for e in data.get("errors", [])], batch_id=data.get("batch_id"),
                   error_count=data.get("error_count", 0), details=data.get("details") or {})

    def to_xlsx(self) -> bytes:
        summary = [("kind", self.kind), ("file", self.file_name), ("sha256", self.sha256), ("status", self.status),
                   ("rows", self.rows), ("created", self.created), ("unchanged", self.unchanged),
                   ("errors", max(self.error_count, len(self.errors))), ("batch", self.batch_id),
                   *((str(k), v if isinstance(v, (int, str)) else str(v)) for k, v in self.details.items())]
        return report_workbook(summary, self.file_name, self.errors)


def template_xlsx(kind: str) -> bytes:
    """The template of a kind: the documented columns, one example row, and the layout in both languages."""
    return template_workbook(_kind(kind), COLUMNS[_kind(kind)])


def columns_markdown() -> str:
    """The column layout of every kind as Markdown (for the README)."""
    lines = []
    for kind, columns in COLUMNS.items():
        lines += [f"#### `{kind}`", "", "| column | required | meaning | example |", "|---|---|---|---|"]
        lines += [f"| `{c.name}` | {'yes' if c.required else ''} | {c.description_en} | {c.example} |"
                  for c in columns]
        lines.append("")
    return "\n".join(lines)


def _kind(kind: str) -> str:
    kind = (kind or "").strip().lower().replace("-", "_")
    if kind not in COLUMNS:
        raise NotFound("There is no import of kind {kind}.", kind=kind)
    return kind


# --- reading --------------------------------------------------------------------------------------------

class FileProblem(Exception):
    """The file itself cannot be taken (unreadable, a column missing, no rows, too many): ``errors`` say why, by row
    and column; nothing of it is written."""

    def __init__(self, errors: list[ImportRowError]) -> None:
        self.errors = errors


def _file_error(where: str, key: str, value: str = "", **params) -> ImportRowError:
    return ImportRowError(1, where, value, *_reason(key, **params))


def visible(text: str) -> str:
    """Text with its control characters written ``\\xNN`` (for a report: a NUL must not reach a workbook)."""
    return CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _control_character_errors(frame: pl.DataFrame, names: list[str]) -> list[ImportRowError]:
    """Every cell (and header) holding a control character, by row and column (header = row 1)."""
    errors = [_file_error(visible(name), "control", visible(name)) for name in names
              if has_control_characters(name)]
    if not frame.width or not frame.height:
        return errors
    pattern = CONTROL_CHARACTERS.pattern
    hits = frame.with_row_index("_i").select(
        "_i", *(pl.col(c).cast(pl.String).str.contains(pattern).fill_null(False).alias(f"_{n}")
                for n, c in enumerate(frame.columns)))
    found = hits.filter(pl.any_horizontal(pl.exclude("_i")))
    for row in found.head(MAX_REPORTED_ERRORS).iter_rows(named=True):
        for n, column in enumerate(frame.columns):
            if row[f"_{n}"]:
                errors.append(ImportRowError(row["_i"] + 2, visible(names[n]), visible(str(frame[column][row["_i"]])),
                                             *_reason("control")))
    return errors


def read_table(content: bytes, file_name: str) -> pl.DataFrame:
    """The file as a frame of text columns, cleaned: header names lower case, values trimmed, empty → null.
    Raises FileProblem for an unreadable file, and for cells (or headers) holding control characters such as NUL
    (each named by row and column: header = row 1, first data row = 2)."""
    try:
        if content[:4] == b"PK\x03\x04" or file_name.lower().endswith((".xlsx", ".xlsm")):
            frame = pl.read_excel(io.BytesIO(content), infer_schema_length=0)
        else:
            text = content[len(codecs.BOM_UTF8):] if content.startswith(codecs.BOM_UTF8) else content
            text.decode("utf-8")  # a clear error for another encoding
            first = text.split(b"\n", 1)[0]
            separator = ";" if first.count(b";") > first.count(b",") else ","
            frame = pl.read_csv(io.BytesIO(text), separator=separator, infer_schema=False)
    except (TypeError, NameError, AttributeError):  # a bug here, not a bad file
        raise
    except UnicodeDecodeError as exc:
        raise FileProblem([_file_error("", "unreadable", detail=f"not UTF-8 (byte {exc.start})")]) from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is the file's problem
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise FileProblem([_file_error("", "unreadable", detail=detail)]) from None
    names = [str(n).strip().lower().replace(" ", "_") for n in frame.columns]
    if problems := _control_character_errors(frame, names):
        raise FileProblem(problems)
    seen: set[str] = set()
    problems = []
    for name in names:
        if name in seen:
            problems.append(_file_error(name, "duplicate_column", column=name))
        seen.add(name)
    if problems:
        raise FileProblem(problems)
    frame = frame.rename(dict(zip(frame.columns, names)))
    frame = frame.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in frame.columns)
    frame = frame.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                               for c in frame.columns)
    # drop rows that are entirely empty (Excel leaves them behind)
    if frame.width:
        frame = frame.filter(~pl.all_horizontal(pl.all().is_null()))
    return frame


def read_checked_table(content: bytes, file_name: str, *, required: Sequence[str], max_rows: int) -> pl.DataFrame:
    """:func:`read_table`, then the checks every import makes of a whole file: each required column present, at least
    one row and at most ``max_rows``. Raises :class:`FileProblem`."""
    frame = read_table(content, file_name)
    if missing := [name for name in required if name not in frame.columns]:
        raise FileProblem([_file_error(name, "missing_column", column=name) for name in missing])
    if frame.height == 0:
        raise FileProblem([_file_error("", "empty")])
    if frame.height > max_rows:
        raise FileProblem([ImportRowError(max_rows + 2, "", "", *_reason("too_many_rows", limit=max_rows))])
    return frame

def _check_header(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    specs = COLUMNS[kind]
    known = {c.name for c in specs}
    errors = [_file_error(c.name, "missing_column", column=c.name)
              for c in specs if c.required and c.name not in frame.columns]
    errors += [_file_error(name, "unknown_column", value=name, column=name)
               for name in frame.columns if name not in known and not name.startswith("_")]
    if errors:
        raise FileProblem(errors)
    missing = [c.name for c in specs if c.name not in frame.columns]
    frame = frame.select([c for c in frame.columns if c in known])
    if missing:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name) for name in missing)
    return frame.with_columns(_row=pl.int_range(2, frame.height + 2, dtype=pl.Int64))


# --- column functions (the same rules as identifiers.py, on whole columns) ----------------------------------

_CENTURY = {str(d): base for d, base in ((0, 1900), (1, 1900), (2, 2000), (3, 2000), (4, 2100), (5, 2100),
                                         (6, 2200), (7, 2200), (8, 1800), (9, 1800))}


def name_column(expr: pl.Expr) -> pl.Expr:
    """:func:`identifiers.normalise_name` on a column: NFC, single spaces, trimmed."""
    return expr.str.normalize("NFC").str.replace_all(_WS, " ").str.strip_chars(" ")


def search_key_column(expr: pl.Expr) -> pl.Expr:
    """:func:`identifiers.search_key` on a column: no accents, lower case, single spaces."""
    plain = (expr.str.normalize("NFC").str.replace_all("đ", "d", literal=True).str.replace_all("Đ", "D", literal=True)
             .str.normalize("NFKD").str.replace_all(_NOT_ASCII, ""))
    return plain.str.to_lowercase().str.replace_all(_WS, " ").str.strip_chars(" ")


def citizen_id_problems(citizen_id: pl.Expr, date_of_birth: pl.Expr | None = None, sex: pl.Expr | None = None,
                        province_codes: set[str] | None = None) -> pl.Expr:
    """:func:`identifiers.check_citizen_id` on columns: null where the ID is good, else the first problem:
    ``format``, ``province``, ``year`` (with the date of birth) or ``sex``. Null dates or sexes are not compared."""
    well_formed = citizen_id.str.contains(r"^\d{12}$").fill_null(False)
    province_ok = (citizen_id.str.slice(0, 3).is_in(sorted(province_codes)) if province_codes is not None
                   else pl.lit(True))
    century = citizen_id.str.slice(3, 1).replace_strict(_CENTURY, default=None, return_dtype=pl.Int32)
    year = century + citizen_id.str.slice(4, 2).cast(pl.Int32, strict=False)
    year_bad = (year != date_of_birth.dt.year()).fill_null(False) if date_of_birth is not None else pl.lit(False)
    coded_sex = citizen_id_sex(citizen_id)
    sex_bad = (coded_sex != sex).fill_null(False) if sex is not None else pl.lit(False)
    return (pl.when(~well_formed).then(pl.lit("format"))
            .when(~province_ok).then(pl.lit("province"))
            .when(year_bad).then(pl.lit("year"))
            .when(sex_bad).then(pl.lit("sex"))
            .otherwise(None))


def citizen_id_year(citizen_id: pl.Expr) -> pl.Expr:
    century = citizen_id.str.slice(3, 1).replace_strict(_CENTURY, default=None, return_dtype=pl.Int32)
    return century + citizen_id.str.slice(4, 2).cast(pl.Int32, strict=False)


def citizen_id_sex(citizen_id: pl.Expr) -> pl.Expr:
    digit = citizen_id.str.slice(3, 1).cast(pl.Int32, strict=False)
    return pl.when(digit % 2 == 1).then(pl.lit("female")).when(digit.is_not_null()).then(pl.lit("male"))


def tax_code_column_ok(expr: pl.Expr) -> pl.Expr:
    """:func:`identifiers.check_tax_code` on a column (without hyphens): True where the code is valid."""
    compact = expr.str.replace_all("-", "", literal=True)
    shape = compact.str.contains(r"^(\d{10}|\d{13})$").fill_null(False)
    total = pl.sum_horizontal(compact.str.slice(i, 1).cast(pl.Int64, strict=False) * w
                              for i, w in enumerate(TAX_CODE_WEIGHTS))
    digit = 10 - total % 11
    return shape & (digit != 10) & ((digit % 10) == compact.str.slice(9, 1).cast(pl.Int64, strict=False))


def date_column(expr: pl.Expr) -> pl.Expr:
    """YYYY-MM-DD, DD/MM/YYYY, or an Excel date read as text (``1990-01-02 00:00:00``)."""
    text = expr.str.replace(r"[ T]00:00:00(\.0+)?$", "")
    return pl.coalesce(text.str.to_date("%Y-%m-%d", strict=False), text.str.to_date("%d/%m/%Y", strict=False))


def month_column(expr: pl.Expr) -> pl.Expr:
    """YYYY-MM or MM/YYYY (or a date, whose month is taken) → the first day of the month."""
    text = expr.str.replace(r"[ T]00:00:00(\.0+)?$", "")
    return pl.coalesce(
        (text + "-01").str.to_date("%Y-%m-%d", strict=False),
        ("01/" + text).str.to_date("%d/%m/%Y", strict=False),
        date_column(expr).dt.month_start(),
    )


_SEXES = {"male": "male", "nam": "male", "m": "male", "female": "female", "nu": "female", "f": "female"}


def sex_column(expr: pl.Expr) -> pl.Expr:
    return search_key_column(expr).replace_strict(_SEXES, default=None, return_dtype=pl.String)


def _cid_province_codes() -> set[str]:
    from ansinh.registry.places import place_data

    return {"0" + entry[0] for entry in place_data()["2008"]["province"]}


# --- vectorised checks ------------------------------------------------------------------------------------

@dataclass
class _Check:
    column: str
    bad: pl.Expr
    reason: str
    params: dict = field(default_factory=dict)


def _template_expr(template: str) -> pl.Expr:
    parts = re.split(r"<(\w+)>", template)
    if len(parts) == 1:
        return pl.lit(template)
    pieces = [pl.lit(p) if i % 2 == 0 else pl.col(p).cast(pl.String).fill_null("") for i, p in enumerate(parts)]
    return pl.concat_str(pieces)


def _collect_errors(frame: pl.DataFrame, checks: list[_Check]) -> pl.DataFrame:
    """One error per failing (row, column): the first failing check of that column, in order."""
    prior: dict[str, pl.Expr] = {}
    parts = []
    for check in checks:
        earlier = prior.get(check.column, pl.lit(False))
        bad = check.bad.fill_null(False)
        prior[check.column] = earlier | bad
        en, vi = (text.format(**check.params) for text in R[check.reason])
        part = frame.filter(bad & ~earlier).select(
            pl.col("_row").alias("row"), pl.lit(check.column).alias("column"),
            (pl.col(check.column).cast(pl.String) if check.column in frame.columns else pl.lit(None, pl.String))
            .fill_null("").alias("value"),
            _template_expr(en).alias("reason_en"), _template_expr(vi).alias("reason_vi"))
        if part.height:
            parts.append(part)
    if not parts:
        return pl.DataFrame(schema={"row": pl.Int64, "column": pl.String, "value": pl.String,
                                    "reason_en": pl.String, "reason_vi": pl.String})
    order = {c: i for i, c in enumerate(dict.fromkeys(c.column for c in checks))}
    errors = pl.concat(parts)
    return errors.with_columns(_o=pl.col("column").replace_strict(order, default=99, return_dtype=pl.Int32)) \
        .sort("row", "_o").drop("_o")


def _errors_list(errors: pl.DataFrame) -> list[ImportRowError]:
    return [ImportRowError(**row) for row in errors.head(MAX_REPORTED_ERRORS).iter_rows(named=True)]


def _required(columns: list[str]) -> list[_Check]:
    return [_Check(c, pl.col(c).is_null(), "required") for c in columns]


def _duplicates(column: str) -> _Check:
    return _Check(column, pl.col(column).is_not_null() & pl.col("_first").is_not_null()
                  & (pl.col("_first") != pl.col("_row")), "duplicate")


def _first_row(column: str) -> pl.Expr:
    return pl.when(pl.col(column).is_not_null()).then(pl.col("_row").min().over(column))


# --- places ----------------------------------------------------------------------------------------------

def commune_frame(session: Session) -> pl.DataFrame:
    """Every commune of both structures: structure, code, place_id, province_2008, province_2025 (the other
    structure's province through the mapping when it is a single one, as :func:`places.provinces_of`)."""
    rows = session.execute(select(Place.structure, Place.code, Place.id, Place.province_code)
                           .where(Place.level == PlaceLevel.commune)).all()
    communes = pl.DataFrame([(getattr(s, "value", s), c, i, p) for s, c, i, p in rows], orient="row",
                            schema={"structure": pl.String, "code": pl.String, "place_id": pl.Int64,
                                    "province": pl.String})
    old, new = aliased(Place), aliased(Place)
    pairs = session.execute(select(old.id, old.level, old.province_code, new.id, new.level, new.province_code)
                            .join(PlaceMapping, PlaceMapping.old_place_id == old.id)
                            .join(new, PlaceMapping.new_place_id == new.id)).all()
    mapping = pl.DataFrame([(o, getattr(ol, "value", ol), op, n, getattr(nl, "value", nl), np_)
                            for o, ol, op, n, nl, np_ in pairs], orient="row",
                           schema={"old_id": pl.Int64, "old_level": pl.String, "old_province": pl.String,
                                   "new_id": pl.Int64, "new_level": pl.String, "new_province": pl.String})

    def single(frame: pl.DataFrame, key: str, value: str, name: str) -> pl.DataFrame:
        return frame.group_by(key).agg(pl.col(value).unique().alias("_v")).select(
            pl.col(key).alias("place_id"),
            pl.when(pl.col("_v").list.len() == 1).then(pl.col("_v").list.first()).alias(name))

    old_to_new = single(mapping, "old_id", "new_province", "other")
    new_to_old = single(mapping, "new_id", "old_province", "other")
    province_fallback = (mapping.filter((pl.col("old_level") == "province") & (pl.col("new_level") == "province"))
                         .group_by("old_province").agg(pl.col("new_province").unique().alias("_v"))
                         .select(pl.col("old_province").alias("province"),
                                 pl.when(pl.col("_v").list.len() == 1).then(pl.col("_v").list.first())
                                 .alias("fallback")))
    olds = (communes.filter(pl.col("structure") == Structure.before_2025.value)
            .join(old_to_new, on="place_id", how="left").join(province_fallback, on="province", how="left")
            .with_columns(province_2008=pl.col("province"),
                          # no mapping row at all → the old province's; a mapping to several → None
                          province_2025=pl.when(pl.col("place_id").is_in(old_to_new["place_id"].implode()))
                          .then(pl.col("other")).otherwise(pl.col("fallback"))))
    news = (communes.filter(pl.col("structure") == Structure.from_2025.value)
            .join(new_to_old, on="place_id", how="left")
            .with_columns(province_2008=pl.col("other"), province_2025=pl.col("province")))
    keep = ["structure", "code", "place_id", "province_2008", "province_2025"]
    return pl.concat([olds.select(keep), news.select(keep)])


def _with_residence(frame: pl.DataFrame, communes: pl.DataFrame, code: str, structure: str) -> pl.DataFrame:
    frame = frame.with_columns(
        _structure=pl.col(structure).fill_null(Structure.from_2025.value)
)
    joined = frame.join(communes.rename({"structure": "_structure", "code": code}), on=["_structure", code],
                        how="left")
    return joined.sort("_row")


# --- context ----------------------------------------------------------------------------------------------

@dataclass
class _Context:
    session: Session
    kind: str
    principal: Principal | None
    username: str
    org_unit: OrgUnit | None
    today: date
    progress: Progress


def _resolve(session: Session, principal_or_context: Any, org_unit: OrgUnit | str | None
             ) -> tuple[Principal | None, str, OrgUnit | None]:
    principal = principal_or_context if isinstance(principal_or_context, Principal) else None
    if principal is not None:
        username = principal.username
    elif isinstance(principal_or_context, str):
        username = principal_or_context
    else:
        username = getattr(principal_or_context, "actor_username", None) or "system"
    if isinstance(org_unit, str):
        code = org_unit
        org_unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if org_unit is None:
            raise ValidationFailed("org_unit", "Org unit {code} does not exist.", code=code)
    if org_unit is None and principal is not None and principal.is_agency_staff:
        own = session.get(OrgUnit, principal.org_unit_id)
        org_unit = own if own is not None and own.level != OrgLevel.national else None
    if org_unit is not None and principal is not None:
        ensure_in_scope(principal, org_unit)
    return principal, username[:64], org_unit


def _need_office(ctx: _Context) -> OrgUnit:
    if ctx.org_unit is None or ctx.org_unit.level == OrgLevel.national:
        raise ValidationFailed("org_unit", "Say which provincial or local office the imported records belong to.")
    return ctx.org_unit


# --- the engine -------------------------------------------------------------------------------------------

def import_file(session: Session, *, kind: str, content: bytes, file_name: str, principal_or_context: Any = None,
                org_unit: OrgUnit | str | None = None, today: date | None = None,
                progress: Progress | None = None) -> ImportReport:
    """Validate a whole file, then apply it (status ``applied``), or write no data row and return the errors
    (status ``rejected``, the attempt kept as an ``import_batch`` row), or do nothing when the same file was
    already applied (status ``unchanged``). Runs in the caller's transaction; raises only for a wrong kind, org
    unit or permission."""
    kind = _kind(kind)
    file_name = (file_name or "upload").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:255]
    sha256 = hashlib.sha256(content).hexdigest()
    principal, username, org_unit = _resolve(session, principal_or_context, org_unit)
    ctx = _Context(session, kind, principal, username, org_unit, today or clock.today(),
                   progress or (lambda stage, done, total: None))
    if kind in ("people", "population", "households", "employers"):
        _need_office(ctx)

    previous = session.scalar(select(ImportBatch).where(ImportBatch.kind == kind, ImportBatch.sha256 == sha256,
                                                        ImportBatch.status == "applied")
                              .order_by(ImportBatch.id).limit(1))
    if previous is not None:
        return ImportReport(kind, file_name, sha256, "unchanged", previous.rows, 0, previous.rows, [], previous.id,
                            details={"same_file_as_batch": previous.id})

    ctx.progress("read", 0, 1)
    try:
        frame = _check_header(read_table(content, file_name), kind)
        if frame.height == 0:
            raise FileProblem([_file_error("", "empty")])
    except FileProblem as problem:
        return _rejected(ctx, file_name, sha256, 0, problem.errors, len(problem.errors))
    ctx.progress("read", 1, 1)

    batch = ImportBatch(kind=kind, file_name=file_name, sha256=sha256, status="validating", rows=frame.height,
                        org_unit_id=org_unit.id if org_unit else None, created_by=username)
    session.add(batch)
    session.flush()
    handler = _HANDLERS[kind]
    outcome = handler(ctx, frame, batch)
    if outcome.errors_frame is not None or outcome.errors:
        errors = outcome.errors if outcome.errors_frame is None else _errors_list(outcome.errors_frame)
        count = len(outcome.errors) if outcome.errors_frame is None else outcome.errors_frame.height
        batch.status, batch.error_count = "rejected", count
        session.flush()
        return ImportReport(kind, file_name, sha256, "rejected", frame.height, 0, 0, errors[:MAX_REPORTED_ERRORS],
                            batch.id, error_count=count, details=outcome.details)
    batch.status, batch.created_rows, batch.unchanged_rows = "applied", outcome.created, outcome.unchanged
    session.flush()
    record_event(session, "import", "import_batch", batch.id, org_unit_id=batch.org_unit_id,
                 details={"kind": kind, "file_name": file_name, "sha256": sha256, "rows": frame.height,
                          "created": outcome.created, "unchanged": outcome.unchanged, **outcome.details})
    return ImportReport(kind, file_name, sha256, "applied", frame.height, outcome.created, outcome.unchanged, [],
                        batch.id, details=outcome.details)


def _rejected(ctx: _Context, file_name: str, sha256: str, rows: int, errors: list[ImportRowError],
              count: int) -> ImportReport:
    batch = ImportBatch(kind=ctx.kind, file_name=file_name, sha256=sha256, status="rejected", rows=rows,
                        error_count=count, org_unit_id=ctx.org_unit.id if ctx.org_unit else None,
                        created_by=ctx.username)
    ctx.session.add(batch)
    ctx.session.flush()
    return ImportReport(ctx.kind, file_name, sha256, "rejected", rows, 0, 0, errors, batch.id, error_count=count)


@dataclass
class _Outcome:
    created: int = 0
    unchanged: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    errors_frame: pl.DataFrame | None = None
    details: dict = field(default_factory=dict)


def _step(ctx: _Context, stage: str, done: int, total: int, every: int = 100) -> None:
    """Report progress of a row-by-row stage every ``every`` rows and at its end."""
    if done % every == 0 or done == total:
        ctx.progress(stage, done, total)


def _chunks(values: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


# --- people and the population extract (vectorised) -------------------------------------------------------

def _identity_checks(frame: pl.DataFrame, communes: pl.DataFrame, today: date, *, residence_required: bool
                     ) -> tuple[pl.DataFrame, list[_Check]]:
    """Derived columns and the checks shared by people and the population extract."""
    frame = frame.with_columns(
        _dob=date_column(pl.col("date_of_birth")),
        _sex=sex_column(pl.col("sex")),
        _name=name_column(pl.col("full_name")),
        _first=_first_row("citizen_id"),
    )
    frame = frame.with_columns(
        _dob_text=pl.col("_dob").dt.strftime("%Y-%m-%d"),
        _cid_problem=citizen_id_problems(pl.col("citizen_id"), pl.col("_dob"), pl.col("_sex"), _cid_province_codes()),
        _cid_province=pl.col("citizen_id").str.slice(0, 3),
        _cid_year=citizen_id_year(pl.col("citizen_id")),
        _cid_sex=citizen_id_sex(pl.col("citizen_id")),
        _sex_vi=pl.col("_sex").replace_strict({"male": "nam", "female": "nữ"}, default=None),
    ).with_columns(_cid_sex_vi=pl.col("_cid_sex").replace_strict({"male": "nam", "female": "nữ"}, default=None))
    frame = _with_residence(frame, communes, "residence_code", "residence_structure")
    required = ["citizen_id", "full_name", "date_of_birth", "sex"] + (["residence_code"] if residence_required else [])
    problem = pl.col("_cid_problem")
    checks = _required(required) + [
        _Check("citizen_id", problem == "format", "cid_format"),
        _Check("citizen_id", problem == "province", "cid_province"),
        _duplicates("citizen_id"),
        _Check("citizen_id", problem == "year", "cid_year"),
        _Check("citizen_id", problem == "sex", "cid_sex"),
        _Check("full_name", pl.col("_name").str.len_chars() > 120, "too_long", {"n": 120}),
        _Check("date_of_birth", pl.col("date_of_birth").is_not_null() & pl.col("_dob").is_null(), "date"),
        _Check("date_of_birth", (pl.col("_dob") > today) | (pl.col("_dob") < EARLIEST_DATE), "dob_range"),
        _Check("sex", pl.col("sex").is_not_null() & pl.col("_sex").is_null(), "sex"),
        _Check("residence_structure", ~pl.col("_structure").is_in(["2008", "2025"]), "structure"),
        _Check("residence_code", pl.col("residence_code").is_not_null() & pl.col("_structure").is_in(["2008", "2025"])
               & pl.col("place_id").is_null(), "commune"),
    ]
    return frame, checks


def _import_people(ctx: _Context, frame: pl.DataFrame, batch: ImportBatch) -> _Outcome:
    from ansinh.registry.service import issue_si_numbers, office_province_code

    session, office = ctx.session, _need_office(ctx)
    total = frame.height
    ctx.progress("validate", 0, total)
    communes = commune_frame(session)
    frame, checks = _identity_checks(frame, communes, ctx.today, residence_required=True)
    frame = frame.with_columns(
        _ethnicity=name_column(pl.col("ethnicity")),
        _phone=pl.col("phone").str.replace_all(r"[ .\-()]", ""),
        _si_first=_first_row("si_number"),
    )
    checks += [
        _Check("ethnicity", pl.col("_ethnicity").str.len_chars() > 40, "too_long", {"n": 40}),
        _Check("address", pl.col("address").str.len_chars() > 300, "too_long", {"n": 300}),
        _Check("phone", ~pl.col("_phone").str.contains(r"^\+?\d{1,19}$"), "phone"),
        _Check("si_number", ~pl.col("si_number").str.contains(r"^\d{10}$"), "si_number"),
    ]
    errors = _collect_errors(frame, checks)
    # a repeated SI number: its own "first row" column for the message
    si_dups = _collect_errors(frame.with_columns(_first=pl.col("_si_first")), [
        _Check("si_number", pl.col("si_number").str.contains(r"^\d{10}$") & (pl.col("_si_first") != pl.col("_row")),
               "duplicate")])
    if si_dups.height:
        errors = pl.concat([errors, si_dups]).sort("row", maintain_order=True)
    ctx.progress("validate", total // 2, total)

    # against the registry: the same citizen ID with identical data is unchanged; different data is an error
    compared = [c for c in ("full_name", "date_of_birth", "sex", "ethnicity", "residence_code", "address", "phone",
                            "si_number") if frame[c].null_count() < total or c in ("full_name", "date_of_birth", "sex")]
    existing = _existing_people(session, frame)
    frame = frame.join(existing, left_on="citizen_id", right_on="ex_citizen_id", how="left").sort("_row")
    is_existing = pl.col("ex_id").is_not_null()
    own = {"full_name": pl.col("_name"), "date_of_birth": pl.col("_dob"), "sex": pl.col("_sex"),
           "ethnicity": pl.col("_ethnicity"), "residence_code": pl.col("place_id"), "address": pl.col("address"),
           "phone": pl.col("_phone"), "si_number": pl.col("si_number")}
    theirs = {"full_name": "ex_full_name", "date_of_birth": "ex_date_of_birth", "sex": "ex_sex",
              "ethnicity": "ex_ethnicity", "residence_code": "ex_residence_place_id", "address": "ex_address",
              "phone": "ex_phone", "si_number": "ex_si_number"}
    differ_checks = []
    for column in compared:
        different = ~own[column].eq_missing(pl.col(theirs[column]))
        if column == "si_number":
            different = pl.col("si_number").is_not_null() & different
        differ_checks.append(_Check(column, is_existing & different, "differs",
                                    {"field": column.replace("_", " "), "field_vi": FIELD_VI[column]}))
    # an SI number given for a new person must be free
    taken = _taken_si_numbers(session, frame.filter(~is_existing & pl.col("si_number").is_not_null())["si_number"])
    differ_checks.append(_Check("si_number", ~is_existing & pl.col("si_number").is_in(
        pl.Series(sorted(taken), dtype=pl.String).implode()), "si_taken"))
    clean_rows = frame.filter(~pl.col("_row").is_in(errors["row"].implode()))
    registry_errors = _collect_errors(clean_rows, differ_checks)
    if registry_errors.height:
        errors = pl.concat([errors, registry_errors]).sort("row")
    if errors.height:
        return _Outcome(errors_frame=errors)

    new = frame.filter(~is_existing)
    unchanged = total - new.height
    ctx.progress("validate", total, total)
    province = office_province_code(session, office)
    need = new.filter(pl.col("si_number").is_null()).height
    if need:  # one block of numbers for the whole file
        issued = pl.Series("si_number", issue_si_numbers(session, province[-2:], need), dtype=pl.String)
        given = new.filter(pl.col("si_number").is_not_null())
        new = pl.concat([given, new.filter(pl.col("si_number").is_null()).with_columns(si_number=issued)])
    rows = new.select(
        citizen_id=pl.col("citizen_id"), si_number=pl.col("si_number"), full_name=pl.col("_name"),
        name_search=search_key_column(pl.col("_name")), date_of_birth=pl.col("_dob"), sex=pl.col("_sex"),
        ethnicity=pl.col("_ethnicity"), residence_place_id=pl.col("place_id"), address=pl.col("address"),
        phone=pl.col("_phone"), org_unit_id=pl.lit(office.id, dtype=pl.Int64),
        province_2008=pl.col("province_2008"), province_2025=pl.col("province_2025").fill_null(province),
    )
    del frame, new
    written = 0
    for start in range(0, rows.height, WRITE_CHUNK):
        written += bulk_insert(session, Person.__table__, rows.slice(start, WRITE_CHUNK))
        ctx.progress("write", written, rows.height)
    return _Outcome(created=written, unchanged=unchanged, details={"si_numbers_issued": need})


def _existing_people(session: Session, frame: pl.DataFrame) -> pl.DataFrame:
    schema = {"ex_citizen_id": pl.String, "ex_id": pl.Int64, "ex_si_number": pl.String, "ex_full_name": pl.String,
              "ex_date_of_birth": pl.Date, "ex_sex": pl.String, "ex_ethnicity": pl.String,
              "ex_residence_place_id": pl.Int64, "ex_address": pl.String, "ex_phone": pl.String}
    if session.scalar(select(Person.id).limit(1)) is None:
        return pl.DataFrame(schema=schema)
    ids = frame.filter(pl.col("_cid_problem").is_null())["citizen_id"].unique().to_list()
    rows = []
    for chunk in _chunks(ids):
        rows += session.execute(select(Person.citizen_id, Person.id, Person.si_number, Person.full_name,
                                       Person.date_of_birth, Person.sex, Person.ethnicity, Person.residence_place_id,
                                       Person.address, Person.phone).where(Person.citizen_id.in_(chunk))).all()
    return pl.DataFrame([(r[0], r[1], r[2], r[3], r[4], getattr(r[5], "value", r[5]), *r[6:]) for r in rows],
                        orient="row", schema=schema)


def _taken_si_numbers(session: Session, numbers: pl.Series) -> set[str]:
    values = numbers.drop_nulls().unique().to_list()
    taken: set[str] = set()
    for chunk in _chunks(values):
        taken |= set(session.scalars(select(Person.si_number).where(Person.si_number.in_(chunk))))
    return taken


def _import_population(ctx: _Context, frame: pl.DataFrame, batch: ImportBatch) -> _Outcome:
    session = ctx.session
    total = frame.height
    ctx.progress("validate", 0, total)
    frame, checks = _identity_checks(frame, commune_frame(session), ctx.today, residence_required=False)
    errors = _collect_errors(frame, checks)
    if errors.height:
        return _Outcome(errors_frame=errors)
    ctx.progress("validate", total, total)
    rows = frame.select(import_batch_id=pl.lit(batch.id, dtype=pl.Int64), citizen_id=pl.col("citizen_id"),
                        full_name=pl.col("_name"), date_of_birth=pl.col("_dob"), sex=pl.col("_sex"),
                        residence_place_id=pl.col("place_id"))
    written = 0
    for start in range(0, rows.height, WRITE_CHUNK):
        written += bulk_insert(session, PopulationRecord.__table__, rows.slice(start, WRITE_CHUNK))
        ctx.progress("write", written, rows.height)
    return _Outcome(created=written)


def identity_differences(person, record) -> dict[str, Any]:
    """Where a registry person (``Person`` or the columns of a subquery of it) and a population record of the same
    citizen ID disagree, one condition per field: name, date of birth, sex, and residence when both have it. The
    identity agrees when none holds (the matching rule of :func:`population_sync_report`)."""
    return {"full_name": person.full_name != record.full_name,
            "date_of_birth": person.date_of_birth != record.date_of_birth,
            "sex": person.sex != record.sex,
            "residence": (person.residence_place_id.is_not(None) & record.residence_place_id.is_not(None)
                          & (person.residence_place_id != record.residence_place_id))}


def population_sync_report(session: Session, batch_id: int, principal: Principal | None = None) -> dict:
    """How the registry compares with an imported extract of the national population database: people matched
    (same citizen ID, name, date of birth, sex and — when both have it — residence), people with differing
    fields (per field), people missing on either side, and the match rate: the share of the registry's
    participants (of the batch's office and below) whose identity agrees with the population database."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.kind != "population":
        raise NotFound("There is no population import {id}.", id=batch_id)
    if batch.status != "applied":
        raise ValidationFailed("batch_id", "Import {id} was not applied.", id=batch_id)
    unit = session.get(OrgUnit, batch.org_unit_id) if batch.org_unit_id else None
    if principal is not None and unit is not None:
        ensure_in_scope(principal, unit)
    people = select(Person).where(Person.citizen_id.is_not(None))
    if unit is not None:
        people = people.where(Person.org_unit_id.in_(select(OrgUnit.id).where(
            OrgUnit.path.startswith(unit.path, autoescape=True))))
    elif principal is not None:
        people = people.where(org_scope(principal, Person.org_unit_id))
    scoped = people.subquery()
    record = PopulationRecord
    in_batch = record.import_batch_id == batch.id
    registry_total = session.scalar(select(func.count()).select_from(scoped)) or 0
    extract_total = session.scalar(select(func.count()).where(in_batch)) or 0

    name_diff, dob_diff, sex_diff, place_diff = identity_differences(scoped.c, record).values()
    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(select(func.count(), count_if(name_diff), count_if(dob_diff), count_if(sex_diff),
                                 count_if(place_diff), count_if(name_diff | dob_diff | sex_diff | place_diff))
                          .select_from(scoped).join(record, (record.citizen_id == scoped.c.citizen_id) & in_batch)
                          ).one()
    in_both, name_n, dob_n, sex_n, place_n, differing = (int(v or 0) for v in row)
    matched = in_both - differing
    rate = matched / registry_total if registry_total else None
    percent = f"{rate * 100:.2f}%" if rate is not None else "—"
    samples = session.execute(
        select(scoped.c.citizen_id, name_diff, dob_diff, sex_diff, place_diff, scoped.c.id, scoped.c.si_number)
        .join(record, (record.citizen_id == scoped.c.citizen_id) & in_batch)
        .where(name_diff | dob_diff | sex_diff | place_diff).order_by(scoped.c.citizen_id).limit(100)).all()
    from ansinh.registry.service import record_people_listed

    record_people_listed(session, principal, samples, what="population_sync", query={"batch_id": batch.id})
    return {
        "batch_id": batch.id, "file_name": batch.file_name, "org_unit_id": batch.org_unit_id,
        "registry_people": registry_total, "extract_records": extract_total, "in_both": in_both,
        "matched": matched, "differing": differing,
        "differing_fields": {"full_name": name_n, "date_of_birth": dob_n, "sex": sex_n, "residence": place_n},
        "missing_in_registry": extract_total - in_both, "missing_in_extract": registry_total - in_both,
        "match_rate": round(rate, 6) if rate is not None else None,
        "summary_en": f"participants synchronised with the population database: {percent}",
        "summary_vi": f"người tham gia đã đồng bộ với Cơ sở dữ liệu quốc gia về dân cư: {percent.replace('.', ',')}",
        "differing_samples": [
            {"citizen_id": cid, "fields": [f for f, bad in (("full_name", n), ("date_of_birth", d), ("sex", s),
                                                            ("residence", p)) if bad]}
            for cid, n, d, s, p, *_ in samples],
    }


# --- households -------------------------------------------------------------------------------------------

_ROLES = {"head": "head", "chu ho": "head", "member": "member", "thanh vien": "member"}


def _err(row: int, column: str, value: Any, key: str, **params) -> ImportRowError:
    return ImportRowError(row, column, "" if value is None else str(value), *_reason(key, **params))


def _domain_error(row: int, column: str, value: Any, exc: DomainError) -> ImportRowError:
    with use_locale("vi"):
        vi = exc.translated(gettext)
    with use_locale("en"):
        en = exc.translated(gettext)
    return ImportRowError(row, column, "" if value is None else str(value), en, vi)


def _in_scope(ctx: _Context, org_unit_id: int) -> bool:
    if ctx.principal is None:
        return True
    unit = ctx.session.get(OrgUnit, org_unit_id)
    try:
        ensure_in_scope(ctx.principal, unit)
    except PermissionDenied:
        return False
    return True


def _people_by_citizen_id(session: Session, ids: list[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for chunk in _chunks(sorted(set(ids))):
        found.update({p.citizen_id: p for p in session.scalars(select(Person).where(Person.citizen_id.in_(chunk)))})
    return found


def _base_errors(frame: pl.DataFrame, kind: str, extra: list[_Check] = ()) -> list[ImportRowError]:
    required = [c.name for c in COLUMNS[kind] if c.required]
    return _errors_list(_collect_errors(frame, _required(required) + list(extra)))


def _import_households(ctx: _Context, frame: pl.DataFrame, batch: ImportBatch) -> _Outcome:
    from ansinh.registry.service import create_household, household_members

    session, office = ctx.session, _need_office(ctx)
    frame = frame.with_columns(_role=search_key_column(pl.col("role")).replace_strict(_ROLES, default=None),
                               _first=_first_row("citizen_id"))
    errors = _base_errors(frame, "households", [
        _Check("citizen_id", ~pl.col("citizen_id").str.contains(r"^\d{12}$"), "cid_format"),
        _duplicates("citizen_id"),
        _Check("role", pl.col("role").is_not_null() & pl.col("_role").is_null(), "role"),
        _Check("address", pl.col("address").str.len_chars() > 300, "too_long", {"n": 300})])
    bad_rows = {e.row for e in errors}
    people = _people_by_citizen_id(session, frame["citizen_id"].drop_nulls().to_list())
    groups: dict[str, list[dict]] = {}
    for row in frame.iter_rows(named=True):
        if row["household_key"] is not None:
            groups.setdefault(row["household_key"], []).append(row)
        if row["_row"] in bad_rows or row["citizen_id"] is None:
            continue
        person = people.get(row["citizen_id"])
        if person is None:
            errors.append(_err(row["_row"], "citizen_id", row["citizen_id"], "no_person"))
        elif not _in_scope(ctx, person.org_unit_id):
            errors.append(_err(row["_row"], "citizen_id", row["citizen_id"], "out_of_scope"))
    plans = []
    unchanged = 0
    for key, rows in groups.items():
        heads = [r for r in rows if r["_role"] == "head"]
        if not heads:
            errors.append(_err(rows[0]["_row"], "role", rows[0]["role"], "no_head", key=key))
            continue
        if len(heads) > 1:
            errors.append(_err(heads[1]["_row"], "role", heads[1]["role"], "two_heads", key=key))
            continue
        members = [people.get(r["citizen_id"]) for r in rows]
        if any(m is None for m in members) or any(r["_row"] in bad_rows for r in rows):
            continue
        head = people[heads[0]["citizen_id"]]
        existing = {m.household_id for m in members if m.household_id is not None}
        if existing:
            if len(existing) == 1:
                household = session.get(Household, existing.pop())
                same = {p.id for p in household_members(session, household.id)} == {m.id for m in members}
                if same and household.head_person_id == head.id:
                    unchanged += len(rows)
                    continue
            else:
                household = None
            for r, m in zip(rows, members):
                if m.household_id is not None:
                    code = household.code if household is not None and household.id == m.household_id else \
                        session.get(Household, m.household_id).code
                    errors.append(_err(r["_row"], "citizen_id", r["citizen_id"], "in_household", code=code))
            continue
        plans.append((head, members, heads[0]["address"], len(rows)))
    if errors:
        return _Outcome(errors=sorted(errors, key=lambda e: e.row))
    created = 0
    for number, (head, members, address, count) in enumerate(plans, 1):
        create_household(session, head=head, members=members, org_unit=office, address=address)
        created += count
        _step(ctx, "write", number, len(plans))
    return _Outcome(created=created, unchanged=unchanged, details={"households_created": len(plans)})


# --- employers --------------------------------------------------------------------------------------------

_BOOLS = {"yes": True, "y": True, "true": True, "1": True, "co": True, "x": True,
          "no": False, "n": False, "false": False, "0": False, "khong": False}


def _import_employers(ctx: _Context, frame: pl.DataFrame, batch: ImportBatch) -> _Outcome:
    from ansinh.registry.service import EmployerData, create_employer, validate_employer

    session, office = ctx.session, _need_office(ctx)
    communes = commune_frame(session)
    frame = frame.with_columns(_tax=pl.col("tax_code").str.replace_all("-", "", literal=True))
    frame = frame.with_columns(_first=_first_row("_tax"),
                               _bool=search_key_column(pl.col("e_transactions")).replace_strict(_BOOLS, default=None,
                                                                                              return_dtype=pl.Boolean))
    frame = _with_residence(frame.rename({"place_code": "residence_code"}), communes, "residence_code",
                            "place_structure").rename({"residence_code": "place_code"})
    errors = _base_errors(frame, "employers", [
        _duplicates("tax_code"),
        _Check("e_transactions", pl.col("e_transactions").is_not_null() & pl.col("_bool").is_null(), "bool"),
        _Check("place_structure", ~pl.col("_structure").is_in(["2008", "2025"]), "structure"),
        _Check("place_code", pl.col("place_code").is_not_null() & pl.col("place_id").is_null()
               & pl.col("_structure").is_in(["2008", "2025"]), "commune"),
    ])
    bad_rows = {e.row for e in errors}
    field_column = {"tax_code": "tax_code", "name": "name", "ownership": "ownership", "region": "region",
                    "sector": "sector", "email": "email", "place_id": "place_code"}
    valid: list[tuple[dict, EmployerData]] = []
    for row in frame.iter_rows(named=True):
        if row["_row"] in bad_rows:
            continue
        data = EmployerData(tax_code=row["tax_code"], name=row["name"], ownership=(row["ownership"] or "").lower(),
                            region=(row["region"] or "").upper(), sector=(row["sector"] or "private").lower(),
                            place_id=row["place_id"], address=row["address"], e_transactions=bool(row["_bool"]),
                            contact_name=row["contact_name"], phone=row["phone"], email=row["email"])
        try:
            valid.append((row, validate_employer(data)))
        except ValidationFailed as exc:
            column = field_column.get(exc.field, exc.field)
            errors.append(_domain_error(row["_row"], column, row.get(column), exc))
    codes = [d.tax_code for _, d in valid]
    existing: dict[str, Employer] = {}
    for chunk in _chunks(sorted(set(codes) | {c[:10] for c in codes})):
        existing.update({e.tax_code: e for e in session.scalars(select(Employer).where(Employer.tax_code.in_(chunk)))})
    in_file = set(codes)
    plan, unchanged = [], 0
    compared = ("name", "ownership", "region", "sector", "place_id", "address", "e_transactions", "contact_name",
                "phone", "email")
    for row, data in valid:
        current = existing.get(data.tax_code)
        if current is not None:
            for name in compared:
                ours, theirs = getattr(data, name), getattr(current, name)
                if getattr(ours, "value", ours) != getattr(theirs, "value", theirs):
                    column = field_column.get(name, name)
                    errors.append(_err(row["_row"], column, row.get(column), "employer_differs",
                                       field=name.replace("_", " "), field_vi=FIELD_VI.get(column, column)))
                    break
            else:
                unchanged += 1
            continue
        if len(data.tax_code) == 13 and data.tax_code[:10] not in existing and data.tax_code[:10] not in in_file:
            errors.append(_err(row["_row"], "tax_code", row["tax_code"], "branch_parent", value=data.tax_code,
                               parent=data.tax_code[:10]))
            continue
        plan.append(data)
    if errors:
        return _Outcome(errors=sorted(errors, key=lambda e: e.row))
    for number, data in enumerate(sorted(plan, key=lambda d: len(d.tax_code)), 1):  # parents before branches
        create_employer(session, data, office)
        _step(ctx, "write", number, len(plan))
    return _Outcome(created=len(plan), unchanged=unchanged)


# --- declarations -----------------------------------------------------------------------------------------

_DECLARATION_KINDS = {"join": "join", "tang": "join", "bao tang": "join", "leave": "leave", "giam": "leave",
                      "bao giam": "leave", "salary_change": "salary_change", "salary change": "salary_change",
                      "dieu chinh": "salary_change", "dieu chinh luong": "salary_change"}
_KIND_ORDER = {"join": 0, "salary_change": 1, "leave": 2}
_DECLARATION_FIELDS = {"person": "citizen_id", "kind": "kind", "effective_month": "effective_month",
                       "insured_salary": "insured_salary", "hi_group": "hi_group"}


def amount_column(expr: pl.Expr) -> pl.Expr:
    """Whole dong: digits, optionally grouped by thousands with '.', ',' or spaces (or an Excel ``.0``)."""
    text = pl.when(expr.str.contains(r"^\d+\.0+$")).then(expr.str.replace(r"\.0+$", "")).otherwise(expr)
    grouped = text.str.contains(r"^\d{1,3}([., ]\d{3})+$").fill_null(False)
    digits = pl.when(grouped).then(text.str.replace_all(r"[., ]", "")).otherwise(text)
    return digits.str.strip_chars().cast(pl.Int64, strict=False)


def _import_declarations(ctx: _Context, frame: pl.DataFrame, batch: ImportBatch) -> _Outcome:
    from ansinh.participation.models import Declaration
    from ansinh.participation.service import apply_declaration, check_declaration
    from ansinh.registry.service import ensure_employer_access

    session = ctx.session
    frame = frame.with_columns(
        _kind=search_key_column(pl.col("kind")).str.replace_all("_", " ")
        .replace_strict({k.replace("_", " "): v for k, v in _DECLARATION_KINDS.items()}, default=None),
        _month=month_column(pl.col("effective_month")),
        _salary=amount_column(pl.col("insured_salary")),
        _group=pl.col("hi_group").str.to_uppercase(),
        _tax=pl.col("employer_tax_code").str.replace_all("-", "", literal=True),
    )
    errors = _base_errors(frame, "declarations", [
        _Check("citizen_id", ~pl.col("citizen_id").str.contains(r"^\d{12}$"), "cid_format"),
        _Check("kind", pl.col("kind").is_not_null() & pl.col("_kind").is_null(), "kind"),
        _Check("effective_month", pl.col("effective_month").is_not_null() & pl.col("_month").is_null(), "month"),
        _Check("insured_salary", pl.col("insured_salary").is_not_null() & pl.col("_salary").is_null(), "amount"),
        _Check("insured_salary", (pl.col("_salary") < 0) | (pl.col("_salary") > MAX_AMOUNT), "amount_range",
               {"limit": f"{MAX_AMOUNT:,}"}),
    ])
    bad_rows = {e.row for e in errors}
    people = _people_by_citizen_id(session, frame["citizen_id"].drop_nulls().to_list())
    employers: dict[str, Employer] = {}
    for chunk in _chunks(sorted(set(frame["_tax"].drop_nulls().to_list()))):
        employers.update({e.tax_code: e for e in session.scalars(select(Employer).where(Employer.tax_code.in_(chunk)))})
    rows = []
    for row in frame.iter_rows(named=True):
        if row["_row"] in bad_rows:
            continue
        employer = employers.get(row["_tax"])
        person = people.get(row["citizen_id"])
        if employer is None:
            errors.append(_err(row["_row"], "employer_tax_code", row["employer_tax_code"], "no_employer"))
            continue
        if ctx.principal is not None:
            try:
                ensure_employer_access(session, ctx.principal, employer)
            except PermissionDenied:
                errors.append(_err(row["_row"], "employer_tax_code", row["employer_tax_code"], "not_your_employer"))
                continue
        if person is None:
            errors.append(_err(row["_row"], "citizen_id", row["citizen_id"], "no_person"))
            continue
        rows.append((row, employer, person))
    # natural key: (employer, person, kind, month)
    existing: dict[tuple, Declaration] = {}
    person_ids = sorted({p.id for _, _, p in rows})
    for chunk in _chunks(person_ids):
        for d in session.scalars(select(Declaration).where(Declaration.person_id.in_(chunk))):
            existing.setdefault((d.employer_id, d.person_id, getattr(d.kind, "value", d.kind), d.effective_month), d)
    todo, unchanged = [], 0
    for row, employer, person in rows:
        key = (employer.id, person.id, row["_kind"], row["_month"])
        if key in existing:
            current = existing[key]
            if current.insured_salary == row["_salary"] and (row["_group"] is None or current.hi_group == row["_group"]):
                unchanged += 1
            else:
                errors.append(_err(row["_row"], "kind", row["kind"], "declaration_differs"))
            continue
        todo.append((row, employer, person))
    if errors:
        return _Outcome(errors=sorted(errors, key=lambda e: e.row))
    todo.sort(key=lambda t: (t[0]["_month"], _KIND_ORDER[t[0]["_kind"]], t[0]["_row"]))
    savepoint = session.begin_nested()
    retroactive = 0
    for number, (row, employer, person) in enumerate(todo, 1):
        _step(ctx, "write", number, len(todo))
        arguments = dict(employer=employer, person=person, kind=row["_kind"], effective_month=row["_month"],
                         insured_salary=row["_salary"], hi_group=row["_group"], today=ctx.today)
        with use_locale("en"):
            check = check_declaration(session, **arguments)
        if not check.ok:
            with use_locale("vi"):
                vi = check_declaration(session, **arguments).errors
            for name, message in check.errors.items():
                column = _DECLARATION_FIELDS.get(name, name)
                errors.append(ImportRowError(row["_row"], column, "" if row.get(column) is None else str(row[column]),
                                             message, vi.get(name, message)))
            continue
        declaration = apply_declaration(session, **arguments, submitted_by=ctx.username, import_batch_id=batch.id)
        retroactive += bool(declaration.retroactive)
    if errors:
        savepoint.rollback()
        return _Outcome(errors=sorted(errors, key=lambda e: e.row))
    savepoint.commit()
    return _Outcome(created=len(todo), unchanged=unchanged, details={"retroactive": retroactive})


# --- population figures -----------------------------------------------------------------------------------

def _import_population_figures(ctx: _Context, frame: pl.DataFrame, batch: ImportBatch) -> _Outcome:
    session = ctx.session
    frame = frame.with_columns(
        _structure=pl.col("structure").fill_null("2025"),
        _year=amount_column(pl.col("year")).cast(pl.Int32, strict=False),
        _population=amount_column(pl.col("population")),
        _working=amount_column(pl.col("working_age_population")),
    ).with_columns(_key=pl.concat_str("_structure", "province_code", pl.col("_year").cast(pl.String),
                                      separator="/"))
    frame = frame.with_columns(_first=_first_row("_key"))
    provinces = {(getattr(s, "value", s), c) for s, c in session.execute(
        select(Place.structure, Place.code).where(Place.level == PlaceLevel.province))}
    known = pl.DataFrame({"_sc": sorted(s + "/" + c for s, c in provinces)}, schema={"_sc": pl.String})
    frame = frame.with_columns(_sc=pl.concat_str("_structure", "province_code", separator="/"))
    errors = _base_errors(frame, "population_figures", [
        _Check("structure", ~pl.col("_structure").is_in(["2008", "2025"]), "structure"),
        _Check("province_code", pl.col("province_code").is_not_null() & pl.col("_structure").is_in(["2008", "2025"])
               & ~pl.col("_sc").is_in(known["_sc"].implode()), "province", {"structure": "2008/2025"}),
        _Check("year", pl.col("year").is_not_null() & pl.col("_year").is_null(), "whole_number"),
        _Check("year", (pl.col("_year") < EARLIEST_DATE.year) | (pl.col("_year") > latest_date(ctx.today).year),
               "year", {"last": latest_date(ctx.today).year}),
        _duplicates("province_code"),
        _Check("population", pl.col("population").is_not_null() & pl.col("_population").is_null(), "whole_number"),
        _Check("population", pl.col("_population") > MAX_POPULATION, "population_range",
               {"limit": f"{MAX_POPULATION:,}"}),
        _Check("working_age_population", pl.col("working_age_population").is_not_null()
               & pl.col("_working").is_null(), "whole_number"),
        _Check("working_age_population", pl.col("_working") > pl.col("_population"), "working_age"),
    ])
    bad_rows = {e.row for e in errors}
    created = unchanged = 0
    plan = []
    for row in frame.iter_rows(named=True):
        if row["_row"] in bad_rows:
            continue
        current = session.scalar(select(PopulationFigure).where(
            PopulationFigure.structure == Structure(row["_structure"]),
            PopulationFigure.province_code == row["province_code"], PopulationFigure.year == row["_year"]))
        if current is None:
            plan.append(row)
        elif (current.population, current.working_age_population) == (row["_population"], row["_working"]):
            unchanged += 1
        else:
            column = "population" if current.population != row["_population"] else "working_age_population"
            errors.append(_err(row["_row"], column, row[column], "figure_differs", field=column.replace("_", " "),
                               field_vi=FIELD_VI[column]))
    if errors:
        return _Outcome(errors=sorted(errors, key=lambda e: e.row))
    for row in plan:
        session.add(PopulationFigure(structure=Structure(row["_structure"]), province_code=row["province_code"],
                                     year=row["_year"], population=row["_population"],
                                     working_age_population=row["_working"]))
        created += 1
    session.flush()
    return _Outcome(created=created, unchanged=unchanged)


_HANDLERS: dict[str, Callable[[_Context, pl.DataFrame, ImportBatch], _Outcome]] = {
    "people": _import_people,
    "households": _import_households,
    "employers": _import_employers,
    "declarations": _import_declarations,
    "population": _import_population,
    "population_figures": _import_population_figures,
}


def list_batches(session: Session, principal: Principal | None, *, kind: str | None = None, limit: int = 50
                 ) -> list[ImportBatch]:
    """Recent imports within the caller's scope (imports without an org unit are listed for national staff)."""
    stmt = select(ImportBatch)
    if principal is not None and principal.org_unit_level != "national":
        stmt = stmt.where(org_scope(principal, ImportBatch.org_unit_id))
    if kind:
        stmt = stmt.where(ImportBatch.kind == _kind(kind))
    return list(session.scalars(stmt.order_by(ImportBatch.id.desc()).limit(limit)))


__all__ = ["COLUMNS", "KINDS", "ColumnSpec", "ImportReport", "ImportRowError", "import_file", "list_batches",
           "population_sync_report", "template_xlsx", "columns_markdown", "read_table", "citizen_id_problems",
           "search_key_column", "name_column", "tax_code_column_ok", "commune_frame", "normalise_name", "search_key"]
