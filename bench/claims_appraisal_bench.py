"""Claims appraisal benchmark: 1,000,000 claims and about 5,000,000 lines through every appraisal rule.

The data is generated on columns (hashes of the row number, no Python loop per row), deterministic, and written to
Parquet files: a month (March 2026) of claims of 400,000 people at 1,000 facilities — 80% outpatient examinations,
15% inpatient stays of 1 to 10 days, 5% outpatient treatment — each with an examination fee, drugs, services and,
for stays, beds; every facility with its price list of 1,500 items, its contract and its classification on each day;
the people's cards and coverage; a few per cent of everything wrong on purpose (prices above the list, items not in
it, dates of birth, cards, totals, times, bed days, repeated visits, unknown ICD-10 codes).

Measured, each in a process of its own (its peak resident memory, ``ru_maxrss``, is its own), best of
``ANSINH_BENCH_REPEATS`` (default 3) runs:

- **appraise**: read every frame from Parquet, build the batch, run every rule and add the findings up;
- **floor**: read the same lines from Parquet and join them once to the price list (on facility, kind and code),
  then one group-by per claim (the fund amount and the price excess of each claim) — the least any appraisal of
  these lines must do; measured twice, with Polars' join on the three texts and with the engine's own join on a
  hash of them (``price_in_force``), and the ratio is taken to the faster of the two.

Targets: appraise under 60 s and 4 GB on 2 cores, at most 4 × the floor. Environment: ``ANSINH_BENCH_CLAIMS``
(default 1,000,000), ``ANSINH_BENCH_REPEATS``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

CLAIMS = int(os.environ.get("ANSINH_BENCH_CLAIMS", "1000000"))
REPEATS = int(os.environ.get("ANSINH_BENCH_REPEATS", "3"))
PEOPLE_PER_CLAIM = 0.4
FACILITIES = 1_000
ITEMS = 1_500  # per facility's list: 1,000 drugs, 400 services, 100 beds (code shapes as in the Ministry's lists)
MONTH_START = date(2026, 3, 1)
MONTH_DAYS = 31
TARGET_SECONDS = 60.0
TARGET_MEMORY_MB = 4_096
TARGET_RATIO = 4.0
SEED = 2026
KNOWN_ICD = [f"{letter}{number:02d}.{digit}" for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for number in range(100)
             for digit in range(5)]  # 13,000 codes


def _h(column: str, salt: int) -> pl.Expr:
    return pl.col(column).hash(SEED * 1_000 + salt)


def _pick(column: str, salt: int, modulus: int) -> pl.Expr:
    return (_h(column, salt) % modulus).cast(pl.Int64)


def _chance(column: str, salt: int, per_thousand: int) -> pl.Expr:
    return _pick(column, salt, 1_000) < per_thousand


def generate(claims: int = CLAIMS) -> dict[str, pl.DataFrame]:
    people = max(1, int(claims * PEOPLE_PER_CLAIM))
    facility_codes = [f"{1 + index // 100:02d}{index % 100 + 1:03d}" for index in range(FACILITIES)]
    facility_of = pl.Series("facility_code", facility_codes)

    # --- claims ------------------------------------------------------------------------------------------------
    base = pl.DataFrame({"i": pl.int_range(claims, eager=True, dtype=pl.Int64)})
    kind = _pick("i", 1, 100)
    care = pl.when(kind < 80).then(pl.lit("01")).when(kind < 95).then(pl.lit("03")).otherwise(pl.lit("02"))
    frame = base.with_columns(
        claim_id=pl.col("i") + 1,
        person_id=_pick("i", 2, people) + 1,
        facility_index=_pick("i", 3, FACILITIES),
        care_type=care,
        day=_pick("i", 4, MONTH_DAYS),
        minute=_pick("i", 5, 12 * 60) + 6 * 60,
        stay_days=pl.when(kind < 80).then(0).when(kind < 95).then(_pick("i", 6, 10) + 1).otherwise(
            _pick("i", 6, 5)),
    )
    frame = frame.with_columns(facility_code=pl.col("facility_index").map_batches(
        lambda s: facility_of.gather(s), return_dtype=pl.String))
    arrived = pl.lit(MONTH_START).cast(pl.Datetime("us")) + pl.duration(days=pl.col("day"), minutes=pl.col("minute"))
    frame = frame.with_columns(arrived_at=arrived).with_columns(
        admitted_at=pl.when(pl.col("care_type") == "03").then(pl.col("arrived_at") + pl.duration(minutes=30)),
        discharged_at=pl.when(pl.col("care_type") == "01").then(pl.col("arrived_at") + pl.duration(minutes=45))
        .when((pl.col("care_type") == "03") & _chance("i", 15, 10)).then(pl.col("arrived_at") + pl.duration(hours=3))
        .otherwise(pl.col("arrived_at") + pl.duration(days=pl.col("stay_days"), hours=2)),
    ).with_columns(
        treatment_days=pl.when(pl.col("care_type") == "01").then(0).otherwise(pl.col("stay_days") + 1)
        + pl.when(_chance("i", 7, 10)).then(1).otherwise(0),
        card_code=pl.when(_chance("i", 8, 3)).then(pl.lit("HT301") + pl.col("person_id").cast(pl.String)
                                                    .str.zfill(10))
        .otherwise(pl.lit("DN401") + pl.col("person_id").cast(pl.String).str.zfill(10)),
        date_of_birth=(pl.lit(date(1950, 1, 1)) + pl.duration(days=(pl.col("person_id") * 7919) % 25_000)
                       + pl.duration(days=pl.when(_chance("i", 9, 2)).then(1).otherwise(0))).cast(pl.Date),
        visit_category=pl.when(_chance("i", 10, 900)).then(pl.lit("1.1")).when(_chance("i", 11, 500))
        .then(pl.lit("2")).otherwise(pl.lit("1.12")),
    )
    icd = pl.Series("icd", KNOWN_ICD)
    frame = frame.with_columns(main_icd=pl.when(_chance("i", 12, 1)).then(pl.lit("Z99.99")).otherwise(
        _pick("i", 13, len(KNOWN_ICD)).map_batches(lambda s: icd.gather(s), return_dtype=pl.String)))
    # about 0.5% of the outpatient visits repeated the same day (duplicates and same-day visits)
    repeat = frame.filter((pl.col("care_type") == "01") & _chance("i", 14, 5)).with_columns(
        claim_id=pl.col("claim_id") + claims, i=pl.col("i") + claims,
        arrived_at=pl.col("arrived_at") + pl.duration(hours=3), discharged_at=pl.col("discharged_at")
        + pl.duration(hours=3))
    frame = pl.concat([frame.head(claims - repeat.height), repeat])

    # --- lines: an examination, then drugs, services and beds ----------------------------------------------------
    counts = frame.select(
        "claim_id", "facility_index", "care_type", "arrived_at", "discharged_at", "stay_days", "i",
        n=pl.when(pl.col("care_type") == "01").then(_pick("i", 20, 5) + 2).otherwise(_pick("i", 20, 8) + 4))
    lines = counts.with_columns(k=pl.int_ranges(0, pl.col("n"))).explode("k").with_columns(
        j=pl.col("i") * 16 + pl.col("k"))
    second_exam = (pl.col("care_type") == "03") & (pl.col("k") == 2) & _chance("j", 32, 20)
    item_kind = pl.when((pl.col("k") == 0) | second_exam).then(pl.lit("service")) \
        .when((pl.col("care_type") == "03") & (pl.col("k") == 1)).then(pl.lit("bed")) \
        .when(_pick("j", 21, 10) < 6).then(pl.lit("drug")).otherwise(pl.lit("service"))
    lines = lines.with_columns(kind=item_kind).with_columns(
        item=pl.when((pl.col("k") == 0) | second_exam).then(0)
        .when(pl.col("kind") == "drug").then(_pick("j", 22, 1_000))
        .when(pl.col("kind") == "bed").then(1_400 + _pick("j", 22, 100))
        .otherwise(1_000 + _pick("j", 22, 400)),
    ).with_columns(
        item=pl.when(_chance("j", 23, 5)).then(9_000 + _pick("j", 24, 100)).otherwise(pl.col("item")),  # unlisted
    )
    price = (pl.col("item") * 7_919 % 500 + 1) * 1_000
    lines = lines.with_columns(
        code=pl.when(pl.col("kind") == "drug").then(pl.lit("40.") + pl.col("item").cast(pl.String))
        .when(pl.col("kind") == "bed").then(pl.lit("K01.") + pl.col("item").cast(pl.String))
        .otherwise(pl.lit("02.") + pl.col("item").cast(pl.String)),
        cost_group=pl.when(pl.col("item") == 0).then(pl.lit("13"))
        .when(pl.col("kind") == "drug").then(pl.lit("4")).when(pl.col("kind") == "bed").then(pl.lit("14"))
        .otherwise(pl.lit("8")),
        quantity_milli=pl.when(pl.col("kind") == "bed").then(
            (pl.col("stay_days") + 1 + pl.when(_chance("j", 31, 20)).then(2).otherwise(0)) * 1_000)
        .when(pl.col("kind") == "drug").then((_pick("j", 25, 20) + 1) * 1_000).otherwise(1_000),
        unit_price_milli=(price + pl.when(_chance("j", 26, 20)).then(500).otherwise(0)) * 1_000,
        payment_rate=pl.lit(100, pl.Int64), benefit_pct=pl.when(_chance("j", 27, 10)).then(100).otherwise(80),
        ordered_at=pl.col("arrived_at") + pl.duration(minutes=_pick("j", 28, 40) - pl.when(_chance("j", 29, 5))
                                                      .then(60).otherwise(0)),
    ).with_columns(performed_at=pl.col("ordered_at") + pl.duration(minutes=5),
                   line_id=pl.col("j") + 1)
    lines = lines.with_columns(
        hospital_amount=pl.col("unit_price_milli") * pl.col("quantity_milli") // 1_000_000,
    ).with_columns(insured_amount=pl.col("hospital_amount") * pl.col("payment_rate") // 100).with_columns(
        fund_amount=pl.col("insured_amount") * pl.col("benefit_pct") // 100)
    line_columns = ["line_id", "claim_id", "kind", "code", "cost_group", "quantity_milli", "unit_price_milli",
                    "payment_rate", "benefit_pct", "hospital_amount", "insured_amount", "fund_amount", "ordered_at",
                    "performed_at"]
    lines = lines.select(line_columns)

    sums = lines.group_by("claim_id").agg(total_hospital=pl.col("hospital_amount").sum(),
                                          total_insured=pl.col("insured_amount").sum(),
                                          fund=pl.col("fund_amount").sum())
    claims_frame = frame.join(sums, on="claim_id", how="left").with_columns(
        fund_claimed=pl.col("fund") + pl.when(_chance("i", 30, 5)).then(10_000).otherwise(0),
    ).with_columns(patient_copay=pl.col("total_insured") - pl.col("fund"), patient_pays=pl.lit(0, pl.Int64),
                   other_sources=pl.lit(0, pl.Int64), other_icd=pl.lit(None, pl.String)).select(
        "claim_id", "facility_code", "person_id", "card_code", "date_of_birth", "visit_category", "care_type",
        "main_icd", "other_icd", "arrived_at", "admitted_at", "discharged_at", "treatment_days", "total_hospital",
        "total_insured", "patient_copay", "patient_pays", "fund_claimed", "other_sources")

    # --- registry, facilities, prices ---------------------------------------------------------------------------
    persons = pl.DataFrame({"person_id": pl.int_range(1, people + 1, eager=True, dtype=pl.Int64)})
    people_frame = persons.with_columns(date_of_birth=(pl.lit(date(1950, 1, 1)) + pl.duration(
        days=(pl.col("person_id") * 7919) % 25_000)).cast(pl.Date))
    cards = persons.with_columns(
        card_code=pl.lit("DN401") + pl.col("person_id").cast(pl.String).str.zfill(10),
        valid_from=pl.lit(date(2026, 1, 1)),
        valid_until=pl.when(_chance("person_id", 40, 5)).then(pl.lit(date(2026, 3, 15))).otherwise(
            pl.lit(date(2026, 12, 31))),
        status=pl.when(_chance("person_id", 41, 1)).then(pl.lit("suspended")).otherwise(pl.lit("active")),
        superseded_on=pl.lit(None, pl.Date), five_years_from=pl.lit(None, pl.Date))
    coverage = persons.with_columns(valid_from=pl.lit(date(2025, 1, 1)), valid_to=pl.lit(None, pl.Date))
    days = pl.date_range(MONTH_START, date(2026, 3, 31), eager=True).alias("on")
    facilities = pl.DataFrame({"facility_code": facility_codes}).join(pl.DataFrame(days), how="cross") \
        .with_columns(contract=~_chance("facility_code", 50, 2), level_2025=pl.lit("basic"),
                      former_level=pl.lit("district"), score=pl.lit(72, pl.Int64), provisional=pl.lit(False),
                      health_station=pl.lit(False))
    items = pl.DataFrame({"item": pl.int_range(0, ITEMS, eager=True, dtype=pl.Int64)}).with_columns(
        kind=pl.when(pl.col("item") < 1_000).then(pl.lit("drug")).when(pl.col("item") < 1_400)
        .then(pl.lit("service")).otherwise(pl.lit("bed")))
    items = items.with_columns(
        kind=pl.when(pl.col("item") == 0).then(pl.lit("service")).otherwise(pl.col("kind")),
        code=pl.when(pl.col("item") == 0).then(pl.lit("02.0"))
        .when(pl.col("kind") == "drug").then(pl.lit("40.") + pl.col("item").cast(pl.String))
        .when(pl.col("kind") == "bed").then(pl.lit("K01.") + pl.col("item").cast(pl.String))
        .otherwise(pl.lit("02.") + pl.col("item").cast(pl.String)),
        price=(pl.col("item") * 7_919 % 500 + 1) * 1_000)
    prices = pl.DataFrame({"facility_code": facility_codes}).join(items.drop("item"), how="cross").with_columns(
        valid_from=pl.lit(date(2025, 1, 1)), in_force_until=pl.lit(None, pl.Date))
    return {"claims": claims_frame, "lines": lines, "people": people_frame, "cards": cards, "coverage": coverage,
            "facilities": facilities, "prices": prices}


def write_frames(frames: dict[str, pl.DataFrame], directory: Path) -> None:
    for name, frame in frames.items():
        frame.write_parquet(directory / f"{name}.parquet")
    facility = frames["claims"].select("claim_id", "facility_code")
    frames["lines"].join(facility, on="claim_id").write_parquet(directory / "floor_lines.parquet")


# --- the two measured runs, each in a child process ------------------------------------------------------------

def _appraise(directory: Path) -> dict:
    from ansinh.claims.appraisal.engine import AppraisalBatch, appraise

    known = pl.Series(KNOWN_ICD).implode()
    started = time.perf_counter()
    frames = {name: pl.read_parquet(directory / f"{name}.parquet")
              for name in ("claims", "lines", "people", "cards", "coverage", "facilities", "prices")}
    read = time.perf_counter() - started
    batch = AppraisalBatch(**frames, icd_known=lambda codes: codes.is_in(known))
    result = appraise(batch)
    seconds = time.perf_counter() - started
    by_rule = result.findings.group_by("rule").agg(findings=pl.len(), amount=pl.col("amount").sum()).sort("rule")
    outcomes = result.claims.group_by("outcome").agg(pl.len()).sort("outcome")
    return {"seconds": seconds, "read_seconds": read, "claims": frames["claims"].height,
            "lines": frames["lines"].height, "findings": result.findings.height,
            "disallowed": int(result.claims["disallowed"].sum()),
            "fund_claimed": int(result.claims["fund_claimed"].sum()),
            "by_rule": {row["rule"]: [row["findings"], row["amount"]] for row in by_rule.to_dicts()},
            "outcomes": {row["outcome"]: row["len"] for row in outcomes.to_dicts()}}


def _floor(directory: Path, hashed: bool = False) -> dict:
    """The least an appraisal of the lines must do: read them, find each one's approved price (a join on facility,
    kind and code, or with ``hashed`` the engine's own join on a hash of them), and add up per claim."""
    from ansinh.claims.appraisal.engine import item_hashes, price_in_force

    started = time.perf_counter()
    lines = pl.read_parquet(directory / "floor_lines.parquet")
    prices = pl.read_parquet(directory / "prices.parquet")
    if hashed:
        lines = lines.with_columns(line_day=pl.col("performed_at").dt.date()).with_columns(
            item_hashes("facility_code"))
        priced = lines.with_columns(price=price_in_force(lines, prices))
    else:
        priced = lines.join(prices.select("facility_code", "kind", "code", "price"),
                            on=["facility_code", "kind", "code"], how="left")
    per_claim = priced.group_by("claim_id").agg(
        fund=pl.col("fund_amount").sum(),
        excess=((pl.col("unit_price_milli") - pl.col("price") * 1_000).clip(lower_bound=0)
                * pl.col("quantity_milli") // 1_000_000).sum())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "claims": per_claim.height, "lines": lines.height}


def _child(kind: str, directory: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "bench.claims_appraisal_bench", "--child", kind, str(directory)],
                            cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"claims appraisal benchmark child failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


KINDS = ("appraise", "floor", "floor_hashed")


def _interleaved(directory: Path) -> dict[str, dict]:
    """Each measurement ``REPEATS`` times, in turns (appraise, floor, hashed floor, appraise, ...), so that a change
    of the machine's load weighs on all of them; the best time of each, and its largest peak memory."""
    runs: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for _ in range(REPEATS):
        for kind in KINDS:
            runs[kind].append(_child(kind, directory))
    best = {}
    for kind, measured in runs.items():
        chosen = dict(min(measured, key=lambda run: run["seconds"]))
        chosen["peak_rss_mb"] = max(run["peak_rss_mb"] for run in measured)
        chosen["runs_seconds"] = [round(run["seconds"], 2) for run in measured]
        best[kind] = chosen
    return best


def run() -> dict:
    started = time.perf_counter()
    frames = generate(CLAIMS)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="ansinh-appraisal-") as name:
        directory = Path(name)
        write_frames(frames, directory)
        sizes = {key: frame.height for key, frame in frames.items()}
        del frames
        measured = _interleaved(directory)
        appraisal, floor, floor_hashed = (measured[kind] for kind in KINDS)
    slowest_floor = min(floor["seconds"], floor_hashed["seconds"])
    ratio = appraisal["seconds"] / slowest_floor
    return {
        "rows": sizes, "generate_seconds": round(generated, 2), "cores": os.cpu_count(),
        "polars_threads": pl.thread_pool_size(),
        "appraise": {**appraisal, "seconds": round(appraisal["seconds"], 2),
                     "read_seconds": round(appraisal["read_seconds"], 2)},
        "floor": {**floor, "seconds": round(floor["seconds"], 2)},
        "floor_hashed_join": {**floor_hashed, "seconds": round(floor_hashed["seconds"], 2)},
        "ratio": round(ratio, 2),
        "ratio_to_plain_floor": round(appraisal["seconds"] / floor["seconds"], 2),
        "targets": {"seconds": TARGET_SECONDS, "memory_mb": TARGET_MEMORY_MB, "ratio": TARGET_RATIO},
        "meets_target": appraisal["seconds"] < TARGET_SECONDS and appraisal["peak_rss_mb"] < TARGET_MEMORY_MB
        and ratio <= TARGET_RATIO,
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        kind, directory = sys.argv[2], Path(sys.argv[3])
        figures = _appraise(directory) if kind == "appraise" else _floor(directory, hashed=kind == "floor_hashed")
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(figures))
    else:
        print(json.dumps(run(), indent=2))
