"""Support that a province adds from its own budget (a resolution of its People's Council) on top of the State's:
dated parameters, one file per province, looked up on columns.

A province's support is the file ``parameters/<area>/<province code>.yaml`` (for voluntary SI
``voluntary/local_support/14.yaml`` is Sơn La's): a dated parameter like any other, so a new resolution is a new
dated entry, and the README's table lists it. A province without a file gives no support (0), and so does a date
before its file's first entry. For voluntary SI the file is a ``mapping`` by the participant's support group (the
keys of ``voluntary.state_support_rate``); for household HI a ``scalar`` (every member alike). To end a support,
add a dated entry of 0 (not ``null``).

Province codes are those the records carry (``province_2025``, the two-digit codes of the provinces in force from
2025-07-01; a province that kept its code — Sơn La, 14 — has the same before and after).
"""

from __future__ import annotations

import polars as pl

from ansinh.rules.parameters import ParameterSet

#: Where each scheme's provincial support files live (a folder below ``parameters/``, dotted).
VOLUNTARY = "voluntary.local_support"
HOUSEHOLD_HI = "health_insurance.household_local_support"


def provinces_with_support(p: ParameterSet, area: str) -> dict[str, str]:
    """Province code → parameter name, for every province with a support file in ``area``."""
    prefix = area + "."
    return {name[len(prefix):]: name for name in p.names()
            if name.startswith(prefix) and "." not in name[len(prefix):]}


def local_support_column(p: ParameterSet, area: str, on: pl.Series, province: pl.Series,
                         group: pl.Series | None = None) -> pl.Series:
    """Per row, the province's support rate (in millionths of its base) in force on the row's date, for the
    row's group when the province's file is a mapping; 0 without a province, a file, or an entry by that date.
    One lookup per province that has a file (a few), never per row."""
    on = on.cast(pl.Date)
    province = province.cast(pl.String)
    result = pl.Series("local_support_rate", [0] * len(on), dtype=pl.Int64)
    for code, name in provinces_with_support(p, area).items():
        parameter = p[name]
        mask = (province == code).fill_null(False) & (on >= parameter.first_date)
        if not mask.any():
            continue
        rows = mask.arg_true()
        if parameter.kind == "mapping":
            if group is None:
                raise TypeError(f"{name}: a support by group needs the rows' groups")
            values = parameter.column(on.filter(mask), group.filter(mask), field_name="group")
        else:
            values = parameter.column(on.filter(mask))
        result = result.scatter(rows, values)
    return result
