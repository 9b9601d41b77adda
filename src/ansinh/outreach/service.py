"""People not covered on a day, by commune and by group, with what each could join.

"Not covered" is the registry's definition (:func:`ansinh.registry.shares.count_uncovered`: people born by the day,
not merged away, with a 2025 province, without a current health insurance period in force on it); this module only
sorts those people into groups, one each, the first that applies in this order:

1. ``under_6``: younger than ``outreach.child_max_age_years`` (6) → the child's HI card (State budget);
2. ``recent_leaver``: left compulsory social insurance in the last ``outreach.recent_leaver_months`` (12) months
   (:mod:`ansinh.participation.flows`: a period ended with no other in force that day) → voluntary SI, household HI;
3. ``student``: younger than ``outreach.student_max_age_years`` (23) → HI through the school (pupils, students);
4. ``near_retirement``: from ``outreach.working_age_min_years`` (15), not yet at the pension age
   (:mod:`ansinh.rules.pension_age`) but within ``outreach.near_retirement_years`` (10) of it, with fewer months of
   social insurance (:mod:`ansinh.benefits.records`) than ``benefits.pension.minimum_years`` (15 years):
   ``months_missing`` says how many → voluntary SI (to reach the minimum), household HI;
5. ``household_member``: some other member of their household is covered on the day → household HI (all members);
6. ``working_age``: from ``outreach.working_age_min_years`` to the pension age, without compulsory SI → voluntary
   SI, household HI;
7. ``older``: at or past the pension age → household HI.

Set-based: one query for the people (with the household test as a subquery), one for the leavers, one read of the
records of the few near the pension age; ages and groups on columns (Polars). Scoped: the caller's org-unit subtree
(national staff: the country; a province asked for must be the caller's own).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

import polars as pl
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from ansinh.auth.permissions import Principal, org_scope
from ansinh.collection.arrears import ensure_province_in_scope
from ansinh.i18n import N_
from ansinh.participation.flows import leaving_periods
from ansinh.participation.models import CoveragePeriod, Scheme
from ansinh.participation.service import active
from ansinh.registry.models import Person, Place
from ansinh.registry.shares import uncovered_conditions
from ansinh.rules.parameters import ParameterSet, get_parameters
from ansinh.rules.pension import MONTHS_PER_YEAR

#: The groups, in the order they are tried (a person is in the first that applies).
GROUPS = ("under_6", "recent_leaver", "student", "near_retirement", "household_member", "working_age", "older")
GROUP_LABELS = {
    "under_6": N_("Young child (the State pays the card)"),
    "recent_leaver": N_("Left compulsory social insurance recently"),
    "student": N_("Pupil or student age"),
    "near_retirement": N_("Near the pension age with too few years of social insurance"),
    "household_member": N_("Member of a household of which some members are covered"),
    "working_age": N_("Working age without compulsory social insurance"),
    "older": N_("At or past the pension age"),
}
#: What each group could join (codes; labels below).
COULD_JOIN = {
    "under_6": ("child_hi",),
    "recent_leaver": ("voluntary_si", "household_hi"),
    "student": ("student_hi",),
    "near_retirement": ("voluntary_si", "household_hi"),
    "household_member": ("household_hi",),
    "working_age": ("voluntary_si", "household_hi"),
    "older": ("household_hi",),
}
SCHEME_LABELS = {
    "child_hi": N_("Health insurance card for a young child (State budget)"),
    "student_hi": N_("Health insurance for pupils and students (through the school)"),
    "voluntary_si": N_("Voluntary social insurance"),
    "household_hi": N_("Household health insurance"),
}
COLUMNS = ("person_id", "si_number", "citizen_id", "full_name", "date_of_birth", "sex", "commune_code", "commune",
           "household_id", "age", "group", "could_join", "months_missing", "left_on")


def _months_back(day: date, months: int) -> date:
    """The day ``months`` months before ``day`` (a 31st becomes the month's last day)."""
    index = day.year * MONTHS_PER_YEAR + day.month - 1 - months
    year, month = divmod(index, MONTHS_PER_YEAR)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError(day)  # pragma: no cover - every month has a 28th


def _whole_years(born: pl.Expr, on: date) -> pl.Expr:
    """Age in whole years on ``on`` (a birthday on the day counts; 29 February turns on 1 March)."""
    before = (born.dt.month() > on.month) | ((born.dt.month() == on.month) & (born.dt.day() > on.day))
    return (pl.lit(on.year) - born.dt.year()).cast(pl.Int64) - before.cast(pl.Int64)


def _people(session: Session, principal: Principal | None, *, on: date, province: str | None,
            commune: str | None) -> pl.DataFrame:
    other = aliased(Person)
    member_covered = exists(active(select(CoveragePeriod.id).join(other, other.id == CoveragePeriod.person_id).where(
        other.household_id == Person.household_id, other.id != Person.id, other.merged_into_id.is_(None),
        CoveragePeriod.scheme == Scheme.hi), on))
    conditions = list(uncovered_conditions(on, province))
    if principal is not None and principal.org_unit_level != "national":
        conditions.append(org_scope(principal, Person.org_unit_id))
    if commune:
        conditions.append(Place.code == commune)
    stmt = (select(Person.id.label("person_id"), Person.si_number, Person.citizen_id, Person.full_name,
                   Person.date_of_birth, Person.sex, Place.code.label("commune_code"), Place.name.label("commune"),
                   Person.household_id,
                   and_(Person.household_id.is_not(None), member_covered).label("household_partly_covered"),
                   Person.name_search)
            .outerjoin(Place, Place.id == Person.residence_place_id).where(*conditions)
            .order_by(Place.code, Person.name_search, Person.id))
    rows = session.execute(stmt).all()
    schema = {"person_id": pl.Int64, "si_number": pl.String, "citizen_id": pl.String, "full_name": pl.String,
              "date_of_birth": pl.Date, "sex": pl.String, "commune_code": pl.String, "commune": pl.String,
              "household_id": pl.Int64, "household_partly_covered": pl.Boolean, "name_search": pl.String}
    return pl.DataFrame([(r[0], r[1], r[2], r[3], r[4], getattr(r[5], "value", r[5]), *r[6:9], bool(r[9]), r[10])
                         for r in rows], schema=schema, orient="row")


def _leavers(session: Session, *, on: date, months: int) -> pl.DataFrame:
    """Who left compulsory SI in the window ending on ``on`` (their last leaving: the first day without cover), in
    any province (the job left may be in another province than the person's residence)."""
    ended, conditions = leaving_periods(_months_back(on, months), on, None)
    rows = session.execute(select(ended.person_id, func.max(ended.valid_to)).where(*conditions)
                           .group_by(ended.person_id)).all()
    return pl.DataFrame(rows, schema={"person_id": pl.Int64, "left_on": pl.Date}, orient="row")


def _months_missing(session: Session, candidates: pl.DataFrame, *, on: date, p: ParameterSet) -> pl.DataFrame:
    """For people near the pension age: ``person_id, months_missing`` (the minimum years of social insurance in
    months less the months they have, at least 0)."""
    from ansinh.benefits import records

    if candidates.height == 0:
        return pl.DataFrame(schema={"person_id": pl.Int64, "months_missing": pl.Int64})
    ids = candidates["person_id"].to_list()
    rows = records.load_many(session, ids, schemes=(records.COMPULSORY, records.VOLUNTARY))
    people = pl.DataFrame({"person_id": ids, "on": [on] * len(ids)}, schema={"person_id": pl.Int64, "on": pl.Date})
    summary = records.summarise_rows(rows, people, p)
    needed = int(p["benefits.pension.minimum_years"].at(on)) * MONTHS_PER_YEAR
    return (people.select("person_id").join(summary.select("person_id", "si_months"), on="person_id", how="left")
            .select("person_id", months_missing=(pl.lit(needed) - pl.col("si_months").fill_null(0))
                    .clip(lower_bound=0).cast(pl.Int64)))


def classify(people: pl.DataFrame, leavers: pl.DataFrame, pension: pl.DataFrame, missing: pl.DataFrame, *,
             on: date, p: ParameterSet) -> pl.DataFrame:
    """Pure: the group of each person (module docstring). ``people``: ``person_id, date_of_birth,
    household_partly_covered``; ``leavers``: ``person_id, left_on``; ``pension``: ``person_id, reached_on`` (the day
    they reach the pension age); ``missing``: ``person_id, months_missing`` (for the people near it)."""
    child = int(p["outreach.child_max_age_years"].at(on))
    student = int(p["outreach.student_max_age_years"].at(on))
    working = int(p["outreach.working_age_min_years"].at(on))
    frame = (people.with_columns(age=_whole_years(pl.col("date_of_birth"), on))
             .join(leavers, on="person_id", how="left")
             .join(pension.select("person_id", "reached_on"), on="person_id", how="left")
             .join(missing, on="person_id", how="left"))
    pensioned = pl.col("reached_on").is_not_null() & (pl.col("reached_on") <= pl.lit(on))
    group = (pl.when(pl.col("age") < child).then(pl.lit("under_6"))
             .when(pl.col("left_on").is_not_null()).then(pl.lit("recent_leaver"))
             .when(pl.col("age") < student).then(pl.lit("student"))
             .when(pl.col("months_missing").fill_null(0) > 0).then(pl.lit("near_retirement"))
             .when(pl.col("household_partly_covered")).then(pl.lit("household_member"))
             .when((pl.col("age") >= working) & ~pensioned).then(pl.lit("working_age"))
             .otherwise(pl.lit("older")))
    frame = frame.with_columns(group=group)
    return frame.with_columns(
        months_missing=pl.when(pl.col("group") == "near_retirement").then(pl.col("months_missing")).otherwise(None),
        could_join=pl.col("group").replace_strict({g: list(v) for g, v in COULD_JOIN.items()},
                                                  return_dtype=pl.List(pl.String)))


def _pension_ages(people: pl.DataFrame, *, on: date, p: ParameterSet) -> pl.DataFrame:
    """``person_id, reached_on`` for the people of working age (the pension-age calculator on columns)."""
    from ansinh.rules.pension_age import pension_age_columns

    working = int(p["outreach.working_age_min_years"].at(on))
    adults = people.filter(_whole_years(pl.col("date_of_birth"), on) >= working)
    if adults.height == 0:
        return pl.DataFrame(schema={"person_id": pl.Int64, "reached_on": pl.Date})
    ages = pension_age_columns(adults.select("sex", "date_of_birth", on=pl.lit(on)), p)
    return pl.DataFrame({"person_id": adults["person_id"], "reached_on": ages["reached_on"]})


@dataclass
class UncoveredList:
    on: date
    province: str | None
    commune: str | None
    rows: pl.DataFrame  # COLUMNS, by commune, name, id

    @property
    def total(self) -> int:
        return self.rows.height

    def by_group(self) -> dict[str, int]:
        counts = dict(self.rows.group_by("group").len().iter_rows())
        return {group: int(counts.get(group, 0)) for group in GROUPS}

    def by_commune(self) -> list[dict]:
        """Per commune (code and name; None: no place of residence recorded): the count of each group and the
        total, by commune code."""
        if self.rows.height == 0:
            return []
        table = (self.rows.group_by("commune_code", "commune", "group").len()
                 .pivot(on="group", index=["commune_code", "commune"], values="len"))
        for group in GROUPS:
            if group not in table.columns:
                table = table.with_columns(pl.lit(0).alias(group))
        table = table.with_columns(pl.col(GROUPS).fill_null(0).cast(pl.Int64))
        table = table.with_columns(total=pl.sum_horizontal(GROUPS)).sort("commune_code", nulls_last=True)
        return table.select("commune_code", "commune", *GROUPS, "total").to_dicts()

    def page(self, limit: int, offset: int) -> list[dict]:
        rows = self.rows.slice(offset, limit).to_dicts()
        for row in rows:
            row["date_of_birth"] = row["date_of_birth"].isoformat()
            row["left_on"] = row["left_on"].isoformat() if row["left_on"] else None
        return rows

    def to_json(self, limit: int | None = None, offset: int = 0) -> dict:
        return {"on": self.on.isoformat(), "province": self.province, "commune": self.commune, "total": self.total,
                "by_group": self.by_group(), "by_commune": self.by_commune(),
                "rows": self.page(self.total if limit is None else limit, offset)}


def uncovered_people(session: Session, principal: Principal | None, *, on: date, province: str | None = None,
                     commune: str | None = None, p: ParameterSet | None = None) -> UncoveredList:
    """The people without health insurance on ``on`` in the caller's scope (``principal`` None: the command line,
    the whole country), optionally of one province (2025 code) and one commune (place code), each with their group
    and what they could join (module docstring). Not audited here: the caller records what it shows
    (:func:`audit_listing`)."""
    p = p or get_parameters()
    ensure_province_in_scope(session, principal, province)
    people = _people(session, principal, on=on, province=province, commune=commune)
    leavers = _leavers(session, on=on, months=int(p["outreach.recent_leaver_months"].at(on)))
    leavers = leavers.join(people.select("person_id"), on="person_id", how="semi")
    pension = _pension_ages(people, on=on, p=p)
    window = int(p["outreach.near_retirement_years"].at(on))
    horizon = date(on.year + window, on.month, 28 if (on.month, on.day) == (2, 29) else on.day)
    near = (pension.filter((pl.col("reached_on") > pl.lit(on)) & (pl.col("reached_on") <= pl.lit(horizon)))
            .join(leavers, on="person_id", how="anti"))
    missing = _months_missing(session, near, on=on, p=p)
    frame = classify(people, leavers, pension, missing, on=on, p=p)
    return UncoveredList(on=on, province=province, commune=commune, rows=frame.select(*COLUMNS))


def audit_listing(session: Session, principal: Principal | None, listing: UncoveredList, rows: list[dict], *,
                  what: str) -> None:
    """One audit event for the people shown or exported (``registry.service.record_people_listed``)."""
    from ansinh.registry.service import record_people_listed

    record_people_listed(session, principal,
                         [SimpleNamespace(id=row["person_id"], si_number=row["si_number"]) for row in rows],
                         what=what, total=listing.total,
                         query={"on": listing.on.isoformat(), "province": listing.province,
                                "commune": listing.commune})


# --- the Excel list for collection agents ---------------------------------------------------------------------

XLSX_COLUMNS = (("citizen_id", "Số định danh", "Citizen ID", 14), ("si_number", "Mã số BHXH", "SI number", 12),
                ("full_name", "Họ và tên", "Full name", 26), ("date_of_birth", "Ngày sinh", "Date of birth", 12),
                ("commune", "Xã, phường", "Commune", 20), ("group", "Nhóm", "Group", 34),
                ("could_join", "Có thể tham gia", "Could join", 40),
                ("months_missing", "Số tháng còn thiếu", "Months missing", 10))


class AgentList:
    """An Excel list for collection agents and local offices: a bold title, a subtitle, bilingual column heads on
    row 4 (``columns``: key, Vietnamese, English, width), rows from row 5 (:meth:`write_row`)."""

    def __init__(self, sheet_name: str, title: str, subtitle: str, columns) -> None:
        import xlsxwriter

        from ansinh.spreadsheets import safe_cell

        self.columns, self.buffer = columns, io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "strings_to_numbers": False,
                                                      "strings_to_formulas": False, "strings_to_urls": False})
        self.header = self.book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                            "valign": "top"})
        self.text = self.book.add_format({"num_format": "@"})
        self.sheet = self.book.add_worksheet(sheet_name)
        self.sheet.write_string(0, 0, title, self.book.add_format({"bold": True}))
        self.sheet.write_string(1, 0, safe_cell(subtitle))
        for index, (_key, vi, en, width) in enumerate(columns):
            self.sheet.set_column(index, index, width)
            self.sheet.write_string(3, index, f"{vi}\n{en}", self.header)
        self.sheet.freeze_panes(4, 0)

    def write_row(self, number: int, values: dict) -> None:
        """Row ``number`` (0-based): whole numbers as numbers, everything else as text cells."""
        from ansinh.spreadsheets import safe_cell

        for index, (key, *_rest) in enumerate(self.columns):
            value = values.get(key)
            if isinstance(value, int):
                self.sheet.write_number(number, index, value)
            elif value is not None:
                self.sheet.write_string(number, index, safe_cell(str(value)), self.text)

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def uncovered_xlsx(listing: UncoveredList) -> bytes:
    """Sheet ``uncovered``: a bilingual header, one row per person (the group and the schemes in Vietnamese, the
    agents' language), then sheet ``by_commune`` with the counts."""
    from ansinh import formatting
    from ansinh.i18n import gettext, use_locale
    from ansinh.spreadsheets import safe_cell

    with use_locale("vi"):
        out = AgentList("uncovered", "Danh sách người chưa tham gia BHYT / People without health insurance",
                        f"Ngày / On: {formatting.day(listing.on, 'vi')}"
                        f"{' · Tỉnh / Province: ' + listing.province if listing.province else ''}"
                        f"{' · Xã / Commune: ' + listing.commune if listing.commune else ''}", XLSX_COLUMNS)
        for number, row in enumerate(listing.rows.iter_rows(named=True), start=4):
            label = GROUP_LABELS[row["group"]]
            out.write_row(number, {**row, "date_of_birth": formatting.day(row["date_of_birth"], "vi"),
                                   "group": gettext(label),
                                   "could_join": "; ".join(gettext(SCHEME_LABELS[code]) for code in row["could_join"])})
        counts = out.book.add_worksheet("by_commune")
        heads = ["Mã xã / Code", "Xã / Commune", *(gettext(GROUP_LABELS[g]) for g in GROUPS), "Tổng / Total"]
        for index, head in enumerate(heads):
            counts.set_column(index, index, 14 if index else 10)
            counts.write_string(0, index, head, out.header)
        for number, row in enumerate(listing.by_commune(), start=1):
            counts.write_string(number, 0, safe_cell(row["commune_code"] or ""), out.text)
            counts.write_string(number, 1, safe_cell(row["commune"] or ""), out.text)
            for index, key in enumerate((*GROUPS, "total"), start=2):
                counts.write_number(number, index, row[key])
    return out.close()
