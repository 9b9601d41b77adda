"""Deterministic benchmark rows: a million worker-months with mixed salaries, regions, sectors and dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

OUT = Path(__file__).parent / "out"


def worker_months(rows: int = 1_000_000, seed: int = 2026, first: date = date(2019, 1, 1),
                  last: date = date(2026, 12, 31)) -> pl.DataFrame:
    """Salaries log-uniform-ish from 1 to 150 million dong (some below floors, some above caps), regions
    I–IV, 15% state sector, dates spread over ``first``–``last``."""
    span = (last - first).days + 1
    frame = pl.DataFrame({"i": pl.int_range(rows, eager=True)})
    # Deterministic pseudo-random integers from a hash of (seed, row): no global random state.
    h = lambda salt: pl.col("i").hash(seed * 1_000 + salt)  # noqa: E731
    return frame.select(
        salary=(pl.lit(1_000_000) * (pl.lit(150.0) ** ((h(1) % 10_000) / 10_000.0))).cast(pl.Int64),
        on=(pl.lit(first) + pl.duration(days=(h(2) % span).cast(pl.Int64))).cast(pl.Date),
        region=pl.when(h(3) % 4 == 0).then(pl.lit("I")).when(h(3) % 4 == 1).then(pl.lit("II"))
        .when(h(3) % 4 == 2).then(pl.lit("III")).otherwise(pl.lit("IV")),
        sector=pl.when(h(4) % 100 < 15).then(pl.lit("state")).otherwise(pl.lit("private")),
    )


def write(frame: pl.DataFrame, name: str) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.parquet"
    frame.write_parquet(path)
    return path
