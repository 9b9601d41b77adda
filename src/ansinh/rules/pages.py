"""The page listing every legal parameter with its dated history, references and verification status, and
the calculators' pages: a form generated from each calculation's input model, its answer in the reader's format."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from ansinh.auth.deps import require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.clock import today
from ansinh.errors import DomainError, NotFound, ValidationFailed
from ansinh.formatting import money, number, percent
from ansinh.i18n import N_, get_locale, gettext
from ansinh.rules.calculator import Calculator, calculators
from ansinh.rules.parameters import get_parameters
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("rules", N_("Legal parameters"), "/rules", Permission.dashboard_view, order=800,
                          group="reference"))

AREA_LABELS = {
    "salary": N_("Salary bases"), "contributions": N_("Compulsory contributions"),
    "voluntary": N_("Voluntary social insurance"), "health_insurance": N_("Health insurance contributions"),
    "late_payment": N_("Late payment"), "hi_benefits": N_("Health insurance benefits"), "benefits": N_("Benefits"),
}


def _plain(value) -> str:
    """A figure in the reader's format, exact to six decimals (a ratio of 0.0586 stays 0,0586 in Vietnamese)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(value)
    return format_decimal(exact, format="#,##0.######", locale=get_locale())


def shown_value(parameter, value) -> list[tuple[str | None, str]]:
    """A parameter's value as (key, text) parts, figures in the reader's format: one part without a key for a
    single figure or a scale; one part per key (a group, a facility level) shown as the code it is."""
    if isinstance(value, dict):
        # a key without a value on those dates (``null``: a group code not yet, or no longer, in use) shows a dash
        return [(key, "—" if v is None else "; ".join(text for _, text in shown_value(parameter, v)))
                for key, v in value.items()]
    if value is None:
        return [(None, gettext("no longer applies"))]
    if isinstance(value, tuple):  # a scale: thresholds are plain numbers, values in the parameter's unit
        return [(None, "; ".join(f"≥ {_plain(t)} → {shown_value(parameter, v)[0][1]}" for t, v in value))]
    if parameter.is_fraction:
        text = _plain(value)
        if parameter.unit.startswith("ratio"):
            text += f" ({_plain(Fraction(value) * 100)}%)"
        return [(None, text)]
    return [(None, number(value))]


@router.get("/rules")
def parameters_page(request: Request, _: Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.reference))],
                    unverified: bool = False) -> Response:
    groups: dict[str, list] = defaultdict(list)
    total = unverified_count = 0
    for parameter in get_parameters():
        has_unverified = any(not v.verified for v in parameter.values)
        total += 1
        unverified_count += has_unverified
        if unverified and not has_unverified:
            continue
        rows = [(entry, shown_value(parameter, entry.value)) for entry in reversed(parameter.values)]
        groups[parameter.name.split(".")[0]].append((parameter, rows, has_unverified))
    return render(request, "rules.html", {
        "groups": sorted(groups.items()), "area_labels": AREA_LABELS, "total": total,
        "unverified_count": unverified_count, "only_unverified": unverified,
    })


# --- The calculators: a GET form generated from each calculator's input model, the answer as a table ---------------

register_nav_item(NavItem("calculators", N_("Calculators"), "/rules/calculators", Permission.dashboard_view,
                          order=810, group="reference"))

#: Each calculator's summary, as a msgid (the registry's ``summary`` is English only).
SUMMARIES = {
    "contributions": N_("Compulsory contributions for one worker and month"),
    "hi-share": N_("Health insurance cost sharing for one visit (fund and patient shares)"),
    "household-hi": N_("Household health insurance: each member's annual contribution"),
    "late-interest": N_("Interest on a contribution paid late (split at 2025-07-01)"),
    "pension-rate": N_("Pension rate and one-off retirement bonus for a contribution record, as of the retirement "
                       "date"),
    "lump-sum": N_("Lump-sum withdrawal of social insurance (months of average salary and amount), as of the claim "
                   "date"),
    "sickness": N_("Sickness benefit: days a year, daily amount and amount for the days asked, as of the leave date"),
    "maternity": N_("Maternity benefit for a birth: leave months, leave pay and birth grant, as of the date of birth"),
    "state-hi": N_("Health insurance paid or supported by the State budget, for one person and period"),
    "unemployment": N_("Unemployment benefit: eligibility, monthly amount and months, as of the date the employment "
                       "ended"),
    "voluntary": N_("Voluntary social insurance for a payment period, with State and province support"),
    "pension-age": N_("Pension age by sex and date of birth on the 2021-2035 roadmap, and whether it is reached on a "
                      "date"),
    "salary-revaluation": N_("Revaluation of a past year's insured salary or voluntary income, as of the date of the "
                             "benefit"),
    "funeral": N_("Funeral grant on the death of an insured person or a pensioner, as of the date of death"),
    "survivor": N_("Survivor allowance on a death: the monthly allowance per relative or the one-off allowance"),
    "lump-sum-eligibility": N_("Lump-sum withdrawal: the ground checked under the law of the filing date, and the "
                               "amount"),
    "salary-months": N_("Months of salary averaged for a maternity or unemployment benefit, as of its date"),
}

#: Labels of the input fields, shared by the calculators unless :data:`INPUT_LABELS_BY_CALCULATOR` says otherwise.
INPUT_LABELS = {
    "salary": N_("Monthly insured salary"),
    "on": N_("Date of the calculation"),
    "region": N_("Minimum-wage region"),
    "sector": N_("Pay regime"),
    "cost": N_("Cost of the visit covered by health insurance"),
    "card_level": N_("Benefit level on the card"),
    "facility_level": N_("Level of the facility"),
    "route": N_("Route"),
    "care": N_("Type of care"),
    "former_level": N_("Level of the facility before 2025"),
    "facility_score": N_("Classification score of the basic facility"),
    "provisional": N_("Provisionally classified"),
    "health_station": N_("Health station or family-medicine practice"),
    "listed_condition": N_("Disease, surgery or technology on the Ministry's list"),
    "remote_resident": N_("Ethnic minority or poor person in a disadvantaged area, or island resident"),
    "five_years_over_cap": N_("Five consecutive years and co-payments over the cap already established"),
    "consecutive_years": N_("Consecutive years of health insurance"),
    "copayments_this_year": N_("Co-payments already made this year"),
    "members": N_("Household members enrolling together"),
    "amount": N_("Amount paid late"),
    "due": N_("Due date"),
    "paid": N_("Date paid"),
    "fund": N_("Fund"),
    "sex": N_("Sex"),
    "years": N_("Whole years of contributions"),
    "extra_months": N_("Extra months of contributions"),
    "months_early": N_("Months of retirement before the pension age"),
    "months_before_2014": N_("Months of contributions before 2014"),
    "months_from_2014": N_("Months of contributions from 2014"),
    "average_salary": N_("Average insured salary"),
    "monthly_salary": N_("Insured salary of the month before the leave"),
    "years_contributed": N_("Years of compulsory social insurance"),
    "hazardous": N_("Heavy, hazardous or dangerous work, or a hardship area"),
    "days": N_("Working days of sick leave"),
    "months_contributed_last_12": N_("Months contributed in the 12 months before the birth"),
    "child_order": N_("Order of the child"),
    "children": N_("Children born"),
    "group": N_("Group of the participant"),
    "months": N_("Months paid at once"),
    "province_support_pct": N_("Extra support of the province, in percent"),
    "province": N_("Province code"),
    "months_contributed": N_("Months of unemployment insurance not yet used for a benefit"),
    "date_of_birth": N_("Date of birth"),
    "incapacity_percent": N_("Loss of working capacity, in percent"),
    "year": N_("Year of contribution"),
    "compulsory_months": N_("Months of compulsory social insurance"),
    "si_months": N_("Months of social insurance, voluntary counted"),
    "pensioner": N_("Drawing a pension"),
    "kind": N_("Kind of allowance"),
    "relatives": N_("Relatives entitled"),
    "ground": N_("Ground of the withdrawal"),
    "first_month": N_("First month of social insurance"),
    "months_without_contributions": N_("Months without social insurance before the filing month"),
    "reached_pension_age": N_("Pension age reached"),
    "benefit": N_("Benefit"),
    "months_in_window": N_("Months contributed in the window before the end of employment"),
    "income": N_("Chosen monthly income"),
}
INPUT_LABELS_BY_CALCULATOR = {
    "hi-share": {"on": N_("Date of the visit")},
    "pension-rate": {"on": N_("Retirement date")},
    "lump-sum": {"on": N_("Claim date")},
    "sickness": {"on": N_("Date of the leave")},
    "maternity": {"on": N_("Date the child was born"), "average_salary": N_("Average insured salary of the last 6 months")},
    "unemployment": {"on": N_("Date the employment ended"),
                     "average_salary": N_("Average unemployment insurance salary of the last 6 months")},
    "state-hi": {"months": N_("Months of cover")},
    "pension-age": {"on": N_("Retirement date")},
    "salary-revaluation": {"salary": N_("Insured salary or income of that year"), "on": N_("Date of the benefit")},
    "funeral": {"on": N_("Date of death")},
    "survivor": {"on": N_("Date of death"), "average_salary": N_("Average salary of the deceased (revalued)")},
    "lump-sum-eligibility": {"on": N_("Filing date"), "average_salary": N_("Average salary (revalued)")},
    "salary-months": {"on": N_("Date of the benefit")},
}
#: Help texts shown under the input fields (the models' descriptions are English only).
INPUT_HELP = {
    "salary": N_("Monthly salary declared for insurance, in dong."),
    "region": N_("Minimum-wage region of the workplace."),
    "sector": N_("Employer-set pay, or pay set by the State."),
    "cost": N_("Total cost of the visit covered by health insurance, in dong."),
    "card_level": N_("The benefit digit of the card: the 3rd character of the card code (1 to 5)."),
    "route": N_("Referred (or at the registered facility), self-referred, or emergency."),
    "facility_level": N_("From 1 January 2025: initial, basic or specialised; before: central, provincial, district "
                         "or commune."),
    "former_level": N_("From 2025: the level the facility had before 1 January 2025, if any."),
    "facility_score": N_("From 2025, for a basic facility: its classification score (0 to 100)."),
    "health_station": N_("From 2025: the cost is paid in full whatever the card's level."),
    "listed_condition": N_("Circular 01/2025/TT-BYT, appendix I (specialised) or II (basic)."),
    "five_years_over_cap": N_("Already established: 5 consecutive years of health insurance, and co-payments this "
                              "year above 6 months of the base salary. Or give the two figures below."),
    "copayments_this_year": N_("Co-payments made this calendar year before this visit that count toward the cap, "
                               "in dong."),
    "members": N_("From 1 to 20."),
    "due": N_("The last day on which the payment was on time."),
    "paid": N_("On or after the due date."),
    "extra_months": N_("Odd months beyond the whole years (0 to 11)."),
    "months_early": N_("For reduced working capacity; 0 at the pension age."),
    "average_salary": N_("Adjusted, in dong."),
    "days": N_("Working days of leave asked for."),
    "child_order": N_("Order of the (first) child of this birth: 1, 2, …"),
    "months": N_("From 1 to 12."),
    "province_support_pct": N_("From 0 to 100."),
    "province": N_("Two digits, e.g. 14 for Sơn La: the province's own support in force on the date. Empty: none."),
    "months_in_window": N_("In the 24 months before the end of employment (36 for contracts under 12 months); "
                           "empty: the months contributed, at most 24."),
    "income": N_("Between the rural poverty line and 20 times the base salary, in dong."),
}
INPUT_HELP_BY_CALCULATOR = {
    "voluntary": {"months": N_("1, 3, 6 or 12.")},
}
#: Labels of the output fields (``parent.field`` for a field of a nested part).
OUTPUT_LABELS = {
    "insured_salary": N_("Insured salary by fund"),
    "si": N_("Social insurance"), "hi": N_("Health insurance"), "ui": N_("Unemployment insurance"),
    "employer": N_("Paid by the employer"), "employee": N_("Paid by the employee"),
    "retirement": N_("Retirement and survivorship"), "sickness_maternity": N_("Sickness and maternity"),
    "occupational": N_("Occupational accidents and diseases"), "health": N_("Health insurance"),
    "unemployment": N_("Unemployment insurance"), "total": N_("Total"),
    "rate": N_("Share paid by the fund"), "fund_pays": N_("Paid by the fund"), "patient_pays": N_("Paid by the patient"),
    "card_benefit_level": N_("Benefit level of the card"), "applied_level": N_("Benefit level applied"),
    "route_share": N_("Share of the level paid for the route"), "rule": N_("Rule applied"),
    "copayment_cap": N_("Co-payment cap"), "case": N_("Case of the table"), "clause": N_("Clause of Art 22"),
    "visit_category": N_("Visit category (MA_DOITUONG_KCB)"),
    "counts_toward_cap": N_("Co-payment counts toward the yearly cap"), "table": N_("Table of Art 22 applied"),
    "members": N_("Each member"), "order": N_("Member"), "monthly": N_("Per month"), "annual": N_("Per year"),
    "first_member_monthly": N_("First member, per month"), "total_monthly": N_("Household, per month"),
    "total_annual": N_("Household, per year"),
    "total_province_support_annual": N_("Support of the province, per year"),
    "total_payable_annual": N_("Payable by the household, per year"),
    "days_late": N_("Days late"), "interest": N_("Late-payment interest"),
    "old_regime_days": N_("Days under the rules before 1 July 2025"),
    "old_regime_interest": N_("Interest under the rules before 1 July 2025"),
    "new_regime_days": N_("Days under the rules from 1 July 2025"),
    "new_regime_interest": N_("Interest under the rules from 1 July 2025"),
    "eligible": N_("Eligible"), "one_off_bonus_months": N_("One-off retirement bonus, in months of average salary"),
    "months_of_salary": N_("Lump sum, in months of average salary"), "amount": N_("Amount"),
    "days_per_year": N_("Days of benefit a year"), "days_paid": N_("Days paid"), "daily_amount": N_("Amount per day"),
    "leave_months": N_("Months of leave"), "monthly_benefit": N_("Benefit per month"), "leave_pay": N_("Leave pay"),
    "grant": N_("Birth grant"),
    "contribution": N_("Contribution"), "state_support": N_("Support of the State budget"),
    "province_support": N_("Support of the province"), "payable": N_("Payable by the participant"),
    "months": N_("Months"), "monthly_contribution": N_("Contribution per month"),
    "monthly_state_support": N_("Support of the State budget per month"),
    "monthly_province_support": N_("Support of the province per month"),
    "monthly_payable": N_("Payable per month"), "support_rate": N_("Rate of State support"),
    "due": N_("Contribution due"), "monthly_due": N_("Due per month"), "support_base": N_("Base of the support"),
    "state_support_rate": N_("Rate of State support"),
    "province_support_rate": N_("Rate of support of the province"), "income_floor": N_("Lowest income accepted"),
    "income_cap": N_("Highest income accepted"), "support_month_limit": N_("Months of support allowed"),
}
OUTPUT_LABELS.update({
    "pension_age_years": N_("Pension age, years"), "pension_age_months": N_("Pension age, months beyond the years"),
    "reached_on": N_("Pension age reached on"), "earliest_on": N_("Earliest start of the pension"),
    "reached": N_("Pension age reached"), "months_early": N_("Months before the pension age"),
    "coefficient": N_("Revaluation coefficient"), "revalued": N_("Revalued salary"),
    "monthly_amount": N_("Amount per month"), "reason": N_("Reason of the refusal"), "article": N_("Article of law"),
})
OUTPUT_LABELS_BY_CALCULATOR = {
    "salary-months": {"months": N_("Months of salary averaged")},
    "contributions": {"total": N_("Total contributions")},
    "pension-rate": {"rate": N_("Pension rate")},
    "lump-sum": {"amount": N_("Lump sum")},
    "sickness": {"amount": N_("Sickness benefit for the days asked")},
    "unemployment": {"months": N_("Months of benefit")},
}
#: Output fields that are counts (days, months, an order), not amounts in dong; floats are ratios.
COUNTS = {"days_late", "old_regime_days", "new_regime_days", "days_per_year", "days_paid", "leave_months", "months",
          "support_month_limit", "order", "card_level", "pension_age_years", "pension_age_months", "months_early"}
MONTH_FIGURES = {"one_off_bonus_months", "months_of_salary", "coefficient"}
#: The choices of the select fields (and of the coded answers), by field.
OPTION_LABELS = {
    "region": {"I": N_("Region I"), "II": N_("Region II"), "III": N_("Region III"), "IV": N_("Region IV")},
    "sector": {"private": N_("Pay set by the employer"), "state": N_("Pay set by the State")},
    "facility_level": {"initial": N_("Initial level"), "basic": N_("Basic level"),
                       "specialised": N_("Specialised level"), "central": N_("Central level (before 2025)"),
                       "provincial": N_("Provincial level (before 2025)"),
                       "district": N_("District level (before 2025)"), "commune": N_("Commune level (before 2025)")},
    "former_level": {"central": N_("Central level"), "provincial": N_("Provincial level"),
                     "district": N_("District level"), "commune": N_("Commune level")},
    "route": {"in": N_("Referred or at the registered facility"), "out": N_("Self-referred"),
              "emergency": N_("Emergency")},
    "care": {"inpatient": N_("Inpatient"), "outpatient": N_("Outpatient")},
    "fund": {"si": N_("Social insurance"), "ui": N_("Unemployment insurance"), "hi": N_("Health insurance")},
    "sex": {"male": N_("Male"), "female": N_("Female")},
    "kind": {"monthly": N_("Monthly allowance"), "one_off": N_("One-off allowance")},
    "benefit": {"maternity": N_("Maternity"), "unemployment": N_("Unemployment")},
    "ground": {"retirement_age_under_20_years": N_("Pension age reached with under 20 years of contributions"),
               "retirement_age_under_15_years": N_("Pension age reached with under 15 years of contributions"),
               "abroad": N_("Settling abroad"),
               "grave_illness": N_("A life-threatening illness on the Ministry of Health's list"),
               "out_of_work_12_months": N_("One year without social insurance, with under 20 years of "
                                           "contributions"),
               "incapacity_81": N_("Loss of working capacity of 81% or more"),
               "transitional_12_months": N_("Contributions begun before Law 41/2024 took effect, 12 months without "
                                            "social insurance and under 20 years")},
    "group": {
        "poor": N_("Poor household"), "near_poor": N_("Near-poor household"),
        "child_under_6": N_("Child under 6"), "ethnic_minority_hardship": N_("Ethnic minority in a hardship area"),
        "ethnic_minority": N_("Ethnic minority"), "island": N_("Island commune or special zone"),
        "social_protection": N_("Social protection beneficiary"), "meritorious": N_("Person with meritorious services"),
        "student": N_("Pupil or student"), "agro_household": N_("Farming, forestry, fishery or salt-making household"),
        "other": N_("Other participant"),
    },
    "table": {"2015": N_("Law 46/2014: four referral tiers"), "2025": N_("Law 51/2024: three care levels")},
    "case": {
        "referred": N_("Referred, or at the registered facility"), "emergency": N_("Emergency"),
        "listed_condition": N_("Self-referred, disease or technology on the Ministry's list"),
        "remote_resident_inpatient": N_("Self-referred inpatient, remote or island resident"),
        "initial": N_("Self-referred, initial level"), "basic_inpatient": N_("Self-referred inpatient, basic level"),
        "former_district": N_("Self-referred, facility formerly at district level"),
        "basic_outpatient_score_under_50": N_("Self-referred outpatient, basic facility under 50 points"),
        "basic_outpatient_score_50_to_70": N_("Self-referred outpatient, basic facility of 50 to under 70 points"),
        "basic_outpatient_former_provincial_or_central": N_(
            "Self-referred outpatient, basic facility formerly provincial or central"),
        "basic_outpatient_score_70_and_more": N_("Self-referred outpatient, basic facility of 70 points or more"),
        "specialised_inpatient": N_("Self-referred inpatient, specialised level"),
        "specialised_outpatient": N_("Self-referred outpatient, specialised level"),
        "specialised_inpatient_former_provincial": N_("Self-referred inpatient, specialised facility formerly provincial"),
        "specialised_outpatient_former_provincial": N_(
            "Self-referred outpatient, specialised facility formerly provincial"),
    },
    "rule": {"commune": N_("Commune facility: paid in full"),
             "health_station": N_("Health station: paid in full"), "low_cost": N_("Low-cost visit: paid in full"),
             "five_years": N_("Five consecutive years over the cap: paid in full"),
             "benefit_level": N_("The card's benefit level")},
}
#: pydantic's error types, as a sentence for the field.
ERROR_MESSAGES = {
    "missing": N_("Enter a value."),
    "int_parsing": N_("Enter a whole number."), "int_from_float": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "greater_than_equal": N_("Enter {limit} or more."), "greater_than": N_("Enter more than {limit}."),
    "less_than_equal": N_("Enter {limit} or less."), "less_than": N_("Enter less than {limit}."),
    "date_parsing": N_("Enter a date."), "date_from_datetime_parsing": N_("Enter a date."), "date_type": N_("Enter a date."),
    "date_from_datetime_inexact": N_("Enter a date."),
    "literal_error": N_("Choose one of the options."), "enum": N_("Choose one of the options."),
    "bool_parsing": N_("Tick the box or leave it empty."),
}


@dataclass
class InputField:
    name: str
    label: str
    help: str
    kind: str  # date, number, money, checkbox, select
    required: bool
    value: str = ""
    minimum: str = ""
    maximum: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ResultRow:
    label: str
    text: str
    name: str
    level: int = 0
    table: tuple[list[str], list[list[str]]] | None = None


def _calculator(name: str) -> Calculator:
    found = calculators().get(name)
    if found is None:
        raise NotFound("There is no calculator {name}.", name=name)
    return found


def _summary(calculator: Calculator) -> str:
    return gettext(SUMMARIES.get(calculator.name, calculator.summary))


def _input_label(calculator: Calculator, name: str) -> str:
    return gettext(INPUT_LABELS_BY_CALCULATOR.get(calculator.name, {}).get(name) or INPUT_LABELS.get(name, name))


def _input_help(calculator: Calculator, name: str) -> str:
    text = INPUT_HELP_BY_CALCULATOR.get(calculator.name, {}).get(name) or INPUT_HELP.get(name)
    return gettext(text) if text else ""


def _output_label(calculator: Calculator, path: str) -> str:
    own = OUTPUT_LABELS_BY_CALCULATOR.get(calculator.name, {})
    return gettext(own.get(path) or OUTPUT_LABELS.get(path) or OUTPUT_LABELS.get(path.rsplit(".", 1)[-1], path))


def _option_label(field_name: str, value: object) -> str:
    text = OPTION_LABELS.get(field_name, {}).get(str(value))
    return gettext(text) if text else str(value)


def _bare(annotation):
    """``int | None`` → ``int``."""
    arguments = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(arguments) == 1:
        return arguments[0]
    return annotation


def _bounds(info) -> tuple[str, str]:
    low = high = ""
    for rule in info.metadata:
        if getattr(rule, "ge", None) is not None:
            low = str(rule.ge)
        if getattr(rule, "gt", None) is not None:
            low = str(rule.gt + 1)
        if getattr(rule, "le", None) is not None:
            high = str(rule.le)
        if getattr(rule, "lt", None) is not None:
            high = str(rule.lt - 1)
    return low, high


def _is_money(info) -> bool:
    return "in dong" in (info.description or "")


def input_fields(calculator: Calculator, values: dict[str, str]) -> list[InputField]:
    """The form's fields from the input model, each with what the user typed (or the model's default)."""
    fields = []
    for name, info in calculator.inputs.model_fields.items():
        annotation = _bare(info.annotation)
        default = None if info.is_required() else info.default
        if annotation is date:
            kind, default = "date", today() if name == "on" and default is None else default
        elif annotation is bool:
            kind = "checkbox"
        elif get_origin(annotation) is Literal:
            kind = "select"
        else:
            kind = "money" if _is_money(info) else "number"
        shown = values[name] if name in values else ("" if default is None else str(default))
        if kind == "checkbox":
            shown = "on" if (values.get(name) if values else default) else ""
        item = InputField(name, _input_label(calculator, name), _input_help(calculator, name), kind,
                          info.is_required(), shown)
        if kind in ("number", "money"):
            item.minimum, item.maximum = _bounds(info)
        if kind == "select":
            item.options = [(str(v), _option_label(name, v)) for v in get_args(annotation)]
        fields.append(item)
    return fields


def _ratio(value: float) -> str:
    points = value * 100
    decimals = next((d for d in (0, 1, 2) if abs(points * 10 ** d - round(points * 10 ** d)) < 1e-6), 3)
    return percent(points, decimals=decimals)


def _shown(name: str, value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if name in OPTION_LABELS:
        return _option_label(name, value)
    if isinstance(value, float):
        return number(value) if name in MONTH_FIGURES else _ratio(value)
    if isinstance(value, int):
        return number(value) if name in COUNTS else money(value)
    return str(value)


def result_rows(calculator: Calculator, result: dict, model: type[BaseModel] | None = None, parent: str = "",
                level: int = 0) -> list[ResultRow]:
    """The answer as rows in the output model's order: a nested part as a heading and its own rows, a list of parts
    as a small table."""
    rows: list[ResultRow] = []
    model = model or calculator.outputs
    for name, info in model.model_fields.items():
        path = f"{parent}.{name}" if parent else name
        value = result.get(name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.append(ResultRow(_output_label(calculator, path), "", path, level))
            rows.extend(result_rows(calculator, value or {}, annotation, path, level + 1))
        elif get_origin(annotation) is list and issubclass(get_args(annotation)[0], BaseModel):
            part = get_args(annotation)[0]
            headers = [_output_label(calculator, f"{path}.{n}") for n in part.model_fields]
            lines = [[_shown(n, item.get(n)) for n in part.model_fields] for item in value or []]
            rows.append(ResultRow(_output_label(calculator, path), "", path, level, (headers, lines)))
        else:
            rows.append(ResultRow(_output_label(calculator, path), _shown(name, value), path, level))
    return rows


def _field_errors(calculator: Calculator, error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item.get("loc") else ""
        context = item.get("ctx") or {}
        limit = next((context[k] for k in ("ge", "gt", "le", "lt") if k in context), None)
        template = ERROR_MESSAGES.get(item["type"], N_("This value is not accepted."))
        errors.setdefault(name, gettext(template).format(limit=number(limit) if limit is not None else ""))
    return errors


def _submitted(calculator: Calculator, request: Request) -> dict[str, str] | None:
    """What the form sent (``None`` when it was not sent yet): text fields as typed, boxes ticked or not."""
    query = request.query_params
    names = calculator.inputs.model_fields
    if not any(name in query for name in names):
        return None
    return {name: query.get(name, "")[:200] for name in names if name in query}


def _model_values(calculator: Calculator, typed: dict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, info in calculator.inputs.model_fields.items():
        text = typed.get(name, "").strip()
        if _bare(info.annotation) is bool:
            values[name] = bool(text)
        elif text:
            values[name] = text
        elif not info.is_required():
            values[name] = info.default
    return values


@router.get("/rules/calculators")
def calculators_page(request: Request,
                     _: Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.reference))]
                     ) -> Response:
    items = [(c.name, _summary(c)) for c in calculators().values()]
    return render(request, "rules_calculators.html", {"items": items})


@router.get("/rules/calculators/{name}")
def calculator_page(request: Request, name: str,
                    _: Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.reference))]
                    ) -> Response:
    calculator = _calculator(name)
    typed = _submitted(calculator, request)
    errors: dict[str, str] = {}
    rows: list[ResultRow] = []
    if typed is not None:
        try:
            inputs = calculator.inputs.model_validate(_model_values(calculator, typed))
            result = calculator.compute(inputs, get_parameters())
            rows = result_rows(calculator, result)
        except ValidationError as error:
            errors = _field_errors(calculator, error)
        except ValidationFailed as error:
            errors = {error.field: error.translated(gettext)}
        except DomainError as error:
            errors = {"": error.translated(gettext)}
    fields = input_fields(calculator, typed or {})
    known = {f.name for f in fields}
    general = [message for field_name, message in errors.items() if field_name not in known]
    return render(request, "rules_calculator.html", {
        "calculator": calculator, "summary": _summary(calculator), "fields": fields, "errors": errors,
        "general_errors": general, "rows": rows, "submitted": typed is not None,
        "api_url": f"/api/v1/calc/{calculator.name}" + (f"?{request.url.query}" if typed is not None and not errors
                                                         else ""),
    }, status_code=422 if errors else 200)
