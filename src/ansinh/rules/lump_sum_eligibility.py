"""14. Whether a lump-sum withdrawal may be granted on its ground, under the law of the filing date, and its amount.

The grounds are rules registered once (:data:`GROUNDS`), each with its code, its description in both languages, the
article of law and the dates it is in force: the law of the **filing date** applies (Law 58/2014/QH13 with
Resolution 93/2015/QH13 until 2025-06-30; Law 41/2024/QH15 from 2025-07-01, :data:`LAW_41_2024`).

- ``retirement_age_under_20_years`` / ``retirement_age_under_15_years``: the pension age is reached and the years of
  contributions are under ``benefits.pension.minimum_years`` (20 under Law 58/2014 Art 60(1)(a), 15 under Law
  41/2024 Art 70(1)(a): too few for a pension);
- ``abroad`` (settling abroad) and ``grave_illness`` (an illness on the Ministry of Health's list): the evidence is
  checked by the officer (the claim is incomplete until it is there); the record only needs contributions;
- ``incapacity_81``: a loss of working capacity of at least ``benefits.lump_sum.incapacity_min_share`` (81%, Law
  41/2024 Art 70(1)(d));
- ``out_of_work_12_months`` (Resolution 93/2015/QH13 Art 1(1)) and ``transitional_12_months`` (Law 41/2024 Art
  70(1)(đ)): ``benefits.lump_sum.out_of_work_months`` (12) months without compulsory or voluntary social insurance
  up to the filing date and under ``out_of_work_max_years`` (20) years of contributions; the transitional ground
  also needs contributions begun before Law 41/2024 took effect.

A ground not met is refused with its reason code and the article (:data:`REASONS`); a ground not in force on the
filing date is refused citing the list of grounds of the law in force. The amount is the ``lump-sum`` calculator's
on the (revalued) average salary, 0 when refused. ``months_without_contributions``: whole months after the last
month of social insurance up to the month before filing (0 while contributing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.i18n import N_
from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.lump_sum import lump_sum_columns
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.pension import MONTHS_PER_YEAR
from ansinh.rules.schemas import BenefitSalary, CalcInput, OnDate


@dataclass(frozen=True)
class Law:
    """A social insurance law and the days it is in force (``valid_to`` inclusive; None while in force)."""
    code: str
    valid_from: date
    valid_to: date | None
    reference: str
    #: The article listing the lump-sum grounds (cited when a ground of another law is claimed).
    grounds_article: str

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


#: Law 41/2024/QH15 takes effect on 2025-07-01 (its Art 141(1)); the one place this date is written.
LAW_41_2024 = Law("41/2024/QH15", date(2025, 7, 1), None, "Law 41/2024/QH15 Art 141(1)",
                  "Law 41/2024/QH15 Art 70(1)")
#: Law 58/2014/QH13, in force from 2016-01-01 (its Art 124(1)) until the day before Law 41/2024.
LAW_58_2014 = Law("58/2014/QH13", date(2016, 1, 1), date.fromordinal(LAW_41_2024.valid_from.toordinal() - 1),
                  "Law 58/2014/QH13 Art 124(1)", "Law 58/2014/QH13 Art 60(1); Resolution 93/2015/QH13 Art 1(1)")
LAWS = (LAW_58_2014, LAW_41_2024)


def law_on(day: date) -> Law | None:
    """The social insurance law in force on a day (None before 2016)."""
    return next((law for law in LAWS if law.covers(day)), None)


@dataclass(frozen=True)
class Ground:
    """A ground of a lump-sum withdrawal under one law."""
    code: str
    law: Law
    article: str
    description: str  # msgid (English); Vietnamese in the catalogue
    verified: bool = True

    @property
    def valid_from(self) -> date:
        return self.law.valid_from

    @property
    def valid_to(self) -> date | None:
        return self.law.valid_to


GROUNDS: dict[tuple[str, str], Ground] = {}


def register_ground(ground: Ground) -> Ground:
    key = (ground.code, ground.law.code)
    if key in GROUNDS:
        raise ValueError(f"lump-sum ground {key} registered twice")
    GROUNDS[key] = ground
    return ground


for _ground in (
    Ground("retirement_age_under_20_years", LAW_58_2014, "Law 58/2014/QH13 Art 60(1)(a)",
           N_("Pension age reached with under 20 years of contributions")),
    Ground("abroad", LAW_58_2014, "Law 58/2014/QH13 Art 60(1)(b)", N_("Settling abroad")),
    Ground("grave_illness", LAW_58_2014, "Law 58/2014/QH13 Art 60(1)(c)",
           N_("A life-threatening illness on the Ministry of Health's list")),
    Ground("out_of_work_12_months", LAW_58_2014, "Resolution 93/2015/QH13 Art 1(1)",
           N_("One year without social insurance, with under 20 years of contributions")),
    Ground("retirement_age_under_15_years", LAW_41_2024, "Law 41/2024/QH15 Art 70(1)(a)",
           N_("Pension age reached with under 15 years of contributions")),
    Ground("abroad", LAW_41_2024, "Law 41/2024/QH15 Art 70(1)(b)", N_("Settling abroad")),
    Ground("grave_illness", LAW_41_2024, "Law 41/2024/QH15 Art 70(1)(c)",
           N_("A life-threatening illness on the Ministry of Health's list")),
    Ground("incapacity_81", LAW_41_2024, "Law 41/2024/QH15 Art 70(1)(d)",
           N_("Loss of working capacity of 81% or more")),
    Ground("transitional_12_months", LAW_41_2024, "Law 41/2024/QH15 Art 70(1)(đ)",
           N_("Contributions begun before Law 41/2024 took effect, 12 months without social insurance and under "
             "20 years"),
           verified=False),
):
    register_ground(_ground)

#: Every ground code, in the registry's order (the input's choices).
GROUND_CODES = tuple(dict.fromkeys(code for code, _ in GROUNDS))
GroundCode = Literal["retirement_age_under_20_years", "abroad", "grave_illness", "out_of_work_12_months",
                     "retirement_age_under_15_years", "incapacity_81", "transitional_12_months"]


def grounds_on(day: date) -> tuple[Ground, ...]:
    """The grounds in force on a filing date, in the registry's order."""
    return tuple(g for g in GROUNDS.values() if g.law.covers(day))


def ground_on(code: str, day: date) -> Ground | None:
    law = law_on(day)
    return GROUNDS.get((code, law.code)) if law else None


@dataclass(frozen=True)
class RefusalReason:
    code: str
    text: str  # msgid with {placeholders} filled from the row's figures


REASONS = {r.code: r for r in (
    RefusalReason("ground_not_in_force", N_("{ground} is not a ground of a lump-sum withdrawal under the law in force "
                                            "on {filed_on}.")),
    RefusalReason("law_not_in_force", N_("No social insurance law of this system is in force on {filed_on}.")),
    RefusalReason("no_contributions", N_("The record has no month of social insurance to withdraw.")),
    RefusalReason("pension_age_not_reached", N_("The pension age is not reached on {filed_on}.")),
    RefusalReason("enough_years_for_pension", N_("{months} months of contributions are enough for a pension: "
                                                 "this ground is for under {limit} years.")),
    RefusalReason("too_many_years", N_("{months} months of contributions: this ground is for under {limit} "
                                       "years.")),
    RefusalReason("still_contributing", N_("{months} months without social insurance before {filed_on}: "
                                           "{required} are needed.")),
    RefusalReason("began_after_law", N_("Contributions began on {first_month}, not before {law_from}: the "
                                        "transitional ground is for contributions begun before.")),
    RefusalReason("incapacity_below", N_("A loss of working capacity of {percent}% is below the {required}% "
                                         "required.")),
)}


class LumpSumEligibilityInput(CalcInput):
    ground: GroundCode = Field(description="The ground claimed.")
    on: OnDate = Field(description="Filing date (YYYY-MM-DD): its law applies.")
    months_before_2014: int = Field(ge=0, le=1200, description="Months of social insurance before 2014-01-01.")
    months_from_2014: int = Field(ge=0, le=1200, description="Months of social insurance from 2014-01-01.")
    average_salary: BenefitSalary = Field(description="Average monthly (revalued) salary of the record, in dong.")
    first_month: date | None = Field(None, description="First month of social insurance (YYYY-MM-DD).")
    months_without_contributions: int = Field(0, ge=0, le=1200, description="Months without social insurance "
                                              "before the filing month.")
    reached_pension_age: bool = Field(False, description="The pension age is reached on the filing date.")
    incapacity_percent: int = Field(0, ge=0, le=100, description="Assessed loss of working capacity (%).")


class LumpSumEligibilityOutput(BaseModel):
    eligible: bool
    reason: str = Field(description="The refusal's reason code; empty when eligible.")
    article: str = Field(description="The article of law of the ground (or of the grounds in force).")
    months_of_salary: float
    amount: int


def _ground_frame(codes: pl.Series, on: pl.Series) -> pl.DataFrame:
    """Per row: the law in force, whether the ground is one of its grounds, and the article to cite."""
    law = pl.Series([None] * len(on), dtype=pl.Utf8)
    article = pl.Series([""] * len(on), dtype=pl.Utf8)
    frame = pl.DataFrame({"ground": codes.cast(pl.Utf8), "on": on, "law": law, "article": article})
    law_expr = pl.lit(None, dtype=pl.Utf8)
    grounds_article = pl.lit("", dtype=pl.Utf8)
    for item in reversed(LAWS):
        covers = (pl.col("on") >= item.valid_from) & (
            pl.lit(True) if item.valid_to is None else pl.col("on") <= item.valid_to)
        law_expr = pl.when(covers).then(pl.lit(item.code)).otherwise(law_expr)
        grounds_article = pl.when(covers).then(pl.lit(item.grounds_article)).otherwise(grounds_article)
    frame = frame.with_columns(law=law_expr, grounds_article=grounds_article)
    article = pl.lit(None, dtype=pl.Utf8)
    for (code, law_code), ground in GROUNDS.items():
        article = pl.when((pl.col("ground") == code) & (pl.col("law") == law_code)).then(
            pl.lit(ground.article)).otherwise(article)
    return frame.with_columns(ground_article=article)


def assess_lump_sums(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Many lump-sum claims at once. Columns ``ground, on, months_before_2014, months_from_2014, average_salary[,
    first_month, months_without_contributions, reached_pension_age, incapacity_percent]`` → ``eligible, reason,
    article, months_of_salary_millionths, amount`` (the same rules as one claim: :func:`lump_sum_eligibility_single`
    runs this on one row)."""
    n = frame.height

    def column(name: str, default, dtype) -> pl.Series:
        if name in frame.columns:
            return frame[name].cast(dtype)
        return pl.Series([default] * n, dtype=dtype)

    on = frame["on"].cast(pl.Date)
    grounds = _ground_frame(frame["ground"], on)
    # The parameters are looked up on a date inside the laws' span; rows outside it are refused before they count.
    lookup_on = on.clip(lower_bound=LAW_58_2014.valid_from)
    before = frame["months_before_2014"].cast(pl.Int64)
    after = frame["months_from_2014"].cast(pl.Int64)
    incapacity = column("incapacity_percent", 0, pl.Int64)
    min_share = pl.Series([None] * n, dtype=pl.Int64)
    rows = ((grounds["ground"] == "incapacity_81") & grounds["ground_article"].is_not_null()).arg_true()
    if len(rows):
        min_share.scatter(rows, p["benefits.lump_sum.incapacity_min_share"].column(on.gather(rows)))
    work = pl.DataFrame({
        "ground": grounds["ground"], "law": grounds["law"], "article": grounds["ground_article"],
        "grounds_article": grounds["grounds_article"], "on": on,
        "months": before + after,
        "first": column("first_month", None, pl.Date),
        "without": column("months_without_contributions", 0, pl.Int64),
        "reached": column("reached_pension_age", False, pl.Boolean),
        "incapacity": incapacity, "min_share": min_share,
        "pension_years": p["benefits.pension.minimum_years"].column(lookup_on),
        "out_months": p["benefits.lump_sum.out_of_work_months"].column(lookup_on),
        "out_years": p["benefits.lump_sum.out_of_work_max_years"].column(lookup_on),
    })
    g = pl.col("ground")
    retirement = g.is_in(["retirement_age_under_20_years", "retirement_age_under_15_years"])
    out_of_work = g.is_in(["out_of_work_12_months", "transitional_12_months"])
    reason = (
        pl.when(pl.col("law").is_null()).then(pl.lit("law_not_in_force"))
        .when(pl.col("article").is_null()).then(pl.lit("ground_not_in_force"))
        .when(pl.col("months") <= 0).then(pl.lit("no_contributions"))
        .when(retirement & ~pl.col("reached")).then(pl.lit("pension_age_not_reached"))
        .when(retirement & (pl.col("months") >= pl.col("pension_years") * MONTHS_PER_YEAR))
        .then(pl.lit("enough_years_for_pension"))
        .when((g == "transitional_12_months")
              & (pl.col("first").is_null() | (pl.col("first") >= LAW_41_2024.valid_from)))
        .then(pl.lit("began_after_law"))
        .when(out_of_work & (pl.col("months") >= pl.col("out_years") * MONTHS_PER_YEAR)).then(pl.lit("too_many_years"))
        .when(out_of_work & (pl.col("without") < pl.col("out_months"))).then(pl.lit("still_contributing"))
        .when((g == "incapacity_81") & (pl.col("incapacity") * (SCALE // 100) < pl.col("min_share")))
        .then(pl.lit("incapacity_below"))
        .otherwise(pl.lit(""))
    )
    work = work.with_columns(reason=reason)
    eligible = work["reason"] == ""
    amounts = lump_sum_columns(pl.DataFrame({
        "months_before_2014": before, "months_from_2014": after,
        "average_salary": frame["average_salary"].cast(pl.Int64), "on": lookup_on}).filter(eligible), p)
    months_of_salary = pl.zeros(n, dtype=pl.Int64, eager=True)
    amount = pl.zeros(n, dtype=pl.Int64, eager=True)
    chosen = eligible.arg_true()
    if len(chosen):
        months_of_salary.scatter(chosen, amounts["months_of_salary_millionths"])
        amount.scatter(chosen, amounts["amount"])
    return work.select(
        eligible=eligible, reason="reason",
        article=pl.col("article").fill_null(pl.col("grounds_article")),
    ).with_columns(months_of_salary_millionths=months_of_salary, amount=amount)


def lump_sum_eligibility_single(inputs: LumpSumEligibilityInput, p: ParameterSet) -> dict:
    row = assess_lump_sums(single_row(inputs), p).row(0, named=True)
    return {"eligible": row["eligible"], "reason": row["reason"], "article": row["article"],
            "months_of_salary": row["months_of_salary_millionths"] / SCALE, "amount": row["amount"]}


register(Calculator(
    name="lump-sum-eligibility",
    summary="Lump-sum withdrawal: the ground checked under the law of the filing date, and the amount",
    description=__doc__,
    inputs=LumpSumEligibilityInput,
    outputs=LumpSumEligibilityOutput,
    compute=lump_sum_eligibility_single,
    columns=assess_lump_sums,
))
