"""The peer of the card lookup benchmark (issue 17): a bare FastAPI application with one GET endpoint at the lookup's
address, which takes the same query and answers a JSON object of the lookup's size and shape, with no database, no
authentication, no middleware, no log. Served by uvicorn with the flags of ``ansinh serve`` (the same process
count, event loop, HTTP parser and logging configuration), and loaded by the same ``wrk`` command in the same run:
the lookup's rate is reported as a share of this one's.

``python -m bench.bare_app --port 8001 --workers 2``
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/cards/lookup")
    async def lookup(citizen_id: str | None = None, date_of_birth: str | None = None) -> dict:
        # the keys and about the size of a covered person's answer (the citizen ID is read, as the lookup reads it)
        return {"on": "2026-12-06", "covered": True, "reason": None, "card_id": 123456,
                "card_code": "DN4191912345678", "benefit_level": 4, "benefit_percentage": 80.0,
                "valid_from": "2026-01-01", "valid_to": "2026-12-31", "registered_facility": "19001",
                "registered_facility_name": "Bệnh viện Đa khoa Trung ương Thái Nguyên",
                "five_years_from": None, "status": "active", "full_name": "Nguyễn Thị Minh Hằng",
                "date_of_birth": date_of_birth, "sex": "female", "person_id": 654321}

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    from ansinh.cli import WORKER_HEALTHCHECK_SECONDS
    from ansinh.config import get_settings
    from ansinh.ops.logging import logging_config

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = get_settings()
    # the flags of `ansinh serve` (ansinh.cli.serve)
    uvicorn.run("bench.bare_app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                proxy_headers=bool(settings.forwarded_allow_ips),
                forwarded_allow_ips=settings.forwarded_allow_ips or None, access_log=False,
                log_config=logging_config(settings.log_format, settings.log_level),
                timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)


if __name__ == "__main__":
    main()
