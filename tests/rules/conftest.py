"""Worked examples as YAML: every ``tests/rules/cases/*.yaml`` file is a list of cases::

    - name: Private worker, region I, 10,000,000 in January 2025
      calculator: contributions
      date: 2025-01-15                      # the date the example is about (usually input.on)
      input: {salary: 10000000, on: 2025-01-15, region: I}
      expected: {total: 3200000, employer: {total: 2150000}}   # the keys given are compared exactly
      source: "Law 58/2014 Art 85-86: 8% + 1.5% + 1% employee ... (worked by hand: ...)"

or, for bad input, ``error: {field: on}`` instead of ``expected``. Each case runs the single-case wrapper;
``test_catalogue.py`` also runs every calculator's cases together through its column function and checks
that every dated parameter entry is used by some case (both sides of every change of law).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CASES_DIR = Path(__file__).parent / "cases"
REQUIRED = {"name", "calculator", "date", "input", "source"}


def load_cases() -> list[tuple[str, dict]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for index, case in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            missing = REQUIRED - set(case)
            if missing or ("expected" in case) == ("error" in case):
                raise ValueError(f"{path.name} case {index + 1}: needs {sorted(REQUIRED)} and one of expected/error")
            cases.append((f"{path.stem}:{index + 1}:{case['name']}", case))
    return cases


def assert_subset(expected, actual, path: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a mapping, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key}: missing in {sorted(actual)}"
            assert_subset(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        for index, (e, a) in enumerate(zip(expected, actual)):
            assert_subset(e, a, f"{path}[{index}]")
    elif isinstance(expected, float) or isinstance(actual, float):
        assert actual == pytest.approx(expected, abs=1e-9), f"{path}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
