"""A job's files (:mod:`ansinh.jobs.files`): written atomically, listed by the chunks' manifests, served only under
the names the job's result lists to who may read the job, each download audited; their sizes the reader's way."""

from __future__ import annotations

import hashlib
import os

import pytest

from ansinh.jobs import files


@pytest.fixture
def job_files_root(tmp_path, monkeypatch):
    """The job file store under a temporary var folder, for the chunks (the process's settings) and for the app the
    test builds on the same folder."""
    from ansinh.config import get_settings

    var = tmp_path / "var"
    monkeypatch.setenv("ANSINH_VAR_DIR", str(var))
    get_settings.cache_clear()
    yield var
    get_settings.cache_clear()


def test_a_file_is_written_atomically_and_its_manifest_lists_it(job_files_root, monkeypatch):
    entry = files.write_file(7, "report-01-2026-Q3.pdf", b"%PDF-1 first")
    assert entry == {"name": "report-01-2026-Q3.pdf", "size": 12,
                     "sha256": hashlib.sha256(b"%PDF-1 first").hexdigest()}
    folder = job_files_root / files.FILES_DIR / "7"
    assert (folder / entry["name"]).read_bytes() == b"%PDF-1 first"

    def broken(source, target):  # the process dies between writing and renaming: the old file stays whole
        raise OSError("killed")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        files.write_file(7, "report-01-2026-Q3.pdf", b"%PDF-1 second, longer")
    monkeypatch.undo()
    assert (folder / entry["name"]).read_bytes() == b"%PDF-1 first"
    assert sorted(path.name for path in folder.iterdir()) == ["report-01-2026-Q3.pdf"]  # no temporary file left

    files.write_manifest(7, "01", [entry | {"province": "01"}])
    files.write_manifest(7, "14", [])
    assert files.read_manifests(7, ["14", "01", "19"]) == [entry | {"province": "01"}]  # 19: failed, none
    for wrong in ("../secret_key", ".chunks", "a/b.pdf", "", "..", "x" * 200):
        with pytest.raises(ValueError):
            files.write_file(7, wrong, b"")


def test_sizes_are_written_the_way_of_the_language():
    assert files.file_size(812, "vi") == "812\u00a0B"
    assert files.file_size(48_213, "vi") == "48,2\u00a0KB" and files.file_size(48_213, "en") == "48.2\u00a0KB"
    assert files.file_size(1_534_000, "vi") == "1,5\u00a0MB" and files.file_size(2_000_000_000, "en") == "2.0\u00a0GB"
    assert files.file_size(None) == ""
    assert files.media_type("a.xlsx").endswith("spreadsheetml.sheet")
    assert files.media_type("a.pdf") == "application/pdf"


def test_the_command_copies_a_jobs_files(tmp_path):
    """``ansinh jobs start report_export`` then ``ansinh jobs files ID --out DIR``: the bytes the job wrote."""
    import json
    import subprocess

    from tests.jobs.test_cli import ANSINH

    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSINH_")} | {"ANSINH_VAR_DIR": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([ANSINH, *args], env=env, capture_output=True, text=True, timeout=300)

    assert run("db", "upgrade").returncode == 0
    started = run("jobs", "start", "report_export", "--period", "2026-Q3", "--province", "01", "--locale", "en",
                  "--formats", "pdf", "--json")
    assert started.returncode == 0, started.stderr
    job = json.loads(started.stdout)
    assert (job["status"], job["key"]) == ("completed", "report_export:2026-Q3:01:en:pdf")
    [entry] = job["result"]["files"]
    copied = run("jobs", "files", str(job["id"]), "--out", str(tmp_path / "out"))
    assert copied.returncode == 0, copied.stderr
    content = (tmp_path / "out" / entry["name"]).read_bytes()
    assert content.startswith(b"%PDF") and hashlib.sha256(content).hexdigest() == entry["sha256"]
    assert content == (tmp_path / files.FILES_DIR / str(job["id"]) / entry["name"]).read_bytes()
    assert run("jobs", "files", "999").returncode == 2
    bad = run("jobs", "start", "report_export", "--period", "2026-Q3", "--locale", "fr")
    assert bad.returncode == 2 and "--locale" in bad.stderr
