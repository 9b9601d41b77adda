"""``GET /api/v1/calc/NAME`` for every registered calculation (query fields = the calculation's inputs), and
the parameters under ``/api/v1/rules/parameters``. Public: they touch no personal data, like the agency's own
online calculators."""

# No "from __future__ import annotations" here: the generated endpoints' annotations must be real classes.

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ansinh.bounds import Day
from ansinh.auth.deps import PublicReference
from ansinh.errors import NotFound
from ansinh.rules.calculator import Calculator, calculators
from ansinh.rules.cli import parameter_json
from ansinh.rules.parameters import get_parameters
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["rules"], responses={422: {"model": ErrorBody}},
                   dependencies=[PublicReference])


def _endpoint(calculator: Calculator):
    inputs_model = calculator.inputs

    def endpoint(inputs: Annotated[inputs_model, Query()]) -> Any:
        return calculator.compute(inputs, get_parameters())

    endpoint.__name__ = f"calc_{calculator.name.replace('-', '_')}"
    return endpoint


for _calculator in calculators().values():
    router.add_api_route(
        f"/calc/{_calculator.name}", _endpoint(_calculator), methods=["GET"], response_model=_calculator.outputs,
        summary=_calculator.summary, description=(_calculator.description or "").strip(),
    )


@router.get("/rules/parameters", summary="Every legal parameter with its dated history")
def list_parameters() -> list[dict]:
    return [parameter_json(p) for p in get_parameters()]


@router.get("/rules/parameters/{name}", summary="One legal parameter (its history, or its value on a date)")
def read_parameter(name: str, on: Day | None = None) -> dict:
    parameters = get_parameters()
    if name not in parameters:
        raise NotFound("There is no parameter {name}.", name=name)
    parameter = parameters[name]
    return parameter_json(parameter, [parameter.entry_at(on)] if on else None)
