"""The national claim file, read: pure, no database.

:func:`parse_claim_file` reads a facility's file (Decision 130/QĐ-BYT as amended by 4750/QĐ-BYT, or its predecessor of
Decision 4210/QĐ-BYT; see ``CLAIMS_FORMAT.md``) into columns: ``claims`` (one row per episode, XML1), ``lines`` (XML2
drugs, XML3 services, supplies and beds) and ``attachments`` (the other tables, as received), with the envelope's
facts and every problem found. :class:`ClaimFileReader` does the same a chunk of episodes at a time, for intake of
files of any size in flat memory.

How it reads, and why it is safe on hostile input:

- the envelope is streamed with lxml's ``iterparse`` (no entity resolution, no network, no DTD loading, libxml2's
  default limits: no text node above 10 MB, no nesting deeper than 256); every element is cleared when it ends and
  the elements before it are dropped, so that only the open ancestors stay in memory whatever the file's size;
- what lxml reads comes through :class:`_Source`, which counts the bytes (a file over the size limit is refused
  when the limit is passed, not after it was read), hashes them, and refuses a document type declaration before the
  root element (no DTD: no entity, internal or external, can be declared);
- the reading thread keeps each ``NOIDUNGFILE``'s text; a batch of episodes at a time, worker threads decode them
  from base64 (Polars; base64 written in lines is read strictly without its whitespace) and have libxml2 check each
  table as UTF-8 XML without a DTD, without building a tree (a table with a DOCTYPE, an entity bomb, a UTF-16 or
  Latin-1 table, broken XML: each a problem naming the episode and the table), while the next batch is read;
- the fields are then taken from the checked tables with Polars (Rust regular expressions: every field of the layout
  is a leaf element). A table that uses what this fast path does not read (CDATA, comments, processing
  instructions, character references, attributes) is read with an lxml tree instead; both give the same values
  (tested);
- every conversion is exact: amounts are decimal text turned into integer thousandths, then dong rounded half up
  (as ``Decimal.quantize(ROUND_HALF_UP)``, never a float); quantities and unit prices stay in thousandths;
  date-times ``yyyyMMddHHmm`` are Vietnam's time (UTC+7) turned to UTC; dates ``yyyyMMdd``.

The kind of an XML3 line follows the cost group (``MA_NHOM``) of the Ministry's shared catalogue (Decision
5937/QĐ-BYT, appendix of cost groups, as used by Decision 130; confirmed against public hospital software): 1 tests,
2 imaging, 3 functional tests, 4 drugs in the list, 5 cancer and anti-rejection drugs outside the list, 6 drugs paid
by a rate, 7 blood, 8 surgery (procedures and surgery before 130), 9 services paid by a rate, 10 supplies in the
list, 11 supplies paid by a rate, 12 transport, 13 examination, 14 day bed, 15 inpatient bed, 16 bed stay, 17
blood products, 18 procedures. A line is a **bed** when it has a bed code (``MA_GIUONG``) or its group is 14, 15 or
16; else a **supply** when it has a supply code (``MA_VAT_TU``) or its group is 10 or 11; else a **service**. Every
XML2 line is a **drug**.

Problems are collected, not raised: :class:`ProblemLog` keeps the first :data:`MAX_LISTED_PROBLEMS` and counts all.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

import polars as pl
from lxml import etree

from ansinh.formatting import message_params, stored_params
from ansinh.i18n import N_, gettext
from ansinh.rules.parameters import ParameterSet, get_parameters

LAYOUT_130 = "130"
LAYOUT_4210 = "4210"


@dataclass(frozen=True)
class DatedRule:
    """A date a rule changes on, with where it comes from."""

    day: date
    reference: str


#: The predecessor layout (Decision 4210/QĐ-BYT of 2017) is accepted only for episodes that ended (NGAY_RA, Vietnam's
#: date) before the day this dated parameter stops (its ``null`` entry: Decision 130/QĐ-BYT applies).
LAYOUT_4210_PARAMETER = "claims.intake.layout_4210"
#: The ``claims.`` parameters intake reads (the others are the appraisal rules').
INTAKE_PARAMETERS = (LAYOUT_4210_PARAMETER,)


def layout_4210_end(parameters: ParameterSet | None = None) -> DatedRule:
    """The first discharge day refused in the 4210 layout, with its reference: the start of the parameter's
    ``null`` entry (the 4210 layout in force the day before)."""
    parameter = (parameters or get_parameters())[LAYOUT_4210_PARAMETER]
    end = next((entry for entry in parameter.values[1:] if entry.value is None), None)
    if end is None:
        raise ValueError(f"{LAYOUT_4210_PARAMETER} has no end (a null entry)")
    parameter.entry_at(end.start - timedelta(days=1))  # still accepted the day before: a value, not null
    return DatedRule(end.start, end.reference)


#: Problems listed in a report (every one is counted).
MAX_LISTED_PROBLEMS = 1_000
#: Episodes read, checked and handed over at a time.
CHUNK_EPISODES = 2_000
#: Tables (FILEHOSO) one episode may have: XML1 … XML15, each once.
MAX_TABLES_PER_EPISODE = 15
#: A table's decoded size (libxml2 already refuses a NOIDUNGFILE of more than 10,000,000 characters).
MAX_TABLE_BYTES = 8_000_000
#: Bytes before the root element (XML declaration, comments) read while looking for a DOCTYPE.
MAX_PROLOG_BYTES = 65_536
#: An error this close (characters) to the end of a file that ends before its root is closed: a truncated file.
TRUNCATION_SLACK = 64
#: The default size limit of a file (``ANSINH_CLAIM_FILE_MAX_BYTES``).
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3

ENVELOPE_ROOT = "GIAMDINHHS"
TABLES = tuple(f"XML{n}" for n in range(1, 16) if n != 12)
ATTACHMENT_TABLES = tuple(t for t in TABLES if t not in ("XML1", "XML2", "XML3"))
ROW_TAG = {"XML2": "CHI_TIET_THUOC", "XML3": "CHI_TIET_DVKT"}
#: Root element of each parsed table, by layout.
TABLE_ROOTS = {LAYOUT_130: {"XML1": "TONG_HOP", "XML2": "CHITIEU_CHITIET_THUOC", "XML3": "CHITIEU_CHITIET_DVKT_VTYT"},
               LAYOUT_4210: {"XML1": "TONG_HOP", "XML2": "DSACH_CHI_TIET_THUOC", "XML3": "DSACH_CHI_TIET_DVKT"}}

#: MA_NHOM → kind of an XML3 line (see the module docstring).
COST_GROUPS = {1: "tests", 2: "imaging", 3: "functional tests", 4: "drugs in the list",
               5: "cancer and anti-rejection drugs outside the list", 6: "drugs paid by a rate", 7: "blood",
               8: "surgery", 9: "services paid by a rate", 10: "supplies in the list", 11: "supplies paid by a rate",
               12: "transport", 13: "examination", 14: "day bed", 15: "inpatient bed", 16: "bed stay",
               17: "blood products", 18: "procedures"}
BED_GROUPS = (14, 15, 16)
SUPPLY_GROUPS = (10, 11)

# --- the reasons (English msgids; Vietnamese in the catalogue) -------------------------------------------------

R = {
    "too_large": N_("The file is larger than the limit of {limit} bytes."),
    "not_xml": N_("The file is not well-formed XML: {detail}"),
    "not_utf8": N_("The file is not encoded in UTF-8: {detail}"),
    "truncated": N_("The file ends too early: it was cut off (line {line})."),
    "dtd": N_("A document type declaration (DOCTYPE) is not allowed: entities and external references are refused."),
    "prolog": N_("No root element within the first {limit} bytes."),
    "root": N_("The root element is not GIAMDINHHS: this is not a claim file."),
    "envelope_missing": N_("The envelope has no {name}."),
    "envelope_facility": N_("The file is of another facility than the one it is sent for ({expected})."),
    "facility_code": N_("Not a facility code of 5 digits."),
    "created_on": N_("Not a date yyyyMMdd."),
    "count_format": N_("Not a whole number."),
    "count": N_("SOLUONGHOSO says {declared} episodes, but the file has {found}."),
    "no_episode": N_("The file has no episode (HOSO)."),
    "outside_episode": N_("A table (FILEHOSO) is outside any episode (HOSO)."),
    "too_many_tables": N_("An episode has more than {limit} tables."),
    "unknown_table": N_("Not a table of the claim file (XML1 to XML15)."),
    "no_summary": N_("The episode has no summary table (XML1)."),
    "twice": N_("This table appears more than once in the episode."),
    "empty_table": N_("The table is empty."),
    "base64": N_("The content is not valid base64."),
    "table_too_large": N_("The table is larger than {limit} bytes."),
    "table_encoding": N_("The table is not encoded in UTF-8 ({detail})."),
    "table_xml": N_("The table is not well-formed XML: {detail}"),
    "table_dtd": N_("The table has a document type declaration (DOCTYPE): entities and external references are "
                    "refused."),
    "table_control": N_("The table contains control characters."),
    "table_root": N_("The table's root element is not {expected}."),
    "mixed_layout": N_("This table is in another layout than the file's (Decision {expected})."),
    "layout_4210_late": N_("The layout of Decision 4210 is accepted only for episodes that ended before {day}."),
    "required": N_("A value is required."),
    "too_long": N_("At most {limit} characters."),
    "datetime": N_("Not a date and time yyyyMMddHHmm."),
    "date": N_("Not a date yyyyMMdd."),
    "birth_date": N_("Not a date of birth yyyyMMdd or yyyyMMddHHmm."),
    "amount": N_("Not an amount: digits, a decimal point and at most {decimals} decimals."),
    "whole": N_("Not a whole number."),
    "range": N_("Not a number from {low} to {high}."),
    "choice": N_("Not one of {accepted}."),
    "percent": N_("Not a whole percentage from 0 to 100."),
    "citizen_id": N_("A citizen ID has 12 digits."),
    "card_code": N_("Not a card code (2 letters, a digit 1-5, 2 digits and the 10-digit SI number)."),
    "icd": N_("Not an ICD-10 code."),
    "visit_category": N_("Not a visit category code (such as 1.1 or 2)."),
    "care_type": N_("Not a care type (01 to 09)."),
    "cost_group": N_("Not a cost group of the Ministry's catalogue (1 to 18)."),
    "no_code": N_("The line has neither a service code (MA_DICH_VU) nor a supply code (MA_VAT_TU)."),
    "duplicate_key": N_("This MA_LK is already the key of episode {first} of the file."),
    "duplicate_row": N_("This row number (STT) appears more than once in the table."),
    "other_episode": N_("This line's MA_LK is that of another episode of the file."),
    "orphan": N_("No episode of the file has this MA_LK (no summary XML1)."),
    "episode_facility": N_("MA_CSKCB is not the file's facility ({expected})."),
    "total": N_("{name} is {declared}, but the lines' {lines} add up to {computed}."),
    "fund": N_("T_BHTT is {declared}, but T_TONGCHI_BH − T_BNCCT is {computed}."),
    "settled": N_("This episode is already settled: it cannot be sent again."),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (the episode's MA_LK, the table, the row, the field) and why."""

    ma_lk: str | None
    table: str | None
    row: int | None
    field: str | None
    reason: str  # an English template, the msgid of its translations
    params: dict = field(default_factory=dict)
    value: str | None = None  # the text found, when it helps (at most 60 characters)
    episode: int | None = field(default=None, compare=False)  # the HOSO's position in the file, to sort by

    def text(self) -> str:
        """The reason in the current language, its numbers and dates written that language's way."""
        template = gettext(self.reason)
        if not self.params:
            return template
        params = stored_params(self.params)
        for key in ("declared", "computed"):
            if isinstance(params.get(key), str):
                params[key] = Decimal(params[key])
        return template.format(**message_params(params))

    def to_json(self) -> dict:
        """As the report shows it, the reason in the current language."""
        return {"ma_lk": self.ma_lk, "table": self.table, "row": self.row, "field": self.field,
                "reason": self.text(), "value": self.value}

    def stored(self) -> dict:
        """As kept with the file (``ClaimFile.problems``): the template and its parameters."""
        return {"ma_lk": self.ma_lk, "table": self.table, "row": self.row, "field": self.field,
                "reason": self.reason, "params": {k: _jsonable(v) for k, v in self.params.items()},
                "value": self.value}

    @classmethod
    def from_stored(cls, data: dict) -> Problem:
        return cls(data.get("ma_lk"), data.get("table"), data.get("row"), data.get("field"), data["reason"],
                   data.get("params") or {}, data.get("value"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def problem(key: str, *, ma_lk: str | None = None, table: str | None = None, row: int | None = None,
            field: str | None = None, value: Any = None, episode: int | None = None, **params: Any) -> Problem:
    if episode is None:  # a summary's or a table's problem: its row is the episode (a line's says its episode)
        episode = row
    return Problem(ma_lk, table, row, field, R[key], params, _shown(value), episode)


def _shown(value: Any) -> str | None:
    """A value as a report shows it: at most 60 characters, control characters written ``\\xNN``."""
    if value is None:
        return None
    text = str(value)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= 60 else text[:59] + "…"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class ProblemLog:
    """Every problem counted; the first ``limit`` kept."""

    def __init__(self, limit: int = MAX_LISTED_PROBLEMS) -> None:
        self.limit = limit
        self.count = 0
        self.listed: list[Problem] = []

    def add(self, item: Problem) -> None:
        self.count += 1
        if len(self.listed) < self.limit:
            self.listed.append(item)

    def extend(self, items: list[Problem], total: int | None = None) -> None:
        room = max(0, self.limit - len(self.listed))
        self.listed.extend(items[:room])
        self.count += len(items) if total is None else total

    def merge(self, other: ProblemLog) -> None:
        """Add another log's problems (listed as far as there is room; all counted)."""
        self.extend(other.listed, total=other.count)

    @property
    def room(self) -> int:
        return max(0, self.limit - len(self.listed))

    def __bool__(self) -> bool:
        return self.count > 0


# --- the envelope, streamed -------------------------------------------------------------------------------------

class FileRefused(Exception):
    """The file cannot be read further (too large, a DTD, not XML): the problem says why."""

    def __init__(self, item: Problem) -> None:
        super().__init__(item.reason)
        self.problem = item


_CONTINUATION = bytes(range(0x80, 0xC0))
_PROLOG_SKIP = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.S)


class _Source:
    """The stream as lxml reads it: bytes counted (refused past ``max_bytes``), hashed, the prolog checked for a
    DOCTYPE, and where the last line ends (to tell a truncated file from a malformed one)."""

    def __init__(self, stream: BinaryIO, max_bytes: int, hashed: bool = True) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.size = 0
        self.sha256 = hashlib.sha256() if hashed else None
        self.eof = False
        self.lines = 1
        self.last_line_chars = 0
        self._prolog: bytes | None = b""

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size if size and size > 0 else 1 << 16)
        if not data:
            self.eof = True
            if self._prolog:
                self._check_prolog(b"", final=True)
            return b""
        self.size += len(data)
        if self.size > self.max_bytes:
            raise FileRefused(problem("too_large", limit=self.max_bytes))
        if self.sha256 is not None:
            self.sha256.update(data)
        newline = data.rfind(b"\n")
        tail = data if newline < 0 else data[newline + 1:]
        chars = len(tail) if tail.isascii() else len(tail.translate(None, _CONTINUATION))  # the envelope is ASCII
        if newline >= 0:
            self.lines += data.count(b"\n")
            self.last_line_chars = chars
        else:
            self.last_line_chars += chars
        if self._prolog is not None:
            self._check_prolog(data)
        return data

    def _check_prolog(self, data: bytes, final: bool = False) -> None:
        """Refuse a DOCTYPE before the root element (what comes before it: a BOM, the XML declaration, comments,
        processing instructions)."""
        buffer = self._prolog + data
        text = buffer[3:] if buffer.startswith(b"\xef\xbb\xbf") else buffer
        position = 0
        while True:
            match = _PROLOG_SKIP.match(text, position)
            if match is None:
                break
            position = match.end()
        rest = text[position:].lstrip()
        if rest.startswith(b"<!DOCTYPE") or rest.startswith(b"<!ENTITY"):
            raise FileRefused(problem("dtd"))
        if rest[:1] == b"<" and len(rest) >= 2 and rest[1:2] not in (b"?", b"!"):
            self._prolog = None  # the root has started
        elif rest and rest[:1] != b"<":
            self._prolog = None  # not XML: lxml says so
        elif final or len(buffer) > MAX_PROLOG_BYTES:
            if len(buffer) > MAX_PROLOG_BYTES:
                raise FileRefused(problem("prolog", limit=MAX_PROLOG_BYTES))
            self._prolog = None
        else:
            self._prolog = buffer


@dataclass
class Envelope:
    """What the envelope says, as read so far."""

    facility_code: str | None = None  # MACSKCB
    created_on: date | None = None  # NGAYLAP
    declared_count: int | None = None  # SOLUONGHOSO
    layout: str | None = None  # "130" or "4210", from the first summary read
    episodes: int = 0  # HOSO read
    size_bytes: int = 0
    sha256: str = ""


@dataclass
class Chunk:
    """Episodes of a file, checked: ``claims`` (one row per episode, ``hoso`` its 1-based position in the file),
    ``lines`` and ``attachments`` (``hoso`` links them to their episode)."""

    claims: pl.DataFrame
    lines: pl.DataFrame
    attachments: pl.DataFrame


class _TableCheck:
    """An lxml parser target that builds nothing and notes a DOCTYPE: libxml2 checks the table (well-formed, UTF-8)
    without a tree."""

    __slots__ = ("doctype_seen",)

    def __init__(self) -> None:
        self.doctype_seen = False

    def doctype(self, *_args) -> None:
        self.doctype_seen = True

    def close(self) -> bool:
        return self.doctype_seen


def _safe_parser(**options) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, encoding="utf-8", collect_ids=False, **options)


# --- the columns of each table ------------------------------------------------------------------------------

#: canonical name → (tag in the 130 layout, tag in the 4210 layout); None where a layout has no such field.
XML1_TAGS: dict[str, tuple[str | None, str | None]] = {
    "episode_key": ("MA_LK", "MA_LK"), "patient_ref": ("MA_BN", "MA_BN"), "full_name": ("HO_TEN", "HO_TEN"),
    "citizen_id": ("SO_CCCD", None), "date_of_birth": ("NGAY_SINH", "NGAY_SINH"), "sex": ("GIOI_TINH", "GIOI_TINH"),
    "card_code": ("MA_THE_BHYT", "MA_THE"), "registered_facility": ("MA_DKBD", "MA_DKBD"),
    "card_valid_from": ("GT_THE_TU", "GT_THE_TU"), "card_valid_to": ("GT_THE_DEN", "GT_THE_DEN"),
    "main_icd": ("MA_BENH_CHINH", "MA_BENH"), "other_icd": ("MA_BENH_KT", "MA_BENHKHAC"),
    "visit_category": ("MA_DOITUONG_KCB", "MA_LYDO_VVIEN"), "care_type": ("MA_LOAI_KCB", "MA_LOAI_KCB"),
    "referred_from": ("MA_NOI_DI", "MA_NOI_CHUYEN"), "arrived_at": ("NGAY_VAO", "NGAY_VAO"),
    "admitted_at": ("NGAY_VAO_NOI_TRU", None), "discharged_at": ("NGAY_RA", "NGAY_RA"),
    "treatment_days": ("SO_NGAY_DTRI", "SO_NGAY_DTRI"), "outcome": ("KET_QUA_DTRI", "KET_QUA_DTRI"),
    "discharge_type": ("MA_LOAI_RV", "TINH_TRANG_RV"), "total_hospital": ("T_TONGCHI_BV", "T_TONGCHI"),
    "total_insured": ("T_TONGCHI_BH", "T_TONGCHI"), "patient_copay": ("T_BNCCT", "T_BNCCT"),
    "patient_pays": ("T_BNTT", "T_BNTT"), "fund_claimed": ("T_BHTT", "T_BHTT"),
    "other_sources": ("T_NGUONKHAC", "T_NGUONKHAC"), "settlement_year": ("NAM_QT", "NAM_QT"),
    "settlement_month": ("THANG_QT", "THANG_QT"), "facility_code": ("MA_CSKCB", "MA_CSKCB"),
}
LINE_TAGS: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "XML2": {
        "episode_key": ("MA_LK", "MA_LK"), "row_no": ("STT", "STT"), "drug_code": ("MA_THUOC", "MA_THUOC"),
        "cost_group": ("MA_NHOM", "MA_NHOM"), "drug_name": ("TEN_THUOC", "TEN_THUOC"),
        "unit": ("DON_VI_TINH", "DON_VI_TINH"), "scope": ("PHAM_VI", "PHAM_VI"),
        "quantity": ("SO_LUONG", "SO_LUONG"), "unit_price": ("DON_GIA", "DON_GIA"),
        "payment_rate": ("TYLE_TT_BH", "TYLE_TT"), "benefit_pct": ("MUC_HUONG", "MUC_HUONG"),
        "hospital_amount": ("THANH_TIEN_BV", "THANH_TIEN"), "insured_amount": ("THANH_TIEN_BH", "THANH_TIEN"),
        "fund_amount": ("T_BHTT", "T_BHTT"), "patient_copay": ("T_BNCCT", "T_BNCCT"),
        "patient_pays": ("T_BNTT", "T_BNTT"), "tender": ("TT_THAU", "TT_THAU"), "department": ("MA_KHOA", "MA_KHOA"),
        "ordered_at": ("NGAY_YL", "NGAY_YL"), "performed_at": ("NGAY_TH_YL", None),
    },
    "XML3": {
        "episode_key": ("MA_LK", "MA_LK"), "row_no": ("STT", "STT"), "service_code": ("MA_DICH_VU", "MA_DICH_VU"),
        "supply_code": ("MA_VAT_TU", "MA_VAT_TU"), "cost_group": ("MA_NHOM", "MA_NHOM"),
        "service_name": ("TEN_DICH_VU", "TEN_DICH_VU"), "supply_name": ("TEN_VAT_TU", "TEN_VAT_TU"),
        "unit": ("DON_VI_TINH", "DON_VI_TINH"), "scope": ("PHAM_VI", "PHAM_VI"),
        "quantity": ("SO_LUONG", "SO_LUONG"), "unit_price": ("DON_GIA_BH", "DON_GIA"),
        "payment_rate": ("TYLE_TT_BH", "TYLE_TT"), "benefit_pct": ("MUC_HUONG", "MUC_HUONG"),
        "hospital_amount": ("THANH_TIEN_BV", "THANH_TIEN"), "insured_amount": ("THANH_TIEN_BH", "THANH_TIEN"),
        "fund_amount": ("T_BHTT", "T_BHTT"), "patient_copay": ("T_BNCCT", "T_BNCCT"),
        "patient_pays": ("T_BNTT", "T_BNTT"), "tender": ("TT_THAU", "TT_THAU"), "bed_code": ("MA_GIUONG", "MA_GIUONG"),
        "department": ("MA_KHOA", "MA_KHOA"), "ordered_at": ("NGAY_YL", "NGAY_YL"),
        "performed_at": ("NGAY_TH_YL", None), "result_at": ("NGAY_KQ", "NGAY_KQ"),
    },
}
LINE_COLUMNS = ("source_table", "row_no", "kind", "code", "cost_group", "name", "unit", "scope", "quantity_milli",
                "unit_price_milli", "payment_rate", "benefit_pct", "hospital_amount", "insured_amount", "fund_amount",
                "patient_copay", "patient_pays", "tender", "bed_code", "department", "ordered_at", "performed_at",
                "result_at")
CLAIM_COLUMNS = ("episode_key", "patient_ref", "full_name", "citizen_id", "date_of_birth", "sex", "card_code",
                 "registered_facility", "card_valid_from", "card_valid_to", "main_icd", "other_icd", "visit_category",
                 "care_type", "referred_from", "arrived_at", "admitted_at", "discharged_at", "treatment_days",
                 "outcome", "discharge_type", "total_hospital", "total_insured", "patient_copay", "patient_pays",
                 "fund_claimed", "other_sources", "settlement_year", "settlement_month")
UTC_MOMENT = pl.Datetime("us", "UTC")
CLAIM_SCHEMA: dict[str, Any] = {
    "hoso": pl.Int64, "episode_key": pl.String, "patient_ref": pl.String, "full_name": pl.String,
    "citizen_id": pl.String, "date_of_birth": pl.Date, "sex": pl.Int16, "card_code": pl.String,
    "registered_facility": pl.String, "card_valid_from": pl.Date, "card_valid_to": pl.Date, "main_icd": pl.String,
    "other_icd": pl.String, "visit_category": pl.String, "care_type": pl.String, "referred_from": pl.String,
    "arrived_at": UTC_MOMENT, "admitted_at": UTC_MOMENT, "discharged_at": UTC_MOMENT, "treatment_days": pl.Int32,
    "outcome": pl.Int16, "discharge_type": pl.Int16, "total_hospital": pl.Int64, "total_insured": pl.Int64,
    "patient_copay": pl.Int64, "patient_pays": pl.Int64, "fund_claimed": pl.Int64, "other_sources": pl.Int64,
    "settlement_year": pl.Int16, "settlement_month": pl.Int16, "facility_code": pl.String,
}
LINE_SCHEMA: dict[str, Any] = {
    "hoso": pl.Int64, "episode_key": pl.String, "source_table": pl.String, "row_no": pl.Int32, "kind": pl.String,
    "code": pl.String, "cost_group": pl.String, "name": pl.String, "unit": pl.String, "scope": pl.Int16,
    "quantity_milli": pl.Int64, "unit_price_milli": pl.Int64, "payment_rate": pl.Int16, "benefit_pct": pl.Int16,
    "hospital_amount": pl.Int64, "insured_amount": pl.Int64, "fund_amount": pl.Int64, "patient_copay": pl.Int64,
    "patient_pays": pl.Int64, "tender": pl.String, "bed_code": pl.String, "department": pl.String,
    "ordered_at": UTC_MOMENT, "performed_at": UTC_MOMENT, "result_at": UTC_MOMENT,
}
ATTACHMENT_SCHEMA: dict[str, Any] = {"hoso": pl.Int64, "ma_lk": pl.String, "table": pl.String, "content": pl.String}


def _tags(mapping: dict[str, tuple[str | None, str | None]], layout: str) -> dict[str, str]:
    index = 0 if layout == LAYOUT_130 else 1
    return {name: tags[index] for name, tags in mapping.items() if tags[index] is not None}


# --- reading -----------------------------------------------------------------------------------------------------

@dataclass
class _Checked:
    """What checking a batch of episodes gives (on a worker thread), merged on the reading thread in file order."""

    chunk: Chunk | None
    problems: ProblemLog
    keys: list[tuple[int, str]]  # (episode, MA_LK) of the summaries read
    layout: str | None
    strays: list[tuple[int, str, str, int]]  # (episode, table, line's MA_LK, row) of lines not of their episode
    stray_count: int


class _Context(threading.local):
    """What a thread checking a batch writes to."""

    sink: ProblemLog | None = None
    strays: list | None = None
    stray_count: int = 0
    parsers: tuple | None = None


#: Batches checked at the same time (each on a thread of its own; libxml2 and Polars let go of the interpreter).
CHECK_THREADS = 2


class ClaimFileReader:
    """Reads a claim file a chunk of episodes at a time: iterate :meth:`chunks`; the envelope's facts are in
    :attr:`envelope` (complete once the chunks are exhausted), every problem in :attr:`problems`. A chunk is handed
    over only while no problem has been found (a file with a problem is refused as a whole: what follows is still
    read, for its problems).

    The reading thread streams the envelope and keeps each table's base64 text; the tables of a batch of episodes are
    decoded, checked and read into columns on worker threads (``threads``), while the next batch is read; their
    problems are merged in the order of the file."""

    def __init__(self, stream: BinaryIO, *, file_name: str = "", facility_code: str | None = None,
                 max_bytes: int = DEFAULT_MAX_FILE_BYTES, layout_4210_ends: DatedRule | None = None,
                 chunk_episodes: int = CHUNK_EPISODES, max_problems: int = MAX_LISTED_PROBLEMS,
                 threads: bool = True, hashed: bool = True) -> None:
        self.file_name = file_name
        self.expected_facility = facility_code
        self.layout_4210_ends = layout_4210_ends or layout_4210_end()
        self.chunk_episodes = chunk_episodes
        self.envelope = Envelope()
        self.problems = ProblemLog(max_problems)
        self._source = _Source(stream, max_bytes, hashed)
        self._keys: dict[str, int] = {}  # MA_LK → the episode (1-based) that has it
        self._strays: list[tuple[int, str, str, int]] = []  # resolved at the end of the file
        self._stray_count = 0
        self.claim_count = 0
        self.line_count = 0
        self.threads = threads
        self._local = _Context()

    @property
    def _out(self) -> ProblemLog:
        """Where problems go: the log of the batch being read or checked in this thread, else the file's."""
        sink = self._local.sink
        return sink if sink is not None else self.problems

    def _parsers(self) -> tuple[_TableCheck, etree.XMLParser, etree.XMLParser]:
        """This thread's parsers (an lxml parser is used by one thread at a time)."""
        if self._local.parsers is None:
            check = _TableCheck()
            self._local.parsers = (check, _safe_parser(target=check),
                                   _safe_parser(remove_comments=True, remove_pis=True))
        return self._local.parsers

    # the envelope's events ----------------------------------------------------------------------------------

    def chunks(self) -> Iterator[Chunk]:
        """The episodes, checked, a chunk at a time (none once a problem is found)."""
        pending: list[tuple[str | None, str | None]] = []  # (LOAIHOSO, NOIDUNGFILE) of the open HOSO
        kind: str | None = None
        content: str | None = None
        batch: list[tuple[int, dict[str, str | None]]] = []
        self._local.sink = sink = ProblemLog(self.problems.limit)
        in_flight: deque[tuple[ProblemLog, Future]] = deque()
        executor = ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="claim-file") if self.threads else None
        root_checked = root_closed = False
        source = self._source

        def submit() -> None:
            nonlocal batch, sink
            if executor is not None:
                future = executor.submit(self._check_batch, batch)
            else:
                future = Future()
                future.set_result(self._check_batch(batch))
            in_flight.append((sink, future))
            batch = []
            self._local.sink = sink = ProblemLog(self.problems.limit)

        def ready(keep: int) -> Iterator[Chunk]:
            while len(in_flight) > keep:
                read_problems, future = in_flight.popleft()
                checked = future.result()
                chunk = self._merge(read_problems, checked)
                if chunk is not None and not self.problems and not self._stray_count:
                    yield chunk

        try:
            events = etree.iterparse(source, events=("end",), resolve_entities=False, no_network=True,
                                     load_dtd=False, dtd_validation=False, huge_tree=False, encoding="utf-8",
                                     remove_comments=True, remove_pis=True, collect_ids=False)
            for _event, element in events:
                tag = element.tag
                if not root_checked:
                    root_checked = True
                    if element.getroottree().getroot().tag != ENVELOPE_ROOT:
                        raise FileRefused(problem("root"))
                if tag == "NOIDUNGFILE":
                    content = element.text
                elif tag == "LOAIHOSO":
                    kind = (element.text or "").strip()
                elif tag == "FILEHOSO":
                    if len(pending) < MAX_TABLES_PER_EPISODE:
                        pending.append((kind, content))
                    elif len(pending) == MAX_TABLES_PER_EPISODE:
                        pending.append((None, None))
                    kind = content = None
                elif tag == "HOSO":
                    self.envelope.episodes += 1
                    tables = self._episode_tables(self.envelope.episodes, pending)
                    pending = []
                    if tables is not None:
                        batch.append((self.envelope.episodes, tables))
                    if len(batch) >= self.chunk_episodes:
                        submit()
                        yield from ready(keep=CHECK_THREADS if executor is not None else 0)
                elif tag in ("MACSKCB", "NGAYLAP", "SOLUONGHOSO"):
                    self._envelope_field(tag, element.text)
                elif tag == ENVELOPE_ROOT:
                    root_closed = True
                element.clear(keep_tail=False)
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
            if pending:
                self._out.add(problem("outside_episode"))
            submit()
            yield from ready(keep=0)
            self._finish(root_closed)
        except (FileRefused, etree.XMLSyntaxError) as error:
            for _chunk in ready(keep=0):
                pass
            self.problems.merge(sink)
            self.problems.add(error.problem if isinstance(error, FileRefused) else self._syntax_problem(error))
        finally:
            self._local.sink = None
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
            self.envelope.size_bytes = source.size
            self.envelope.sha256 = source.sha256.hexdigest() if source.sha256 is not None else ""

    def _merge(self, read_problems: ProblemLog, checked: _Checked) -> Chunk | None:
        """Take a checked batch in, in file order: its layout against the file's, its keys against those before."""
        items = []
        if checked.layout is not None:
            if self.envelope.layout is None:
                self.envelope.layout = checked.layout
            elif checked.layout != self.envelope.layout and checked.keys:
                items.append(problem("mixed_layout", table="XML1", row=checked.keys[0][0],
                                     expected=self.envelope.layout))
        for episode, key in checked.keys:
            first = self._keys.setdefault(key, episode)
            if first != episode:
                items.append(problem("duplicate_key", ma_lk=key, table="XML1", row=episode, field="MA_LK", value=key,
                                     first=first))
        both = sorted(read_problems.listed + checked.problems.listed + items, key=lambda p: p.episode or 0)
        self.problems.extend(both, total=read_problems.count + checked.problems.count + len(items))
        room = max(0, self.problems.limit - len(self._strays))
        self._strays.extend(checked.strays[:room])
        self._stray_count += checked.stray_count
        if checked.chunk is not None:
            self.claim_count += checked.chunk.claims.height
            self.line_count += checked.chunk.lines.height
        return checked.chunk

    def _check_batch(self, batch: list[tuple[int, dict[str, str | None]]]) -> _Checked:
        """Decode, check and read a batch (on a worker thread, or this one)."""
        context = self._local
        saved = context.sink, context.strays, context.stray_count
        context.sink, context.strays, context.stray_count = ProblemLog(self.problems.limit), [], 0
        try:
            chunk, keys, layout = self._chunk(batch) if batch else (None, [], None)
            return _Checked(chunk, context.sink, keys, layout, context.strays, context.stray_count)
        finally:
            context.sink, context.strays, context.stray_count = saved

    def _syntax_problem(self, error: etree.XMLSyntaxError) -> Problem:
        source = self._source
        message = str(error).split(", line ")[0][:200]
        line, column = error.position if error.position else (0, 0)
        if source.eof and line >= source.lines and column >= source.last_line_chars - TRUNCATION_SLACK:
            return problem("truncated", line=line)
        if "encoding" in message.lower() or "utf-8" in message.lower():
            return problem("not_utf8", detail=f"{message} (line {line}, column {column})")
        return problem("not_xml", detail=f"{message} (line {line}, column {column})")

    def _envelope_field(self, tag: str, text: str | None) -> None:
        value = (text or "").strip()
        envelope = self.envelope
        if tag == "MACSKCB" and envelope.facility_code is None:
            envelope.facility_code = value
            if not re.fullmatch(r"\d{5}", value):
                self._out.add(problem("facility_code", field="MACSKCB", value=value))
            elif self.expected_facility and value != self.expected_facility:
                self._out.add(problem("envelope_facility", field="MACSKCB", value=value,
                                          expected=self.expected_facility))
        elif tag == "NGAYLAP" and envelope.created_on is None:
            try:
                envelope.created_on = date(int(value[:4]), int(value[4:6]), int(value[6:8])) \
                    if re.fullmatch(r"\d{8}", value) else None
            except ValueError:
                envelope.created_on = None
            if envelope.created_on is None:
                self._out.add(problem("created_on", field="NGAYLAP", value=value))
        elif tag == "SOLUONGHOSO" and envelope.declared_count is None:
            if re.fullmatch(r"\d{1,9}", value):
                envelope.declared_count = int(value)
            else:
                self._out.add(problem("count_format", field="SOLUONGHOSO", value=value))

    def _finish(self, root_closed: bool) -> None:
        envelope = self.envelope
        for name, present in (("MACSKCB", envelope.facility_code is not None),
                              ("NGAYLAP", envelope.created_on is not None or self._has_problem("NGAYLAP")),
                              ("SOLUONGHOSO", envelope.declared_count is not None
                               or self._has_problem("SOLUONGHOSO"))):
            if not present:
                self.problems.add(problem("envelope_missing", field=name, name=name))
        if envelope.episodes == 0:
            self.problems.add(problem("no_episode"))
        if envelope.declared_count is not None and envelope.declared_count != envelope.episodes:
            self.problems.add(problem("count", field="SOLUONGHOSO", declared=envelope.declared_count,
                                      found=envelope.episodes))
        for episode, table, key, row in self._strays:
            owner = self._keys.get(key)
            reason = "other_episode" if owner is not None else "orphan"
            self.problems.add(problem(reason, ma_lk=key, table=table, row=row, field="MA_LK", value=key,
                                      episode=episode))
        self.problems.count += self._stray_count - len(self._strays)

    def _has_problem(self, name: str) -> bool:
        return any(p.field == name and p.table is None for p in self.problems.listed)

    # one episode's tables -------------------------------------------------------------------------------------

    def _episode_tables(self, episode: int, pending: list[tuple[str | None, str | None]]
                        ) -> dict[str, str | None] | None:
        """An episode's tables by LOAIHOSO, as base64 text (None for one that cannot be used: empty, or sent twice);
        None when the episode has no summary. The tables are decoded and checked on a worker thread."""
        tables: dict[str, str | None] = {}
        if len(pending) > MAX_TABLES_PER_EPISODE:
            self._out.add(problem("too_many_tables", row=episode, limit=MAX_TABLES_PER_EPISODE))
            pending = pending[:MAX_TABLES_PER_EPISODE]
        for kind, content in pending:
            if kind not in TABLES:
                self._out.add(problem("unknown_table", row=episode, field="LOAIHOSO", value=kind))
            elif kind in tables:
                self._out.add(problem("twice", table=kind, row=episode))
                tables[kind] = None
            elif not (content or "").strip():
                self._out.add(problem("empty_table", table=kind, row=episode, field="NOIDUNGFILE"))
                tables[kind] = None
            else:
                tables[kind] = content
        if "XML1" not in tables:
            self._out.add(problem("no_summary", row=episode))
            return None
        return tables

    def _decoded(self, batch: list[tuple[int, dict[str, str | None]]]) -> pl.DataFrame:
        """Every table of a batch decoded from base64 (with Polars) and checked by libxml2: (hoso, kind, raw), the
        tables that cannot be read left out (each a problem), and the episodes whose summary, drugs or services
        cannot be read left out entirely."""
        episodes: list[int] = []
        kinds: list[str] = []
        texts: list[str | None] = []
        for episode, tables in batch:
            for kind, text in tables.items():
                episodes.append(episode)
                kinds.append(kind)
                texts.append(text)
        frame = pl.DataFrame({"hoso": episodes, "kind": kinds, "text": texts},
                             schema={"hoso": pl.Int64, "kind": pl.String, "text": pl.String})
        raws = frame["text"].str.decode("base64", strict=False).to_list()
        keep = [True] * len(raws)
        unusable: set[int] = set()
        for index, raw in enumerate(raws):
            episode, kind = episodes[index], kinds[index]
            if raw is None and texts[index] is not None:  # maybe wrapped base64 (line breaks, spaces): strictly
                try:
                    raw = raws[index] = binascii.a2b_base64("".join(texts[index].split()), strict_mode=True)
                except (binascii.Error, ValueError):
                    self._out.add(problem("base64", table=kind, row=episode, field="NOIDUNGFILE"))
            reason = None if raw is None else ("table_too_large", {"limit": MAX_TABLE_BYTES}) \
                if len(raw) > MAX_TABLE_BYTES else self.check_table(raw)
            if reason is not None:
                self._out.add(problem(reason[0], table=kind, row=episode, **reason[1]))
            if raw is None or reason is not None:
                keep[index] = False
                if kind in ("XML1", "XML2", "XML3"):
                    unusable.add(episode)
        frame = frame.select("hoso", "kind", raw=pl.Series(raws, dtype=pl.Binary))
        mask = pl.Series([ok and episodes[i] not in unusable for i, ok in enumerate(keep)], dtype=pl.Boolean)
        return frame.filter(mask)

    def check_table(self, raw: bytes) -> tuple[str, dict] | None:
        """Why a table cannot be read (reason key, parameters), or None: it must be UTF-8 XML without a DTD."""
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:512]:
            return "table_encoding", {"detail": "UTF-16"}
        check, parser, _tree = self._parsers()
        check.doctype_seen = False
        try:
            etree.fromstring(raw, parser)
        except etree.XMLSyntaxError as error:
            message = str(error).split(", line ")[0][:200]
            if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
                return "table_dtd", {}
            if "encoding" in message.lower() or "utf-8" in message.lower():
                line, column = error.position if error.position else (0, 0)
                return "table_encoding", {"detail": f"line {line}, column {column}"}
            return "table_xml", {"detail": message}
        if check.doctype_seen:
            return "table_dtd", {}
        return None

    # a chunk of episodes, in columns -----------------------------------------------------------------------------

    def _chunk(self, batch: list[tuple[int, dict[str, str | None]]]
               ) -> tuple[Chunk, list[tuple[int, str]], str | None]:
        decoded = self._decoded(batch)
        tree_parser = self._parsers()[2]
        tables = {kind: _prepared(decoded.filter(pl.col("kind") == kind).select("hoso", "raw"), tree_parser,
                                  kind == "XML1") for kind in ("XML1", "XML2", "XML3")}
        self._table_problems(tables)
        summary = tables["XML1"]
        layout = (summary["layout"][0] or LAYOUT_130) if summary.height else None
        summary, tables["XML2"], tables["XML3"] = self._layout_problems(layout or LAYOUT_130, summary,
                                                                       tables["XML2"], tables["XML3"])
        claims = self._claims(layout or LAYOUT_130, summary)
        keys = claims.select("hoso", "episode_key")
        lines = pl.concat([self._lines(layout or LAYOUT_130, kind, tables[kind], keys) for kind in ("XML2", "XML3")])
        self._totals(layout or LAYOUT_130, claims, lines)
        attachments = self._attachments(decoded, keys)
        chunk = Chunk(claims.select(list(CLAIM_SCHEMA)), lines.select(list(LINE_SCHEMA)), attachments)
        return chunk, list(keys.drop_nulls().iter_rows()), layout

    def _table_problems(self, tables: dict[str, pl.DataFrame]) -> None:
        for kind, frame in tables.items():
            bad = frame.filter(pl.col("control"))
            for episode in bad["hoso"].to_list():
                self._out.add(problem("table_control", table=kind, row=episode))
            tables[kind] = frame.filter(~pl.col("control"))

    def _layout_problems(self, layout: str, summary: pl.DataFrame, drugs: pl.DataFrame, services: pl.DataFrame
                         ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Tables whose root is not the layout's, or in the other layout: a problem each, left out."""
        kept = []
        for kind, frame in (("XML1", summary), ("XML2", drugs), ("XML3", services)):
            expected = TABLE_ROOTS[layout][kind]
            other = TABLE_ROOTS[LAYOUT_4210 if layout == LAYOUT_130 else LAYOUT_130][kind]
            wrong_root = frame.filter(pl.col("root") != expected)
            for episode, root in wrong_root.select("hoso", "root").iter_rows():
                if root == other and other != expected:
                    self._out.add(problem("mixed_layout", table=kind, row=episode, value=root, expected=layout))
                else:
                    self._out.add(problem("table_root", table=kind, row=episode, value=root, expected=expected))
            frame = frame.filter(pl.col("root") == expected)
            if kind == "XML1":
                mixed = frame.filter(pl.col("layout").is_not_null() & (pl.col("layout") != layout))
                for episode in mixed["hoso"].to_list():
                    self._out.add(problem("mixed_layout", table=kind, row=episode, expected=layout))
                frame = frame.filter(pl.col("layout").is_null() | (pl.col("layout") == layout))
            kept.append(frame)
        return kept[0], kept[1], kept[2]

    def _fields(self, frame: pl.DataFrame, tags: dict[str, str], row_tag: str | None) -> pl.DataFrame:
        """The text of each wanted tag (column named by the tag), per table (``row_tag`` None) or per row: the fast
        path with Polars for tables of plain elements, an lxml tree for the others."""
        wanted = sorted(set(tags.values()))
        keep = ["hoso"] + ([] if row_tag is None else ["row"])
        schema = {"hoso": pl.Int64, **({} if row_tag is None else {"row": pl.Int32}), **{t: pl.String for t in wanted}}
        if frame.is_empty():
            return pl.DataFrame(schema=schema)
        frame = frame.with_columns(_plain=_plain(row_tag))
        fast = frame.filter(pl.col("_plain"))
        slow = frame.filter(~pl.col("_plain"))
        if row_tag is not None:
            closing = f"</{row_tag}>"
            fast = fast.select("hoso", piece=pl.col("text").str.split(closing, inclusive=False).list.slice(
                0, pl.col("text").str.count_matches(closing, literal=True))).explode("piece").drop_nulls(
                "piece").with_columns(row=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("hoso"))
            source = "piece"
        else:
            source = "text"
        values = fast.select(*keep, *(pl.col(source).str.extract(f"<{tag}\\s*>([^<]*)</{tag}\\s*>", 1).alias(tag)
                                      for tag in wanted))
        if fast["hoso"].len() and frame["text"].str.contains("&", literal=True).any():
            values = values.with_columns(
                pl.when(pl.col(tag).str.contains("&", literal=True)).then(_unescaped(pl.col(tag)))
                .otherwise(pl.col(tag)) for tag in wanted)
        if slow.height:
            rows = []
            for episode, text in slow.select("hoso", "text").iter_rows():
                root = etree.fromstring(text.encode("utf-8"), self._parsers()[2])
                elements = [root] if row_tag is None else list(root.iter(row_tag))
                for number, element in enumerate(elements, 1):
                    found: dict[str, str | None] = {}
                    for child in element:
                        if isinstance(child.tag, str) and child.tag not in found:
                            found[child.tag] = None if len(child) else child.text
                    rows.append((episode, *([] if row_tag is None else [number]), *(found.get(t) for t in wanted)))
            values = pl.concat([values, pl.DataFrame(rows, schema=schema, orient="row")])
        spaced = slow.height > 0 or any(frame["text"].str.contains(pattern, literal=True).any() for pattern in (
            "> ", " <", ">\n", "\n<", ">\t", "\t<", ">\r", "\r<"))
        value = {tag: pl.col(tag).str.strip_chars() if spaced else pl.col(tag) for tag in wanted}
        return values.with_columns(pl.when(value[tag].str.len_bytes() > 0).then(value[tag]).alias(tag)
                                   for tag in wanted)

    def _checked(self, frame: pl.DataFrame, checks: list[tuple[str, str, pl.Expr, str, dict]], table: str,
                 key: str, row: str) -> None:
        """Add a problem for each row and field failing a check (field, tag, bad, reason, params): the first failing
        check of a field in a row is its only problem."""
        by_field: dict[str, list[tuple[pl.Expr, str, dict, str]]] = {}
        for name, tag, bad, reason, params in checks:
            by_field.setdefault(name, []).append((bad, reason, params, tag))
        exprs = []
        for name, items in by_field.items():
            expr = pl.when(items[0][0].fill_null(False)).then(pl.lit(0, pl.Int8))
            for index, (bad, _reason, _params, _tag) in enumerate(items[1:], 1):
                expr = expr.when(bad.fill_null(False)).then(pl.lit(index, pl.Int8))
            exprs.append(expr.otherwise(None).alias(f"_p_{name}"))
        if not exprs or frame.is_empty():
            return
        columns = [f"_p_{name}" for name in by_field]
        frame = frame.with_row_index("_i")
        found = frame.select("_i", *exprs).filter(pl.any_horizontal(pl.col(columns).is_not_null()))
        if found.is_empty():
            return
        tags = sorted({tag for items in by_field.values() for *_rest, tag in items} | {key})
        keep = ["_i", "hoso"] + ([row] if row != "hoso" else [])
        details = frame.select(*keep, *tags).join(found, on="_i").sort("hoso", row)
        items = []
        for record in details.iter_rows(named=True):
            for column in columns:
                index = record[column]
                if index is None:
                    continue
                _bad, reason, params, tag = by_field[column[3:]][index]
                items.append(problem(reason, ma_lk=record[key], table=table, row=record[row], field=tag,
                                     value=record[tag], episode=record["hoso"], **params))
        self._out.extend(items)

    def _claims(self, layout: str, summary: pl.DataFrame) -> pl.DataFrame:
        tags = _tags(XML1_TAGS, layout)
        values = self._fields(summary, tags, None)
        missing = [t for t in set(tags.values()) if t not in values.columns]
        values = values.with_columns(pl.lit(None, pl.String).alias(t) for t in missing)
        c = {name: pl.col(tag) for name, tag in tags.items()}
        none = pl.lit(None, pl.String)
        frame = values.with_columns(
            _birth=_birth_date(c["date_of_birth"]),
            _arrived_local=_local_moment(c["arrived_at"]),
            _admitted_local=_local_moment(c.get("admitted_at", none)),
            _discharged_local=_local_moment(c["discharged_at"]),
            _card_ok=_all_parts(c["card_code"], r"[A-Z]{2}[1-5]\d{12}"),
            _dkbd_ok=_all_parts(c["registered_facility"], r"\d{5}"),
            _from=_first_day(c["card_valid_from"]), _to=_last_day(c["card_valid_to"]),
            _from_ok=_all_parts(c["card_valid_from"], r"\d{8}") & _days_ok(c["card_valid_from"]),
            _to_ok=_all_parts(c["card_valid_to"], r"\d{8}") & _days_ok(c["card_valid_to"]),
            _other_ok=_all_parts(c["other_icd"], _ICD),
            **{f"_m_{name}": _milli(c[name], 2) for name in ("total_hospital", "total_insured", "patient_copay",
                                                              "patient_pays", "fund_claimed", "other_sources")},
        )
        key, tag = "episode_key", tags
        checks: list[tuple[str, str, pl.Expr, str, dict]] = [
            (key, tag[key], c[key].is_null(), "required", {}),
            (key, tag[key], c[key].str.len_chars() > 100, "too_long", {"limit": 100}),
            ("patient_ref", tag["patient_ref"], c["patient_ref"].str.len_chars() > 100, "too_long", {"limit": 100}),
            ("full_name", tag["full_name"], c["full_name"].is_null(), "required", {}),
            ("full_name", tag["full_name"], c["full_name"].str.len_chars() > 255, "too_long", {"limit": 255}),
            ("date_of_birth", tag["date_of_birth"], c["date_of_birth"].is_null(), "required", {}),
            ("date_of_birth", tag["date_of_birth"], pl.col("_birth").is_null(), "birth_date", {}),
            ("sex", tag["sex"], c["sex"].is_null(), "required", {}),
            ("sex", tag["sex"], ~c["sex"].is_in(["1", "2", "3"]), "choice", {"accepted": "1, 2, 3"}),
            ("card_code", tag["card_code"], c["card_code"].is_null(), "required", {}),
            ("card_code", tag["card_code"], c["card_code"].str.len_chars() > 200, "too_long", {"limit": 200}),
            ("card_code", tag["card_code"], ~pl.col("_card_ok"), "card_code", {}),
            ("registered_facility", tag["registered_facility"], ~pl.col("_dkbd_ok"), "facility_code", {}),
            ("card_valid_from", tag["card_valid_from"], ~pl.col("_from_ok"), "date", {}),
            ("card_valid_to", tag["card_valid_to"], ~pl.col("_to_ok"), "date", {}),
            ("main_icd", tag["main_icd"], c["main_icd"].is_null(), "required", {}),
            ("main_icd", tag["main_icd"], ~c["main_icd"].str.contains(f"^{_ICD}$"), "icd", {}),
            ("other_icd", tag["other_icd"], c["other_icd"].str.len_chars() > 200, "too_long", {"limit": 200}),
            ("other_icd", tag["other_icd"], ~pl.col("_other_ok"), "icd", {}),
            ("visit_category", tag["visit_category"], ~c["visit_category"].str.contains(r"^\d{1,2}(\.\d{1,2})?$"),
             "visit_category", {}),
            ("care_type", tag["care_type"], c["care_type"].is_null(), "required", {}),
            ("care_type", tag["care_type"], ~c["care_type"].str.contains(r"^0?[1-9]$"), "care_type", {}),
            ("referred_from", tag["referred_from"], ~c["referred_from"].str.contains(r"^\d{5}$"), "facility_code",
             {}),
            ("arrived_at", tag["arrived_at"], c["arrived_at"].is_null(), "required", {}),
            ("arrived_at", tag["arrived_at"], pl.col("_arrived_local").is_null(), "datetime", {}),
            ("discharged_at", tag["discharged_at"], c["discharged_at"].is_null(), "required", {}),
            ("discharged_at", tag["discharged_at"], pl.col("_discharged_local").is_null(), "datetime", {}),
            ("treatment_days", tag["treatment_days"], ~c["treatment_days"].str.contains(r"^\d{1,5}$"), "whole", {}),
            ("outcome", tag["outcome"], ~c["outcome"].str.contains(r"^\d{1,2}$"), "whole", {}),
            ("discharge_type", tag["discharge_type"], ~c["discharge_type"].str.contains(r"^\d{1,2}$"), "whole", {}),
            ("settlement_year", tag["settlement_year"], c["settlement_year"].is_null(), "required", {}),
            ("settlement_year", tag["settlement_year"], ~_in_range(c["settlement_year"], 1990, 2100), "range",
             {"low": 1990, "high": 2100}),
            ("settlement_month", tag["settlement_month"], c["settlement_month"].is_null(), "required", {}),
            ("settlement_month", tag["settlement_month"], ~_in_range(c["settlement_month"], 1, 12), "range",
             {"low": 1, "high": 12}),
            ("facility_code", tag["facility_code"], c["facility_code"].is_null(), "required", {}),
        ]
        if "admitted_at" in tags:
            checks.append(("admitted_at", tag["admitted_at"], c["admitted_at"].is_not_null()
                           & pl.col("_admitted_local").is_null(), "datetime", {}))
        if "citizen_id" in tags:
            checks.append(("citizen_id", tag["citizen_id"], ~c["citizen_id"].str.contains(r"^\d{12}$"), "citizen_id",
                           {}))
        if self.envelope.facility_code and re.fullmatch(r"\d{5}", self.envelope.facility_code):
            checks.append(("facility_code", tag["facility_code"], c["facility_code"] != self.envelope.facility_code,
                           "episode_facility", {"expected": self.envelope.facility_code}))
        amounts = ("total_hospital", "patient_copay", "patient_pays", "fund_claimed", "other_sources") + (
            ("total_insured",) if layout == LAYOUT_130 else ())
        for name in amounts:
            if name != "other_sources":
                checks.append((name, tag[name], c[name].is_null(), "required", {}))
            checks.append((name, tag[name], c[name].is_not_null() & pl.col(f"_m_{name}").is_null(), "amount",
                           {"decimals": 2}))
        if layout == LAYOUT_4210:
            checks.append(("discharged_at", tag["discharged_at"],
                           pl.col("_discharged_local").dt.date() >= pl.lit(self.layout_4210_ends.day),
                           "layout_4210_late", {"day": self.layout_4210_ends.day}))
        self._checked(frame, checks, "XML1", tag[key], "hoso")
        claims = frame.select(
            "hoso",
            episode_key=c[key], patient_ref=c["patient_ref"], full_name=c["full_name"],
            citizen_id=c.get("citizen_id", none), date_of_birth=pl.col("_birth"),
            sex=c["sex"].cast(pl.Int16, strict=False), card_code=c["card_code"],
            registered_facility=c["registered_facility"].str.split(";").list.last(),
            card_valid_from=pl.col("_from"), card_valid_to=pl.col("_to"), main_icd=c["main_icd"],
            other_icd=c["other_icd"], visit_category=c["visit_category"],
            care_type=c["care_type"].str.zfill(2), referred_from=c["referred_from"],
            arrived_at=_utc(pl.col("_arrived_local")), admitted_at=_utc(pl.col("_admitted_local")),
            discharged_at=_utc(pl.col("_discharged_local")),
            treatment_days=c["treatment_days"].cast(pl.Int32, strict=False),
            outcome=c["outcome"].cast(pl.Int16, strict=False),
            discharge_type=c["discharge_type"].cast(pl.Int16, strict=False),
            total_hospital=_dong(pl.col("_m_total_hospital")), total_insured=_dong(pl.col("_m_total_insured")),
            patient_copay=_dong(pl.col("_m_patient_copay")), patient_pays=_dong(pl.col("_m_patient_pays")),
            fund_claimed=_dong(pl.col("_m_fund_claimed")),
            other_sources=_dong(pl.col("_m_other_sources")).fill_null(0),
            settlement_year=c["settlement_year"].cast(pl.Int16, strict=False),
            settlement_month=c["settlement_month"].cast(pl.Int16, strict=False),
            facility_code=c["facility_code"],
            _m_total_hospital=pl.col("_m_total_hospital"), _m_total_insured=pl.col("_m_total_insured"),
            _m_patient_copay=pl.col("_m_patient_copay"), _m_fund_claimed=pl.col("_m_fund_claimed"),
        ).cast({name: dtype for name, dtype in CLAIM_SCHEMA.items()})
        return claims

    def _lines(self, layout: str, kind: str, frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
        tags = _tags(LINE_TAGS[kind], layout)
        values = self._fields(frame, tags, ROW_TAG[kind])
        if values.is_empty():
            return pl.DataFrame(schema={**LINE_SCHEMA, "_m_hospital": pl.Int64, "_m_insured": pl.Int64})
        c = {name: pl.col(tag) for name, tag in tags.items()}
        none = pl.lit(None, pl.String)
        group = c["cost_group"].cast(pl.Int32, strict=False)
        if kind == "XML2":
            line_kind = pl.lit("drug")
            code, name = c["drug_code"], c["drug_name"]
        else:
            bed = c["bed_code"].is_not_null() | group.is_in(BED_GROUPS)
            supply = c["supply_code"].is_not_null() | group.is_in(SUPPLY_GROUPS)
            line_kind = pl.when(bed).then(pl.lit("bed")).when(supply).then(pl.lit("supply")).otherwise(
                pl.lit("service"))
            code = pl.coalesce(c["supply_code"], c["service_code"])
            name = pl.when(c["supply_code"].is_not_null()).then(pl.coalesce(c["supply_name"], c["service_name"])
                                                                 ).otherwise(c["service_name"])
        money = ("hospital_amount", "insured_amount", "fund_amount", "patient_copay", "patient_pays")
        frame = values.join(keys.rename({"episode_key": "_episode_key"}), on="hoso", how="left").with_columns(
            _code=code, _name=name, _kind=line_kind, _group=group,
            _quantity=_milli(c["quantity"], 3), _price=_milli(c["unit_price"], 3),
            _rate=_percent(c["payment_rate"]), _benefit=_percent(c["benefit_pct"]),
            _ordered=_local_moment(c["ordered_at"]), _performed=_local_moment(c.get("performed_at", none)),
            _result=_local_moment(c.get("result_at", none)),
            **{f"_m_{m}": _milli(c[m], 2) for m in money},
        )
        key = tags["episode_key"]
        code_tag = tags["drug_code"] if kind == "XML2" else tags["service_code"]
        checks: list[tuple[str, str, pl.Expr, str, dict]] = [
            ("episode_key", key, c["episode_key"].is_null(), "required", {}),
            ("row_no", tags["row_no"], c["row_no"].is_null(), "required", {}),
            ("row_no", tags["row_no"], ~_in_range(c["row_no"], 1, 999_999), "range", {"low": 1, "high": 999_999}),
            ("code", code_tag, pl.col("_code").is_null(), "no_code" if kind == "XML3" else "required", {}),
            ("code", code_tag, pl.col("_code").str.len_chars() > 50, "too_long", {"limit": 50}),
            ("cost_group", tags["cost_group"], c["cost_group"].is_null(), "required", {}),
            ("cost_group", tags["cost_group"], ~_in_range(c["cost_group"], 1, 18), "cost_group", {}),
            ("name", code_tag, pl.col("_name").str.len_chars() > 1024, "too_long", {"limit": 1024}),
            ("unit", tags["unit"], c["unit"].str.len_chars() > 50, "too_long", {"limit": 50}),
            ("scope", tags["scope"], ~c["scope"].is_in(["1", "2", "3"]), "choice", {"accepted": "1, 2, 3"}),
            ("quantity", tags["quantity"], c["quantity"].is_null(), "required", {}),
            ("quantity", tags["quantity"], pl.col("_quantity").is_null(), "amount", {"decimals": 3}),
            ("unit_price", tags["unit_price"], c["unit_price"].is_null(), "required", {}),
            ("unit_price", tags["unit_price"], pl.col("_price").is_null(), "amount", {"decimals": 3}),
            ("payment_rate", tags["payment_rate"], c["payment_rate"].is_not_null() & pl.col("_rate").is_null(),
             "percent", {}),
            ("benefit_pct", tags["benefit_pct"], c["benefit_pct"].is_not_null() & pl.col("_benefit").is_null(),
             "percent", {}),
            ("tender", tags["tender"], c["tender"].str.len_chars() > 100, "too_long", {"limit": 100}),
            ("department", tags["department"], c["department"].str.len_chars() > 50, "too_long", {"limit": 50}),
            ("ordered_at", tags["ordered_at"], c["ordered_at"].is_not_null() & pl.col("_ordered").is_null(),
             "datetime", {}),
        ]
        if "performed_at" in tags:
            checks.append(("performed_at", tags["performed_at"], c["performed_at"].is_not_null()
                           & pl.col("_performed").is_null(), "datetime", {}))
        if "result_at" in tags:
            checks.append(("result_at", tags["result_at"], c["result_at"].is_not_null()
                           & pl.col("_result").is_null(), "datetime", {}))
        if "bed_code" in tags:
            checks.append(("bed_code", tags["bed_code"], c["bed_code"].str.len_chars() > 10, "too_long",
                           {"limit": 10}))
        for m in money:
            if m not in ("patient_copay", "patient_pays"):
                checks.append((m, tags[m], c[m].is_null(), "required", {}))
            checks.append((m, tags[m], c[m].is_not_null() & pl.col(f"_m_{m}").is_null(), "amount", {"decimals": 2}))
        frame = frame.with_columns(_dup=pl.len().over("hoso", c["row_no"]) > 1)
        checks.append(("row_no", tags["row_no"], pl.col("_dup") & c["row_no"].is_not_null(), "duplicate_row", {}))
        self._checked(frame, checks, kind, key, "row")
        # a line whose MA_LK is not its episode's: settled at the end of the file (another episode's, or none)
        strays = frame.filter(c["episode_key"].is_not_null() & pl.col("_episode_key").is_not_null()
                              & (c["episode_key"] != pl.col("_episode_key")))
        if strays.height:
            context = self._local
            context.stray_count += strays.height
            room = max(0, self.problems.limit - len(context.strays))
            context.strays.extend((e, kind, k, r) for e, k, r in strays.head(room).select("hoso", key, "row").iter_rows())
        return frame.select(
            "hoso", episode_key=pl.col("_episode_key"), source_table=pl.lit(kind),
            row_no=c["row_no"].cast(pl.Int32, strict=False), kind=pl.col("_kind"), code=pl.col("_code"),
            cost_group=c["cost_group"], name=pl.col("_name"), unit=c["unit"],
            scope=c["scope"].cast(pl.Int16, strict=False), quantity_milli=pl.col("_quantity"),
            unit_price_milli=pl.col("_price"), payment_rate=pl.col("_rate"), benefit_pct=pl.col("_benefit"),
            hospital_amount=_dong(pl.col("_m_hospital_amount")), insured_amount=_dong(pl.col("_m_insured_amount")),
            fund_amount=_dong(pl.col("_m_fund_amount")),
            patient_copay=_dong(pl.col("_m_patient_copay")).fill_null(0),
            patient_pays=_dong(pl.col("_m_patient_pays")).fill_null(0), tender=c["tender"],
            bed_code=c.get("bed_code", none), department=c["department"], ordered_at=_utc(pl.col("_ordered")),
            performed_at=_utc(pl.col("_performed")), result_at=_utc(pl.col("_result")),
            _m_hospital=pl.col("_m_hospital_amount"), _m_insured=pl.col("_m_insured_amount"),
        ).cast({name: dtype for name, dtype in LINE_SCHEMA.items()})

    def _totals(self, layout: str, claims: pl.DataFrame, lines: pl.DataFrame) -> None:
        """The summary's totals against the sums of its lines, and the fund's share (130), within a dong."""
        sums = lines.group_by("hoso").agg(_s_hospital=pl.col("_m_hospital").sum(),
                                          _s_insured=pl.col("_m_insured").sum())
        frame = claims.join(sums, on="hoso", how="left").with_columns(
            pl.col("_s_hospital", "_s_insured").fill_null(0))
        hospital_tag, insured_tag = ("T_TONGCHI_BV", "T_TONGCHI_BH") if layout == LAYOUT_130 else ("T_TONGCHI",) * 2
        line_hospital, line_insured = ("THANH_TIEN_BV", "THANH_TIEN_BH") if layout == LAYOUT_130 \
            else ("THANH_TIEN",) * 2
        checks = [("_m_total_hospital", "_s_hospital", hospital_tag, line_hospital)]
        if layout == LAYOUT_130:
            checks.append(("_m_total_insured", "_s_insured", insured_tag, line_insured))
        items = []
        for declared, computed, tag, lines_tag in checks:
            off = frame.filter((pl.col(declared) - pl.col(computed)).abs() > 1000)
            for record in off.select("hoso", "episode_key", declared, computed).iter_rows():
                items.append(problem("total", ma_lk=record[1], table="XML1", row=record[0], field=tag, name=tag,
                                     lines=lines_tag, declared=_decimal(record[2]), computed=_decimal(record[3])))
        if layout == LAYOUT_130:
            expected = pl.col("_m_total_insured") - pl.col("_m_patient_copay")
            off = frame.filter((pl.col("_m_fund_claimed") - expected).abs() > 1000).with_columns(_expected=expected)
            for record in off.select("hoso", "episode_key", "_m_fund_claimed", "_expected").iter_rows():
                items.append(problem("fund", ma_lk=record[1], table="XML1", row=record[0], field="T_BHTT",
                                     declared=_decimal(record[2]), computed=_decimal(record[3])))
        items.sort(key=lambda p: p.row or 0)
        self._out.extend(items)

    def _attachments(self, decoded: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
        frame = decoded.filter(pl.col("kind").is_in(ATTACHMENT_TABLES)).select(
            "hoso", table=pl.col("kind"), content=pl.col("raw").cast(pl.String))
        return frame.join(keys.rename({"episode_key": "ma_lk"}), on="hoso", how="inner").select(
            list(ATTACHMENT_SCHEMA))


# --- expressions -----------------------------------------------------------------------------------------------

_ICD = r"[A-Z][0-9][0-9A-Z][0-9A-Z.+*]{0,4}"
_DECLARATION = r"^\s*<\?xml[^>]*\?>"
_CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x{9f}]"


def _prepared(frame: pl.DataFrame, parser: etree.XMLParser, summary: bool) -> pl.DataFrame:
    """A table's text (checked UTF-8 by libxml2) without BOM and XML declaration, its root element, whether it holds
    control characters (DEL and C1; libxml2 refuses the others), and for a summary the layout its field names tell."""
    raw = pl.col("raw")
    text = raw.cast(pl.String)
    frame = frame.select("hoso", "raw", text.alias("text"),
                         maybe_control=raw.bin.contains(b"\x7f") | raw.bin.contains(b"\xc2"))
    text = pl.col("text")
    text = pl.when(text.str.starts_with("\ufeff")).then(text.str.strip_chars_start("\ufeff")).otherwise(text)
    frame = frame.with_columns(text=pl.when(text.str.starts_with("<?")).then(text.str.replace(_DECLARATION, ""))
                               .otherwise(text))
    frame = frame.with_columns(root=pl.col("text").str.extract(r"^\s*<([A-Za-z_][^\s/>]*)", 1),
                               control=pl.lit(False))
    if frame["maybe_control"].any():  # a DEL or a C1 character is possible: look for them where they may be
        frame = frame.with_columns(control=pl.col("maybe_control") & pl.col("text").str.contains(_CONTROL_PATTERN))
    if summary:
        frame = frame.with_columns(layout=pl.when(pl.col("text").str.contains(r"<(?:MA_THE_BHYT|T_TONGCHI_BV)[\s/>]"))
                                   .then(pl.lit(LAYOUT_130))
                                   .when(pl.col("text").str.contains(r"<(?:MA_THE|T_TONGCHI)[\s/>]"))
                                   .then(pl.lit(LAYOUT_4210)).otherwise(pl.lit(None, pl.String)))
    unknown = frame.filter(pl.col("root").is_null())
    if unknown.height:  # a comment or processing instruction before the root: lxml reads it
        roots = {episode: etree.fromstring(raw, parser).tag for episode, raw in unknown.select("hoso", "raw").iter_rows()}
        frame = frame.with_columns(pl.col("root").fill_null(pl.col("hoso").replace_strict(
            roots, default=None, return_dtype=pl.String)))
    return frame.drop("raw", "maybe_control")


def _plain(row_tag: str | None) -> pl.Expr:
    """Tables the fast path reads exactly: no CDATA, comments or DOCTYPE (``<!``), processing instructions (``<?``),
    character references (``&#``) or attributes (``=``: an attribute needs one; text holding one goes the lxml way
    too); for a list, every row opened ``<ROW>`` and closed ``</ROW>``."""
    text = pl.col("text")
    plain = ~(text.str.contains("<!", literal=True) | text.str.contains("<?", literal=True)
              | text.str.contains("&#", literal=True) | text.str.contains("=", literal=True))
    if row_tag is not None:  # every tag starting "<ROW" is a row's start tag "<ROW>", closed "</ROW>"
        opened = text.str.count_matches(f"<{row_tag}>", literal=True)
        plain = plain & (opened == text.str.count_matches(f"</{row_tag}>", literal=True)) & (
            opened == text.str.count_matches(f"<{row_tag}", literal=True))
    return plain


def _unescaped(value: pl.Expr) -> pl.Expr:
    """The five predefined entities decoded (character references go the lxml way)."""
    return (value.str.replace_all("&lt;", "<", literal=True).str.replace_all("&gt;", ">", literal=True)
            .str.replace_all("&quot;", '"', literal=True).str.replace_all("&apos;", "'", literal=True)
            .str.replace_all("&amp;", "&", literal=True))


def _milli(text: pl.Expr, decimals: int) -> pl.Expr:
    """Decimal text (digits, a point, at most ``decimals`` decimals) as an exact integer of thousandths; null
    otherwise."""
    valid = text.str.contains(f"^\\d{{1,15}}(\\.\\d{{1,{decimals}}})?$")
    point = text.str.find(".", literal=True)
    digits = text.str.replace(".", "", literal=True).cast(pl.Int64, strict=False)
    scale = pl.when(point.is_null()).then(1000).when(text.str.len_bytes() - point == 2).then(100).when(
        text.str.len_bytes() - point == 3).then(10).otherwise(1)
    return pl.when(valid).then(digits * scale)


def _dong(milli: pl.Expr) -> pl.Expr:
    """Thousandths of a dong → dong, rounded half up (the amounts are never negative)."""
    return (milli + 500) // 1000


def _decimal(milli: int | None) -> Decimal | None:
    return None if milli is None else Decimal(milli) / 1000


def _percent(text: pl.Expr) -> pl.Expr:
    value = text.str.extract(r"^(\d{1,3})(?:\.0{1,3})?$", 1).cast(pl.Int16, strict=False)
    return pl.when(value <= 100).then(value)


def _in_range(text: pl.Expr, low: int, high: int) -> pl.Expr:
    value = text.str.extract(r"^(\d{1,9})$", 1).cast(pl.Int64, strict=False)
    return text.is_null() | ((value >= low) & (value <= high))


def _local_moment(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains(r"^\d{12}$")).then(
        text.str.strptime(pl.Datetime("us"), "%Y%m%d%H%M", strict=False))


def _utc(local: pl.Expr) -> pl.Expr:
    """A moment of Vietnam's time (UTC+7, no daylight saving) in UTC."""
    return (local - pl.duration(hours=7)).dt.replace_time_zone("UTC")


def _day(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains(r"^\d{8}$")).then(text.str.strptime(pl.Date, "%Y%m%d", strict=False))


def _birth_date(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains(r"^\d{8}(\d{4})?$")).then(
        text.str.slice(0, 8).str.strptime(pl.Date, "%Y%m%d", strict=False))


def _all_parts(text: pl.Expr, pattern: str) -> pl.Expr:
    """Each ``;``-separated part matches (true for no value)."""
    return text.is_null() | text.str.contains(f"^{pattern}(;{pattern})*$")


def _days_ok(text: pl.Expr) -> pl.Expr:
    return text.is_null() | text.str.split(";").list.eval(
        pl.element().str.strptime(pl.Date, "%Y%m%d", strict=False).is_not_null()).list.all()


def _first_day(text: pl.Expr) -> pl.Expr:
    return _day(text.str.split(";").list.first())


def _last_day(text: pl.Expr) -> pl.Expr:
    return _day(text.str.split(";").list.last())


# --- the whole file --------------------------------------------------------------------------------------------

@dataclass
class ParsedFile:
    """A claim file read whole (for tests and small files; intake reads a chunk at a time)."""

    file_name: str
    envelope: Envelope
    claims: pl.DataFrame
    lines: pl.DataFrame
    attachments: pl.DataFrame
    problems: list[Problem]
    problem_count: int

    @property
    def accepted(self) -> bool:
        return self.problem_count == 0

    @property
    def facility_code(self) -> str | None:
        return self.envelope.facility_code

    @property
    def layout(self) -> str | None:
        return self.envelope.layout


def parse_claim_file(stream: BinaryIO, *, file_name: str, facility_code: str | None = None,
                     max_bytes: int = DEFAULT_MAX_FILE_BYTES, layout_4210_ends: DatedRule | None = None,
                     chunk_episodes: int = CHUNK_EPISODES) -> ParsedFile:
    """Read a whole claim file: its episodes in columns, or, when anything is wrong, every problem (the columns are
    then those read before the first problem)."""
    reader = ClaimFileReader(stream, file_name=file_name, facility_code=facility_code, max_bytes=max_bytes,
                             layout_4210_ends=layout_4210_ends, chunk_episodes=chunk_episodes)
    chunks = list(reader.chunks())
    return ParsedFile(
        file_name=file_name, envelope=reader.envelope,
        claims=pl.concat([c.claims for c in chunks]) if chunks else pl.DataFrame(schema=CLAIM_SCHEMA),
        lines=pl.concat([c.lines for c in chunks]) if chunks else pl.DataFrame(schema=LINE_SCHEMA),
        attachments=pl.concat([c.attachments for c in chunks]) if chunks else pl.DataFrame(schema=ATTACHMENT_SCHEMA),
        problems=list(reader.problems.listed), problem_count=reader.problems.count)


def peek_facility(stream: BinaryIO, limit: int = MAX_PROLOG_BYTES * 16) -> str | None:
    """The facility code (MACSKCB) a file's envelope names, read from its first bytes (at most ``limit``), or None.
    The stream is read from where it is; the caller rewinds it."""
    source = _Source(stream, limit)
    try:
        for _event, element in etree.iterparse(source, events=("end",), tag="MACSKCB", resolve_entities=False,
                                               no_network=True, load_dtd=False, huge_tree=False, encoding="utf-8"):
            return (element.text or "").strip() or None
    except (FileRefused, etree.XMLSyntaxError):
        return None
    return None
