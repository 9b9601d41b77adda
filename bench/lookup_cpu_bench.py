"""CPU per card lookup on the event loop, against a bare FastAPI endpoint (issue 17), measured in-process.

The HTTP benchmark (``bench.cards_bench``) measures rates over the loopback, which move with whatever else the
machine runs. This one measures what does not: the CPU time the event loop's thread spends on one request, the
application called directly as an ASGI application (no network, no HTTP parsing), for

- ``bare``: the peer of the HTTP benchmark (``bench.bare_app``), the same query and an answer of the same size;
- ``lookup``: ansinh's card lookup by a facility user with a bearer token, the lookup rule (citizen ID and date of
  birth), logged and audited (the batch writer running, as under ``ansinh serve``), with every middleware;
- ``not_found``: an address no route answers, in ansinh's stack (the framework, the middlewares and the search
  of the routes alone).

Each is run by turns (``ANSINH_BENCH_ROUNDS`` rounds of ``ANSINH_BENCH_REQUESTS`` requests, default 5 × 2,000) and
the median of the rounds is reported, with the ratio bare / lookup. A SQLite database of ``ANSINH_BENCH_PEOPLE``
people (default 100,000) of one province is built in a temporary directory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import os
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from ansinh.db import Database

PEOPLE = int(os.environ.get("ANSINH_BENCH_PEOPLE", "100000"))
ROUNDS = int(os.environ.get("ANSINH_BENCH_ROUNDS", "5"))
REQUESTS = int(os.environ.get("ANSINH_BENCH_REQUESTS", "2000"))


def _prepare(database: Database, today: date) -> tuple[str, list[bytes]]:
    """The HTTP benchmark's province (``bench.cards_bench``) with ``PEOPLE`` people: the facility user's token and
    the lookups' queries."""
    from bench.cards_bench import _prepare as prepare_province

    prepared = prepare_province(database, today, people=PEOPLE)
    return prepared["token"], [query.encode() for query in prepared["sample"]]


async def _call(app, path: str, query: bytes, headers: list) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query, "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    status = 0

    received = False

    async def receive():
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _round(app, path: str, queries: list[bytes], headers: list, offset: int) -> tuple[float, dict]:
    statuses: dict = {}
    started = time.process_time()
    for index in range(REQUESTS):
        status = await _call(app, path, queries[(offset + index) % len(queries)], headers)
        statuses[status] = statuses.get(status, 0) + 1
    return (time.process_time() - started) / REQUESTS * 1e6, statuses


async def _measure(app, bare, token: str, queries: list[bytes]) -> dict:
    auth = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode()),
            (b"user-agent", b"wrk"), (b"accept", b"*/*")]
    plain = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")]
    cases = {"bare": (bare, "/api/v1/cards/lookup", plain), "lookup": (app, "/api/v1/cards/lookup", auth),
             "not_found": (app, "/api/v1/cards/nothing", auth)}
    for name, (target, path, headers) in cases.items():  # warm-up: caches, the remembered caller, the reader
        await _round(target, path, queries, headers, 0)
    micros: dict[str, list[float]] = {name: [] for name in cases}
    statuses: dict[str, dict] = {}
    for round_ in range(ROUNDS):
        for name, (target, path, headers) in cases.items():
            spent, statuses[name] = await _round(target, path, queries, headers, (round_ + 1) * REQUESTS)
            micros[name].append(round(spent, 1))
    medians = {name: statistics.median(values) for name, values in micros.items()}
    return {"micros_per_request": micros, "median_micros": medians, "statuses_last_round": statuses,
            "ratio_bare_to_lookup": round(medians["bare"] / medians["lookup"], 3)}


def run() -> dict:
    from ansinh import clock
    from ansinh.api import create_app
    from ansinh.config import Settings
    from ansinh.migrate import upgrade_database
    from ansinh.ops.logging import logging_config
    from bench.bare_app import create_app as create_bare

    today = clock.today()
    workdir = Path(tempfile.mkdtemp(prefix="ansinh-bench-lookup-cpu-"))
    try:
        url = f"sqlite:///{workdir / 'ansinh.db'}"
        upgrade_database(url)
        database = Database(url)
        token, queries = _prepare(database, today)
        os.environ["ANSINH_LOOKUP_RATE_PER_MINUTE"] = str(10**9)
        settings = Settings(database_url=url, var_dir=str(workdir), secret_key="b" * 48,
                            lookup_rate_per_minute=10**9)
        # the server's logging (``ansinh serve``): the access line of each request formatted and written, here
        # to nothing as the HTTP benchmark's server writes its stderr
        config = logging_config(settings.log_format, settings.log_level)
        config["handlers"]["default"]["stream"] = open(os.devnull, "w")  # noqa: SIM115 - for the process's life
        logging.config.dictConfig(config)
        app = create_app(settings, database)
        bare = create_bare()

        async def main() -> dict:
            async with app.router.lifespan_context(app):
                return await _measure(app, bare, token, queries)

        result = asyncio.run(main())
        database.dispose()
        return {"people": PEOPLE, "rounds": ROUNDS, "requests_per_round": REQUESTS, "cores": os.cpu_count(), **result}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False, default=str))
