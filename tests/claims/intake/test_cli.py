"""``ansinh claims import``, run as a user runs it: one report per file; exit 0 when all were accepted, 1 when one
was refused, 2 when the command is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel
from ansinh.cards import facilities
from ansinh.db import Database
from ansinh.migrate import upgrade_database
from ansinh.synth.claims import Faults, claim_file
from tests.claims.intake.conftest import HANOI, ON

ANSINH = str(Path(sys.executable).with_name("ansinh"))


@pytest.fixture
def env(tmp_path):
    values = {k: v for k, v in os.environ.items() if not k.startswith("ANSINH_")}
    values.update({"ANSINH_VAR_DIR": str(tmp_path / "var"), "ANSINH_ENV": "development"})
    url = f"sqlite:///{tmp_path / 'var' / 'ansinh.db'}"
    (tmp_path / "var").mkdir()
    upgrade_database(url)
    database = Database(url)
    with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
        national = auth_service.create_org_unit(s, code="VSS", name="VSS", level=OrgLevel.national, place_code="VN")
        hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                             place_code="01", parent=national)
        facility = facilities.create_facility(s, facilities.FacilityData(code=HANOI, name="Bệnh viện Hà Đông",
                                                                         level="provincial"), hanoi)
        facilities.sign_contract(s, facility=facility, contract_number="HD-1", valid_from=date(2020, 1, 1),
                                 valid_until=date(2099, 12, 31), org_unit=hanoi)
    database.dispose()
    return values


def run(env, *args):
    return subprocess.run([ANSINH, "claims", "import", *args], env=env, capture_output=True, text=True, timeout=180)


def test_files_are_imported_one_report_each(env, tmp_path):
    good, other = tmp_path / "thang-10.xml", tmp_path / "thang-11.xml"
    good.write_bytes(claim_file(HANOI, 4, seed=1, on=date(2026, 10, 31)))
    other.write_bytes(claim_file(HANOI, 3, seed=2, on=ON))
    done = run(env, str(good), str(other), "--json")
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["file_name"], r["accepted"], r["claims"]) for r in reports] == [
        ("thang-10.xml", True, 4), ("thang-11.xml", True, 3)]
    again = run(env, str(good), "--facility", HANOI)
    assert again.returncode == 0 and "received before" in again.stdout


def test_a_refused_file_exits_1_listing_its_problems(env, tmp_path):
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(claim_file(HANOI, 2, seed=3, on=ON))
    bad.write_bytes(claim_file(HANOI, 2, seed=4, on=ON, faults=Faults(declared_count=3)))
    done = run(env, str(good), str(bad))
    assert done.returncode == 1, done.stderr
    assert "REFUSED" in done.stdout and "SOLUONGHOSO says 3 episodes, but the file has 2." in done.stdout
    vietnamese = run(env, str(bad), "--json", "--lang", "vi")
    assert vietnamese.returncode == 1
    assert json.loads(vietnamese.stdout)["problems"][0]["reason"] == "SOLUONGHOSO ghi 3 hồ sơ, nhưng tệp có 2 hồ sơ."


def test_wrong_commands_exit_2(env, tmp_path):
    path = tmp_path / "f.xml"
    path.write_bytes(claim_file(HANOI, 1, seed=5, on=ON))
    assert run(env, str(tmp_path / "missing.xml")).returncode == 2
    bad_code = run(env, str(path), "--facility", "12")
    assert bad_code.returncode == 2 and "5 digits" in bad_code.stderr
    unknown = run(env, str(path), "--facility", "01999")
    assert unknown.returncode == 2 and "01999" in unknown.stderr
