"""Eligibility and amounts of a benefit claim, from the person's records and the rules' calculators.

The record comes from the participation history (:mod:`ansinh.benefits.records`), never from what an officer types;
the figures from the registered calculators of :mod:`ansinh.rules` run on one-row frames (the same code as the
columns): ``lump-sum-eligibility`` (with ``lump-sum``), ``pension-age``, ``pension-rate``, ``sickness``,
``maternity``, ``unemployment``, ``funeral``, ``survivor``. A claim that the record does not support is refused
with its reasons, each citing the article of law, in English and Vietnamese.

- **Lump sum**: the ground under the law of the filing date (:mod:`ansinh.rules.lump_sum_eligibility`: the grounds'
  registry, Law 58/2014 with Resolution 93/2015 before 2025-07-01, Law 41/2024 from it); the record up to the month
  before filing; the amount on the revalued average salary.
- **Pension**: the retirement date is ``details.retire_on`` or the first day of the month after filing; the pension
  age on the roadmap (earlier with a reduced working capacity of 61% or more); years of social insurance from the
  record; rate from ``pension-rate``; monthly pension = rate × the revalued average salary (no floor: no parameter
  sets one); one-off bonus for the years above the highest rate.
- **Sickness**: compulsory SI in the month of the leave; the salary of the month before (the month of the leave
  when it is the first month contributed); the whole years of compulsory SI.
- **Maternity**: months of compulsory SI in the 12 months before the month of birth; the average of the last 6.
- **Unemployment**: the employment office decides: its ``monthly_amount`` and ``benefit_months`` are the amounts,
  checked against the calculator (a difference is a warning in ``figures``, never a silent change); without them,
  computed from the UI record (months in the window ending with the month employment ended, average of the last 6
  UI months, region of the last employer). First month: the month of the decision (or ``details.first_month``).
- **Funeral** and **survivor**: the deceased's record up to the month of death; a pensioner is a person with a
  granted pension claim.

Not modelled: months already used for an earlier lump sum or unemployment benefit, days of sickness already taken
this year, survivors' own conditions (checked by the officer), a pensioner's one-off survivor allowance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_read
from ansinh.benefits import records
from ansinh.benefits.models import BenefitClaim, ClaimStatus, ClaimType
from ansinh.formatting import in_both_languages
from ansinh.i18n import N_
from ansinh.registry.models import Employer, Person
from ansinh.rules.death_benefits import funeral_columns, survivor_columns
from ansinh.rules.lump_sum_eligibility import (
    LAW_41_2024,
    LAW_58_2014,
    REASONS,
    Law,
    assess_lump_sums,
    ground_on,
    grounds_on,
    law_on,
)
from ansinh.rules.parameters import SCALE, ParameterSet, get_parameters
from ansinh.rules.pension import MONTHS_PER_YEAR, pension_rate_columns
from ansinh.rules.pension_age import pension_age_columns
from ansinh.rules.salary_months import salary_months
from ansinh.rules.sickness_maternity import maternity_columns, sickness_columns
from ansinh.rules.unemployment import unemployment_columns

__all__ = ["Assessment", "Reason", "assess", "assess_lump_sums", "lump_sum_grounds", "preview", "LAW_2024_FROM",
           "LUMP_SUM_GROUNDS_2014", "LUMP_SUM_GROUNDS_2025"]


@dataclass
class Reason:
    """Why a claim is refused (or a condition it meets): a code, the article of law, and the text in both
    languages."""
    code: str
    article: str
    text_en: str
    text_vi: str


@dataclass
class Assessment:
    eligible: bool
    amount: int = 0  # the one-off amount (dong): lump sum, sickness, maternity, funeral, survivor one-off, bonus
    monthly_amount: int | None = None  # pension, monthly survivor allowance, unemployment
    benefit_months: int | None = None  # unemployment
    first_month: date | None = None  # the first month of a monthly benefit
    reasons: list[Reason] = field(default_factory=list)  # the refusal's grounds when not eligible
    record: dict = field(default_factory=dict)  # the contribution record used (months, salaries, revaluation)
    figures: dict = field(default_factory=dict)  # the computation, type by type (rate, months of salary, ...)

    def as_json(self) -> dict:
        return {"eligible": self.eligible, "amount": self.amount, "monthly_amount": self.monthly_amount,
                "benefit_months": self.benefit_months,
                "first_month": self.first_month.isoformat() if self.first_month else None,
                "reasons": [vars(r) for r in self.reasons], "record": self.record, "figures": self.figures}


# --- the lump-sum grounds (read from the rules' registry) ---------------------------------------------------------

#: The day Law 41/2024/QH15 took effect (kept once, in the grounds' registry).
LAW_2024_FROM = LAW_41_2024.valid_from


def lump_sum_grounds(filed_on: date) -> tuple[str, ...]:
    """The grounds of a lump-sum withdrawal under the law in force on the filing date."""
    return tuple(g.code for g in grounds_on(filed_on))


#: Lump-sum grounds under Law 41/2024/QH15 Art 70(1), for claims filed from 2025-07-01.
LUMP_SUM_GROUNDS_2025 = lump_sum_grounds(LAW_41_2024.valid_from)
#: Lump-sum grounds under Law 58/2014/QH13 Art 60(1) (with Resolution 93/2015/QH13), for claims filed before.
LUMP_SUM_GROUNDS_2014 = lump_sum_grounds(LAW_58_2014.valid_from)

#: Articles cited by the refusals that no parameter carries, per law.
ARTICLES: dict[str, dict[str, str]] = {
    "pension_age": {LAW_58_2014.code: "Law 58/2014/QH13 Art 54(1)", LAW_41_2024.code: "Law 41/2024/QH15 Art 64(1)"},
    "pension_early": {LAW_58_2014.code: "Law 58/2014/QH13 Art 55(1)", LAW_41_2024.code: "Law 41/2024/QH15 Art 65(1)"},
    "sickness": {LAW_58_2014.code: "Law 58/2014/QH13 Art 24-25", LAW_41_2024.code: "Law 41/2024/QH15 Art 42"},
    "maternity": {LAW_58_2014.code: "Law 58/2014/QH13 Art 31(2)", LAW_41_2024.code: "Law 41/2024/QH15 Art 50(2)"},
    "funeral": {LAW_58_2014.code: "Law 58/2014/QH13 Art 66(1), 80(1)",
                LAW_41_2024.code: "Law 41/2024/QH15 Art 85(1), 109(1)"},
    "survivor": {LAW_58_2014.code: "Law 58/2014/QH13 Art 67(1)", LAW_41_2024.code: "Law 41/2024/QH15 Art 86(1)"},
    "survivor_one_off": {LAW_58_2014.code: "Law 58/2014/QH13 Art 69", LAW_41_2024.code: "Law 41/2024/QH15 Art 88"},
}


def _article(topic: str, day: date) -> str:
    law: Law | None = law_on(day)
    return ARTICLES[topic][law.code] if law else ARTICLES[topic][LAW_58_2014.code]


def _reason(code: str, article: str, template: str, **params) -> Reason:
    text_en, text_vi = in_both_languages(template, **params)
    return Reason(code, article, text_en, text_vi)


def _warning(code: str, template: str, **params) -> dict:
    text_en, text_vi = in_both_languages(template, **params)
    return {"code": code, "text_en": text_en, "text_vi": text_vi}


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


# --- one claim ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Insured:
    """What the rules need of the insured person (pure: the assessments below read no database)."""
    person_id: int
    sex: str
    date_of_birth: date
    pensioner: bool = False
    #: employer id → (region, sector), for the unemployment cap.
    employers: dict | None = None


def assess(session: Session, claim: BenefitClaim, *, on: date) -> Assessment:
    """The assessment of a claim on ``on`` from the records (never typed by an officer)."""
    claim_type = ClaimType(claim.claim_type)
    details = dict(claim.details or {})
    person = session.get(Person, claim.person_id)
    p = get_parameters()
    rows = records.load(session, claim.person_id)
    insured = Insured(person.id, getattr(person.sex, "value", person.sex), person.date_of_birth,
                      pensioner=_is_pensioner(session, person.id) if claim_type in (
                          ClaimType.funeral, ClaimType.survivor) else False,
                      employers=_employers(session, rows) if claim_type is ClaimType.unemployment else None)
    return assess_record(claim_type, insured, rows, details=details, filed_on=claim.filed_on, ground=claim.ground,
                         on=on, p=p)


def assess_record(claim_type: ClaimType, insured: Insured, rows: pl.DataFrame, *, details: dict, filed_on: date,
                  ground: str | None, on: date, p: ParameterSet | None = None) -> Assessment:
    """The assessment from the coverage rows (pure)."""
    p = p or get_parameters()
    handler = {ClaimType.lump_sum: _lump_sum, ClaimType.pension: _pension, ClaimType.sickness: _sickness,
               ClaimType.maternity: _maternity, ClaimType.unemployment: _unemployment, ClaimType.funeral: _funeral,
               ClaimType.survivor: _survivor}[ClaimType(claim_type)]
    return handler(insured, rows, details=details, filed_on=filed_on, ground=ground, on=on, p=p)


def _is_pensioner(session: Session, person_id: int) -> bool:
    granted = (ClaimStatus.granted, ClaimStatus.payment_ordered, ClaimStatus.paid, ClaimStatus.failed,
               ClaimStatus.reconciled)
    return session.scalar(select(BenefitClaim.id).where(
        BenefitClaim.person_id == person_id, BenefitClaim.claim_type == ClaimType.pension,
        BenefitClaim.status.in_([s.value for s in granted])).limit(1)) is not None


def _employers(session: Session, rows: pl.DataFrame) -> dict:
    ids = [int(i) for i in rows["employer_id"].drop_nulls().unique().to_list()]
    if not ids:
        return {}
    return {e.id: (e.region, e.sector) for e in session.scalars(select(Employer).where(Employer.id.in_(ids)))}


def _day(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _pension_age(insured: Insured, on: date, incapacity: int, p: ParameterSet) -> dict:
    return pension_age_columns(pl.DataFrame({
        "sex": [insured.sex], "date_of_birth": [insured.date_of_birth], "on": [on],
        "incapacity_percent": [incapacity]}), p).row(0, named=True)


# --- lump sum -----------------------------------------------------------------------------------------------------

def _lump_sum(insured: Insured, rows: pl.DataFrame, *, details: dict, filed_on: date, ground: str | None, on: date,
              p: ParameterSet) -> Assessment:
    record = records.compute(rows, filed_on, insured.person_id)
    summary = record.summary(filed_on, p)
    incapacity = int(details.get("incapacity_percent") or 0)
    age = _pension_age(insured, filed_on, 0, p)
    without = record.months_without_contributions(filed_on)
    frame = lump_sum_frame([ground or ""], [filed_on], summary, without, age["reached"], incapacity)
    row = assess_lump_sums(frame, p).row(0, named=True)
    figures = {"ground": ground, "law": (law_on(filed_on).code if law_on(filed_on) else None),
               "article": row["article"], "months_before_2014": summary["months_before_2014"],
               "months_from_2014": summary["months_from_2014"], "average_salary": summary["average_salary_revalued"],
               "months_without_contributions": without, "pension_age_reached_on": age["reached_on"].isoformat(),
               "incapacity_percent": incapacity,
               "months_of_salary": row["months_of_salary_millionths"] / SCALE, "amount": row["amount"]}
    if row["eligible"]:
        return Assessment(True, amount=row["amount"], record=summary, figures=figures)
    reason = _lump_sum_reason(row["reason"], row["article"], ground or "", filed_on, summary, without, incapacity, p)
    return Assessment(False, reasons=[reason], record=summary, figures=figures)


def lump_sum_frame(grounds: list[str], filed_on: list[date], summary: dict, without: int | None, reached: bool,
                   incapacity: int) -> pl.DataFrame:
    """The ``lump-sum-eligibility`` input rows of one record, one per ground asked."""
    n = len(grounds)
    first = _day(summary.get("first_month"))
    return pl.DataFrame({
        "ground": grounds, "on": filed_on,
        "months_before_2014": [summary["months_before_2014"]] * n, "months_from_2014": [summary["months_from_2014"]] * n,
        "average_salary": [summary["average_salary_revalued"]] * n,
        "first_month": pl.Series([first] * n, dtype=pl.Date),
        "months_without_contributions": [without or 0] * n, "reached_pension_age": [bool(reached)] * n,
        "incapacity_percent": [incapacity] * n})


def _lump_sum_reason(code: str, article: str, ground: str, filed_on: date, summary: dict, without: int | None,
                     incapacity: int, p: ParameterSet) -> Reason:
    template = REASONS[code].text
    months = summary["si_months"]
    lookup = max(filed_on, LAW_58_2014.valid_from)
    params = {"ground": ground, "filed_on": filed_on, "months": months}
    if code == "enough_years_for_pension":
        params["limit"] = p["benefits.pension.minimum_years"].at(lookup)
    elif code == "too_many_years":
        params["limit"] = p["benefits.lump_sum.out_of_work_max_years"].at(lookup)
    elif code == "still_contributing":
        params.update(months=without or 0, required=p["benefits.lump_sum.out_of_work_months"].at(lookup))
    elif code == "began_after_law":
        params.update(first_month=_day(summary.get("first_month")), law_from=LAW_41_2024.valid_from)
    elif code == "incapacity_below":
        share = p["benefits.lump_sum.incapacity_min_share"].at(lookup)
        params.update(percent=incapacity, required=int(share * 100))
    used = {k: v for k, v in params.items() if "{" + k + "}" in template}
    return _reason(code, article, template, **used)


def lump_sums_from_rows(rows: pl.DataFrame, claims: pl.DataFrame, p: ParameterSet | None = None) -> pl.DataFrame:
    """Many lump-sum claims from their coverage rows, set-based (pure; the bench's 100,000 claims): ``claims`` has
    ``person_id, ground, on`` (the filing date), ``sex, date_of_birth[, incapacity_percent]``, one claim per person;
    ``rows`` the people's coverage rows (:func:`records.load_many`). Returns the claims with the record's figures and
    ``eligible, reason, article, months_of_salary_millionths, amount``: the same rules as :func:`assess` of one
    claim."""
    p = p or get_parameters()
    if "incapacity_percent" not in claims.columns:
        claims = claims.with_columns(incapacity_percent=pl.lit(0, dtype=pl.Int64))
    figures = records.summarise_rows(rows, claims.select("person_id", "on"), p)
    age = pension_age_columns(claims.select("sex", "date_of_birth", "on"), p)
    frame = claims.join(figures, on="person_id", how="left").with_columns(
        reached_pension_age=age["reached"],
        months_without_contributions=pl.when(pl.col("last").is_null()).then(0).otherwise(
            (records.index_expr(pl.col("on")) - 1 - pl.col("last")).clip(lower_bound=0)),
    )
    result = assess_lump_sums(frame.select(
        "ground", "on", "months_before_2014", "months_from_2014", "average_salary", "first_month",
        "months_without_contributions", "reached_pension_age", "incapacity_percent"), p)
    return pl.concat([frame.drop("last"), result], how="horizontal")


# --- pension ------------------------------------------------------------------------------------------------------

def _pension(insured: Insured, rows: pl.DataFrame, *, details: dict, filed_on: date, ground: str | None, on: date,
             p: ParameterSet) -> Assessment:
    retire_on = _day(details.get("retire_on")) or _next_month(filed_on)
    incapacity = int(details.get("incapacity_percent") or 0)
    record = records.compute(rows, retire_on, insured.person_id)
    summary = record.summary(retire_on, p)
    age = _pension_age(insured, retire_on, incapacity, p)
    months = summary["si_months"]
    rate = pension_rate_columns(pl.DataFrame({
        "sex": [insured.sex], "years": [months // MONTHS_PER_YEAR], "extra_months": [months % MONTHS_PER_YEAR],
        "months_early": [age["months_early"]], "on": [retire_on]}), p).row(0, named=True)
    average = summary["average_salary_revalued"]
    monthly = _apply(average, rate["rate_millionths"])
    bonus = _apply(average, rate["one_off_bonus_months_millionths"])
    first_month = retire_on.replace(day=1)
    figures = {"retire_on": retire_on.isoformat(), "pension_age_reached_on": age["reached_on"].isoformat(),
               "earliest_on": age["earliest_on"].isoformat(), "months_early": age["months_early"],
               "pension_age_months": age["pension_age_months_total"], "years": months // MONTHS_PER_YEAR,
               "extra_months": months % MONTHS_PER_YEAR, "rate": rate["rate_millionths"] / SCALE,
               "average_salary": average, "monthly_pension": monthly,
               "bonus_months": rate["one_off_bonus_months_millionths"] / SCALE, "bonus": bonus, "floor": None}
    reasons = []
    if not age["reached"]:
        topic = "pension_early" if incapacity else "pension_age"
        reasons.append(_reason("pension_age_not_reached", _article(topic, retire_on),
                               N_("The pension age ({years} years {months} months) is reached on {reached_on}, after "
                                  "the retirement date {retire_on}."),
                               years=age["pension_age_months_total"] // MONTHS_PER_YEAR,
                               months=age["pension_age_months_total"] % MONTHS_PER_YEAR,
                               reached_on=age["reached_on"], retire_on=retire_on))
    if not rate["eligible"]:
        name = ("benefits.pension.minimum_years_reduced_capacity" if age["months_early"]
                else "benefits.pension.minimum_years")
        entry = p[name].entry_at(retire_on)
        reasons.append(_reason("too_few_years", entry.reference,
                               N_("{months} months of social insurance: a pension needs {years} years."),
                               months=months, years=entry.value))
    if reasons:
        return Assessment(False, reasons=reasons, record=summary, figures=figures)
    return Assessment(True, amount=bonus, monthly_amount=monthly, first_month=first_month, record=summary,
                      figures=figures)


def _apply(amount: int, millionths: int) -> int:
    return (amount * millionths + SCALE // 2) // SCALE


# --- sickness and maternity ---------------------------------------------------------------------------------------

def _sickness(insured: Insured, rows: pl.DataFrame, *, details: dict, filed_on: date, ground: str | None, on: date,
              p: ParameterSet) -> Assessment:
    leave_from = _day(details["leave_from"])
    record = records.compute(rows, _next_month(leave_from), insured.person_id)
    summary = record.summary(leave_from, p, revalue=False)
    covered = record.compulsory_in(leave_from)
    salary = record.salary_of_month_before(leave_from)
    if salary is None and covered:  # the first month contributed: that month's salary
        salary = int(record.months.filter(pl.col("month") == records.month_index(leave_from))["si_salary"][0])
    years = record.compulsory_months_before(leave_from) // MONTHS_PER_YEAR
    result = sickness_columns(pl.DataFrame({
        "monthly_salary": [salary or 0], "years_contributed": [years], "hazardous": [bool(details.get("hazardous"))],
        "days": [int(details.get("days") or 0)], "on": [leave_from]}), p).row(0, named=True)
    figures = {"leave_from": leave_from.isoformat(), "monthly_salary": salary, "years_contributed": years, **result}
    if not covered:
        reason = _reason("not_covered", _article("sickness", leave_from),
                         N_("No compulsory social insurance in the month of the leave ({leave_from})."),
                         leave_from=leave_from)
        return Assessment(False, reasons=[reason], record=summary, figures=figures)
    return Assessment(True, amount=result["amount"], record=summary, figures=figures)


def _maternity(insured: Insured, rows: pl.DataFrame, *, details: dict, filed_on: date, ground: str | None, on: date,
               p: ParameterSet) -> Assessment:
    birth_on = _day(details["birth_on"])
    record = records.compute(rows, _next_month(birth_on), insured.person_id)
    summary = record.summary(birth_on, p, revalue=False)
    in_12 = record.compulsory_months_in(MONTHS_PER_YEAR, before=birth_on)
    average = record.average_of_last(salary_months("maternity", birth_on, p), before=birth_on)
    result = maternity_columns(pl.DataFrame({
        "average_salary": [average], "months_contributed_last_12": [in_12], "on": [birth_on],
        "child_order": [int(details.get("child_order") or 1)], "children": [int(details.get("children") or 1)]}),
        p).row(0, named=True)
    figures = {"birth_on": birth_on.isoformat(), "months_last_12": in_12, "average_salary": average, **result}
    if not result["eligible"]:
        entry = p["benefits.maternity.minimum_months"].entry_at(birth_on)
        reason = _reason("too_few_months", entry.reference,
                         N_("{months} months of compulsory social insurance in the 12 months before the birth: "
                            "{required} are needed."), months=in_12, required=entry.value)
        return Assessment(False, reasons=[reason], record=summary, figures=figures)
    return Assessment(True, amount=result["total"], record=summary, figures=figures)


# --- unemployment -------------------------------------------------------------------------------------------------

def _unemployment(insured: Insured, rows: pl.DataFrame, *, details: dict, filed_on: date, ground: str | None,
                  on: date, p: ParameterSet) -> Assessment:
    ended = _day(details["employment_ended_on"])
    decided = _day(details["decision_on"])
    record = records.compute(rows, _next_month(ended), insured.person_id)
    summary = record.summary(ended, p, revalue=False)
    window = p["benefits.unemployment.window_months"].at(ended)
    in_window = record.ui_months_in(window, through=ended)
    average = record.average_of_last(salary_months("unemployment", ended, p), before=_next_month(ended),
                                     scheme=records.UI)
    employer = record.employer_of_month(ended)
    region, sector = (insured.employers or {}).get(employer, ("I", "private")) if employer else ("I", "private")
    computed = unemployment_columns(pl.DataFrame({
        "average_salary": [average], "months_contributed": [record.ui_months], "region": [region], "on": [ended],
        "sector": [sector if sector in ("private", "state") else "private"],
        "months_in_window": [min(in_window, record.ui_months)]}), p).row(0, named=True)
    figures = {"decision_number": details.get("decision_number"), "decision_on": decided.isoformat(),
               "employment_ended_on": ended.isoformat(), "ui_months": record.ui_months, "months_in_window": in_window,
               "window_months": window, "average_salary": average, "region": region, "employer_id": employer,
               "computed": {"eligible": computed["eligible"], "monthly_amount": computed["monthly_benefit"],
                            "benefit_months": computed["months"], "cap": computed["cap"]},
               "warnings": []}
    first_month = (_day(details.get("first_month")) or decided).replace(day=1)
    given_amount, given_months = details.get("monthly_amount"), details.get("benefit_months")
    if given_amount is not None or given_months is not None:
        monthly = int(given_amount) if given_amount is not None else computed["monthly_benefit"]
        months = int(given_months) if given_months is not None else computed["months"]
        figures["source"] = "employment_office"
        if monthly != computed["monthly_benefit"]:
            figures["warnings"].append(_warning(
                "amount_differs", N_("The employment office's decision gives {given} dong a month; the record gives "
                                     "{computed}."), given=monthly, computed=computed["monthly_benefit"]))
        if months != computed["months"]:
            figures["warnings"].append(_warning(
                "months_differ", N_("The employment office's decision gives {given} months of benefit; the record "
                                    "gives {computed}."), given=months, computed=computed["months"]))
        return Assessment(True, monthly_amount=monthly, benefit_months=months, first_month=first_month,
                          record=summary, figures=figures)
    figures["source"] = "record"
    if not computed["eligible"]:
        entry = p["benefits.unemployment.minimum_months_in_window"].entry_at(ended)
        reason = _reason("too_few_months", entry.reference,
                         N_("{months} months of unemployment insurance in the {window} months before the end of "
                            "employment: {required} are needed."), months=in_window, window=window,
                         required=entry.value)
        return Assessment(False, reasons=[reason], record=summary, figures=figures)
    return Assessment(True, monthly_amount=computed["monthly_benefit"], benefit_months=computed["months"],
                      first_month=first_month, record=summary, figures=figures)


# --- death: funeral and survivor ----------------------------------------------------------------------------------

def _death_record(insured: Insured, rows: pl.DataFrame, died_on: date, p: ParameterSet, *, revalue: bool):
    record = records.compute(rows, _next_month(died_on), insured.person_id)
    return record, record.summary(died_on, p, revalue=revalue)


def _funeral(insured: Insured, rows: pl.DataFrame, *, details: dict, filed_on: date, ground: str | None, on: date,
             p: ParameterSet) -> Assessment:
    died_on = _day(details["died_on"])
    record, summary = _death_record(insured, rows, died_on, p, revalue=False)
    result = funeral_columns(pl.DataFrame({
        "compulsory_months": [summary["compulsory_months"]], "si_months": [summary["si_months"]],
        "pensioner": [insured.pensioner], "on": [died_on]}), p).row(0, named=True)
    figures = {"died_on": died_on.isoformat(), "pensioner": insured.pensioner,
               "base_salary": p["salary.base_salary"].at(died_on), **result}
    if not result["eligible"]:
        reason = _reason("too_few_months", _article("funeral", died_on),
                         N_("{months} months of compulsory social insurance ({total} in all): the funeral grant needs "
                            "{required} months of compulsory, {required_total} in all, or a pension."),
                         months=summary["compulsory_months"], total=summary["si_months"],
                         required=p["benefits.funeral.minimum_compulsory_months"].at(died_on),
                         required_total=p["benefits.funeral.minimum_voluntary_months"].at(died_on))
        return Assessment(False, reasons=[reason], record=summary, figures=figures)
    return Assessment(True, amount=result["amount"], record=summary, figures=figures)


def _survivor(insured: Insured, rows: pl.DataFrame, *, details: dict, filed_on: date, ground: str | None, on: date,
              p: ParameterSet) -> Assessment:
    died_on = _day(details["died_on"])
    kind = details.get("survivor_kind") or "one_off"
    record, summary = _death_record(insured, rows, died_on, p, revalue=kind != "monthly")
    result = survivor_columns(pl.DataFrame({
        "kind": [kind], "compulsory_months": [summary["compulsory_months"]],
        "months_before_2014": [summary["months_before_2014"]], "months_from_2014": [summary["months_from_2014"]],
        "average_salary": [summary["average_salary_revalued"] or 0], "pensioner": [insured.pensioner],
        "relatives": [1],
        "on": [died_on]}), p).row(0, named=True)
    figures = {"died_on": died_on.isoformat(), "kind": kind, "pensioner": insured.pensioner,
               "average_salary": summary["average_salary_revalued"],
               "monthly_amount": result["monthly_amount"],
               "months_of_salary": result["months_of_salary_millionths"] / SCALE, "amount": result["amount"]}
    if kind == "monthly":
        if not result["eligible"]:
            reason = _reason("too_few_years", _article("survivor", died_on),
                             N_("{months} months of compulsory social insurance: the monthly survivor allowance needs "
                                "{years} years, or a pension."), months=summary["compulsory_months"],
                             years=p["benefits.survivor.minimum_compulsory_years"].at(died_on))
            return Assessment(False, reasons=[reason], record=summary, figures=figures)
        return Assessment(True, monthly_amount=result["monthly_amount"], first_month=_next_month(died_on),
                          record=summary, figures=figures)
    if summary["si_months"] == 0 and not insured.pensioner:
        reason = _reason("no_contributions", _article("survivor_one_off", died_on),
                         REASONS["no_contributions"].text)
        return Assessment(False, reasons=[reason], record=summary, figures=figures)
    return Assessment(True, amount=result["amount"], record=summary, figures=figures)


# --- what the record supports today (the intake page) -------------------------------------------------------------

def preview(session: Session, person: Person, on: date) -> list[dict]:
    """For each claim type, what the person's record supports on ``on`` without filing anything: ``type, eligible,
    amount, monthly_amount, figure`` (the main figure: the amount, or the monthly amount), ``reasons`` (why not) and,
    for the lump sum, the grounds the record meets (``grounds``). Sickness, maternity and the death benefits are
    shown as if the leave, the birth or the death were on ``on``; unemployment as if employment ended the month
    before. The caller has checked that the user may see the person (scope); the read of the record is audited."""
    p = get_parameters()
    rows = records.load(session, person.id)
    record_read(session, "person", person.id, org_unit_id=person.org_unit_id,
                person_ref=person.citizen_id or person.si_number, details={"what": "benefits_preview",
                                                                          "on": on.isoformat()})
    insured = Insured(person.id, getattr(person.sex, "value", person.sex), person.date_of_birth,
                      pensioner=_is_pensioner(session, person.id), employers=_employers(session, rows))
    return preview_record(insured, rows, on, p)


def preview_record(insured: Insured, rows: pl.DataFrame, on: date, p: ParameterSet | None = None) -> list[dict]:
    """The same from the coverage rows (pure)."""
    p = p or get_parameters()
    out = []
    # Lump sum: every ground in force, in one call; the ones met, and why the others are not.
    record = records.compute(rows, on, insured.person_id)
    summary = record.summary(on, p)
    codes = lump_sum_grounds(on)
    if codes:
        age = _pension_age(insured, on, 0, p)
        frame = lump_sum_frame(list(codes), [on] * len(codes), summary, record.months_without_contributions(on),
                               age["reached"], 0)
        rows_out = assess_lump_sums(frame, p).to_dicts()
        met = [r for r in rows_out if r["eligible"]]
        out.append({"type": ClaimType.lump_sum.value, "eligible": bool(met),
                    "amount": max((r["amount"] for r in met), default=0), "monthly_amount": None,
                    "grounds": [c for c, r in zip(codes, rows_out) if r["eligible"]],
                    "reasons": [] if met else [vars(_lump_sum_reason(r["reason"], r["article"], c, on, summary,
                                                                     record.months_without_contributions(on), 0, p))
                                               for c, r in zip(codes, rows_out)]})
    else:
        out.append({"type": ClaimType.lump_sum.value, "eligible": False, "amount": 0, "monthly_amount": None,
                    "grounds": [], "reasons": []})
    last_month_end = on.replace(day=1) - timedelta(days=1)
    cases = [
        (ClaimType.pension, {"retire_on": _next_month(on).isoformat()}),
        (ClaimType.sickness, {"leave_from": on.isoformat(), "days": 1}),
        (ClaimType.maternity, {"birth_on": on.isoformat()}),
        (ClaimType.unemployment, {"decision_number": "-", "decision_on": on.isoformat(),
                                  "employment_ended_on": last_month_end.isoformat()}),
        (ClaimType.funeral, {"died_on": on.isoformat()}),
        (ClaimType.survivor, {"died_on": on.isoformat(), "survivor_kind": "monthly"}),
        (ClaimType.survivor, {"died_on": on.isoformat(), "survivor_kind": "one_off"}),
    ]
    for claim_type, details in cases:
        result = assess_record(claim_type, insured, rows, details=details, filed_on=on, ground=None, on=on, p=p)
        item = {"type": claim_type.value, "eligible": result.eligible, "amount": result.amount if result.eligible else 0,
                "monthly_amount": result.monthly_amount if result.eligible else None,
                "reasons": [vars(r) for r in result.reasons]}
        if claim_type is ClaimType.survivor:
            item["kind"] = details["survivor_kind"]
        out.append(item)
    for item in out:
        item["figure"] = item["monthly_amount"] if item["monthly_amount"] else item["amount"]
    return out


def ground_descriptions(filed_on: date) -> list[dict]:
    """The grounds in force on a date with their article and description (msgid), for forms and the CLI's help."""
    return [{"code": g.code, "article": g.article, "description": g.description} for g in grounds_on(filed_on)]


def ground_article(code: str, filed_on: date) -> str | None:
    ground = ground_on(code, filed_on)
    return ground.article if ground else None

