"""The README's table of figures not yet confirmed in the law's own text, generated from the parameters
(``python -m ansinh.rules.report --write`` rewrites the README block; a test keeps it in sync)."""

from __future__ import annotations

import sys
from pathlib import Path

from ansinh.rules.parameters import ParameterSet, get_parameters

START = "<!-- unverified-parameters:start -->"
END = "<!-- unverified-parameters:end -->"
README = Path(__file__).resolve().parents[3] / "README.md"


def unverified_table(parameters: ParameterSet) -> str:
    from ansinh.rules.cli import _format_value

    lines = ["| parameter | from | value | reference |", "|---|---|---|---|"]
    for parameter in parameters:
        for entry in parameter.values:
            if not entry.verified:
                value = _format_value(parameter, entry.value).replace("|", "\\|")
                lines.append(f"| `{parameter.name}` | {entry.start.isoformat()} | {value} | {entry.reference} |")
    return "\n".join(lines)


def readme_block(parameters: ParameterSet) -> str:
    return f"{START}\n{unverified_table(parameters)}\n{END}"


def rewrite_readme(path: Path = README) -> bool:
    text = path.read_text(encoding="utf-8")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    updated = before + readme_block(get_parameters()) + after
    changed = updated != text
    path.write_text(updated, encoding="utf-8")
    return changed


if __name__ == "__main__":
    if "--write" in sys.argv:
        print("README updated" if rewrite_readme() else "README already up to date")
    else:
        print(unverified_table(get_parameters()))
