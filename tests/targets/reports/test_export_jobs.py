"""The province reports as files by a job (kind ``report_export``): one chunk per province writes the report's
workbook and PDF, byte for byte the export of the report a reader gets, atomically and the same bytes when run
again; the job's result lists them (name, size, SHA-256). Who may start one: as who may read the report."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date

import pytest
from pypdf import PdfReader

from ansinh.audit.service import audit_context
from ansinh.collection import billing_jobs
from ansinh.errors import PermissionDenied, ValidationFailed
from ansinh.jobs import files
from ansinh.jobs import service as jobs
from ansinh.jobs.models import Job
from ansinh.targets.periods import parse_period
from ansinh.targets.reports import export
from ansinh.targets.reports.export_jobs import EXPORT_JOB, parse_export, plan_export
from ansinh.targets.reports.service import province_report
from tests.conftest import job_unit
from tests.jobs.test_files import job_files_root  # noqa: F401 - the fixture
from tests.targets.test_export import cells, other_domains, province  # noqa: F401 - the fixtures

Q3 = parse_period("2026-Q3")


@pytest.fixture
def two_provinces(monkeypatch):
    """The country of these tests: Hà Nội (01) and Sơn La (14)."""
    monkeypatch.setattr(billing_jobs, "billing_provinces", lambda session: ["01", "14"])


def start(db, params: dict, principal=None) -> Job:
    with audit_context(channel="cli", actor_username="test"):
        job_id = jobs.start_job(db, "report_export", params, actor="test", principal=principal, broker_url="")
    with db.unit_of_work() as s:
        return s.get(Job, job_id)


def created(job: Job):
    return job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=UTC)


def on_disk(job: Job) -> dict[str, bytes]:
    return {entry["name"]: (files.job_dir(job.id) / entry["name"]).read_bytes() for entry in job.result["files"]}


def test_a_job_for_two_provinces_writes_each_reports_workbook_and_pdf(
        db, session, province, two_provinces, job_files_root):  # noqa: F811
    session.commit()
    job = start(db, {"period": "2026-Q3"})
    assert (job.status, job.key, job.chunks_total, job.error) == (
        "completed", "report_export:2026-Q3:*:vi:xlsx,pdf", 2, None)
    names = ["report-01-2026-Q3.xlsx", "report-01-2026-Q3.pdf", "report-14-2026-Q3.xlsx", "report-14-2026-Q3.pdf"]
    assert [entry["name"] for entry in job.result["files"]] == names
    assert [(entry["province"], entry["format"]) for entry in job.result["files"]] == [
        ("01", "xlsx"), ("01", "pdf"), ("14", "xlsx"), ("14", "pdf")]
    written = on_disk(job)
    assert (job.result["provinces"], job.result["bytes"]) == (2, sum(len(content) for content in written.values()))
    for entry in job.result["files"]:
        content = written[entry["name"]]
        assert (entry["size"], entry["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
        report = province_report(session, None, province=entry["province"], period=Q3)
        expected = (export.report_xlsx(report, "vi", created=created(job)) if entry["format"] == "xlsx"
                    else export.report_pdf(report, "vi", created=created(job)))
        assert content == expected, entry["name"]  # the report a reader gets, exported
    hanoi = cells(written["report-01-2026-Q3.xlsx"], "indicators")  # the workbook opens (calamine, as Excel)
    assert hanoi[2][:2] == ["Đơn vị", "Thành phố Hà Nội"] and hanoi[3][:2] == ["Kỳ báo cáo", "Quý 3 năm 2026"]
    first = province["indicators"][0]  # compulsory SI participants: 3 of a plan of 4
    assert hanoi[7][1:6] == [first["name_vi"], "người", str(first["value"]), str(first["plan"]), "0.75"]
    sonla = cells(written["report-14-2026-Q3.xlsx"], "indicators")
    assert sonla[2][1] == "Tỉnh Sơn La" and sonla[7][3] == "1"  # its one worker
    for name in ("report-01-2026-Q3.pdf", "report-14-2026-Q3.pdf"):
        assert written[name].startswith(b"%PDF")
        text = PdfReader(io.BytesIO(written[name])).pages[0].extract_text()
        assert "BÁO CÁO KẾT QUẢ THỰC HIỆN CHỈ TIÊU KẾ HOẠCH" in text
    # nothing else in the folder: no temporary file left, the chunks' manifests apart
    assert sorted(path.name for path in files.job_dir(job.id).iterdir()) == sorted(names + [files.MANIFEST_DIR])


def test_a_chunk_run_again_writes_the_same_files_and_the_job_sums_up_the_same(
        db, session, province, two_provinces, job_files_root):  # noqa: F811
    session.commit()
    job = start(db, {"period": "2026-Q3", "province": "01", "locale": "en", "formats": "pdf"})
    assert job.status == "completed" and job.key == "report_export:2026-Q3:01:en:pdf"
    assert [entry["name"] for entry in job.result["files"]] == ["report-01-2026-Q3.pdf"]
    before = on_disk(job)
    path = files.job_dir(job.id) / "report-01-2026-Q3.pdf"
    inode = path.stat().st_ino
    with job_unit(db, "redelivered") as s:  # a chunk delivered again after its worker died
        EXPORT_JOB.run_chunk(s, s.get(Job, job.id), "01")
    assert on_disk(job) == before
    assert path.stat().st_ino != inode  # written anew (a new file renamed over the old one), the same bytes
    assert EXPORT_JOB.finish(db, job) == job.result
    text = PdfReader(io.BytesIO(before[path.name])).pages[0].extract_text()
    assert "REPORT ON THE INDICATORS AGAINST THE PLAN" in text  # in English
    # the same parameters give the same job, its files as they are
    assert start(db, {"period": "2026-Q3", "province": "01", "locale": "en", "formats": "pdf"}).id == job.id


def test_the_parameters_of_an_export(monkeypatch):
    from ansinh import clock

    monkeypatch.setattr(clock, "today", lambda: date(2026, 11, 20))
    assert parse_export({"period": "2026-q3"}) == {"period": "2026-Q3", "province": None, "locale": "vi",
                                                   "formats": "xlsx,pdf"}
    assert parse_export({"period": "2026-11", "province": "*", "locale": "EN", "formats": ["pdf", "xlsx"]}) == {
        "period": "2026-11", "province": None, "locale": "en", "formats": "xlsx,pdf"}
    assert parse_export({"period": "2026-YTD", "province": "00", "formats": "pdf"})["period"] == "2026-YTD@2026-11-20"
    assert parse_export({"period": "2026-YTD", "on": "2026-06-30"})["period"] == "2026-YTD@2026-06-30"
    for wrong, field in (({"period": "2026-13"}, "period"), ({"period": "2026", "province": "1"}, "province"),
                         ({"period": "2026", "locale": "fr"}, "locale"),
                         ({"period": "2026", "formats": "doc"}, "formats"),
                         ({"period": "2026", "formats": ","}, "formats"), ({"period": "2026-YTD", "on": "x"}, "on")):
        with pytest.raises(ValidationFailed) as error:
            parse_export(wrong)
        assert error.value.field == field, wrong
    assert EXPORT_JOB.key(parse_export({"period": "2026", "province": "19"})) == "report_export:2026:19:vi:xlsx,pdf"


def test_the_whole_country_is_one_chunk_per_province(session, org):
    chunks = plan_export(session, Job(params={"period": "2026-Q3", "province": None}))
    assert len(chunks) == len(set(chunks)) >= 34 and {"01", "14"} <= set(chunks)
    assert plan_export(session, Job(params={"period": "2026-Q3", "province": "14"})) == ["14"]


def test_who_may_export_is_who_may_read_the_report(db, session, people, province, job_files_root):  # noqa: F811
    session.commit()
    for principal, params in ((people.sonla, {"province": "01"}), (people.hanoi, {"province": "14"}),
                              (people.hanoi, {}), (people.hanoi, {"province": "00"}),
                              (people.employer, {"province": "01"})):
        with pytest.raises(PermissionDenied):
            start(db, {"period": "2026-Q3", **params}, principal)
    with db.unit_of_work() as s:
        assert list(s.scalars(jobs.jobs_query(s, None))) == []
    job = start(db, {"period": "2026-Q3", "province": "01", "formats": "xlsx"}, people.hanoi)
    assert job.status == "completed" and job.province == "01"
    national = start(db, {"period": "2026-Q3", "province": "00", "formats": "xlsx"}, people.national)
    assert [entry["name"] for entry in national.result["files"]] == ["report-00-2026-Q3.xlsx"]
    with db.unit_of_work() as s:  # a province's job is its office's; the country's for national staff
        assert [j.id for j in s.scalars(jobs.jobs_query(s, people.sonla))] == []
        assert [j.id for j in s.scalars(jobs.jobs_query(s, people.hanoi))] == [job.id]
