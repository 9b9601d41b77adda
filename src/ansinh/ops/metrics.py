"""Metrics for Prometheus, served at ``/metrics`` (text exposition format, ``prometheus-client``).

- ``ansinh_http_requests_total`` and ``ansinh_http_request_duration_seconds`` by ``method``, ``route`` (the route's
  template, ``/api/v1/people/{person_id}``, never the address asked for: a bounded set, and no personal data) and
  ``status``; ``ansinh_http_requests_in_progress``;
- ``ansinh_db_pool_size``, ``ansinh_db_pool_checked_out``, ``ansinh_db_pool_overflow``: the SQLAlchemy pool of each
  process, sampled every second (and when scraped);
- ``ansinh_card_lookups_total`` by ``result`` (covered, not_covered, mismatch, unknown_person), counted where the
  lookup is logged (``ansinh.cards.service.lookup``);
- ``ansinh_job_duration_seconds`` by ``job`` and ``outcome`` and ``ansinh_job_failures_total`` by ``job``: the batch
  jobs (``ansinh.jobs``: billing, interest, payroll, card issuance, appraisal, snapshots, report files, partitions),
  counted by the process that finishes the job: the web process for a job run in-process; a job finished by a Celery
  worker is counted in that worker's process, outside ``/metrics`` (its duration and outcome are on its page and in
  ``GET /api/v1/jobs/{id}``).

With several worker processes (``ansinh serve --workers N``) each process writes its figures to files in the
directory ``PROMETHEUS_MULTIPROC_DIR`` (which ``serve`` sets before the processes start: prometheus-client chooses
the mode when it is first imported) and ``/metrics``, whichever process answers it, sums them: counters and
histograms over all processes, gauges over the live ones.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest, multiprocess

#: Several processes share their figures through files (``PROMETHEUS_MULTIPROC_DIR``).
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"))
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Request latency buckets, in seconds: a card lookup takes a millisecond or two, a report many seconds.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Batch run buckets, in seconds: from a province's small month to the country's.
JOB_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200)

REQUESTS = Counter("ansinh_http_requests", "HTTP requests answered, by method, route template and status.",
                   ["method", "route", "status"])
LATENCY = Histogram("ansinh_http_request_duration_seconds",
                    "Time to answer an HTTP request, by method, route template and status.",
                    ["method", "route", "status"], buckets=REQUEST_BUCKETS)
IN_PROGRESS = Gauge("ansinh_http_requests_in_progress", "HTTP requests being answered.", multiprocess_mode="livesum")
POOL_SIZE = Gauge("ansinh_db_pool_size", "Database connections the pools keep.", multiprocess_mode="livesum")
POOL_CHECKED_OUT = Gauge("ansinh_db_pool_checked_out", "Database connections in use.", multiprocess_mode="livesum")
POOL_OVERFLOW = Gauge("ansinh_db_pool_overflow", "Database connections open beyond the pools' size.",
                      multiprocess_mode="livesum")
CARD_LOOKUPS = Counter("ansinh_card_lookups", "Card lookups logged, by result.", ["result"])
JOB_DURATION = Histogram("ansinh_job_duration_seconds", "Duration of batch runs, by job and outcome.",
                         ["job", "outcome"], buckets=JOB_BUCKETS)
JOB_FAILURES = Counter("ansinh_job_failures", "Batch runs that ended with an error, by job.", ["job"])

_request_children: dict[tuple[str, str, int], tuple] = {}
_lookup_children: dict[str, object] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (the labelled children are kept: the hot path makes no label lookups)."""
    key = (method, route, status)
    children = _request_children.get(key)
    if children is None:
        labels = (method, route, str(status))
        children = _request_children[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
    children[0].inc()
    children[1].observe(seconds)


def count_lookup(result: str) -> None:
    """Count one logged card lookup."""
    child = _lookup_children.get(result)
    if child is None:
        child = _lookup_children[result] = CARD_LOOKUPS.labels(result)
    child.inc()


def observe_job(job: str, seconds: float, *, failed: bool) -> None:
    JOB_DURATION.labels(job, "failed" if failed else "succeeded").observe(seconds)
    if failed:
        JOB_FAILURES.labels(job).inc()


def route_template(scope: dict) -> str:
    """The template of the route that answered (``/api/v1/people/{person_id}``); ``/static`` for the static files and
    ``<unmatched>`` for an address no route has (never the address itself)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is not None:
        return path
    if scope.get("path", "").startswith("/static/"):
        return "/static"
    return "<unmatched>"


def sample_pool(engine) -> None:
    """Set the pool gauges from the SQLAlchemy pool of ``engine`` (a pool without a size reports what it has)."""
    pool = engine.pool
    for gauge, name in ((POOL_SIZE, "size"), (POOL_CHECKED_OUT, "checkedout"), (POOL_OVERFLOW, "overflow")):
        method = getattr(pool, name, None)
        try:
            value = method() if callable(method) else (method or 0)
        except Exception:  # noqa: BLE001 - a pool kind without this figure
            value = 0
        gauge.set(max(0, int(value)))


class PoolSampler:
    """Samples the pool gauges every ``interval`` seconds on a thread of its own (each worker process has its
    pool; with several processes the gauges are summed over the live ones)."""

    def __init__(self, engine, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-pool-sampler", daemon=True)

    def start(self) -> PoolSampler:
        sample_pool(self.engine)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            sample_pool(self.engine)


def render() -> bytes:
    """The metrics in Prometheus text format: this process's, or every process's when there are several."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def process_stopped(pid: int | None = None) -> None:
    """Forget the live gauges of a stopping process (several processes only)."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid or os.getpid())


#: Headers a reverse proxy adds: a request that carries one came through the proxy, not from this machine.
_PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def metrics_allowed(client_host: str | None, headers, token: str) -> bool:
    """May this caller read the metrics? With ``Authorization: Bearer <metrics_token>`` (when a token is set), or
    from the loopback address without having come through a proxy (a proxy on the same machine connects from
    loopback too; it adds a forwarding header)."""
    if token:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if client_host is None or any(name in headers for name in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        return False
