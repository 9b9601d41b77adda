"""Import benchmark (issue 4): 1,000,000 people from a CSV file into a fresh PostgreSQL database (target < 60 s)
and a fresh SQLite file (target < 120 s), all rows validated first, with bounded memory.

Each import runs in a process of its own so that its peak resident memory (``ru_maxrss``) is its own. The CSV is
generated deterministically (valid citizen IDs consistent with date of birth and sex, Vietnamese names, communes
of the 2025 structure) and kept in ``bench/out``. PostgreSQL: the database ``ansinh_bench_import`` is created
through the ``test`` database at 127.0.0.1:5432 (trust auth) and dropped afterwards.

``python -m bench.import_bench [ROWS]`` runs it alone; ``ANSINH_BENCH_IMPORT_ROWS`` sets the size.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

OUT = Path(__file__).parent / "out"
ROWS = int(os.environ.get("ANSINH_BENCH_IMPORT_ROWS", "1000000"))
ADMIN_URL = os.environ.get("ANSINH_BENCH_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
BENCH_DB = "ansinh_bench_import"
TARGETS = {"postgresql": 60.0, "sqlite": 120.0}
MEMORY_LIMIT_MB = 2048  # "bounded": the import of a million rows stays well under this

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
            "Dương", "Lý"]
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Thành"]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Phương"]
GIVEN_MALE = ["An", "Bình", "Cường", "Dũng", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tuấn", "Việt"]
GIVEN_FEMALE = ["Anh", "Chi", "Dung", "Hà", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngọc", "Trang", "Vy", "Yến"]
ETHNICITIES = ["Kinh"] * 17 + ["Tày", "Thái", "Mường"]


def people_csv(rows: int = ROWS, seed: int = 2026) -> Path:
    """A deterministic, valid people file of ``rows`` rows (made once, then reused)."""
    from ansinh.registry.places import place_data

    path = OUT / f"people_{rows}_{seed}.csv"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    communes = [c[0] for c in place_data()["2025"]["commune"] if c[2] == "01"]
    provinces = ["0" + p[0] for p in place_data()["2008"]["province"]]
    frame = pl.DataFrame({"i": pl.arange(0, rows, eager=True)}).with_columns(
        female=(pl.col("i").hash(seed) % 2 == 1),
        days=(pl.col("i").hash(seed + 1) % (365 * 80)).cast(pl.Int32),
        province=pl.col("i").hash(seed + 2) % len(provinces),
        name_a=pl.col("i").hash(seed + 3) % len(SURNAMES),
        name_b=pl.col("i").hash(seed + 4) % 7,
        name_c=pl.col("i").hash(seed + 5) % 13,
        commune=pl.col("i").hash(seed + 6) % len(communes),
        ethnic=pl.col("i").hash(seed + 7) % len(ETHNICITIES),
    ).with_columns(dob=pl.date(1940, 1, 1) + pl.duration(days=pl.col("days")))
    year = pl.col("dob").dt.year()
    century_digit = pl.when(year >= 2000).then(2).otherwise(0) + pl.col("female").cast(pl.Int32)
    frame = frame.select(
        citizen_id=pl.concat_str(
            pl.col("province").replace_strict(list(range(len(provinces))), provinces, return_dtype=pl.String),
            century_digit.cast(pl.String), (year % 100).cast(pl.String).str.zfill(2),
            pl.col("i").cast(pl.String).str.zfill(6)),
        full_name=pl.concat_str(
            pl.col("name_a").replace_strict(list(range(len(SURNAMES))), SURNAMES, return_dtype=pl.String),
            pl.when(pl.col("female")).then(pl.col("name_b").replace_strict(list(range(7)), MIDDLE_FEMALE,
                                                                              return_dtype=pl.String))
            .otherwise(pl.col("name_b").replace_strict(list(range(7)), MIDDLE_MALE, return_dtype=pl.String)),
            pl.when(pl.col("female")).then(pl.col("name_c").replace_strict(list(range(13)), GIVEN_FEMALE,
                                                                              return_dtype=pl.String))
            .otherwise(pl.col("name_c").replace_strict(list(range(13)), GIVEN_MALE, return_dtype=pl.String)),
            separator=" "),
        date_of_birth=pl.col("dob").dt.strftime("%Y-%m-%d"),
        sex=pl.when(pl.col("female")).then(pl.lit("female")).otherwise(pl.lit("male")),
        ethnicity=pl.col("ethnic").replace_strict(list(range(len(ETHNICITIES))), ETHNICITIES, return_dtype=pl.String),
        residence_code=pl.col("commune").replace_strict(list(range(len(communes))), communes, return_dtype=pl.String),
        address=pl.concat_str(pl.lit("Số "), (pl.col("i") % 300 + 1).cast(pl.String), pl.lit(" ngõ "),
                              (pl.col("i") % 97 + 1).cast(pl.String)),
        phone=pl.concat_str(pl.lit("09"), (pl.col("i") % 100_000_000).cast(pl.String).str.zfill(8)),
    )
    # serials are unique per row (i < 1,000,000), so citizen IDs are unique; more rows would need 7 digits
    if rows > 1_000_000:
        raise ValueError("at most 1,000,000 rows (6-digit serials)")
    frame.write_csv(path)
    return path


def _prepare(url: str) -> None:
    """Migrate, create the provincial office and load the places (not timed)."""
    from ansinh.audit.service import audit_context
    from ansinh.auth import service as auth_service
    from ansinh.auth.models import OrgLevel
    from ansinh.db import Database
    from ansinh.migrate import upgrade_database
    from ansinh.registry.places import load_places

    upgrade_database(url)
    database = Database(url)
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
        national = auth_service.create_org_unit(session, code="VSS", name="Bảo hiểm xã hội Việt Nam",
                                                level=OrgLevel.national, place_code="VN")
        auth_service.create_org_unit(session, code="BHXH-01", name="Bảo hiểm xã hội Thành phố Hà Nội",
                                     level=OrgLevel.province, place_code="01", parent=national)
        load_places(session)
    database.dispose()


def _import_once(url: str, path: str) -> dict:
    """In a child process: import the file and report time and peak memory."""
    from datetime import date

    from sqlalchemy import func, select

    from ansinh.audit.service import audit_context
    from ansinh.db import Database
    from ansinh.registry.imports import import_file
    from ansinh.registry.models import Person

    _prepare(url)
    database = Database(url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    content = Path(path).read_bytes()
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
        report = import_file(session, kind="people", content=content, file_name=Path(path).name,
                             principal_or_context="bench", org_unit="BHXH-01", today=date(2026, 1, 1))
    seconds = time.perf_counter() - started
    with database.unit_of_work() as session:
        count = session.scalar(select(func.count()).select_from(Person))
    again_started = time.perf_counter()
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
        again = import_file(session, kind="people", content=content, file_name=Path(path).name,
                            principal_or_context="bench", org_unit="BHXH-01", today=date(2026, 1, 1))
    again_seconds = time.perf_counter() - again_started
    database.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"status": report.status, "rows": report.rows, "created": report.created, "people_in_db": count,
            "errors": report.error_count, "seconds": round(seconds, 2),
            "rows_per_second": round(report.rows / seconds) if seconds else None,
            "same_file_again": {"status": again.status, "seconds": round(again_seconds, 3)},
            "peak_rss_mb": round(peak / 1024), "rss_before_import_mb": round(before / 1024)}


def _child(url: str, path: Path) -> dict:
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "bench.import_bench", "--child", url, str(path)], cwd=root,
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"import benchmark child failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _postgres_admin():
    from sqlalchemy import create_engine

    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


def run(rows: int = ROWS) -> dict:
    from sqlalchemy import text

    generated = time.perf_counter()
    path = people_csv(rows)
    result: dict = {"rows": rows, "file_mb": round(path.stat().st_size / 1e6, 1),
                    "generate_seconds": round(time.perf_counter() - generated, 2), "targets_seconds": TARGETS,
                    "memory_limit_mb": MEMORY_LIMIT_MB}
    # PostgreSQL
    admin = _postgres_admin()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"
        result["postgresql"] = _child(url, path)
    except Exception as exc:  # noqa: BLE001 - a missing server is reported, not fatal
        result["postgresql"] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    finally:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        except Exception:  # noqa: BLE001
            pass
        admin.dispose()
    # SQLite
    with tempfile.TemporaryDirectory() as directory:
        result["sqlite"] = _child(f"sqlite:///{directory}/bench-import.db", path)
    for backend, target in TARGETS.items():
        figures = result.get(backend, {})
        if "seconds" in figures:
            figures["meets_target"] = (figures["seconds"] < target and figures["peak_rss_mb"] < MEMORY_LIMIT_MB
                                       and figures["people_in_db"] == rows and figures["status"] == "applied")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(_import_once(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else ROWS), indent=2, ensure_ascii=False))
