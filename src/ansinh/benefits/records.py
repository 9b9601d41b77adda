"""The contribution record of a person, from the participation history (never typed by an officer).

The current (not superseded) coverage periods of the contribution schemes, compulsory and voluntary social
insurance and unemployment insurance, are turned into months: per month the scheme(s), the insured salary (the
voluntary income for voluntary months) and the employer. A month is counted once however many periods cover it (two
employers in one month: one month of social insurance, the salaries added). A period ``[valid_from, valid_to)``
covers the months from the month of ``valid_from`` to the month of its last day; an open period runs to the record's
``until`` (a record counts the months **before** the month of ``until``: the months already contributed).

Split in two so that the rules are testable without a database:

- :func:`load` / :func:`load_many` read the periods (SQL, through the participation service);
- :func:`compute` (one person: a :class:`Record`) and :func:`summarise` (many people at once, on columns: the bench's
  100,000 lump sums) are pure functions of the rows.

The average salary revalued (Law 41/2024/QH15 Art 72; Law 58/2014/QH13 Art 62-63, 79): each month's salary (or
voluntary income) times the coefficient of its year (``benefits.salary_revaluation``, the table in force on the
date of the benefit), rounded to the dong, summed, divided by the months of social insurance, rounded to the dong
(halves up). Salaries on the State's scale (revalued by the base salary) are not told apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy.orm import Session

from ansinh.rules.money import apply_ratio_expr, div_round_expr
from ansinh.rules.parameters import ParameterSet, get_parameters
from ansinh.rules.pension import MONTHS_PER_YEAR
from ansinh.rules.revaluation import coefficients

COMPULSORY, VOLUNTARY, UI = "si_compulsory", "si_voluntary", "ui"
#: Years of contributions before 2014 count 1.5 months of salary in a lump sum, 2 from 2014 (Law 58/2014/QH13 Art
#: 60(2); Law 41/2024/QH15 Art 70(3)): the record splits its months at this day.
LUMP_SUM_SPLIT = date(2014, 1, 1)

ROW_SCHEMA = {"person_id": pl.Int64, "scheme": pl.String, "valid_from": pl.Date, "valid_to": pl.Date,
              "insured_salary": pl.Int64, "employer_id": pl.Int64}


def month_index(day: date) -> int:
    """A month as a count of months (year × 12 + month − 1)."""
    return day.year * MONTHS_PER_YEAR + day.month - 1


def month_of(index: int) -> date:
    """The first day of a month given as :func:`month_index`."""
    return date(index // MONTHS_PER_YEAR, index % MONTHS_PER_YEAR + 1, 1)


def index_expr(day: pl.Expr) -> pl.Expr:
    """:func:`month_index` on a column of dates."""
    return day.dt.year().cast(pl.Int64) * MONTHS_PER_YEAR + day.dt.month().cast(pl.Int64) - 1


# --- reading ------------------------------------------------------------------------------------------------------

def load(session: Session, person_id: int) -> pl.DataFrame:
    """The person's current coverage periods of the contribution schemes (``ROW_SCHEMA``)."""
    return load_many(session, [person_id])


def load_many(session: Session, person_ids, schemes: tuple[str, ...] = (COMPULSORY, VOLUNTARY, UI)) -> pl.DataFrame:
    """The same for many people in one read (``person_ids``: ids, or a subquery of ids); ``schemes`` to read only
    some (a lump sum needs no unemployment insurance)."""
    from ansinh.participation.service import contribution_coverage_of

    return contribution_coverage_of(session, person_ids, schemes)


# --- months -------------------------------------------------------------------------------------------------------

def months_table(rows: pl.DataFrame, until: date | None = None, *, with_employer: bool = True) -> pl.DataFrame:
    """Coverage rows → one row per person and month contributed: ``person_id, month`` (:func:`month_index`),
    ``compulsory, voluntary, ui`` (booleans), ``si_salary`` (the compulsory salaries of the month added, else the
    voluntary income), ``ui_salary``, and ``employer_id`` (of the highest compulsory salary of the month) when asked.
    Months from the month of ``until`` on are left out; rows may instead carry their own ``until`` column."""
    if rows.height == 0:
        return pl.DataFrame(schema={"person_id": pl.Int64, "month": pl.Int64, "compulsory": pl.Boolean,
                                    "voluntary": pl.Boolean, "ui": pl.Boolean, "si_salary": pl.Int64,
                                    "ui_salary": pl.Int64, **({"employer_id": pl.Int64} if with_employer else {})})
    if "until" in rows.columns:
        limit = index_expr(pl.col("until"))
    else:
        if until is None:
            raise ValueError("months_table needs an until date (or an until column)")
        limit = pl.lit(month_index(until), dtype=pl.Int64)
    last_day_month = index_expr(pl.col("valid_to") - pl.duration(days=1)) + 1
    spans = rows.select(
        "person_id", "scheme", salary=pl.col("insured_salary").fill_null(0).cast(pl.Int64),
        employer_id=pl.col("employer_id"),
        start=index_expr(pl.col("valid_from")),
        end=pl.min_horizontal(pl.when(pl.col("valid_to").is_null()).then(limit).otherwise(last_day_month), limit),
    ).filter(pl.col("end") > pl.col("start"))
    exploded = spans.with_columns(month=pl.int_ranges("start", "end", dtype=pl.Int64)).explode("month")
    # Plain sums and maxima per group (the fast path of a group-by): each row's share prepared beforehand.
    flags = exploded.select(
        "person_id", "month",
        compulsory=(pl.col("scheme") == COMPULSORY).cast(pl.Int8),
        voluntary=(pl.col("scheme") == VOLUNTARY).cast(pl.Int8),
        ui=(pl.col("scheme") == UI).cast(pl.Int8),
        compulsory_salary=pl.when(pl.col("scheme") == COMPULSORY).then(pl.col("salary")).otherwise(0),
        voluntary_salary=pl.when(pl.col("scheme") == VOLUNTARY).then(pl.col("salary")).otherwise(0),
        ui_salary=pl.when(pl.col("scheme") == UI).then(pl.col("salary")).otherwise(0),
    )
    aggregates = [pl.col("compulsory", "voluntary", "ui").max().cast(pl.Boolean),
                  pl.col("compulsory_salary", "voluntary_salary", "ui_salary").sum()]
    grouped = flags.group_by("person_id", "month").agg(aggregates)
    if with_employer:  # the employer of the month's highest compulsory salary
        employers = (exploded.filter(pl.col("scheme") == COMPULSORY).sort("salary", "employer_id", nulls_last=False)
                     .group_by("person_id", "month").agg(pl.col("employer_id").last()))
        grouped = grouped.join(employers, on=["person_id", "month"], how="left")
    columns = ["person_id", "month", "compulsory", "voluntary", "ui", "si_salary", "ui_salary"]
    return grouped.with_columns(
        si_salary=pl.when(pl.col("compulsory")).then(pl.col("compulsory_salary"))
        .otherwise(pl.col("voluntary_salary")).cast(pl.Int64),
        ui_salary=pl.col("ui_salary").cast(pl.Int64),
    ).select(*columns, *(["employer_id"] if with_employer else [])).sort("person_id", "month")


# --- many people at once --------------------------------------------------------------------------------------------

def summarise(months: pl.DataFrame, on: pl.DataFrame, p: ParameterSet | None = None) -> pl.DataFrame:
    """The record's figures for many people in one pass. ``months`` from :func:`months_table`; ``on``: ``person_id,
    on`` (the date of each person's benefit: it chooses the revaluation table). Returns per person of ``on``:
    ``si_months, compulsory_months, months_before_2014, months_from_2014, first_month, last_month (dates or null),
    average_salary`` (revalued)."""
    p = p or get_parameters()
    split = month_index(LUMP_SUM_SPLIT)
    si = months.filter(pl.col("compulsory") | pl.col("voluntary"))
    counts = si.group_by("person_id").agg(
        si_months=pl.len().cast(pl.Int64),
        compulsory_months=pl.col("compulsory").sum().cast(pl.Int64),
        months_before_2014=(pl.col("month") < split).sum().cast(pl.Int64),
        first=pl.col("month").min(), last=pl.col("month").max(),
    )
    # Revalued month by month, exactly: the months of one salary in one year share a coefficient.
    by_year = (si.with_columns(year=pl.col("month") // MONTHS_PER_YEAR)
               .group_by("person_id", "year", "si_salary").agg(n=pl.len().cast(pl.Int64))
               .join(on.select("person_id", "on"), on="person_id", how="inner"))
    revalued = (by_year.with_columns(c=coefficients(by_year["on"], by_year["year"], p))
                .with_columns(total=apply_ratio_expr(pl.col("si_salary"), pl.col("c")) * pl.col("n"))
                .group_by("person_id").agg(revalued=pl.col("total").sum()))
    result = (on.select("person_id").join(counts, on="person_id", how="left").join(revalued, on="person_id", how="left")
              .with_columns(pl.col("si_months", "compulsory_months", "months_before_2014", "revalued").fill_null(0)
                            .cast(pl.Int64)))
    return _figures(result)


def summarise_rows(rows: pl.DataFrame, people: pl.DataFrame, p: ParameterSet | None = None) -> pl.DataFrame:
    """:func:`summarise` straight from the coverage rows, without a row per month where it can: ``people`` has
    ``person_id, on[, until]`` (``until`` defaults to ``on``). A person whose social insurance periods never share a
    month is counted on the periods themselves (their months, the months before 2014, and the revaluation per
    period and calendar year); the others (two jobs at once) go through :func:`months_table`. The same figures
    either way (tested)."""
    p = p or get_parameters()
    if "until" not in people.columns:
        people = people.with_columns(until=pl.col("on"))
    si_rows = rows.filter(pl.col("scheme").is_in([COMPULSORY, VOLUNTARY]))
    last_day_month = index_expr(pl.col("valid_to") - pl.duration(days=1)) + 1
    limit = index_expr(pl.col("until"))
    spans = (si_rows.join(people.select("person_id", "until"), on="person_id", how="inner")
             .select("person_id", compulsory=pl.col("scheme") == COMPULSORY,
                     salary=pl.col("insured_salary").fill_null(0).cast(pl.Int64),
                     start=index_expr(pl.col("valid_from")),
                     end=pl.min_horizontal(pl.when(pl.col("valid_to").is_null()).then(limit)
                                           .otherwise(last_day_month), limit))
             .filter(pl.col("end") > pl.col("start")).sort("person_id", "start"))
    spans = spans.with_columns(
        shared=pl.col("start") < pl.col("end").cum_max().shift(1).over("person_id").fill_null(-1))
    sharing = spans.filter("shared")["person_id"].unique()
    plain = spans.filter(~pl.col("person_id").is_in(sharing.implode()))
    split = month_index(LUMP_SUM_SPLIT)
    counts = plain.group_by("person_id").agg(
        si_months=(pl.col("end") - pl.col("start")).sum(),
        compulsory_months=pl.when(pl.col("compulsory")).then(pl.col("end") - pl.col("start")).otherwise(0).sum(),
        months_before_2014=(pl.min_horizontal(pl.col("end"), pl.lit(split)) - pl.col("start")).clip(lower_bound=0).sum(),
        first=pl.col("start").min(), last=pl.col("end").max() - 1,
    )
    years = (plain.with_columns(year=pl.int_ranges(pl.col("start") // MONTHS_PER_YEAR,
                                                   (pl.col("end") - 1) // MONTHS_PER_YEAR + 1)).explode("year")
             .with_columns(n=pl.min_horizontal(pl.col("end"), (pl.col("year") + 1) * MONTHS_PER_YEAR)
                           - pl.max_horizontal(pl.col("start"), pl.col("year") * MONTHS_PER_YEAR))
             .join(people.select("person_id", "on"), on="person_id", how="inner"))
    revalued = (years.with_columns(c=coefficients(years["on"], years["year"], p))
                .with_columns(total=apply_ratio_expr(pl.col("salary"), pl.col("c")) * pl.col("n"))
                .group_by("person_id").agg(revalued=pl.col("total").sum()))
    fast = (people.filter(~pl.col("person_id").is_in(sharing.implode())).select("person_id")
            .join(counts, on="person_id", how="left").join(revalued, on="person_id", how="left"))
    fast = _figures(fast.with_columns(pl.col("si_months", "compulsory_months", "months_before_2014", "revalued")
                                      .fill_null(0).cast(pl.Int64)))
    if sharing.len() == 0:
        return fast
    chosen = people.filter(pl.col("person_id").is_in(sharing.implode()))
    months = months_table(rows.join(chosen.select("person_id", "until"), on="person_id", how="inner"),
                          with_employer=False)
    return pl.concat([fast, summarise(months, chosen.select("person_id", "on"), p)], how="vertical_relaxed")


def _figures(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        months_from_2014=pl.col("si_months") - pl.col("months_before_2014"),
        first_month=_month_date(pl.col("first")), last_month=_month_date(pl.col("last")),
        average_salary=pl.when(pl.col("si_months") > 0)
        .then(div_round_expr(pl.col("revalued"), pl.col("si_months"))).otherwise(0).cast(pl.Int64),
    ).select("person_id", "si_months", "compulsory_months", "months_before_2014", "months_from_2014", "first_month",
             "last_month", "average_salary", "last")


def _month_date(index: pl.Expr) -> pl.Expr:
    return pl.date(index // MONTHS_PER_YEAR, index % MONTHS_PER_YEAR + 1, 1)


# --- one person ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """One person's months of contributions before ``until`` (a :func:`months_table` of one person)."""

    person_id: int
    until: date
    months: pl.DataFrame

    def _si(self) -> pl.DataFrame:
        return self.months.filter(pl.col("compulsory") | pl.col("voluntary"))

    @property
    def si_months(self) -> int:
        """Months of social insurance, compulsory and voluntary, each month once."""
        return self._si().height

    @property
    def compulsory_months(self) -> int:
        return int(self.months["compulsory"].sum() or 0)

    @property
    def months_before_2014(self) -> int:
        return self._si().filter(pl.col("month") < month_index(LUMP_SUM_SPLIT)).height

    @property
    def months_from_2014(self) -> int:
        return self.si_months - self.months_before_2014

    @property
    def ui_months(self) -> int:
        return int(self.months["ui"].sum() or 0)

    @property
    def first_month(self) -> date | None:
        si = self._si()
        return month_of(int(si["month"].min())) if si.height else None

    @property
    def last_month(self) -> date | None:
        si = self._si()
        return month_of(int(si["month"].max())) if si.height else None

    def months_without_contributions(self, on: date) -> int | None:
        """Whole months after the last month of social insurance, up to the month before ``on`` (None: never)."""
        last = self.last_month
        if last is None:
            return None
        return max(0, month_index(on) - 1 - month_index(last))

    def _window(self, end_month: int, months: int) -> pl.DataFrame:
        return self.months.filter((pl.col("month") > end_month - months) & (pl.col("month") <= end_month))

    def compulsory_months_in(self, months: int, before: date) -> int:
        """Months of compulsory social insurance in the ``months`` months before the month of ``before``."""
        return int(self._window(month_index(before) - 1, months)["compulsory"].sum() or 0)

    def ui_months_in(self, months: int, through: date) -> int:
        """Months of unemployment insurance in the ``months`` months ending with the month of ``through``."""
        return int(self._window(month_index(through), months)["ui"].sum() or 0)

    def compulsory_in(self, day: date) -> bool:
        """Compulsory social insurance in the month of ``day``."""
        row = self.months.filter(pl.col("month") == month_index(day))
        return bool(row.height and row["compulsory"][0])

    def salary_of_month_before(self, day: date) -> int | None:
        """The compulsory insured salary of the month before the month of ``day`` (None: not contributing then)."""
        row = self.months.filter((pl.col("month") == month_index(day) - 1) & pl.col("compulsory"))
        return int(row["si_salary"][0]) if row.height else None

    def average_of_last(self, count: int, *, before: date, scheme: str = COMPULSORY) -> int:
        """The average salary of the last ``count`` months contributed to ``scheme`` before the month of ``before``
        (fewer when fewer were contributed), rounded to the dong, halves up; 0 when none."""
        flag, salary = {COMPULSORY: ("compulsory", "si_salary"), UI: ("ui", "ui_salary"),
                        VOLUNTARY: ("voluntary", "si_salary")}[scheme]
        last = (self.months.filter(pl.col(flag) & (pl.col("month") < month_index(before)))
                .sort("month").tail(count)[salary])
        if last.len() == 0:
            return 0
        total = int(last.sum())
        return (total * 2 + last.len()) // (2 * last.len())

    def employer_of_month(self, day: date) -> int | None:
        """The employer of the last compulsory month up to the month of ``day``."""
        if "employer_id" not in self.months.columns:
            return None
        rows = self.months.filter(pl.col("compulsory") & (pl.col("month") <= month_index(day))
                                  & pl.col("employer_id").is_not_null())
        return int(rows.sort("month")["employer_id"][-1]) if rows.height else None

    def average_salary_revalued(self, on: date, p: ParameterSet | None = None) -> int:
        """The average of the months' salaries revalued by the table in force on ``on`` (the benefit's date)."""
        figures = summarise(self.months, pl.DataFrame({"person_id": [self.person_id], "on": [on]}), p)
        return int(figures["average_salary"][0])

    def compulsory_months_before(self, day: date) -> int:
        """Months of compulsory social insurance before the month of ``day``."""
        return int(self.months.filter(pl.col("month") < month_index(day))["compulsory"].sum() or 0)

    def summary(self, on: date, p: ParameterSet | None = None, *, revalue: bool = True) -> dict:
        """The record as an assessment shows it (JSON-ready); the revalued average only when asked (the benefits
        averaging the last months do not revalue)."""
        first, last = self.first_month, self.last_month
        return {"until": self.until.isoformat(), "si_months": self.si_months,
                "compulsory_months": self.compulsory_months, "voluntary_months": self.si_months - self.compulsory_months,
                "months_before_2014": self.months_before_2014, "months_from_2014": self.months_from_2014,
                "ui_months": self.ui_months, "first_month": first and first.isoformat(),
                "last_month": last and last.isoformat(),
                "average_salary_revalued": self.average_salary_revalued(on, p) if revalue else None}

    def history(self) -> list[dict]:
        """The months grouped into runs of the same schemes, salary and employer (for the intake page)."""
        if self.months.height == 0:
            return []
        keys = ["compulsory", "voluntary", "ui", "si_salary"] + (["employer_id"] if "employer_id" in self.months.columns
                                                                  else [])
        frame = self.months.sort("month").with_columns(
            run=((pl.col("month").diff().fill_null(1) != 1)
                 | pl.any_horizontal(*[pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys])).cum_sum())
        runs = frame.group_by("run", maintain_order=True).agg(
            pl.col("month").min().alias("start"), pl.col("month").max().alias("end"), pl.len().alias("months"),
            *[pl.col(k).first() for k in keys])
        return [{"from": month_of(r["start"]).isoformat(), "to": month_of(r["end"]).isoformat(), "months": r["months"],
                 "schemes": [s for s, flag in (("si_compulsory", r["compulsory"]), ("si_voluntary", r["voluntary"]),
                                               ("ui", r["ui"])) if flag],
                 "salary": r["si_salary"], "employer_id": r.get("employer_id")} for r in runs.iter_rows(named=True)]


def compute(rows: pl.DataFrame, until: date, person_id: int | None = None) -> Record:
    """A person's record from their coverage rows (pure)."""
    if person_id is None:
        person_id = int(rows["person_id"][0]) if rows.height else 0
    return Record(person_id, until, months_table(rows.filter(pl.col("person_id") == person_id), until))


def record_of(session: Session, person_id: int, until: date) -> Record:
    """Load and compute."""
    return compute(load(session, person_id), until, person_id)
