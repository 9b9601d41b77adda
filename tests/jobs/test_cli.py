"""``ansinh jobs start|list|show`` without a broker (the chunks run in the command), and ``ansinh worker`` refusing to
start without one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ANSINH = str(Path(sys.executable).with_name("ansinh"))


def test_jobs_commands_in_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSINH_")} | {"ANSINH_VAR_DIR": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([ANSINH, *args], env=env, capture_output=True, text=True, timeout=300)

    assert run("db", "upgrade").returncode == 0
    started = run("jobs", "start", "billing", "--period", "2026-01", "--province", "01", "--chunks", "2", "--json")
    assert started.returncode == 0, started.stderr
    job = json.loads(started.stdout)
    assert (job["status"], job["dispatch"], job["key"]) == ("completed", "inprocess", "billing:2026-01:01")
    assert job["progress"]["chunks_done"] == 2 and job["result"]["bills"] == 0
    listed = json.loads(run("jobs", "list", "--json").stdout)
    assert [j["id"] for j in listed] == [job["id"]]
    shown = json.loads(run("jobs", "show", str(job["id"]), "--json").stdout)
    assert [c["chunk"] for c in shown["chunks"]] == ["01:0", "01:1"] and shown["created_by"] == "cli"
    assert run("jobs", "show", "999").returncode == 2
    bad = run("jobs", "start", "billing", "--period", "January")
    assert bad.returncode == 2 and "--period" in bad.stderr
    worker = run("worker")
    assert worker.returncode == 2 and "ANSINH_BROKER_URL" in worker.stderr
