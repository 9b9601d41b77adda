"""The peer: OpenFisca-Core computing the same compulsory-contribution formula on the same rows.

Runs in its own virtual environment (bench/.venv-openfisca: openfisca-core, polars) so that OpenFisca's
pins never touch ansinh's. Reads the rows and an OpenFisca parameter tree exported from ansinh's own
parameters (same figures, same dates), computes per month (OpenFisca computes one period per calculation),
and prints one JSON object: timings and the per-row totals' exactness against the exact answers.

    bench/.venv-openfisca/bin/python bench/openfisca_peer.py ROWS.parquet PARAMS_DIR EXACT.parquet
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import polars as pl
from openfisca_core.entities import build_entity
from openfisca_core.periods import DateUnit
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

Person = build_entity(key="person", plural="persons", label="A worker", is_person=True)
FUNDS = ("retirement", "sickness_maternity", "occupational", "health", "unemployment")
BASE = {"retirement": "si", "sickness_maternity": "si", "occupational": "si", "health": "hi", "unemployment": "ui"}


class salary(Variable):
    value_type = float
    entity = Person
    definition_period = DateUnit.MONTH
    label = "Declared monthly salary"


class region(Variable):
    value_type = int
    entity = Person
    definition_period = DateUnit.MONTH
    label = "Minimum-wage region, 0 = I ... 3 = IV"


class state_sector(Variable):
    value_type = bool
    entity = Person
    definition_period = DateUnit.MONTH
    label = "Pay set by the State"


def _by_region(node, region_code):
    return np.select([region_code == k for k in range(4)], [node.I, node.II, node.III, node.IV])


def _by_sector(node, state):
    return np.where(state, node.state, node.private)


class contributions_total(Variable):
    value_type = float
    entity = Person
    definition_period = DateUnit.MONTH
    label = "Employer + employee compulsory contributions"

    def formula(person, period, parameters):
        p = parameters(period)
        pay = person("salary", period)
        code = person("region", period)
        state = person("state_sector", period)
        base = p.salary.base_salary
        minimum = _by_region(p.salary.regional_minimum_wage, code)
        c = p.contributions
        floor = (minimum * _by_sector(c.salary_floor_minimum_wage_multiple, state)
                 + base * _by_sector(c.salary_floor_base_salary_multiple, state))
        raised = np.maximum(pay, floor)
        insured = {
            "si": np.minimum(raised, c.si_salary_cap_multiple * base),
            "hi": np.minimum(raised, c.hi_salary_cap_multiple * base),
            "ui": np.minimum(raised, base * _by_sector(c.ui_salary_cap_base_salary_multiple, state)
                             + minimum * _by_sector(c.ui_salary_cap_minimum_wage_multiple, state)),
        }
        total = 0
        for payer in ("employer", "employee"):
            for fund in FUNDS:
                total = total + np.round(insured[BASE[fund]] * c[payer][fund])
        return total


def build_system(params_dir: str) -> TaxBenefitSystem:
    system = TaxBenefitSystem([Person])
    system.load_parameters(params_dir)
    for variable in (salary, region, state_sector, contributions_total):
        system.add_variable(variable)
    return system


def compute(system, frame: pl.DataFrame) -> tuple[np.ndarray, float]:
    """Per month: one simulation over that month's rows. Returns totals in row order and the seconds
    spent in OpenFisca (building the simulations and calculating)."""
    frame = frame.with_row_index("row").with_columns(month=pl.col("on").dt.strftime("%Y-%m"))
    totals = np.zeros(frame.height, dtype=np.float64)
    region_code = {"I": 0, "II": 1, "III": 2, "IV": 3}
    spent = 0.0
    for (month,), group in frame.group_by(["month"], maintain_order=False):
        start = time.perf_counter()
        builder = SimulationBuilder()
        builder.create_entities(system)
        builder.declare_person_entity("person", [str(i) for i in range(group.height)])
        simulation = builder.build(system)
        simulation.set_input("salary", month, group["salary"].to_numpy().astype(np.float32))
        simulation.set_input("region", month, group["region"].replace_strict(region_code).to_numpy())
        simulation.set_input("state_sector", month, (group["sector"] == "state").to_numpy())
        result = simulation.calculate("contributions_total", month)
        spent += time.perf_counter() - start
        totals[group["row"].to_numpy()] = result
    return totals, spent


def main(rows_path: str, params_dir: str, exact_path: str) -> None:
    start = time.perf_counter()
    system = build_system(params_dir)
    load_seconds = time.perf_counter() - start
    frame = pl.read_parquet(rows_path)
    exact = pl.read_parquet(exact_path)["total"].to_numpy()
    totals, seconds = compute(system, frame)
    single = frame.with_columns(on=pl.lit(frame["on"].max()))  # every row in one month: one simulation
    single_totals, single_seconds = compute(system, single)
    diff = totals.astype(np.float64) - exact
    print(json.dumps({
        "rows": frame.height, "months": frame["on"].dt.strftime("%Y-%m").n_unique(),
        "load_seconds": round(load_seconds, 3), "mixed_dates_seconds": round(seconds, 3),
        "one_month_seconds": round(single_seconds, 3),
        "dtype": str(totals.dtype), "openfisca_result_dtype": "float32",
        "rows_off": int(np.count_nonzero(diff)), "sum_abs_drift_dong": float(np.abs(diff).sum()),
        "max_abs_drift_dong": float(np.abs(diff).max()), "sum_total_openfisca": float(totals.sum()),
        "sum_total_exact": int(exact.sum()), "single_month_sum": float(single_totals.sum()),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:4])
