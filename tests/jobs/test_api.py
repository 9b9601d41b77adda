"""The jobs API and pages: a province office starts its billing job and follows it; another province's office
gets 404 on it and cannot start one for it; national staff see every job."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ansinh.api import create_app
from ansinh.auth.models import Role
from ansinh.config import Settings
from ansinh.jobs.models import Job
from tests.collection.test_billing import world  # noqa: F401 - the fixture
from tests.collection.test_pages import HTML, _signed_in
from tests.conftest import api_token


@pytest.fixture
def app(db, tmp_path):  # no broker: jobs run in-process (in the test's connection, to their end)
    return create_app(Settings(env="test", var_dir=tmp_path / "var", secret_key="t" * 48, database_url="sqlite://",
                               lookup_log_flush_ms=0, broker_url=""), database=db)


def _jobs(db) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(Job))


def test_a_province_starts_its_billing_job_and_another_province_sees_nothing(db, world, client, make_user,  # noqa: F811
                                                                             org):
    make_user("officer", org.hanoi, Role.provincial_officer)
    make_user("sonla", org.sonla, Role.provincial_officer)
    make_user("boss", org.national, Role.national_officer)
    make_user("firm", org.hanoi, Role.employer, subject_ref="0100109106")
    officer, sonla, boss = (api_token(client, name) for name in ("officer", "sonla", "boss"))
    assert client.post("/api/v1/jobs", json={"kind": "billing", "period": "2026-13", "province": "01"},
                       headers=officer).status_code == 422
    assert client.post("/api/v1/jobs", json={"kind": "nothing", "period": "2026-01"},
                       headers=officer).status_code == 422
    assert client.post("/api/v1/jobs", json={"kind": "billing", "period": "2026-01"},
                       headers=officer).status_code == 403  # the whole country: national staff only
    assert client.post("/api/v1/jobs", json={"kind": "billing", "period": "2026-01", "province": "01"},
                       headers=sonla).status_code == 403
    assert client.post("/api/v1/jobs", json={"kind": "billing", "period": "2026-01", "province": "01"},
                       headers=api_token(client, "firm")).status_code == 403
    assert _jobs(db) == 0

    started = client.post("/api/v1/jobs", json={"kind": "billing", "period": "2026-01", "province": "01",
                                                "chunks": 3}, headers=officer)
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] == "completed" and job["created_by"] == "officer" and job["key"] == "billing:2026-01:01"
    assert job["progress"]["chunks_done"] == job["progress"]["chunks_total"] == 3 and job["progress"]["percent"] == 100
    assert job["result"]["bills"] == 6 and job["dispatch"] == "inprocess"

    read = client.get(f"/api/v1/jobs/{job['id']}", headers=officer).json()
    assert [c["chunk"] for c in read["chunks"]] == ["01:0", "01:1", "01:2"]
    assert all(c["status"] == "done" and c["attempts"] == 1 for c in read["chunks"]) and read["errors"] == []
    assert read["progress"]["duration_seconds"] is not None
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=sonla).status_code == 404
    assert client.get("/api/v1/jobs", headers=sonla).json()["total"] == 0
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=boss).json()["items"]] == [job["id"]]
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=boss).status_code == 200
    again = client.post("/api/v1/jobs", json={"kind": "billing", "period": "2026-01", "province": "01"},
                        headers=officer)
    assert again.json()["id"] == job["id"] and _jobs(db) == 1


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_jobs_pages_start_a_job_and_show_its_progress(db, world, client, make_user, org, language):  # noqa: F811
    make_user("canbo", org.hanoi, Role.provincial_officer)
    csrf = _signed_in(client, "canbo")
    client.get(f"/lang/{language}")
    page = client.get("/jobs", headers=HTML)
    assert page.status_code == 200 and 'data-testid="job-start-form"' in page.text and 'href="/jobs"' in page.text
    bad = client.post("/jobs", data={"kind": "billing", "period": "2026-13", "province": "01", "csrf_token": csrf},
                      headers=HTML)
    assert bad.status_code == 422 and 'data-field="period"' in bad.text
    assert client.post("/jobs", data={"kind": "billing", "period": "2026-01", "province": "14", "csrf_token": csrf},
                       headers=HTML).status_code == 403
    started = client.post("/jobs", data={"kind": "billing", "period": "2026-01", "province": "01",
                                         "csrf_token": csrf}, headers=HTML, follow_redirects=False)
    assert started.status_code == 303, started.text
    target = started.headers["location"]
    detail = client.get(target, headers=HTML)
    assert detail.status_code == 200 and 'data-testid="job-progress" data-status="completed"' in detail.text
    assert len(re.findall(r'data-chunk="01:\d+" data-status="done"', detail.text)) == 8
    assert ("Hoàn thành" if language == "vi" else "Completed") in detail.text
    progress = client.get(f"{target}/progress?watching=1", headers={**HTML, "HX-Request": "true"})
    assert progress.status_code == 200 and progress.headers.get("HX-Refresh") == "true"
    assert f'data-job="{target.rsplit("/", 1)[1]}"' in client.get("/jobs", headers=HTML).text
