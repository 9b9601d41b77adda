"""The parameter loader refuses bad files with the file, key and problem; lookups are exact."""

from datetime import date
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from ansinh.errors import ValidationFailed
from ansinh.rules.parameters import SCALE, DateIndex, ParameterFileError, load_parameters

GOOD = """\
description: A rate
metadata:
  unit: ratio
  reference: Law X Art 1
  verified: true
values:
  2020-01-01:
    value: 0.14
    metadata: {reference: Law X Art 1}
  2025-07-01:
    value: 0.175
    metadata: {reference: Law Y Art 2, verified: false}
"""


def write(tmp_path: Path, text: str, name: str = "area/rate.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return tmp_path


def test_a_good_file_loads_with_exact_values(tmp_path):
    parameter = load_parameters(write(tmp_path, GOOD))["area.rate"]
    assert parameter.at(date(2020, 1, 1)) == Fraction(7, 50)
    assert parameter.at(date(2025, 6, 30)) == Fraction(7, 50)
    assert parameter.at(date(2025, 7, 1)) == Fraction(7, 40)
    assert parameter.values[1].verified is False and parameter.verified is True
    column = parameter.column(pl.Series([date(2024, 1, 1), date(2025, 7, 1), date(2030, 1, 1)]))
    assert column.to_list() == [140_000, 175_000, 175_000] and SCALE == 1_000_000


@pytest.mark.parametrize(("broken", "key", "problem"), [
    (GOOD.replace("  reference: Law X Art 1\n", "", 1), "metadata.reference", "missing"),
    (GOOD.replace("unit: ratio", "unit: percent"), "metadata.unit", "unknown unit"),
    (GOOD.replace("value: 0.14", "value: 1.4"), "values.2020-01-01.value", "between 0 and 1"),
    (GOOD.replace("value: 0.14", "value: 0.1400001"), "values.2020-01-01.value", "6 decimal places"),
    (GOOD.replace("value: 0.14", "value: -0.14"), "values.2020-01-01.value", "negative"),
    (GOOD.replace("value: 0.14", "value: fourteen"), "values.2020-01-01.value", "not a number"),
    (GOOD.replace("2020-01-01:", "2020-13-01:"), "values.2020-13-01", "not a date"),
    (GOOD.replace("    metadata: {reference: Law X Art 1}\n", ""), "values.2020-01-01.metadata", "missing"),
    (GOOD.replace("2025-07-01:", "2020-01-01:"), "line 10", "duplicate key"),
    (GOOD.replace("description: A rate\n", ""), "description", "missing"),
    (GOOD + "extra: 1\n", "extra", "unknown key"),
    (GOOD.replace("verified: true\nvalues", "verified: yes please\nvalues"), "metadata.verified", "expected bool"),
    (GOOD.replace("value: 0.14", "value: null"), "values.2020-01-01", "first value cannot be null"),
])
def test_bad_files_name_the_file_the_key_and_the_problem(tmp_path, broken, key, problem):
    with pytest.raises(ParameterFileError) as excinfo:
        load_parameters(write(tmp_path, broken))
    error = excinfo.value
    assert error.path.endswith("area/rate.yaml")
    assert error.key == key, str(error)
    assert problem in error.problem, str(error)


MAPPING = """\
description: By region
metadata: {unit: vnd_per_month, reference: Decree Z, verified: false, kind: mapping, keys: [I, II]}
values:
  2020-01-01: {value: {I: 100, II: 90}, metadata: {reference: Decree Z Art 3}}
  2024-01-01: {value: null, metadata: {reference: Decree W repeals it}}
"""


def test_mappings_need_every_key_and_null_means_no_longer_applies(tmp_path):
    parameter = load_parameters(write(tmp_path, MAPPING, "m/wage.yaml"))["m.wage"]
    assert parameter.at(date(2021, 1, 1), "II") == 90
    with pytest.raises(ValidationFailed, match="does not apply on 2024-01-01"):
        parameter.at(date(2024, 1, 1), "I")
    assert parameter.column(pl.Series([date(2020, 5, 1), date(2023, 12, 31)]), pl.Series(["II", "I"])).to_list() == [90, 100]
    with pytest.raises(ValidationFailed) as excinfo:
        parameter.column(pl.Series([date(2020, 5, 1)]), pl.Series(["III"]), field_name="region")
    assert excinfo.value.field == "region" and "accepted: I, II" in str(excinfo.value)
    with pytest.raises(ValidationFailed, match="does not apply"):
        parameter.column(pl.Series([date(2020, 5, 1), date(2025, 1, 1)]), pl.Series(["I", "I"]))
    broken = MAPPING.replace("{I: 100, II: 90}", "{I: 100}")
    with pytest.raises(ParameterFileError, match="differ from metadata.keys"):
        load_parameters(write(tmp_path, broken, "m/wage.yaml"))


GROUPS = """\
description: A digit by group; group C exists from 2025
metadata: {unit: count, reference: Decision D, verified: false, kind: mapping, keys: [A, B, C]}
values:
  2015-01-01: {value: {A: 1, B: 4, C: null}, metadata: {reference: Decision D}}
  2025-07-01: {value: {A: 1, B: 4, C: 4}, metadata: {reference: Decision E}}
"""


def test_a_null_key_of_a_mapping_has_no_value_on_those_dates(tmp_path):
    """The keys of a mapping can change over time (card group codes): a key is ``null`` on the dates it has no value,
    and a lookup of it then is refused naming the field, singly and on columns."""
    parameter = load_parameters(write(tmp_path, GROUPS, "g/digit.yaml"))["g.digit"]
    assert parameter.at(date(2025, 7, 1), "C") == 4 and parameter.at(date(2020, 1, 1), "B") == 4
    with pytest.raises(ValidationFailed) as single:
        parameter.at(date(2025, 6, 30), "C", field_name="group")
    assert single.value.field == "group" and "no value for C" in str(single.value)
    dates = pl.Series([date(2020, 1, 1), date(2025, 7, 1)])
    assert parameter.column(dates, pl.Series(["A", "C"])).to_list() == [1, 4]
    assert parameter.column(dates, pl.Series([None, "C"], dtype=pl.Utf8)).to_list() == [None, 4]
    with pytest.raises(ValidationFailed) as column:
        parameter.column(dates, pl.Series(["C", "C"]), field_name="group")
    assert column.value.field == "group" and "no value for C" in str(column.value)
    with pytest.raises(ParameterFileError, match="every key is null"):
        load_parameters(write(tmp_path, GROUPS.replace("{A: 1, B: 4, C: null}", "{A: null, B: null, C: null}"),
                              "g/digit.yaml"))


SCALE_FILE = """\
description: Days by years of contributions
metadata: {unit: days, reference: Law Q, verified: true, kind: scale}
values:
  2016-01-01: {value: {0: 30, 15: 40, 30: 60}, metadata: {reference: Law Q Art 26}}
"""


def test_scales_pick_the_highest_threshold_not_above_the_amount(tmp_path):
    parameter = load_parameters(write(tmp_path, SCALE_FILE, "s/days.yaml"))["s.days"]
    assert [parameter.scale_at(date(2020, 1, 1), years) for years in (0, 14, 15, 29, 30, 45)] == [30, 30, 40, 40, 60, 60]
    dates = pl.Series([date(2020, 1, 1)] * 6)
    assert parameter.scale_column(dates, pl.Series([0, 14, 15, 29, 30, 45])).to_list() == [30, 30, 40, 40, 60, 60]


def test_dates_before_the_first_value_are_refused_naming_the_field(tmp_path):
    parameter = load_parameters(write(tmp_path, GOOD))["area.rate"]
    with pytest.raises(ValidationFailed) as excinfo:
        parameter.at(date(2019, 12, 31), field_name="due")
    assert excinfo.value.field == "due" and "the first is from 2020-01-01" in str(excinfo.value)
    with pytest.raises(ValidationFailed, match="2019-12-31"):
        parameter.column(DateIndex.of(pl.Series([date(2021, 1, 1), date(2019, 12, 31)])))


def test_the_shipped_parameters_load_and_carry_references():
    from ansinh.rules.parameters import get_parameters

    parameters = get_parameters()
    assert len(parameters) >= 18
    for parameter in parameters:
        assert parameter.reference and all(entry.reference for entry in parameter.values)
