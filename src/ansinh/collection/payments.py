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

Services flush, never commit: the caller (request, CLI command) commits.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.audit.service import record_event
from ansinh.bulk import bulk_insert
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
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.registry.imports import _FileProblem, amount_column, date_column, read_table
from ansinh.registry.models import Employer, Household, Person
from ansinh.rules.parameters import ParameterSet, get_parameters

#: Queries with a list of keys go in chunks of this size.
LOOKUP_CHUNK = 5_000
MAX_REPORTED_ERRORS = 10_000
#: Serialises allocations on PostgreSQL (so that two imports never allocate the same debt twice).
_ALLOCATION_LOCK = 5_470_001

#: The agency's receiving accounts, ``BIN:account`` separated by commas (the first one is printed on bills).
ACCOUNTS_ENV = "ANSINH_COLLECTION_ACCOUNTS"
#: Demo accounts (not real): VietinBank, BIDV, Agribank, Vietcombank BINs.
DEMO_ACCOUNTS = "970415:113000006100,970418:12010000660099,970405:1500201099999,970436:0011000999888"


@dataclass(frozen=True)
class ReceivingAccount:
    bank_bin: str
    account: str


def collection_accounts() -> list[ReceivingAccount]:
    """The agency's receiving accounts from ``ANSINH_COLLECTION_ACCOUNTS`` (default: a demo list)."""
    raw = os.environ.get(ACCOUNTS_ENV, "").strip() or DEMO_ACCOUNTS
    accounts = []
    for item in raw.split(","):
        bank_bin, _, account = item.strip().partition(":")
        if not re.fullmatch(r"\d{6}", bank_bin) or not re.fullmatch(r"[0-9A-Za-z]{1,19}", account):
            raise ValueError(f"{ACCOUNTS_ENV}: {item!r} is not BIN:account (6-digit BIN, account 1-19 characters)")
        accounts.append(ReceivingAccount(bank_bin, account))
    return accounts


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
    "bad_amount": ("Not a whole number of dong.", "Không phải số tiền nguyên (đồng)."),
    "not_positive": ("The amount must be positive.", "Số tiền phải lớn hơn 0."),
    "too_long": ("Longer than {limit} characters.", "Dài quá {limit} ký tự."),
    "duplicate_txn": ("The transaction ID appears again in this file (first on row <_first>).",
                      "Mã giao dịch bị trùng trong tệp (lần đầu ở dòng <_first>)."),
    "unknown_account": ("Not a receiving account of the agency.", "Không phải tài khoản thu của cơ quan BHXH."),
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
    return en.format(**params), vi.format(**params)


def _template_expr(template: str) -> pl.Expr:
    parts = re.split(r"<(\w+)>", template)
    return pl.concat_str([pl.lit(p) if i % 2 == 0 else pl.col(p).cast(pl.String).fill_null("")
                          for i, p in enumerate(parts)])


# --- statement import ---------------------------------------------------------------------------------------

def import_statement(session: Session, *, content: bytes, file_name: str, actor: str, today: date) -> StatementReport:
    """Import a bank statement: all or nothing, idempotent (see the module docstring)."""
    sha256 = hashlib.sha256(content).hexdigest()
    report = StatementReport(file_name=file_name, sha256=sha256, status="rejected")
    previous = session.scalar(select(StatementImport).where(StatementImport.sha256 == sha256))
    if previous is not None:
        report.status, report.rows, report.statement_id = "unchanged", previous.rows, previous.id
        return report
    try:
        frame = read_table(content, file_name)
        frame = _check_header(frame)
    except _FileProblem as problem:
        report.errors = [StatementRowError(**asdict(e)) for e in problem.errors]
        return report
    report.rows = frame.height
    if frame.height == 0:
        report.errors = [StatementRowError(1, "", "", *_reason("empty"))]
        return report
    frame, errors = _validate(session, frame, today)
    if errors.height:
        report.error_count = errors.height
        report.errors = [StatementRowError(**r) for r in errors.head(MAX_REPORTED_ERRORS).iter_rows(named=True)]
        return report
    statement = StatementImport(file_name=file_name[:255], sha256=sha256, rows=frame.height, created_by=actor)
    session.add(statement)
    session.flush()
    new = frame.filter(~pl.col("_recorded"))
    report.skipped = frame.height - new.height
    payments = _intake(session, new.select(
        pl.col("bank_transaction_id"), pl.col("_date").alias("paid_on"), pl.col("_amount").alias("amount"),
        pl.col("payer_account"), pl.col("reference").alias("reference_text")), statement_id=statement.id)
    allocations = allocate_payments(session, payments.select("id", "payer_key", "paid_on", "amount", "province_2025")
                                    .rename({"amount": "remaining"}), on=today)
    statement.created_rows = payments.height
    report.status, report.statement_id, report.created = "applied", statement.id, payments.height
    report.matched = payments.filter(pl.col("payer_key").is_not_null()).height
    report.suspense = payments.height - report.matched
    report.amount = int(payments["amount"].sum() or 0)
    report.allocated = int(allocations["amount"].sum() or 0) if allocations.height else 0
    record_event(session, "import", "statement_import", statement.id,
                 details={"file": file_name, "rows": frame.height, "created": report.created,
                          "skipped": report.skipped, "matched": report.matched, "suspense": report.suspense,
                          "amount": report.amount, "allocated": report.allocated, "actor": actor})
    session.flush()
    return report


def _file_error(where: str, key: str, value: str = "", **params) -> StatementRowError:
    return StatementRowError(1, where, value, *_reason(key, **params))


def _check_header(frame: pl.DataFrame) -> pl.DataFrame:
    errors = [_file_error(name, "missing_column", column=name)
              for name, (required, _) in COLUMNS.items() if required and name not in frame.columns]
    errors += [_file_error(name, "unknown_column", value=name, column=name)
               for name in frame.columns if name not in COLUMNS]
    if errors:
        raise _FileProblem(errors)  # type: ignore[arg-type]
    missing = [name for name in COLUMNS if name not in frame.columns]
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name) for name in missing)
    return frame.select(list(COLUMNS)).with_columns(_row=pl.int_range(2, frame.height + 2, dtype=pl.Int64))


def _account_keys() -> list[str]:
    keys = []
    for account in collection_accounts():
        keys += [account.account, f"{account.bank_bin}:{account.account}"]
    return keys


def _validate(session: Session, frame: pl.DataFrame, today: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = frame.with_columns(
        _date=date_column(pl.col("date")),
        _amount=amount_column(pl.col("amount")),
        _account=pl.col("receiving_account").str.replace_all(r"\s", ""),
        _first=pl.when(pl.col("bank_transaction_id").is_not_null())
        .then(pl.col("_row").min().over("bank_transaction_id")),
    )
    recorded = _recorded(session, frame["bank_transaction_id"].drop_nulls().unique().to_list())
    frame = frame.join(recorded, on="bank_transaction_id", how="left")
    frame = frame.with_columns(_recorded=pl.col("_old_amount").is_not_null())
    checks: list[tuple[str, pl.Expr, str, dict]] = [
        ("date", pl.col("date").is_null(), "required", {}),
        ("date", pl.col("_date").is_null(), "bad_date", {}),
        ("date", pl.col("_date") > pl.lit(today), "future_date", {}),
        ("amount", pl.col("amount").is_null(), "required", {}),
        ("amount", pl.col("_amount").is_null(), "bad_amount", {}),
        ("amount", pl.col("_amount") <= 0, "not_positive", {}),
        ("payer_account", pl.col("payer_account").str.len_chars() > 40, "too_long", {"limit": 40}),
        ("reference", pl.col("reference").str.len_chars() > 300, "too_long", {"limit": 300}),
        ("bank_transaction_id", pl.col("bank_transaction_id").is_null(), "required", {}),
        ("bank_transaction_id", pl.col("bank_transaction_id").str.len_chars() > 64, "too_long", {"limit": 64}),
        ("bank_transaction_id", pl.col("_first") != pl.col("_row"), "duplicate_txn", {}),
        ("bank_transaction_id", pl.col("_recorded") & ((pl.col("_old_amount") != pl.col("_amount"))
                                                       | (pl.col("_old_paid_on") != pl.col("_date"))),
         "recorded_differently", {}),
        ("receiving_account", pl.col("receiving_account").is_null(), "required", {}),
        ("receiving_account", ~pl.col("_account").is_in(_account_keys()), "unknown_account", {}),
    ]
    prior: dict[str, pl.Expr] = {}
    parts = []
    for column, bad, key, params in checks:
        bad = bad.fill_null(False)
        earlier = prior.get(column, pl.lit(False))
        prior[column] = earlier | bad
        en, vi = (t.format(**params) for t in R[key])
        part = frame.filter(bad & ~earlier).select(
            pl.col("_row").alias("row"), pl.lit(column).alias("column"),
            pl.col(column).cast(pl.String).fill_null("").alias("value"),
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


# --- one payment from a bank's API ---------------------------------------------------------------------------

def record_payment(session: Session, *, bank_transaction_id: str, paid_on: date, amount: int,
                   payer_account: str | None = None, reference_text: str | None = None,
                   on: date | None = None) -> Payment:
    """Record one payment (idempotent by bank transaction ID: the same one again returns the recorded payment;
    with another date or amount it is a conflict), match it and allocate it."""
    txn = (bank_transaction_id or "").strip()
    if not txn or len(txn) > 64:
        raise ValidationFailed("bank_transaction_id", "A bank transaction ID of 1 to 64 characters is required.")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed("amount", "The amount must be a positive whole number of dong, got {value}.",
                               value=amount)
    if payer_account is not None and len(payer_account) > 40:
        raise ValidationFailed("payer_account", "Longer than {limit} characters.", limit=40)
    if reference_text is not None and len(reference_text) > 300:
        raise ValidationFailed("reference_text", "Longer than {limit} characters.", limit=300)
    on = on or clock.today()
    if paid_on > on:
        raise ValidationFailed("paid_on", "The payment date {value} is after today.", value=paid_on.isoformat())
    existing = session.scalar(select(Payment).where(Payment.bank_transaction_id == txn))
    if existing is not None:
        if existing.amount != amount or existing.paid_on != paid_on:
            raise Conflict("Transaction {txn} is already recorded with another date or amount.", txn=txn)
        return existing
    payments = _intake(session, pl.DataFrame({
        "bank_transaction_id": [txn], "paid_on": [paid_on], "amount": [amount], "payer_account": [payer_account],
        "reference_text": [reference_text]}, schema={"bank_transaction_id": pl.String, "paid_on": pl.Date,
                                                      "amount": pl.Int64, "payer_account": pl.String,
                                                      "reference_text": pl.String}), statement_id=None)
    allocate_payments(session, payments.select("id", "payer_key", "paid_on", "amount", "province_2025")
                      .rename({"amount": "remaining"}), on=max(on, paid_on))
    payment = session.get(Payment, int(payments["id"][0]))
    assert payment is not None
    record_event(session, "receive", "payment", payment.id,
                 details={"bank_transaction_id": txn, "amount": amount, "payer_key": payment.payer_key,
                          "matched_by": payment.matched_by})
    return payment


# --- intake: ids, matching, payments and receipts in bulk ---------------------------------------------------

def _reserve_ids(session: Session, table: str, count: int) -> pl.Series:
    """``count`` fresh ids of a table, for bulk writes (the sequence on PostgreSQL; max + 1 on SQLite, whose
    writers are serialised by the database lock)."""
    if count == 0:
        return pl.Series("id", [], dtype=pl.Int64)
    if session.get_bind().dialect.name == "postgresql":
        ids = session.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                   "FROM generate_series(1, :n)"), {"n": count}).scalars().all()
        return pl.Series("id", ids, dtype=pl.Int64).sort()
    first = int(session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar() or 0) + 1
    return pl.int_range(first, first + count, dtype=pl.Int64, eager=True).alias("id")


def _intake(session: Session, frame: pl.DataFrame, *, statement_id: int | None) -> pl.DataFrame:
    """Write new payments (columns bank_transaction_id, paid_on, amount, payer_account, reference_text) matched
    to their payers, with their receipts in the ledger. Returns the payments written (with id, payer_key)."""
    if frame.is_empty():
        return frame.with_columns(id=pl.lit(None, pl.Int64), payer_key=pl.lit(None, pl.String),
                                  province_2025=pl.lit(None, pl.String))
    matched = match_frame(session, frame["reference_text"])
    payments = frame.with_columns(
        id=_reserve_ids(session, "payment", frame.height),
        payer_key=matched["payer_key"], matched_by=matched["matched_by"], province_2025=matched["province_2025"],
        statement_import_id=pl.lit(statement_id, dtype=pl.Int64),
    ).with_columns(status=pl.when(pl.col("payer_key").is_null()).then(pl.lit("suspense")).otherwise(pl.lit("matched")))
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
    bills = pl.DataFrame(_lookup(session, Bill.reference, [Bill.reference, Bill.payer_key, Bill.province_2025], keys),
                         schema={"token": pl.String, "payer_key": pl.String, "province_2025": pl.String},
                         orient="row")
    by_reference = _single_payer(tokens.join(bills, on="token"), "reference")
    codes = work.select("_i", code=pl.col("text").str.extract_all(_TAX_CODE)).explode("code").drop_nulls("code") \
        .with_columns(pl.col("code").str.replace_all("-", "", literal=True)).unique()
    employers = pl.DataFrame(_lookup(session, Employer.tax_code, [Employer.tax_code, Employer.id,
                                                                  Employer.province_2025],
                                     codes["code"].unique().to_list()),
                             schema={"code": pl.String, "employer_id": pl.Int64, "province_2025": pl.String},
                             orient="row").with_columns(payer_key=pl.lit("E:") + pl.col("employer_id").cast(pl.String))
    by_tax_code = _single_payer(codes.join(employers, on="code"), "tax_code")
    out = work.select("_i").join(by_reference, on="_i", how="left").join(by_tax_code, on="_i", how="left",
                                                                         suffix="_t")
    return out.sort("_i").select(
        payer_key=pl.coalesce("payer_key", "payer_key_t"),
        matched_by=pl.coalesce("matched_by", "matched_by_t"),
        province_2025=pl.when(pl.col("payer_key").is_not_null()).then(pl.col("province_2025"))
        .otherwise(pl.col("province_2025_t")))


def _single_payer(candidates: pl.DataFrame, how: str) -> pl.DataFrame:
    return candidates.group_by("_i").agg(pl.col("payer_key").n_unique().alias("_n"),
                                         pl.col("payer_key").first(), pl.col("province_2025").first()) \
        .filter(pl.col("_n") == 1).select("_i", "payer_key", pl.lit(how).alias("matched_by"), "province_2025")


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


def _lock_allocations(session: Session) -> None:
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
    _lock_allocations(session)
    interest_first, oldest_first = allocation_rule(on)
    items = _open_items(session, payments["payer_key"].unique().to_list(), on)
    if items.is_empty():
        return empty
    principal = pl.col("account") == RECEIVABLE
    items = items.with_columns(
        _part_rank=pl.when(principal).then(1).otherwise(0 if interest_first else 2),
        _period_key=pl.col("period").to_physical().fill_null(0) * (1 if oldest_first else -1),
    ).sort("payer_key", "_part_rank", "_period_key").with_columns(
        d1=pl.col("outstanding").cum_sum().over("payer_key"),
    ).with_columns(d0=pl.col("d1") - pl.col("outstanding"))
    pays = payments.sort("payer_key", "paid_on", "id").with_columns(
        p1=pl.col("remaining").cum_sum().over("payer_key"),
    ).with_columns(p0=pl.col("p1") - pl.col("remaining"))
    joined = pays.select("id", "payer_key", "paid_on", "p0", "p1", "province_2025").join(
        items.select("payer_key", "account", "period", "bill_id", "billed_on", "d0", "d1"), on="payer_key")
    joined = joined.with_columns(
        amount=pl.min_horizontal("p1", "d1") - pl.max_horizontal("p0", "d0"),
    ).filter(pl.col("amount") > 0)
    if joined.is_empty():
        return empty
    joined = joined.sort("id", "d0").with_columns(
        allocation_id=_reserve_ids(session, "allocation", joined.height),
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
    return int(written["amount"].sum() or 0) if written.height else 0


# --- suspense, assignment, reversal -------------------------------------------------------------------------

def list_suspense(session: Session, *, limit: int = 100, offset: int = 0) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.status == "suspense")
                                .order_by(Payment.paid_on, Payment.id).limit(limit).offset(offset)))


_PAYER_KEY = re.compile(r"^(?:(E|P|H):(\d{1,18})|S:[0-9A-Za-z]{1,8}:[0-9A-Za-z_]{1,16})$")


def _check_payer(session: Session, payer_key: str) -> str | None:
    """The payer's province (2025); NotFound when no such payer."""
    match = _PAYER_KEY.match(payer_key or "")
    if match is None:
        raise ValidationFailed("payer_key", "{value} is not a payer key (E:<id>, P:<id>, H:<id> or "
                               "S:<province>:<group>).", value=payer_key)
    province = session.scalar(select(Bill.province_2025).where(Bill.payer_key == payer_key)
                              .order_by(Bill.period.desc()).limit(1))
    kind, number = match.group(1), match.group(2)
    model = {"E": Employer, "P": Person, "H": Household}.get(kind or "")
    if model is not None:
        record = session.get(model, int(number))
        if record is None:
            raise NotFound("There is no payer {payer_key}.", payer_key=payer_key)
        return province or getattr(record, "province_2025", None)
    if province is None and session.scalar(select(Bill.id).where(Bill.payer_key == payer_key).limit(1)) is None:
        raise NotFound("There is no payer {payer_key}.", payer_key=payer_key)
    return province


def _get_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("There is no payment {payment_id}.", payment_id=payment_id)
    return payment


def assign_suspense(session: Session, payment_id: int, payer_key: str, *, actor: str,
                    on: date | None = None) -> Payment:
    """An officer assigns a payment in suspense to a payer: suspense → prepayment, then allocation."""
    on = on or clock.today()
    payment = _get_payment(session, payment_id)
    if payment.status != "suspense":
        raise Conflict("Payment {payment_id} is not in suspense (it is {status}).", payment_id=payment_id,
                       status=payment.status)
    province = _check_payer(session, payer_key)
    posted_on = max(on, payment.paid_on)
    ledger.post(session, [ledger.Entry(SUSPENSE, payment.amount, province_2025=payment.province_2025),
                          ledger.Entry(PREPAYMENT, -payment.amount, payer_key=payer_key, province_2025=province)],
                posted_on=posted_on, source_type="payment", source_id=payment.id)
    payment.payer_key, payment.matched_by, payment.status = payer_key, "officer", "matched"
    payment.province_2025 = province
    session.flush()
    record_event(session, "assign", "payment", payment.id, details={"payer_key": payer_key, "actor": actor})
    allocate_payment(session, payment, on=posted_on)
    return payment


def reverse_payment(session: Session, payment_id: int, *, reason: str, on: date, actor: str | None = None) -> Payment:
    """Undo a payment (returned by the bank, recorded in error): the opposite of each of its allocations and of
    its receipt are posted; the allocations are marked reversed; nothing is deleted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason", "A reason is required.")
    payment = _get_payment(session, payment_id)
    if payment.status == "reversed":
        raise Conflict("Payment {payment_id} is already reversed.", payment_id=payment_id)
    _lock_allocations(session)
    allocations = list(session.scalars(select(Allocation).where(Allocation.payment_id == payment.id,
                                                                Allocation.reversed.is_(False))))
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
