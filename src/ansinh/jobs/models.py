"""Tables of jobs: a run of batch work (``job``) and its chunks (``job_chunk``).

A job is unique by its idempotency key (``billing:2026-11:19``): starting the same work again finds the job. Its
chunks are the units of work a worker takes: a chunk takes its row by a guarded update (``pending`` or ``running``
→ ``running``, one attempt more) and commits its work together with ``done``; a chunk whose worker died is
delivered again and ends with the same rows, a chunk that keeps failing ends ``failed`` with its error."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow

#: A job's states: queued (chunks planned, none taken yet), running, finishing (its last chunk is being summed up,
#: by exactly one process), then completed, completed_with_errors (some chunks failed), failed (its plan or its
#: summing up failed).
QUEUED, RUNNING, FINISHING = "queued", "running", "finishing"
COMPLETED, WITH_ERRORS, FAILED = "completed", "completed_with_errors", "failed"
JOB_STATUSES = (QUEUED, RUNNING, FINISHING, COMPLETED, WITH_ERRORS, FAILED)
FINISHED = (COMPLETED, WITH_ERRORS, FAILED)
#: A chunk's states.
PENDING, DONE = "pending", "done"
CHUNK_STATUSES = (PENDING, RUNNING, DONE, FAILED)


class Job(Base):
    __tablename__ = "job"
    __audit__ = False  # its start is audited (``job_start``) with the kind and the parameters

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # the idempotency key: kind and parameters
    province: Mapped[str | None] = mapped_column(String(8), index=True)  # its scope: a 2025 province; None: the country
    status: Mapped[str] = mapped_column(String(24), default=QUEUED)
    dispatch: Mapped[str] = mapped_column(String(16), default="inprocess")  # inprocess | celery
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class JobChunk(Base):
    __tablename__ = "job_chunk"
    __audit__ = False  # the job is audited

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id"))
    chunk: Mapped[str] = mapped_column(String(64))  # the kind's key of the chunk, e.g. "19:3" (province:chunk)
    seq: Mapped[int] = mapped_column(Integer, default=0)  # its order in the plan
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("job_id", "chunk"), Index("ix_job_chunk_job_status", "job_id", "status"))
