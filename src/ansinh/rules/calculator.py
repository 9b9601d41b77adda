"""The registry of calculations. Each calculation declares itself once::

    register(Calculator(
        name="contributions",
        summary="Compulsory contributions for one worker and month",
        inputs=ContributionsInput,       # pydantic: fields, ranges, descriptions (CLI options and API query)
        outputs=ContributionsOutput,     # pydantic: the answer's shape (OpenAPI)
        compute=contributions_single,    # (inputs, parameters) -> dict, the same code as the columns
        columns=contributions_columns,   # (DataFrame, parameters) -> DataFrame, a million rows in one call
    ))

``ansinh calc NAME`` and ``GET /api/v1/calc/NAME`` are generated from the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
from pydantic import BaseModel

from ansinh.rules.parameters import ParameterSet


@dataclass(frozen=True)
class Calculator:
    name: str
    summary: str
    inputs: type[BaseModel]
    outputs: type[BaseModel]
    compute: Callable[[Any, ParameterSet], dict]
    columns: Callable[[pl.DataFrame, ParameterSet], pl.DataFrame]
    description: str = ""


CALCULATORS: dict[str, Calculator] = {}


def register(calculator: Calculator) -> Calculator:
    CALCULATORS[calculator.name] = calculator
    return calculator


def calculators() -> dict[str, Calculator]:
    """Every calculation, importing their modules first."""
    from ansinh.rules import catalogue  # noqa: F401 - registers the calculations

    return CALCULATORS


def single_row(inputs: BaseModel) -> pl.DataFrame:
    """A one-row frame of a calculator's inputs, so that the single case runs the column code."""
    return pl.DataFrame([inputs.model_dump()])
