"""The ``ansinh`` command, run as a user runs it: a separate process configured by the environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ANSINH = str(Path(sys.executable).with_name("ansinh"))


@pytest.fixture
def env(tmp_path):
    values = {k: v for k, v in os.environ.items() if not k.startswith("ANSINH_")}
    values.update({"ANSINH_VAR_DIR": str(tmp_path / "var"), "ANSINH_ENV": "development"})
    return values


def run(env, *args, stdin=None):
    return subprocess.run([ANSINH, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_upgrade_load_the_demo_once_and_create_a_user(env, tmp_path):
    upgraded = run(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    from ansinh.migrate import head_revision

    assert f"revision {head_revision()}" in upgraded.stderr and "places:" in upgraded.stderr
    assert (tmp_path / "var" / "ansinh.db").exists()

    loaded = run(env, "demo", "load", "--if-empty", "--seed", "11", "--people", "300")
    assert loaded.returncode == 0, loaded.stderr
    assert "person 300" in loaded.stderr
    assert "admin" in loaded.stdout and "Demo-" in loaded.stdout and "BHXH-79" in loaded.stdout

    again = run(env, "demo", "load", "--if-empty")
    assert again.returncode == 0 and "already has data" in again.stderr and "Demo-" not in again.stdout
    refused = run(env, "demo", "load")
    assert refused.returncode == 2 and "already has data" in refused.stderr

    created = run(env, "users", "create", "lan.pham", "--org-unit", "BHXH-48", "--role", "provincial_officer",
                  "--full-name", "Phạm Thị Lan", "--password-stdin", stdin="a long enough password\n")
    assert created.returncode == 0, created.stderr
    assert "created user lan.pham" in created.stdout
    duplicate = run(env, "users", "create", "lan.pham", "--org-unit", "BHXH-48", "--role", "provincial_officer",
                    "--full-name", "X", "--password-stdin", stdin="a long enough password\n")
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    unknown = run(env, "users", "create", "x.y", "--org-unit", "NOPE", "--role", "provincial_officer",
                  "--full-name", "X", "--password-stdin", stdin="a long enough password\n")
    assert unknown.returncode == 2 and "does not exist" in unknown.stderr


def test_serve_refuses_production_without_a_secret_key(env):
    env = {**env, "ANSINH_ENV": "production"}
    result = run(env, "serve", "--port", "1")
    assert result.returncode == 2
    assert "ANSINH_SECRET_KEY is not set" in result.stderr
    assert run(env, "demo", "load").returncode == 2
