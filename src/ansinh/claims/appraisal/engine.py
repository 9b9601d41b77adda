"""The automatic appraisal engine: every registered rule over a batch of claims, on columns.

**The batch** (:class:`AppraisalBatch`) holds Polars frames, built by :mod:`.service` from the tables or by a test or
benchmark directly (each frame's columns are in the ``*_SCHEMA`` dictionaries below; missing optional columns are
nulls). Times are Vietnam's local times without a zone (the tables keep UTC; the service converts), so that a
visit's day is the day the facility wrote.

- ``claims``: the Claim columns the rules read (one row per current version of an episode);
- ``lines``: the ClaimLine columns;
- ``people``: the registry's date of birth of each person;
- ``cards``: every version of the people's HI cards (code, validity, status, the day a later version replaced it,
  the day five consecutive years were reached);
- ``coverage``: the people's HI coverage periods;
- ``facilities``: per facility and day, whether an HI contract is in force and its classification (the arguments
  of the cost-sharing calculator: level of 2025, level before 2025, score, provisional, health station);
- ``prices``: the approved prices (the frame of ``claims.prices.prices_for``);
- ``icd_known``: a function telling which ICD-10 codes exist (``claims.catalogues.icd10_is_known``);
- ``parameters``: the dated legal parameters;
- ``history``: other claims of the same people already received (other facilities, other months), read by the
  rules that compare a claim with others (duplicates, overlapping stays, visits per day and per period); no findings
  are made on them.

A frame left ``None`` means "not available": the rules that need it find nothing (prices and the ICD-10 catalogue
come from other parts of the system being built); an empty frame means "none exist".

**The result** (:func:`appraise`): the findings (claim, line or null, rule, amount, details), sorted; per line its
disallowed amount and outcome; per claim the same. A finding's amount is the fund's share (T_BHTT) the rule refuses,
never negative, never above the line's fund amount (line-level rule) or the claim's fund claimed (claim-level rule);
a rule that only flags for review always has 0.

Adding up: when several rules refuse parts of the same line, the line's disallowed amount is the **largest** of
their amounts (each rule states on its own what of the line it refuses, e.g. the price excess and the benefit
excess overlap: a sum would count the same dong twice); a claim-level finding that refuses the whole claim (card
not valid, no contract, duplicate, unknown main diagnosis) refuses every line. A claim's disallowed amount is
min(fund claimed, Σ its lines' disallowed + Σ its claim-level amounts). Outcome: ``rejected`` when all of the fund
claimed (or of the line's fund amount) is refused, ``partly_accepted`` when part is, ``accepted`` when nothing is
(a claim with only flags is accepted, and counted as flagged for review).

Deterministic: the same frames give the same findings, whatever the order of their rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import NamedTuple

import polars as pl

from ansinh.claims.appraisal.rules import FINDING_SCHEMA, AppraisalRule, appraisal_rules
from ansinh.rules.parameters import ParameterSet, get_parameters

Datetime = pl.Datetime("us")

CLAIM_SCHEMA: dict[str, pl.DataType] = {
    "claim_id": pl.Int64, "facility_code": pl.String, "person_id": pl.Int64, "card_code": pl.String,
    "date_of_birth": pl.Date, "visit_category": pl.String, "care_type": pl.String, "main_icd": pl.String,
    "other_icd": pl.String, "arrived_at": Datetime, "admitted_at": Datetime, "discharged_at": Datetime,
    "treatment_days": pl.Int64, "total_hospital": pl.Int64, "total_insured": pl.Int64, "patient_copay": pl.Int64,
    "patient_pays": pl.Int64, "fund_claimed": pl.Int64, "other_sources": pl.Int64,
}
LINE_SCHEMA: dict[str, pl.DataType] = {
    "line_id": pl.Int64, "claim_id": pl.Int64, "kind": pl.String, "code": pl.String, "cost_group": pl.String,
    "quantity_milli": pl.Int64, "unit_price_milli": pl.Int64, "payment_rate": pl.Int64, "benefit_pct": pl.Int64,
    "hospital_amount": pl.Int64, "insured_amount": pl.Int64, "fund_amount": pl.Int64, "ordered_at": Datetime,
    "performed_at": Datetime,
}
PEOPLE_SCHEMA: dict[str, pl.DataType] = {"person_id": pl.Int64, "date_of_birth": pl.Date}
CARD_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64, "card_code": pl.String, "valid_from": pl.Date, "valid_until": pl.Date,
    "status": pl.String, "superseded_on": pl.Date, "five_years_from": pl.Date,
}
COVERAGE_SCHEMA: dict[str, pl.DataType] = {"person_id": pl.Int64, "valid_from": pl.Date, "valid_to": pl.Date}
FACILITY_SCHEMA: dict[str, pl.DataType] = {
    "facility_code": pl.String, "on": pl.Date, "contract": pl.Boolean, "level_2025": pl.String,
    "former_level": pl.String, "score": pl.Int64, "provisional": pl.Boolean, "health_station": pl.Boolean,
}
PRICE_SCHEMA: dict[str, pl.DataType] = {
    "facility_code": pl.String, "kind": pl.String, "code": pl.String, "price": pl.Int64, "valid_from": pl.Date,
    "in_force_until": pl.Date,
}
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "claim_id": pl.Int64, "facility_code": pl.String, "person_id": pl.Int64, "card_code": pl.String,
    "care_type": pl.String, "arrived_at": Datetime, "admitted_at": Datetime, "discharged_at": Datetime,
}
#: Columns a frame must have (the others may be left out: nulls).
REQUIRED = {
    "claims": ("claim_id", "facility_code", "arrived_at", "fund_claimed"),
    "lines": ("line_id", "claim_id", "fund_amount"),
}
#: Care types (MA_LOAI_KCB, Decision 824/QĐ-BYT app. 1) of a stay in a bed: inpatient, day inpatient, inpatient
#: under 4 hours (Law 15/2023/QH15 on medical examination counts day treatment as inpatient care).
INPATIENT_CARE = ("03", "04", "09")
#: Chronic outpatient care with services (dialysis...): its treatment days are the days with a service.
SERVICE_DAY_CARE = ("08",)
OUTPATIENT_EXAMINATION = "01"
FAR_FUTURE = date(9999, 12, 31)
OUTCOMES = ("accepted", "partly_accepted", "rejected")


def conform(frame: pl.DataFrame | None, schema: dict[str, pl.DataType], name: str) -> pl.DataFrame | None:
    """The frame with exactly the schema's columns, in its order and types (a missing optional column: nulls)."""
    if frame is None:
        return None
    missing = [column for column in REQUIRED.get(name, ()) if column not in frame.columns]
    if missing:
        raise ValueError(f"appraisal batch: {name} lacks the column(s) {missing}")
    return frame.select([
        (pl.col(column).cast(dtype) if column in frame.columns else pl.lit(None, dtype=dtype)).alias(column)
        for column, dtype in schema.items()])


@dataclass(eq=False)
class AppraisalBatch:
    claims: pl.DataFrame
    lines: pl.DataFrame
    people: pl.DataFrame | None = None
    cards: pl.DataFrame | None = None
    coverage: pl.DataFrame | None = None
    facilities: pl.DataFrame | None = None
    prices: pl.DataFrame | None = None
    icd_known: Callable[[pl.Series], pl.Series] | None = None
    parameters: ParameterSet = field(default_factory=get_parameters)
    history: pl.DataFrame | None = None
    _windows: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.claims = conform(self.claims, CLAIM_SCHEMA, "claims")
        self.lines = conform(self.lines, LINE_SCHEMA, "lines")
        self.people = conform(self.people, PEOPLE_SCHEMA, "people")
        self.cards = conform(self.cards, CARD_SCHEMA, "cards")
        self.coverage = conform(self.coverage, COVERAGE_SCHEMA, "coverage")
        self.facilities = conform(self.facilities, FACILITY_SCHEMA, "facilities")
        self.prices = conform(self.prices, PRICE_SCHEMA, "prices")
        self.history = conform(self.history, HISTORY_SCHEMA, "history")
        if self.claims["claim_id"].n_unique() != self.claims.height:
            raise ValueError("appraisal batch: a claim_id appears twice")
        if self.lines["line_id"].n_unique() != self.lines.height:
            raise ValueError("appraisal batch: a line_id appears twice")

    # --- the batch restricted to a rule's dates --------------------------------------------------------

    def within(self, valid_from: date, valid_until: date | None) -> AppraisalBatch:
        """The batch of the claims whose visit day falls within the dates; the others become history (they still
        count for the rules comparing claims)."""
        key = (valid_from, valid_until)
        if key in self._windows:
            return self._windows[key]
        day = self.claims_x["visit_day"]
        inside = day >= valid_from
        if valid_until is not None:
            inside = inside & (day <= valid_until)
        if inside.all():
            batch = self
        else:
            claims = self.claims_x.select(list(CLAIM_SCHEMA))  # the order of ``day``
            kept = claims.filter(inside)
            moved = claims.filter(~inside).select(list(HISTORY_SCHEMA))
            history = moved if self.history is None else pl.concat([self.history, moved])
            batch = AppraisalBatch(
                claims=kept, lines=self.lines.join(kept.select("claim_id"), on="claim_id", how="semi"),
                people=self.people, cards=self.cards, coverage=self.coverage, facilities=self.facilities,
                prices=self.prices, icd_known=self.icd_known, parameters=self.parameters, history=history)
        self._windows[key] = batch
        return batch

    # --- derived columns, computed once and shared by the rules ---------------------------------------

    def parameter(self, name: str, dates: pl.Series) -> pl.Series:
        """A dated parameter on each row's date (Int64; ratios in millionths)."""
        return self.parameters[name].column(dates)

    def parameter_or_null(self, name: str, dates: pl.Series) -> pl.Series:
        """As :meth:`parameter`, null on the days before its first value (a rule that did not exist yet)."""
        first = self.parameters[name].first_date
        before = (dates < first).fill_null(False)
        if not before.any():
            return self.parameter(name, dates)
        values = self.parameter(name, dates.set(before, first))
        return values.set(before, None)

    @cached_property
    def claims_x(self) -> pl.DataFrame:
        """The claims with their row number (``claim_row``, to gather a claim's values onto its lines without a
        join), visit day (arrival), start of the stay (admission, else arrival), the days of arrival, stay start and
        discharge, and the key of the person (:func:`person_key`)."""
        claims = self.claims if self.claims["claim_id"].is_sorted() else self.claims.sort("claim_id")
        return claims.with_row_index("claim_row").with_columns(first_card=first_card_code()).with_columns(
            visit_day=day_of(pl.col("arrived_at")),
            stay_start=pl.coalesce("admitted_at", "arrived_at"),
            discharge_day=day_of(pl.col("discharged_at")),
            person_key=person_key(),
        ).with_columns(stay_start_day=day_of(pl.col("stay_start")))

    def on_claims(self, values: pl.Series, rows: pl.Series, default=None) -> pl.Series:
        """A claim-aligned column (one value per row of ``claims_x``) from values given for some claim rows."""
        full = constant(values.name, default, self.claims.height, values.dtype)
        return full.scatter(rows, values) if len(rows) else full

    def to_lines(self, values: pl.Series) -> pl.Series:
        """A claim-aligned column gathered onto the rows of ``lines_x`` (no join)."""
        return values.gather(self.lines_x["claim_row"])

    @cached_property
    def lines_x(self) -> pl.DataFrame:
        """The lines (sorted by ``line_id``; those of a claim not in the batch left out) with their claim's row,
        visit day, arrival, discharge and start of stay, whether the claim is an inpatient stay (``inpatient``) or
        chronic care counted by its days with a service (``service_day_care``), the line's own day (performed, else
        ordered, else the claim's arrival), and whether it is a bed or a service. A line finds its claim by binary
        search in the claims sorted by id (no hash join); a claim's value is gathered by its row (texts are left on
        the claim: gather them onto the few lines a rule finds)."""
        claims = self.claims_x
        lines = self.lines if self.lines["line_id"].is_sorted() else self.lines.sort("line_id")
        ids = claims["claim_id"]
        if claims.is_empty():
            lines = lines.clear().with_columns(claim_row=pl.lit(None, pl.UInt32))
        else:
            found = ids.search_sorted(lines["claim_id"], side="left").cast(pl.UInt32)
            found = found.set(found >= claims.height, 0)  # past the last claim: checked below
            lines = lines.with_columns(claim_row=found)
            lines = lines.filter(ids.gather(lines["claim_row"]) == lines["claim_id"])
        rows = lines["claim_row"]
        kinds = claims.select(inpatient=pl.col("care_type").is_in(INPATIENT_CARE).fill_null(False),
                              service_day_care=pl.col("care_type").is_in(SERVICE_DAY_CARE).fill_null(False))
        gathered = {name: claims[name].gather(rows) for name in
                    ("visit_day", "arrived_at", "discharged_at", "stay_start")}
        gathered.update({name: kinds[name].gather(rows) for name in kinds.columns})
        return lines.with_columns(**gathered).with_columns(
            line_day=day_of(pl.coalesce("performed_at", "ordered_at", "arrived_at")),
            is_bed=(pl.col("kind") == "bed").fill_null(False),
            is_service=(pl.col("kind") == "service").fill_null(False))

    def claim_column(self, name: str, lines: pl.DataFrame) -> pl.Series:
        """A claim's column gathered onto some rows of ``lines_x`` (by their ``claim_row``)."""
        return self.claims_x[name].gather(lines["claim_row"])

    @cached_property
    def claim_sums(self) -> pl.DataFrame:
        """Per claim of the batch (in the order of ``claims_x``): its lines' hospital, insured and fund amounts, the
        fund amounts not below 0, and their count (0 without lines)."""
        amounts = ("hospital_amount", "insured_amount", "fund_amount")
        lines = self.lines_x.select("claim_row", *amounts).with_columns(
            fund_positive=pl.col("fund_amount").clip(lower_bound=0), one=pl.lit(1, pl.Int64))
        sums_of = {"lines": "one", "lines_hospital": "hospital_amount", "lines_insured": "insured_amount",
                   "lines_fund": "fund_amount", "lines_fund_positive": "fund_positive"}
        if lines["claim_row"].is_sorted():  # the lines of a claim together (as intake numbers them): running sums
            last = (lines["claim_row"] != lines["claim_row"].shift(-1)).fill_null(True)
            running = lines.select(pl.col(list(sums_of.values())).cum_sum(), "claim_row").filter(last)
            sums = running.select("claim_row", **{name: pl.col(column).diff().fill_null(pl.col(column))
                                                  for name, column in sums_of.items()})
        else:
            sums = lines.group_by("claim_row").agg(**{name: pl.col(column).sum() for name, column in sums_of.items()})
        full = self.claims_x.select("claim_id", "claim_row")
        columns = {name: self.on_claims(sums[name], sums["claim_row"], 0)
                   for name in ("lines", "lines_hospital", "lines_insured", "lines_fund", "lines_fund_positive")}
        return full.with_columns(**columns)

    @cached_property
    def card_on_visit(self) -> pl.DataFrame | None:
        """Per claim (in the order of ``claims_x``), from the registry's cards of its person: ``codes_known`` (every
        card code of the claim is one of the person's; false without a person; else ``bad_code`` is the first that
        is not), ``in_force`` (a card version is
        valid and not yet replaced on the visit day), ``code_current`` (the claim's first code is the code of such a
        version), ``suspended``, ``covered`` (an HI coverage period holds the day; true without coverage data),
        ``card_valid_until`` (the latest end of the versions in force; null when open-ended) and
        ``five_years_from``."""
        if self.cards is None:
            return None
        claims = self.claims_x
        known_person = claims.filter(pl.col("person_id").is_not_null())
        asked = known_person.select("claim_row", "person_id", "visit_day", "card_code", code="first_card")
        pairs = asked.join(self.cards, on="person_id", how="inner", suffix="_registry")
        def flags(rows: pl.Series) -> pl.Series:  # a new column each time: scatter writes in place
            column = constant("flag", False, claims.height, pl.Boolean)
            return column.scatter(rows, True) if len(rows) else column

        # every code of the claim is one of the person's (claims with several codes, rare, one by one); the first
        # that is not: ``bad_code``
        codes_known = flags(pairs.filter(pl.col("card_code_registry") == pl.col("code"))["claim_row"])
        several = asked.filter(pl.col("card_code").str.contains(";", literal=True))
        if several.height:
            codes = several.with_columns(each=pl.col("card_code").str.split(";")).explode("each") \
                .with_columns(each=pl.col("each").str.strip_chars())
            known = self.cards.select("person_id", each="card_code").unique().with_columns(hit=pl.lit(True))
            missing = codes.join(known, on=["person_id", "each"], how="left").filter(pl.col("hit").is_null()) \
                .sort("claim_row", "each").filter(pl.col("claim_row") != pl.col("claim_row").shift(1).fill_null(-1))
            codes_known = codes_known & ~flags(missing["claim_row"])
            first_missing = self.on_claims(missing["each"].rename("bad_code"), missing["claim_row"])
        else:
            first_missing = constant("bad_code", None, claims.height, pl.String)
        bad_code = pl.select(pl.when(codes_known).then(None).when(first_missing.is_not_null()).then(first_missing)
                             .otherwise(claims["first_card"])).to_series().rename("bad_code")
        in_force = pairs.filter(
            (pl.col("valid_from") <= pl.col("visit_day"))
            & (pl.col("visit_day") <= pl.col("valid_until").fill_null(FAR_FUTURE))
            & (pl.col("superseded_on").is_null() | (pl.col("superseded_on") > pl.col("visit_day"))))
        # the latest end per claim: sorted by claim then end (open-ended last), the last row of each claim
        last = in_force
        if in_force["claim_row"].n_unique() != in_force.height:  # several versions in force on a day (rare)
            last = in_force.sort(["claim_row", "valid_until"], nulls_last=True) \
                .filter(pl.col("claim_row") != pl.col("claim_row").shift(-1).fill_null(-1))
        earliest_five = in_force.filter(pl.col("five_years_from").is_not_null()) \
            .sort(["claim_row", "five_years_from"]) \
            .filter(pl.col("claim_row") != pl.col("claim_row").shift(1).fill_null(-1))
        result = pl.DataFrame({
            "claim_id": claims["claim_id"], "codes_known": codes_known, "bad_code": bad_code,
            "in_force": flags(in_force["claim_row"]),
            "code_current": flags(in_force.filter(pl.col("card_code_registry") == pl.col("code"))["claim_row"]),
            "suspended": flags(in_force.filter(pl.col("status") == "suspended")["claim_row"]),
            "card_valid_until": self.on_claims(last["valid_until"], last["claim_row"]),
            "five_years_from": self.on_claims(earliest_five["five_years_from"], earliest_five["claim_row"]),
        })
        if self.coverage is None:
            return result.with_columns(covered=pl.lit(True))
        covered = asked.select("claim_row", "person_id", "visit_day").join(self.coverage, on="person_id") \
            .filter((pl.col("valid_from") <= pl.col("visit_day"))
                    & (pl.col("visit_day") <= pl.col("valid_to").fill_null(FAR_FUTURE)))
        return result.with_columns(covered=flags(covered["claim_row"]))

    @cached_property
    def claim_facility(self) -> pl.DataFrame | None:
        """Per claim (in the order of ``claims_x``): its facility's row of ``facilities`` on the visit day (nulls
        when there is none)."""
        if self.facilities is None:
            return None
        found = self.claims_x.select("claim_row", "facility_code", "visit_day").join(
            self.facilities.unique(["facility_code", "on"], keep="first"),
            left_on=["facility_code", "visit_day"], right_on=["facility_code", "on"], how="inner")
        rows = found["claim_row"]
        frame = self.claims_x.select("claim_id", "facility_code", "visit_day")
        return frame.with_columns(**{name: self.on_claims(found[name], rows) for name in
                                     ("contract", "level_2025", "former_level", "score", "provisional",
                                      "health_station")})

    @cached_property
    def priced_lines(self) -> pl.DataFrame | None:
        """Per line (the rows of ``lines_x``): the approved price of its item at its facility in force on the line's
        day (``price`` null when there is none; the latest start when several are)."""
        if self.prices is None:
            return None
        lines = self.lines_x.select("line_id", "claim_id", "claim_row", "kind", "code", "line_day",
                                    "quantity_milli", "unit_price_milli", "payment_rate", "benefit_pct",
                                    "fund_amount")
        facility = self.claims_x.select(item_hashes("facility_code"))
        lines = lines.with_columns(facility_a=facility["facility_a"].gather(lines["claim_row"]),
                                   facility_b=facility["facility_b"].gather(lines["claim_row"]))
        return lines.with_columns(price=price_in_force(lines, self.prices)).drop("facility_a", "facility_b")

    @cached_property
    def visits(self) -> pl.DataFrame:
        """The claims of the batch and of the history, for the rules comparing claims: ``claim_id, person_key,
        facility_code, care_type, visit_day, arrived_at, stay_start, discharged_at, in_batch``."""
        columns = ["claim_id", "person_key", "facility_code", "care_type", "visit_day", "arrived_at", "stay_start",
                   "discharged_at"]
        batch = self.claims_x.select(columns).with_columns(in_batch=pl.lit(True))
        if self.history is None or self.history.is_empty():
            return batch
        history = self.history.with_columns(
            person_key=person_key(), visit_day=day_of(pl.col("arrived_at")),
            stay_start=pl.coalesce("admitted_at", "arrived_at"),
        ).select(columns).with_columns(in_batch=pl.lit(False))
        history = history.join(batch.select("claim_id"), on="claim_id", how="anti")
        return pl.concat([batch, history])


#: Seeds of the two hashes of an item (facility, kind, code).
ITEM_SEEDS = (20_260_301, 19_800_501)
#: An odd multiplier mixing the hash of the facility into the hash of (kind, code) (64-bit arithmetic wraps).
MIX = 0x9E3779B97F4A7C15


def item_hashes(facility: str) -> list[pl.Expr]:
    """The two hashes of a facility code (``facility_a``, ``facility_b``)."""
    return [pl.col(facility).hash(seed).alias(name) for seed, name in zip(ITEM_SEEDS, ("facility_a", "facility_b"))]


def _items(frame: pl.DataFrame) -> pl.DataFrame:
    """``item_a`` and ``item_b``: two independent 64-bit hashes of (facility, kind, code), from the facility's hashes
    (columns ``facility_a``, ``facility_b``) and the item's own."""
    mix = pl.lit(MIX, dtype=pl.UInt64)
    return frame.with_columns(
        item_a=pl.col("facility_a") * mix + pl.struct("kind", "code").hash(ITEM_SEEDS[0]),
        item_b=pl.col("facility_b") * mix + pl.struct("kind", "code").hash(ITEM_SEEDS[1]))


def price_in_force(lines: pl.DataFrame, prices: pl.DataFrame) -> pl.Series:
    """For each row of ``lines`` (``facility_a, facility_b, kind, code, line_day``), in its order: the price of its
    item in force on its day, or null. The join is on a 64-bit hash of the item (facility, kind, code) and every
    match is checked on a second, independent 64-bit hash: a wrong price needs both to collide (about 2^-128 for a
    pair of items), while a join on the three texts costs twice as long. Items with one price in the list take one
    hash join; items with several (a price changed) take the one in force, the latest start first."""
    keyed = _items(lines.select("facility_a", "facility_b", "kind", "code", "line_day").with_row_index("_row")) \
        .select("_row", "item_a", "item_b", "line_day")
    listed = _items(prices.with_columns(item_hashes("facility_code"))).select(
        "item_a", item_b_list="item_b", price="price", valid_from="valid_from", in_force_until="in_force_until")
    several = listed["item_a"].is_duplicated()
    single, multiple = listed.filter(~several), listed.filter(several)
    matched = keyed.join(single, on="item_a", how="inner")
    if multiple.height:
        matched = pl.concat([matched, keyed.join(multiple, on="item_a", how="inner")])
    matched = matched.filter(
        (pl.col("item_b") == pl.col("item_b_list")) & (pl.col("valid_from") <= pl.col("line_day"))
        & (pl.col("in_force_until").is_null() | (pl.col("line_day") <= pl.col("in_force_until"))))
    if multiple.height:  # several in force on one day: the latest start (then the lowest price)
        matched = matched.sort(["_row", "valid_from", "price"], descending=[False, True, False]) \
            .filter(pl.col("_row") != pl.col("_row").shift(1).fill_null(-1))
    full = constant("price", None, lines.height, pl.Int64)
    return full.scatter(matched["_row"], matched["price"]) if matched.height else full


MICROSECONDS_PER_DAY = 86_400_000_000


def day_of(moment: pl.Expr) -> pl.Expr:
    """The day of a moment (a Datetime in microseconds, local time): integer division, several times faster than
    ``dt.date()``."""
    return (moment.cast(pl.Int64) // MICROSECONDS_PER_DAY).cast(pl.Int32).cast(pl.Date)


def constant(name: str, value, length: int, dtype: pl.DataType) -> pl.Series:
    """A new column of one value (scatter writes into it in place)."""
    return pl.Series(name, [], dtype=dtype).extend_constant(value, length)


def first_card_code() -> pl.Expr:
    return pl.col("card_code").str.split(";").list.first().str.strip_chars()


#: Keys of people without a registry id are negative: -1 - (a 62-bit hash of their first card code).
UNKNOWN_PERSON_BITS = 62


def person_key() -> pl.Expr:
    """The person of a claim as an integer: the registry's id when it is known, else a negative key from the (first)
    card code (claims of unknown people are refused anyway; the key only groups their visits)."""
    return pl.when(pl.col("person_id").is_not_null()).then(pl.col("person_id")) \
        .otherwise(-1 - (first_card_code().hash(ITEM_SEEDS[0]) % (1 << UNKNOWN_PERSON_BITS)).cast(pl.Int64))


class Appraisal(NamedTuple):
    findings: pl.DataFrame  # claim_id, line_id, rule, amount, details, whole
    lines: pl.DataFrame  # line_id, claim_id, fund_amount, disallowed, outcome
    claims: pl.DataFrame  # claim_id, fund_claimed, disallowed, outcome, findings, flags


def run_rule(rule: AppraisalRule, batch: AppraisalBatch) -> pl.DataFrame:
    """One rule's findings on the claims within its dates, checked for shape, with ``rule`` and ``whole``."""
    scoped = batch.within(rule.valid_from, rule.valid_until)
    if scoped.claims.is_empty():
        return _empty_findings()
    found = rule.check(scoped)
    missing = {"claim_id", "line_id", "amount", "details"} - set(found.columns)
    if missing:
        raise ValueError(f"appraisal rule {rule.code} returned no {sorted(missing)}")
    whole = pl.col("whole").fill_null(False) if "whole" in found.columns else pl.lit(False)
    found = found.select(pl.col("claim_id").cast(pl.Int64), pl.col("line_id").cast(pl.Int64),
                         pl.lit(rule.code).alias("rule"), pl.col("amount").cast(pl.Int64).fill_null(0),
                         pl.col("details").cast(pl.String), whole.alias("whole"))
    if rule.level == "claim" and found["line_id"].is_not_null().any():
        raise ValueError(f"appraisal rule {rule.code} is claim-level but returned line findings")
    if rule.level == "line" and found["line_id"].is_null().any():
        raise ValueError(f"appraisal rule {rule.code} is line-level but returned claim findings")
    if not rule.refuses:
        found = found.with_columns(amount=pl.lit(0, dtype=pl.Int64), whole=pl.lit(False))
    return found


def _empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema={**FINDING_SCHEMA, "whole": pl.Boolean})


def _rows_of(ids: pl.Series, wanted: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Row numbers in ``ids`` (sorted, unique) of the ``wanted`` ids, and whether each was found."""
    if ids.is_empty():
        return constant("row", 0, len(wanted), pl.UInt32), constant("found", False, len(wanted), pl.Boolean)
    rows = ids.search_sorted(wanted, side="left").cast(pl.UInt32)
    rows = rows.set(rows >= len(ids), 0)
    return rows, (ids.gather(rows) == wanted).fill_null(False)


OutcomeType = pl.Enum(list(OUTCOMES))


def appraise(batch: AppraisalBatch, rules: Iterable[AppraisalRule] | None = None) -> Appraisal:
    """Run the rules (every registered one by default) over the batch and add their findings up."""
    chosen = sorted(rules if rules is not None else appraisal_rules().values(), key=lambda rule: rule.code)
    findings = pl.concat([_empty_findings(), *(run_rule(rule, batch) for rule in chosen)], how="vertical")
    claims = batch.claims_x.select("claim_id", "claim_row", "fund_claimed")
    lines = batch.lines_x.select("line_id", "claim_id", "claim_row", "fund_amount")
    fund_claimed = claims["fund_claimed"].fill_null(0).clip(lower_bound=0)
    line_fund = lines["fund_amount"].fill_null(0).clip(lower_bound=0)

    # line findings: the line's row, its amount capped by the line's fund amount
    on_line = findings.filter(pl.col("line_id").is_not_null())
    line_rows, known = _rows_of(lines["line_id"], on_line["line_id"])
    on_line = on_line.with_columns(line_row=line_rows, claim_row=lines["claim_row"].gather(line_rows),
                                   cap=line_fund.gather(line_rows)).filter(known) \
        .with_columns(amount=pl.min_horizontal(pl.col("amount").clip(lower_bound=0), pl.col("cap"))).drop("cap")
    # claim findings: the claim's row, the amount capped by the fund claimed
    on_claim = findings.filter(pl.col("line_id").is_null())
    claim_rows, known = _rows_of(claims["claim_id"], on_claim["claim_id"])
    on_claim = on_claim.with_columns(claim_row=claim_rows, cap=fund_claimed.gather(claim_rows)).filter(known) \
        .with_columns(amount=pl.min_horizontal(pl.col("amount").clip(lower_bound=0), pl.col("cap"))).drop("cap")

    # per line: the largest amount of its findings; every line of a claim refused as a whole
    per_line = on_line.group_by("line_row").agg(refused=pl.col("amount").max(), claim_row=pl.col("claim_row").first())
    refused = constant("refused", 0, lines.height, pl.Int64)
    if per_line.height:
        refused = refused.scatter(per_line["line_row"], per_line["refused"])
    whole_rows = on_claim.filter(pl.col("whole"))["claim_row"]
    whole = constant("whole", False, claims.height, pl.Boolean)
    if len(whole_rows):
        whole = whole.scatter(whole_rows, True)
    line_whole = whole.gather(lines["claim_row"])
    disallowed = pl.select(pl.when(line_whole).then(line_fund).otherwise(refused)).to_series()
    lines_out = lines.select("line_id", "claim_id", "fund_amount").with_columns(
        disallowed=disallowed.cast(pl.Int64), whole=line_whole,
    ).with_columns(outcome=_outcome("disallowed", "fund_amount", "whole")).drop("whole")

    # per claim: its lines' disallowed (all of them when refused as a whole) and its claim-level amounts
    refused_lines = per_line.group_by("claim_row").agg(amount=pl.col("refused").sum())
    whole_lines = lines.filter(line_whole).group_by("claim_row").agg(
        amount=pl.col("fund_amount").clip(lower_bound=0).sum())
    claim_amounts = on_claim.group_by("claim_row").agg(amount=pl.col("amount").sum())
    counted = pl.concat([on_line.select("claim_row", "amount"), on_claim.select("claim_row", "amount")]) \
        .group_by("claim_row").agg(findings=pl.len().cast(pl.Int64), flags=(pl.col("amount") == 0).sum().cast(pl.Int64))

    def per_claim(frame: pl.DataFrame, column: str) -> pl.Series:
        return batch.on_claims(frame[column].cast(pl.Int64), frame["claim_row"], 0)

    lines_disallowed = pl.select(pl.when(whole).then(per_claim(whole_lines, "amount"))
                                 .otherwise(per_claim(refused_lines, "amount"))).to_series()
    claims_out = claims.select("claim_id", "fund_claimed").with_columns(
        disallowed=pl.min_horizontal(pl.lit(fund_claimed), pl.lit(lines_disallowed) + per_claim(claim_amounts, "amount"))
        .cast(pl.Int64),
        whole=whole, findings=per_claim(counted, "findings"), flags=per_claim(counted, "flags"),
    ).with_columns(outcome=_outcome("disallowed", "fund_claimed", "whole")).select(
        "claim_id", "fund_claimed", "disallowed", "outcome", "findings", "flags")

    columns = [*FINDING_SCHEMA, "whole"]  # whole: the finding refuses the whole claim
    findings = pl.concat([on_line.select(columns), on_claim.select(columns)]).sort(
        ["claim_id", "line_id", "rule", "details"], nulls_last=False)
    return Appraisal(findings, lines_out, claims_out)


def _outcome(disallowed: str, fund: str, whole: str) -> pl.Expr:
    refused, paid = pl.col(disallowed), pl.col(fund)
    return (pl.when(pl.col(whole) | ((paid > 0) & (refused >= paid))).then(pl.lit("rejected"))
            .when(refused > 0).then(pl.lit("partly_accepted"))
            .otherwise(pl.lit("accepted"))).cast(OutcomeType)
