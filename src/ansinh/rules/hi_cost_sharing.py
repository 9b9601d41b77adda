"""6. Health insurance cost sharing for one visit: what the fund pays and what the patient pays.

Two tables of Health Insurance Law Art 22 exist; ``hi_benefits.cost_sharing_table`` says which one decides a
visit, by its date (2015 until 2024-12-31, 2025 from 2025-01-01). Both compute

    rate = applied level × route share;  fund_pays = cost × rate rounded to the dong, halves up;
    patient_pays = cost − fund_pays (the two always add up to the cost).

**Applied level.** The card's benefit level by its digit (``hi_benefits.benefit_level``: 1, 2, 5 → 100%,
3 → 95%, 4 → 80%; Art 22(1)), or 100% instead, whatever the digit:

- ``rule: commune`` (2015 table) — a visit at commune level (Art 22(1)(c) as amended by Law 46/2014);
- ``rule: health_station`` (2025 table) — a visit at an initial-level facility that the Ministry's visit
  categories list under code 1.2 (health stations, family-medicine practices, district or area health centres
  licensed as clinics, health stations of agencies, the army and the police): Art 22(1)(c) as replaced;
- ``rule: low_cost`` — total cost strictly less than ``hi_benefits.low_cost_threshold_base_salary_multiple``
  (15%) × the base salary on the visit date;
- ``rule: five_years`` — five consecutive years of HI and co-payments this calendar year above
  ``hi_benefits.copayment_cap_base_salary_multiple`` (6) × the base salary (given as ``five_years_over_cap`` or
  computed from ``consecutive_years`` and ``copayments_this_year``). Not for self-referred care out of network
  (2015 table) nor for the cases (g) and (h) of Art 22(4) (2025 table; Decree 188/2025 Art 18(2)).

**Route share, 2015 table** (Art 22(3) as amended by Law 46/2014): in network (``route: in`` or
``emergency``) 1; self-referred out of network (``route: out``) ``hi_benefits.out_of_network_multiplier`` by
care and tier (central inpatient 40%, provincial inpatient 60% → 100% from 2021, district 70% → 100% from 2016,
outpatient at central and provincial hospitals nothing). Facility levels: central, provincial, district, commune.

**Route share, 2025 table** (Art 22(3)-(5) as replaced by Law 51/2024), ``hi_benefits.self_referred_share``
by case, decided in this order (the first that holds):

====================================================  =========================  ===========  ==============
case                                                  key                        clause       visit category
====================================================  =========================  ===========  ==============
emergency, any facility                               emergency                  22(5)        2
referred / registered / moved / appointment           referred                   22(3)        1.1, 1.3–1.7
self-referred, initial level                          initial                    22(4)(c)     1.11 (1.2)
listed disease, surgery, technology (Circ. 01/2025)   listed_condition           22(4)(a)     1.16 / 1.17
basic or specialised, formerly district               former_district            22(4)(đ)     3.3
specialised inpatient, remote resident                remote_resident_inpatient  22(4)(b)     3.6
basic, inpatient                                      basic_inpatient            22(4)(d)     1.15
basic outpatient, formerly provincial or central      basic_outpatient_former_…  22(4)(e)     1.14
basic outpatient, score < 50 or provisional           basic_outpatient_score_u…  22(4)(e)     1.12
basic outpatient, score 50 to < 70                    basic_outpatient_score_5…  22(4)(e)     1.13
basic outpatient, score ≥ 70                          basic_outpatient_score_7…  22(4)(e)     —
specialised, formerly provincial (in-/outpatient)     specialised_*_former_pro…  22(4)(h)     3.2 / 1.18
specialised, other (in-/outpatient)                   specialised_*              22(4)(g)     3.1
====================================================  =========================  ===========  ==============

The score bands are ``hi_benefits.basic_facility_score_bands``; the 2026-07-01 step of the roadmap (Decree
188/2025 Art 19: 50% for the three outpatient cases that paid nothing) is a dated entry of the shares. Facility
levels: initial, basic, specialised, with the level the facility had before 2025-01-01 (``former_level``), a basic
facility's classification score or provisional classification, and whether it is a health station.

``counts_toward_cap``: whether this visit's co-payment counts toward the yearly cap of the five-years rule —
2015 table: in network only; 2025 table: every case but (g) and (h) (Decree 188/2025 Art 18(2)). The caller
adds the ``patient_pays`` of the visits that count and passes the sum as ``copayments_this_year``.

Not modelled: item caps (digit 2), costs outside the benefit package (digit 5), the groups the 2015 table
exempted from the out-of-network reduction.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel, Field

from ansinh.errors import ValidationFailed
from ansinh.i18n import N_
from ansinh.rules.calculator import Calculator, register, single_row
from ansinh.rules.money import ratio_floats
from ansinh.rules.parameters import SCALE, ParameterSet
from ansinh.rules.schemas import CalcInput, Money, OnDate

TABLE = "hi_benefits.cost_sharing_table"
BENEFIT_LEVEL = "hi_benefits.benefit_level"
LOW_COST = "hi_benefits.low_cost_threshold_base_salary_multiple"
OUT_OF_NETWORK = "hi_benefits.out_of_network_multiplier"
SELF_REFERRED = "hi_benefits.self_referred_share"
SCORE_BANDS = "hi_benefits.basic_facility_score_bands"
BASE_SALARY = "salary.base_salary"
FULL_COVERAGE_YEARS = "hi_benefits.full_coverage_consecutive_years"
COPAYMENT_CAP = "hi_benefits.copayment_cap_base_salary_multiple"

TIERS_2015 = ("central", "provincial", "district", "commune")
LEVELS_2025 = ("initial", "basic", "specialised")
FacilityLevel = Literal["central", "provincial", "district", "commune", "initial", "basic", "specialised"]
FormerLevel = Literal["central", "provincial", "district", "commune"]
Route = Literal["in", "out", "emergency"]
Care = Literal["inpatient", "outpatient"]
Rule = Literal["commune", "health_station", "low_cost", "five_years", "benefit_level"]
_CHOICES = {"facility_level": TIERS_2015 + LEVELS_2025, "former_level": TIERS_2015,
            "route": ("in", "out", "emergency"), "care": ("inpatient", "outpatient")}

#: Per case of the 2025 table: (clause of HI Law Art 22 as replaced by Law 51/2024, visit category code or None).
#: The categories are the Ministry's MA_DOITUONG_KCB codes (rules/data/visit_categories.yaml); for ``referred``
#: the code names the registered facility (the claim's own code says which kind of referral it was).
CASES_2025: dict[str, tuple[str, str | None]] = {
    "emergency": ("22(5)", "2"),
    "referred": ("22(3)", "1.1"),
    "initial": ("22(4)(c)", "1.11"),
    "listed_condition": ("22(4)(a)", "1.16"),  # 1.17 at a specialised facility
    "former_district": ("22(4)(đ)", "3.3"),
    "remote_resident_inpatient": ("22(4)(b)", "3.6"),
    "basic_inpatient": ("22(4)(d)", "1.15"),
    "basic_outpatient_former_provincial_or_central": ("22(4)(e)", "1.14"),
    "basic_outpatient_score_under_50": ("22(4)(e)", "1.12"),
    "basic_outpatient_score_50_to_70": ("22(4)(e)", "1.13"),
    "basic_outpatient_score_70_and_more": ("22(4)(e)", None),
    "specialised_inpatient_former_provincial": ("22(4)(h)", "3.2"),
    "specialised_outpatient_former_provincial": ("22(4)(h)", "1.18"),
    "specialised_inpatient": ("22(4)(g)", "3.1"),
    "specialised_outpatient": ("22(4)(g)", "3.1"),
}
#: The cases whose co-payments do not count toward the yearly cap, and where the five-years rule does not apply
#: (Decree 188/2025 Art 18(2): only Art 22(3), 22(4)(a, b, c, đ, e), 22(5), Art 26 and 27 count).
OUTSIDE_CAP_2025 = frozenset(case for case, (clause, _) in CASES_2025.items() if clause in ("22(4)(g)", "22(4)(h)"))
_CLAUSES_2015 = {"in": "22(1)", "emergency": "22(1)", "central": "22(3)(a)", "provincial": "22(3)(b)",
                 "district": "22(3)(c)", "commune": "22(1)(c)"}


class HiShareInput(CalcInput):
    cost: Money = Field(description="Total cost of the visit covered by health insurance, in dong.")
    card_level: int = Field(ge=1, le=5,
                            description="Benefit digit of the card (3rd character of the card code).")
    on: OnDate
    facility_level: FacilityLevel = Field(
        description="Level of the facility visited: from 2025-01-01 initial, basic or specialised; before, "
                    "central, provincial, district or commune.")
    former_level: FormerLevel | None = Field(
        None, description="From 2025-01-01: the facility's level before 2025-01-01 (central, provincial, "
                          "district, commune), if it had one.")
    facility_score: int | None = Field(
        None, ge=0, le=100, description="From 2025-01-01: the classification score of a basic facility.")
    provisional: bool = Field(False, description="From 2025-01-01: the basic facility is provisionally "
                                                 "classified (no score yet).")
    health_station: bool = Field(
        False, description="From 2025-01-01: an initial-level facility of visit category 1.2 (health station, "
                           "family-medicine practice, ...): the cost is paid in full whatever the card level.")
    route: Route = Field("in", description="in: referred, or at the registered facility (đúng tuyến / đúng quy "
                                           "định chuyển người bệnh); out: self-referred (tự đi khám); "
                                           "emergency: cấp cứu.")
    care: Care = Field("outpatient", description="inpatient (nội trú) or outpatient (ngoại trú).")
    listed_condition: bool = Field(
        False, description="From 2025-01-01: a disease, surgery or technology the Ministry lists (Circular "
                           "01/2025/TT-BYT appendix I at specialised, II at basic facilities).")
    remote_resident: bool = Field(
        False, description="From 2025-01-01: ethnic minority or poor person living in a disadvantaged area, or "
                           "an island resident.")
    five_years_over_cap: bool = Field(
        False, description="Already established: 5 consecutive years of HI, and co-payments this year above 6 "
                           "months of the base salary. Or give consecutive_years and copayments_this_year.")
    consecutive_years: int | None = Field(None, ge=0, le=100, description="Consecutive years of HI coverage.")
    copayments_this_year: int | None = Field(
        None, ge=0, le=10**12, description="Co-payments this calendar year before this visit that count toward "
                                          "the cap (see counts_toward_cap), in dong.")


class HiShareOutput(BaseModel):
    rate: float
    fund_pays: int
    patient_pays: int
    card_benefit_level: float
    applied_level: float
    route_share: float = Field(description="Share of the applied level the route pays (1 in network).")
    rule: Rule
    case: str | None = Field(description="2025 table: the case of Art 22(3)-(5) (a key of "
                                         "hi_benefits.self_referred_share); null under the 2015 table.")
    clause: str = Field(description="The clause of HI Law Art 22 that decided the route share.")
    visit_category: str | None = Field(description="2025 table: the Ministry's visit category (MA_DOITUONG_KCB).")
    counts_toward_cap: bool
    copayment_cap: int
    table: int = Field(description="The table of Art 22 applied: 2015 (Law 46/2014) or 2025 (Law 51/2024).")


def _encode(frame: pl.DataFrame, field: str, accepted: tuple[str, ...]) -> pl.Series:
    """A text column as an Enum of the accepted values; ValidationFailed naming the field for any other."""
    encoded = frame[field].cast(pl.Utf8).cast(pl.Enum(list(accepted)), strict=False)
    if encoded.null_count() > frame[field].null_count():
        bad = frame[field].filter(encoded.is_null() & frame[field].is_not_null())[0]
        raise ValidationFailed(field, "{value} is not one of {accepted}.", value=str(bad),
                               accepted=", ".join(accepted))
    return encoded


def _flag(frame: pl.DataFrame, name: str) -> pl.Series:
    if name not in frame.columns:
        return pl.Series(name, [False] * frame.height, dtype=pl.Boolean)
    return frame[name].cast(pl.Boolean).fill_null(False)


def _optional(frame: pl.DataFrame, name: str, dtype) -> pl.Series:
    if name not in frame.columns:
        return pl.Series(name, [None] * frame.height, dtype=dtype)
    return frame[name].cast(dtype)


def _first_wrong(frame: pl.DataFrame, wrong: pl.Series, field: str, message: str, **values) -> None:
    if wrong.any():
        row = int(wrong.arg_true()[0])
        shown = {key: (value[row] if isinstance(value, pl.Series) else value) for key, value in values.items()}
        raise ValidationFailed(field, message, on=frame["on"][row].isoformat(), **shown)


def hi_share_columns(frame: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Columns ``cost, card_level, on, facility_level, route, care`` (and the optional ones of
    :class:`HiShareInput`) → the shares, one row per visit, each under the table of Art 22 of its date."""
    card_keys = p[BENEFIT_LEVEL].keys
    card = frame["card_level"].cast(pl.Int64).replace_strict(
        {int(key): key for key in card_keys}, default=None, return_dtype=pl.Enum(list(card_keys)))
    if card.null_count():
        raise ValidationFailed("card_level", "Card benefit level {value} is not one of {accepted}.",
                               value=str(frame["card_level"].filter(card.is_null())[0]),
                               accepted=", ".join(card_keys))
    facility = _encode(frame, "facility_level", _CHOICES["facility_level"]).cast(pl.Utf8)
    route = _encode(frame, "route", _CHOICES["route"]).cast(pl.Utf8)
    care = _encode(frame, "care", _CHOICES["care"]).cast(pl.Utf8)
    former = _encode(frame.with_columns(_optional(frame, "former_level", pl.Utf8)), "former_level",
                     _CHOICES["former_level"]).cast(pl.Utf8)
    on = frame["on"]
    table = p[TABLE].column(on)
    modern = table == 2025
    _first_wrong(frame, modern & facility.is_in(TIERS_2015) | ~modern & facility.is_in(LEVELS_2025),
                 "facility_level", N_("On {on} the facility level {value} does not apply (2015 table: central, "
                                      "provincial, district, commune; from 2025-01-01: initial, basic, specialised)."),
                 value=facility)
    score = _optional(frame, "facility_score", pl.Int64)
    provisional = _flag(frame, "provisional")
    health_station = _flag(frame, "health_station")
    _first_wrong(frame, modern & health_station & (facility != "initial"), "health_station",
                 N_("Only an initial-level facility is a health station of category 1.2 (on {on})."))
    _first_wrong(frame, modern & (facility == "basic") & (care == "outpatient") & (route == "out")
                 & score.is_null() & ~provisional, "facility_score",
                 N_("Self-referred outpatient care at a basic facility is paid by its classification score: give "
                    "the score or say it is provisionally classified (on {on})."))
    _first_wrong(frame, (score.is_not_null() & provisional), "provisional",
                 N_("A provisionally classified facility has no score yet (on {on})."))

    base = p[BASE_SALARY].column(on)
    level = p[BENEFIT_LEVEL].column(on, card)
    copayment_cap = (base * p[COPAYMENT_CAP].column(on)) // SCALE
    required_years = p[FULL_COVERAGE_YEARS].column(on)
    established = _flag(frame, "five_years_over_cap")
    years = _optional(frame, "consecutive_years", pl.Int64)
    paid = _optional(frame, "copayments_this_year", pl.Int64)
    established = established | ((years >= required_years) & (paid > copayment_cap)).fill_null(False)

    work = pl.DataFrame({
        "cost": frame["cost"].cast(pl.Int64), "on": on, "modern": modern, "facility": facility, "former": former,
        "route": route, "care": care, "score": score, "provisional": provisional, "station": health_station,
        "listed": _flag(frame, "listed_condition"), "remote": _flag(frame, "remote_resident"),
        "base": base, "threshold": p[LOW_COST].column(on), "level": level, "five": established,
        "copayment_cap": copayment_cap,
    }).with_row_index("row")
    if modern.all():  # the usual batch: every visit under one table, no split
        return _shares(_table_2025(work, p))
    if not modern.any():
        return _shares(_table_2015(work, p))
    parts = [_table_2015(work.filter(~pl.col("modern")), p), _table_2025(work.filter(pl.col("modern")), p)]
    return _shares(pl.concat(parts, how="diagonal_relaxed").sort("row"))


def _table_2015(work: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Law 46/2014's table: the route share of self-referred care by tier and care type."""
    out = (work["route"] == "out")
    share = pl.Series("share", [SCALE] * work.height, dtype=pl.Int64)
    if out.any():
        keys = (work["care"] + "_" + work["facility"]).filter(out)
        looked_up = p[OUT_OF_NETWORK].column(work["on"].filter(out), keys, field_name="facility_level")
        share = share.scatter(out.arg_true(), looked_up)
    clause = pl.when(pl.col("route") == "out").then(pl.col("facility").replace_strict(_CLAUSES_2015)) \
        .otherwise(pl.col("route").replace_strict(_CLAUSES_2015, default="22(1)"))
    return work.with_columns(share=share).with_columns(
        full_rule=pl.when(pl.col("facility") == "commune").then(pl.lit("commune")),
        five_applies=pl.col("route") != "out",
        counts=pl.col("route") != "out",
        case=pl.lit(None, dtype=pl.Utf8),
        clause=clause,
        visit_category=pl.lit(None, dtype=pl.Utf8),
        table=pl.lit(2015, dtype=pl.Int64),
    )


def _table_2025(work: pl.DataFrame, p: ParameterSet) -> pl.DataFrame:
    """Law 51/2024's table: the case of Art 22(3)-(5) of each visit, its share on the date, clause and category."""
    bands = p[SCORE_BANDS]
    full_below = bands.column(work["on"], pl.Series(["full_below"] * work.height))
    roadmap_below = bands.column(work["on"], pl.Series(["roadmap_below"] * work.height))
    work = work.with_columns(full_below=full_below, roadmap_below=roadmap_below)
    facility, care, former = pl.col("facility"), pl.col("care"), pl.col("former")
    basic, specialised = facility == "basic", facility == "specialised"
    inpatient = care == "inpatient"
    case = (
        pl.when(pl.col("route") == "emergency").then(pl.lit("emergency"))
        .when(pl.col("route") == "in").then(pl.lit("referred"))
        .when(facility == "initial").then(pl.lit("initial"))
        .when(pl.col("listed")).then(pl.lit("listed_condition"))
        .when(former == "district").then(pl.lit("former_district"))
        .when(specialised & inpatient & pl.col("remote")).then(pl.lit("remote_resident_inpatient"))
        .when(basic & inpatient).then(pl.lit("basic_inpatient"))
        .when(basic & former.is_in(["provincial", "central"])).then(
            pl.lit("basic_outpatient_former_provincial_or_central"))
        .when(basic & (pl.col("provisional") | (pl.col("score") < pl.col("full_below")))).then(
            pl.lit("basic_outpatient_score_under_50"))
        .when(basic & (pl.col("score") < pl.col("roadmap_below"))).then(pl.lit("basic_outpatient_score_50_to_70"))
        .when(basic).then(pl.lit("basic_outpatient_score_70_and_more"))
        .when(former == "provincial").then(pl.lit("specialised_") + care + pl.lit("_former_provincial"))
        .otherwise(pl.lit("specialised_") + care)
    )
    work = work.with_columns(case=case)
    share = p[SELF_REFERRED].column(work["on"], work["case"], field_name="route")
    category = pl.col("case").replace_strict({c: v for c, (_, v) in CASES_2025.items()}, return_dtype=pl.Utf8)
    return work.with_columns(share=share).with_columns(
        full_rule=pl.when(pl.col("station")).then(pl.lit("health_station")),
        five_applies=~pl.col("case").is_in(OUTSIDE_CAP_2025),
        counts=~pl.col("case").is_in(OUTSIDE_CAP_2025),
        clause=pl.col("case").replace_strict({c: clause for c, (clause, _) in CASES_2025.items()},
                                             return_dtype=pl.Utf8),
        visit_category=pl.when(pl.col("station")).then(pl.lit("1.2"))
        .when((pl.col("case") == "listed_condition") & specialised).then(pl.lit("1.17"))
        .otherwise(category),
        table=pl.lit(2025, dtype=pl.Int64),
    )


def _shares(work: pl.DataFrame) -> pl.DataFrame:
    """The applied level (a full-cost rule, the low cost, the five years, else the card's level), the rate and the
    two shares, from the route share each table found."""
    work = work.with_columns(
        low_cost=pl.col("cost") * SCALE < pl.col("threshold") * pl.col("base"),
    ).with_columns(
        rule=pl.when(pl.col("full_rule").is_not_null()).then(pl.col("full_rule"))
        .when("low_cost").then(pl.lit("low_cost"))
        .when(pl.col("five") & pl.col("five_applies")).then(pl.lit("five_years"))
        .otherwise(pl.lit("benefit_level")),
    ).with_columns(
        applied=pl.when(pl.col("rule") == "benefit_level").then(pl.col("level")).otherwise(pl.lit(SCALE)),
    ).with_columns(
        rate_e12=pl.col("applied") * pl.col("share"),  # exact, in millionths of millionths
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
        "route_share": ratio_floats(work["share"], SCALE),
        "rule": work["rule"],
        "case": work["case"],
        "clause": work["clause"],
        "visit_category": work["visit_category"],
        "counts_toward_cap": work["counts"],
        "copayment_cap": work["copayment_cap"],
        "table": work["table"],
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
