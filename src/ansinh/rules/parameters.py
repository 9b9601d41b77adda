"""Legal parameters: loading, validation, and lookup "as of a date" for one value or a whole column.

A parameter file (``parameters/<area>/<name>.yaml``) has OpenFisca's shape::

    description: Employer contribution rate to the retirement and survivorship fund
    metadata:
      unit: ratio               # see UNITS
      reference: Law 58/2014/QH13 Art 86(1)
      verified: true            # seen in the law's own text
      kind: scalar              # scalar (default) | mapping (value per key, e.g. region) | scale (value by threshold)
      keys: [I, II, III, IV]    # for a mapping: the keys every value must have
    values:
      2016-01-01:
        value: 0.14
        metadata: {reference: Law 58/2014/QH13 Art 86(1)(c)}
      2025-07-01:
        value: 0.14
        metadata: {reference: Law 41/2024/QH15 Art 34(1)(b)}

A change of law is a new dated entry; ``value: null`` means the rule stops applying from that date. In a mapping,
every entry names every key; ``null`` for one key means that key has no value on those dates (a card group code
that does not exist yet, or no longer): a lookup of it is refused as for an unknown key.
Its name is its path below ``parameters/`` with dots: ``contributions.employer.retirement``.

Exactness: amounts and counts are Python ints; ratios are exact ``Fraction``s (from the decimal text, never a
binary float) and, on columns, integers in millionths (:data:`SCALE`), so that every calculation is integer
arithmetic and exact to the dong.
"""

from __future__ import annotations

import contextvars
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from ansinh.errors import ValidationFailed

PARAMETER_DIR = Path(__file__).parent / "parameters"
#: Ratios on columns are integers in millionths: 0.14 → 140_000; 0.0003 (per day) → 300.
SCALE = 1_000_000

#: unit → whether values are exact ratios (Fraction) or integers.
UNITS: dict[str, str] = {
    "ratio": "fraction",          # a share: 0.14 = 14%
    "ratio_per_day": "fraction",  # a share per day: 0.0003 = 0.03%/day
    "ratio_per_year": "fraction",  # a share per year
    "multiple": "fraction",       # a multiplier: 20 (× base salary), 1.5 (months per year)
    "vnd": "int",                 # an amount in dong
    "vnd_per_month": "int",       # a monthly amount in dong
    "months": "int",
    "days": "int",
    "working_days": "int",        # days counted on the Vietnamese working calendar (benefits.calendar)
    "hours": "int",
    "years": "int",
    "count": "int",
}
KINDS = ("scalar", "mapping", "scale")
_TOP_KEYS = {"description", "metadata", "values"}
_META_KEYS = {"unit", "reference", "verified", "kind", "keys", "notes", "description_vi", "label_vi", "label_en"}
_VALUE_KEYS = {"value", "metadata"}
_VALUE_META_KEYS = {"reference", "verified", "notes"}


#: When set (by tests), every lookup records which dated entry of which parameter it used.
_hits: contextvars.ContextVar[dict[str, set[int]] | None] = contextvars.ContextVar("parameter_hits", default=None)


@contextmanager
def track_parameter_use() -> Iterator[dict[str, set[int]]]:
    """Record, per parameter name, the indices of the dated entries used inside the block."""
    hits: dict[str, set[int]] = {}
    token = _hits.set(hits)
    try:
        yield hits
    finally:
        _hits.reset(token)


class ParameterFileError(ValueError):
    """A parameter file is malformed; the message names the file, the key and the problem."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path = str(path)
        self.key = key
        self.problem = problem


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay text until we parse them ourselves, so that a bad one ("2020-13-01") is reported by key.
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class DateIndex:
    """The dates of a column, prepared once for many parameter lookups: each row's offset in days from the
    earliest date, and every day of the span. Pass it to :meth:`Parameter.column` instead of the dates."""

    dates: pl.Series
    offsets: pl.Series
    span: pl.Series | None

    @classmethod
    def of(cls, dates: pl.Series) -> DateIndex:
        days = dates.cast(pl.Date).to_physical().cast(pl.Int64)
        first, last = days.min(), days.max()
        if first is None:
            return cls(dates, days, None)
        span = pl.Series(range(first, last + 1), dtype=pl.Int64).cast(pl.Int32).cast(pl.Date)
        return cls(dates, days - first, span)


@dataclass(frozen=True)
class DatedValue:
    start: date
    value: Any  # int | Fraction | dict[str, int | Fraction] | tuple[(threshold, value), ...] | None
    reference: str
    verified: bool
    notes: str | None = None


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    unit: str
    reference: str
    verified: bool
    kind: str
    keys: tuple[str, ...]
    values: tuple[DatedValue, ...]
    path: str
    notes: str | None = None
    description_vi: str | None = None
    _starts: tuple[date, ...] = field(default=(), repr=False)

    @property
    def is_fraction(self) -> bool:
        return UNITS[self.unit] == "fraction"

    @property
    def first_date(self) -> date:
        return self.values[0].start

    def entry_at(self, on: date, field_name: str = "on") -> DatedValue:
        """The dated entry in force on a date; ValidationFailed (naming ``field_name``) if none is."""
        index = bisect_right(self._starts, on) - 1
        if index < 0:
            raise ValidationFailed(field_name, "No value of {parameter} is in force on {date}: the first is from {first}.",
                                   parameter=self.name, date=on.isoformat(), first=self.first_date.isoformat())
        entry = self.values[index]
        if (hits := _hits.get()) is not None:
            hits.setdefault(self.name, set()).add(index)
        if entry.value is None:
            raise ValidationFailed(field_name, "{parameter} does not apply on {date} (it ended on {end}).",
                                   parameter=self.name, date=on.isoformat(), end=entry.start.isoformat())
        return entry

    def at(self, on: date, key: str | None = None, field_name: str = "on") -> Any:
        """The value in force on a date (for a mapping, the value of ``key``)."""
        value = self.entry_at(on, field_name).value
        if self.kind == "mapping":
            if key is None:
                return dict(value)
            if key not in value:
                raise ValidationFailed(field_name, "{parameter} has no value for {key}.", parameter=self.name, key=key)
            if value[key] is None:  # the key has no value on this date (``null`` in the file)
                raise ValidationFailed(field_name, "{parameter} has no value for {key}.", parameter=self.name, key=key)
            return value[key]
        return value

    def scale_at(self, on: date, amount: int | Fraction, field_name: str = "on") -> Any:
        """For a scale: the value of the highest threshold not above ``amount``."""
        thresholds = self.entry_at(on, field_name).value
        chosen = None
        for threshold, value in thresholds:
            if amount >= threshold:
                chosen = value
        if chosen is None:
            raise ValidationFailed(field_name, "{amount} is below the lowest threshold of {parameter}.",
                                   amount=str(amount), parameter=self.name)
        return chosen

    # --- columns -------------------------------------------------------------------------------

    def _scaled(self, value: Any) -> int | None:
        if value is None:
            return None
        return int(value * SCALE) if self.is_fraction else int(value)

    def _indices(self, dates: pl.Series | DateIndex, field_name: str) -> pl.Series:
        """For each row, the index of the entry in force on its date (validated: none before the first
        date, none falling on a ``null`` entry). The index is computed once per day of the rows' span
        (a few thousand days) and gathered per row by day offset."""
        days = dates if isinstance(dates, DateIndex) else DateIndex.of(dates)
        if days.span is None:
            return pl.Series([], dtype=pl.Int64)
        table = pl.Series(self._starts, dtype=pl.Date).search_sorted(days.span, side="right").cast(pl.Int64) - 1
        if table[0] < 0:  # the earliest row date comes before the first value
            self.entry_at(days.span[0], field_name)  # raises with the message
        index = table.gather(days.offsets)
        ended = [i for i, v in enumerate(self.values) if v.value is None]
        if ended:
            hit = index.is_in(ended)
            if hit.any():
                self.entry_at(days.dates.filter(hit).min(), field_name)  # raises
        if (hits := _hits.get()) is not None:
            hits.setdefault(self.name, set()).update(index.unique().to_list())
        return index

    def encode_keys(self, keys: pl.Series, field_name: str = "on") -> pl.Series:
        """A mapping's keys as a Polars Enum of this parameter's keys (encode once, reuse for every lookup
        with the same keys); ValidationFailed naming ``field_name`` for an unknown key."""
        enum = pl.Enum(list(self.keys))
        if keys.dtype == enum:
            return keys
        encoded = keys.cast(pl.Utf8).cast(enum, strict=False)
        if encoded.null_count() > keys.null_count():
            bad = keys.filter(encoded.is_null() & keys.is_not_null())[0]
            raise ValidationFailed(field_name, "{parameter} has no value for {key}; accepted: {accepted}.",
                                   parameter=self.name, key=str(bad), accepted=", ".join(self.keys))
        return encoded

    def column(self, dates: pl.Series | DateIndex, keys: pl.Series | None = None, field_name: str = "on"
               ) -> pl.Series:
        """The value in force on each date (for a mapping, of each row's key), as Int64: amounts and
        counts as they are, ratios in millionths (:data:`SCALE`)."""
        index = self._indices(dates, field_name)
        if self.kind == "scalar":
            table = pl.Series([self._scaled(v.value) for v in self.values], dtype=pl.Int64)
            return table.gather(index).rename(self.name)
        if self.kind != "mapping" or keys is None:
            raise TypeError(f"{self.name}: column() needs keys for a mapping; use scale_column() for a scale")
        key_index = self.encode_keys(keys, field_name).to_physical().cast(pl.Int64)
        flat = pl.Series([self._scaled(v.value[k]) if v.value is not None else None
                          for v in self.values for k in self.keys], dtype=pl.Int64)
        result = flat.gather(index * len(self.keys) + key_index).rename(self.name)
        if result.null_count() > keys.null_count():  # a key without a value on a row's date (``null`` in the file)
            missing = result.is_null() & keys.is_not_null()
            raise ValidationFailed(field_name, "{parameter} has no value for {key}.", parameter=self.name,
                                   key=str(keys.filter(missing)[0]))
        return result

    def scale_column(self, dates: pl.Series | DateIndex, amounts: pl.Series, field_name: str = "on") -> pl.Series:
        """For a scale: per row, the value of the highest threshold (in force on the row's date) not above
        the row's amount. Thresholds compare exactly (fractional thresholds via millionths)."""
        index = self._indices(dates, field_name)
        factor = SCALE if self._threshold_is_fraction() else 1
        chain = None
        for position, entry in enumerate(self.values):
            for threshold, value in sorted(entry.value or (), key=lambda pair: pair[0], reverse=True):
                condition = (pl.col("i") == position) & (pl.col("x") >= int(threshold * factor))
                literal = pl.lit(self._scaled(value), dtype=pl.Int64)
                chain = pl.when(condition).then(literal) if chain is None else chain.when(condition).then(literal)
        frame = pl.DataFrame({"i": index, "x": amounts.cast(pl.Int64) * factor})
        result = frame.select(chain.otherwise(None).alias(self.name)).to_series() if chain is not None else None
        if result is None:
            raise ValidationFailed(field_name, "{parameter} has no thresholds.", parameter=self.name)
        if result.null_count():
            raise ValidationFailed(field_name, "An amount is below the lowest threshold of {parameter}.",
                                   parameter=self.name)
        return result

    def _threshold_is_fraction(self) -> bool:
        return any(isinstance(t, Fraction) and t.denominator != 1
                   for v in self.values if v.value is not None for t, _ in v.value)


class ParameterSet:
    """Every parameter, by dotted name."""

    def __init__(self, parameters: dict[str, Parameter]) -> None:
        self._parameters = dict(sorted(parameters.items()))

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._parameters[name]
        except KeyError:
            raise KeyError(f"no parameter {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._parameters

    def __iter__(self):
        return iter(self._parameters.values())

    def __len__(self) -> int:
        return len(self._parameters)

    def names(self) -> list[str]:
        return list(self._parameters)


# --- loading and validation ----------------------------------------------------------------------

def _exact(path: Path, key: str, raw: Any, unit: str) -> int | Fraction:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ParameterFileError(path, key, f"expected a number, got {raw!r}")
    try:
        number = Decimal(str(raw).replace("_", ""))
    except InvalidOperation:
        raise ParameterFileError(path, key, f"not a number: {raw!r}") from None
    if number < 0:
        raise ParameterFileError(path, key, f"negative value {raw!r}")
    if UNITS[unit] == "int":
        if number != number.to_integral_value():
            raise ParameterFileError(path, key, f"unit {unit} needs a whole number, got {raw!r}")
        return int(number)
    fraction = Fraction(number)
    if (fraction * SCALE).denominator != 1:
        raise ParameterFileError(path, key, f"{raw!r} has more than 6 decimal places")
    if unit == "ratio" and fraction > 1:
        raise ParameterFileError(path, key, f"a ratio is between 0 and 1, got {raw!r}")
    return fraction


def _threshold(path: Path, key: str, raw: Any) -> int | Fraction:
    return _exact(path, key, raw, "multiple")


def _parse_value(path: Path, key: str, raw: Any, unit: str, kind: str, keys: tuple[str, ...]) -> Any:
    if raw is None:
        return None
    if kind == "scalar":
        return _exact(path, key, raw, unit)
    if not isinstance(raw, dict) or not raw:
        raise ParameterFileError(path, key, f"a {kind} value is a mapping, got {raw!r}")
    if kind == "mapping":
        given = {str(k) for k in raw}
        if given != set(keys):
            raise ParameterFileError(path, key, f"keys {sorted(given)} differ from metadata.keys {list(keys)}")
        parsed = {str(k): None if v is None else _exact(path, f"{key}.{k}", v, unit) for k, v in raw.items()}
        if all(v is None for v in parsed.values()):
            raise ParameterFileError(path, key, "every key is null: write value: null for the whole entry")
        return parsed
    pairs = sorted(((_threshold(path, f"{key}.{t}", t), _exact(path, f"{key}.{t}", v, unit)) for t, v in raw.items()),
                   key=lambda pair: pair[0])
    return tuple(pairs)


def _require(path: Path, mapping: dict, key: str, kind: type | tuple, where: str) -> Any:
    if key not in mapping:
        raise ParameterFileError(path, f"{where}{key}", "missing")
    value = mapping[key]
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise ParameterFileError(path, f"{where}{key}", f"expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _as_date(path: Path, key: Any) -> date:
    if isinstance(key, date):
        return key
    if isinstance(key, str):
        try:
            return date.fromisoformat(key)
        except ValueError:
            pass
    raise ParameterFileError(path, f"values.{key}", "not a date (YYYY-MM-DD)")


def parse_parameter(path: Path, name: str, document: Any) -> Parameter:
    if not isinstance(document, dict):
        raise ParameterFileError(path, "(file)", "expected a mapping with description, metadata and values")
    unknown = set(document) - _TOP_KEYS
    if unknown:
        raise ParameterFileError(path, sorted(unknown)[0], f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")
    description = _require(path, document, "description", str, "")
    meta = _require(path, document, "metadata", dict, "")
    unknown = set(meta) - _META_KEYS
    if unknown:
        raise ParameterFileError(path, f"metadata.{sorted(unknown)[0]}", "unknown key")
    unit = _require(path, meta, "unit", str, "metadata.")
    if unit not in UNITS:
        raise ParameterFileError(path, "metadata.unit", f"unknown unit {unit!r} (known: {', '.join(UNITS)})")
    reference = _require(path, meta, "reference", str, "metadata.")
    verified = _require(path, meta, "verified", bool, "metadata.")
    kind = meta.get("kind", "scalar")
    if kind not in KINDS:
        raise ParameterFileError(path, "metadata.kind", f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    keys: tuple[str, ...] = ()
    if kind == "mapping":
        raw_keys = _require(path, meta, "keys", list, "metadata.")
        keys = tuple(str(k) for k in raw_keys)
        if len(set(keys)) != len(keys) or not keys:
            raise ParameterFileError(path, "metadata.keys", "keys must be a non-empty list without repeats")
    values = _require(path, document, "values", dict, "")
    if not values:
        raise ParameterFileError(path, "values", "at least one dated value is needed")
    entries: list[DatedValue] = []
    for raw_date, entry in values.items():
        start = _as_date(path, raw_date)
        where = f"values.{start.isoformat()}"
        if not isinstance(entry, dict):
            raise ParameterFileError(path, where, "expected {value, metadata: {reference}}")
        unknown = set(entry) - _VALUE_KEYS
        if unknown:
            raise ParameterFileError(path, f"{where}.{sorted(unknown)[0]}", "unknown key")
        if "value" not in entry:
            raise ParameterFileError(path, f"{where}.value", "missing")
        entry_meta = _require(path, entry, "metadata", dict, f"{where}.")
        unknown = set(entry_meta) - _VALUE_META_KEYS
        if unknown:
            raise ParameterFileError(path, f"{where}.metadata.{sorted(unknown)[0]}", "unknown key")
        entry_reference = _require(path, entry_meta, "reference", str, f"{where}.metadata.")
        entry_verified = entry_meta.get("verified", verified)
        if not isinstance(entry_verified, bool):
            raise ParameterFileError(path, f"{where}.metadata.verified", "expected true or false")
        entries.append(DatedValue(start, _parse_value(path, f"{where}.value", entry["value"], unit, kind, keys),
                                  entry_reference, entry_verified, entry_meta.get("notes")))
    entries.sort(key=lambda e: e.start)
    if entries[0].value is None:
        raise ParameterFileError(path, f"values.{entries[0].start}", "the first value cannot be null")
    return Parameter(name=name, description=description, unit=unit, reference=reference, verified=verified, kind=kind,
                     keys=keys, values=tuple(entries), path=str(path), notes=meta.get("notes"),
                     description_vi=meta.get("description_vi"), _starts=tuple(e.start for e in entries))


def load_parameters(directory: Path = PARAMETER_DIR) -> ParameterSet:
    """Load and validate every ``*.yaml`` below a folder. Raises :class:`ParameterFileError` naming the
    file, the key and the problem at the first bad file."""
    parameters: dict[str, Parameter] = {}
    for path in sorted(directory.rglob("*.yaml")):
        relative = path.relative_to(directory).with_suffix("")
        name = ".".join(relative.parts)
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}" if mark else "(file)"
            raise ParameterFileError(path, line, str(getattr(exc, "problem", exc))) from None
        parameters[name] = parse_parameter(path, name, document)
    return ParameterSet(parameters)


@lru_cache(maxsize=1)
def get_parameters() -> ParameterSet:
    """The parameters shipped with ansinh, loaded and validated once per process."""
    return load_parameters()
