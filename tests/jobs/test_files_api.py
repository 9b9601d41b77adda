"""A report export started and downloaded through the API and the pages: the files go only to who may read the job
(another province's officer: 404 on the job and its files), only under the names its result lists (an unlisted
name, a file the job did not list, ``../``: 404), with their content types, each download audited as a read of the
report; the job's page lists them with their sizes in both languages."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from ansinh import i18n
from ansinh.api import create_app
from ansinh.audit.models import AuditEvent
from ansinh.auth.models import Role
from ansinh.config import Settings
from ansinh.jobs import files
from tests.collection.test_pages import HTML, _signed_in
from tests.conftest import api_token
from tests.jobs.test_files import job_files_root  # noqa: F401 - the fixture
from tests.targets.test_export import other_domains, province  # noqa: F401 - the fixtures
from tests.web.test_crawl import Page, _untranslated_needles, page_problems

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def app(db, job_files_root):  # noqa: F811 - no broker: jobs run in-process, their files where the app reads them
    return create_app(Settings(env="test", var_dir=job_files_root, secret_key="t" * 48, database_url="sqlite://",
                               lookup_log_flush_ms=0, broker_url=""), database=db)


@pytest.fixture
def users(session, province, make_user, org):  # noqa: F811
    session.commit()
    make_user("officer", org.hanoi, Role.provincial_officer)
    make_user("sonla", org.sonla, Role.provincial_officer)
    make_user("boss", org.national, Role.national_officer)


def _reads(db, job_id: int) -> list[dict]:
    with db.unit_of_work() as s:
        return [event.changes for event in s.scalars(select(AuditEvent).where(AuditEvent.action == "report.read"))
                if (event.changes or {}).get("job") == job_id]


def test_the_files_of_a_report_export_go_to_who_may_read_the_job(db, client, users):
    officer, sonla, boss = (api_token(client, name) for name in ("officer", "sonla", "boss"))
    body = {"kind": "report_export", "period": "2026-Q3", "province": "01", "locale": "en"}
    assert client.post("/api/v1/jobs", json=body, headers=sonla).status_code == 403
    assert client.post("/api/v1/jobs", json={**body, "province": None}, headers=officer).status_code == 403
    assert client.post("/api/v1/jobs", json={**body, "formats": "doc"}, headers=officer).status_code == 422
    assert client.post("/api/v1/jobs", json={**body, "locale": "fr"}, headers=officer).status_code == 422
    started = client.post("/api/v1/jobs", json=body, headers=officer)
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["status"], job["key"]) == ("completed", "report_export:2026-Q3:01:en:xlsx,pdf")
    listed = job["result"]["files"]
    assert [entry["name"] for entry in listed] == ["report-01-2026-Q3.xlsx", "report-01-2026-Q3.pdf"]

    for entry, media in zip(listed, (XLSX, "application/pdf"), strict=True):
        answer = client.get(f"/api/v1/jobs/{job['id']}/files/{entry['name']}", headers=officer)
        assert answer.status_code == 200 and answer.headers["content-type"] == media
        assert hashlib.sha256(answer.content).hexdigest() == entry["sha256"] and len(answer.content) == entry["size"]
        assert answer.headers["content-disposition"] == f'attachment; filename="{entry["name"]}"'
    assert answer.content.startswith(b"%PDF")
    reads = _reads(db, job["id"])
    assert [(r["province"], r["period"], r["file"]) for r in reads] == [
        ("01", "2026-Q3", "report-01-2026-Q3.xlsx"), ("01", "2026-Q3", "report-01-2026-Q3.pdf")]

    pdf = f"/api/v1/jobs/{job['id']}/files/report-01-2026-Q3.pdf"
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=sonla).status_code == 404
    assert client.get(pdf, headers=sonla).status_code == 404  # another province's job: as if none
    assert client.get(pdf, headers=boss).status_code == 200
    (files.job_dir(job["id"]) / "stray.pdf").write_bytes(b"%PDF- not the job's")
    for name in ("report-14-2026-Q3.pdf", "stray.pdf", ".chunks", "..%2F..%2Fsecret_key", "%2E%2E",
                 "..%2Fjob-files", "report-01-2026-Q3"):
        assert client.get(f"/api/v1/jobs/{job['id']}/files/{name}", headers=officer).status_code == 404, name
    assert client.get(f"{pdf}%00", headers=officer).status_code == 422  # a control character: refused before
    assert client.get(f"/api/v1/jobs/{job['id'] + 1}/files/report-01-2026-Q3.pdf", headers=boss).status_code == 404
    assert len(_reads(db, job["id"])) == 3  # the refusals read nothing


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_jobs_page_lists_the_files_with_their_sizes(db, client, users, language):
    csrf = _signed_in(client, "officer")
    client.get(f"/lang/{language}")
    assert 'value="report_export"' in client.get("/jobs", headers=HTML).text
    started = client.post("/jobs", data={"kind": "report_export", "period": "2026-Q3", "province": "01",
                                         "csrf_token": csrf}, headers=HTML, follow_redirects=False)
    assert started.status_code == 303, started.text
    target = started.headers["location"]
    page = client.get(target, headers=HTML)
    assert page.status_code == 200 and 'data-testid="job-files"' in page.text
    links = re.findall(r'<a href="(/jobs/\d+/files/[^"]+)" download', page.text)
    assert links == [f"{target}/files/report-01-2026-Q3.xlsx", f"{target}/files/report-01-2026-Q3.pdf"]
    sizes = re.findall(r'data-bytes="(\d+)">([^<]+)<', page.text)
    assert len(sizes) == 2
    for size, shown in sizes:  # 48,2 KB in Vietnamese, 48.2 KB in English
        expected = f"{int(size) / 1000:.1f}".replace(".", "," if language == "vi" else ".")
        assert shown == f"{expected}\u00a0KB", shown
    with i18n.use_locale(language):  # (the Vietnamese once the catalogue has it)
        assert i18n.gettext("PDF document") in page.text and i18n.gettext("Excel workbook") in page.text
    assert "Thành phố Hà Nội" in page.text
    seen = Page(language)  # what the crawl of the pages checks (tests/web/test_crawl.py)
    seen.feed(page.text)
    assert page_problems(seen, language, _untranslated_needles()) == []
    download = client.get(links[1], headers=HTML)
    assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
    job_id = int(target.rsplit("/", 1)[1])
    with db.unit_of_work() as s:  # the files are in the language of the page that started the job
        from ansinh.jobs.models import Job

        assert s.get(Job, job_id).params["locale"] == language
    assert client.get(f"{target}/files/stray.pdf", headers=HTML).status_code == 404

    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.clear()
    _signed_in(client, "sonla")
    assert client.get(target, headers=HTML).status_code == 404
    assert client.get(links[1], headers=HTML).status_code == 404
