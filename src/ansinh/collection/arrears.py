"""Arrears and late interest: a payer's account, ageing, interest accrued to any date, overdue-rate KPIs,
employers overdue for inspection, debtor lists and write-offs.

Sources. The ledger (:mod:`ansinh.collection.ledger`) is the book of record of balances: a payer's receivable,
prepayment and interest receivable come from it. The per-bill detail that ageing and interest need comes from
the tables the ledger postings are made from: ``bill`` (what is owed and when it is due), ``allocation`` (the
principal and interest parts of payments applied to a bill; reversed allocations count nowhere) with the
``payment`` they belong to (its ``paid_on`` date stops the interest), and ``write_off``.

Outstanding of a bill on a date ``on``::

    outstanding = total − Σ principal allocated (allocated_on ≤ on, not reversed) − Σ written off (≤ on)

Ageing: a bill is overdue on ``on`` by ``k`` months when ``due + (k−1) months < on ≤ due + k months`` (the
months begun since the due date: one day late is month 1). Its outstanding goes to the bucket ``"1"``,
``"2"`` or ``"3+"``. An employer "overdue 3 months or more" has outstanding in the ``"3+"`` bucket.

Interest (method). The outstanding of a bill falls in steps as payments are allocated to it, so interest runs on
each part of the bill for as long as that part stayed unpaid. Each bill is cut into parts that together are its
total: one part per principal allocation (settled on its payment's date), one per write-off (settled on the
write-off date: no interest runs on a written-off amount after it) and the outstanding remainder (settled
``on``: the interest accrued so far). Each part gets ``rules.late_interest`` (``amount, due, paid, fund``) with
``paid`` = its settlement date clipped to ``[due, on]``. Summing the parts equals integrating the outstanding
over the intervals between payments (Σ outstanding × days) — each day's rate being the regime in force on that
day, so a debt straddling 2025-07-01 is split by the rules — with two consequences of charging per part, as the
law does per late payment: rounding is per part, and the old regime's 30-day minimum is counted per part
(a part paid within 30 days of the deadline bore no interest before 2025-07-01). A bill's parts are split by
fund (si / ui / hi: the rates of the old regime differ) in proportion to the bill's lines per fund (integer
division, the remainder to hi); a bill without lines is all hi for household and state-budget payers, all si
otherwise. Everything is computed on columns: one rules call for all parts of all bills in scope.

Interest owed on ``on`` = interest accrued − interest allocated (``part == "interest"``, ``allocated_on ≤ on``).
:func:`accrue_interest` posts to the ledger the accrued interest not yet posted (``interest_receivable`` /
``interest_income``), per payer and province.

Scope: ``principal`` None is the whole country (CLI, batch jobs); an agency user below national level sees the
bills of their org-unit subtree only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Date, Select, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Principal, ensure_in_scope, org_scope
from ansinh.bounds import MAX_AMOUNT
from ansinh.collection import ledger
from ansinh.collection.models import (
    INTEREST_INCOME,
    INTEREST_RECEIVABLE,
    PREPAYMENT,
    RECEIVABLE,
    WRITEOFF,
    Allocation,
    Bill,
    BillLine,
    LedgerEntry,
    Payment,
    WriteOff,
)
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.registry.models import Employer
from ansinh.rules.late_interest import late_interest_columns
from ansinh.rules.parameters import get_parameters

AGE_BUCKETS = ("1", "2", "3+")
#: Bill line funds → the fund keys of the late-interest rule.
FUND_KEY = {"retirement": "si", "sickness_maternity": "si", "occupational": "si", "health": "hi",
            "unemployment": "ui"}
_HI_ONLY_PAYERS = ("household", "state_budget", "sponsor")

_BILL_SCHEMA = {"bill_id": pl.Int64, "payer_key": pl.Utf8, "payer_type": pl.Utf8, "employer_id": pl.Int64,
                "province": pl.Utf8, "period": pl.Date, "due_date": pl.Date, "reference": pl.Utf8,
                "total": pl.Int64}


# ---------------------------------------------------------------------------------------------------- helpers
def _frame(session: Session, stmt: Select, schema: dict[str, Any]) -> pl.DataFrame:
    rows = session.execute(stmt).all()
    return pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row")


def _bill_conditions(principal: Principal | None, *, on: date, province: str | None, payer_key: str | None,
                     since: date | None = None, due_only: bool = False) -> list:
    conditions = [Bill.period <= on]
    if due_only:  # the deadline has passed: on the due date itself a payment is still on time
        conditions.append(Bill.due_date < on)
    if since is not None:
        conditions.append(Bill.due_date >= since)
    if principal is not None and principal.org_unit_level != "national":
        conditions.append(org_scope(principal, Bill.org_unit_id))
    if province:
        conditions.append(Bill.province_2025 == province)
    if payer_key is not None:
        conditions.append(Bill.payer_key == payer_key)
    return conditions


def months_overdue(due: pl.Expr, on: date) -> pl.Expr:
    """The months begun since the due date (0 when not yet late): 1 day late → 1."""
    months = ((on.year - due.dt.year().cast(pl.Int32)) * 12 + (on.month - due.dt.month().cast(pl.Int32))
              + (pl.lit(on.day) > due.dt.day().cast(pl.Int32)).cast(pl.Int32))
    return pl.when(due < pl.lit(on)).then(months).otherwise(0).cast(pl.Int32)


INTEREST_BEARING_MONTHS = "collection.interest_bearing_min_months_late"


def interest_bearing(due: pl.Expr, on: date, months: int) -> pl.Expr:
    """Whether an amount due on ``due`` is, on ``on``, at least ``months`` whole months past its deadline:
    ``due + months < on``, the months added calendar-wise and month-end safe (a day past the month's length is
    its last day). With 1: due 2026-03-31 → not on 2026-04-30, yes from 2026-05-01; due 2026-02-28 → yes from
    2026-03-29. Equivalently :func:`months_overdue` ≥ ``months + 1``; 0 is every overdue amount."""
    return due.dt.offset_by(f"{months}mo") < pl.lit(on)


def _interest(session: Session, bills: pl.DataFrame, allocations: pl.DataFrame, writeoffs: pl.DataFrame,
              conditions: list, on: date) -> pl.DataFrame:
    """Interest accrued to ``on`` per bill (``bill_id, interest, old_regime_interest, new_regime_interest``)."""
    late = bills.filter(pl.col("due_date") < on)
    empty = pl.DataFrame(schema={"bill_id": pl.Int64, "interest": pl.Int64, "old_regime_interest": pl.Int64,
                                 "new_regime_interest": pl.Int64})
    if late.is_empty():
        return empty
    parts = pl.concat([
        allocations.select("bill_id", "amount", settled="paid_on"),
        writeoffs.select("bill_id", "amount", settled="written_off_on"),
        late.select("bill_id", amount="outstanding", settled=pl.lit(on, dtype=pl.Date)),
    ], how="vertical_relaxed")
    parts = (parts.join(late.select("bill_id", "due_date", "payer_type"), on="bill_id", how="inner")
             .filter(pl.col("amount") > 0)
             .with_columns(settled=pl.min_horizontal(pl.max_horizontal("settled", "due_date"), pl.lit(on))))
    parts = parts.filter(pl.col("settled") > pl.col("due_date"))
    if parts.is_empty():
        return empty
    shares = _fund_shares(session, conditions, on)
    parts = parts.join(shares, on="bill_id", how="left").with_columns(
        si=pl.col("si").fill_null(pl.when(pl.col("payer_type").is_in(_HI_ONLY_PAYERS)).then(0).otherwise(1)),
        ui=pl.col("ui").fill_null(0),
        hi=pl.col("hi").fill_null(pl.when(pl.col("payer_type").is_in(_HI_ONLY_PAYERS)).then(1).otherwise(0)),
    )
    base = (pl.col("si") + pl.col("ui") + pl.col("hi")).cast(pl.Int128)
    amount = pl.col("amount").cast(pl.Int128)
    parts = parts.with_columns(
        a_si=pl.when(base > 0).then(amount * pl.col("si").cast(pl.Int128) // base).otherwise(amount).cast(pl.Int64),
        a_ui=pl.when(base > 0).then(amount * pl.col("ui").cast(pl.Int128) // base).otherwise(0).cast(pl.Int64),
    ).with_columns(a_hi=pl.col("amount") - pl.col("a_si") - pl.col("a_ui"))
    rows = pl.concat([
        parts.select("bill_id", amount=pl.col(f"a_{fund}"), due="due_date", paid="settled", fund=pl.lit(fund))
        for fund in ("si", "ui", "hi")
    ]).filter(pl.col("amount") > 0)
    if rows.is_empty():
        return empty
    computed = late_interest_columns(rows, get_parameters())
    return (pl.concat([rows.select("bill_id"), computed], how="horizontal")
            .group_by("bill_id").agg(pl.col("interest", "old_regime_interest", "new_regime_interest").sum()))


def _fund_shares(session: Session, conditions: list, on: date) -> pl.DataFrame:
    """Per bill, the amounts of its lines by late-interest fund key (``bill_id, si, ui, hi``)."""
    stmt = (select(BillLine.bill_id, BillLine.fund, func.sum(BillLine.amount))
            .join(Bill, Bill.id == BillLine.bill_id)
            .where(*conditions, Bill.due_date < on).group_by(BillLine.bill_id, BillLine.fund))
    lines = _frame(session, stmt, {"bill_id": pl.Int64, "fund": pl.Utf8, "amount": pl.Int64})
    lines = lines.with_columns(key=pl.col("fund").replace_strict(FUND_KEY, default="si"))
    shares = pl.DataFrame({"bill_id": lines["bill_id"].unique()}, schema={"bill_id": pl.Int64})
    for key in ("si", "ui", "hi"):
        part = lines.filter(pl.col("key") == key).group_by("bill_id").agg(pl.col("amount").sum().alias(key))
        shares = shares.join(part, on="bill_id", how="left")
    return shares.with_columns(pl.col("si", "ui", "hi").fill_null(0).clip(lower_bound=0))


def _interest_paid(session: Session, bills: pl.DataFrame, conditions: list, on: date) -> pl.DataFrame:
    """Interest allocated by ``on`` per bill (``bill_id, interest_paid``). Interest allocations name a bill or
    only the payer (interest is owed by the payer, per month): those without a bill in scope are attributed to
    the payer's earliest bill in scope, so that sums per payer and per province hold."""
    payers = select(Bill.payer_key).where(*conditions).distinct()
    rows = _frame(session, select(Payment.payer_key, Allocation.bill_id, Allocation.amount)
                  .join(Payment, Payment.id == Allocation.payment_id)
                  .where(Allocation.part == "interest", Allocation.reversed.is_(False), Allocation.allocated_on <= on,
                         Payment.payer_key.in_(payers)),
                  {"payer_key": pl.Utf8, "bill_id": pl.Int64, "amount": pl.Int64})
    if rows.is_empty() or bills.is_empty():
        return pl.DataFrame(schema={"bill_id": pl.Int64, "interest_paid": pl.Int64})
    earliest = (bills.sort("due_date", "bill_id").group_by("payer_key", maintain_order=True)
                .agg(first_bill=pl.col("bill_id").first()))
    known = bills.select("bill_id", in_scope=pl.lit(True))
    rows = (rows.join(known, on="bill_id", how="left").join(earliest, on="payer_key", how="inner")
            .with_columns(bill_id=pl.when(pl.col("in_scope")).then(pl.col("bill_id")).otherwise(pl.col("first_bill"))))
    return rows.group_by("bill_id").agg(interest_paid=pl.col("amount").sum())


def bill_state(session: Session, principal: Principal | None, *, on: date, province: str | None = None,
               payer_key: str | None = None, since: date | None = None, due_only: bool = False,
               with_interest: bool = True) -> pl.DataFrame:
    """Every bill in scope on ``on`` (period begun by then) with its paid, written-off and outstanding amounts,
    months overdue, and interest accrued and paid to ``on``."""
    conditions = _bill_conditions(principal, on=on, province=province, payer_key=payer_key, since=since,
                                  due_only=due_only)
    bills = _frame(session, select(Bill.id, Bill.payer_key, Bill.payer_type, Bill.employer_id, Bill.province_2025,
                                   Bill.period, Bill.due_date, Bill.reference, Bill.total).where(*conditions),
                   _BILL_SCHEMA)
    allocations = _frame(session, select(Allocation.bill_id, Allocation.part, Allocation.amount, Payment.paid_on)
                         .join(Payment, Payment.id == Allocation.payment_id)
                         .join(Bill, Bill.id == Allocation.bill_id)
                         .where(*conditions, Allocation.part == "principal", Allocation.reversed.is_(False),
                                Allocation.allocated_on <= on),
                         {"bill_id": pl.Int64, "part": pl.Utf8, "amount": pl.Int64, "paid_on": pl.Date})
    writeoffs = _frame(session, select(WriteOff.bill_id, WriteOff.amount, WriteOff.written_off_on)
                       .join(Bill, Bill.id == WriteOff.bill_id)
                       .where(*conditions, WriteOff.written_off_on <= on),
                       {"bill_id": pl.Int64, "amount": pl.Int64, "written_off_on": pl.Date})
    principal_parts = allocations.filter(pl.col("part") == "principal")
    paid = principal_parts.group_by("bill_id").agg(paid=pl.col("amount").sum())
    interest_paid = _interest_paid(session, bills, conditions, on)
    written = writeoffs.group_by("bill_id").agg(written_off=pl.col("amount").sum())
    bills = (bills.join(paid, on="bill_id", how="left").join(written, on="bill_id", how="left")
             .join(interest_paid, on="bill_id", how="left")
             .with_columns(pl.col("paid", "written_off", "interest_paid").fill_null(0).cast(pl.Int64))
             .with_columns(outstanding=pl.col("total") - pl.col("paid") - pl.col("written_off"),
                           months_overdue=months_overdue(pl.col("due_date"), on)))
    if with_interest:
        interest = _interest(session, bills, principal_parts, writeoffs, conditions, on)
        bills = bills.join(interest, on="bill_id", how="left").with_columns(
            pl.col("interest", "old_regime_interest", "new_regime_interest").fill_null(0).cast(pl.Int64))
    else:
        bills = bills.with_columns(interest=pl.lit(0, dtype=pl.Int64), old_regime_interest=pl.lit(0, dtype=pl.Int64),
                                   new_regime_interest=pl.lit(0, dtype=pl.Int64))
    return bills.sort("due_date", "bill_id")


def _sum(values: pl.Series) -> int:
    """A sum of dong over many bills, added in 128 bits (a country's totals never wrap around 2⁶³)."""
    return int(values.cast(pl.Int128).sum() or 0)


def _ageing(bills: pl.DataFrame) -> dict[str, int]:
    overdue = bills.filter((pl.col("months_overdue") > 0) & (pl.col("outstanding") != 0))
    return {
        "1": _sum(overdue.filter(pl.col("months_overdue") == 1)["outstanding"]),
        "2": _sum(overdue.filter(pl.col("months_overdue") == 2)["outstanding"]),
        "3+": _sum(overdue.filter(pl.col("months_overdue") >= 3)["outstanding"]),
    }


# ---------------------------------------------------------------------------------------------------- account
def ensure_payer_in_scope(session: Session, principal: Principal | None, payer_key: str) -> None:
    """The payer's bills (all of them: a payer who moved has bills of two offices), or when it has none its
    record, lie in the caller's scope (None: the whole country); NotFound when there is no such payer."""
    if principal is None or principal.org_unit_level == "national":
        return
    units = session.scalars(select(Bill.org_unit_id).where(Bill.payer_key == payer_key).distinct()).all()
    if not units:
        from ansinh.collection.payments import payer_owner

        try:
            units = [payer_owner(session, payer_key)[1]]
        except ValidationFailed:
            raise NotFound("No account for payer {payer_key}.", payer_key=payer_key) from None
    for unit_id in units:
        unit = session.get(OrgUnit, unit_id) if unit_id is not None else None
        if unit is None:
            raise PermissionDenied("This record belongs to another org unit, outside your scope.")
        ensure_in_scope(principal, unit)


def ensure_province_in_scope(session: Session, principal: Principal | None, province: str | None) -> None:
    """A province asked for (a report, a debtor list) is one the caller may see: any for national staff (and
    the CLI), else only the caller's own province."""
    if province is None or principal is None or principal.org_unit_level == "national":
        return
    from ansinh.registry.service import office_province_code

    own = office_province_code(session, session.get(OrgUnit, principal.org_unit_id))
    if province != own:
        raise PermissionDenied("You may see only province {province}.", province=own)


def payer_account(session: Session, payer_key: str, *, on: date, principal: Principal | None = None) -> dict:
    """A payer's account on a date: balances from the ledger, ageing and interest from the bills. The payer
    must be in the caller's scope (``principal``; None: the whole country)."""
    ensure_payer_in_scope(session, principal, payer_key)
    bills = bill_state(session, None, on=on, payer_key=payer_key)
    billed = int(session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.account == RECEIVABLE, LedgerEntry.payer_key == payer_key, LedgerEntry.source_type == "bill",
        LedgerEntry.posted_on <= on)) or 0)
    if bills.is_empty() and not billed and not session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.payer_key == payer_key)):
        raise NotFound("No account for payer {payer_key}.", payer_key=payer_key)
    interest_paid = int(session.scalar(
        select(func.coalesce(func.sum(Allocation.amount), 0)).join(Payment, Payment.id == Allocation.payment_id)
        .where(Payment.payer_key == payer_key, Allocation.part == "interest", Allocation.reversed.is_(False),
               Allocation.allocated_on <= on)) or 0)
    accrued = _sum(bills["interest"])
    return {
        "payer_key": payer_key,
        "on": on.isoformat(),
        "billed": billed,
        "paid": _sum(bills["paid"]),
        "written_off": _sum(bills["written_off"]),
        "balance": ledger.balance(session, RECEIVABLE, payer_key=payer_key, on=on),
        "prepayment": -ledger.balance(session, PREPAYMENT, payer_key=payer_key, on=on),
        "arrears": _sum(bills.filter(pl.col("months_overdue") > 0)["outstanding"]),
        "arrears_by_age": _ageing(bills),
        "interest_accrued": accrued,
        "interest_paid": interest_paid,
        "interest": accrued - interest_paid,
        "interest_posted": -ledger.balance(session, INTEREST_INCOME, payer_key=payer_key, on=on),
        "interest_receivable": ledger.balance(session, INTEREST_RECEIVABLE, payer_key=payer_key, on=on),
        "bills": [{**row, "period": row["period"].isoformat(), "due_date": row["due_date"].isoformat()}
                  for row in bills.select("bill_id", "reference", "period", "due_date", "total", "paid",
                                          "written_off", "outstanding", "months_overdue", "interest",
                                          "old_regime_interest", "new_regime_interest", "interest_paid")
                  .iter_rows(named=True)],
    }


def accrue_interest(session: Session, *, on: date, province: str | None = None) -> int:
    """Post to the ledger the interest accrued to ``on`` and not yet posted, per payer and province (one
    balanced transaction each: ``interest_receivable +x`` / ``interest_income −x``, dated ``on``). Running it
    twice for the same date posts nothing the second time; a later date posts only the difference. Returns the
    total posted (dong). Accruals go forward in time: a date before an accrual already posted is refused.
    Takes the collection lock first: two accruals at once never post the same interest twice."""
    from ansinh.collection.payments import lock_allocations

    lock_allocations(session)
    later = session.scalar(select(func.max(LedgerEntry.posted_on)).where(
        LedgerEntry.account == INTEREST_INCOME, LedgerEntry.source_type == "interest",
        *([LedgerEntry.province_2025 == province] if province else [])))
    if later is not None and later > on:
        raise Conflict("Interest has already been posted up to {later}; accrue to that date or later.",
                       later=later)
    bills = bill_state(session, None, on=on, province=province)
    accrued = (bills.group_by("payer_key", "province").agg(accrued=pl.col("interest").cast(pl.Int128).sum()
                                                           .cast(pl.Int64))
               .filter(pl.col("accrued") != 0))
    stmt = (select(LedgerEntry.payer_key, LedgerEntry.province_2025, -func.sum(LedgerEntry.amount))
            .where(LedgerEntry.account == INTEREST_INCOME, LedgerEntry.source_type == "interest")
            .group_by(LedgerEntry.payer_key, LedgerEntry.province_2025))
    if province:
        stmt = stmt.where(LedgerEntry.province_2025 == province)
    posted = _frame(session, stmt, {"payer_key": pl.Utf8, "province": pl.Utf8, "posted": pl.Int64})
    delta = (accrued.join(posted, on=["payer_key", "province"], how="full", coalesce=True, nulls_equal=True)
             .with_columns(pl.col("accrued", "posted").fill_null(0))
             .with_columns(amount=pl.col("accrued") - pl.col("posted")).filter(pl.col("amount") != 0))
    if delta.is_empty():
        return 0
    txns = ledger.new_txn_ids(delta.height)
    delta = delta.with_columns(txn=pl.Series(txns, dtype=pl.Utf8))
    common = dict(posted_on=pl.lit(on, dtype=pl.Date), source_type=pl.lit("interest"),
                  fund=pl.lit(None, dtype=pl.Utf8), period=pl.lit(None, dtype=pl.Date),
                  source_id=pl.lit(None, dtype=pl.Int64))
    entries = pl.concat([
        delta.select("txn", "payer_key", province_2025="province", account=pl.lit(INTEREST_RECEIVABLE),
                     amount=pl.col("amount"), **common),
        delta.select("txn", "payer_key", province_2025="province", account=pl.lit(INTEREST_INCOME),
                     amount=-pl.col("amount"), **common),
    ])
    ledger.post_frame(session, entries)
    return _sum(delta["amount"])


# ---------------------------------------------------------------------------------------------------- report
def _same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 6) if denominator else None


def _figures(bills: pl.DataFrame, on: date) -> dict:
    months = get_parameters()[INTEREST_BEARING_MONTHS].at(on, field_name="on")
    due = _sum(bills["total"])
    paid = _sum(bills["paid"])
    written_off = _sum(bills["written_off"])
    arrears = _sum(bills["outstanding"])
    accrued = _sum(bills["interest"])
    interest = accrued - _sum(bills["interest_paid"])
    bearing = _sum(bills.filter(interest_bearing(pl.col("due_date"), on, months))["outstanding"])
    return {"due": due, "paid": paid, "written_off": written_off, "arrears": arrears,
            "arrears_by_age": _ageing(bills), "interest_accrued": accrued, "interest": interest,
            "overdue_rate": _rate(arrears, due), "interest_bearing": bearing,
            "interest_bearing_rate": _rate(bearing, due),
            "payers_in_arrears": int(bills.filter(pl.col("outstanding") > 0)["payer_key"].n_unique())}


def _report_at(session: Session, principal: Principal | None, on: date, province: str | None,
               since: date | None) -> dict:
    bills = bill_state(session, principal, on=on, province=province, since=since, due_only=True)
    result = {"on": on.isoformat(), **_figures(bills, on)}
    by_province = []
    for key, group in sorted(bills.group_by("province"), key=lambda item: str(item[0][0] or "")):
        by_province.append({"province": key[0], **_figures(group, on)})
    result["by_province"] = by_province
    return result


def arrears_report(session: Session, principal: Principal | None, *, on: date, province: str | None = None,
                   since: date | None = None) -> dict:
    """Overdue-rate KPIs on a date, over the bills whose deadline passed before ``on`` (from ``since``, by due
    date, when given):

    - ``due``: their total; ``paid``: principal allocated to them by ``on``; ``written_off``;
    - ``arrears`` = due − paid − written_off (their outstanding, by age in ``arrears_by_age``);
    - ``interest``: late interest accrued on them to ``on`` less the interest paid (``interest_accrued``: before);
    - ``interest_bearing``: the part of the arrears at least ``collection.interest_bearing_min_months_late``
      whole months past its deadline on ``on`` (:func:`interest_bearing`; "nợ phải tính lãi": the latest
      month's arrears are not in it);
    - ``overdue_rate`` = arrears / due; ``interest_bearing_rate`` = interest_bearing / due (lower: the
      agency's "tỷ lệ nợ phải tính lãi");
    - ``by_province``: the same per province; ``last_year``: the same on the same date a year before.
    """
    ensure_province_in_scope(session, principal, province)
    current = _report_at(session, principal, on, province, since)
    previous_on = _same_day_last_year(on)
    previous = _report_at(session, principal, previous_on, province,
                          _same_day_last_year(since) if since else None)
    return {**current, "province": province, "since": since.isoformat() if since else None,
            "last_year": previous}


def arrears_trend(session: Session, principal: Principal | None, *, on: date, months: int = 12,
                  province: str | None = None) -> list[dict]:
    """The report's headline figures at the end of each of the last ``months`` months up to ``on`` (the last
    point is ``on`` itself), for charts."""
    ensure_province_in_scope(session, principal, province)
    points = []
    day = on
    for _ in range(months):
        figures = _figures(bill_state(session, principal, on=day, province=province, due_only=True), day)
        figures.pop("arrears_by_age")
        points.append({"on": day.isoformat(), **figures})
        day = day.replace(day=1) - timedelta(days=1)
    return points[::-1]


def arrears_by_province(session: Session, *, on: date, province: str | None = None) -> dict[str, dict]:
    """The arrears figures of the indicator catalogue per 2025 province on ``on`` (one province when given),
    over the bills whose deadline passed before ``on``, as :func:`arrears_report` counts them: ``due``,
    ``arrears``, ``interest_bearing``, ``overdue_rate``, ``interest_bearing_rate`` and ``employers_3_months``
    (employers with a bill of that province overdue :data:`INSPECTION_MONTHS` months or more with something
    outstanding, as in :func:`overdue_employers`). No scope check (the caller's); bills without a province are left
    out; provinces with no bill due are absent."""
    return arrears_by_province_on(session, [on], province=province)[on]


def arrears_by_province_on(session: Session, days: Sequence[date], *, province: str | None = None
                           ) -> dict[date, dict[str, dict]]:
    """:func:`arrears_by_province` on several days from one pass over the bills.

    Set-based in the database (a province's half a million bills are never read out): per province and due date,
    the bills' totals and, for each day, the principal allocated and written off by then; per province and employer,
    each day's oldest due date still outstanding. A bill counts on a day when its deadline passed before it. There
    are few due dates, so the whole-month rules (:func:`interest_bearing`, :func:`months_overdue`) are applied to
    them in Polars."""
    days = sorted(set(days))
    if not days:
        return {}
    last = days[-1]
    conditions = _bill_conditions(None, on=last, province=province, payer_key=None, due_only=True)
    paid = (select(Allocation.bill_id, *(func.sum(case((Allocation.allocated_on <= day, Allocation.amount), else_=0))
                                         .label(f"p{i}") for i, day in enumerate(days)))
            .where(Allocation.part == "principal", Allocation.reversed.is_(False), Allocation.allocated_on <= last)
            .group_by(Allocation.bill_id).subquery())
    written = (select(WriteOff.bill_id, *(func.sum(case((WriteOff.written_off_on <= day, WriteOff.amount), else_=0))
                                          .label(f"w{i}") for i, day in enumerate(days)))
               .where(WriteOff.written_off_on <= last).group_by(WriteOff.bill_id).subquery())
    outstanding = [(Bill.total - func.coalesce(paid.c[f"p{i}"], 0) - func.coalesce(written.c[f"w{i}"], 0))
                   .label(f"o{i}") for i in range(len(days))]
    bills = (select(Bill.province_2025.label("province"), Bill.due_date, Bill.payer_type, Bill.employer_id,
                    Bill.total, *outstanding)
             .outerjoin(paid, paid.c.bill_id == Bill.id).outerjoin(written, written.c.bill_id == Bill.id)
             .where(*conditions, Bill.province_2025.is_not(None))
             .cte("overdue_bills").prefix_with("MATERIALIZED"))  # the allocations summed once for both reads
    n = len(days)
    null_date, null_money = literal(None, type_=Date), literal(None, type_=BigInteger)
    by_due = (select(literal("due").label("kind"), bills.c.province, bills.c.due_date,
                     literal(None, type_=BigInteger).label("employer_id"), func.sum(bills.c.total).label("due"),
                     *(func.sum(bills.c[f"o{i}"]).label(f"o{i}") for i in range(n)),
                     *(null_date.label(f"d{i}") for i in range(n)))
              .group_by(bills.c.province, bills.c.due_date))
    debtors = (select(literal("debtor").label("kind"), bills.c.province, null_date.label("due_date"),
                      bills.c.employer_id, null_money.label("due"), *(null_money.label(f"o{i}") for i in range(n)),
                      *(func.min(case(((bills.c.due_date < day) & (bills.c[f"o{i}"] > 0), bills.c.due_date)))
                        .label(f"d{i}") for i, day in enumerate(days)))
               .where(bills.c.payer_type == "employer", bills.c.employer_id.is_not(None))
               .group_by(bills.c.province, bills.c.employer_id))
    both = _frame(session, union_all(by_due, debtors),
                  {"kind": pl.Utf8, "province": pl.Utf8, "due_date": pl.Date, "employer_id": pl.Int64,
                   "due": pl.Int128, **{f"o{i}": pl.Int128 for i in range(n)}, **{f"d{i}": pl.Date for i in range(n)}})
    by_due, debtors = both.filter(pl.col("kind") == "due"), both.filter(pl.col("kind") == "debtor")
    if by_due.is_empty():
        return {day: {} for day in days}
    result: dict[date, dict[str, dict]] = {}
    for i, day in enumerate(days):
        months = get_parameters()[INTEREST_BEARING_MONTHS].at(day, field_name="on")
        grouped = by_due.filter(pl.col("due_date") < day).group_by("province").agg(
            due=pl.col("due").sum(), arrears=pl.col(f"o{i}").sum(),
            interest_bearing=pl.col(f"o{i}").filter(interest_bearing(pl.col("due_date"), day, months)).sum())
        late = (debtors.filter(pl.col(f"d{i}").is_not_null()
                               & (months_overdue(pl.col(f"d{i}"), day) >= INSPECTION_MONTHS))
                .group_by("province").agg(employers_3_months=pl.len()))
        grouped = grouped.join(late, on="province", how="left")
        figures = {}
        for row in grouped.sort("province").iter_rows(named=True):
            due, owed = int(row["due"] or 0), int(row["arrears"] or 0)
            bearing = int(row["interest_bearing"] or 0)
            figures[row["province"]] = {"due": due, "arrears": owed, "interest_bearing": bearing,
                                        "overdue_rate": _rate(owed, due), "interest_bearing_rate": _rate(bearing, due),
                                        "employers_3_months": int(row["employers_3_months"] or 0)}
        result[day] = figures
    return result


# ---------------------------------------------------------------------------------------------------- debtors
def _address(street: str | None, place: str | None) -> str | None:
    """An employer's address as published: the street address, then the commune and province of its place."""
    parts = [part.strip() for part in (street, place) if part and part.strip()]
    return ", ".join(parts) or None


#: "Debts of 3 months or more": the agency's working threshold for inspection lists, not a figure found in a
#: legal text.
INSPECTION_MONTHS = 3


def _employer_bills(bills: pl.DataFrame) -> pl.DataFrame:
    """The bills of employers (the debtors of the lists and inspections)."""
    return bills.filter((pl.col("payer_type") == "employer") & pl.col("employer_id").is_not_null())


def _employer_debts(session: Session, principal: Principal | None, *, on: date, province: str | None,
                    min_months: int, max_months: int | None = None) -> pl.DataFrame:
    ensure_province_in_scope(session, principal, province)
    bills = bill_state(session, principal, on=on, province=province, due_only=True)
    bills = _employer_bills(bills)
    per_payer = (bills.filter(pl.col("outstanding") > 0).group_by("employer_id", "payer_key").agg(
        arrears=pl.col("outstanding").cast(pl.Int128).sum(),
        arrears_3plus=pl.col("outstanding").filter(pl.col("months_overdue") >= 3).cast(pl.Int128).sum(),
        months_overdue=pl.col("months_overdue").max(),
        bills_overdue=pl.len(),
        oldest_due=pl.col("due_date").min(),
        province=pl.col("province").first(),
    ))
    interest = bills.group_by("employer_id").agg(
        interest=(pl.col("interest") - pl.col("interest_paid")).cast(pl.Int128).sum())
    per_payer = (per_payer.join(interest, on="employer_id", how="left")
                 .filter(pl.col("months_overdue") >= min_months))
    if max_months is not None:  # a bucket of the ageing: only the debtors whose oldest debt is that old
        per_payer = per_payer.filter(pl.col("months_overdue") <= max_months)
    if per_payer.is_empty():
        return per_payer.with_columns(name=pl.lit(None, dtype=pl.Utf8), tax_code=pl.lit(None, dtype=pl.Utf8),
                                      address=pl.lit(None, dtype=pl.Utf8),
                                      total=pl.lit(None, dtype=pl.Int128))
    employers = _frame(session, select(Employer.id, Employer.name, Employer.tax_code, Employer.address,
                                       Employer.place_id)
                       .where(Employer.id.in_(per_payer["employer_id"].to_list())),
                       {"employer_id": pl.Int64, "name": pl.Utf8, "tax_code": pl.Utf8, "address": pl.Utf8,
                        "place_id": pl.Int64})
    from ansinh.registry.places import place_full_name

    place_names = {pid: place_full_name(session, pid) for pid in set(employers["place_id"].drop_nulls().to_list())}
    employers = employers.with_columns(address=pl.Series(
        "address", [_address(street, place_names.get(place)) for street, place
                    in zip(employers["address"].to_list(), employers["place_id"].to_list(), strict=True)],
        dtype=pl.Utf8)).drop("place_id")
    return (per_payer.join(employers, on="employer_id", how="left")
            .with_columns(total=pl.col("arrears") + pl.col("interest"))
            .sort(["arrears", "employer_id"], descending=[True, False]))


def _rows(frame: pl.DataFrame) -> list[dict]:
    columns = ["employer_id", "payer_key", "tax_code", "name", "address", "province", "arrears", "arrears_3plus",
               "months_overdue", "bills_overdue", "oldest_due", "interest", "total"]
    return [{**row, "oldest_due": row["oldest_due"].isoformat() if row["oldest_due"] else None}
            for row in frame.select(columns).iter_rows(named=True)]


def overdue_employers(session: Session, principal: Principal | None, *, on: date,
                      min_months: int = INSPECTION_MONTHS, province: str | None = None) -> list[dict]:
    """Employers with a bill overdue by ``min_months`` months or more on ``on`` (for inspection), the largest
    debts first. The default 3 is the agency's working threshold ("debts of 3 months or more"), not a figure
    found in a legal text."""
    return _rows(_employer_debts(session, principal, on=on, province=province, min_months=min_months))


def debtor_list(session: Session, principal: Principal | None, *, on: date, province: str | None = None,
                min_months: int = 1, max_months: int | None = None) -> list[dict]:
    """The publishable list of employers owing contributions on ``on``: arrears (overdue principal),
    months overdue and interest owed, the largest debts first. ``min_months``/``max_months`` keep the debtors
    whose oldest overdue bill is that many months late (a bucket of the ageing: 1, 2, or 3 and more)."""
    return _rows(_employer_debts(session, principal, on=on, province=province, min_months=min_months,
                                 max_months=max_months))


def debtor_list_place(session: Session, principal: Principal | None, province: str | None) -> tuple[str | None,
                                                                                                      str | None]:
    """The province a debtor list covers and its name: the one asked for; else, for an officer below national
    level, their own province (their list is not the country's); ``(None, None)``: the whole country."""
    if province is None and principal is not None and principal.org_unit_level != "national":
        from ansinh.registry.service import office_province_code

        try:
            province = office_province_code(session, session.get(OrgUnit, principal.org_unit_id))
        except ValidationFailed:
            province = None
    if province is None:
        return None, None
    from ansinh.registry.places import province_names

    return province, province_names(session).get(province, province)


def debtor_list_xlsx(session: Session, principal: Principal | None, *, on: date, province: str | None = None,
                     min_months: int = 1, max_months: int | None = None) -> bytes:
    from ansinh.collection.debtors import debtors_xlsx

    rows = debtor_list(session, principal, on=on, province=province, min_months=min_months, max_months=max_months)
    code, name = debtor_list_place(session, principal, province)
    return debtors_xlsx(rows, on=on, province=code, province_name=name, min_months=min_months,
                        max_months=max_months)


def debtor_list_pdf(session: Session, principal: Principal | None, *, on: date, province: str | None = None,
                    min_months: int = 1, max_months: int | None = None) -> bytes:
    from ansinh.collection.debtors import debtors_pdf

    rows = debtor_list(session, principal, on=on, province=province, min_months=min_months, max_months=max_months)
    code, name = debtor_list_place(session, principal, province)
    return debtors_pdf(rows, on=on, province=code, province_name=name, min_months=min_months,
                       max_months=max_months)


# ---------------------------------------------------------------------------------------------------- write-off
def write_off(session: Session, *, payer_key: str, bill_id: int, amount: int, reason: str, on: date,
              actor: str, principal: Principal | None = None) -> WriteOff:
    """Write off part or all of a bill's outstanding on ``on``: a ``write_off`` row and a balanced posting
    ``writeoff_expense +amount`` / ``receivable −amount``. No interest runs on the amount after ``on``. The
    bill must be in the caller's scope (``principal``; None: the whole country). Takes the collection lock and
    the bill's row lock before reading what is outstanding: two write-offs (or a write-off and an allocation)
    never both take the same dong."""
    from ansinh.collection.payments import lock_allocations

    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed("amount", "The amount written off must be a positive number of dong.")
    if amount > MAX_AMOUNT:
        raise ValidationFailed("amount", "The amount is larger than {limit} dong.", limit=MAX_AMOUNT)
    if not reason or not reason.strip():
        raise ValidationFailed("reason", "A write-off needs a reason.")
    lock_allocations(session)
    bill = session.scalar(select(Bill).where(Bill.id == bill_id).with_for_update(key_share=True)
                          .execution_options(populate_existing=True))
    if bill is None or bill.payer_key != payer_key:
        raise NotFound("No bill {bill_id} of payer {payer_key}.", bill_id=bill_id, payer_key=payer_key)
    if principal is not None:
        ensure_in_scope(principal, session.get(OrgUnit, bill.org_unit_id))
    state = bill_state(session, None, on=max(on, bill.period), payer_key=payer_key, with_interest=False)
    outstanding = int(state.filter(pl.col("bill_id") == bill_id)["outstanding"].sum())
    if outstanding <= 0:
        raise Conflict("Bill {bill_id} has nothing outstanding to write off.", bill_id=bill_id)
    if amount > outstanding:
        raise ValidationFailed("amount", "The amount {amount} exceeds the outstanding {outstanding} of the bill.",
                               amount=amount, outstanding=outstanding)
    record = WriteOff(payer_key=payer_key, bill_id=bill_id, amount=amount, written_off_on=on,
                      reason=reason.strip()[:300], decided_by=actor)
    session.add(record)
    session.flush()
    ledger.post(session, [
        ledger.Entry(WRITEOFF, amount, payer_key=payer_key, period=bill.period, province_2025=bill.province_2025),
        ledger.Entry(RECEIVABLE, -amount, payer_key=payer_key, period=bill.period,
                     province_2025=bill.province_2025),
    ], posted_on=on, source_type="writeoff", source_id=record.id)
    return record


def employer_overdue_on(session: Session, employer_id: int, *, on: date) -> int:
    """An employer's overdue principal on a date (the arrears an inspection case opens with)."""
    bills = bill_state(session, None, on=on, payer_key=f"E:{employer_id}", due_only=True, with_interest=False)
    return _sum(bills.filter(pl.col("months_overdue") > 0)["outstanding"])


__all__ = ["AGE_BUCKETS", "INSPECTION_MONTHS", "accrue_interest", "arrears_by_province", "arrears_report",
           "arrears_trend", "bill_state", "debtor_list", "debtor_list_pdf", "debtor_list_place", "debtor_list_xlsx",
           "employer_overdue_on", "interest_bearing", "months_overdue", "overdue_employers", "payer_account",
           "write_off"]
