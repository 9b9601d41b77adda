"""Shapes of the jobs API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ansinh.bounds import Day


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=32, description="The kind of job (``billing``, ...).", examples=["billing"])
    period: str | None = Field(default=None, max_length=8, description="The month, YYYY-MM (billing); for "
                               "report files any period of the reports (2026-Q3, 2026, 2026-YTD).",
                               examples=["2026-11"])
    province: str | None = Field(default=None, max_length=8, pattern=r"^[0-9A-Za-z*]{1,8}$",
                                 description="2025 province code; none for the country.")
    chunks: int | None = Field(default=None, ge=1, le=1024, description="Chunks per province run.")
    locale: Literal["vi", "en"] | None = Field(default=None, description="The language of report files (vi).")
    formats: str | None = Field(default=None, pattern=r"^(xlsx|pdf)(,(xlsx|pdf))?$",
                                description="Report files: xlsx, pdf or xlsx,pdf (both, the default).")

    on: Day | None = Field(default=None, description="The day late interest is accrued to (interest; default "
                            "today).", examples=["2026-11-30"])

    def params(self) -> dict[str, Any]:
        return {name: value for name, value in (("period", self.period), ("province", self.province),
                                                ("chunks", self.chunks), ("locale", self.locale),
                                                ("formats", self.formats),
                                                ("on", self.on.isoformat() if self.on else None)) if value is not None}


class JobProgressOut(BaseModel):
    id: int
    status: str
    finished: bool
    chunks_total: int
    chunks_done: int
    chunks_failed: int
    chunks_running: int
    chunks_pending: int
    percent: int
    duration_seconds: float | None


class JobChunkOut(BaseModel):
    chunk: str
    status: str
    attempts: int
    worker: str | None
    error: str | None
    started_at: str | None
    finished_at: str | None


class JobOut(BaseModel):
    id: int
    kind: str
    key: str
    params: dict[str, Any]
    province: str | None
    status: str
    dispatch: str
    created_by: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    result: dict[str, Any] | None
    error: str | None
    progress: JobProgressOut
    chunks: list[JobChunkOut] | None = None
    errors: list[dict[str, Any]] | None = None
