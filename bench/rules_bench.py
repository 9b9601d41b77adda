"""Rules benchmark (issue 3): compulsory contributions for 1,000,000 worker-months, exact to the dong, against
OpenFisca-Core computing the same formula on the same rows in the same run."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import time
from datetime import date
from fractions import Fraction  # noqa: F401 - used by the independent check script
from pathlib import Path

import polars as pl

from ansinh.rules.contributions import contributions_columns
from ansinh.rules.parameters import get_parameters
from bench.data import OUT, worker_months, write
from bench.export_openfisca import export

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = Path(__file__).parent / ".venv-openfisca"
PEER_PYTHON = PEER_VENV / "bin" / "python"
ROWS = int(os.environ.get("ANSINH_BENCH_ROWS", "1000000"))


def best_of(function, repeats: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def independent_check(frame: pl.DataFrame, totals: pl.Series, sample: int = 20_000) -> int:
    """Rows (of a sample) where our total differs from the hand calculation of
    scripts/derive_contribution_cases.py (Fractions, figures typed from the decrees)."""
    calc = runpy.run_path(str(ROOT / "scripts" / "derive_contribution_cases.py"), run_name="not_main")["calc"]
    step = max(1, frame.height // sample)
    wrong = 0
    for index in range(0, frame.height, step):
        row = frame.row(index, named=True)
        expected, _ = calc(row["salary"], row["on"], row["region"], row["sector"])
        wrong += expected["total"] != totals[index]
    return wrong


def run() -> dict:
    parameters = get_parameters()
    frame = worker_months(ROWS)
    contributions_columns(frame.head(1_000), parameters)  # warm-up
    mixed_seconds, result = best_of(lambda: contributions_columns(frame, parameters))
    one_month = frame.with_columns(on=pl.lit(date(2026, 12, 1)))
    one_month_seconds, one_month_result = best_of(lambda: contributions_columns(one_month, parameters))
    figures = {
        "rows": frame.height, "ours_mixed_dates_seconds": round(mixed_seconds, 3),
        "ours_one_month_seconds": round(one_month_seconds, 3),
        "ours_dtype": str(result["total"].dtype), "ours_sum_total": int(result["total"].sum()),
        "ours_rows_differing_from_hand_calculation": independent_check(frame, result["total"]),
    }
    if PEER_PYTHON.exists():
        rows_path = write(frame, "worker_months")
        exact_path = write(result.select("total"), "worker_months_exact")
        params_dir = OUT / "openfisca_parameters"
        shutil.rmtree(params_dir, ignore_errors=True)
        export(parameters, ("salary.", "contributions."), params_dir)
        completed = subprocess.run([str(PEER_PYTHON), str(Path(__file__).parent / "openfisca_peer.py"), str(rows_path),
                                    str(params_dir), str(exact_path)], capture_output=True, text=True, timeout=1800)
        if completed.returncode != 0:
            raise RuntimeError(completed.stderr[-3000:])
        figures["openfisca"] = json.loads(completed.stdout.strip().splitlines()[-1])
    else:
        figures["openfisca"] = "not installed (make bench installs it into bench/.venv-openfisca)"
    return figures
