import json
import os
import subprocess
import sys
from pathlib import Path

ANSINH = str(Path(sys.executable).with_name("ansinh"))


def test_report_participation_json(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSINH_")} | {"ANSINH_VAR_DIR": str(tmp_path)}
    assert subprocess.run([ANSINH, "db", "upgrade"], env=env, capture_output=True, timeout=300).returncode == 0
    result = subprocess.run([ANSINH, "report", "participation", "--on", "2026-01-01", "--province", "01", "--json"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert {"si_compulsory", "si_voluntary", "hi", "ui"} <= set(body) and body["province"] == "01"
    bad = subprocess.run([ANSINH, "report", "participation", "--on", "soon"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "--on" in bad.stderr
    old = subprocess.run([ANSINH, "report", "participation", "--on", "2024-01-01", "--structure", "1999"], env=env,
                         capture_output=True, text=True)
    assert old.returncode == 2 and "--structure" in old.stderr
