"""Payments: intake from bank statements (CSV/Excel) and from a bank's API, matching to the payer, the suspense
list, allocation to what the payer owes by the dated rule, and reversal.

Intake, one code path for a statement of 100,000 lines and for one payment from the API:

1. validate every line on columns (Polars): a malformed date or amount, a zero or negative amount, a
   duplicate bank transaction ID inside the file, an unknown receiving account, a transaction ID already
   recorded with another date or amount → the whole file is refused with a report of each bad row (row,
   column, value, reason in English and Vietnamese) and nothing is written;
2. idempotency: the same file again (SHA-256) changes nothing; a transaction ID already recorded is skipped;
3. matching (set-based): the payer is found by a bill reference quoted in the text (a token of the text equal
   to ``Bill.reference``), else by a registered employer's tax code in the text; several candidate payers or
   none → the payment waits in suspense for an officer;
4. the payments and their receipts are written in bulk: ``bank +amount`` against ``prepayment −amount`` (with
   the payer) or ``suspense −amount``;
5. allocation (set-based, :func:`allocate_payments`): each payment's unallocated remainder goes to what its
   payer owes in the order of the dated rule (``collection.allocation_*``: interest first, oldest month first),
   posting ``prepayment +x`` / ``receivable −x`` (or ``interest_receivable −x``) per bill; what is left stays
   as prepayment. A payment is never allocated beyond its amount: the remainder is amount − allocations.

Reversal posts the opposite of the payment's allocations and of its receipt (never deleting anything).

Who owns a payment (the scope in which it is read, assigned and reversed): once matched, the payer's org unit
(that of the bill quoted, of the employer whose tax code is quoted, or of the payer an officer assigned it
to); while in suspense, the province office of the province its receiving account belongs to
(``ANSINH_COLLECTION_ACCOUNTS``, ``BIN:account[:province]``), or national staff only when the account names no
province. An officer imports only statements of accounts of their scope, and assigns a payment only to a payer
of their scope.

Money under concurrency: every change of payments and allocations (intake, allocation, assignment, reversal,
write-off) first takes the collection lock (a transaction-scoped advisory lock on PostgreSQL; SQLite
serialises writers itself), then locks the rows it changes (``FOR NO KEY UPDATE``) and reads their state
afresh: two requests never both reverse, assign, record or allocate the same money.

Services flush, never commit: the caller (request, CLI command) commits.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.audit.service import record_event
from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Principal, ensure_in_scope, org_scope
from ansinh.bounds import CONTROL_CHARACTERS, EARLIEST_DATE, MAX_AMOUNT
from ansinh.bulk import bulk_insert, reserve_ids
from ansinh.collection import ledger
from ansinh.collection.models import (
    BANK,
    INTEREST_RECEIVABLE,
    PREPAYMENT,
    RECEIVABLE,
    SUSPENSE,
    Allocation,
    Bill,
    LedgerEntry,
    Payment,
    StatementImport,
)
from ansinh.db import allow_waiting
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.formatting import message_params
from ansinh.registry.imports import FileProblem, amount_column, date_column, read_table
from ansinh.registry.models import Employer, Household, Person
from ansinh.rules.parameters import ParameterSet, get_parameters

#: Queries with a list of keys go in chunks of this size.
LOOKUP_CHUNK = 5_000
MAX_REPORTED_ERRORS = 10_000
#: The collection lock: serialises, on PostgreSQL, every change of payments and allocations (so that two
#: imports never allocate the same debt twice, nor two requests record, assign or reverse the same payment).
_ALLOCATION_LOCK = 5_470_001
#: How long an import waits for the collection lock and may run (it runs on a worker thread, never on the
#: event loop, and would rather queue behind another import than fail).
IMPORT_LOCK_WAIT_MS = 300_000
IMPORT_STATEMENT_TIMEOUT_MS = 900_000

#: The agency's receiving accounts, ``BIN:account[:province]`` separated by commas (the first one is printed
#: on bills). A payment in suspense belongs to its account's province (2025 code); an account without province
#: is national (only national staff import its statements and handle its suspense).
ACCOUNTS_ENV = "ANSINH_COLLECTION_ACCOUNTS"
#: Demo accounts (not real): VietinBank, BIDV, Agribank, Vietcombank BINs.
#: Each belongs to one of the demo's provinces (Hà Nội, Sơn La, Đà Nẵng, Hồ Chí Minh City), whose officers handle the
#: payments in suspense that it receives.
DEMO_ACCOUNTS = ("970415:113000006100:01,970418:12010000660099:14,970405:1500201099999:48,"
                 "970436:0011000999888:79")
NATIONAL = OrgLevel.national.value


@dataclass(frozen=True)
class ReceivingAccount:
    bank_bin: str
    account: str
    province: str | None = None

    @property
    def key(self) -> str:
        return f"{self.bank_bin}:{self.account}"


def collection_accounts() -> list[ReceivingAccount]:
    """The agency's receiving accounts from ``ANSINH_COLLECTION_ACCOUNTS`` (default: a demo list)."""
    raw = os.environ.get(ACCOUNTS_ENV, "").strip() or DEMO_ACCOUNTS
    accounts = []
    for item in raw.split(","):
        bank_bin, _, rest = item.strip().partition(":")
        account, _, province = rest.partition(":")
        if (not re.fullmatch(r"\d{6}", bank_bin) or not re.fullmatch(r"[0-9A-Za-z]{1,19}", account)
                or (province and not re.fullmatch(r"[0-9A-Za-z]{1,8}", province))):
            raise ValueError(f"{ACCOUNTS_ENV}: {item!r} is not BIN:account[:province] (6-digit BIN, account "
                             "1-19 characters, province code 1-8 letters or digits)")
        accounts.append(ReceivingAccount(bank_bin, account, province or None))
    return accounts


def find_account(text: str | None) -> ReceivingAccount | None:
    """The receiving account written as ``account`` or ``BIN:account`` (spaces ignored), or None."""
    value = re.sub(r"\s", "", text or "")
    for account in collection_accounts():
        if value in (account.account, account.key):
            return account
    return None


# --- who owns a payment -------------------------------------------------------------------------------------

def province_offices(session: Session) -> dict[str, int]:
    """Province code (2025) → the id of its province office (the first created, when several)."""
    rows = session.execute(select(OrgUnit.place_code, OrgUnit.id).where(OrgUnit.level == OrgLevel.province)
                           .order_by(OrgUnit.id.desc())).all()
    return dict(rows)


def is_national(principal: Principal | None) -> bool:
    """None (a CLI command, a batch job) or a user of the national level: the whole country."""
    return principal is None or principal.org_unit_level == NATIONAL


def ensure_owner_in_scope(session: Session, principal: Principal | None, org_unit_id: int | None) -> None:
    """A payment (or a payer) owned by this org unit is within the caller's scope; owned by nobody (None: a
    payment in suspense on a national account), only national staff may act on it."""
    if is_national(principal):
        return
    if org_unit_id is None:
        raise PermissionDenied("This payment belongs to no province (its receiving account names none): "
                               "national staff handle it.")
    ensure_in_scope(principal, session.get(OrgUnit, org_unit_id))


def ensure_payment_in_scope(session: Session, principal: Principal | None, payment: Payment) -> None:
    ensure_owner_in_scope(session, principal, payment.org_unit_id)


def payments_in_scope(principal: Principal | None):
    """A WHERE clause keeping the payments the caller may see (None: no condition)."""
    if is_national(principal):
        return None
    return org_scope(principal, Payment.org_unit_id)


def accounts_in_scope(session: Session, principal: Principal | None) -> set[str]:
    """The keys (``BIN:account``) of the receiving accounts whose statements the caller may import."""
    accounts = collection_accounts()
    if is_national(principal):
        return {account.key for account in accounts}
    offices = province_offices(session)
    allowed = set()
    for account in accounts:
        office = session.get(OrgUnit, offices[account.province]) if account.province in offices else None
        if office is not None and principal.covers_path(office.path):
            allowed.add(account.key)
    return allowed


# --- the statement layout and reasons ---------------------------------------------------------------------

#: column → (required, meaning)
COLUMNS: dict[str, tuple[bool, str]] = {
    "date": (True, "Date the money was received: YYYY-MM-DD or DD/MM/YYYY."),
    "amount": (True, "Amount in whole dong, positive (thousands may be grouped with '.', ',' or spaces)."),
    "payer_account": (False, "Account the money came from."),
    "reference": (False, "Transfer text (nội dung chuyển khoản); should quote the bill reference."),
    "bank_transaction_id": (True, "The bank's unique transaction ID (makes the import idempotent)."),
    "receiving_account": (True, "The agency's account credited (account number, or BIN:account)."),
}

R = {
    "unreadable": ("The file cannot be read as CSV (UTF-8) or Excel .xlsx: {detail}",
                   "Không đọc được tệp dạng CSV (UTF-8) hoặc Excel .xlsx: {detail}"),
    "empty": ("The file has no data rows.", "Tệp không có dòng dữ liệu nào."),
    "missing_column": ("The required column {column} is missing.", "Thiếu cột bắt buộc {column}."),
    "unknown_column": ("{column} is not a column of a bank statement.", "{column} không phải là cột của sao kê."),
    "duplicate_column": ("The column {column} appears twice.", "Cột {column} xuất hiện hai lần."),
    "required": ("A value is required.", "Phải có giá trị."),
    "bad_date": ("Not a date (YYYY-MM-DD or DD/MM/YYYY).", "Không phải ngày hợp lệ (YYYY-MM-DD hoặc DD/MM/YYYY)."),
    "future_date": ("The date is after today.", "Ngày sau ngày hôm nay."),
    "too_early": ("The date is before {earliest}.", "Ngày trước {earliest}."),
    "bad_amount": ("Not a whole number of dong.", "Không phải số tiền nguyên (đồng)."),
    "not_positive": ("The amount must be positive.", "Số tiền phải lớn hơn 0."),
    "too_large": ("The amount is larger than {limit} dong.", "Số tiền lớn hơn {limit} đồng."),
    "control_character": ("Contains a control character (such as NUL).", "Chứa ký tự điều khiển (như NUL)."),
    "too_long": ("Longer than {limit} characters.", "Dài quá {limit} ký tự."),
    "duplicate_txn": ("The transaction ID appears again in this file (first on row <_first>).",
                      "Mã giao dịch bị trùng trong tệp (lần đầu ở dòng <_first>)."),
    "unknown_account": ("Not a receiving account of the agency.", "Không phải tài khoản thu của cơ quan BHXH."),
    "account_out_of_scope": ("This receiving account is not an account of your province.",
                             "Tài khoản thu này không thuộc tỉnh, thành phố của bạn."),
    "recorded_differently": ("This transaction ID is already recorded with another date or amount.",
                             "Mã giao dịch đã được ghi nhận với ngày hoặc số tiền khác."),
}


@dataclass
class StatementRowError:
    row: int  # as the user sees it: header = 1, first data row = 2
    column: str
    value: str
    reason_en: str
    reason_vi: str


@dataclass
class StatementReport:
    file_name: str
    sha256: str
    status: str  # applied | rejected | unchanged (the same file was imported before)
    rows: int = 0
    created: int = 0  # payments recorded
    skipped: int = 0  # transaction IDs already recorded
    matched: int = 0
    suspense: int = 0
    amount: int = 0  # dong received (created payments)
    allocated: int = 0  # dong allocated to bills and interest
    statement_id: int | None = None
    errors: list[StatementRowError] = field(default_factory=list)
    error_count: int = 0

    def to_json(self) -> dict:
        data = asdict(self)
        data["error_count"] = max(self.error_count, len(self.errors))
        return data


def _reason(key: str, **params: Any) -> tuple[str, str]:
    en, vi = R[key]
    return en.format(**message_params(params, "en")), vi.format(**message_params(params, "vi"))


def _template_expr(template: str) -> pl.Expr:
    parts = re.split(r"<(\w+)>", template)
    return pl.concat_str([pl.lit(p) if i % 2 == 0 else pl.col(p).cast(pl.String).fill_null("")
                          for i, p in enumerate(parts)])


# --- statement import ---------------------------------------------------------------------------------------

#: ``progress(stage, done, total)``: the stage (read, validated, recorded, allocated) and the rows done of the
#: total.
Progress = Callable[[str, int, int], None]


def import_statement(session: Session, *, content: bytes, file_name: str, actor: str, today: date,
                     principal: Principal | None = None, progress: Progress | None = None) -> StatementReport:
    """Import a bank statement: all or nothing, idempotent (see the module docstring). ``principal`` (None:
    the whole country) may import only statements of the receiving accounts of their scope. Takes the
    collection lock first, for the whole transaction: concurrent imports (of the same file, of files sharing
    transaction IDs) queue behind each other, and each sees what the one before recorded."""
    def step(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    prepare_import(session)
    sha256 = hashlib.sha256(content).hexdigest()
    report = StatementReport(file_name=file_name, sha256=sha256, status="rejected")
    previous = statement_by_hash(session, sha256)
    if previous is not None:
        report.status, report.rows, report.statement_id = "unchanged", previous.rows, previous.id
        step("unchanged", previous.rows, previous.rows)
        return report
    try:
        frame = read_table(content, file_name)
        frame = _check_header(frame)
    except FileProblem as problem:
        report.errors = [StatementRowError(**asdict(e)) for e in problem.errors]
        return report
    report.rows = frame.height
    step("read", frame.height, frame.height)
    if frame.height == 0:
        report.errors = [StatementRowError(1, "", "", *_reason("empty"))]
        return report
    frame, errors = _validate(session, frame, today, accounts_in_scope(session, principal))
    if errors.height:
        report.error_count = errors.height
        report.errors = [StatementRowError(**r) for r in errors.head(MAX_REPORTED_ERRORS).iter_rows(named=True)]
        return report
    step("validated", frame.height, frame.height)
    statement = StatementImport(file_name=file_name[:255], sha256=sha256, rows=frame.height, created_by=actor)
    session.add(statement)
    session.flush()
    new = frame.filter(~pl.col("_recorded"))
    report.skipped = frame.height - new.height
    payments = _intake(session, new.select(
        pl.col("bank_transaction_id"), pl.col("_date").alias("paid_on"), pl.col("_amount").alias("amount"),
        pl.col("payer_account"), pl.col("reference").alias("reference_text"),
        pl.col("_receiving").alias("receiving_account"),
        pl.col("_account_province").alias("account_province")),
        statement_id=statement.id)
    step("recorded", frame.height, frame.height)
    allocations = allocate_payments(session, payments.select("id", "payer_key", "paid_on", "amount", "province_2025")
                                    .rename({"amount": "remaining"}), on=today)
    step("allocated", frame.height, frame.height)
    statement.created_rows = payments.height
    statement.total = money_sum(payments["amount"])
    report.status, report.statement_id, report.created = "applied", statement.id, payments.height
    report.matched = payments.filter(pl.col("payer_key").is_not_null()).height
    report.suspense = payments.height - report.matched
    report.amount = statement.total
    report.allocated = money_sum(allocations["amount"]) if allocations.height else 0
    record_event(session, "import", "statement_import", statement.id,
                 details={"file": file_name, "rows": frame.height, "created": report.created,
                          "skipped": report.skipped, "matched": report.matched, "suspense": report.suspense,
                          "amount": report.amount, "allocated": report.allocated, "actor": actor})
    session.flush()
    return report


def prepare_import(session: Session) -> None:
    """What an import does first: wait longer than a request would (it runs off the event loop) and take the
    collection lock for the rest of its transaction."""
    allow_waiting(session, lock_timeout_ms=IMPORT_LOCK_WAIT_MS,
                  statement_timeout_ms=IMPORT_STATEMENT_TIMEOUT_MS)
    lock_allocations(session)


def statement_by_hash(session: Session, sha256: str) -> StatementImport | None:
    return session.scalar(select(StatementImport).where(StatementImport.sha256 == sha256)
                          .execution_options(populate_existing=True))


def money_sum(values: pl.Series) -> int:
    """The sum of a column of dong as a Python int, added in 128 bits (never wrapping around 2⁶³)."""
    return int(values.cast(pl.Int128).sum() or 0)


def _file_error(where: str, key: str, value: str = "", **params) -> StatementRowError:
    return StatementRowError(1, where, value, *_reason(key, **params))


def _check_header(frame: pl.DataFrame) -> pl.DataFrame:
    errors = [_file_error(name, "missing_column", column=name)
              for name, (required, _) in COLUMNS.items() if required and name not in frame.columns]
    errors += [_file_error(name, "unknown_column", value=name, column=name)
               for name in frame.columns if name not in COLUMNS]
    if errors:
        raise FileProblem(errors)  # type: ignore[arg-type]
    missing = [name for name in COLUMNS if name not in frame.columns]
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name) for name in missing)
    return frame.select(list(COLUMNS)).with_columns(_row=pl.int_range(2, frame.height + 2, dtype=pl.Int64))


def _validate(session: Session, frame: pl.DataFrame, today: date, allowed_accounts: set[str]
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    accounts = collection_accounts()
    keys = pl.DataFrame(
        [(name, account.key, account.province) for account in accounts
         for name in (account.account, account.key)],
        schema={"_account": pl.String, "_receiving": pl.String, "_account_province": pl.String},
        orient="row").unique("_account", keep="first", maintain_order=True)
    frame = frame.with_columns(
        _date=date_column(pl.col("date")),
        _amount=amount_column(pl.col("amount")),
        _account=pl.col("receiving_account").str.replace_all(r"\s", ""),
        _first=pl.when(pl.col("bank_transaction_id").is_not_null())
        .then(pl.col("_row").min().over("bank_transaction_id")),
    ).join(keys, on="_account", how="left", maintain_order="left")
    recorded = _recorded(session, frame["bank_transaction_id"].drop_nulls().unique().to_list())
    frame = frame.join(recorded, on="bank_transaction_id", how="left", maintain_order="left")
    frame = frame.with_columns(_recorded=pl.col("_old_amount").is_not_null())
    control = CONTROL_CHARACTERS.pattern
    checks: list[tuple[str, pl.Expr, str, dict]] = [
        *[(column, pl.col(column).str.contains(control), "control_character", {}) for column in COLUMNS],
        ("date", pl.col("date").is_null(), "required", {}),
        ("date", pl.col("_date").is_null(), "bad_date", {}),
        ("date", pl.col("_date") < pl.lit(EARLIEST_DATE), "too_early",
         {"earliest": EARLIEST_DATE}),
        ("date", pl.col("_date") > pl.lit(today), "future_date", {}),
        ("amount", pl.col("amount").is_null(), "required", {}),
        ("amount", pl.col("_amount").is_null(), "bad_amount", {}),
        ("amount", pl.col("_amount") <= 0, "not_positive", {}),
        ("amount", pl.col("_amount") > MAX_AMOUNT, "too_large", {"limit": f"{MAX_AMOUNT:,}"}),
        ("payer_account", pl.col("payer_account").str.len_chars() > 40, "too_long", {"limit": 40}),
        ("reference", pl.col("reference").str.len_chars() > 300, "too_long", {"limit": 300}),
        ("bank_transaction_id", pl.col("bank_transaction_id").is_null(), "required", {}),
        ("bank_transaction_id", pl.col("bank_transaction_id").str.len_chars() > 64, "too_long", {"limit": 64}),
        ("bank_transaction_id", pl.col("_first") != pl.col("_row"), "duplicate_txn", {}),
        ("bank_transaction_id", pl.col("_recorded") & ((pl.col("_old_amount") != pl.col("_amount"))
                                                       | (pl.col("_old_paid_on") != pl.col("_date"))),
         "recorded_differently", {}),
        ("receiving_account", pl.col("receiving_account").is_null(), "required", {}),
        ("receiving_account", pl.col("_receiving").is_null(), "unknown_account", {}),
        ("receiving_account", ~pl.col("_receiving").is_in(sorted(allowed_accounts)), "account_out_of_scope",
         {}),
    ]
    prior: dict[str, pl.Expr] = {}
    parts = []
    for column, bad, key, params in checks:
        bad = bad.fill_null(False)
        earlier = prior.get(column, pl.lit(False))
        prior[column] = earlier | bad
        en, vi = (t.format(**message_params(params, lang)) for t, lang in zip(R[key], ("en", "vi")))
        part = frame.filter(bad & ~earlier).select(
            pl.col("_row").alias("row"), pl.lit(column).alias("column"),
            pl.col(column).cast(pl.String).fill_null("").str.replace_all(control, "\uFFFD").alias("value"),
            _template_expr(en).alias("reason_en"), _template_expr(vi).alias("reason_vi"))
        if part.height:
            parts.append(part.with_columns(_o=pl.lit(list(COLUMNS).index(column))))
    if not parts:
        return frame, pl.DataFrame()
    return frame, pl.concat(parts).sort("row", "_o").drop("_o")


def _recorded(session: Session, ids: list[str]) -> pl.DataFrame:
    """Payments already recorded among these transaction IDs: their amount and date."""
    rows = rows_where_in(session, select(Payment.bank_transaction_id, Payment.amount, Payment.paid_on),
                         Payment.bank_transaction_id, ids)
    return pl.DataFrame(rows, schema={"bank_transaction_id": pl.String, "_old_amount": pl.Int64,
                                      "_old_paid_on": pl.Date}, orient="row")


# --- one payment from a bank's API --------------------------------------------------------------------------

def record_payment(session: Session, *, bank_transaction_id: str, paid_on: date, amount: int,
                   payer_account: str | None = None, reference_text: str | None = None,
                   receiving_account: str | None = None, on: date | None = None,
                   principal: Principal | None = None) -> Payment:
    """Record one payment (idempotent by bank transaction ID: the same one again returns the recorded payment;
    with another date or amount it is a conflict), match it and allocate it. ``principal`` (None: the whole
    country) may record only a payment that will be theirs: matched to a payer of their scope, or in
    suspense on an account of their province."""
    txn = (bank_transaction_id or "").strip()
    if not txn or len(txn) > 64:
        raise ValidationFailed("bank_transaction_id", "A bank transaction ID of 1 to 64 characters is required.")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed("amount", "The amount must be a positive whole number of dong, got {value}.",
                               value=amount)
    if amount > MAX_AMOUNT:
        raise ValidationFailed("amount", "The amount is larger than {limit} dong.", limit=MAX_AMOUNT)
    if payer_account is not None and len(payer_account) > 40:
        raise ValidationFailed("payer_account", "Longer than {limit} characters.", limit=40)
    if reference_text is not None and len(reference_text) > 300:
        raise ValidationFailed("reference_text", "Longer than {limit} characters.", limit=300)
    account = None
    if receiving_account is not None:
        account = find_account(receiving_account)
        if account is None:
            raise ValidationFailed("receiving_account", "{value} is not a receiving account of the agency.",
                                   value=receiving_account)
    on = on or clock.today()
    if paid_on > on:
        raise ValidationFailed("paid_on", "The payment date {value} is after today.", value=paid_on)
    if paid_on < EARLIEST_DATE:
        raise ValidationFailed("paid_on", "The payment date {value} is before {earliest}.",
                               value=paid_on, earliest=EARLIEST_DATE)
    lock_allocations(session)  # a concurrent request with the same transaction ID waits here, then finds it
    existing = session.scalar(select(Payment).where(Payment.bank_transaction_id == txn)
                              .execution_options(populate_existing=True))
    if existing is not None:
        ensure_payment_in_scope(session, principal, existing)
        if existing.amount != amount or existing.paid_on != paid_on:
            raise Conflict("Transaction {txn} is already recorded with another date or amount.", txn=txn)
        return existing
    placed = _place(session, pl.DataFrame({
        "bank_transaction_id": [txn], "paid_on": [paid_on], "amount": [amount], "payer_account": [payer_account],
        "reference_text": [reference_text], "receiving_account": [account.key if account else None],
        "account_province": [account.province if account else None]}, schema=_INTAKE_SCHEMA))
    ensure_owner_in_scope(session, principal, placed["org_unit_id"][0])
    payments = _write_payments(session, placed, statement_id=None)
    allocate_payments(session, payments.select("id", "payer_key", "paid_on", "amount", "province_2025")
                      .rename({"amount": "remaining"}), on=max(on, paid_on))
    payment = session.get(Payment, int(payments["id"][0]))
    assert payment is not None
    record_event(session, "receive", "payment", payment.id,
                 details={"bank_transaction_id": txn, "amount": amount, "payer_key": payment.payer_key,
                          "matched_by": payment.matched_by, "receiving_account": payment.receiving_account})
    return payment


# --- intake: ids, matching, payments and receipts in bulk ---------------------------------------------------



_INTAKE_SCHEMA = {"bank_transaction_id": pl.String, "paid_on": pl.Date, "amount": pl.Int64,
                  "payer_account": pl.String, "reference_text": pl.String, "receiving_account": pl.String,
                  "account_province": pl.String}


def _place(session: Session, frame: pl.DataFrame) -> pl.DataFrame:
    """New payments (columns of ``_INTAKE_SCHEMA``) with their payer (matched), status, province and owner:
    the payer's province and org unit when matched, else the receiving account's province and its office."""
    matched = match_frame(session, frame["reference_text"])
    offices = province_offices(session)
    frame = frame.with_columns(payer_key=matched["payer_key"], matched_by=matched["matched_by"],
                               _payer_province=matched["province_2025"], _payer_unit=matched["org_unit_id"])
    suspense = pl.col("payer_key").is_null()
    account_office = pl.col("account_province").replace_strict(offices, default=None, return_dtype=pl.Int64)
    return frame.with_columns(
        province_2025=pl.when(suspense).then(pl.col("account_province")).otherwise(pl.col("_payer_province")),
        org_unit_id=pl.when(suspense).then(account_office).otherwise(pl.col("_payer_unit")),
        status=pl.when(suspense).then(pl.lit("suspense")).otherwise(pl.lit("matched")),
    ).drop("_payer_province", "_payer_unit")


def _write_payments(session: Session, payments: pl.DataFrame, *, statement_id: int | None) -> pl.DataFrame:
    """Write placed payments (see :func:`_place`) and their receipts in the ledger; returns them with their
    id."""
    if payments.is_empty():
        return payments.with_columns(id=pl.lit(None, pl.Int64))
    payments = payments.drop("account_province").with_columns(
        id=reserve_ids(session, "payment", payments.height),
        statement_import_id=pl.lit(statement_id, dtype=pl.Int64))
    bulk_insert(session, Payment.__table__, payments)
    base = payments.select((pl.lit("payment-") + pl.col("id").cast(pl.String)).alias("txn"), "payer_key", "amount",
                           pl.col("paid_on").alias("posted_on"),
                           pl.col("id").alias("source_id"), "province_2025")
    bank = base.with_columns(account=pl.lit(BANK), payer_key=pl.lit(None, pl.String))
    credit = base.with_columns(
        account=pl.when(pl.col("payer_key").is_null()).then(pl.lit(SUSPENSE)).otherwise(pl.lit(PREPAYMENT)),
        amount=-pl.col("amount"))
    entries = pl.concat([bank, credit.select(bank.columns)]).with_columns(
        source_type=pl.lit("payment"), fund=pl.lit(None, pl.String), period=pl.lit(None, pl.Date))
    ledger.post_frame(session, entries)
    return payments


def _intake(session: Session, frame: pl.DataFrame, *, statement_id: int | None) -> pl.DataFrame:
    """Write new payments (columns of ``_INTAKE_SCHEMA``) matched to their payers, with their receipts in the
    ledger. Returns the payments written (with id, payer_key, province_2025, org_unit_id)."""
    if frame.is_empty():
        return frame.drop("account_province").with_columns(
            id=pl.lit(None, pl.Int64), payer_key=pl.lit(None, pl.String),
            province_2025=pl.lit(None, pl.String), org_unit_id=pl.lit(None, pl.Int64))
    return _write_payments(session, _place(session, frame.cast(_INTAKE_SCHEMA)), statement_id=statement_id)


_TOKEN = r"[0-9A-Za-z][0-9A-Za-z_\-/]{2,30}[0-9A-Za-z]"
_TAX_CODE = r"\b\d{10}(?:-?\d{3})?\b"


def rows_where_in(session: Session, stmt, column, keys: list) -> list[tuple]:
    """The rows of ``stmt`` whose ``column`` is one of ``keys``: on PostgreSQL one query with the keys as one
    array parameter (``= ANY(:keys)``: no statement with 100,000 placeholders); elsewhere in chunks."""
    if not keys:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(session.execute(stmt.where(column == any_(bindparam("keys", list(keys), type_=ARRAY(column.type),
                                                                         unique=True)))).all())
    rows: list[tuple] = []
    for offset in range(0, len(keys), LOOKUP_CHUNK):
        rows += session.execute(stmt.where(column.in_(keys[offset:offset + LOOKUP_CHUNK]))).all()
    return rows


def _lookup(session: Session, column, columns: list, keys: list[str]) -> list[tuple]:
    return rows_where_in(session, select(*columns), column, keys)


def match_frame(session: Session, references: pl.Series) -> pl.DataFrame:
    """For each reference text: (payer_key, matched_by, province_2025), set-based. A bill reference quoted in
    the text identifies the payer; else a registered employer's tax code in the text; several candidate
    payers, or none, → null (suspense)."""
    work = pl.DataFrame({"_i": pl.int_range(0, references.len(), dtype=pl.Int64, eager=True),
                         "text": references.cast(pl.String)})
    tokens = work.select("_i", token=pl.col("text").str.extract_all(_TOKEN)).explode("token").drop_nulls("token")
    tokens = pl.concat([tokens, tokens.with_columns(pl.col("token").str.to_uppercase())]).unique()
    keys = tokens["token"].unique().to_list()
    bills = pl.DataFrame(_lookup(session, Bill.reference, [Bill.reference, Bill.payer_key, Bill.province_2025,
                                                           Bill.org_unit_id], keys),
                         schema={"token": pl.String, "payer_key": pl.String, "province_2025": pl.String,
                                 "org_unit_id": pl.Int64}, orient="row")
    by_reference = _single_payer(tokens.join(bills, on="token"), "reference")
    codes = work.select("_i", code=pl.col("text").str.extract_all(_TAX_CODE)).explode("code").drop_nulls("code") \
        .with_columns(pl.col("code").str.replace_all("-", "", literal=True)).unique()
    columns = [Employer.tax_code, Employer.id, Employer.province_2025, Employer.org_unit_id]
    employers = pl.DataFrame(_lookup(session, Employer.tax_code, columns, codes["code"].unique().to_list()),
                             schema={"code": pl.String, "employer_id": pl.Int64, "province_2025": pl.String,
                                     "org_unit_id": pl.Int64}, orient="row") \
        .with_columns(payer_key=pl.lit("E:") + pl.col("employer_id").cast(pl.String))
    by_tax_code = _single_payer(codes.join(employers, on="code"), "tax_code")
    out = work.select("_i").join(by_reference, on="_i", how="left").join(by_tax_code, on="_i", how="left",
                                                                         suffix="_t")
    by_bill = pl.col("payer_key").is_not_null()
    return out.sort("_i").select(
        payer_key=pl.coalesce("payer_key", "payer_key_t"),
        matched_by=pl.coalesce("matched_by", "matched_by_t"),
        province_2025=pl.when(by_bill).then(pl.col("province_2025")).otherwise(pl.col("province_2025_t")),
        org_unit_id=pl.when(by_bill).then(pl.col("org_unit_id")).otherwise(pl.col("org_unit_id_t")))


def _single_payer(candidates: pl.DataFrame, how: str) -> pl.DataFrame:
    return candidates.group_by("_i").agg(pl.col("payer_key").n_unique().alias("_n"),
                                         pl.col("payer_key").first(), pl.col("province_2025").first(),
                                         pl.col("org_unit_id").first()) \
        .filter(pl.col("_n") == 1).select("_i", "payer_key", pl.lit(how).alias("matched_by"), "province_2025",
                                          "org_unit_id")


def match_payer(session: Session, reference_text: str | None) -> tuple[str | None, str | None]:
    """(payer_key, matched_by) for one transfer text: by bill reference, else by tax code, else (None, None)."""
    row = match_frame(session, pl.Series([reference_text], dtype=pl.String)).row(0, named=True)
    return row["payer_key"], row["matched_by"]


# --- allocation --------------------------------------------------------------------------------------------

def allocation_rule(on: date, parameters: ParameterSet | None = None) -> tuple[bool, bool]:
    """(interest first, oldest month first) of the rule in force on a date."""
    parameters = parameters or get_parameters()
    interest_first = parameters["collection.allocation_interest_first"].at(on, field_name="on")
    oldest_first = parameters["collection.allocation_oldest_period_first"].at(on, field_name="on")
    return bool(interest_first), bool(oldest_first)


def lock_allocations(session: Session) -> None:
    """Take the collection lock for the rest of the transaction (PostgreSQL; SQLite serialises writers
    itself)."""
    if session.get_bind().dialect.name == "postgresql":
        # keyed by schema too: advisory locks are database-wide, and each test run (or tenant) has a schema of its own
        session.execute(text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": _ALLOCATION_LOCK})


def _open_items(session: Session, payer_keys: list[str], on: date) -> pl.DataFrame:
    """What the payers owe, per (payer, account, month): the balance of receivable and interest receivable
    posted up to ``on``, when positive, with the bill of that month and the date it was first posted."""
    owed = select(LedgerEntry.payer_key, LedgerEntry.account, LedgerEntry.period,
                  func.sum(LedgerEntry.amount).label("outstanding"),
                  func.min(LedgerEntry.posted_on).label("billed_on")) \
        .where(LedgerEntry.account.in_([RECEIVABLE, INTEREST_RECEIVABLE]), LedgerEntry.posted_on <= on) \
        .group_by(LedgerEntry.payer_key, LedgerEntry.account, LedgerEntry.period) \
        .having(func.sum(LedgerEntry.amount) > 0)
    # By the payers' keys (index on payer_key): as fast as one grouped scan of the whole ledger at 100,000 payers
    # (measured), and it does not grow with the ledger's history.
    rows = rows_where_in(session, owed, LedgerEntry.payer_key, payer_keys)
    items = pl.DataFrame(rows, schema={"payer_key": pl.String, "account": pl.String, "period": pl.Date,
                                       "outstanding": pl.Int64, "billed_on": pl.Date}, orient="row")
    items = items.join(pl.DataFrame({"payer_key": payer_keys}, schema={"payer_key": pl.String}).unique(),
                       on="payer_key", how="semi")
    months = items.filter(pl.col("account") == RECEIVABLE)
    periods = months["period"].drop_nulls().unique().to_list()
    bill_rows = rows_where_in(session, select(Bill.payer_key, Bill.period, Bill.id).where(Bill.period.in_(periods)),
                              Bill.payer_key, months["payer_key"].unique().to_list()) if periods else []
    bills = pl.DataFrame(bill_rows, schema={"payer_key": pl.String, "period": pl.Date, "bill_id": pl.Int64},
                         orient="row")
    return items.join(bills, on=["payer_key", "period"], how="left").with_columns(
        bill_id=pl.when(pl.col("account") == RECEIVABLE).then(pl.col("bill_id")))


def allocate_payments(session: Session, payments: pl.DataFrame, *, on: date) -> pl.DataFrame:
    """Allocate the unallocated remainders of matched payments (columns id, payer_key, paid_on, remaining,
    province_2025) to what their payers owe, by the rule in force on ``on``; set-based. Each allocation is
    dated the later of the payment date and the date the debt was posted. Returns the allocations written."""
    empty = pl.DataFrame(schema={"id": pl.Int64, "payment_id": pl.Int64, "bill_id": pl.Int64, "part": pl.String,
                                 "amount": pl.Int64, "allocated_on": pl.Date})
    payments = payments.filter(pl.col("payer_key").is_not_null() & (pl.col("remaining") > 0))
    if payments.is_empty():
        return empty
    lock_allocations(session)
    interest_first, oldest_first = allocation_rule(on)
    items = _open_items(session, payments["payer_key"].unique().to_list(), on)
    if items.is_empty():
        return empty
    principal = pl.col("account") == RECEIVABLE
    items = items.with_columns(
        _part_rank=pl.when(principal).then(1).otherwise(0 if interest_first else 2),
        _period_key=pl.col("period").to_physical().fill_null(0) * (1 if oldest_first else -1),
    ).sort("payer_key", "_part_rank", "_period_key").with_columns(  # running sums in 128 bits: never wrap
        d1=pl.col("outstanding").cast(pl.Int128).cum_sum().over("payer_key"),
    ).with_columns(d0=pl.col("d1") - pl.col("outstanding"))
    pays = payments.sort("payer_key", "paid_on", "id").with_columns(
        p1=pl.col("remaining").cast(pl.Int128).cum_sum().over("payer_key"),
    ).with_columns(p0=pl.col("p1") - pl.col("remaining"))
    joined = pays.select("id", "payer_key", "paid_on", "p0", "p1", "province_2025").join(
        items.select("payer_key", "account", "period", "bill_id", "billed_on", "d0", "d1"), on="payer_key")
    joined = joined.with_columns(  # at most one payment's remainder: fits in 64 bits again
        amount=(pl.min_horizontal("p1", "d1") - pl.max_horizontal("p0", "d0")).cast(pl.Int64),
    ).filter(pl.col("amount") > 0)
    if joined.is_empty():
        return empty
    joined = joined.sort("id", "d0").with_columns(
        allocation_id=reserve_ids(session, "allocation", joined.height),
        allocated_on=pl.max_horizontal("paid_on", "billed_on"),
        part=pl.when(pl.col("account") == RECEIVABLE).then(pl.lit("principal")).otherwise(pl.lit("interest")),
    )
    allocations = joined.select(pl.col("allocation_id").alias("id"), pl.col("id").alias("payment_id"), "bill_id",
                                "part", "amount", "allocated_on", reversed=pl.lit(False))
    bulk_insert(session, Allocation.__table__, allocations)
    # One transaction per payment and date: prepayment +total against receivable −x per month (and interest).
    joined = joined.with_columns(txn=pl.lit("allocation-") + pl.col("allocation_id").min().over("id", "allocated_on")
                                 .cast(pl.String))
    credit = joined.select("txn", "payer_key", "account", "period", "province_2025",
                           pl.col("allocated_on").alias("posted_on"), pl.col("allocation_id").alias("source_id"),
                           amount=-pl.col("amount"))
    debit = joined.group_by("txn", maintain_order=True).agg(
        pl.col("payer_key").first(), pl.col("province_2025").first(), pl.col("allocated_on").first().alias("posted_on"),
        pl.col("allocation_id").min().alias("source_id"), pl.col("amount").sum(),
    ).with_columns(account=pl.lit(PREPAYMENT), period=pl.lit(None, pl.Date))
    ledger.post_frame(session, pl.concat([debit.select(credit.columns), credit]).with_columns(
        source_type=pl.lit("allocation"), fund=pl.lit(None, pl.String)))
    return allocations.drop("reversed")


def _remaining(session: Session, payment_ids: list[int]) -> pl.DataFrame:
    """Matched payments with their unallocated remainder (amount − allocations not reversed)."""
    allocated = select(Allocation.payment_id, func.sum(Allocation.amount).label("allocated")) \
        .where(Allocation.reversed.is_(False)).group_by(Allocation.payment_id).subquery()
    stmt = select(Payment.id, Payment.payer_key, Payment.paid_on,
                  Payment.amount - func.coalesce(allocated.c.allocated, 0), Payment.province_2025) \
        .outerjoin(allocated, allocated.c.payment_id == Payment.id) \
        .where(Payment.status == "matched")
    rows = rows_where_in(session, stmt, Payment.id, payment_ids)
    return pl.DataFrame(rows, schema={"id": pl.Int64, "payer_key": pl.String, "paid_on": pl.Date,
                                      "remaining": pl.Int64, "province_2025": pl.String}, orient="row")


def allocate_payment(session: Session, payment: Payment, *, on: date) -> list[Allocation]:
    """Allocate what is left of one payment (nothing when it is in suspense, reversed or used up)."""
    written = allocate_payments(session, _remaining(session, [payment.id]), on=on)
    if written.is_empty():
        return []
    return list(session.scalars(select(Allocation).where(Allocation.id.in_(written["id"].to_list()))
                                .order_by(Allocation.id)))


def allocate_open_payments(session: Session, *, on: date, payer_keys: list[str] | None = None) -> int:
    """Allocate the prepayments of payers (all, or these) to their open debts, e.g. after a billing run.
    Returns the dong allocated."""
    stmt = select(Payment.id).where(Payment.status == "matched", Payment.paid_on <= on)
    if payer_keys is not None:
        ids = [row[0] for row in rows_where_in(session, stmt, Payment.payer_key, payer_keys)]
    else:
        ids = list(session.scalars(stmt))
    written = allocate_payments(session, _remaining(session, ids), on=on)
    return money_sum(written["amount"]) if written.height else 0


# --- suspense, assignment, reversal -------------------------------------------------------------------------

def _suspense_query(principal: Principal | None):
    stmt = select(Payment).where(Payment.status == "suspense")
    scope = payments_in_scope(principal)
    return stmt if scope is None else stmt.where(scope)


def list_suspense(session: Session, *, principal: Principal | None = None, limit: int = 100,
                  offset: int = 0) -> list[Payment]:
    """The payments waiting in suspense that the caller may handle (None: all), oldest first."""
    return list(session.scalars(_suspense_query(principal).order_by(Payment.paid_on, Payment.id)
                                .limit(limit).offset(offset)))


def count_suspense(session: Session, *, principal: Principal | None = None) -> int:
    return int(session.scalar(select(func.count()).select_from(_suspense_query(principal).subquery())) or 0)


_PAYER_KEY = re.compile(r"^(?:(E|P|H|D):(\d{1,18})|S:[0-9A-Za-z]{1,8}:[0-9A-Za-z_]{1,16})$")


def payer_owner(session: Session, payer_key: str) -> tuple[str | None, int | None]:
    """The payer's province (2025) and org unit (those of its latest bill, else of its record); NotFound when
    there is no such payer."""
    match = _PAYER_KEY.match(payer_key or "")
    if match is None:
        raise ValidationFailed("payer_key", "{value} is not a payer key (E:<id>, P:<id>, H:<id>, D:<id> or "
                               "S:<province>:<group>).", value=payer_key)
    latest = session.execute(select(Bill.province_2025, Bill.org_unit_id).where(Bill.payer_key == payer_key)
                             .order_by(Bill.period.desc(), Bill.id.desc()).limit(1)).first()
    kind, number = match.group(1), match.group(2)
    from ansinh.outreach.models import Sponsor

    model = {"E": Employer, "P": Person, "H": Household, "D": Sponsor}.get(kind or "")
    if model is not None:
        record = session.get(model, int(number))
        if record is None:
            raise NotFound("There is no payer {payer_key}.", payer_key=payer_key)
        if latest is not None:
            return latest[0], latest[1]
        return getattr(record, "province_2025", None), record.org_unit_id
    if latest is None:
        raise NotFound("There is no payer {payer_key}.", payer_key=payer_key)
    return latest[0], latest[1]


def _locked_payment(session: Session, payment_id: int) -> Payment:
    """The payment, its row locked for the rest of the transaction and read afresh."""
    payment = session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update(key_share=True)
                             .execution_options(populate_existing=True))
    if payment is None:
        raise NotFound("There is no payment {payment_id}.", payment_id=payment_id)
    return payment


def get_payment(session: Session, payment_id: int, *, principal: Principal | None = None) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("There is no payment {payment_id}.", payment_id=payment_id)
    ensure_payment_in_scope(session, principal, payment)
    return payment


def assign_suspense(session: Session, payment_id: int, payer_key: str, *, actor: str,
                    on: date | None = None, principal: Principal | None = None) -> Payment:
    """An officer assigns a payment in suspense to a payer: suspense → prepayment, then allocation. The
    payment must be in the officer's scope (``principal``; None: the whole country), and so must the payer."""
    on = on or clock.today()
    lock_allocations(session)
    payment = _locked_payment(session, payment_id)
    ensure_payment_in_scope(session, principal, payment)
    if payment.status != "suspense":
        raise Conflict("Payment {payment_id} is not in suspense (it is {status}).", payment_id=payment_id,
                       status=payment.status)
    province, org_unit_id = payer_owner(session, payer_key)
    if not is_national(principal) and (org_unit_id is None or not principal.covers_path(
            session.get(OrgUnit, org_unit_id).path)):
        raise PermissionDenied("Payer {payer_key} belongs to another org unit, outside your scope.",
                               payer_key=payer_key)
    posted_on = max(on, payment.paid_on)
    ledger.post(session, [ledger.Entry(SUSPENSE, payment.amount, province_2025=payment.province_2025),
                          ledger.Entry(PREPAYMENT, -payment.amount, payer_key=payer_key, province_2025=province)],
                posted_on=posted_on, source_type="payment", source_id=payment.id)
    payment.payer_key, payment.matched_by, payment.status = payer_key, "officer", "matched"
    payment.province_2025, payment.org_unit_id = province, org_unit_id
    session.flush()
    record_event(session, "assign", "payment", payment.id, details={"payer_key": payer_key, "actor": actor})
    allocate_payment(session, payment, on=posted_on)
    return payment


def reverse_payment(session: Session, payment_id: int, *, reason: str, on: date, actor: str | None = None,
                    principal: Principal | None = None) -> Payment:
    """Undo a payment (returned by the bank, recorded in error): the opposite of each of its allocations and of
    its receipt are posted; the allocations are marked reversed; nothing is deleted. The payment must be in
    the caller's scope (``principal``; None: the whole country); reversing it twice is a conflict."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason", "A reason is required.")
    lock_allocations(session)
    payment = _locked_payment(session, payment_id)
    ensure_payment_in_scope(session, principal, payment)
    if payment.status == "reversed":
        raise Conflict("Payment {payment_id} is already reversed.", payment_id=payment_id)
    allocations = list(session.scalars(select(Allocation).where(Allocation.payment_id == payment.id,
                                                                Allocation.reversed.is_(False))
                                       .with_for_update(key_share=True)
                                       .execution_options(populate_existing=True)))
    periods = {b.id: b.period for b in session.scalars(select(Bill).where(
        Bill.id.in_([a.bill_id for a in allocations if a.bill_id is not None])))}
    for allocation in allocations:
        target = RECEIVABLE if allocation.part == "principal" else INTEREST_RECEIVABLE
        period = periods.get(allocation.bill_id) if allocation.bill_id is not None else None
        ledger.post(session, [
            ledger.Entry(PREPAYMENT, -allocation.amount, payer_key=payment.payer_key,
                         province_2025=payment.province_2025),
            ledger.Entry(target, allocation.amount, payer_key=payment.payer_key, period=period,
                         province_2025=payment.province_2025)],
            posted_on=on, source_type="reversal", source_id=allocation.id)
        allocation.reversed = True
    held = PREPAYMENT if payment.payer_key else SUSPENSE
    ledger.post(session, [ledger.Entry(BANK, -payment.amount, province_2025=payment.province_2025),
                          ledger.Entry(held, payment.amount, payer_key=payment.payer_key,
                                       province_2025=payment.province_2025)],
                posted_on=on, source_type="reversal", source_id=payment.id)
    payment.status = "reversed"
    session.flush()
    record_event(session, "reverse", "payment", payment.id,
                 details={"reason": reason[:300], "amount": payment.amount, "allocations": len(allocations),
                          "actor": actor})
    return payment


def payment_allocations(session: Session, payment_id: int) -> list[Allocation]:
    return list(session.scalars(select(Allocation).where(Allocation.payment_id == payment_id)
                                .order_by(Allocation.id)))


def collected_by_province(session: Session, *, since: date, until: date,
                          province: str | None = None) -> dict[str, int]:
    """Money collected per 2025 province: cash received between ``since`` and ``until`` (``Payment.paid_on``,
    inclusive) and allocated by ``until`` to what its payer owed (allocations not reversed, their principal and
    interest parts). Each allocation counts in the province of the bill it settles (``Bill.province_2025``); one
    without a bill (interest owed by the payer) in its payment's province, which for a matched payment is its
    payer's (the province :func:`payer_owner` answers: that of the payer's latest bill, else of its record).
    Money in suspense, prepaid and not yet allocated, or reversed is not collected. One grouped query; no scope
    check (the caller's); allocations with no province at all are left out."""
    if until < since:
        raise ValidationFailed("until", "The end ({end}) is before the start ({start}).", end=until, start=since)
    where = func.coalesce(Bill.province_2025, Payment.province_2025)
    stmt = (select(where, func.sum(Allocation.amount))
            .select_from(Allocation)
            .join(Payment, Payment.id == Allocation.payment_id)
            .outerjoin(Bill, Bill.id == Allocation.bill_id)
            .where(Allocation.reversed.is_(False), Payment.status != "reversed", Payment.paid_on >= since,
                   Payment.paid_on <= until, Allocation.allocated_on <= until, where.is_not(None))
            .group_by(where))
    if province is not None:
        stmt = stmt.where(where == province)
    return {code: int(total) for code, total in session.execute(stmt) if total}


# --- the payments list (web) --------------------------------------------------------------------------------

PAYMENT_STATUSES = ("matched", "suspense", "reversed")


@dataclass
class PaymentFilter:
    """What a reader narrows the payments list to (every field optional)."""

    paid_from: date | None = None
    paid_to: date | None = None
    status: str | None = None
    account: str | None = None  # the payer's or the receiving account, digits
    amount_min: int | None = None
    amount_max: int | None = None
    payer: str | None = None  # a tax code, a bill reference, words of the transfer text or the employer's name


def payments_query(session: Session, principal: Principal | None, wanted: PaymentFilter):
    """A ``select`` of the payments of the caller's scope that match the filter (unsorted)."""
    from ansinh.registry.identifiers import search_key

    if wanted.status is not None and wanted.status not in PAYMENT_STATUSES:
        raise ValidationFailed("status", "{value} is not a status of a payment.", value=wanted.status)
    if wanted.paid_from and wanted.paid_to and wanted.paid_from > wanted.paid_to:
        raise ValidationFailed("paid_to", "The end date is before the start date.")
    if wanted.amount_min is not None and wanted.amount_max is not None and wanted.amount_min > wanted.amount_max:
        raise ValidationFailed("amount_max", "The largest amount is smaller than the smallest.")
    stmt = select(Payment)
    scope = payments_in_scope(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    if wanted.paid_from:
        stmt = stmt.where(Payment.paid_on >= wanted.paid_from)
    if wanted.paid_to:
        stmt = stmt.where(Payment.paid_on <= wanted.paid_to)
    if wanted.status:
        stmt = stmt.where(Payment.status == wanted.status)
    if wanted.amount_min is not None:
        stmt = stmt.where(Payment.amount >= wanted.amount_min)
    if wanted.amount_max is not None:
        stmt = stmt.where(Payment.amount <= wanted.amount_max)
    if wanted.account:
        digits = re.sub(r"[^0-9A-Za-z:]", "", wanted.account)
        if digits:
            like = f"%{digits}%"
            stmt = stmt.where(Payment.payer_account.like(like) | Payment.receiving_account.like(like))
    text_ = (wanted.payer or "").strip()
    if text_:
        escaped = text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions = [Payment.reference_text.ilike(f"%{escaped}%", escape="\\")]
        key = search_key(text_)
        employers = select(Employer.id).where(
            (Employer.tax_code == re.sub(r"\s", "", text_))
            | Employer.name_search.like(f"%{key.replace('%', '').replace('_', '')}%")).limit(500)
        ids = [f"E:{i}" for i in session.scalars(employers)] if key else []
        if ids:
            conditions.append(Payment.payer_key.in_(ids))
        from sqlalchemy import or_

        stmt = stmt.where(or_(*conditions))
    return stmt


def payment_totals(session: Session, stmt) -> tuple[int, int]:
    """The number of payments of a list and their amount (dong)."""
    sub = stmt.order_by(None).subquery()
    count, amount = session.execute(select(func.count(), func.coalesce(func.sum(sub.c.amount), 0))).one()
    return int(count or 0), int(amount or 0)
