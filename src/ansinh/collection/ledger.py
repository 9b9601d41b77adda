"""The double-entry ledger: post transactions whose entries sum to zero, and read balances from it.

Sign convention: a debit is positive, a credit negative. A bill posts ``receivable +total`` (per payer) and
``contributions_income −amount`` per fund; a payment posts ``bank +amount`` against ``prepayment`` (matched payer)
or ``suspense``; an allocation moves ``prepayment +x`` and ``receivable −x``; interest posts
``interest_receivable +x`` / ``interest_income −x``; a write-off ``writeoff_expense +x`` / ``receivable −x``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.bulk import bulk_insert
from ansinh.collection.models import ACCOUNTS, LedgerEntry


#: The largest amount of one entry (64-bit column).
MAX_ENTRY = 2**63 - 1


class UnbalancedTransaction(ValueError):
    """A transaction whose entries do not sum to zero: nothing is posted."""


@dataclass(frozen=True)
class Entry:
    account: str
    amount: int
    payer_key: str | None = None
    fund: str | None = None
    period: date | None = None
    province_2025: str | None = None


def post(session: Session, entries: Sequence[Entry], *, posted_on: date, source_type: str,
         source_id: int | None = None) -> str:
    """Post one balanced transaction; returns its id."""
    if not entries:
        raise UnbalancedTransaction("a transaction has entries")
    if sum(e.amount for e in entries) != 0:
        raise UnbalancedTransaction(f"{source_type} {source_id}: entries sum to {sum(e.amount for e in entries)}")
    for entry in entries:
        if entry.account not in ACCOUNTS:
            raise ValueError(f"unknown ledger account {entry.account!r}")
        if not isinstance(entry.amount, int):
            raise TypeError("ledger amounts are integer dong")
        if not -MAX_ENTRY <= entry.amount <= MAX_ENTRY:
            raise ValueError(f"{source_type} {source_id}: an entry of {entry.amount} dong is beyond the "
                             "ledger's range")
    txn = uuid.uuid4().hex
    session.add_all([LedgerEntry(txn=txn, account=e.account, payer_key=e.payer_key, fund=e.fund, amount=e.amount,
                                 posted_on=posted_on, source_type=source_type, source_id=source_id, period=e.period,
                                 province_2025=e.province_2025) for e in entries])
    session.flush()
    return txn


def post_frame(session: Session, entries: pl.DataFrame) -> int:
    """Post many transactions at once (billing runs): ``entries`` has the LedgerEntry columns, ``txn`` grouping
    them. Every transaction must balance (checked on columns) and use known accounts; then one bulk write."""
    if entries.is_empty():
        return 0
    # summed in 128 bits: 64-bit sums wrap, and a transaction of huge amounts could seem to balance
    unbalanced = entries.group_by("txn").agg(pl.col("amount").cast(pl.Int128).sum()) \
        .filter(pl.col("amount") != 0)
    if unbalanced.height:
        raise UnbalancedTransaction(f"{unbalanced.height} transaction(s) do not balance, e.g. {unbalanced.row(0)}")
    unknown = set(entries["account"].unique().to_list()) - set(ACCOUNTS)
    if unknown:
        raise ValueError(f"unknown ledger account(s) {sorted(unknown)}")
    return bulk_insert(session, LedgerEntry.__table__, entries)


def new_txn_ids(count: int) -> list[str]:
    return [uuid.uuid4().hex for _ in range(count)]


def balance(session: Session, account: str, *, payer_key: str | None = None, on: date | None = None,
            province_2025: str | None = None) -> int:
    """Sum of an account's entries (for a payer, a province), up to and including a date."""
    stmt = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.account == account)
    if payer_key is not None:
        stmt = stmt.where(LedgerEntry.payer_key == payer_key)
    if province_2025 is not None:
        stmt = stmt.where(LedgerEntry.province_2025 == province_2025)
    if on is not None:
        stmt = stmt.where(LedgerEntry.posted_on <= on)
    return int(session.scalar(stmt) or 0)


def trial_balance(session: Session) -> dict[str, int]:
    """Every account's balance; their sum is zero in a consistent ledger."""
    rows = session.execute(select(LedgerEntry.account, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.account))
    return {account: int(total) for account, total in rows}  # SQL sums: numeric on PostgreSQL, never wrapping
