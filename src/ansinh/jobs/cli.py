"""``ansinh worker`` (a Celery worker taking jobs' chunks) and ``ansinh jobs list|show|start|files``.

``ansinh jobs start billing --period 2026-11`` bills a month for the whole country as province × chunk tasks when
``ANSINH_BROKER_URL`` is set (then follows them with a progress bar: start ``ansinh worker`` processes to do
them), or runs the chunks here without a broker."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ansinh.cli_errors import fail, fail_for

jobs_app = typer.Typer(help="Batch jobs (billing of a month, ...) and their chunks.", no_args_is_help=True)
err = Console(stderr=True, width=200)


def worker(concurrency: Annotated[int, typer.Option(min=1, help="Processes (or threads) taking chunks.")] = 1,
           queues: Annotated[str | None, typer.Option(help="Queues to take from, comma-separated (default: "
                                                         "ANSINH_JOB_QUEUE).")] = None,
           pool: Annotated[str, typer.Option(help="prefork (processes), threads or solo.")] = "prefork",
           loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
           name: Annotated[str | None, typer.Option(help="The worker's node name (default: ansinh-PID@host).")]
           = None) -> None:
    """Start a Celery worker that runs jobs' chunks from the broker (ANSINH_BROKER_URL). Each chunk is
    acknowledged when it has committed: a worker killed mid-chunk has its chunk delivered to another."""
    from ansinh.config import get_settings
    from ansinh.jobs.celery_app import celery_app

    settings = get_settings()
    if not settings.broker_url:
        fail("ANSINH_BROKER_URL is not set: a worker takes its chunks from a broker (e.g. "
             "amqp://guest:guest@127.0.0.1:5672//); without one, jobs run in the process that starts them")
    if pool not in ("prefork", "threads", "solo"):
        fail("--pool is prefork, threads or solo")
    app = celery_app(settings.broker_url, settings.job_queue)
    node = name or f"ansinh-{os.getpid()}@{socket.gethostname()}"
    app.worker_main(["worker", f"--concurrency={concurrency}", f"--queues={queues or settings.job_queue}",
                     f"--pool={pool}", f"--loglevel={loglevel}", f"--hostname={node}", "--prefetch-multiplier=1",
                     "--without-gossip", "--without-mingle"])


def _database():
    from ansinh.db import get_database

    return get_database()


@jobs_app.command("list")
def list_jobs(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
              as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The latest jobs with their progress."""
    from sqlalchemy import select

    from ansinh.jobs import service
    from ansinh.jobs.models import Job

    with _database().unit_of_work() as session:
        jobs = [service.job_view(session, job, chunks=False)
                for job in session.scalars(select(Job).order_by(Job.id.desc()).limit(limit))]
    if as_json:
        print(json.dumps(jobs, ensure_ascii=False))
        return
    table = Table(title="Jobs")
    for column in ("id", "kind", "key", "status", "chunks", "failed", "started by", "duration"):
        table.add_column(column)
    for job in jobs:
        progress = job["progress"]
        seconds = progress["duration_seconds"]
        table.add_row(str(job["id"]), job["kind"], job["key"], job["status"],
                      f"{progress['chunks_done']}/{progress['chunks_total']}", str(progress["chunks_failed"]),
                      job["created_by"], "" if seconds is None else f"{seconds:.1f} s")
    Console(width=200).print(table)


@jobs_app.command("show")
def show_job(job_id: Annotated[int, typer.Argument()],
             as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """A job: its parameters, progress, result, and each chunk's state."""
    from ansinh.jobs import service
    from ansinh.jobs.models import Job

    with _database().unit_of_work() as session:
        job = session.get(Job, job_id)
        if job is None:
            fail(f"job {job_id} does not exist")
        view = service.job_view(session, job)
    if as_json:
        print(json.dumps(view, ensure_ascii=False))
        return
    out = Console(width=200)
    progress = view["progress"]
    out.print(f"Job {view['id']} {view['key']}: {view['status']}, {progress['chunks_done']}/"
              f"{progress['chunks_total']} chunks done, {progress['chunks_failed']} failed, started by "
              f"{view['created_by']} ({view['dispatch']})", highlight=False)
    if view["result"] is not None:
        out.print(json.dumps(view["result"], ensure_ascii=False), highlight=False)
    if view["error"]:
        out.print(f"error: {view['error']}", highlight=False)
    table = Table(title="Chunks")
    for column in ("chunk", "status", "attempts", "worker", "error"):
        table.add_column(column, overflow="fold")
    for chunk in view["chunks"]:
        table.add_row(chunk["chunk"], chunk["status"], str(chunk["attempts"]), chunk["worker"] or "",
                      chunk["error"] or "")
    out.print(table)


@jobs_app.command("start")
def start(kind: Annotated[str, typer.Argument(help="The kind of job: billing, ...")],
          period: Annotated[str | None, typer.Option(help="The month (YYYY-MM), for billing.")] = None,
          province: Annotated[str | None, typer.Option(help="2025 province code; the whole country if omitted.")]
          = None,
          chunks: Annotated[int | None, typer.Option(help="Chunks per province.")] = None,
          locale: Annotated[str | None, typer.Option(help="The language of report files: vi (default) or en.")]
          = None,
          formats: Annotated[str | None, typer.Option(help="Report files: xlsx,pdf (default), xlsx or pdf.")]
          = None,
          on: Annotated[str | None, typer.Option("--on", help="The day late interest is accrued to (YYYY-MM-DD; "
                                                 "interest; default today).")] = None,
          wait: Annotated[bool, typer.Option(help="Follow a dispatched job to its end with a progress bar.")]
          = True,
          as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON at the end.")] = False
          ) -> None:
    """Start (or resume) a job: with ANSINH_BROKER_URL its chunks go to the workers (``ansinh worker``) and the
    progress of their rows is shown; without, they run here."""
    from ansinh import clock
    from ansinh.audit.service import audit_context
    from ansinh.errors import DomainError
    from ansinh.jobs import service
    from ansinh.jobs.models import Job

    params = {name: value for name, value in (("period", period), ("province", province), ("chunks", chunks),
                                              ("locale", locale), ("formats", formats), ("on", on))
              if value is not None}
    params.setdefault("today", clock.today().isoformat())
    database = _database()
    try:
        with audit_context(channel="cli", actor_username="cli"):
            job_id = service.start_job(database, kind, params, actor="cli")
    except DomainError as exc:
        fail_for(exc, "period")
    with database.unit_of_work() as session:
        job = session.get(Job, job_id)
        dispatched = job.dispatch == "celery"
    if dispatched and wait and not as_json:
        from ansinh.cli import progress_bar

        with progress_bar() as bar:
            task = bar.add_task(f"job {job_id}", total=None)
            while True:
                with database.unit_of_work() as session:
                    job = session.get(Job, job_id)
                    progress = service.job_progress(session, job)
                bar.update(task, total=progress["chunks_total"],
                           completed=progress["chunks_done"] + progress["chunks_failed"],
                           description=f"job {job_id} {job.kind}: {job.status}")
                if progress["finished"]:
                    break
                time.sleep(1)
    elif dispatched and wait:
        service.wait_for_job(database, job_id, timeout=7 * 24 * 3600, poll=1)
    with database.unit_of_work() as session:
        view = service.job_view(session, session.get(Job, job_id), chunks=False)
    if as_json:
        print(json.dumps(view, ensure_ascii=False))
        return
    progress = view["progress"]
    Console(width=200).print(
        f"Job {view['id']} {view['key']}: {view['status']}, {progress['chunks_done']}/{progress['chunks_total']} "
        f"chunks, {progress['chunks_failed']} failed" + (f"; result {json.dumps(view['result'])}"
                                                         if view["result"] else ""), highlight=False)


@jobs_app.command("files")
def job_files(job_id: Annotated[int, typer.Argument()],
              out: Annotated[Path, typer.Option("--out", help="The folder to copy them to.")] = Path("."),
              ) -> None:
    """Copy the files a job wrote (a report export's workbooks and PDFs) to a folder, each checked against the size
    and SHA-256 its result lists (the downloads are audited)."""
    import hashlib

    from ansinh.audit.service import audit_context
    from ansinh.errors import DomainError
    from ansinh.jobs import files
    from ansinh.jobs.models import Job

    database = _database()
    with database.unit_of_work() as session:
        job = session.get(Job, job_id)
        if job is None:
            fail(f"job {job_id} does not exist")
        names, status = [entry["name"] for entry in files.listed_files(job)], job.status
    if not names:
        fail(f"job {job_id} lists no file (status {status})")
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            with audit_context(channel="cli", actor_username="cli"), database.unit_of_work() as session:
                _job, entry, path = files.job_file(session, None, job_id, name)
                target = out / name
                shutil.copyfile(path, target)
        except DomainError as exc:
            fail(exc.message)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        if digest != entry.get("sha256", digest) or target.stat().st_size != entry.get("size", 0):
            fail(f"{name}: its bytes are not those the job wrote (size or SHA-256 differ)")
        print(f"wrote {target} ({target.stat().st_size} bytes)")
