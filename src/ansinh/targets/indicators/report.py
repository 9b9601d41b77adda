"""The README's table of indicators, generated from the catalogue (``python -m ansinh.targets.indicators.report
--write`` rewrites the README block; a test keeps it in sync)."""

from __future__ import annotations

import sys
from pathlib import Path

from ansinh.targets.indicators.registry import indicators

START = "<!-- indicators:start -->"
END = "<!-- indicators:end -->"
README = Path(__file__).resolve().parents[4] / "README.md"


def indicators_table() -> str:
    lines = ["| code | name (vi) | unit | stock / flow | better | computed through |", "|---|---|---|---|---|---|"]
    for indicator in indicators().values():
        kind = "flow" if indicator.flow else "stock"
        source = f"`{indicator.source}`" if indicator.measured else f"not yet measured ({indicator.source})"
        lines.append(f"| `{indicator.code}` | {indicator.name_vi} | {indicator.unit} | {kind} | {indicator.better} "
                     f"| {source} |")
    return "\n".join(lines)


def readme_block() -> str:
    return f"{START}\n{indicators_table()}\n{END}"


def rewrite_readme(path: Path = README) -> bool:
    text = path.read_text(encoding="utf-8")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    updated = before + readme_block() + after
    path.write_text(updated, encoding="utf-8")
    return updated != text


if __name__ == "__main__":
    if "--write" in sys.argv:
        print("README updated" if rewrite_readme() else "README already up to date")
    else:
        print(indicators_table())
