"""Claims intake benchmark: a generated national claim file (Decision 130/4750) received end to end on PostgreSQL —
the envelope streamed, every table checked and read, every structural check, the episodes, lines and other tables
written with COPY, the commit — against its floor, measured in the same run on the same file: a bare lxml
``iterparse`` of the envelope with the base64 decoding of every table (what no intake can do without).

Target: at least 5,000 claims a second, and memory flat in the file's size (the peak resident memory of an intake of
a file four times larger is about the same).

Each measurement runs in a process of its own (its peak resident memory is its own), reading the file from disk (it is
never in memory). Setup (not timed): the files are generated to a temporary folder (``ansinh.synth.claims``: mostly
outpatient visits, one in eight an inpatient stay, about five lines an episode, some with XML4/XML5), and each intake
gets a fresh database ``ansinh_bench_claims_intake`` with the facility and its contract.

Environment: ``ANSINH_BENCH_POSTGRES_URL`` (the server; see ``bench/postgres.py``), ``ANSINH_BENCH_CLAIMS`` (episodes
of the large file, default 60,000; the small file has a quarter), ``ANSINH_BENCH_KEEP=1`` keeps the database of the
last run."""

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

DB_NAME = "ansinh_bench_claims_intake"
CLAIMS = int(os.environ.get("ANSINH_BENCH_CLAIMS", "60000"))
TARGET_CLAIMS_PER_SECOND = 5_000
FACILITY = "01001"
ON = date(2026, 11, 30)
RUNS = 2


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child_floor(path: str) -> dict:
    """A bare iterparse of the envelope (elements cleared as they end) and the base64 decoding of every table."""
    import binascii

    from lxml import etree

    started = time.perf_counter()
    episodes = tables = 0
    with open(path, "rb") as stream:
        for _event, element in etree.iterparse(stream, events=("end",), resolve_entities=False, no_network=True,
                                               load_dtd=False, huge_tree=False):
            if element.tag == "NOIDUNGFILE":
                binascii.a2b_base64(element.text, strict_mode=True)
                tables += 1
            elif element.tag == "HOSO":
                episodes += 1
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del element.getparent()[0]
    seconds = time.perf_counter() - started
    return {"episodes": episodes, "tables": tables, "seconds": round(seconds, 3),
            "claims_per_second": round(episodes / seconds), "peak_rss_mib": _peak_rss_mib()}


def child_intake(path: str, url: str) -> dict:
    """The whole intake of the file, committed."""
    from ansinh.audit.service import audit_context
    from ansinh.claims.intake.service import receive_claim_file
    from ansinh.db import Database

    from sqlalchemy import text

    database = Database(url)
    with database.unit_of_work() as session:  # the pool's one connection: its server process is measured too
        backend = session.scalar(text("SELECT pg_backend_pid()"))
    database_cpu = _process_cpu(backend)
    cpu = time.process_time()
    started = time.perf_counter()
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session, \
            open(path, "rb") as stream:
        report = receive_claim_file(session, content=stream, file_name=Path(path).name, principal=None,
                                    facility_code=FACILITY, today=ON, max_bytes=8 * 1024**3)
        parsed_and_written = time.perf_counter() - started
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    database_cpu = _process_cpu(backend) - database_cpu if database_cpu is not None else None
    database.dispose()
    assert report.accepted, report.to_json()["problems"][:5]
    return {"episodes": report.claims, "lines": report.lines, "seconds": round(seconds, 3),
            "of_which_commit_seconds": round(seconds - parsed_and_written, 3),
            "claims_per_second": round(report.claims / seconds), "peak_rss_mib": _peak_rss_mib(),
            "cpu_seconds": {"intake_process": round(cpu, 2),
                            "database_server": None if database_cpu is None else round(database_cpu, 2)}}


def _process_cpu(pid: int) -> float | None:
    """Seconds of processor a process of this machine has used (user and system), or None when not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _child(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.claims_intake_bench", "--child", *args], capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _database() -> str:
    """A fresh database with the facility and its contract."""
    from bench.postgres import fresh_database
    from ansinh.audit.service import audit_context
    from ansinh.auth import service as auth_service
    from ansinh.auth.models import OrgLevel
    from ansinh.cards import facilities
    from ansinh.db import Database

    url = fresh_database(DB_NAME)
    database = Database(url)
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as session:
        national = auth_service.create_org_unit(session, code="VSS", name="Bảo hiểm xã hội Việt Nam",
                                                level=OrgLevel.national, place_code="VN")
        hanoi = auth_service.create_org_unit(session, code="BHXH-01", name="Bảo hiểm xã hội Thành phố Hà Nội",
                                             level=OrgLevel.province, place_code="01", parent=national)
        facility = facilities.create_facility(session, facilities.FacilityData(
            code=FACILITY, name="Bệnh viện Đa khoa Hà Đông", level="provincial"), hanoi)
        facilities.sign_contract(session, facility=facility, contract_number="01/2026/HĐ-BHYT",
                                 valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31), org_unit=hanoi)
    database.dispose()
    return url


def run() -> dict:
    from bench.postgres import drop_database_unless_kept
    from ansinh.synth.claims import write_claim_file

    folder = Path(tempfile.mkdtemp(prefix="ansinh-claims-bench-"))
    large, small = folder / "large.xml", folder / "small.xml"
    started = time.perf_counter()
    with large.open("wb") as stream:
        large_bytes = write_claim_file(stream, FACILITY, CLAIMS, seed=2026, on=ON)
    with small.open("wb") as stream:
        small_bytes = write_claim_file(stream, FACILITY, CLAIMS // 4, seed=2027, on=ON)
    generate_seconds = round(time.perf_counter() - started, 1)
    try:
        floors = [_child("floor", str(large)) for _ in range(RUNS)]
        intakes = [_child("intake", str(large), _database()) for _ in range(RUNS)]
        small_intake = _child("intake", str(small), _database())
    finally:
        for path in (large, small):
            path.unlink(missing_ok=True)
        folder.rmdir()
        drop_database_unless_kept(DB_NAME)
    floor = min(floors, key=lambda f: f["seconds"])
    intake = min(intakes, key=lambda i: i["seconds"])
    return {
        "file": {"episodes": CLAIMS, "bytes": large_bytes, "lines": intake["lines"],
                 "generate_seconds": generate_seconds},
        "intake": intake,
        "floor_iterparse_base64": floor,
        "intake_share_of_floor": round(intake["claims_per_second"] / floor["claims_per_second"], 3),
        "floor_times_faster": round(floor["claims_per_second"] / intake["claims_per_second"], 2),
        "memory": {"small_file_bytes": small_bytes, "small_file_peak_rss_mib": small_intake["peak_rss_mib"],
                   "large_file_bytes": large_bytes, "large_file_peak_rss_mib": intake["peak_rss_mib"],
                   "rss_growth_for_4x_the_file": round(intake["peak_rss_mib"] / small_intake["peak_rss_mib"], 2)},
        "cores": os.cpu_count(),
        "target_claims_per_second": TARGET_CLAIMS_PER_SECOND,
        "within_target": intake["claims_per_second"] >= TARGET_CLAIMS_PER_SECOND,
    }


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        print(json.dumps(child_floor(*rest) if kind == "floor" else child_intake(*rest)))
    else:
        print(json.dumps(run(), indent=2))
