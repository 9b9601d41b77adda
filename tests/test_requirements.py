"""The pinned requirements install every dependency pyproject.toml declares.

`make install` installs from requirements/*.txt, not from pyproject.toml, so a dependency added to
pyproject.toml without `make lock` imports on the machine that added it and fails everywhere else.
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-").replace(".", "-")


def _pinned(path: Path) -> set[str]:
    return {
        line.split("==", 1)[0].strip().lower().replace("_", "-").replace(".", "-")
        for line in path.read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }


def test_every_declared_dependency_is_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    main = _pinned(ROOT / "requirements" / "main.txt")
    test = _pinned(ROOT / "requirements" / "test.txt")
    declared = {_name(r) for r in project["dependencies"]}
    declared_test = {_name(r) for r in project["optional-dependencies"]["test"]}
    assert declared - main == set(), "run `make lock`: requirements/main.txt misses these"
    assert (declared | declared_test) - test == set(), "run `make lock`: requirements/test.txt misses these"
