"""Configuration from environment variables (prefix ``ANSINH_``), with safe defaults.

Development (the default) keeps everything under ``var/``: the SQLite database and a generated
secret key. Production (``ANSINH_ENV=production``) refuses to start without ``ANSINH_SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message says which variable and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANSINH_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    default_locale: Literal["vi", "en"] = "vi"
    # Sessions: idle timeout and absolute lifetime, in minutes.
    session_idle_minutes: int = Field(default=30, ge=1)
    session_max_minutes: int = Field(default=12 * 60, ge=1)
    api_token_days: int = Field(default=30, ge=1)
    # Login throttling: after this many failures in the window, further attempts wait.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    # Requests larger than this are refused with 413 (bytes). Imports have their own limit.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_upload_bytes: int = Field(default=200_000_000, ge=1024)
    # A national claim file (claims intake) larger than this is refused, while it is read (bytes; default 2 GiB).
    claim_file_max_bytes: int = Field(default=2 * 1024**3, ge=1024)
    # Threads per worker process for the routes that wait on the database. Fewer threads than connections keeps
    # them from queueing for the interpreter lock (see bench/cards_bench.py and BENCHMARKS.md).
    worker_threads: int = Field(default=40, ge=1)
    # Card lookups: 0 runs them on the event loop when they are a single read (the lookup log is batched);
    # otherwise, or when above 0, on this many threads per process apart from the others (cards.api.desk_lane).
    # Unset: 0 on SQLite (a read of a local file, no wait); on PostgreSQL the row is read on asynchronous connections
    # of the event loop (which serves other requests during the round trip) and a lookup that reads more runs on a
    # lane of 2 threads: measured in BENCHMARKS.md (issue 17).
    lookup_threads: int | None = Field(default=None, ge=0)
    # The card lookup log is committed in batches this often (milliseconds); 0 writes it in each lookup's
    # transaction (see ansinh/cards/lookup_log.py).
    lookup_log_flush_ms: int = Field(default=100, ge=0)
    # Card lookups per looker (a facility, else a staff user) and process: at most this many a minute (then 429),
    # and an alert past these counts in an hour of distinct unrelated people or failed identity checks
    # (ansinh/cards/desk_guard.py). Operational settings, not law.
    lookup_rate_per_minute: int = Field(default=600, ge=1)
    lookup_alert_unrelated_per_hour: int = Field(default=100, ge=1)
    lookup_alert_failed_per_hour: int = Field(default=30, ge=1)
    # PostgreSQL: how long a statement waits for a lock, and how long it may run, in milliseconds (ansinh.db).
    db_lock_timeout_ms: int = Field(default=5_000, ge=1)
    db_statement_timeout_ms: int = Field(default=60_000, ge=0)
    # Cookies marked Secure; on by default in production (behind TLS).
    secure_cookies: bool | None = None
    # Roles that must sign in with a second factor (one-time codes; ansinh.auth.second_factor), as a JSON list
    # (ANSINH_SECOND_FACTOR_ROLES='["citizen","provincial_officer"]'). Unset: citizens in production, no one
    # otherwise. How long a password reset code issued at the office stays valid, in hours (a setting, not law).
    second_factor_roles: list[str] | None = None
    reset_code_hours: int = Field(default=72, ge=1, le=24 * 30)
    # Operations (ansinh/ops). Logs: "text" for a terminal, "json" for a log collector (one JSON object a line,
    # with the request id; an access line per request names the route's template, never the address asked for).
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True
    # Seconds a stopped server (SIGTERM) lets the requests in progress finish before it cancels them.
    shutdown_timeout_seconds: float = Field(default=30.0, ge=0)
    # /ready: how long each check (database, migrations, broker) may take, in seconds, before it counts as failed.
    ready_timeout_seconds: float = Field(default=2.0, gt=0)
    # The message broker of the batch workers (e.g. amqp://user:password@rabbitmq:5672//); /ready checks that it
    # answers when set.
    broker_url: str = ""
    # Jobs (ansinh/jobs): the queue their chunks are sent to and ``ansinh worker`` takes from; how many times a chunk
    # is tried (a worker that died counts) before it ends failed with its error; the first wait before a retry, in
    # seconds (doubled at each attempt, at most 5 minutes).
    job_queue: str = "ansinh"
    job_max_attempts: int = Field(default=3, ge=1, le=100)
    job_retry_seconds: float = Field(default=2.0, ge=0)
    # Addresses of the reverse proxies whose X-Forwarded-For / X-Forwarded-Proto headers are believed (comma-separated,
    # e.g. "127.0.0.1"); empty: none, and every request is seen coming from the proxy's address.
    forwarded_allow_ips: str = ""
    # /metrics answers the loopback address without a token (a request through a proxy is not loopback), and
    # anyone presenting "Authorization: Bearer <metrics_token>" when it is set.
    metrics_token: str = ""

    @model_validator(mode="after")
    def _derive(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.var_dir / 'ansinh.db').as_posix()}"
        if self.secure_cookies is None:
            self.secure_cookies = self.env == "production"
        if self.second_factor_roles is None:
            self.second_factor_roles = ["citizen"] if self.env == "production" else []
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def resolve_secret_key(settings: Settings) -> str:
    """The key that signs sessions and CSRF tokens.

    Production must set ``ANSINH_SECRET_KEY`` (at least 32 characters); development generates one
    once and keeps it in ``var/secret_key`` (mode 0600) so sessions survive restarts.
    """
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise ConfigurationError("ANSINH_SECRET_KEY must be at least 32 characters long")
        return settings.secret_key
    if settings.is_production:
        raise ConfigurationError(
            "ANSINH_SECRET_KEY is not set; production mode refuses to start without it "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    path = settings.var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
