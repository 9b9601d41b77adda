"""6. Health insurance cost sharing for one visit: what the fund pays and what the patient pays.

1. The card's benefit level, by the benefit digit of the card (``hi_benefits.benefit_level``: 1, 2, 5 → 100%,
   3 → 95%, 4 → 80%; Health Insurance Law Art 22(1)).
2. The level is 100% instead, whatever the digit (Art 22(1)(c), (đ)), when
   - the visit is at commune level (``rule: commune``);
   - the visit's total cost is less than ``hi_benefits.low_cost_threshold_base_salary_multiple`` (15%) × the
     base salary on the visit date (``rule: low_cost``; 351,000 from 2024-07-01; strictly less than);
   - the patient has 5 consecutive years of health insurance and co-payments this year above 6 months of base
     salary (``five_years_over_cap``, assessed by the caller), except for self-referred out-of-network care
     (``rule: five_years``).
3. Self-referred out-of-network care (``route: out``) is paid at that level times
   ``hi_benefits.out_of_network_multiplier[<care>_<facility_level>]`` (Art 22(3): e.g. central inpatient 40%,
   central and provincial outpatient 0). Art 22(3) pays "the benefit level of clause 1" at these shares, so
   the 100% of step 2 is also multiplied (a cheap outpatient visit at a central hospital out of network stays
   uncovered). In-network care (``route: in``) has multiplier 1.

rate = level × multiplier (exact); fund_pays = cost × rate rounded to the dong, halves up;
patient_pays = cost − fund_pays, so the two always add up to the cost. Item caps (digit 2), costs outside the
benefit package (digit 5), emergencies and the groups the law exempts from the out-of-network reduction are
not modelled.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.errors import ValidationFailed
from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import ratio_floats
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.schemas import CalcInput, Money, OnDate

BENEFIT_LEVEL = "hi_benefits.benefit_level"
LOW_COST = "hi_benefits.low_cost_threshold_base_salary_multiple"
OUT_OF_NETWORK = "hi_benefits.out_of_network_multiplier"
BASE_SALARY = "salary.base_salary"
FULL_COVERAGE_YEARS = "hi_benefits.full_coverage_consecutive_years"
COPAYMENT_CAP = "hi_benefits.copayment_cap_base_salary_multiple"

FacilityLevel = Literal["central", "provincial", "district", "commune"]
Route = Literal["in", "out"]
Care = Literal["inpatient", "outpatient"]
_CHOICES = {"facility_level": ("central", "provincial", "district", "commune"), "route": ("in", "out"),
            "care": ("inpatient", "outpatient")}


class HiShareInput(CalcInput):
    cost: Money = Field(description="Total cost of the visit covered by health insurance, in dong.")
    card_level: int = Field(ge=1, le=5,
                            description="Benefit digit of the card (3rd character of the card code).")
    on: OnDate
    facility_level: FacilityLevel = Field(description="Level of the facility visited.")
    route: Route = Field("in", description="in: in network (đúng tuyến); "
                                           "out: self-referred out of network (trái tuyến).")
    care: Care = Field("outpatient", description="inpatient (nội trú) or outpatient (ngoại trú).")
    five_years_over_cap: bool = Field(
        False, description="Already established: 5 consecutive years of HI, and co-payments this year above 6 "
                           "months of the base salary. Or give consecutive_years and copayments_this_year.")
    consecutive_years: int | None = Field(None, ge=0, le=100, description="Consecutive years of HI coverage.")
    copayments_this_year: int | None = Field(
        None, ge=0, le=10**12, description="Co-payments the patient has made this calendar year before this visit, "
                                          "in dong (in network).")


class HiShareOutput(BaseModel):
    rate: float
    fund_pays: int
    patient_pays: int
    card_benefit_level: float
    applied_level: float
    out_of_network_multiplier: float
    rule: Literal["commune", "low_cost", "five_years", "benefit_level"]
    copayment_cap: int


def _encode(frame: pl.DataFrame, field: str, accepted: tuple[str, ...]) -> pl.Series:
    """A text column as an Enum of the accepted values; ValidationFailed naming the field for any other."""
    encoded = frame[field].cast(pl.Utf8).cast(pl.Enum(list(accepted)), strict=False)
    if encoded.null_count():
        bad = frame[field].filter(encoded.is_null())[0]
        raise ValidationFailed(field, "{value} is not one of {accepted}.", value=str(bad),
                               accepted=", ".join(accepted))
    return encoded


def hi_share_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``cost, card_level, on, facility_level, route, care, five_years_over_cap`` → rate, shares."""
    card_keys = p[BENEFIT_LEVEL].keys
    card = frame["card_level"].cast(pl.Int64).replace_strict(
        {int(key): key for key in card_keys}, default=None, return_dtype=pl.Enum(list(card_keys)))
    if card.null_count():
        raise ValidationFailed("card_level", "Card benefit level {value} is not one of {accepted}.",
                               value=str(frame["card_level"].filter(card.is_null())[0]),
                               accepted=", ".join(card_keys))
    facility = _encode(frame, "facility_level", _CHOICES["facility_level"])
    route = _encode(frame, "route", _CHOICES["route"])
    care = _encode(frame, "care", _CHOICES["care"])
    on = frame["on"]
    base = p[BASE_SALARY].column(on)
    threshold = p[LOW_COST].column(on)
    level = p[BENEFIT_LEVEL].column(on, card)
    out = route == "out"
    multiplier = pl.Series("multiplier", [SCALE] * frame.height, dtype=pl.Int64)
    if out.any():
        parameter = p[OUT_OF_NETWORK]
        facilities = _CHOICES["facility_level"]
        combined = (care.filter(out).to_physical().cast(pl.Int64) * len(facilities)
                    + facility.filter(out).to_physical().cast(pl.Int64))
        names = {c * len(facilities) + f: f"{care_name}_{facility_name}"
                 for c, care_name in enumerate(_CHOICES["care"])
                 for f, facility_name in enumerate(facilities)}
        keys = combined.replace_strict(names, return_dtype=pl.Utf8)
        looked_up = parameter.column(on.filter(out), keys, field_name="facility_level")
        multiplier = multiplier.scatter(out.arg_true(), looked_up)
    copayment_cap = (base * p[COPAYMENT_CAP].column(on)) // SCALE
    required_years = p[FULL_COVERAGE_YEARS].column(on)
    years = frame["consecutive_years"].cast(pl.Int64) if "consecutive_years" in frame.columns else None
    paid = frame["copayments_this_year"].cast(pl.Int64) if "copayments_this_year" in frame.columns else None
    established = frame["five_years_over_cap"].cast(pl.Boolean)
    if years is not None and paid is not None:
        # The rule computed from the facts, where they are given (Art 22(1)(đ)/(e)).
        established = established | ((years >= required_years) & (paid > copayment_cap)).fill_null(False)
    work = pl.DataFrame({
        "cost": frame["cost"].cast(pl.Int64), "base": base, "threshold": threshold, "level": level,
        "multiplier": multiplier, "out": out, "commune": facility == "commune", "five": established,
        "copayment_cap": copayment_cap,
    })
    work = work.with_columns(
        low_cost=pl.col("cost") * SCALE < pl.col("threshold") * pl.col("base"),
        five_years=pl.col("five") & ~pl.col("out"),
    ).with_columns(
        rule=pl.when("commune").then(pl.lit("commune"))
        .when("low_cost").then(pl.lit("low_cost"))
        .when("five_years").then(pl.lit("five_years"))
        .otherwise(pl.lit("benefit_level")),
    ).with_columns(
        applied=pl.when(pl.col("rule") == "benefit_level").then(pl.col("level")).otherwise(pl.lit(SCALE)),
    ).with_columns(
        rate_e12=pl.col("applied") * pl.col("multiplier"),  # exact, in millionths of millionths
    ).with_columns(
        fund_pays=((pl.col("cost").cast(pl.Int128) * pl.col("rate_e12").cast(pl.Int128) * 2
                    + pl.lit(SCALE * SCALE, dtype=pl.Int128)) // pl.lit(2 * SCALE * SCALE, dtype=pl.Int128))
        .cast(pl.Int64),
    )
    return pl.DataFrame({
        "rate": ratio_floats(work["rate_e12"], SCALE * SCALE),
        "fund_pays": work["fund_pays"],
        "patient_pays": work["cost"] - work["fund_pays"],
        "card_benefit_level": ratio_floats(work["level"], SCALE),
        "applied_level": ratio_floats(work["applied"], SCALE),
        "out_of_network_multiplier": ratio_floats(work["multiplier"], SCALE),
        "rule": work["rule"],
        "copayment_cap": work["copayment_cap"],
    })


def hi_share_single(inputs: HiShareInput, p: ParameterSet) -> dict:
    return hi_share_columns(single_row(inputs), p).row(0, named=True)


register(Calculator(
    name="hi-share",
    summary="Health insurance cost sharing for one visit (fund and patient shares)",
    description=__doc__,
    inputs=HiShareInput,
    outputs=HiShareOutput,
    compute=hi_share_single,
    columns=hi_share_columns,
))
