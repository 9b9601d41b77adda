"""``ansinh claims appraise|show|override|review``, run as a user runs them (the same JSON as the API)."""

from __future__ import annotations

import json
import subprocess

from ansinh.synth.claims import claim_file
from tests.claims.intake.conftest import HANOI, ON
from tests.claims.intake.test_cli import ANSINH


def ansinh(env, *args):
    return subprocess.run([ANSINH, "claims", *args], env=env, capture_output=True, text=True, timeout=180)


def test_appraise_show_override_from_the_command_line(env, tmp_path):
    path = tmp_path / "hoso.xml"
    path.write_bytes(claim_file(HANOI, 2, seed=1, on=ON))
    assert ansinh(env, "import", str(path)).returncode == 0
    assert ansinh(env, "appraise").returncode == 2  # neither a facility nor a month
    done = ansinh(env, "appraise", "--facility", HANOI, "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["claims"] == 2 and sum(item["claims"] for item in run["outcomes"].values()) == 2
    queue = json.loads(ansinh(env, "review", "queue", "--json").stdout)
    assert queue, "the synthetic patients are unknown to the registry: their claims are refused"
    shown = ansinh(env, "show", "--facility", HANOI, "--ma-lk", queue[0]["ma_lk"], "--json")
    claim = json.loads(shown.stdout)
    assert {"status", "claimed", "disallowed", "accepted_amount", "findings"} <= set(claim)
    assert claim["accepted_amount"] == claim["claimed"] - claim["disallowed"]
    refusing = [f for f in claim["findings"] if f["amount"] > 0]
    for finding in refusing:
        done = ansinh(env, "override", str(finding["id"]), "--reason", "Checked by phone", "--json")
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "accepted"
    assert ansinh(env, "override", str(refusing[0]["id"]), "--reason", "again").returncode == 2
    missing = ansinh(env, "show", "--facility", HANOI, "--ma-lk", "NOPE")
    assert missing.returncode == 2 and "NOPE" in missing.stderr
