"""CPU per request spent finding the route (issue 17): ansinh's index of the routes (``ansinh.route_index``) against
FastAPI's own search (every route tried in turn), measured in the same run on the same application.

The application is called in-process as an ASGI application (no network), without signing in, so that each request
ends right after its route is found (a page's redirect to the sign-in, the API's 401, a 404, a static file): what is
measured is mostly the search. For each address, ``ANSINH_BENCH_ROUNDS`` rounds (default 5) of
``ANSINH_BENCH_REQUESTS`` requests (default 500), by turns with and without the index; the medians of the CPU time
per request (this process) are reported with their ratio.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.lookup_cpu_bench import _call

ROUNDS = int(os.environ.get("ANSINH_BENCH_ROUNDS", "5"))
REQUESTS = int(os.environ.get("ANSINH_BENCH_REQUESTS", "500"))
#: Early and late routes of the API and the pages, a 404, a static file.
ADDRESSES = ["/api/v1/cards/kpis", "/api/v1/people/1", "/api/v1/jobs/1", "/collection/arrears", "/jobs",
             "/targets/plans", "/outreach/nothing", "/static/app.css"]


async def _round(app, path: str) -> tuple[float, int]:
    started = time.process_time()
    for _ in range(REQUESTS):
        status = await _call(app, path, b"", [(b"host", b"127.0.0.1:8000")])
    return (time.process_time() - started) / REQUESTS * 1e6, status


def run() -> dict:
    from ansinh.api import create_app
    from ansinh.config import Settings
    from ansinh.db import Database
    from ansinh.migrate import upgrade_database

    workdir = Path(tempfile.mkdtemp(prefix="ansinh-bench-routing-"))
    try:
        url = f"sqlite:///{workdir / 'ansinh.db'}"
        upgrade_database(url)
        database = Database(url)
        settings = Settings(database_url=url, var_dir=str(workdir), secret_key="b" * 48, access_log=False)
        indexed = create_app(settings, database)
        searched = create_app(settings, database)
        searched.router.middleware_stack = searched.router.app  # FastAPI's own search
        routes = sum(len(route_paths) for route_paths in indexed.router.route_index().templates if route_paths)

        async def main() -> dict:
            figures = {}
            for path in ADDRESSES:
                await _round(indexed, path)
                await _round(searched, path)
                times: dict[str, list[float]] = {"index": [], "search": []}
                statuses = {}
                for _ in range(ROUNDS):
                    for name, app in (("index", indexed), ("search", searched)):
                        spent, statuses[name] = await _round(app, path)
                        times[name].append(round(spent, 1))
                assert statuses["index"] == statuses["search"], (path, statuses)
                index, search = statistics.median(times["index"]), statistics.median(times["search"])
                figures[path] = {"status": statuses["index"], "index_micros": index, "search_micros": search,
                                 "saved_micros": round(search - index, 1), "ratio": round(search / index, 2),
                                 "candidates": len(indexed.router.route_index().candidates(path))}
            return figures

        result = asyncio.run(main())
        database.dispose()
        return {"routes": routes, "rounds": ROUNDS, "requests_per_round": REQUESTS, "cores": os.cpu_count(),
                "addresses": result}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
