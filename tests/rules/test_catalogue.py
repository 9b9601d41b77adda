"""Properties of the whole catalogue: enough worked examples, every dated parameter tested on both sides of
each change, the column form equal to the single case."""

from collections import defaultdict

import polars as pl

from ansinh.rules.calculator import calculators
from ansinh.rules.parameters import get_parameters, track_parameter_use
from tests.rules.conftest import load_cases


def _valid_cases():
    return [case for _, case in load_cases() if "expected" in case]


def test_there_are_at_least_100_worked_examples_with_sources():
    cases = load_cases()
    assert len(cases) >= 100, len(cases)
    assert all(str(case["source"]).strip() for _, case in cases)


#: Parameters of agency procedure (billing deadlines, allocation order, appraisal thresholds, the legal clock of
#: benefit claims) that the collection, cards, claims and benefits domains apply; they are exercised by their own
#: tests (tests/claims/appraisal checks every ``claims.`` entry is read; tests/benefits/test_calendar.py the
#: deadlines on both sides of their dates; tests/outreach the age bands of the outreach lists), not by the
#: calculators' worked examples.
PROCEDURE_PREFIXES = ("collection.", "cards.", "claims.", "benefits.deadlines.", "outreach.")


def test_every_dated_parameter_value_is_used_by_a_worked_example():
    parameters = get_parameters()
    with track_parameter_use() as hits:
        for case in _valid_cases():
            calculator = calculators()[case["calculator"]]
            calculator.compute(calculator.inputs.model_validate(case["input"]), parameters)
    missing = []
    for parameter in parameters:
        if parameter.name.startswith(PROCEDURE_PREFIXES):
            continue
        for index, entry in enumerate(parameter.values):
            if entry.value is not None and index not in hits.get(parameter.name, set()):
                missing.append(f"{parameter.name} from {entry.start}")
    assert not missing, "no worked example uses: " + "; ".join(missing)


def test_the_column_form_gives_the_single_case_answers():
    parameters = get_parameters()
    by_calculator = defaultdict(list)
    for case in _valid_cases():
        by_calculator[case["calculator"]].append(case)
    for name, cases in by_calculator.items():
        calculator = calculators()[name]
        inputs = [calculator.inputs.model_validate(c["input"]) for c in cases]
        frame = pl.DataFrame([i.model_dump() for i in inputs])
        together = calculator.columns(frame, parameters)
        assert together.height == len(cases)
        for row, single_inputs in zip(together.iter_rows(named=True), inputs):
            alone = calculator.columns(pl.DataFrame([single_inputs.model_dump()]), parameters).row(0, named=True)
            assert row == alone, name
