"""The province reports as files, by a job (kind ``report_export``): a period's report of one province, or of every
province (one chunk per province, ``"19"``), written as Excel and PDF (:mod:`ansinh.targets.reports.export`) in one
language to the job's files (:mod:`ansinh.jobs.files`): ``report-19-2026-Q3.xlsx``, ``report-19-2026-Q3.pdf``.

Parameters: ``period`` as the reports take it (``2026-11``, ``2026-Q3``, ``2026``, ``2026-YTD``: to ``on``, by
default today), ``province`` (a 2-digit code, ``00`` the country; none: every province), ``locale`` (``vi``, the
default, or ``en``) and ``formats`` (``xlsx,pdf``, the default, or one of them).

A chunk reads the report as a reader would (:func:`~ansinh.targets.reports.service.province_report`: the issued
version when there is one; the read audited as the job's starter) and writes each file atomically, dated when the
job was started: a chunk run again writes the same bytes. The job's result lists the files (name, size, SHA-256).

Who: as reading the report — ``targets.read``, a province office its own province (the country's report and
every province's: national staff; a local office's staff read their province's report but start no job, as for
every kind). The files are downloaded by who may see the job and holds ``targets.read``
(``GET /api/v1/jobs/{id}/files/{name}``, the job's page, ``ansinh jobs files``), each download audited as a
``report.read``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.permissions import Permission
from ansinh.db import Database
from ansinh.errors import ValidationFailed
from ansinh.i18n import N_
from ansinh.jobs import files
from ansinh.jobs.models import DONE, Job, JobChunk
from ansinh.jobs.registry import JobKind, register_job_kind

KIND = "report_export"
FORMATS = ("xlsx", "pdf")
LOCALES = ("vi", "en")
_PROVINCE = re.compile(r"^\d{2}$")


def parse_export(params: dict[str, Any]) -> dict[str, Any]:
    """``period``, ``province`` (None or ``*``: every province), ``locale``, ``formats`` (a list or ``"xlsx,pdf"``);
    ``on``, the day a year to date ends (default today)."""
    from ansinh import clock
    from ansinh.targets.periods import parse_period

    on = params.get("on") or clock.today()
    try:
        on = on if isinstance(on, date) else date.fromisoformat(str(on))
    except ValueError:
        raise ValidationFailed("on", "{value} is not a date.", value=params.get("on")) from None
    period = parse_period(str(params.get("period") or ""), on=on)
    province = params.get("province") or None
    if province == "*":
        province = None
    if province is not None and not _PROVINCE.match(str(province)):
        raise ValidationFailed("province", "{value} is not a province code.", value=province)
    locale = str(params.get("locale") or "vi").strip().lower()
    if locale not in LOCALES:
        raise ValidationFailed("locale", "{value} is not a language of the reports: vi or en.", value=locale)
    chosen = params.get("formats") or ",".join(FORMATS)
    chosen = [part.strip().lower() for part in (chosen.split(",") if isinstance(chosen, str) else chosen)]
    wrong = [part for part in chosen if part not in FORMATS]
    if wrong or not any(chosen):
        raise ValidationFailed("formats", "{value} is not a format of the reports: xlsx, pdf or both.",
                               value=",".join(wrong) or "")
    return {"period": period.label, "province": None if province is None else str(province), "locale": locale,
            "formats": ",".join(f for f in FORMATS if f in chosen)}


def file_name(province: str, period_label: str, format: str) -> str:
    """As the report's downloads name it: ``report-19-2026-Q3.pdf`` (a year to date: ``report-19-2026-YTD-2026-11-30
    .pdf``)."""
    return f"report-{province}-{period_label.replace('@', '-')}.{format}"


def plan_export(session: Session, job: Job) -> list[str]:
    from ansinh.collection.billing_jobs import billing_provinces

    province = job.params.get("province")
    return [province] if province else billing_provinces(session)


def _created(job: Job) -> datetime:
    moment = job.created_at
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def export_province(session: Session, job: Job, chunk: str) -> None:
    """Write the province's report in each format, then the chunk's manifest."""
    from ansinh.targets.periods import parse_period
    from ansinh.targets.reports import export
    from ansinh.targets.reports.service import province_report

    period = parse_period(job.params["period"])
    report = province_report(session, None, province=chunk, period=period)
    locale, created, entries = job.params["locale"], _created(job), []
    for format in job.params["formats"].split(","):
        content = (export.report_xlsx(report, locale, created=created) if format == "xlsx"
                   else export.report_pdf(report, locale, created=created))
        entry = files.write_file(job.id, file_name(chunk, period.label, format), content)
        entries.append(entry | {"province": chunk, "format": format})
    files.write_manifest(job.id, chunk, entries)


def finish_export(database: Database, job: Job) -> dict:
    """The files the chunks wrote, in the plan's order, with their sizes and digests."""
    with database.unit_of_work() as session:
        done = list(session.scalars(select(JobChunk.chunk).where(JobChunk.job_id == job.id, JobChunk.status == DONE)
                                    .order_by(JobChunk.seq)))
    written = files.read_manifests(job.id, done)
    return {"period": job.params["period"], "locale": job.params["locale"], "formats": job.params["formats"],
            "provinces": len(done), "bytes": sum(int(entry["size"]) for entry in written), "files": written}


def audit_download(session: Session, job: Job, entry: dict) -> None:
    """A file downloaded is a read of the report, as a download from the report's page is."""
    record_event(session, "report.read", "province_report", None,
                 details={"province": entry.get("province"), "period": job.params.get("period"), "job": job.id,
                          "file": entry["name"], "format": entry.get("format"), "sha256": entry.get("sha256")})


files.register_file_audit(KIND, audit_download)

EXPORT_JOB = register_job_kind(JobKind(
    KIND, N_("Report files of a period"),
    N_("Writes the province report of a period as Excel and PDF files, one province per part, to download from "
       "the job's page."),
    Permission.targets_read, params=("period", "province", "locale", "formats"), parse=parse_export,
    plan=plan_export, run_chunk=export_province, finish=finish_export))
