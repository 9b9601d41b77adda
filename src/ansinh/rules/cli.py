"""``ansinh calc NAME ...`` (one command per registered calculation, options generated from its inputs) and
``ansinh rules list|show``."""

from __future__ import annotations

import inspect
import json
import typing
from datetime import date
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from ansinh.errors import ValidationFailed
from ansinh.rules.calculator import Calculator, calculators
from ansinh.rules.parameters import ParameterFileError, get_parameters

calc_app = typer.Typer(help="Calculations of the three schemes, as of a date (see `ansinh calc NAME --help`).",
                       no_args_is_help=True)
rules_app = typer.Typer(help="The legal parameters.", no_args_is_help=True)
out = Console(width=200)
err = Console(stderr=True, width=200)


def _fail(lines: list[str]) -> typing.NoReturn:
    for line in lines:
        err.print(f"[bold red]error:[/] {line}", highlight=False)
    raise typer.Exit(2)


def _option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or (typing.get_origin(annotation) is typing.Union and bool in typing.get_args(annotation))


def _choices(annotation: Any) -> list[str] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is typing.Literal:
            return [str(a) for a in typing.get_args(candidate)]
    return None


def _describe(field) -> str:
    text = field.description or ""
    choices = _choices(field.annotation)
    if choices:
        text += f" One of: {', '.join(choices)}."
    for meta in field.metadata:
        for bound, word in (("ge", "at least"), ("gt", "more than"), ("le", "at most"), ("lt", "less than")):
            if getattr(meta, bound, None) is not None:
                text += f" {word.capitalize()} {getattr(meta, bound):,}."
    return text.strip()


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, inner, rows)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _flatten(f"{prefix}[{index}]", inner, rows)
    else:
        rows.append((prefix, f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)))


def run_calculator(calculator: Calculator, raw: dict[str, Any], as_json: bool) -> None:
    """Validate the options, compute, print; any bad input exits 2 naming the option."""
    try:
        inputs = calculator.inputs.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = error["loc"][0] if error["loc"] else ""
            given = raw.get(field, "")
            lines.append(f"{_option_name(str(field))}: {error['msg']} (got {given!r})" if field else error["msg"])
        _fail(lines)
    try:
        result = calculator.compute(inputs, get_parameters())
    except ValidationFailed as exc:
        _fail([f"{_option_name(exc.field)}: {exc.message}"])
    if as_json:
        print(json.dumps(calculator.outputs.model_validate(result).model_dump(mode="json"), ensure_ascii=False))
        return
    rows: list[tuple[str, str]] = []
    _flatten("", result, rows)
    table = Table(title=calculator.summary, show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)


def _make_command(calculator: Calculator):
    parameters = []
    for name, field in calculator.inputs.model_fields.items():
        flag = _option_name(name)
        if _is_bool(field.annotation):
            option = typer.Option(False, flag, help=_describe(field))
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=bool))
        else:
            option = typer.Option(... if field.is_required() else None, flag, help=_describe(field),
                                  show_default=False)
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                                annotation=str if field.is_required() else typing.Optional[str]))
    parameters.append(inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY,
                                        default=typer.Option(False, "--json", help="Print one JSON object."),
                                        annotation=bool))

    def command(**values: Any) -> None:
        as_json = values.pop("as_json")
        raw = {k: v for k, v in values.items()
               if v is not None and not (v is False and _is_bool(calculator.inputs.model_fields[k].annotation))}
        run_calculator(calculator, raw, as_json)

    command.__signature__ = inspect.Signature(parameters)
    command.__name__ = calculator.name.replace("-", "_")
    command.__doc__ = calculator.summary
    return command


for _calculator in calculators().values():
    calc_app.command(_calculator.name, help=_calculator.summary)(_make_command(_calculator))


def _plain_number(value) -> str:
    from fractions import Fraction

    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):.6f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


def _format_value(parameter, value) -> str:
    if value is None:
        return "(no longer applies)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {'—' if v is None else _format_value(parameter, v)}" for k, v in value.items())
    if isinstance(value, tuple):  # a scale: thresholds are plain numbers, values in the parameter's unit
        return "; ".join(f"≥ {_plain_number(t)} → {_format_value(parameter, v)}" for t, v in value)
    if parameter.is_fraction:
        text = f"{float(value):.6f}".rstrip("0").rstrip(".")
        return f"{text} ({float(value) * 100:g}%)" if parameter.unit.startswith("ratio") else text
    return f"{value:,}"


@rules_app.command("list")
def list_parameters() -> None:
    """Every parameter with its current value."""
    try:
        parameters = get_parameters()
    except ParameterFileError as exc:
        _fail([str(exc)])
    table = Table("name", "unit", "latest from", "value", "verified")
    for parameter in parameters:
        latest = parameter.values[-1]
        table.add_row(parameter.name, parameter.unit, latest.start.isoformat(), _format_value(parameter, latest.value),
                      "yes" if latest.verified else "[yellow]no[/]")
    out.print(table)


@rules_app.command("show")
def show_parameter(name: Annotated[str, typer.Argument(help="Dotted name, e.g. salary.base_salary.")],
                   on: Annotated[str | None, typer.Option("--on", help="Only the value in force on this date.")] = None,
                   as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """A parameter's history (or its value on a date), with references and verification status."""
    parameters = get_parameters()
    if name not in parameters:
        close = [n for n in parameters.names() if name.split(".")[-1] in n]
        _fail([f"no parameter {name!r}" + (f"; did you mean {', '.join(close[:5])}?" if close else "")])
    parameter = parameters[name]
    entries = list(parameter.values)
    if on is not None:
        try:
            day = date.fromisoformat(on)
        except ValueError:
            _fail([f"--on: not a date (YYYY-MM-DD): {on!r}"])
        try:
            entries = [parameter.entry_at(day)]
        except ValidationFailed as exc:
            _fail([f"--on: {exc.message}"])
    if as_json:
        print(json.dumps(parameter_json(parameter, entries), ensure_ascii=False))
        return
    out.print(f"[bold]{parameter.name}[/] ({parameter.unit}) — {parameter.description}")
    out.print(f"reference: {parameter.reference}; verified: {'yes' if parameter.verified else 'no'}")
    table = Table("from", "value", "reference", "verified")
    for entry in entries:
        table.add_row(entry.start.isoformat(), _format_value(parameter, entry.value), entry.reference,
                      "yes" if entry.verified else "[yellow]no[/]")
    out.print(table)


def _json_value(value: Any) -> Any:
    from fractions import Fraction

    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else format(value.numerator / value.denominator, ".6g")
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [{"threshold": _json_value(t), "value": _json_value(v)} for t, v in value]
    return value


def parameter_json(parameter, entries=None) -> dict:
    return {
        "name": parameter.name, "description": parameter.description, "description_vi": parameter.description_vi,
        "unit": parameter.unit, "kind": parameter.kind, "reference": parameter.reference,
        "verified": parameter.verified,
        "values": [{"from": e.start.isoformat(), "value": _json_value(e.value), "reference": e.reference,
                    "verified": e.verified} for e in (entries if entries is not None else parameter.values)],
    }
