"""Billing runs: what every payer owes for a month, computed on columns and written in bulk.

A run bills one month (``period``, the first day of month M) for one 2025 province or the whole country (``*``):

1. **Employer bills** (``E:<employer id>``): every current coverage period paid by an employer and in force in M
   (``valid_from <= M < valid_to``) — compulsory SI gives the retirement, sickness-maternity and occupational
   funds, HI the health fund, UI the unemployment fund — on the period's insured salary through
   :func:`ansinh.rules.contributions.contributions_columns` (region and sector of the employer, ``on`` = M). One
   line per worker × fund × side (employer / employee) with an amount.
2. **Retroactive declarations** (``Declaration.needs_rebilling``): each earlier month of that employer already
   billed is recomputed from the *current* periods; the difference with what was billed for it (its lines and
   earlier adjustments) becomes adjustment lines (``adjustment=True``, ``for_period`` = that month) on the bill
   of M. A closed bill is never edited. The flag is cleared in the same transaction.
3. **Voluntary SI** (``P:<person id>``): a period whose payment cycle starts in M (whole months since its start
   divisible by ``payment_months``) owes :func:`ansinh.rules.voluntary.voluntary_columns` ``payable`` (after
   the State support) for the cycle.
4. **Household HI** (``H:<household id>``): periods starting in M owe each member's monthly amount by his or her
   order (:func:`ansinh.rules.household_hi.household_hi_columns`) × the period's months.
5. **State budget** (``S:<province>:<group>``): HI periods paid by the State budget in force in M, one bill per
   province and group, each person the State's monthly share (:func:`ansinh.rules.state_hi.state_hi_columns`).

Bill amounts: ``employer_amount`` is the employer side of M, ``employee_amount`` every other side of M (the
workers' share the employer withholds, or the payer's own contribution), ``adjustment_amount`` the
corrections of earlier months; ``total`` is their sum. Due date: last day of month M +
``collection.employer_due_months_after``. Each bill posts one balanced ledger transaction ``bill-<reference>``:
receivable +total for the payer, contributions income −amount per fund.

Idempotent and resumable: the run is unique by (period, province); its payers are split in chunks (by payer id
modulo the number of chunks; State-budget bills go with chunk 0) and each chunk is one unit of work (bills,
lines, ledger entries, cleared flags and its ``BillingChunk`` row commit together). A run found ``running``
finishes the missing chunks; a ``completed`` one returns its summary and writes nothing. Payers already billed
for the month by another run (a province run, then the national one) are left out.
"""

from __future__ import annotations

import contextvars
import io
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import polars as pl
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.bulk import bulk_insert
from ansinh.collection.ledger import post_frame
from ansinh.collection.models import INCOME, RECEIVABLE, Bill, BillingChunk, BillingRun, BillLine
from ansinh.db import Database, utcnow
from ansinh.errors import ValidationFailed
from ansinh.participation.models import Declaration
from ansinh.participation.service import add_months, month_start
from ansinh.rules.contributions import FUND_BASE, FUNDS, PAYERS, contributions_columns
from ansinh.rules.household_hi import household_hi_columns
from ansinh.rules.parameters import ParameterSet, get_parameters
from ansinh.rules.state_hi import state_hi_columns
from ansinh.rules.voluntary import voluntary_columns

DEFAULT_CHUNKS = 8
DEFAULT_WORKERS = 2
#: Which funds each employment scheme pays into.
SCHEME_FUNDS = {"si_compulsory": ("retirement", "sickness_maternity", "occupational"), "hi": ("health",),
                "ui": ("unemployment",)}
FUND_SCHEME = {fund: scheme for scheme, funds in SCHEME_FUNDS.items() for fund in funds}
#: HI card group code → the group of ``rules/state_hi.py`` (a code mapping, not a legal figure).
STATE_HI_GROUP = {"TE": "child_under_6", "HN": "poor", "DT": "ethnic_minority_hardship", "BT": "social_protection",
                  "CN": "near_poor", "HS": "student", "SV": "student", "NN": "agro_household"}
#: Voluntary SI is paid into the retirement and survivorship fund.
VOLUNTARY_FUND = "retirement"
_PROVINCE = re.compile(r"^[0-9A-Za-z]{1,8}$")
_REFERENCE_BODY = re.compile(r"^\d{6}[EPHS][0-9A-Z]{1,23}$")

LINE_SCHEMA = {"payer_key": pl.String, "person_id": pl.Int64, "fund": pl.String, "side": pl.String,
               "insured_salary": pl.Int64, "amount": pl.Int64, "for_period": pl.Date, "adjustment": pl.Boolean}
PAYER_SCHEMA = {"payer_key": pl.String, "payer_type": pl.String, "employer_id": pl.Int64, "person_id": pl.Int64,
                "household_id": pl.Int64, "province_2025": pl.String, "org_unit_id": pl.Int64}


class BillingInterrupted(RuntimeError):
    """Raised by ``stop_after_chunks`` (tests simulate a crash with it): the committed chunks stay."""


# --- references -------------------------------------------------------------------------------------------

def _check_digits(body: str) -> str:
    """ISO 7064 MOD 97-10 (as IBAN): letters count as 10..35; two digits."""
    number = int("".join(str(int(ch, 36)) for ch in body))
    return f"{98 - (number * 100) % 97:02d}"


def bill_reference(payer_key: str, period: date) -> str:
    """The reference printed on a bill and quoted by payers: ``YYYYMM`` + payer key without separators
    (``E123``, ``P45``, ``H6``, ``S01TE``) + two check digits (ISO 7064 MOD 97-10), at most 32 characters."""
    body = f"{period.year:04d}{period.month:02d}" + payer_key.replace(":", "").upper()
    if not _REFERENCE_BODY.match(body):
        raise ValueError(f"cannot make a bill reference of payer {payer_key!r}")
    return body + _check_digits(body)


def check_reference(reference: str) -> bool:
    """True when the text is a well-formed bill reference whose check digits agree (any case, no spaces)."""
    text = (reference or "").strip().upper()
    if len(text) < 9 or not text[-2:].isdigit() or not _REFERENCE_BODY.match(text[:-2]):
        return False
    return _check_digits(text[:-2]) == text[-2:]


def due_date(period: date, p: ParameterSet | None = None) -> date:
    """The last day of the month ``collection.employer_due_months_after`` months after the month billed."""
    months = (p or get_parameters())["collection.employer_due_months_after"].at(period, field_name="period")
    return add_months(month_start(period), months + 1) - timedelta(days=1)


def bill_lines(session: Session, bill_id: int) -> list[BillLine]:
    return list(session.scalars(select(BillLine).where(BillLine.bill_id == bill_id)
                                .order_by(BillLine.adjustment, BillLine.for_period, BillLine.person_id,
                                          BillLine.fund, BillLine.side, BillLine.id)))


# --- reading frames ---------------------------------------------------------------------------------------

def _lit(day: date) -> str:
    return f"'{day.isoformat()}'"


def _read(session: Session, sql: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run a SELECT (built from safe literals only) into a frame: COPY on PostgreSQL, fetchall on SQLite."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        buffer = io.BytesIO()
        with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
            for block in copy:
                buffer.write(block)
        if not buffer.tell():
            return pl.DataFrame(schema=schema)
        buffer.seek(0)
        return pl.read_csv(buffer, has_header=False, schema=schema)
    rows = connection.exec_driver_sql(sql).fetchall()
    text_schema = {name: (pl.String if dtype == pl.Date else dtype) for name, dtype in schema.items()}
    frame = pl.DataFrame([tuple(row) for row in rows], schema=text_schema, orient="row")
    dates = [name for name, dtype in schema.items() if dtype == pl.Date]
    return frame.with_columns(pl.col(name).str.slice(0, 10).str.to_date() for name in dates) if dates else frame


def _ids_sql(values) -> str:
    return ", ".join(str(int(v)) for v in values) or "NULL"


def _allocate_bill_ids(session: Session, count: int) -> list[int]:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return list(connection.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('bill', 'id')) FROM generate_series(1, {int(count)})").scalars())
    start = connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM bill").scalar() or 0
    return list(range(start + 1, start + 1 + count))


# --- what each payer owes ---------------------------------------------------------------------------------

def _empty_lines() -> pl.DataFrame:
    return pl.DataFrame(schema=LINE_SCHEMA)


def _empty_payers() -> pl.DataFrame:
    return pl.DataFrame(schema=PAYER_SCHEMA)


def _employment_amounts(coverage: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Coverage rows ``employer_id, person_id, scheme, insured_salary, region, sector, on`` → one row per
    worker × fund × side with its insured salary and amount (zero amounts included). The rules run once per
    distinct (salary, month, region, sector): one frame call for all the workers."""
    keys = ["insured_salary", "on", "region", "sector"]
    if coverage.is_empty():
        return pl.DataFrame(schema={"employer_id": pl.Int64, "person_id": pl.Int64, "for_period": pl.Date,
                                    "fund": pl.String, "side": pl.String, "insured_salary": pl.Int64,
                                    "amount": pl.Int64})
    coverage = coverage.with_columns(pl.col("insured_salary").fill_null(0))
    combos = coverage.select(keys).unique()
    amounts = contributions_columns(combos.rename({"insured_salary": "salary"}), p)
    combos = pl.concat([combos, amounts], how="horizontal")
    joined = coverage.join(combos, on=keys, how="left")
    parts = []
    for fund in FUNDS:
        rows = joined.filter(pl.col("scheme") == FUND_SCHEME[fund])
        for side in PAYERS:
            parts.append(rows.select(
                "employer_id", "person_id", pl.col("on").alias("for_period"), fund=pl.lit(fund), side=pl.lit(side),
                insured_salary=pl.col(f"insured_{FUND_BASE[fund]}").cast(pl.Int64),
                amount=pl.col(f"{side}_{fund}").cast(pl.Int64)))
    return pl.concat(parts)


def _scope_sql(column: str, province: str | None) -> str:
    return f" AND {column} = '{province}'" if province else ""


_EMPLOYMENT = "('si_compulsory', 'hi', 'ui')"
_COVERAGE_SCHEMA = {"employer_id": pl.Int64, "person_id": pl.Int64, "scheme": pl.String, "insured_salary": pl.Int64,
                    "region": pl.String, "sector": pl.String, "province_2025": pl.String, "org_unit_id": pl.Int64}


def _employer_bills(session: Session, month: date, chunk: int, chunks: int, province: str | None,
                    p: ParameterSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    coverage = _read(session, f"""
        SELECT cp.employer_id, cp.person_id, cp.scheme, cp.insured_salary, e.region, e.sector, e.province_2025,
               e.org_unit_id
        FROM coverage_period cp JOIN employer e ON e.id = cp.employer_id
        WHERE cp.payer = 'employer' AND cp.superseded_at IS NULL AND cp.scheme IN {_EMPLOYMENT}
          AND cp.valid_from <= {_lit(month)} AND (cp.valid_to IS NULL OR cp.valid_to > {_lit(month)})
          AND cp.employer_id % {chunks} = {chunk}{_scope_sql('e.province_2025', province)}""", _COVERAGE_SCHEMA)
    lines = _employment_amounts(coverage.with_columns(on=pl.lit(month)), p).filter(pl.col("amount") > 0)
    lines = lines.select(payer_key=pl.lit("E:") + pl.col("employer_id").cast(pl.String), person_id="person_id",
                         fund="fund", side="side", insured_salary="insured_salary", amount="amount",
                         for_period="for_period", adjustment=pl.lit(False))
    payers = coverage.select("employer_id", "province_2025", "org_unit_id").unique("employer_id")
    return lines, payers


def _adjustments(session: Session, month: date, chunk: int, chunks: int, province: str | None,
                 p: ParameterSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Adjustment lines of the chunk's employers for retroactive declarations, and those declarations
    (``id, employer_id``)."""
    declarations = _read(session, f"""
        SELECT d.id, d.employer_id, d.person_id, d.effective_month
        FROM declaration d JOIN employer e ON e.id = d.employer_id
        WHERE d.needs_rebilling = TRUE AND d.effective_month < {_lit(month)}
          AND d.employer_id % {chunks} = {chunk}{_scope_sql('e.province_2025', province)}""",
        {"id": pl.Int64, "employer_id": pl.Int64, "person_id": pl.Int64, "effective_month": pl.Date})
    if declarations.is_empty():
        return _empty_lines(), declarations.select("id", "employer_id")
    pairs = declarations.group_by("employer_id", "person_id").agg(pl.col("effective_month").min())
    employers = _ids_sql(pairs["employer_id"].unique().sort())
    people = _ids_sql(pairs["person_id"].unique().sort())
    billed_months = _read(session, f"""
        SELECT b.employer_id, b.period FROM bill b
        WHERE b.payer_type = 'employer' AND b.period < {_lit(month)} AND b.employer_id IN ({employers})""",
        {"employer_id": pl.Int64, "for_period": pl.Date})
    months = (pairs.join(billed_months, on="employer_id")
              .filter(pl.col("for_period") >= pl.col("effective_month"))
              .select("employer_id", "person_id", "for_period").unique())
    periods = _read(session, f"""
        SELECT cp.employer_id, cp.person_id, cp.scheme, cp.insured_salary, cp.valid_from, cp.valid_to,
               e.region, e.sector
        FROM coverage_period cp JOIN employer e ON e.id = cp.employer_id
        WHERE cp.payer = 'employer' AND cp.superseded_at IS NULL AND cp.scheme IN {_EMPLOYMENT}
          AND cp.employer_id IN ({employers}) AND cp.person_id IN ({people})""",
        {"employer_id": pl.Int64, "person_id": pl.Int64, "scheme": pl.String, "insured_salary": pl.Int64,
         "valid_from": pl.Date, "valid_to": pl.Date, "region": pl.String, "sector": pl.String})
    covered = (months.join(periods, on=["employer_id", "person_id"])
               .filter((pl.col("valid_from") <= pl.col("for_period"))
                       & (pl.col("valid_to").is_null() | (pl.col("valid_to") > pl.col("for_period"))))
               .with_columns(on=pl.col("for_period"))
               .select("employer_id", "person_id", "scheme", "insured_salary", "region", "sector", "on"))
    should = _employment_amounts(covered, p)
    billed = _read(session, f"""
        SELECT b.employer_id, bl.person_id, bl.fund, bl.side, bl.for_period, SUM(bl.amount)
        FROM bill_line bl JOIN bill b ON b.id = bl.bill_id
        WHERE b.payer_type = 'employer' AND b.employer_id IN ({employers}) AND bl.person_id IN ({people})
          AND bl.for_period < {_lit(month)}
        GROUP BY b.employer_id, bl.person_id, bl.fund, bl.side, bl.for_period""",
        {"employer_id": pl.Int64, "person_id": pl.Int64, "fund": pl.String, "side": pl.String,
         "for_period": pl.Date, "billed": pl.Int64})
    key = ["employer_id", "person_id", "fund", "side", "for_period"]
    diff = (should.join(billed, on=key, how="full", coalesce=True)
            .join(months, on=["employer_id", "person_id", "for_period"], how="semi")
            .with_columns(amount=pl.col("amount").fill_null(0) - pl.col("billed").fill_null(0))
            .filter(pl.col("amount") != 0))
    lines = diff.select(payer_key=pl.lit("E:") + pl.col("employer_id").cast(pl.String), person_id="person_id",
                        fund="fund", side="side", insured_salary="insured_salary", amount="amount",
                        for_period="for_period", adjustment=pl.lit(True))
    return lines, declarations.select("id", "employer_id")


def _voluntary_bills(session: Session, month: date, chunk: int, chunks: int, province: str | None,
                     p: ParameterSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    periods = _read(session, f"""
        SELECT cp.person_id, cp.insured_salary, cp.payment_months, cp.support_group, cp.valid_from,
               cp.province_2025, cp.org_unit_id
        FROM coverage_period cp
        WHERE cp.scheme = 'si_voluntary' AND cp.payer = 'self' AND cp.superseded_at IS NULL
          AND cp.valid_from <= {_lit(month)} AND (cp.valid_to IS NULL OR cp.valid_to > {_lit(month)})
          AND cp.person_id % {chunks} = {chunk}{_scope_sql('cp.province_2025', province)}""",
        {"person_id": pl.Int64, "income": pl.Int64, "months": pl.Int64, "group": pl.String,
         "valid_from": pl.Date, "province_2025": pl.String, "org_unit_id": pl.Int64})
    index = month.year * 12 + month.month
    periods = periods.with_columns(pl.col("months").fill_null(1), pl.col("group").fill_null("other")).filter(
        (index - pl.col("valid_from").dt.year().cast(pl.Int64) * 12 - pl.col("valid_from").dt.month().cast(pl.Int64))
        % pl.col("months") == 0)
    if periods.is_empty():
        return _empty_lines(), _empty_payers()
    amounts = voluntary_columns(periods.select("income", "group", "months", on=pl.lit(month),
                                               province_support_pct=pl.lit(0)), p)
    periods = periods.with_columns(amount=amounts["payable"])
    lines = periods.filter(pl.col("amount") > 0).select(
        payer_key=pl.lit("P:") + pl.col("person_id").cast(pl.String), person_id="person_id",
        fund=pl.lit(VOLUNTARY_FUND), side=pl.lit("self"), insured_salary="income", amount="amount",
        for_period=pl.lit(month), adjustment=pl.lit(False))
    payers = periods.select(payer_key=pl.lit("P:") + pl.col("person_id").cast(pl.String), payer_type=pl.lit("voluntary"),
                            employer_id=pl.lit(None, pl.Int64), person_id="person_id",
                            household_id=pl.lit(None, pl.Int64), province_2025="province_2025",
                            org_unit_id="org_unit_id").unique("payer_key")
    return lines, payers


def _household_bills(session: Session, month: date, chunk: int, chunks: int, province: str | None,
                     p: ParameterSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    periods = _read(session, f"""
        SELECT cp.household_id, cp.person_id, cp.member_order, cp.valid_from, cp.valid_to, cp.province_2025,
               cp.org_unit_id
        FROM coverage_period cp
        WHERE cp.scheme = 'hi' AND cp.payer = 'household' AND cp.superseded_at IS NULL
          AND cp.valid_from = {_lit(month)} AND cp.household_id IS NOT NULL
          AND cp.household_id % {chunks} = {chunk}{_scope_sql('cp.province_2025', province)}""",
        {"household_id": pl.Int64, "person_id": pl.Int64, "order": pl.Int64, "valid_from": pl.Date,
         "valid_to": pl.Date, "province_2025": pl.String, "org_unit_id": pl.Int64})
    if periods.is_empty():
        return _empty_lines(), _empty_payers()
    periods = periods.with_columns(
        pl.col("order").fill_null(1),
        months=pl.when(pl.col("valid_to").is_null()).then(pl.lit(12, pl.Int64)).otherwise(
            (pl.col("valid_to").dt.year().cast(pl.Int64) * 12 + pl.col("valid_to").dt.month().cast(pl.Int64))
            - (pl.col("valid_from").dt.year().cast(pl.Int64) * 12 + pl.col("valid_from").dt.month().cast(pl.Int64))))
    periods = periods.with_columns(members=pl.col("order").max().over("household_id"))
    sizes = periods.select("members").unique()
    ladder = pl.concat([sizes, household_hi_columns(sizes.with_columns(on=pl.lit(month)), p)
                        .select("member_monthly")], how="horizontal")
    ladder = ladder.with_columns(order=pl.int_ranges(1, pl.col("members") + 1)).explode("member_monthly", "order")
    periods = periods.join(ladder.select("members", pl.col("order").cast(pl.Int64), monthly="member_monthly"),
                           on=["members", "order"], how="left")
    periods = periods.with_columns(amount=pl.col("monthly") * pl.col("months"),
                                   payer_key=pl.lit("H:") + pl.col("household_id").cast(pl.String))
    lines = periods.filter(pl.col("amount") > 0).select(
        "payer_key", "person_id", fund=pl.lit("health"), side=pl.lit("household"),
        insured_salary=pl.lit(None, pl.Int64), amount="amount", for_period=pl.lit(month), adjustment=pl.lit(False))
    payers = periods.sort("order").group_by("payer_key", maintain_order=True).first().select(
        "payer_key", payer_type=pl.lit("household"), employer_id=pl.lit(None, pl.Int64),
        person_id=pl.lit(None, pl.Int64), household_id="household_id", province_2025="province_2025",
        org_unit_id="org_unit_id")
    return lines, payers


def _state_bills(session: Session, month: date, province: str | None, p: ParameterSet
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    periods = _read(session, f"""
        SELECT cp.person_id, cp.hi_group, cp.province_2025, cp.org_unit_id
        FROM coverage_period cp
        WHERE cp.scheme = 'hi' AND cp.payer = 'state_budget' AND cp.superseded_at IS NULL
          AND cp.valid_from <= {_lit(month)} AND (cp.valid_to IS NULL OR cp.valid_to > {_lit(month)})
          {_scope_sql('cp.province_2025', province)}""",
        {"person_id": pl.Int64, "hi_group": pl.String, "province_2025": pl.String, "org_unit_id": pl.Int64})
    periods = periods.with_columns(group=pl.col("hi_group").replace_strict(STATE_HI_GROUP, default=None)).filter(
        pl.col("group").is_not_null())
    if periods.is_empty():
        return _empty_lines(), _empty_payers()
    amounts = state_hi_columns(periods.select("group", on=pl.lit(month), months=pl.lit(1),
                                              province_support_pct=pl.lit(0)), p)
    periods = periods.with_columns(
        amount=amounts["monthly_state_support"],
        payer_key=pl.lit("S:") + pl.col("province_2025").fill_null("-") + pl.lit(":") + pl.col("hi_group"))
    offices = dict(session.execute(select(OrgUnit.place_code, OrgUnit.id).where(
        OrgUnit.level == OrgLevel.province).order_by(OrgUnit.id.desc())).all())
    lines = periods.filter(pl.col("amount") > 0).select(
        "payer_key", "person_id", fund=pl.lit("health"), side=pl.lit("state"), insured_salary=pl.lit(None, pl.Int64),
        amount="amount", for_period=pl.lit(month), adjustment=pl.lit(False))
    payers = periods.group_by("payer_key").agg(pl.col("province_2025").first(), pl.col("org_unit_id").min())
    payers = payers.with_columns(org_unit_id=pl.col("province_2025").replace_strict(
        offices, default=None, return_dtype=pl.Int64).fill_null(pl.col("org_unit_id")))
    payers = payers.select("payer_key", payer_type=pl.lit("state_budget"), employer_id=pl.lit(None, pl.Int64),
                           person_id=pl.lit(None, pl.Int64), household_id=pl.lit(None, pl.Int64),
                           province_2025="province_2025", org_unit_id="org_unit_id")
    return lines, payers


# --- writing ----------------------------------------------------------------------------------------------

def _write_bills(session: Session, run_id: int, month: date, lines: pl.DataFrame, payers: pl.DataFrame,
                 today: date, due: date) -> tuple[int, int, set[str]]:
    """Bulk-write the bills, their lines and their ledger transactions; returns (bills, total, payer keys)."""
    if payers.is_empty():
        return 0, 0, set()
    current = ~pl.col("adjustment")
    sums = lines.group_by("payer_key").agg(
        employer_amount=pl.col("amount").filter(current & (pl.col("side") == "employer")).sum(),
        employee_amount=pl.col("amount").filter(current & (pl.col("side") != "employer")).sum(),
        adjustment_amount=pl.col("amount").filter(pl.col("adjustment")).sum(),
        workers=pl.col("person_id").filter(current).n_unique(),
    )
    bills = payers.join(sums, on="payer_key", how="left").with_columns(
        pl.col("employer_amount", "employee_amount", "adjustment_amount").fill_null(0).cast(pl.Int64),
        pl.col("workers").fill_null(0).cast(pl.Int32)).sort("payer_key")
    bills = bills.with_columns(total=pl.col("employer_amount") + pl.col("employee_amount")
                               + pl.col("adjustment_amount"))
    references = [bill_reference(key, month) for key in bills["payer_key"].to_list()]  # one per bill, not per worker
    bills = bills.with_columns(id=pl.Series(_allocate_bill_ids(session, bills.height), dtype=pl.Int64),
                               reference=pl.Series(references, dtype=pl.String), run_id=pl.lit(run_id),
                               period=pl.lit(month), due_date=pl.lit(due), created_at=pl.lit(utcnow()))
    bulk_insert(session, Bill.__table__, bills.select(
        "id", "run_id", "period", "payer_type", "payer_key", "employer_id", "person_id", "household_id",
        "reference", "due_date", "employer_amount", "employee_amount", "adjustment_amount", "total", "workers",
        "org_unit_id", "province_2025", "created_at"))
    keyed = bills.select("payer_key", bill_id="id", reference="reference", province_2025="province_2025")
    lines = lines.join(keyed, on="payer_key", how="inner")
    bulk_insert(session, BillLine.__table__, lines.sort("bill_id", "adjustment", "for_period", "person_id", "fund",
                                                         "side").select(
        "bill_id", "person_id", "fund", "side", "insured_salary", "amount", "for_period", "adjustment"))
    receivable = bills.select(txn=pl.lit("bill-") + pl.col("reference"), account=pl.lit(RECEIVABLE),
                              payer_key="payer_key", fund=pl.lit(None, pl.String), amount="total",
                              source_id="id", province_2025="province_2025")
    income = lines.group_by("bill_id", "fund").agg(pl.col("amount").sum(), pl.col("reference").first(),
                                                    pl.col("payer_key").first(), pl.col("province_2025").first())
    income = income.select(txn=pl.lit("bill-") + pl.col("reference"), account=pl.lit(INCOME), payer_key="payer_key",
                           fund="fund", amount=-pl.col("amount"), source_id="bill_id", province_2025="province_2025")
    entries = pl.concat([receivable, income]).filter(pl.col("amount") != 0).with_columns(
        posted_on=pl.lit(today), source_type=pl.lit("bill"), period=pl.lit(month)).sort("source_id", "account", "fund")
    post_frame(session, entries)
    return bills.height, int(bills["total"].sum()), set(bills["payer_key"].to_list())


def _bill_chunk(session: Session, run_id: int, month: date, chunk: int, chunks: int, province: str | None,
                today: date, excluded: set[str], p: ParameterSet) -> int:
    employer_lines, employers = _employer_bills(session, month, chunk, chunks, province, p)
    adjustment_lines, declarations = _adjustments(session, month, chunk, chunks, province, p)
    extra = set(declarations["employer_id"].to_list()) - set(employers["employer_id"].to_list())
    if extra:  # employers with corrections but no worker in M still get a bill for them
        employers = pl.concat([employers, _read(session, f"""
            SELECT e.id, e.province_2025, e.org_unit_id FROM employer e WHERE e.id IN ({_ids_sql(sorted(extra))})""",
            {"employer_id": pl.Int64, "province_2025": pl.String, "org_unit_id": pl.Int64})])
    employer_payers = employers.select(
        payer_key=pl.lit("E:") + pl.col("employer_id").cast(pl.String), payer_type=pl.lit("employer"),
        employer_id="employer_id", person_id=pl.lit(None, pl.Int64), household_id=pl.lit(None, pl.Int64),
        province_2025="province_2025", org_unit_id="org_unit_id")
    parts = [(pl.concat([employer_lines, adjustment_lines]), employer_payers),
             _voluntary_bills(session, month, chunk, chunks, province, p),
             _household_bills(session, month, chunk, chunks, province, p)]
    if chunk == 0:
        parts.append(_state_bills(session, month, province, p))
    lines = pl.concat([part[0].select(list(LINE_SCHEMA)).cast(LINE_SCHEMA) for part in parts])
    payers = pl.concat([part[1].select(list(PAYER_SCHEMA)).cast(PAYER_SCHEMA) for part in parts])
    if excluded:
        payers = payers.filter(~pl.col("payer_key").is_in(list(excluded)))
    lines = lines.join(payers.select("payer_key"), on="payer_key", how="semi")
    count, _, keys = _write_bills(session, run_id, month, lines, payers, today, due_date(month, p))
    done = declarations.filter(("E:" + pl.col("employer_id").cast(pl.String)).is_in(list(keys)))["id"].to_list()
    for start in range(0, len(done), 1000):
        session.execute(update(Declaration).where(Declaration.id.in_(done[start:start + 1000]))
                        .values(needs_rebilling=False))
    session.add(BillingChunk(run_id=run_id, chunk=chunk, bills=count))
    session.flush()
    return count


# --- the run ----------------------------------------------------------------------------------------------

def _summary(session: Session, run: BillingRun, *, resumed: bool = False, chunks_this_time: int = 0) -> dict:
    by_type = dict(session.execute(select(Bill.payer_type, func.count()).where(Bill.run_id == run.id)
                                   .group_by(Bill.payer_type)).all())
    lines = session.scalar(select(func.count()).select_from(BillLine).join(Bill, Bill.id == BillLine.bill_id)
                           .where(Bill.run_id == run.id)) or 0
    chunks_done = session.scalar(select(func.count()).select_from(BillingChunk)
                                 .where(BillingChunk.run_id == run.id)) or 0
    return {"run_id": run.id, "period": run.period.strftime("%Y-%m"), "province": run.province,
            "status": run.status, "chunks_total": run.chunks_total, "chunks_done": chunks_done,
            "chunks_this_time": chunks_this_time, "resumed": resumed,
            "bills": run.bills if run.status == "completed" else sum(by_type.values()),
            "bills_by_type": {k: int(v) for k, v in sorted(by_type.items())}, "lines": int(lines),
            "total": int(run.total or 0), "created_by": run.created_by,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None}


def get_run(session: Session, run_id: int) -> BillingRun | None:
    return session.get(BillingRun, run_id)


def run_summary(session: Session, run: BillingRun) -> dict:
    return _summary(session, run)


def _workers(database: Database, workers: int | None, stop_after_chunks: int | None) -> int:
    shared = not isinstance(database.session_factory.kw.get("bind"), Engine)  # one connection for all
    if stop_after_chunks is not None or shared or database.engine.dialect.name != "postgresql":
        return 1
    return max(1, workers) if workers is not None else DEFAULT_WORKERS


def run_billing(database: Database, *, period: date, province: str | None, actor: str, today: date,
                chunks: int | None = None, stop_after_chunks: int | None = None,
                progress: Callable[[int, int, int], None] | None = None, workers: int | None = None) -> dict:
    """Bill a month for a province (2025 code) or the whole country (None); see the module docstring.
    ``progress(chunk, chunks_total, bills)`` is called after each chunk commits. ``workers``: chunks billed at
    the same time, each on its own connection (default: 2 on PostgreSQL, 1 on SQLite, in a test's shared
    connection, or with ``stop_after_chunks``)."""
    from ansinh.audit.service import record_event

    if province is not None and not _PROVINCE.match(province):
        raise ValidationFailed("province", "{value} is not a province code.", value=province)
    if chunks is not None and not 1 <= chunks <= 1024:
        raise ValidationFailed("chunks", "The number of chunks is between 1 and 1024; got {value}.", value=chunks)
    month = month_start(period)
    scope = province or "*"
    p = get_parameters()
    due_date(month, p)  # fails early (naming ``period``) when no due-date rule is in force
    with database.unit_of_work() as session:
        run = session.scalar(select(BillingRun).where(BillingRun.period == month, BillingRun.province == scope))
        resumed = run is not None
        if run is None:
            run = BillingRun(period=month, province=scope, status="running", chunks_total=chunks or DEFAULT_CHUNKS,
                             created_by=actor)
            session.add(run)
            session.flush()
        elif run.status == "completed":
            return _summary(session, run, resumed=True)
        run_id, total_chunks = run.id, run.chunks_total
        done = set(session.scalars(select(BillingChunk.chunk).where(BillingChunk.run_id == run_id)))
        excluded = set(session.scalars(select(Bill.payer_key).where(
            Bill.period == month, (Bill.run_id.is_(None)) | (Bill.run_id != run_id))))
    todo = [chunk for chunk in range(total_chunks) if chunk not in done]

    def bill_one(chunk: int) -> int:
        with database.unit_of_work() as session:
            bills = _bill_chunk(session, run_id, month, chunk, total_chunks, province, today, excluded, p)
        if progress is not None:
            progress(chunk, total_chunks, bills)
        return bills

    workers = _workers(database, workers, stop_after_chunks)
    processed = 0
    if workers > 1 and len(todo) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:  # chunks are independent transactions
            futures = [pool.submit(contextvars.copy_context().run, bill_one, chunk) for chunk in todo]
            for future in futures:
                future.result()
                processed += 1
    else:
        for chunk in todo:
            if stop_after_chunks is not None and processed >= stop_after_chunks:
                raise BillingInterrupted(f"billing run {run_id} stopped after {processed} chunk(s)")
            bill_one(chunk)
            processed += 1
    with database.unit_of_work() as session:
        run = session.get(BillingRun, run_id)
        if run.status != "completed":
            count, total = session.execute(select(func.count(), func.coalesce(func.sum(Bill.total), 0))
                                           .where(Bill.run_id == run_id)).one()
            run.status, run.bills, run.total, run.finished_at = "completed", int(count), int(total), utcnow()
            session.flush()
            record_event(session, "billing_run", "billing_run", run_id,
                         details={"period": month.isoformat(), "province": scope, "bills": int(count),
                                  "total": int(total), "chunks": total_chunks, "resumed": resumed,
                                  "actor": actor})
        return _summary(session, run, resumed=resumed, chunks_this_time=processed)



def check_integrity(session) -> dict[str, int]:
    """What the foreign keys of ``bill_line`` would guarantee, checked set-based: lines whose bill or person does
    not exist (both must be 0), and bills whose lines do not add up to their total."""
    from sqlalchemy import func, select

    from ansinh.collection.models import Bill, BillLine
    from ansinh.registry.models import Person

    orphan_bill = session.scalar(select(func.count()).select_from(BillLine).outerjoin(Bill, Bill.id == BillLine.bill_id)
                                 .where(Bill.id.is_(None))) or 0
    orphan_person = session.scalar(select(func.count()).select_from(BillLine)
                                   .outerjoin(Person, Person.id == BillLine.person_id)
                                   .where(BillLine.person_id.is_not(None), Person.id.is_(None))) or 0
    sums = select(BillLine.bill_id, func.sum(BillLine.amount).label("lines")).group_by(BillLine.bill_id).subquery()
    mismatched = session.scalar(select(func.count()).select_from(Bill).join(sums, sums.c.bill_id == Bill.id)
                                .where(sums.c.lines != Bill.total)) or 0
    return {"lines_without_bill": int(orphan_bill), "lines_without_person": int(orphan_person),
            "bills_not_matching_their_lines": int(mismatched)}
