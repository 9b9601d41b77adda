"""The appraisal rules: what the agency's automatic appraisal checks (CLAIMS_FORMAT.md; Circular 12/2026/TT-BTC
Art 10(1) lists its contents), each a function of the whole batch on columns.

Amounts are integer dong: a share of a line's fund amount is rounded half up (``_share``); prices and quantities
are in thousandths (``*_milli``), percentages whole. Each rule's figures are dated parameters under
``rules/parameters/claims/`` read on each claim's visit day; its legal basis is its ``reference``.

Rules that refuse money: card and person (CARD_MISMATCH, CARD_NOT_VALID, CARD_EXPIRED_DURING_STAY), contract
(NO_CONTRACT), benefit level (BENEFIT_LEVEL), totals (TOTALS), prices and price list (PRICE_ABOVE,
NOT_IN_PRICE_LIST), diagnosis (ICD_UNKNOWN), beds (BED_UNDER_4H, BED_DAYS), order times (ORDER_OUTSIDE_STAY),
examination fees (EXAM_FEE_TWICE) and duplicates (DUPLICATE). Rules that only flag a claim for an appraiser
(amount 0): CARE_DAYS, OVERLAPPING_STAYS, SAME_DAY_VISITS, MANY_VISITS.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from ansinh.claims.appraisal.engine import (
    INPATIENT_CARE,
    OUTPATIENT_EXAMINATION,
    SERVICE_DAY_CARE,
    AppraisalBatch,
    day_of,
)
from ansinh.claims.appraisal.rules import AppraisalRule, findings_frame, register_rule
from ansinh.i18n import N_
from ansinh.rules.hi_cost_sharing import hi_share_columns
from ansinh.rules.parameters import SCALE
from ansinh.rules.visit_categories import visit_catalogue

#: Electronic claim data, sent to the agency's portal (Circular 48/2017/TT-BYT, in force 2018-03-01).
ELECTRONIC_CLAIMS = date(2018, 3, 1)
#: Counting inpatient days and bed days for payment (Circular 15/2018/TT-BYT, in force 2018-07-15).
BED_DAY_COUNTING = date(2018, 7, 15)
#: The claim tables of Decision 130/QĐ-BYT as amended by 4750/QĐ-BYT, official from 2024-07-01.
TABLES_4750 = date(2024, 7, 1)
#: Decree 188/2025/NĐ-CP Art 50 (cards expiring during a treatment), in force 2025-07-01.
DECREE_188_ART_50 = date(2025, 7, 1)

EXAMINATION_GROUP = "13"  # MA_NHOM of an examination fee
BED = "bed"
SERVICE = "service"
#: Care types whose treatment days are 0, counted from the dates, or the days with a service (SO_NGAY_DTRI rule of
#: Decision 130/QĐ-BYT as amended, field SO_NGAY_DTRI); 05 (days of drugs) is not checked.
ZERO_DAY_CARE = ("01", "07", "09")
DATED_CARE = ("02", "03", "04", "06")
MILLI = 1_000
PERCENT = 100
MINUTES_PER_HOUR = 60


def _share(amount: pl.Expr, numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """amount × numerator / denominator, rounded half up to the dong (non-negative inputs; 0 when the denominator
    is 0). Exact: 128-bit integers."""
    big = pl.Int128
    num = amount.cast(big) * numerator.cast(big)
    den = denominator.cast(big)
    return pl.when(den > 0).then(((num * 2 + den) // (den * 2)).cast(pl.Int64)).otherwise(pl.lit(0, pl.Int64))


def _moment(column: str) -> pl.Expr:
    return pl.col(column).dt.to_string("%Y-%m-%d %H:%M")


def _first_by_priority(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per claim: the first of several candidate frames (each with ``claim_id``) that has it."""
    frames = [frame.with_columns(_priority=pl.lit(index)) for index, frame in enumerate(frames) if frame.height]
    if not frames:
        return pl.DataFrame()
    merged = pl.concat(frames, how="diagonal_relaxed")
    return merged.sort("claim_id", "_priority").unique("claim_id", keep="first", maintain_order=True) \
        .drop("_priority")


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"claim_id": pl.Int64, "line_id": pl.Int64, "amount": pl.Int64,
                                "details": pl.String})


def _excess_allocated(lines: pl.DataFrame, allowed_milli: str) -> pl.DataFrame:
    """Lines of claims sharing an allowance (bed days, examination fees): taken in order of day then line, the
    quantity beyond ``allowed_milli`` (per claim, in thousandths) is refused line by line; ``excess_milli`` is the
    part of each line's quantity beyond it and ``refused`` that share of the line's fund amount."""
    ordered = lines.sort("claim_id", "line_day", "line_id").with_columns(
        cumulative=pl.col("quantity_milli").cum_sum().over("claim_id"),
        total_milli=pl.col("quantity_milli").sum().over("claim_id"))
    return ordered.with_columns(
        excess_milli=pl.min_horizontal(
            pl.col("quantity_milli"),
            (pl.col("cumulative") - pl.col(allowed_milli)).clip(lower_bound=0))
    ).filter(pl.col("excess_milli") > 0).with_columns(
        refused=_share(pl.col("fund_amount").clip(lower_bound=0), pl.col("excess_milli"), pl.col("quantity_milli")))


# --- card and person -------------------------------------------------------------------------------------

def card_mismatch(batch: AppraisalBatch) -> pl.DataFrame:
    claims = batch.claims_x.select("claim_id", "person_id", "card_code", "date_of_birth", "fund_claimed")
    candidates = [claims.filter(pl.col("person_id").is_null()).with_columns(
        reason=pl.lit("unknown_person"), registry_date_of_birth=pl.lit(None, pl.Date))]
    cards = batch.card_on_visit
    if cards is not None:
        candidates.append(claims.with_columns(bad_code=cards["bad_code"]).filter(
            pl.col("person_id").is_not_null() & ~cards["codes_known"]).with_columns(
            reason=pl.lit("card_code"), card_code=pl.col("bad_code"), registry_date_of_birth=pl.lit(None, pl.Date))
            .drop("bad_code"))
    if batch.people is not None:
        born = claims.join(batch.people.unique("person_id").rename({"date_of_birth": "registry_date_of_birth"}),
                           on="person_id")
        candidates.append(born.filter(
            pl.col("registry_date_of_birth").is_not_null()
            & (pl.col("date_of_birth").is_null() | (pl.col("date_of_birth") != pl.col("registry_date_of_birth"))))
            .with_columns(reason=pl.lit("date_of_birth")))
    found = _first_by_priority(candidates)
    if found.is_empty():
        return _empty()
    return findings_frame(found, amount=pl.col("fund_claimed"), line=False, reason=pl.col("reason"),
                          card_code=pl.col("card_code"), date_of_birth=pl.col("date_of_birth"),
                          registry_date_of_birth=pl.col("registry_date_of_birth")
                          ).with_columns(whole=pl.lit(True))


def card_not_valid(batch: AppraisalBatch) -> pl.DataFrame:
    cards = batch.card_on_visit
    if cards is None:
        return _empty()
    claims = batch.claims_x.select("claim_id", "visit_day", "fund_claimed", "first_card")
    found = claims.with_columns(cards.drop("claim_id")).filter(pl.col("codes_known")).with_columns(
        reason=pl.when(~pl.col("in_force")).then(pl.lit("no_card"))
        .when(pl.col("suspended")).then(pl.lit("suspended"))
        .when(~pl.col("code_current")).then(pl.lit("replaced"))
        .when(~pl.col("covered")).then(pl.lit("no_coverage"))).filter(pl.col("reason").is_not_null())
    return findings_frame(found, amount=pl.col("fund_claimed"), line=False, reason=pl.col("reason"),
                          day=pl.col("visit_day"), card_code=pl.col("first_card")).with_columns(whole=pl.lit(True))


def card_expired_during_stay(batch: AppraisalBatch) -> pl.DataFrame:
    cards = batch.card_on_visit
    if cards is None:
        return _empty()
    claims = batch.claims_x.select("claim_row", "visit_day", "discharge_day").with_columns(
        cards.select("in_force", "suspended", "card_valid_until"))
    claims = claims.filter(pl.col("in_force") & ~pl.col("suspended") & pl.col("card_valid_until").is_not_null())
    if claims.is_empty():
        return _empty()
    claims = claims.with_columns(
        grace=batch.parameter_or_null("claims.card_expiry_grace_days", claims["visit_day"])).filter(
        pl.col("grace").is_not_null())
    claims = claims.with_columns(paid_until=pl.col("card_valid_until") + pl.duration(days=pl.col("grace")))
    # only the claims with a day after the card's end and its grace can have lines to refuse
    late = claims.filter(pl.col("discharge_day").is_null() | (pl.col("discharge_day") > pl.col("paid_until")))
    if late.is_empty():
        return _empty()
    rows = late["claim_row"]
    lines = batch.lines_x.with_columns(
        paid_until=batch.to_lines(batch.on_claims(late["paid_until"], rows)),
        valid_until=batch.to_lines(batch.on_claims(late["card_valid_until"], rows)),
        grace=batch.to_lines(batch.on_claims(late["grace"], rows)),
    ).filter(pl.col("paid_until").is_not_null() & (pl.col("line_day") > pl.col("paid_until")))
    return findings_frame(lines, amount=pl.col("fund_amount"), line=True, valid_until=pl.col("valid_until"),
                          day=pl.col("line_day"), grace_days=pl.col("grace"))


# --- facility ---------------------------------------------------------------------------------------------

def no_contract(batch: AppraisalBatch) -> pl.DataFrame:
    facility = batch.claim_facility
    if facility is None:
        return _empty()
    found = facility.with_columns(fund_claimed=batch.claims_x["fund_claimed"]).filter(
        ~pl.col("contract").fill_null(False))
    return findings_frame(found, amount=pl.col("fund_claimed"), line=False, facility_code=pl.col("facility_code"),
                          day=pl.col("visit_day")).with_columns(whole=pl.lit(True))


def _category_frame() -> pl.DataFrame:
    """The visit categories paid under a case of the 2025 table, with the route and flags of their example visit
    (the catalogue is tested to agree with the calculator)."""
    rows = [(code, category.case, str(category.example.get("route", "in")),
             bool(category.example.get("listed_condition", False)),
             bool(category.example.get("remote_resident", False)))
            for code, category in visit_catalogue().categories.items() if category.case]
    return pl.DataFrame(rows, schema={"visit_category": pl.String, "category_case": pl.String, "route": pl.String,
                                      "listed_condition": pl.Boolean, "remote_resident": pl.Boolean}, orient="row")


def benefit_level(batch: AppraisalBatch) -> pl.DataFrame:
    facility = batch.claim_facility
    if facility is None:
        return _empty()
    catalogue = visit_catalogue()
    claims = batch.claims_x.select(
        "claim_row", "visit_day", "care_type", "total_insured", "visit_category",
        card_level=pl.col("card_code").str.strip_chars().str.slice(2, 1).cast(pl.Int64, strict=False),
    ).with_columns(facility.select("level_2025", "former_level", "score", "provisional", "health_station"))
    if batch.card_on_visit is not None:
        claims = claims.with_columns(batch.card_on_visit.select("five_years_from"))
    else:
        claims = claims.with_columns(five_years_from=pl.lit(None, pl.Date))
    claims = claims.filter(pl.col("visit_day") >= catalogue.valid_from).join(
        _category_frame(), on="visit_category", how="inner").filter(
        pl.col("card_level").is_between(1, 5) & pl.col("level_2025").is_in(["initial", "basic", "specialised"])
        & (pl.col("former_level").is_null()
           | pl.col("former_level").is_in(["central", "provincial", "district", "commune"])))
    basic = pl.col("level_2025") == "basic"
    provisional = basic & pl.col("provisional").fill_null(False)
    claims = claims.with_columns(
        cost=pl.col("total_insured").fill_null(0).clip(lower_bound=0), on=pl.col("visit_day"),
        facility_level=pl.col("level_2025"),
        facility_score=pl.when(basic & ~provisional).then(pl.col("score")),
        provisional=provisional,
        health_station=(pl.col("level_2025") == "initial") & pl.col("health_station").fill_null(False),
        care=pl.when(pl.col("care_type").is_in(INPATIENT_CARE)).then(pl.lit("inpatient"))
        .otherwise(pl.lit("outpatient")),
        five_years_over_cap=(pl.col("five_years_from") <= pl.col("visit_day")).fill_null(False),
    ).filter(  # a basic facility without its score nor a provisional classification: its share is unknown
        ~(basic & pl.col("facility_score").is_null() & ~pl.col("provisional")))
    if claims.is_empty():
        return _empty()
    shares = hi_share_columns(claims, batch.parameters)
    rows = claims["claim_row"]
    rate = batch.on_claims((shares["rate"] * SCALE).round().cast(pl.Int64).rename("rate"), rows)
    lines = batch.lines_x.select("line_id", "claim_id", "claim_row", "insured_amount", "fund_amount",
                                 "benefit_pct").with_columns(rate=batch.to_lines(rate))
    lines = lines.filter(pl.col("rate").is_not_null() & (pl.col("benefit_pct") * (SCALE // PERCENT) > pl.col("rate")))
    lines = lines.with_columns(
        expected=_share(pl.col("insured_amount").clip(lower_bound=0), pl.col("rate"), pl.lit(SCALE)),
    ).filter(pl.col("fund_amount") > pl.col("expected"))
    details = {name: batch.on_claims(values.rename(name), rows).gather(lines["claim_row"])
               for name, values in (("case", shares["case"]), ("clause", shares["clause"]),
                                    ("visit_category", claims["visit_category"]))}
    lines = lines.with_columns(**details)
    return findings_frame(lines, amount=pl.col("fund_amount") - pl.col("expected"), line=True,
                          claimed_pct=pl.col("benefit_pct"), allowed_pct=pl.col("rate") / (SCALE // PERCENT),
                          visit_category=pl.col("visit_category"), case=pl.col("case"), clause=pl.col("clause"))


# --- totals -----------------------------------------------------------------------------------------------

def totals(batch: AppraisalBatch) -> pl.DataFrame:
    claims = batch.claims_x.select("claim_id", "visit_day", "total_hospital", "total_insured", "patient_copay",
                                   "fund_claimed", "other_sources").with_columns(
        batch.claim_sums.select("lines", "lines_hospital", "lines_insured", "lines_fund"))
    claims = claims.with_columns(pl.col("total_hospital", "total_insured", "patient_copay", "fund_claimed",
                                        "other_sources").fill_null(0))
    tolerance = batch.parameter("claims.totals_tolerance_dong_per_line", claims["visit_day"])
    claims = claims.with_columns(
        tolerance=tolerance * pl.max_horizontal(pl.col("lines"), pl.lit(1)),
        fund_due=pl.col("total_insured") - pl.col("patient_copay") - pl.col("other_sources"),
    )
    off = lambda a, b: (pl.col(a) - pl.col(b)).abs() > pl.col("tolerance")  # noqa: E731
    claims = claims.with_columns(reason=pl.when(off("fund_claimed", "lines_fund")).then(pl.lit("fund_lines"))
                                 .when(off("fund_claimed", "fund_due")).then(pl.lit("fund_formula"))
                                 .when(off("total_insured", "lines_insured")).then(pl.lit("insured_lines"))
                                 .when(off("total_hospital", "lines_hospital")).then(pl.lit("hospital_lines")))
    found = claims.filter(pl.col("reason").is_not_null())
    due = pl.min_horizontal(pl.col("lines_fund"), pl.col("fund_due"),
                            pl.col("lines_insured") - pl.col("patient_copay") - pl.col("other_sources"))
    return findings_frame(found, amount=(pl.col("fund_claimed") - due).clip(lower_bound=0), line=False,
                          reason=pl.col("reason"), total_hospital=pl.col("total_hospital"),
                          lines_hospital=pl.col("lines_hospital"), total_insured=pl.col("total_insured"),
                          lines_insured=pl.col("lines_insured"), fund_claimed=pl.col("fund_claimed"),
                          lines_fund=pl.col("lines_fund"), fund_due=pl.col("fund_due"))


# --- prices -----------------------------------------------------------------------------------------------

def price_above(batch: AppraisalBatch) -> pl.DataFrame:
    priced = batch.priced_lines
    if priced is None:
        return _empty()
    found = priced.filter(pl.col("price").is_not_null()
                          & (pl.col("unit_price_milli") > pl.col("price") * MILLI))
    rate = pl.col("payment_rate").fill_null(PERCENT).clip(lower_bound=0)
    benefit = pl.col("benefit_pct").fill_null(PERCENT).clip(lower_bound=0)
    excess = (pl.col("unit_price_milli") - pl.col("price") * MILLI) * pl.col("quantity_milli").clip(lower_bound=0)
    amount = _share(excess, rate * benefit, pl.lit(MILLI * MILLI * PERCENT * PERCENT))
    return findings_frame(found, amount=amount, line=True, code=pl.col("code"),
                          unit_price=pl.col("unit_price_milli") / MILLI, approved_price=pl.col("price"),
                          quantity=pl.col("quantity_milli") / MILLI, day=pl.col("line_day"))


def not_in_price_list(batch: AppraisalBatch) -> pl.DataFrame:
    priced = batch.priced_lines
    if priced is None:
        return _empty()
    found = priced.filter(pl.col("price").is_null())
    found = found.with_columns(facility_code=batch.claim_column("facility_code", found))
    return findings_frame(found, amount=pl.col("fund_amount"), line=True, kind=pl.col("kind"), code=pl.col("code"),
                          facility_code=pl.col("facility_code"), day=pl.col("line_day"))


# --- diagnosis --------------------------------------------------------------------------------------------

def icd_unknown(batch: AppraisalBatch) -> pl.DataFrame:
    if batch.icd_known is None:
        return _empty()
    claims = batch.claims.select("claim_id", "fund_claimed", main=pl.col("main_icd").str.strip_chars(),
                                 other=pl.col("other_icd"))
    others = claims.select("claim_id", code=pl.col("other").str.split(";")).explode("code") \
        .with_columns(code=pl.col("code").str.strip_chars()).filter(pl.col("code").is_not_null() & (pl.col("code") != ""))
    codes = pl.concat([claims.select(code=pl.col("main")), others.select("code")]).drop_nulls().unique().sort("code")
    known = codes.with_columns(known=batch.icd_known(codes["code"]).cast(pl.Boolean).fill_null(False))
    main = claims.join(known, left_on="main", right_on="code", how="left").filter(~pl.col("known").fill_null(False))
    other = others.join(known, on="code", how="left").filter(~pl.col("known").fill_null(False)) \
        .group_by("claim_id").agg(codes=pl.col("code").unique().sort().str.join(";"))
    candidates = [main.select("claim_id", "fund_claimed", reason=pl.lit("main"), codes=pl.col("main").fill_null("")),
                  other.join(claims.select("claim_id", "fund_claimed"), on="claim_id")
                  .with_columns(reason=pl.lit("secondary"))]
    found = _first_by_priority(candidates)
    if found.is_empty():
        return _empty()
    main_code = pl.col("reason") == "main"
    return findings_frame(found, amount=pl.when(main_code).then(pl.col("fund_claimed")).otherwise(0), line=False,
                          reason=pl.col("reason"), codes=pl.col("codes")).with_columns(
        whole=found["reason"] == "main")


# --- days, beds, times ------------------------------------------------------------------------------------

def care_days(batch: AppraisalBatch) -> pl.DataFrame:
    claims = batch.claims_x.select("claim_id", "claim_row", "care_type", "treatment_days", "visit_day",
                                   "discharge_day")
    extra = batch.parameter("claims.treatment_days_extra", claims["visit_day"])
    service_days = batch.lines_x.filter(pl.col("service_day_care") & pl.col("is_service")) \
        .group_by("claim_row").agg(service_days=pl.col("line_day").n_unique().cast(pl.Int64))
    claims = claims.with_columns(
        extra=extra, service_days=batch.on_claims(service_days["service_days"], service_days["claim_row"], 0),
    ).with_columns(
        expected=pl.when(pl.col("care_type").is_in(ZERO_DAY_CARE)).then(pl.lit(0, pl.Int64))
        .when(pl.col("care_type").is_in(DATED_CARE))
        .then((pl.col("discharge_day") - pl.col("visit_day")).dt.total_days() + pl.col("extra"))
        .when(pl.col("care_type").is_in(SERVICE_DAY_CARE)).then(pl.col("service_days")))
    found = claims.filter(pl.col("expected").is_not_null()
                          & (pl.col("treatment_days").is_null() | (pl.col("treatment_days") != pl.col("expected"))))
    return findings_frame(found, amount=0, line=False, care_type=pl.col("care_type"),
                          treatment_days=pl.col("treatment_days"), expected=pl.col("expected"))


def bed_under_4h(batch: AppraisalBatch) -> pl.DataFrame:
    beds = batch.lines_x.filter(pl.col("is_bed") & pl.col("discharged_at").is_not_null())
    if beds.is_empty():
        return _empty()
    hours = batch.parameter("claims.bed_minimum_stay_hours", beds["visit_day"])
    beds = beds.with_columns(hours=hours, minutes=(pl.col("discharged_at") - pl.col("stay_start")).dt.total_minutes())
    found = beds.filter(pl.col("minutes") < pl.col("hours") * MINUTES_PER_HOUR)
    return findings_frame(found, amount=pl.col("fund_amount"), line=True, minutes=pl.col("minutes"),
                          hours=pl.col("hours"))


def bed_days(batch: AppraisalBatch) -> pl.DataFrame:
    beds = batch.lines_x.filter(pl.col("is_bed") & pl.col("discharged_at").is_not_null())
    if beds.is_empty():
        return _empty()
    allowance = batch.parameter("claims.bed_days_allowance", beds["visit_day"])
    beds = beds.with_columns(allowance=allowance).with_columns(
        allowed_days=(day_of(pl.col("discharged_at")) - day_of(pl.col("stay_start"))).dt.total_days()
        + pl.col("allowance")).with_columns(allowed_milli=pl.col("allowed_days") * MILLI)
    found = _excess_allocated(beds, "allowed_milli")
    return findings_frame(found, amount=pl.col("refused"), line=True, bed_days=pl.col("total_milli") / MILLI,
                          allowed_days=pl.col("allowed_days"))


def order_outside_stay(batch: AppraisalBatch) -> pl.DataFrame:
    lines = batch.lines_x
    ordered, performed = pl.col("ordered_at"), pl.col("performed_at")
    start, end = pl.col("arrived_at"), pl.col("discharged_at")
    outside = lambda moment: moment.is_not_null() & (  # noqa: E731
        (moment < start) | (end.is_not_null() & (moment > end)))
    found = lines.with_columns(reason=pl.when(outside(ordered)).then(pl.lit("ordered_outside"))
                               .when(outside(performed)).then(pl.lit("performed_outside"))
                               .when(performed.is_not_null() & ordered.is_not_null() & (performed < ordered))
                               .then(pl.lit("performed_before_ordered"))).filter(pl.col("reason").is_not_null())
    return findings_frame(found, amount=pl.col("fund_amount"), line=True, reason=pl.col("reason"),
                          ordered_at=_moment("ordered_at"), performed_at=_moment("performed_at"),
                          arrived_at=_moment("arrived_at"), discharged_at=_moment("discharged_at"))


def exam_fee_twice(batch: AppraisalBatch) -> pl.DataFrame:
    exams = batch.lines_x.filter(pl.col("inpatient") & (pl.col("cost_group") == EXAMINATION_GROUP))
    if exams.is_empty():
        return _empty()
    allowed = batch.parameter("claims.inpatient_examination_fees_max", exams["visit_day"])
    exams = exams.with_columns(allowed=allowed, allowed_milli=allowed * MILLI)
    found = _excess_allocated(exams, "allowed_milli")
    return findings_frame(found, amount=pl.col("refused"), line=True, fees=pl.col("total_milli") / MILLI,
                          allowed=pl.col("allowed"))


# --- claims compared with other claims --------------------------------------------------------------------

def overlapping_stays(batch: AppraisalBatch) -> pl.DataFrame:
    stays = batch.visits.filter(pl.col("care_type").is_in(INPATIENT_CARE) & pl.col("discharged_at").is_not_null()) \
        .select("claim_id", "person_key", "facility_code", "stay_start", "discharged_at", "in_batch")
    mine = stays.filter(pl.col("in_batch"))
    pairs = mine.join(stays.drop("in_batch"), on="person_key", suffix="_other").filter(
        (pl.col("claim_id") != pl.col("claim_id_other")) & (pl.col("facility_code") != pl.col("facility_code_other"))
        & (pl.col("stay_start") < pl.col("discharged_at_other"))
        & (pl.col("stay_start_other") < pl.col("discharged_at")))
    found = pairs.sort("claim_id", "claim_id_other").unique("claim_id", keep="first", maintain_order=True)
    return findings_frame(found, amount=0, line=False, other_claim_id=pl.col("claim_id_other"),
                          other_facility_code=pl.col("facility_code_other"),
                          other_from=_moment("stay_start_other"), other_to=_moment("discharged_at_other"))


def duplicate(batch: AppraisalBatch) -> pl.DataFrame:
    keys = ["person_key", "facility_code", "visit_day", "care_type"]
    visits = batch.visits.select("claim_id", "in_batch", *keys).with_columns(
        first_claim_id=pl.col("claim_id").min().over(keys))
    found = visits.filter(pl.col("in_batch") & (pl.col("claim_id") != pl.col("first_claim_id"))) \
        .join(batch.claims.select("claim_id", "fund_claimed"), on="claim_id")
    return findings_frame(found, amount=pl.col("fund_claimed"), line=False, first_claim_id=pl.col("first_claim_id"),
                          day=pl.col("visit_day")).with_columns(whole=pl.lit(True))


def _group_starts(frame: pl.DataFrame, keys: list[str]) -> pl.Series:
    """For a frame sorted by ``keys`` (and more): the row number of the first row of each row's group (no hash)."""
    changed = pl.any_horizontal([pl.col(key).ne_missing(pl.col(key).shift(1)) for key in keys])
    starts = frame.select(start=pl.when(changed | (pl.int_range(pl.len()) == 0)).then(pl.int_range(pl.len()))
                          .forward_fill())
    return starts["start"].cast(pl.UInt32)


def same_day_visits(batch: AppraisalBatch) -> pl.DataFrame:
    visits = batch.visits.filter(pl.col("care_type") == OUTPATIENT_EXAMINATION)
    if visits.is_empty():
        return _empty()
    group = ["person_key", "visit_day"]
    visits = visits.select("claim_id", "in_batch", "arrived_at", *group).sort(
        ["person_key", "visit_day", "arrived_at", "claim_id"])
    starts = _group_starts(visits, group)
    index = pl.int_range(visits.height, eager=True).cast(pl.UInt32)
    rank = (index - starts + 1).cast(pl.Int64)
    visits = visits.with_columns(rank=rank, first_claim_id=visits["claim_id"].gather(starts))
    # the visits of each day: the rank of the day's last visit (the next row starts another day), spread back
    last = visits.select(last=pl.when(pl.col("rank").shift(-1).fill_null(1) == 1)
                         .then(pl.col("rank")).backward_fill())
    visits = visits.with_columns(visits=last["last"])
    visits = visits.with_columns(allowed=batch.parameter("claims.outpatient_visits_per_day_max", visits["visit_day"]))
    found = visits.filter(pl.col("in_batch") & (pl.col("rank") > pl.col("allowed")))
    return findings_frame(found, amount=0, line=False, visits=pl.col("visits"), day=pl.col("visit_day"),
                          first_claim_id=pl.col("first_claim_id"))


#: Day numbers (days since 1970) are below 2^20 until the year 4840: a card's day is card × 2^20 + day.
DAY_SPAN = 1 << 20


def many_visits(batch: AppraisalBatch) -> pl.DataFrame:
    """Visits of a card in the period ending on each visit's day, counted without a window per card: the cards' days
    in one sorted column (card × 2^20 + day) with a running count, and for each visit the running count at the day
    the period starts (a binary search)."""
    visits = batch.visits.select("claim_id", "person_key", "visit_day", "arrived_at", "in_batch").sort(
        ["person_key", "visit_day", "arrived_at", "claim_id"])
    card = (pl.col("person_key") != pl.col("person_key").shift(1)).fill_null(True).cum_sum().cast(pl.Int64)
    visits = visits.with_columns(
        card=card, day=pl.col("visit_day").cast(pl.Int32).cast(pl.Int64),
        period=batch.parameter("claims.many_visits_period_days", visits["visit_day"]),
        allowed=batch.parameter("claims.many_visits_max", visits["visit_day"]))
    # every visit is one step of the running count; a visit's count is its position in its card's history, less
    # the visits before the period: those on days up to (day - period), found by binary search
    visits = visits.with_columns(key=pl.col("card") * DAY_SPAN + pl.col("day"),
                                 running=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    keys = visits["key"]
    cutoff = visits.select(pl.col("key") - pl.col("period"))[:, 0]
    before = keys.search_sorted(cutoff, side="right").cast(pl.Int64)  # visits with key <= the cutoff
    visits = visits.with_columns(count=pl.col("running") - before)
    found = visits.filter(pl.col("in_batch") & (pl.col("count") > pl.col("allowed")))
    if found.is_empty():
        return _empty()
    return findings_frame(found, amount=0, line=False, visits=pl.col("count"), period_days=pl.col("period"),
                          allowed=pl.col("allowed"), day=pl.col("visit_day"))


# --- the registry -----------------------------------------------------------------------------------------

register_rule(AppraisalRule(
    code="CARD_MISMATCH",
    description_en="Card code or date of birth not matching the registry",
    description_vi="Mã thẻ hoặc ngày sinh không khớp với dữ liệu quản lý",
    reference="HI Law 25/2008/QH12 Art 28(1) (the card presented at the visit); the agency's card check answers 050, "
              "051, 070 (no card, wrong number, wrong birth date); Circular 12/2026/TT-BTC Art 10(1)(a) [secondary]",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="claim", check=card_mismatch,
    messages={"": N_("The card or the person does not match the registry."),
              "unknown_person": N_("The patient is not found in the registry: the whole claim is refused."),
              "card_code": N_("Card {card_code} is not a card of this person in the registry: the whole claim is "
                              "refused."),
              "date_of_birth": N_("Date of birth {date_of_birth} differs from the registry's {registry_date_of_birth}: "
                                  "the whole claim is refused.")},
))
register_rule(AppraisalRule(
    code="CARD_NOT_VALID",
    description_en="No valid HI card or coverage on the visit day (no card, suspended, replaced)",
    description_vi="Không có thẻ BHYT hoặc thời gian tham gia còn giá trị vào ngày khám (hết hạn, tạm khóa, đã đổi thẻ)",
    reference="HI Law 25/2008/QH12 Art 16, 28 (as amended by Law 51/2024/QH15); the agency's card check answers 010, "
              "003/004, 110 (expired, replaced, withdrawn); Circular 12/2026/TT-BTC Art 10(1)(a) [secondary]",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="claim", check=card_not_valid,
    messages={"": N_("The card is not valid on {day}: the whole claim is refused."),
              "no_card": N_("No card of the person is valid on {day}: the whole claim is refused."),
              "suspended": N_("The person's card is suspended on {day}: the whole claim is refused."),
              "replaced": N_("Card {card_code} had been replaced by a new card on {day}: the whole claim is refused."),
              "no_coverage": N_("The person has no health insurance coverage on {day}: the whole claim is refused.")},
))
register_rule(AppraisalRule(
    code="CARD_EXPIRED_DURING_STAY",
    description_en="Costs more than the allowed days after the card expired during the treatment",
    description_vi="Chi phí phát sinh quá số ngày cho phép sau khi thẻ hết hạn trong thời gian điều trị",
    reference="Decree 188/2025/NĐ-CP Art 50(4) (in force 2025-07-01) [secondary]",
    valid_from=DECREE_188_ART_50, valid_until=None, level="line", check=card_expired_during_stay,
    parameters=("claims.card_expiry_grace_days",),
    messages={"": N_("The card expired on {valid_until}; this line of {day} is more than {grace_days} days later: "
                     "refused.")},
))
register_rule(AppraisalRule(
    code="NO_CONTRACT",
    description_en="The facility has no HI contract in force on the visit day",
    description_vi="Cơ sở khám chữa bệnh không có hợp đồng KCB BHYT còn hiệu lực vào ngày khám",
    reference="HI Law 25/2008/QH12 Art 24, 25 (the HI contract between the agency and the facility); Decree "
              "188/2025/NĐ-CP Art 22 [secondary]",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="claim", check=no_contract,
    messages={"": N_("Facility {facility_code} has no HI contract in force on {day}: the whole claim is refused.")},
))
register_rule(AppraisalRule(
    code="BENEFIT_LEVEL",
    description_en="Benefit level (MUC_HUONG) above what the card, the visit category and the facility give",
    description_vi="Mức hưởng cao hơn mức theo thẻ, đối tượng đến khám và cấp của cơ sở",
    reference="HI Law Art 22(1), (3)-(5) as replaced by Law 51/2024/QH15 Art 1(17) (in force 2025-01-01); Decree "
              "188/2025/NĐ-CP Art 19; the Ministry's visit categories (MA_DOITUONG_KCB); Circular 12/2026/TT-BTC Art "
              "10(1)(b) [secondary]",
    valid_from=visit_catalogue().valid_from, valid_until=None, level="line", check=benefit_level,
    parameters=("hi_benefits.self_referred_share", "hi_benefits.benefit_level"),
    messages={"": N_("Benefit level {claimed_pct}% is above the {allowed_pct}% that visit category {visit_category} "
                     "gives at this facility (HI Law Art {clause}): the excess fund share is refused.")},
))
register_rule(AppraisalRule(
    code="TOTALS",
    description_en="Summary amounts (XML1) not matching the lines, or fund share not equal to insured cost minus "
                   "co-payment",
    description_vi="Số tổng hợp (XML1) không khớp các dòng chi tiết, hoặc tiền quỹ thanh toán khác tổng chi BHYT trừ "
                   "cùng chi trả",
    reference="Decision 130/QĐ-BYT as amended by 4750/QĐ-BYT, XML1 (T_TONGCHI_BV, T_TONGCHI_BH = Σ XML2 + XML3; "
              "T_BHTT = T_TONGCHI_BH − T_BNCCT); Circular 12/2026/TT-BTC Art 10(1)(k) [secondary]",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="claim", check=totals,
    parameters=("claims.totals_tolerance_dong_per_line",),
    messages={"": N_("The claim's totals do not add up."),
              "fund_lines": N_("Fund share claimed {fund_claimed} differs from the sum of its lines {lines_fund}: the "
                               "excess is refused."),
              "fund_formula": N_("Fund share claimed {fund_claimed} differs from insured cost minus co-payment and "
                                 "other sources {fund_due}: the excess is refused."),
              "insured_lines": N_("Insured cost {total_insured} differs from the sum of its lines {lines_insured}."),
              "hospital_lines": N_("Total cost {total_hospital} differs from the sum of its lines {lines_hospital}.")},
))
register_rule(AppraisalRule(
    code="PRICE_ABOVE",
    description_en="Unit price above the facility's approved price on the day",
    description_vi="Đơn giá cao hơn giá được phê duyệt của cơ sở tại ngày thực hiện",
    reference="HI Law 25/2008/QH12 Art 30, 31 (payment at the prices approved by the competent authority); "
              "Decree 90/2026/NĐ-CP Art 88 (prices not approved); Circular 12/2026/TT-BTC Art 10(1)(d) [secondary]",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="line", check=price_above,
    messages={"": N_("Unit price {unit_price} of {code} is above the approved price {approved_price} on {day}: the "
                     "fund's share of the excess is refused.")},
))
register_rule(AppraisalRule(
    code="NOT_IN_PRICE_LIST",
    description_en="Drug, supply, service or bed not in the facility's approved list on the day",
    description_vi="Thuốc, vật tư, dịch vụ hoặc giường không có trong danh mục được duyệt của cơ sở tại ngày thực hiện",
    reference="Circular 12/2026/TT-BTC Art 7, 8 and 10(1)(c) (the facility's list approved on the portal) "
              "[secondary]; HI Law Art 21 (benefit scope)",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="line", check=not_in_price_list,
    messages={"": N_("Item {code} is not in the approved list of facility {facility_code} on {day}: the line is "
                     "refused.")},
))
register_rule(AppraisalRule(
    code="ICD_UNKNOWN",
    description_en="Diagnosis code not in the ICD-10 catalogue",
    description_vi="Mã bệnh không có trong danh mục ICD-10",
    reference="Decision 130/QĐ-BYT as amended, XML1 MA_BENH_CHINH and MA_BENH_KT (ICD-10 codes of the Ministry's "
              "catalogue); Circular 06/2026/TT-BYT (ICD-10 coding, in force 2026-07-01) [secondary]",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="claim", check=icd_unknown,
    messages={"": N_("Unknown ICD-10 code(s) {codes}."),
              "main": N_("Main diagnosis {codes} is not an ICD-10 code: the whole claim is refused."),
              "secondary": N_("Secondary diagnosis code(s) {codes} are not ICD-10 codes.")},
))
register_rule(AppraisalRule(
    code="CARE_DAYS",
    description_en="Treatment days (SO_NGAY_DTRI) not consistent with the care type",
    description_vi="Số ngày điều trị không phù hợp với loại hình khám chữa bệnh",
    reference="Decision 130/QĐ-BYT as amended by 4750/QĐ-BYT, XML1 SO_NGAY_DTRI by MA_LOAI_KCB (Decision 824/QĐ-BYT "
              "2023 appendix 1) [secondary]",
    valid_from=TABLES_4750, valid_until=None, level="claim", check=care_days,
    parameters=("claims.treatment_days_extra",), refuses=False,
    messages={"": N_("Treatment days {treatment_days} do not match care type {care_type}, which gives {expected}: "
                     "for review.")},
))
register_rule(AppraisalRule(
    code="BED_UNDER_4H",
    description_en="Bed charged on a stay shorter than the minimum",
    description_vi="Thanh toán tiền giường khi thời gian điều trị dưới 4 giờ",
    reference="Circular 15/2018/TT-BYT Art 6 and later price circulars (a stay counts a bed day only after 4 hours); "
              "care type 09 'inpatient under 4 hours' [secondary]",
    valid_from=BED_DAY_COUNTING, valid_until=None, level="line", check=bed_under_4h,
    parameters=("claims.bed_minimum_stay_hours",),
    messages={"": N_("A bed is charged on a stay of {minutes} minutes, under {hours} hours: the line is refused.")},
))
register_rule(AppraisalRule(
    code="BED_DAYS",
    description_en="Bed days above the days of the stay plus the allowance",
    description_vi="Số ngày giường vượt quá số ngày điều trị cộng thêm một ngày",
    reference="Circular 15/2018/TT-BYT Art 6 and later price circulars (treatment days = discharge day − admission "
              "day, + 1 at most) [secondary]",
    valid_from=BED_DAY_COUNTING, valid_until=None, level="line", check=bed_days,
    parameters=("claims.bed_days_allowance",),
    messages={"": N_("{bed_days} bed days charged for a stay allowing {allowed_days}: the excess is refused.")},
))
register_rule(AppraisalRule(
    code="ORDER_OUTSIDE_STAY",
    description_en="Order or performance time outside the stay, or performed before ordered",
    description_vi="Thời gian y lệnh hoặc thực hiện y lệnh ngoài thời gian điều trị, hoặc thực hiện trước khi ra y lệnh",
    reference="Decision 130/QĐ-BYT as amended, XML2/XML3 NGAY_YL and NGAY_TH_YL (within the episode; performed after "
              "ordered); Circular 12/2026/TT-BTC Art 10(1)(k) [secondary]",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="line", check=order_outside_stay,
    messages={"": N_("The line's times are not consistent with the stay: refused."),
              "ordered_outside": N_("Ordered at {ordered_at}, outside the stay ({arrived_at} to {discharged_at}): the "
                                    "line is refused."),
              "performed_outside": N_("Performed at {performed_at}, outside the stay ({arrived_at} to "
                                      "{discharged_at}): the line is refused."),
              "performed_before_ordered": N_("Performed at {performed_at}, before it was ordered at {ordered_at}: the "
                                             "line is refused.")},
))
register_rule(AppraisalRule(
    code="EXAM_FEE_TWICE",
    description_en="More than the allowed examination fees in one inpatient stay",
    description_vi="Thanh toán tiền khám quá số lần cho phép trong một đợt điều trị nội trú",
    reference="Agency practice: the inpatient bed-day price covers the daily examination (price circulars since "
              "Circular 15/2018/TT-BYT) [unverified]",
    valid_from=BED_DAY_COUNTING, valid_until=None, level="line", check=exam_fee_twice,
    parameters=("claims.inpatient_examination_fees_max",),
    messages={"": N_("{fees} examination fees in one inpatient stay, {allowed} allowed: the extra fees are refused.")},
))
register_rule(AppraisalRule(
    code="OVERLAPPING_STAYS",
    description_en="One person inpatient at two facilities at the same time",
    description_vi="Một người điều trị nội trú tại hai cơ sở trong cùng thời gian",
    reference="Circular 12/2026/TT-BTC Art 10(1)(h) (interval between visits) [secondary]; agency practice",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="claim", check=overlapping_stays, refuses=False,
    messages={"": N_("The stay overlaps stay {other_claim_id} at facility {other_facility_code} ({other_from} to "
                     "{other_to}): for review.")},
))
register_rule(AppraisalRule(
    code="DUPLICATE",
    description_en="Same person, facility, day and care type as an earlier claim",
    description_vi="Trùng người bệnh, cơ sở, ngày và loại hình với một hồ sơ đã gửi trước",
    reference="Circular 48/2017/TT-BYT Art 4(3)(b) (one record per episode) [secondary]; agency practice",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="claim", check=duplicate,
    messages={"": N_("Same person, facility, day ({day}) and care type as claim {first_claim_id}: the whole claim is "
                     "refused.")},
))
register_rule(AppraisalRule(
    code="SAME_DAY_VISITS",
    description_en="Several outpatient visits of one person on one day",
    description_vi="Một người khám ngoại trú nhiều lần trong một ngày",
    reference="Circular 12/2026/TT-BTC Art 10(1)(h) (interval between visits) [secondary]; agency practice",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="claim", check=same_day_visits,
    parameters=("claims.outpatient_visits_per_day_max",), refuses=False,
    messages={"": N_("{visits} outpatient visits on {day} (the first is claim {first_claim_id}): for review.")},
))
register_rule(AppraisalRule(
    code="MANY_VISITS",
    description_en="A card used more often than the threshold in a period",
    description_vi="Thẻ được sử dụng nhiều lần hơn ngưỡng trong kỳ",
    reference="Circular 12/2026/TT-BTC Art 10(1)(h) (interval between visits) [secondary]; agency practice "
              "(thematic appraisal of frequent visits)",
    valid_from=ELECTRONIC_CLAIMS, valid_until=None, level="claim", check=many_visits,
    parameters=("claims.many_visits_max", "claims.many_visits_period_days"), refuses=False,
    messages={"": N_("Visit number {visits} of this card in {period_days} days to {day}, above {allowed}: for "
                     "review.")},
))
