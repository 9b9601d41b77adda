"""Export ansinh's parameters (same figures, same dates) into OpenFisca's own layout for the peer: a scalar
is one file, a mapping is a folder with one file per key. Values become plain numbers (OpenFisca's way)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ansinh.rules.parameters import ParameterSet


def _number(value):
    return None if value is None else (float(value) if not isinstance(value, int) else value)


def export(parameters: ParameterSet, prefixes: tuple[str, ...], target: Path) -> Path:
    for parameter in parameters:
        if not parameter.name.startswith(prefixes):
            continue
        path = target.joinpath(*parameter.name.split("."))
        if parameter.kind == "scalar":
            path.parent.mkdir(parents=True, exist_ok=True)
            document = {"description": parameter.description,
                        "values": {e.start.isoformat(): {"value": _number(e.value)} for e in parameter.values}}
            path.with_suffix(".yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
        elif parameter.kind == "mapping":
            path.mkdir(parents=True, exist_ok=True)
            (path / "index.yaml").write_text(yaml.safe_dump({"description": parameter.description}, allow_unicode=True))
            for key in parameter.keys:
                document = {"description": f"{parameter.description} ({key})",
                            "values": {e.start.isoformat(): {"value": _number(e.value[key] if e.value else None)}
                                       for e in parameter.values}}
                (path / f"{key}.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    return target
