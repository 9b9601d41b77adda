"""Cost monitoring of medical facilities and the use of the yearly budgets of HI medical costs.

:func:`facility_costs` answers, for a settlement month, each facility's outpatient and inpatient visits, costs
(T_TONGCHI_BH, within insurance) and fund costs (T_BHTT), cost per visit, average length of stay, growth on the same
month of the year before, and the ratio of its cost per visit to the median of its peers — the facilities of the same
level (the 2025 level in force on the month's first day, else the level before 2025) and specialty — in its province
and in the country (Decree 146/2018/NĐ-CP Art 21 as amended by Decree 75/2023/NĐ-CP: facilities are warned when their
costs rise above those of facilities of the same rank, level and specialty). A median counts every facility of the
group with visits of that kind, the facility itself included; with an even number of peers it is the mean of the two
middle values. Alerts (thresholds dated in ``claims.monitoring.*``): cost per visit **over** the multiple of a peer
median; visits up **more than** the share on the same month of the year before (none without visits then).

:func:`budget_use` answers each province's (and each facility's) spending of a year to a day against its yearly
estimate (its indicative figure) in force that day, pro-rated to the day: expected = estimate × days elapsed (1 January
to the day, both counted) / days in the year. Level ``warning`` when spending ≥ the warning share × expected,
``over`` when spending ≥ the exceeded share × expected, else ``ok`` (``none`` without a figure). Spending: the fund's
amounts (T_BHTT) of the current claims of the year whose settlement month is not after the day's month, less what the
appraisal disallowed once a claim is appraised.

:func:`frequent_cards` lists the cards with more visits in a settlement month than ``claims.many_visits_max`` (the
MANY_VISITS appraisal rule's figure), with their counts; the read is audited (card codes are personal data).

The visits are counted set-based: one GROUP BY over the current (not superseded) claims; the medians run on the
aggregated facility rows (a few thousand at most nationwide), in Polars. Plain functions; they read, the caller owns
the transaction.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

import polars as pl
from sqlalchemy import Float, String, case, cast, func, literal, select, tuple_
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.models import OrgLevel, OrgUnit, Role
from ansinh.auth.permissions import Permission, Principal, ensure_in_scope, permission_denied, subtree_ids
from ansinh.cards import facilities
from ansinh.cards.models import FacilityClassification, MedicalFacility
from ansinh.claims import catalogues
from ansinh.claims.budgets.models import HiBudget
from ansinh.claims.models import Claim
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.rules.parameters import get_parameters

COST_RATIO = "claims.monitoring.cost_per_visit_ratio"
VISIT_GROWTH = "claims.monitoring.visit_growth"
BUDGET_WARNING = "claims.monitoring.budget_warning_share"
BUDGET_EXCEEDED = "claims.monitoring.budget_exceeded_share"
MANY_VISITS = "claims.many_visits_max"
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: The most cards :func:`frequent_cards` lists (the most used first).
MAX_CARDS = 500
TREND_MONTHS = 12
SETTINGS = ("outpatient", "inpatient")
SCOPES = ("province", "country")
APPRAISED = ("appraised",)  # a settled claim stays "appraised" (its month is settled: Claim.settled)


# --- inputs -------------------------------------------------------------------------------------------------------

def parse_month(text: str | date, field_name: str = "month") -> date:
    """A month as ``YYYY-MM`` (or a date: its month), as the first day of the month."""
    if isinstance(text, date):
        return text.replace(day=1)
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", (text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise ValidationFailed(field_name, "A month is written YYYY-MM (for example 2026-03); got {value}.",
                               value=text)
    return date(int(match.group(1)), int(match.group(2)), 1)


def check_year(year: int, field_name: str = "year") -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(field_name, "A year from {first} to {last}.", first=FIRST_YEAR, last=LAST_YEAR)
    return year


def check_province(text: str | None, field_name: str = "province") -> str | None:
    value = (text or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{2}", value):
        raise ValidationFailed(field_name, "A province code has 2 digits; got {value}.", value=text)
    return value


def parameter(name: str, on: date) -> Fraction | int:
    return get_parameters()[name].at(on)


# --- who sees what ------------------------------------------------------------------------------------------------

def _is_facility_user(principal: Principal | None) -> bool:
    return principal is not None and not principal.is_agency_staff and Role.facility in principal.roles


def ensure_may_monitor(principal: Principal | None, *, agency_only: bool = False) -> None:
    """Agency staff with ``claims.monitor``; a facility user too (its own facility's figures) unless ``agency_only``."""
    if principal is None:
        return
    if not principal.has(Permission.claims_monitor):
        raise permission_denied(Permission.claims_monitor)
    if not principal.is_agency_staff and (agency_only or not _is_facility_user(principal)):
        raise PermissionDenied("Only agency staff see these figures.")


def province_office(session: Session, province: str) -> OrgUnit:
    office = session.scalar(select(OrgUnit).where(OrgUnit.level == OrgLevel.province, OrgUnit.place_code == province))
    if office is None:
        raise NotFound("The agency has no office for province {province}.", province=province)
    return office


def ensure_province(session: Session, principal: Principal | None, province: str) -> None:
    """A province the caller may see: its office in (or above) the caller's subtree; a facility user its own."""
    office = province_office(session, province)
    if principal is None:
        return
    if _is_facility_user(principal):
        if (principal.subject_ref or "")[:2] != province:
            raise PermissionDenied("These are the figures of another province.")
        return
    if not (principal.covers_path(office.path) or principal.org_unit_path.startswith(office.path)):
        raise PermissionDenied("This record belongs to another org unit, outside your scope.")


def _ensure_facility(session: Session, principal: Principal | None, code: str) -> MedicalFacility:
    facility = facilities.get_facility(session, code)
    if principal is None:
        return facility
    if _is_facility_user(principal):
        if principal.subject_ref != facility.code:
            raise PermissionDenied("These are the figures of another facility.")
        return facility
    ensure_in_scope(principal, session.get(OrgUnit, facility.org_unit_id))
    return facility


def _visible_facility_ids(session: Session, principal: Principal | None) -> set[int] | None:
    """The ids of the org units whose facilities the caller sees (None: every one)."""
    if principal is None:
        return None
    return set(session.scalars(subtree_ids(principal)))


# --- facility costs -----------------------------------------------------------------------------------------------

@dataclass
class CostReport:
    """The facilities' costs of a settlement month (``rows``, by province then code) and their peer medians."""

    month: date
    province: str | None
    facility_code: str | None
    thresholds: dict[str, float]
    rows: list[dict[str, Any]] = field(default_factory=list)
    peer_groups: list[dict[str, Any]] = field(default_factory=list)  # medians by peer group, anonymous

    @property
    def alerts(self) -> int:
        return sum(len(row["alerts"]) for row in self.rows)

    def to_json(self) -> dict:
        return {"month": self.month.strftime("%Y-%m"), "province": self.province, "facility": self.facility_code,
                "thresholds": self.thresholds, "alerts": self.alerts, "facilities": self.rows,
                "peer_groups": self.peer_groups}


AGGREGATE_SCHEMA = {"code": pl.String, "year": pl.Int64, "visits": pl.Int64, "inpatient_visits": pl.Int64,
                    "cost": pl.Int64, "inpatient_cost": pl.Int64, "fund_cost": pl.Int64, "inpatient_days": pl.Int64}
MEDIAN_COLUMNS = [f"{setting}_{scope}_{what}" for setting in SETTINGS for scope in SCOPES
                  for what in ("median", "peers")]


def _aggregate_statement(month: date):
    """Per facility and year (the month and the same month a year before), over the current claims of the country:
    visits, inpatient visits, costs, fund costs, inpatient cost and treatment days. One GROUP BY."""
    inpatient = Claim.care_type.in_(catalogues.inpatient_care_types(month))
    return (select(Claim.facility_code.label("code"), Claim.settlement_year.label("year"),
                   func.count().label("visits"),
                   func.count().filter(inpatient).label("inpatient_visits"),
                   func.coalesce(func.sum(Claim.total_insured), 0).label("cost"),
                   func.coalesce(func.sum(Claim.total_insured).filter(inpatient), 0).label("inpatient_cost"),
                   func.coalesce(func.sum(Claim.fund_claimed), 0).label("fund_cost"),
                   func.coalesce(func.sum(Claim.treatment_days).filter(inpatient), 0).label("inpatient_days"))
            .where(Claim.superseded_at.is_(None), Claim.settlement_month == month.month,
                   Claim.settlement_year.in_((month.year, month.year - 1)))
            .group_by(Claim.facility_code, Claim.settlement_year))


def _with_peer_medians(month: date):
    """PostgreSQL: the aggregates of :func:`_aggregate_statement` with, on the rows of the month, the medians
    (``percentile_cont(0.5)``) of the costs per visit of the facility's peers in its province and in the country and
    how many peers have one — in the same statement, the aggregates read once (a CTE used twice is materialised)."""
    agg = _aggregate_statement(month).cte("agg")
    latest = (select(FacilityClassification.facility_id, func.max(FacilityClassification.valid_from).label("day"))
              .where(FacilityClassification.valid_from <= month).group_by(FacilityClassification.facility_id)
              .subquery("latest"))
    level = func.coalesce(cast(FacilityClassification.level_2025, String), cast(MedicalFacility.level, String))
    outpatient_visits = agg.c.visits - agg.c.inpatient_visits
    per_visit = {
        "outpatient": case((outpatient_visits > 0,
                            cast(agg.c.cost - agg.c.inpatient_cost, Float) / outpatient_visits)),
        "inpatient": case((agg.c.inpatient_visits > 0, cast(agg.c.inpatient_cost, Float) / agg.c.inpatient_visits))}
    peers = (select(agg.c.code, MedicalFacility.province_2025.label("province"),
                    level.concat("/").concat(MedicalFacility.specialty).label("peer_group"),
                    *[value.label(setting) for setting, value in per_visit.items()])
             .select_from(agg.join(MedicalFacility, MedicalFacility.code == agg.c.code)
                          .outerjoin(latest, latest.c.facility_id == MedicalFacility.id)
                          .outerjoin(FacilityClassification,
                                     (FacilityClassification.facility_id == MedicalFacility.id)
                                     & (FacilityClassification.valid_from == latest.c.day)))
             .where(agg.c.year == month.year).cte("peers"))

    def medians(scope: str, keys: list):
        return (select(*keys, *[column for setting in SETTINGS for column in (
            func.percentile_cont(0.5).within_group(peers.c[setting]).label(f"{setting}_{scope}_median"),
            func.count(peers.c[setting]).label(f"{setting}_{scope}_peers"))]).group_by(*keys).cte(f"{scope}_medians"))

    province = medians("province", [peers.c.peer_group, peers.c.province])
    country = medians("country", [peers.c.peer_group])
    scopes = {"province": province, "country": country}
    return (select(*agg.c, *[scopes[name.split("_")[1]].c[name] for name in MEDIAN_COLUMNS])
            .select_from(agg.outerjoin(peers, (peers.c.code == agg.c.code) & (agg.c.year == month.year))
                         .outerjoin(province, (province.c.peer_group == peers.c.peer_group)
                                    & (province.c.province == peers.c.province))
                         .outerjoin(country, country.c.peer_group == peers.c.peer_group)))


def _month_aggregates(session: Session, month: date) -> pl.DataFrame:
    """The aggregates of the month and the same month a year before; on PostgreSQL with the peer medians (elsewhere
    :func:`cost_table` takes them in Polars)."""
    if session.get_bind().dialect.name == "postgresql":
        schema = {**AGGREGATE_SCHEMA, **{name: pl.Float64 if name.endswith("median") else pl.Int64
                                         for name in MEDIAN_COLUMNS}}
        stmt = _with_peer_medians(month)
    else:
        schema, stmt = AGGREGATE_SCHEMA, _aggregate_statement(month)
    return pl.DataFrame([tuple(row) for row in session.execute(stmt)], schema=schema, orient="row")


def _facility_facts(session: Session, codes: list[str], month: date) -> pl.DataFrame:
    """Name, province, specialty, office and peer level (the 2025 level in force on the day, else the level before
    2025) of the facilities."""
    schema = {"code": pl.String, "name": pl.String, "province": pl.String, "specialty": pl.String,
              "org_unit_id": pl.Int64}
    rows = session.execute(select(MedicalFacility.code, MedicalFacility.name, MedicalFacility.province_2025,
                                  MedicalFacility.specialty, MedicalFacility.org_unit_id)
                           .where(MedicalFacility.code.in_(codes or ["-"]))).all()
    facts = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    levels = facilities.classifications_on(session, facts["code"], month).select(
        "code", pl.coalesce("level_2025", "former_level").alias("level"),
        pl.col("level_2025").is_not_null().alias("level_is_2025"))
    return facts.join(levels, on="code", how="left")


def cost_table(aggregates: pl.DataFrame, facts: pl.DataFrame, month: date) -> pl.DataFrame:
    """The monitoring figures of every facility from the aggregates of the month and the same month a year before
    (pure: Polars over the facility rows); the peer medians those of the aggregates when they carry them (PostgreSQL),
    else computed here. Claims of a facility not registered count in no peer group."""
    this = aggregates.filter(pl.col("year") == month.year).drop("year")
    last = aggregates.filter(pl.col("year") == month.year - 1).select(
        "code", pl.col("visits").alias("visits_last_year"), pl.col("cost").alias("cost_last_year"))
    table = (this.join(last, on="code", how="left").join(facts, on="code", how="inner")
             .with_columns(outpatient_visits=pl.col("visits") - pl.col("inpatient_visits"),
                           outpatient_cost=pl.col("cost") - pl.col("inpatient_cost"),
                           peer_group=pl.concat_str(pl.col("level").fill_null("unclassified"), pl.lit("/"),
                                                    pl.col("specialty"))))
    table = table.with_columns(
        cost_per_outpatient_visit=pl.when(pl.col("outpatient_visits") > 0)
        .then(pl.col("outpatient_cost") / pl.col("outpatient_visits")),
        cost_per_inpatient_visit=pl.when(pl.col("inpatient_visits") > 0)
        .then(pl.col("inpatient_cost") / pl.col("inpatient_visits")),
        cost_per_visit=pl.when(pl.col("visits") > 0).then(pl.col("cost") / pl.col("visits")),
        average_stay=pl.when(pl.col("inpatient_visits") > 0)
        .then(pl.col("inpatient_days") / pl.col("inpatient_visits")),
        visit_growth=pl.when(pl.col("visits_last_year") > 0)
        .then(pl.col("visits") / pl.col("visits_last_year") - 1),
        cost_growth=pl.when(pl.col("cost_last_year") > 0).then(pl.col("cost") / pl.col("cost_last_year") - 1))
    medians = []
    for setting in SETTINGS if "outpatient_country_median" not in table.columns else ():
        value = f"cost_per_{setting}_visit"
        for scope, keys in (("province", ["province", "peer_group"]), ("country", ["peer_group"])):
            median = f"{setting}_{scope}_median"
            medians += [pl.col(value).median().over(keys).alias(median),
                        pl.col(value).count().over(keys).alias(f"{setting}_{scope}_peers")]
    if medians:
        table = table.with_columns(medians)
    return table.with_columns([
        (pl.col(f"cost_per_{setting}_visit") / pl.col(f"{setting}_{scope}_median")).alias(f"{setting}_{scope}_ratio")
        for setting in SETTINGS for scope in SCOPES]).sort("province", "code")


def alerts_of(row: dict[str, Any], cost_ratio: Fraction, visit_growth: Fraction) -> list[dict[str, Any]]:
    """The alerts of a facility's row: cost per visit over ``cost_ratio`` × a peer median; visits up more than
    ``visit_growth`` on the same month a year before."""
    found = []
    for setting in SETTINGS:
        for scope in SCOPES:
            value, median = row[f"cost_per_{setting}_visit"], row[f"{setting}_{scope}_median"]
            if value is not None and median and Fraction(value) > cost_ratio * Fraction(median):
                found.append({"kind": "cost_per_visit", "setting": setting, "scope": scope,
                              "ratio": row[f"{setting}_{scope}_ratio"], "threshold": float(cost_ratio)})
    growth = row["visit_growth"]
    if growth is not None and Fraction(row["visits"], row["visits_last_year"]) - 1 > visit_growth:
        found.append({"kind": "visit_growth", "growth": growth, "threshold": float(visit_growth)})
    return found


def facility_costs(session: Session, *, principal: Principal | None, month: date | str, province: str | None = None,
                   facility_code: str | None = None) -> CostReport:
    """The costs of the facilities the caller sees for a settlement month (one province, one facility or the
    caller's whole scope), with their peers' medians and their alerts. A facility user sees its own facility and the
    medians of the peer groups (anonymous)."""
    ensure_may_monitor(principal)
    day = parse_month(month)
    province = check_province(province)
    code = facilities.check_facility_code(facility_code, "facility") if facility_code else None
    if province:
        ensure_province(session, principal, province)
    if code:
        _ensure_facility(session, principal, code)
    elif _is_facility_user(principal):
        code = principal.subject_ref or "-"
    aggregates = _month_aggregates(session, day)
    facts = _facility_facts(session, aggregates["code"].unique().to_list(), day)
    table = cost_table(aggregates, facts, day)
    groups = (table.group_by("peer_group", "level", "specialty").agg(
        [pl.col(f"{setting}_country_median").first() for setting in SETTINGS]
        + [pl.col(f"{setting}_country_peers").first() for setting in SETTINGS]).sort("peer_group"))
    shown = table
    if province:
        shown = shown.filter(pl.col("province") == province)
    if code:
        shown = shown.filter(pl.col("code") == code)
    units = _visible_facility_ids(session, principal)
    if units is not None and not _is_facility_user(principal):
        shown = shown.filter(pl.col("org_unit_id").is_in(sorted(units)))
    cost_ratio, visit_growth = parameter(COST_RATIO, day), parameter(VISIT_GROWTH, day)
    rows = []
    for row in shown.drop("org_unit_id").iter_rows(named=True):  # the facilities shown: at most a province's
        row["alerts"] = alerts_of(row, cost_ratio, visit_growth)
        rows.append(row)
    return CostReport(month=day, province=province, facility_code=code,
                      thresholds={"cost_per_visit_ratio": float(cost_ratio), "visit_growth": float(visit_growth)},
                      rows=rows, peer_groups=groups.to_dicts())


def facility_trend(session: Session, *, principal: Principal | None, facility_code: str, month: date | str
                   ) -> list[dict[str, Any]]:
    """A facility's visits and costs of the 12 settlement months ending with ``month`` (a month without claims has
    zeros), for the trend chart. One GROUP BY on the facility's claims."""
    ensure_may_monitor(principal)
    day = parse_month(month)
    facility = _ensure_facility(session, principal, facilities.check_facility_code(facility_code, "facility"))
    months = [_add_months(day, -shift) for shift in range(TREND_MONTHS - 1, -1, -1)]
    first = months[0]
    inpatient = Claim.care_type.in_(catalogues.inpatient_care_types(day))
    stmt = (select(Claim.settlement_year.label("year"), Claim.settlement_month.label("month"),
                   func.count().label("visits"), func.count().filter(inpatient).label("inpatient_visits"),
                   func.coalesce(func.sum(Claim.total_insured), 0).label("cost"),
                   func.coalesce(func.sum(Claim.total_insured).filter(inpatient), 0).label("inpatient_cost"))
            .where(Claim.facility_code == facility.code, Claim.superseded_at.is_(None),
                   Claim.settlement_year.between(first.year, day.year))
            .group_by(Claim.settlement_year, Claim.settlement_month))
    found = {(row.year, row.month): row for row in session.execute(stmt)}
    trend = []
    for moment in months:
        row = found.get((moment.year, moment.month))
        visits, inpatient_visits = (row.visits, row.inpatient_visits) if row else (0, 0)
        cost, inpatient_cost = (int(row.cost), int(row.inpatient_cost)) if row else (0, 0)
        outpatient_visits = visits - inpatient_visits
        trend.append({"month": moment.strftime("%Y-%m"), "visits": visits, "inpatient_visits": inpatient_visits,
                      "cost": cost,
                      "cost_per_outpatient_visit": (cost - inpatient_cost) / outpatient_visits
                      if outpatient_visits else None,
                      "cost_per_inpatient_visit": inpatient_cost / inpatient_visits if inpatient_visits else None})
    return trend


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# --- cards used many times ----------------------------------------------------------------------------------------

def frequent_cards(session: Session, *, principal: Principal | None, month: date | str,
                   province: str | None = None) -> dict[str, Any]:
    """The cards with more visits (current claims) in a settlement month than ``claims.many_visits_max``, the most
    used first (at most :data:`MAX_CARDS`), in the caller's scope (agency staff only). The read is audited."""
    ensure_may_monitor(principal, agency_only=True)
    day = parse_month(month)
    province = check_province(province)
    if province:
        ensure_province(session, principal, province)
    limit = parameter(MANY_VISITS, date(day.year, day.month, calendar.monthrange(day.year, day.month)[1]))
    stmt = (select(Claim.card_code, func.count().label("visits"),
                   func.count(func.distinct(Claim.facility_code)).label("facilities"))
            .where(Claim.superseded_at.is_(None), Claim.settlement_year == day.year,
                   Claim.settlement_month == day.month, Claim.card_code.is_not(None))
            .group_by(Claim.card_code).having(func.count() > limit)
            .order_by(func.count().desc(), Claim.card_code).limit(MAX_CARDS))
    if province:
        stmt = stmt.where(Claim.province_2025 == province)
    if principal is not None:
        stmt = stmt.where(Claim.org_unit_id.in_(subtree_ids(principal)))
    cards = [{"card_code": row.card_code, "visits": row.visits, "facilities": row.facilities}
             for row in session.execute(stmt)]
    office = province_office(session, province) if province else None
    record_event(session, "read", "frequent_cards", day.strftime("%Y-%m"),
                 org_unit_id=office.id if office else (principal.org_unit_id if principal else None),
                 details={"month": day.strftime("%Y-%m"), "province": province, "cards": len(cards),
                          "card_codes": [c["card_code"] for c in cards[:50]]})
    return {"month": day.strftime("%Y-%m"), "province": province, "more_than": int(limit), "cards": cards}


# --- budget use ---------------------------------------------------------------------------------------------------

def days_elapsed(year: int, on: date) -> tuple[int, int]:
    """(days of the year elapsed on ``on``, 1 January and the day both counted, between 0 and the year's length;
    days in the year)."""
    length = 366 if calendar.isleap(year) else 365
    elapsed = (on - date(year, 1, 1)).days + 1
    return max(0, min(elapsed, length)), length


def budget_level(spent: int, budget: int | None, elapsed: int, length: int, warning: Fraction,
                 exceeded: Fraction) -> tuple[str, Fraction | None]:
    """The level of spending against a yearly figure pro-rated to the day, and the share of the pro-rated figure
    spent: ``over`` at or above ``exceeded``, ``warning`` at or above ``warning``, else ``ok``; ``none`` without a
    figure (or on a day before the year)."""
    if budget is None or elapsed == 0:
        return "none", None
    expected = Fraction(budget * elapsed, length)
    if expected == 0:
        return ("over" if spent > 0 else "ok"), None
    share = Fraction(spent) / expected
    if share >= exceeded:
        return "over", share
    if share >= warning:
        return "warning", share
    return "ok", share


@dataclass
class BudgetUse:
    year: int
    on: date
    elapsed: int
    days_in_year: int
    thresholds: dict[str, float]
    provinces: list[dict[str, Any]] = field(default_factory=list)
    facilities: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"year": self.year, "on": self.on.isoformat(), "days_elapsed": self.elapsed,
                "days_in_year": self.days_in_year, "thresholds": self.thresholds, "provinces": self.provinces,
                "facilities": self.facilities}


def _figures_in_force(session: Session, year: int, on: date, provinces: list[str]) -> pl.DataFrame:
    """The yearly figures in force on the day (the latest version from that day or before) of the provinces: one row
    per province (``facility_code`` null) and per facility with a figure."""
    rows = session.execute(select(HiBudget.province_2025, HiBudget.budget_key, HiBudget.version, HiBudget.amount)
                           .where(HiBudget.year == year, HiBudget.valid_from <= on,
                                  HiBudget.province_2025.in_(provinces or ["-"]))).all()
    frame = pl.DataFrame([tuple(r) for r in rows], orient="row", schema={
        "province": pl.String, "key": pl.String, "version": pl.Int64, "amount": pl.Int64})
    return frame.sort("version").group_by("province", "key").agg(pl.col("amount").last())


def budget_use(session: Session, *, principal: Principal | None, year: int, on: date,
               province: str | None = None) -> BudgetUse:
    """Each province's spending of the year to the day against its estimate pro-rated to the day, and each of its
    facilities' against its indicative figure (agency staff: the provinces of their scope)."""
    ensure_may_monitor(principal, agency_only=True)
    year = check_year(year)
    province = check_province(province)
    if province:
        ensure_province(session, principal, province)
    offices = session.scalars(select(OrgUnit).where(OrgUnit.level == OrgLevel.province)).all()
    visible = [o for o in offices if principal is None or principal.covers_path(o.path)
               or principal.org_unit_path.startswith(o.path)]
    codes = sorted({o.place_code for o in visible if province is None or o.place_code == province})
    accepted = Claim.fund_claimed - case((Claim.status.in_(APPRAISED), Claim.disallowed), else_=literal(0))
    month_limit = on.month if on.year == year else (12 if on.year > year else 0)
    stmt = (select(Claim.province_2025, Claim.facility_code, func.coalesce(func.sum(accepted), 0))
            .where(Claim.superseded_at.is_(None), Claim.settlement_year == year,
                   Claim.settlement_month <= month_limit, Claim.province_2025.in_(codes or ["-"]))
            .group_by(Claim.province_2025, Claim.facility_code))
    if principal is not None:
        stmt = stmt.where(Claim.org_unit_id.in_(subtree_ids(principal)))
    spent = pl.DataFrame([tuple(r) for r in session.execute(stmt)], orient="row",
                         schema={"province": pl.String, "key": pl.String, "spent": pl.Int64})
    figures = _figures_in_force(session, year, on, codes)
    elapsed, length = days_elapsed(year, on)
    warning, exceeded = parameter(BUDGET_WARNING, on), parameter(BUDGET_EXCEEDED, on)
    by_province = spent.group_by("province").agg(pl.col("spent").sum())
    totals = (pl.DataFrame({"province": codes}, schema={"province": pl.String})
              .join(by_province, on="province", how="left")
              .join(figures.filter(pl.col("key") == ""), on="province", how="left").drop("key"))
    per_facility = (spent.join(figures.filter(pl.col("key") != ""), on=["province", "key"], how="full",
                               coalesce=True).rename({"key": "facility_code"}).sort("province", "facility_code"))
    names = places_names(session)
    facility_names = dict(session.execute(select(MedicalFacility.code, MedicalFacility.name).where(
        MedicalFacility.code.in_(per_facility["facility_code"].to_list() or ["-"]))).all())

    def described(row: dict[str, Any]) -> dict[str, Any]:
        spent_amount, amount = int(row["spent"] or 0), row["amount"]
        level, share = budget_level(spent_amount, amount, elapsed, length, warning, exceeded)
        expected = None if amount is None else amount * elapsed // length
        return {"spent": spent_amount, "budget": amount, "expected_to_date": expected,
                "share_of_year": float(Fraction(spent_amount, amount)) if amount else None,
                "share_of_expected": float(share) if share is not None else None, "level": level}

    provinces = [{"province": row["province"], "name": names.get(row["province"], row["province"]), **described(row)}
                 for row in totals.iter_rows(named=True)]
    facility_rows = [{"province": row["province"], "facility_code": row["facility_code"],
                      "name": facility_names.get(row["facility_code"]), **described(row)}
                     for row in per_facility.iter_rows(named=True)]
    return BudgetUse(year=year, on=on, elapsed=elapsed, days_in_year=length,
                     thresholds={"warning": float(warning), "over": float(exceeded)},
                     provinces=provinces, facilities=facility_rows)


def places_names(session: Session) -> dict[str, str]:
    from ansinh.registry import places

    return places.province_names(session)



def claims_by_province(session: Session, *, since: date, until: date,
                       province: str | None = None) -> dict[str, dict[str, int]]:
    """For the targets' indicators: per province, the current claims of the settlement months from ``since``'s to
    ``until``'s (NAM_QT, THANG_QT: the month a facility claims them in), the fund's share claimed (T_BHTT) and what
    the appraisal disallowed: ``{province: {"claims", "claimed", "disallowed"}}``. One grouped query."""
    key = tuple_(Claim.settlement_year, Claim.settlement_month)
    disallowed = case((Claim.status.in_(APPRAISED), Claim.disallowed), else_=literal(0))
    stmt = (select(Claim.province_2025, func.count(), func.coalesce(func.sum(Claim.fund_claimed), 0),
                   func.coalesce(func.sum(disallowed), 0))
            .where(Claim.superseded_at.is_(None), key >= tuple_(literal(since.year), literal(since.month)),
                   key <= tuple_(literal(until.year), literal(until.month)))
            .group_by(Claim.province_2025))
    if province:
        stmt = stmt.where(Claim.province_2025 == province)
    return {code: {"claims": int(n), "claimed": int(claimed), "disallowed": int(refused)}
            for code, n, claimed, refused in session.execute(stmt) if code}
