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
   the State support and the support of the payer's province for the payer's group, on M) for the cycle.
4. **Household HI** (``H:<household id>``): periods starting in M (on any day of it: a first enrolment starts
   after the card's waiting period) owe each member's monthly amount by his or her order
   (:func:`ansinh.rules.household_hi.household_hi_columns`, after the support of the member's province on M)
   × the period's months.
5. **State budget** (``S:<province>:<group>``): HI periods paid by the State budget in force in M, one bill per
   province and group, each person the State's monthly share (:func:`ansinh.rules.state_hi.state_hi_columns`).
6. **Sponsors** (``D:<sponsor id>``): the HI periods a sponsor pays for named people (donated cards) in force in
   M, one bill per sponsor (:func:`ansinh.outreach.sponsors.sponsor_bills`).

Bill amounts: ``employer_amount`` is the employer side of M, ``employee_amount`` every other side of M (the
workers' share the employer withholds, or the payer's own contribution), ``adjustment_amount`` the
corrections of earlier months; ``total`` is their sum. Due date: last day of month M +
``collection.employer_due_months_after``. Each bill posts one balanced ledger transaction ``bill-<reference>``:
receivable +total for the payer, contributions income −amount per fund.

Idempotent and resumable: the run is unique by (period, province); its payers are split in chunks (by payer id
modulo the number of chunks; State-budget bills go with chunk 0) and each chunk is one unit of work (bills,
lines, ledger entries, cleared flags, exceptions and its ``BillingChunk`` row commit together). A run found
``running`` finishes the missing chunks; a ``completed`` one returns its summary and writes nothing. Payers
already billed for the month by another run (a province run, then the national one) are left out.

One at a time: the process billing a run holds a lease on its row (taken by a guarded update, renewed before
each chunk, released at the end or when it fails); a second request for the same run while the lease holds is
a clean conflict (409), and a run whose process died is resumed by the next request once its lease has expired
(:data:`LEASE`).

Batches survive bad records: a payer whose record the rules refuse (a voluntary income under the floor of the
month, a coverage period without a salary, a State-budget group the rules do not know, a payer without a
province, ...) is not billed but recorded as a :class:`~ansinh.collection.models.BillingException` with the
reason; every other payer is billed and the run ends ``completed_with_exceptions``. Once an officer has
corrected the records, running the same month again bills those payers only (the others are never billed
twice) and resolves their exceptions; the run is ``completed`` when none is left. """

from __future__ import annotations

import contextvars
import io
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Principal
from ansinh.bulk import bulk_insert
from ansinh.collection.ledger import post_frame
from ansinh.collection.reconcile import check_integrity  # noqa: F401 - its name since issue 5
from ansinh.collection.models import (
    INCOME,
    RECEIVABLE,
    Bill,
    BillingChunk,
    BillingException,
    BillingRun,
    BillLine,
)
from ansinh.db import Database, allow_waiting, utcnow
from ansinh.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from ansinh.i18n import N_
from ansinh.participation.models import Declaration
from ansinh.participation.service import add_months, month_start
from ansinh.rules.contributions import FUND_BASE, FUNDS, PAYERS, contributions_columns
from ansinh.rules.household_hi import household_hi_columns
from ansinh.rules.parameters import ParameterSet, get_parameters
from ansinh.rules.state_hi import state_hi_columns
from ansinh.rules.voluntary import voluntary_columns

DEFAULT_CHUNKS = 8
DEFAULT_WORKERS = 2
RUNNING, COMPLETED, WITH_EXCEPTIONS = "running", "completed", "completed_with_exceptions"
#: How long a run's lease holds without being renewed (it is renewed before each chunk): a run whose process
#: died can be resumed this long after its last chunk began.
LEASE = timedelta(minutes=15)
#: How long a chunk waits for a lock, and how long one of its statements may run (a chunk of a national run
#: writes a million lines with one COPY).
CHUNK_LOCK_WAIT_MS = 60_000
CHUNK_STATEMENT_TIMEOUT_MS = 1_800_000
#: Exceptions listed in a run's summary (all of them: ``GET /api/v1/billing/runs/{id}/exceptions``).
SUMMARY_EXCEPTIONS = 100
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
_REFERENCE_BODY = re.compile(r"^\d{6}[EPHSD][0-9A-Z]{1,23}$")

LINE_SCHEMA = {"payer_key": pl.String, "person_id": pl.Int64, "fund": pl.String, "side": pl.String,
               "insured_salary": pl.Int64, "amount": pl.Int64, "for_period": pl.Date, "adjustment": pl.Boolean}
PAYER_SCHEMA = {"payer_key": pl.String, "payer_type": pl.String, "employer_id": pl.Int64, "person_id": pl.Int64,
                "household_id": pl.Int64, "province_2025": pl.String, "org_unit_id": pl.Int64}


class BillingInterrupted(RuntimeError):
    """Raised by ``stop_after_chunks`` (tests simulate a crash with it): the committed chunks stay."""


@dataclass(frozen=True)
class Refusal:
    """A payer the run cannot bill, and why: ``message`` is an English template (translated when shown) with
    its ``params``; ``reason`` a short code (the field the rules named, or what is missing)."""

    payer_key: str
    reason: str
    message: str
    params: dict = field(default_factory=dict)

    @classmethod
    def of(cls, payer_key: str, error: DomainError) -> Refusal:
        return cls(payer_key, getattr(error, "field", None) or error.code, error.template,
                   {k: v if isinstance(v, int | float) else str(v) for k, v in error.params.items()})

    @property
    def text(self) -> str:
        """The English text (stored with the exception; pages translate the template)."""
        from ansinh.formatting import message_params, stored_params

        return self.message.format(**message_params(stored_params(self.params), "en")) if self.params else self.message


def rows_apart(frame: pl.DataFrame, compute: Callable[[pl.DataFrame], pl.DataFrame]
               ) -> tuple[pl.DataFrame, pl.DataFrame | None, list[tuple[dict, DomainError]]]:
    """``compute`` (a rules call on columns, which refuses a whole frame for one bad row) run on the rows it
    accepts: returns (the rows accepted, ``compute`` of them — None when there are none, the rows refused,
    each with the error it raised). Bad rows are found by halving: about 2·k·log₂(n/k) calls for k bad rows of
    n; with none, one call."""
    try:
        return frame, compute(frame), []
    except DomainError:
        pass
    good: list[pl.DataFrame] = []
    bad: list[tuple[dict, DomainError]] = []

    def split(part: pl.DataFrame) -> None:
        try:
            compute(part)
            good.append(part)
        except DomainError as error:
            if part.height == 1:
                bad.append((part.row(0, named=True), error))
                return
            half = part.height // 2
            split(part.slice(0, half))
            split(part.slice(half))

    half = frame.height // 2
    for part in (frame.slice(0, half), frame.slice(half)):
        if part.height:
            split(part)
    accepted = pl.concat(good) if good else frame.head(0)
    return accepted, (compute(accepted) if accepted.height else None), bad


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


_AMOUNT_SCHEMA = {"employer_id": pl.Int64, "person_id": pl.Int64, "for_period": pl.Date, "fund": pl.String,
                  "side": pl.String, "insured_salary": pl.Int64, "amount": pl.Int64}
NO_SALARY = N_("Worker {person_id} has a coverage period ({scheme}) without an insured salary.")


def _employment_amounts(coverage: pl.DataFrame, p: ParameterSet) -> tuple[pl.DataFrame, list[Refusal]]:
    """Coverage rows ``employer_id, person_id, scheme, insured_salary, region, sector, on`` → one row per
    worker × fund × side with its insured salary and amount (zero amounts included), and the employers that
    cannot be billed: a worker without an insured salary, or figures the rules refuse. The rules run once per
    distinct (salary, month, region, sector): one frame call for all the workers."""
    keys = ["insured_salary", "on", "region", "sector"]
    refusals = [Refusal(f"E:{row['employer_id']}", "no_salary", NO_SALARY,
                        {"person_id": row["person_id"], "scheme": row["scheme"]})
                for row in coverage.filter(pl.col("insured_salary").is_null())
                .unique("employer_id", keep="first", maintain_order=True).iter_rows(named=True)]
    coverage = coverage.filter(pl.col("insured_salary").is_not_null())
    if coverage.is_empty():
        return pl.DataFrame(schema=_AMOUNT_SCHEMA), refusals
    combos = coverage.select(keys).unique(maintain_order=True)
    combos, amounts, bad = rows_apart(
        combos, lambda c: contributions_columns(c.rename({"insured_salary": "salary"}), p))
    for combo, error in bad:
        employers = coverage.filter(*[pl.col(k) == combo[k] if combo[k] is not None else pl.col(k).is_null()
                                      for k in keys])["employer_id"].unique().sort()
        refusals += [Refusal.of(f"E:{employer}", error) for employer in employers.to_list()]
    if amounts is None:
        return pl.DataFrame(schema=_AMOUNT_SCHEMA), refusals
    combos = pl.concat([combos, amounts], how="horizontal")
    joined = coverage.join(combos, on=keys, how="inner")
    parts = []
    for fund in FUNDS:
        rows = joined.filter(pl.col("scheme") == FUND_SCHEME[fund])
        for side in PAYERS:
            parts.append(rows.select(
                "employer_id", "person_id", pl.col("on").alias("for_period"), fund=pl.lit(fund), side=pl.lit(side),
                insured_salary=pl.col(f"insured_{FUND_BASE[fund]}").cast(pl.Int64),
                amount=pl.col(f"{side}_{fund}").cast(pl.Int64)))
    return pl.concat(parts), refusals


def _only_sql(column: str, ids: list[int] | None) -> str:
    """Restrict a read to these payer ids (a run billing its exceptions again); None: no restriction."""
    if ids is None:
        return ""
    return f" AND {column} IN ({_ids_sql(sorted(ids))})" if ids else " AND 1 = 0"


def _scope_sql(column: str, province: str | None) -> str:
    return f" AND {column} = '{province}'" if province else ""


_EMPLOYMENT = "('si_compulsory', 'hi', 'ui')"
_COVERAGE_SCHEMA = {"employer_id": pl.Int64, "person_id": pl.Int64, "scheme": pl.String, "insured_salary": pl.Int64,
                    "region": pl.String, "sector": pl.String, "province_2025": pl.String, "org_unit_id": pl.Int64}


def _ids_of(only: set[str] | None, kind: str) -> list[int] | None:
    """The ids of the payers of one kind (``E``, ``P``, ``H``) among ``only`` (None: all payers)."""
    if only is None:
        return None
    return [int(key[2:]) for key in only if key.startswith(f"{kind}:") and key[2:].isdigit()]


def _employer_bills(session: Session, month: date, chunk: int, chunks: int, province: str | None,
                    p: ParameterSet, only: set[str] | None = None
                    ) -> tuple[pl.DataFrame, pl.DataFrame, list[Refusal]]:
    coverage = _read(session, f"""
        SELECT cp.employer_id, cp.person_id, cp.scheme, cp.insured_salary, e.region, e.sector, e.province_2025,
               e.org_unit_id
        FROM coverage_period cp JOIN employer e ON e.id = cp.employer_id
        WHERE cp.payer = 'employer' AND cp.superseded_at IS NULL AND cp.scheme IN {_EMPLOYMENT}
          AND cp.valid_from <= {_lit(month)} AND (cp.valid_to IS NULL OR cp.valid_to > {_lit(month)})
          AND cp.employer_id % {chunks} = {chunk}{_scope_sql('e.province_2025', province)}
          {_only_sql('cp.employer_id', _ids_of(only, 'E'))}""", _COVERAGE_SCHEMA)
    amounts, refusals = _employment_amounts(coverage.with_columns(on=pl.lit(month)), p)
    lines = amounts.filter(pl.col("amount") > 0)
    lines = lines.select(payer_key=pl.lit("E:") + pl.col("employer_id").cast(pl.String), person_id="person_id",
                         fund="fund", side="side", insured_salary="insured_salary", amount="amount",
                         for_period="for_period", adjustment=pl.lit(False))
    payers = coverage.select("employer_id", "province_2025", "org_unit_id").unique("employer_id")
    return lines, payers, refusals


def _adjustments(session: Session, month: date, chunk: int, chunks: int, province: str | None,
                 p: ParameterSet, only: set[str] | None = None
                 ) -> tuple[pl.DataFrame, pl.DataFrame, list[Refusal]]:
    """Adjustment lines of the chunk's employers for retroactive declarations, those declarations
    (``id, employer_id``), and the employers whose corrections cannot be computed."""
    declarations = _read(session, f"""
        SELECT d.id, d.employer_id, d.person_id, d.effective_month
        FROM declaration d JOIN employer e ON e.id = d.employer_id
        WHERE d.needs_rebilling = TRUE AND d.effective_month < {_lit(month)}
          AND d.employer_id % {chunks} = {chunk}{_scope_sql('e.province_2025', province)}
          {_only_sql('d.employer_id', _ids_of(only, 'E'))}""",
        {"id": pl.Int64, "employer_id": pl.Int64, "person_id": pl.Int64, "effective_month": pl.Date})
    if declarations.is_empty():
        return _empty_lines(), declarations.select("id", "employer_id"), []
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
    should, refusals = _employment_amounts(covered, p)
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
    return lines, declarations.select("id", "employer_id"), refusals


NO_INCOME = N_("The voluntary enrolment has no chosen income.")


def _voluntary_bills(session: Session, month: date, chunk: int, chunks: int, province: str | None,
                     p: ParameterSet, only: set[str] | None = None
                     ) -> tuple[pl.DataFrame, pl.DataFrame, list[Refusal]]:
    periods = _read(session, f"""
        SELECT cp.person_id, cp.insured_salary, cp.payment_months, cp.support_group, cp.valid_from,
               cp.province_2025, cp.org_unit_id
        FROM coverage_period cp
        WHERE cp.scheme = 'si_voluntary' AND cp.payer = 'self' AND cp.superseded_at IS NULL
          AND cp.valid_from <= {_lit(month)} AND (cp.valid_to IS NULL OR cp.valid_to > {_lit(month)})
          AND cp.person_id % {chunks} = {chunk}{_scope_sql('cp.province_2025', province)}
          {_only_sql('cp.person_id', _ids_of(only, 'P'))}""",
        {"person_id": pl.Int64, "income": pl.Int64, "months": pl.Int64, "group": pl.String,
         "valid_from": pl.Date, "province_2025": pl.String, "org_unit_id": pl.Int64})
    index = month.year * 12 + month.month
    periods = periods.with_columns(pl.col("months").fill_null(1), pl.col("group").fill_null("other")).filter(
        (index - pl.col("valid_from").dt.year().cast(pl.Int64) * 12 - pl.col("valid_from").dt.month().cast(pl.Int64))
        % pl.col("months") == 0)
    if periods.is_empty():
        return _empty_lines(), _empty_payers(), []
    periods = periods.with_columns(payer_key=pl.lit("P:") + pl.col("person_id").cast(pl.String))
    payers = periods.select("payer_key", payer_type=pl.lit("voluntary"), employer_id=pl.lit(None, pl.Int64),
                            person_id="person_id", household_id=pl.lit(None, pl.Int64),
                            province_2025="province_2025", org_unit_id="org_unit_id").unique("payer_key")
    refusals = [Refusal(key, "no_income", NO_INCOME) for key in
                periods.filter(pl.col("income").is_null())["payer_key"].unique().sort().to_list()]
    periods = periods.filter(pl.col("income").is_not_null())
    # the rules once per distinct (income, group, months, province: its own support); those they refuse (an
    # income under the floor of the month...) set apart, with the rules' own message
    combo_key = ["income", "group", "months", "province_2025"]
    combos = periods.select(combo_key).unique(maintain_order=True)
    combos, amounts, bad = rows_apart(combos, lambda c: voluntary_columns(
        c.select("income", "group", "months", on=pl.lit(month), province="province_2025"), p))
    for combo, error in bad:
        refused = periods.join(pl.DataFrame([combo], schema=combos.schema), on=combo_key, how="semi",
                               nulls_equal=True)
        refusals += [Refusal.of(key, error) for key in refused["payer_key"].unique().sort().to_list()]
    if amounts is None:
        return _empty_lines(), payers, refusals
    combos = combos.with_columns(amount=amounts["payable"])
    periods = periods.join(combos, on=combo_key, how="inner", nulls_equal=True)
    lines = periods.filter(pl.col("amount") > 0).select(
        "payer_key", person_id="person_id", fund=pl.lit(VOLUNTARY_FUND), side=pl.lit("self"),
        insured_salary="income", amount="amount", for_period=pl.lit(month), adjustment=pl.lit(False))
    return lines, payers, refusals


BAD_MEMBER_ORDER = N_("Member {person_id} has no valid order in household {household_id}.")


def _household_bills(session: Session, month: date, chunk: int, chunks: int, province: str | None,
                     p: ParameterSet, only: set[str] | None = None
                     ) -> tuple[pl.DataFrame, pl.DataFrame, list[Refusal]]:
    periods = _read(session, f"""
        SELECT cp.household_id, cp.person_id, cp.member_order, cp.valid_from, cp.valid_to, cp.province_2025,
               cp.org_unit_id
        FROM coverage_period cp
        WHERE cp.scheme = 'hi' AND cp.payer = 'household' AND cp.superseded_at IS NULL
          AND cp.valid_from >= {_lit(month)} AND cp.valid_from < {_lit(add_months(month, 1))}
          AND cp.household_id IS NOT NULL
          AND cp.household_id % {chunks} = {chunk}{_scope_sql('cp.province_2025', province)}
          {_only_sql('cp.household_id', _ids_of(only, 'H'))}""",
        {"household_id": pl.Int64, "person_id": pl.Int64, "order": pl.Int64, "valid_from": pl.Date,
         "valid_to": pl.Date, "province_2025": pl.String, "org_unit_id": pl.Int64})
    if periods.is_empty():
        return _empty_lines(), _empty_payers(), []
    periods = periods.with_columns(
        pl.col("order").fill_null(1),
        payer_key=pl.lit("H:") + pl.col("household_id").cast(pl.String),
        months=pl.when(pl.col("valid_to").is_null()).then(pl.lit(12, pl.Int64)).otherwise(
            (pl.col("valid_to").dt.year().cast(pl.Int64) * 12 + pl.col("valid_to").dt.month().cast(pl.Int64))
            - (pl.col("valid_from").dt.year().cast(pl.Int64) * 12 + pl.col("valid_from").dt.month().cast(pl.Int64))))
    periods = periods.with_columns(members=pl.col("order").max().over("household_id"))
    payers = periods.sort("order").group_by("payer_key", maintain_order=True).first().select(
        "payer_key", payer_type=pl.lit("household"), employer_id=pl.lit(None, pl.Int64),
        person_id=pl.lit(None, pl.Int64), household_id="household_id", province_2025="province_2025",
        org_unit_id="org_unit_id")
    # the rules once per distinct (size, province: its own support); each member pays the payable of his order
    size_key = ["members", "province_2025"]
    sizes, ladder, bad = rows_apart(periods.select(size_key).unique(maintain_order=True),
                                    lambda f: household_hi_columns(f.select(
                                        "members", on=pl.lit(month), province="province_2025"), p))
    refusals = []
    for size, error in bad:
        refused = periods.join(pl.DataFrame([size], schema=sizes.schema), on=size_key, how="semi", nulls_equal=True)
        refusals += [Refusal.of(key, error) for key in refused["payer_key"].unique().sort().to_list()]
    if ladder is None:
        return _empty_lines(), payers, refusals
    ladder = pl.concat([sizes, ladder.select("member_payable")], how="horizontal")
    ladder = ladder.with_columns(order=pl.int_ranges(1, pl.col("members") + 1)) \
        .explode("member_payable", "order")
    periods = periods.join(sizes, on=size_key, how="semi", nulls_equal=True).join(
        ladder.select(*size_key, pl.col("order").cast(pl.Int64), monthly="member_payable"),
        on=[*size_key, "order"], how="left", nulls_equal=True)
    unordered = periods.filter(pl.col("monthly").is_null()) \
        .unique("payer_key", keep="first", maintain_order=True)
    refusals += [Refusal(row["payer_key"], "member_order", BAD_MEMBER_ORDER,
                         {"person_id": row["person_id"], "household_id": row["household_id"]})
                 for row in unordered.iter_rows(named=True)]
    periods = periods.with_columns(amount=pl.col("monthly") * pl.col("months"))
    lines = periods.filter(pl.col("amount") > 0).select(
        "payer_key", "person_id", fund=pl.lit("health"), side=pl.lit("household"),
        insured_salary=pl.lit(None, pl.Int64), amount="amount", for_period=pl.lit(month),
        adjustment=pl.lit(False))
    return lines, payers, refusals


NOT_A_STATE_GROUP = N_("Health insurance group {group} is not one the State budget pays for.")
NO_PROVINCE = N_("The payer has no province.")


def _state_bills(session: Session, month: date, province: str | None, p: ParameterSet,
                 only: set[str] | None = None) -> tuple[pl.DataFrame, pl.DataFrame, list[Refusal]]:
    periods = _read(session, f"""
        SELECT cp.person_id, cp.hi_group, cp.province_2025, cp.org_unit_id
        FROM coverage_period cp
        WHERE cp.scheme = 'hi' AND cp.payer = 'state_budget' AND cp.superseded_at IS NULL
          AND cp.valid_from <= {_lit(month)} AND (cp.valid_to IS NULL OR cp.valid_to > {_lit(month)})
          {_scope_sql('cp.province_2025', province)}""",
        {"person_id": pl.Int64, "hi_group": pl.String, "province_2025": pl.String, "org_unit_id": pl.Int64})
    periods = periods.with_columns(
        group=pl.col("hi_group").replace_strict(STATE_HI_GROUP, default=None),
        payer_key=pl.lit("S:") + pl.col("province_2025").fill_null("-") + pl.lit(":")
        + pl.col("hi_group").fill_null("-"))
    if only is not None:
        periods = periods.filter(pl.col("payer_key").is_in(sorted(only)))
    if periods.is_empty():
        return _empty_lines(), _empty_payers(), []
    offices = dict(session.execute(select(OrgUnit.place_code, OrgUnit.id).where(
        OrgUnit.level == OrgLevel.province).order_by(OrgUnit.id.desc())).all())
    payers = periods.group_by("payer_key").agg(pl.col("province_2025").first(), pl.col("org_unit_id").min())
    payers = payers.with_columns(org_unit_id=pl.col("province_2025").replace_strict(
        offices, default=None, return_dtype=pl.Int64).fill_null(pl.col("org_unit_id")))
    payers = payers.select("payer_key", payer_type=pl.lit("state_budget"), employer_id=pl.lit(None, pl.Int64),
                           person_id=pl.lit(None, pl.Int64), household_id=pl.lit(None, pl.Int64),
                           province_2025="province_2025", org_unit_id="org_unit_id")
    refusals = [Refusal(key, "no_province", NO_PROVINCE) for key in
                periods.filter(pl.col("province_2025").is_null())["payer_key"].unique().sort().to_list()]
    unknown = periods.filter(pl.col("group").is_null() & pl.col("province_2025").is_not_null())
    refusals += [Refusal(row["payer_key"], "hi_group", NOT_A_STATE_GROUP, {"group": row["hi_group"] or "-"})
                 for row in unknown.unique("payer_key", keep="first", maintain_order=True).sort("payer_key")
                 .iter_rows(named=True)]
    periods = periods.filter(pl.col("group").is_not_null() & pl.col("province_2025").is_not_null())
    groups, amounts, bad = rows_apart(
        periods.select("group").unique(maintain_order=True), lambda f: state_hi_columns(
            f.select("group", on=pl.lit(month), months=pl.lit(1), province_support_pct=pl.lit(0)), p))
    for group, error in bad:
        refused = periods.filter(pl.col("group") == group["group"])
        refusals += [Refusal.of(key, error) for key in refused["payer_key"].unique().sort().to_list()]
    if amounts is None:
        return _empty_lines(), payers, refusals
    periods = periods.join(groups.with_columns(amount=amounts["monthly_state_support"]), on="group",
                           how="inner")
    lines = periods.filter(pl.col("amount") > 0).select(
        "payer_key", "person_id", fund=pl.lit("health"), side=pl.lit("state"),
        insured_salary=pl.lit(None, pl.Int64), amount="amount", for_period=pl.lit(month),
        adjustment=pl.lit(False))
    return lines, payers, refusals


# --- writing ----------------------------------------------------------------------------------------------

def _write_bills(session: Session, run_id: int, month: date, lines: pl.DataFrame, payers: pl.DataFrame,
                 today: date, due: date) -> tuple[int, int, dict[str, int]]:
    """Bulk-write the bills (``payers`` has their ``reference``), their lines and their ledger transactions;
    returns (bills, total, bill id by payer key)."""
    if payers.is_empty():
        return 0, 0, {}
    current = ~pl.col("adjustment")
    amount = pl.col("amount").cast(pl.Int128)  # sums in 128 bits, then back to 64 (an error, never a wrap)
    sums = lines.group_by("payer_key").agg(
        employer_amount=amount.filter(current & (pl.col("side") == "employer")).sum(),
        employee_amount=amount.filter(current & (pl.col("side") != "employer")).sum(),
        adjustment_amount=amount.filter(pl.col("adjustment")).sum(),
        workers=pl.col("person_id").filter(current).n_unique(),
    )
    bills = payers.join(sums, on="payer_key", how="left").with_columns(
        pl.col("employer_amount", "employee_amount", "adjustment_amount").fill_null(0),
        pl.col("workers").fill_null(0).cast(pl.Int32)).sort("payer_key")
    bills = bills.with_columns(total=pl.col("employer_amount") + pl.col("employee_amount")
                               + pl.col("adjustment_amount")).with_columns(
        pl.col("employer_amount", "employee_amount", "adjustment_amount", "total").cast(pl.Int64))
    bills = bills.with_columns(id=pl.Series(_allocate_bill_ids(session, bills.height), dtype=pl.Int64),
                               run_id=pl.lit(run_id), period=pl.lit(month), due_date=pl.lit(due),
                               created_at=pl.lit(utcnow()))
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
    income = lines.group_by("bill_id", "fund").agg(pl.col("amount").cast(pl.Int128).sum().cast(pl.Int64),
                                                    pl.col("reference").first(), pl.col("payer_key").first(),
                                                    pl.col("province_2025").first())
    income = income.select(txn=pl.lit("bill-") + pl.col("reference"), account=pl.lit(INCOME), payer_key="payer_key",
                           fund="fund", amount=-pl.col("amount"), source_id="bill_id", province_2025="province_2025")
    entries = pl.concat([receivable, income]).filter(pl.col("amount") != 0).with_columns(
        posted_on=pl.lit(today), source_type=pl.lit("bill"), period=pl.lit(month)).sort("source_id", "account", "fund")
    post_frame(session, entries)
    return (bills.height, int(bills["total"].cast(pl.Int128).sum()),
            dict(zip(bills["payer_key"].to_list(), bills["id"].to_list(), strict=True)))


NO_REFERENCE = N_("No bill reference can be made for payer {payer_key}.")


def _references(payers: pl.DataFrame, month: date) -> tuple[pl.DataFrame, list[Refusal]]:
    """The payers with the reference of their bill (one per bill, not per worker); those for whom none can be
    made apart."""
    references, refusals = [], []
    for key in payers["payer_key"].to_list():
        try:
            references.append(bill_reference(key, month))
        except ValueError:
            references.append(None)
            refusals.append(Refusal(key, "reference", NO_REFERENCE, {"payer_key": key}))
    payers = payers.with_columns(reference=pl.Series(references, dtype=pl.String))
    return payers.filter(pl.col("reference").is_not_null()), refusals


def _record_exceptions(session: Session, run_id: int, month: date, refusals: list[Refusal],
                       payers: pl.DataFrame) -> int:
    """Write (or, for a payer already recorded in this run, update) the exceptions of the payers refused."""
    if not refusals:
        return 0
    first: dict[str, Refusal] = {}
    for refusal in refusals:
        first.setdefault(refusal.payer_key, refusal)
    info = {row["payer_key"]: row for row in payers.filter(pl.col("payer_key").is_in(list(first)))
            .unique("payer_key").iter_rows(named=True)}
    known = {row.payer_key: row for row in session.scalars(select(BillingException).where(
        BillingException.run_id == run_id, BillingException.payer_key.in_(list(first))))}
    rows = []
    for key, refusal in first.items():
        payer = info.get(key, {})
        values = {"reason": refusal.reason[:32], "message": refusal.message[:400], "params": refusal.params,
                  "resolved_at": None}
        if key in known:
            for name, value in values.items():
                setattr(known[key], name, value)
            continue
        rows.append({"run_id": run_id, "period": month, "payer_key": key,
                     "payer_type": payer.get("payer_type") or _PAYER_TYPES.get(key[:1], "unknown"),
                     "org_unit_id": payer.get("org_unit_id"), "province_2025": payer.get("province_2025"),
                     "created_at": utcnow(), **values})
    if rows:
        session.execute(insert(BillingException), rows)
    session.flush()
    return len(first)


_PAYER_TYPES = {"E": "employer", "P": "voluntary", "H": "household", "S": "state_budget", "D": "sponsor"}


def _bill_chunk(session: Session, run_id: int, month: date, chunk: int, chunks: int, province: str | None,
                today: date, excluded: set[str], p: ParameterSet, *, only: set[str] | None = None,
                record_chunk: bool = True) -> tuple[int, dict[str, int], set[str]]:
    """Bill one chunk of the run's payers (or, with ``only``, these payers): every payer that can be billed
    is; those that cannot are recorded as exceptions. Returns (bills written, bill id by payer key, payers
    refused)."""
    employer_lines, employers, refusals = _employer_bills(session, month, chunk, chunks, province, p, only)
    adjustment_lines, declarations, adjustment_refusals = _adjustments(session, month, chunk, chunks,
                                                                       province, p, only)
    refusals += adjustment_refusals
    extra = set(declarations["employer_id"].to_list()) - set(employers["employer_id"].to_list())
    if extra:  # employers with corrections but no worker in M still get a bill for them
        employers = pl.concat([employers, _read(session, f"""
            SELECT e.id, e.province_2025, e.org_unit_id FROM employer e WHERE e.id IN ({_ids_sql(sorted(extra))})""",
            {"employer_id": pl.Int64, "province_2025": pl.String, "org_unit_id": pl.Int64})])
    employer_payers = employers.select(
        payer_key=pl.lit("E:") + pl.col("employer_id").cast(pl.String), payer_type=pl.lit("employer"),
        employer_id="employer_id", person_id=pl.lit(None, pl.Int64), household_id=pl.lit(None, pl.Int64),
        province_2025="province_2025", org_unit_id="org_unit_id")
    parts = [(pl.concat([employer_lines, adjustment_lines]), employer_payers, []),
             _voluntary_bills(session, month, chunk, chunks, province, p, only),
             _household_bills(session, month, chunk, chunks, province, p, only)]
    if chunk == 0:
        from ansinh.outreach.sponsors import sponsor_bills  # sponsors (donated cards): ``D:<sponsor id>``

        parts.append(_state_bills(session, month, province, p, only))
        parts.append(sponsor_bills(session, month, province, p, only))
    lines = pl.concat([part[0].select(list(LINE_SCHEMA)).cast(LINE_SCHEMA) for part in parts])
    payers = pl.concat([part[1].select(list(PAYER_SCHEMA)).cast(PAYER_SCHEMA) for part in parts])
    refusals += [refusal for part in parts for refusal in part[2]]
    if excluded:
        payers = payers.filter(~pl.col("payer_key").is_in(list(excluded)))
    if only is not None:
        payers = payers.filter(pl.col("payer_key").is_in(sorted(only)))
    billable, reference_refusals = _references(
        payers.filter(~pl.col("payer_key").is_in([r.payer_key for r in refusals])), month)
    keys = set(payers["payer_key"].to_list())
    refusals = [r for r in refusals + reference_refusals if r.payer_key in keys]
    lines = lines.join(billable.select("payer_key"), on="payer_key", how="semi")
    count, _, bill_ids = _write_bills(session, run_id, month, lines, billable, today, due_date(month, p))
    _record_exceptions(session, run_id, month, refusals, payers)
    billed = ("E:" + pl.col("employer_id").cast(pl.String)).is_in(list(bill_ids))
    done = declarations.filter(billed)["id"].to_list()
    for start in range(0, len(done), 1000):
        session.execute(update(Declaration).where(Declaration.id.in_(done[start:start + 1000]))
                        .values(needs_rebilling=False))
    if record_chunk:
        session.add(BillingChunk(run_id=run_id, chunk=chunk, bills=count))
    session.flush()
    return count, bill_ids, {r.payer_key for r in refusals}


# --- the run ----------------------------------------------------------------------------------------------

def _exception_out(row: BillingException) -> dict:
    from ansinh.formatting import message_params

    params = row.params or {}
    return {"id": row.id, "payer_key": row.payer_key, "payer_type": row.payer_type, "reason": row.reason,
            "message": row.message.format(**message_params(params, "en")) if params else row.message,
            "template": row.message,
            "params": params, "province": row.province_2025, "period": row.period.isoformat(),
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None, "bill_id": row.bill_id}


def list_exceptions(session: Session, run: BillingRun, *, open_only: bool = True, limit: int = 100,
                    offset: int = 0) -> list[dict]:
    """The payers the run could not bill (open ones, or all), by payer key."""
    stmt = select(BillingException).where(BillingException.run_id == run.id)
    if open_only:
        stmt = stmt.where(BillingException.resolved_at.is_(None))
    rows = session.scalars(stmt.order_by(BillingException.payer_key).limit(limit).offset(offset))
    return [_exception_out(row) for row in rows]


def _exception_counts(session: Session, run_id: int) -> tuple[int, int]:
    open_, resolved = session.execute(select(
        func.count().filter(BillingException.resolved_at.is_(None)),
        func.count().filter(BillingException.resolved_at.is_not(None)))
        .where(BillingException.run_id == run_id)).one()
    return int(open_ or 0), int(resolved or 0)


def _summary(session: Session, run: BillingRun, *, resumed: bool = False, chunks_this_time: int = 0) -> dict:
    by_type = dict(session.execute(select(Bill.payer_type, func.count()).where(Bill.run_id == run.id)
                                   .group_by(Bill.payer_type)).all())
    lines = session.scalar(select(func.count()).select_from(BillLine).join(Bill, Bill.id == BillLine.bill_id)
                           .where(Bill.run_id == run.id)) or 0
    chunks_done = session.scalar(select(func.count()).select_from(BillingChunk)
                                 .where(BillingChunk.run_id == run.id)) or 0
    open_, resolved = _exception_counts(session, run.id)
    return {"run_id": run.id, "period": run.period.strftime("%Y-%m"), "province": run.province,
            "status": run.status, "chunks_total": run.chunks_total, "chunks_done": chunks_done,
            "chunks_this_time": chunks_this_time, "resumed": resumed,
            "bills": run.bills if run.status in (COMPLETED, WITH_EXCEPTIONS) else sum(by_type.values()),
            "bills_by_type": {k: int(v) for k, v in sorted(by_type.items())}, "lines": int(lines),
            "total": int(run.total or 0), "created_by": run.created_by,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "exceptions": open_, "exceptions_resolved": resolved,
            "exception_list": list_exceptions(session, run, limit=SUMMARY_EXCEPTIONS)}


def get_run(session: Session, run_id: int) -> BillingRun | None:
    return session.get(BillingRun, run_id)


def run_summary(session: Session, run: BillingRun) -> dict:
    return _summary(session, run)


def ensure_run_scope(session: Session, principal: Principal | None, province: str | None) -> None:
    """Billing a province, or reading its runs, is for the province office (and the units above it: national
    staff); the country (``province`` None or ``*``) for national staff only. ``principal`` None: the whole
    country (CLI, jobs)."""
    if principal is None or principal.org_unit_level == OrgLevel.national.value:
        return
    if province in (None, "*"):
        raise PermissionDenied("Only national staff bill the whole country or read its runs.")
    office = session.scalar(select(OrgUnit)
                            .where(OrgUnit.level == OrgLevel.province, OrgUnit.place_code == province)
                            .order_by(OrgUnit.id).limit(1))
    if office is None or not principal.covers_path(office.path):
        raise PermissionDenied("Only the office of province {province} (or national staff) bills it or reads "
                               "its runs.", province=province)


def _workers(database: Database, workers: int | None, stop_after_chunks: int | None) -> int:
    shared = not isinstance(database.session_factory.kw.get("bind"), Engine)  # one connection for all
    if stop_after_chunks is not None or shared or database.engine.dialect.name != "postgresql":
        return 1
    return max(1, workers) if workers is not None else DEFAULT_WORKERS


def _busy(run: BillingRun) -> Conflict:
    return Conflict("Billing run {run_id} ({period}, {province}) is being billed by another process; try "
                    "again when it has finished.", run_id=run.id, period=run.period.strftime("%Y-%m"),
                    province=run.province)


def _take_lease(session: Session, run_id: int, owner: str) -> bool:
    """The guarded update that takes a run's lease: only when no live lease is held by another process."""
    now = utcnow()
    taken = session.execute(update(BillingRun).where(
        BillingRun.id == run_id, BillingRun.status != COMPLETED,
        or_(BillingRun.lease_until.is_(None), BillingRun.lease_until < now, BillingRun.lease_owner == owner))
        .values(lease_owner=owner, lease_until=now + LEASE).execution_options(synchronize_session=False))
    return taken.rowcount == 1


def _renew_lease(database: Database, run_id: int, owner: str) -> None:
    with database.unit_of_work() as session:
        renewed = session.execute(update(BillingRun)
                                  .where(BillingRun.id == run_id, BillingRun.lease_owner == owner)
                                  .values(lease_until=utcnow() + LEASE)
                                  .execution_options(synchronize_session=False))
        if renewed.rowcount != 1:
            run = session.get(BillingRun, run_id)
            raise _busy(run)


def _release_lease(session: Session, run_id: int, owner: str) -> None:
    session.execute(update(BillingRun).where(BillingRun.id == run_id, BillingRun.lease_owner == owner)
                    .values(lease_owner=None, lease_until=None).execution_options(synchronize_session=False))


def _open_run(database: Database, month: date, scope: str, chunks: int | None, actor: str, owner: str
              ) -> tuple[BillingRun, bool]:
    """The run of (month, scope), created when new, with its lease taken; (run, existed before). A completed
    run is returned without a lease."""
    with database.unit_of_work() as session:
        find = select(BillingRun).where(BillingRun.period == month, BillingRun.province == scope) \
            .execution_options(populate_existing=True)
        run = session.scalar(find)
        resumed = run is not None
        if run is None:
            try:
                with session.begin_nested():  # a concurrent first request waits here, then finds the other's
                    run = BillingRun(period=month, province=scope, status=RUNNING,
                                     chunks_total=chunks or DEFAULT_CHUNKS, created_by=actor)
                    session.add(run)
                    session.flush()
            except IntegrityError:
                run, resumed = session.scalar(find), True
                if run is None:  # pragma: no cover - the other request rolled back
                    raise Conflict("Billing of {period} is starting in another process; try again.",
                                   period=month.strftime("%Y-%m")) from None
        if run.status == COMPLETED:
            return run, resumed
        if not _take_lease(session, run.id, owner):
            raise _busy(run)
        session.expire(run)
        session.refresh(run)
        return run, resumed


def run_billing(database: Database, *, period: date, province: str | None, actor: str, today: date,
                chunks: int | None = None, stop_after_chunks: int | None = None,
                progress: Callable[[int, int, int], None] | None = None, workers: int | None = None) -> dict:
    """Bill a month for a province (2025 code) or the whole country (None); see the module docstring.
    ``progress(chunk, chunks_total, bills)`` is called after each chunk commits. ``workers``: chunks billed at
    the same time, each on its own connection (default: 2 on PostgreSQL, 1 on SQLite, in a test's shared
    connection, or with ``stop_after_chunks``). A run being billed by another process is a conflict; a run
    ended ``completed_with_exceptions`` bills its exceptions again (those payers only)."""
    if province is not None and not _PROVINCE.match(province):
        raise ValidationFailed("province", "{value} is not a province code.", value=province)
    if chunks is not None and not 1 <= chunks <= 1024:
        raise ValidationFailed("chunks", "The number of chunks is between 1 and 1024; got {value}.", value=chunks)
    month = month_start(period)
    scope = province or "*"
    p = get_parameters()
    due_date(month, p)  # fails early (naming ``period``) when no due-date rule is in force
    owner = uuid.uuid4().hex
    run, resumed = _open_run(database, month, scope, chunks, actor, owner)
    if run.status == COMPLETED:
        with database.unit_of_work() as session:
            return _summary(session, session.get(BillingRun, run.id), resumed=True)
    run_id, total_chunks, retry = run.id, run.chunks_total, run.status == WITH_EXCEPTIONS
    try:
        processed = 0
        if retry:
            _bill_exceptions_again(database, run_id, month, province, today, p, owner)
        else:
            processed = _bill_chunks(database, run_id, month, province, today, p, owner, total_chunks,
                                     stop_after_chunks=stop_after_chunks, progress=progress,
                                     workers=_workers(database, workers, stop_after_chunks))
        with database.unit_of_work() as session:
            run = close_run(session, run_id, actor=actor, resumed=resumed, retry=retry)
            return _summary(session, run, resumed=resumed, chunks_this_time=processed)
    except BaseException:
        try:  # let the next request resume at once rather than wait for the lease to expire
            with database.unit_of_work() as session:
                _release_lease(session, run_id, owner)
        except Exception:  # noqa: BLE001 - the lease then expires by itself
            pass
        raise


def _batch(session: Session) -> None:
    """A chunk is batch work, off the event loop: it may wait for locks and run longer than a request."""
    allow_waiting(session, lock_timeout_ms=CHUNK_LOCK_WAIT_MS,
                  statement_timeout_ms=CHUNK_STATEMENT_TIMEOUT_MS)


def _bill_chunks(database: Database, run_id: int, month: date, province: str | None, today: date,
                 p: ParameterSet, owner: str, total_chunks: int, *, stop_after_chunks: int | None,
                 progress: Callable[[int, int, int], None] | None, workers: int) -> int:
    """Bill the chunks not yet done, each in its own transaction, renewing the lease before each."""
    with database.unit_of_work() as session:
        done = set(session.scalars(select(BillingChunk.chunk).where(BillingChunk.run_id == run_id)))
        excluded = set(session.scalars(select(Bill.payer_key).where(
            Bill.period == month, (Bill.run_id.is_(None)) | (Bill.run_id != run_id))))
    todo = [chunk for chunk in range(total_chunks) if chunk not in done]

    def bill_one(chunk: int) -> int:
        _renew_lease(database, run_id, owner)
        with database.unit_of_work() as session:
            bills = bill_run_chunk(session, run_id, chunk, today=today, p=p, excluded=excluded)
        if progress is not None:
            progress(chunk, total_chunks, bills)
        return bills

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
    return processed


def bill_run_chunk(session: Session, run_id: int, chunk: int, *, today: date, p: ParameterSet | None = None,
                   excluded: set[str] | None = None) -> int:
    """Bill one chunk of a run in the caller's transaction (its bills, lines, ledger entries and ``BillingChunk``
    row commit together): the one unit of work of an in-process run and of a job's chunk on a worker. A chunk
    already billed writes nothing (a chunk delivered again); ``excluded``: the payers billed for the month by
    other runs (read here when not given). Returns the bills written."""
    run = session.get(BillingRun, run_id)
    if session.scalar(select(BillingChunk.chunk).where(BillingChunk.run_id == run_id,
                                                       BillingChunk.chunk == chunk)) is not None:
        return 0
    province = None if run.province == "*" else run.province
    if excluded is None:
        excluded = billed_elsewhere(session, run_id, run.period, province)
    _batch(session)
    bills, _, _ = _bill_chunk(session, run_id, run.period, chunk, run.chunks_total, province, today, excluded,
                              p or get_parameters())
    return bills


def billed_elsewhere(session: Session, run_id: int, month: date, province: str | None) -> set[str]:
    """The payers (of the province, or all) billed for the month outside the run: another run, or one at a time."""
    stmt = select(Bill.payer_key).where(Bill.period == month, (Bill.run_id.is_(None)) | (Bill.run_id != run_id))
    if province is not None:
        stmt = stmt.where(Bill.province_2025 == province)
    return set(session.scalars(stmt))


def close_run(session: Session, run_id: int, *, actor: str, resumed: bool = False, retry: bool = False
              ) -> BillingRun:
    """End a run whose chunks are all billed: its status (``completed_with_exceptions`` while payers are left
    unbilled), its totals, its lease released; audited (``billing_run``)."""
    from ansinh.audit.service import record_event

    run = session.scalar(select(BillingRun).where(BillingRun.id == run_id).with_for_update()
                         .execution_options(populate_existing=True))
    count, total = session.execute(select(func.count(), func.coalesce(func.sum(Bill.total), 0))
                                   .where(Bill.run_id == run_id)).one()
    open_, resolved = _exception_counts(session, run_id)
    run.status = WITH_EXCEPTIONS if open_ else COMPLETED
    run.bills, run.total, run.finished_at = int(count), int(total), utcnow()
    run.lease_owner = run.lease_until = None
    session.flush()
    record_event(session, "billing_run", "billing_run", run_id,
                 details={"period": run.period.isoformat(), "province": run.province, "bills": int(count),
                          "total": int(total), "chunks": run.chunks_total, "resumed": resumed,
                          "exceptions": open_, "exceptions_resolved": resolved, "retry": retry, "actor": actor})
    return run


def _bill_exceptions_again(database: Database, run_id: int, month: date, province: str | None, today: date,
                           p: ParameterSet, owner: str | None) -> None:
    """Bill again the payers of the run's open exceptions (those payers only, in one transaction): each one
    billed now has its exception resolved (with its bill); one refused again keeps it, with today's reason.
    ``owner``: the lease renewed first (None: a job's chunk, whose row is the lock)."""
    if owner is not None:
        _renew_lease(database, run_id, owner)
    with database.unit_of_work() as session:
        bill_exceptions_again(session, run_id, month, province, today, p)


def bill_exceptions_again(session: Session, run_id: int, month: date, province: str | None, today: date,
                          p: ParameterSet) -> None:
    """:func:`_bill_exceptions_again` in the caller's transaction."""
    _batch(session)
    open_keys = set(session.scalars(select(BillingException.payer_key).where(
        BillingException.run_id == run_id, BillingException.resolved_at.is_(None))))
    if not open_keys:
        return
    billed = dict(session.execute(select(Bill.payer_key, Bill.id).where(
        Bill.period == month, Bill.payer_key.in_(sorted(open_keys)))).all())
    _, bill_ids, refused = _bill_chunk(session, run_id, month, 0, 1, province, today, set(billed), p,
                                       only=open_keys - set(billed), record_chunk=False)
    bill_ids = {**billed, **bill_ids}
    now = utcnow()
    for row in session.scalars(select(BillingException).where(
            BillingException.run_id == run_id, BillingException.resolved_at.is_(None))):
        if row.payer_key in refused:
            continue
        # billed now; or billed meanwhile by another run, or nothing to bill any more (the record ended)
        row.resolved_at, row.bill_id = now, bill_ids.get(row.payer_key)
    session.flush()


# --- runs for the web pages -------------------------------------------------------------------------------

def run_provinces_in_scope(session: Session, principal: Principal | None) -> list[str] | None:
    """The provinces whose runs the caller may read and start (their province offices lie in the caller's
    subtree); ``None``: every province and the country (national staff, the CLI)."""
    if principal is None or principal.org_unit_level == OrgLevel.national.value:
        return None
    offices = session.execute(select(OrgUnit.place_code, OrgUnit.path).where(OrgUnit.level == OrgLevel.province)
                              .order_by(OrgUnit.place_code)).all()
    return sorted({code for code, path in offices if code and principal.covers_path(path)})


def runs_query(session: Session, principal: Principal | None):
    """A ``select`` of the billing runs the caller may read (see :func:`ensure_run_scope`)."""
    stmt = select(BillingRun)
    provinces = run_provinces_in_scope(session, principal)
    if provinces is not None:
        stmt = stmt.where(BillingRun.province.in_(provinces or ["-"]))
    return stmt


def run_progress(session: Session, run: BillingRun) -> dict:
    """How far a run has got: chunks done of the total, bills written so far, and whether it is still being
    billed (a live lease) or stopped midway (no live lease: starting it again resumes it)."""
    chunks_done = session.scalar(select(func.count()).select_from(BillingChunk)
                                 .where(BillingChunk.run_id == run.id)) or 0
    bills = session.scalar(select(func.count()).select_from(Bill).where(Bill.run_id == run.id)) or 0
    finished = run.status in (COMPLETED, WITH_EXCEPTIONS)
    lease = run.lease_until
    if lease is not None and lease.tzinfo is None:  # SQLite returns naive UTC times
        from datetime import UTC

        lease = lease.replace(tzinfo=UTC)
    active = not finished and lease is not None and lease > utcnow()
    total = max(int(run.chunks_total or 0), 1)
    return {"run_id": run.id, "status": run.status, "finished": finished, "active": active,
            "stopped": not finished and not active, "chunks_done": int(chunks_done), "chunks_total": total,
            "percent": 100 if finished else min(99, int(chunks_done) * 100 // total), "bills": int(bills)}


# --- one payer at once (the citizen's enrolment in the portal) ----------------------------------------------------

def bill_payer(session: Session, *, payer_key: str, period: date, today: date) -> Bill | None:
    """Bill one voluntary (``P:<person id>``) or household (``H:<household id>``) payer for a month now, in the
    caller's transaction, by the same rules as a run (the month's run then leaves it out: a payer billed outside the
    run is excluded). A payer already billed for the month gets that bill back; one with nothing to bill that month,
    None. A payer the rules refuse (an income under the floor) raises the rules' error, naming no run."""
    month = month_start(period)
    existing = session.scalar(select(Bill).where(Bill.payer_key == payer_key, Bill.period == month))
    if existing is not None:
        return existing
    kinds = {"P": _voluntary_bills, "H": _household_bills}
    if payer_key[:2] not in ("P:", "H:") or not payer_key[2:].isdigit():
        raise ValidationFailed("payer_key", "{value} is not a voluntary or household payer.", value=payer_key)
    p = get_parameters()
    lines, payers, refusals = kinds[payer_key[0]](session, month, 0, 1, None, p, {payer_key})
    payers = payers.filter(pl.col("payer_key") == payer_key)
    if refusals:
        refusal = refusals[0]
        raise ValidationFailed("payer_key", refusal.message, **(refusal.params or {}))
    if payers.is_empty() or lines.filter(pl.col("payer_key") == payer_key).is_empty():
        return None
    billable, reference_refusals = _references(payers.select(list(PAYER_SCHEMA)).cast(PAYER_SCHEMA), month)
    if reference_refusals:
        raise ValidationFailed("payer_key", reference_refusals[0].message, **(reference_refusals[0].params or {}))
    lines = lines.select(list(LINE_SCHEMA)).cast(LINE_SCHEMA).filter(pl.col("payer_key") == payer_key)
    _, _, ids = _write_bills(session, None, month, lines, billable, today, due_date(month, p))
    return session.get(Bill, ids[payer_key])
