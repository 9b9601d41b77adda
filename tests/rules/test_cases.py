"""Runs every worked example of ``tests/rules/cases/`` (see conftest.py)."""

import pytest

from ansinh.errors import ValidationFailed
from ansinh.rules.calculator import calculators
from ansinh.rules.parameters import get_parameters
from tests.rules.conftest import assert_subset, load_cases

CASES = load_cases()


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_worked_example(case):
    calculator = calculators()[case["calculator"]]
    if "error" in case:
        from pydantic import ValidationError

        with pytest.raises((ValidationFailed, ValidationError)) as excinfo:
            calculator.compute(calculator.inputs.model_validate(case["input"]), get_parameters())
        error = excinfo.value
        fields = {error.field} if isinstance(error, ValidationFailed) else {str(e["loc"][0]) for e in error.errors()}
        assert case["error"]["field"] in fields
        return
    result = calculator.compute(calculator.inputs.model_validate(case["input"]), get_parameters())
    result = calculator.outputs.model_validate(result).model_dump(mode="json")
    assert_subset(case["expected"], result)
