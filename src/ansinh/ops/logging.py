"""Logs as text (a terminal) or as JSON lines (a log collector), with the request id of the request being served.

``ANSINH_LOG_FORMAT=json`` writes one JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
``message``, ``process`` (the worker process's id), the ``request_id`` when the line is written while a request is
served, and whatever fields the line carries (``extra=``). Each request also writes an access line (logger
``ansinh.access``): ``method``, ``route`` (the route's template such as ``/api/v1/people/{person_id}``, never the
address asked for nor its query string, which may hold a citizen ID), ``status`` and ``duration_ms``. The web
server's own loggers (uvicorn) are configured the same way.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

#: The id of the request being served (set by ``ansinh.middleware.RequestContextMiddleware``; copied into the
#: threads a request runs on).
request_id_var: ContextVar[str | None] = ContextVar("ansinh_request_id", default=None)

#: The access log: one line per request.
access_log = logging.getLogger("ansinh.access")

#: Fields of a record that a JSON line carries when a line sets them (``extra={...}``).
FIELDS = ("request_id", "method", "route", "status", "duration_ms", "job", "outcome")


class RequestIdFilter(logging.Filter):
    """Gives each record the id of the request being served, if any (``record.request_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,  # which of the worker processes
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger message [request id]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} [{request_id}]" if request_id else text


def logging_config(log_format: str = "text", level: str = "info") -> dict:
    """A :func:`logging.config.dictConfig` for the server processes (uvicorn applies it in each worker process)."""
    formatter = "ansinh.ops.logging.JsonFormatter" if log_format == "json" else "ansinh.ops.logging.TextFormatter"
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "default",
               "filters": ["request_id"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "ansinh.ops.logging.RequestIdFilter"}},
        "formatters": {"default": {"()": formatter}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},  # ours is ansinh.access
            # the migrations check of /ready would write two lines on each call
            "alembic": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }
