"""The application: assembles every domain's routers, the web pages, middleware and error handling.

``create_app()`` is what ``ansinh serve`` runs; tests build their own with a test database.
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from anyio import CapacityLimiter, to_thread
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ansinh import __version__, i18n
from ansinh.audit.api import router as audit_router
from ansinh.auth.api import router as auth_router
from ansinh.auth.pages import router as auth_pages_router
from ansinh.auth.reset.api import router as reset_router
from ansinh.auth.deps import NotAuthenticated, Public, declared_permissions, declared_scopes
from ansinh.benefits.payments.api import router as benefit_payments_router
from ansinh.cards.api import DeskLookupMiddleware, facilities_router
from ansinh.cards.api import router as cards_router
from ansinh.cards.fhir import router as fhir_router
from ansinh.cards.desk_guard import DeskGuard, use_desk_guard
from ansinh.cards.lookup_log import LookupLogWriter
from ansinh.benefits.pages import router as benefits_pages_router
from ansinh.benefits.payments.pages import router as benefit_payments_pages_router
from ansinh.portal.api import router as portal_router
from ansinh.portal.employer.api import router as employer_portal_router
from ansinh.portal.employer.pages import router as employer_portal_pages_router
from ansinh.portal.pages import router as portal_pages_router
from ansinh.cards.pages import router as cards_pages_router
from ansinh.cards.service import desk_reader_for, use_desk_reader, use_lookup_log_writer
from ansinh.claims.budgets.api import router as claims_budgets_router
from ansinh.claims.budgets.pages import router as claims_budgets_pages_router
from ansinh.claims.monitoring.api import router as claims_monitoring_router
from ansinh.claims.monitoring.pages import router as claims_monitoring_pages_router
from ansinh.claims.catalogue_pages import router as claims_catalogue_pages_router
from ansinh.claims.prices.api import router as claims_prices_router
from ansinh.claims.prices.pages import router as claims_prices_pages_router
from ansinh.claims.intake.api import router as claims_intake_router
from ansinh.claims.intake.pages import router as claims_intake_pages_router
from ansinh.claims.review.api import router as claims_review_router
from ansinh.claims.review.pages import router as claims_review_pages_router
from ansinh.claims.settlement.api import router as claims_settlement_router
from ansinh.claims.settlement.pages import router as claims_settlement_pages_router
from ansinh.claims.fhir_api import router as claims_fhir_router
from ansinh.collection.arrears_api import router as arrears_router
from ansinh.collection.billing_api import router as billing_router
from ansinh.collection.pages import router as collection_pages_router
from ansinh.collection.payments_api import router as payments_router
from ansinh.config import Settings, get_settings, resolve_secret_key
from ansinh.db import Database, get_database
from ansinh.audit.refusals import record_refusal
from ansinh.auth.service import AuthError
from ansinh.benefits.api import router as benefits_router
from ansinh.errors import DomainError, PermissionDenied, database_error
from ansinh.i18n import N_
from ansinh.jobs.api import router as jobs_router
from ansinh.jobs.pages import router as jobs_pages_router
from ansinh import route_index
from ansinh.middleware import (BodySizeLimitMiddleware, ControlCharacterMiddleware, ObservabilityMiddleware,
                               RequestContextMiddleware)
from ansinh.ops import metrics as ops_metrics
from ansinh.ops.readiness import check_readiness, readiness_body
from ansinh.outreach.api import router as outreach_router
from ansinh.participation.api import router as participation_router
from ansinh.participation.pages import router as participation_pages_router
from ansinh.outreach.pages import router as outreach_pages_router
from ansinh.registry.api import router as registry_router
from ansinh.registry.import_api import router as imports_router
from ansinh.registry.pages import router as registry_pages_router
from ansinh.registry.corrections.api import router as corrections_router
from ansinh.registry.corrections.pages import router as corrections_pages_router
from ansinh.rules.api import router as rules_router
from ansinh.rules.pages import router as rules_pages_router
from ansinh.targets.drilldown import router as targets_drill_router
from ansinh.targets.pages import router as targets_pages_router
from ansinh.targets.plans.api import router as plans_router
from ansinh.targets.reports.api import router as target_reports_router
from ansinh.rules.parameters import get_parameters
from ansinh.web.pages import router as pages_router
from ansinh.web.templating import render_error_page

log = logging.getLogger("ansinh")
#: Bytes of a claim file upload beyond the file itself (multipart headers, the form's other fields).
CLAIM_UPLOAD_OVERHEAD = 64 * 1024
#: Seconds /health waits for the database before answering "slow".
HEALTH_TIMEOUT = 0.8
STATIC_DIR = Path(__file__).parent / "web" / "static"

#: Every domain's API router, in the order they appear in the OpenAPI document.
#: The cards router comes first: routes are matched in order, and the desk's card lookup is by far the most called
#: (matching it after the others cost a tenth of its time).
API_ROUTERS = [cards_router, auth_router, reset_router, audit_router, rules_router, registry_router, imports_router,
               participation_router, billing_router, payments_router, arrears_router, facilities_router,
               claims_fhir_router, fhir_router,  # the claim's FHIR route before the catch-all of the cards' one
               claims_prices_router, claims_budgets_router, claims_intake_router,
               claims_settlement_router, claims_monitoring_router, plans_router, target_reports_router,
               targets_drill_router, benefits_router, benefit_payments_router, portal_router, corrections_router,
               employer_portal_router, outreach_router, jobs_router,
               claims_review_router]  # last: /api/v1/claims/{facility_code}/{ma_lk} after /files/{id}
#: Every domain's web pages.
PAGE_ROUTERS = [pages_router, auth_pages_router, rules_pages_router, registry_pages_router, participation_pages_router,
                collection_pages_router, cards_pages_router, claims_prices_pages_router,
                claims_catalogue_pages_router, claims_budgets_pages_router, claims_intake_pages_router,
                claims_settlement_pages_router, claims_monitoring_pages_router, targets_pages_router,
                benefits_pages_router, benefit_payments_pages_router, portal_pages_router, corrections_pages_router,
                employer_portal_pages_router, outreach_pages_router, jobs_pages_router,
                claims_review_pages_router]  # last: /claims/{facility_code}/{ma_lk}

#: Answers that are refusals of access, recorded in the audit log (``ansinh.audit.refusals``).
REFUSAL_STATUSES = frozenset({401, 403, 429})
_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
               422: "validation_failed", 429: "too_many_requests"}
_HTTP_MESSAGES = {404: N_("There is nothing at this address."), 405: N_("This method is not allowed here."),
                  413: N_("The request body is too large."), 401: N_("Please sign in."),
                  403: N_("You are not allowed to do this."), 400: N_("The request is not acceptable.")}


MACHINE_PREFIXES = ("/api/", "/fhir/", "/health", "/ready", "/metrics", "/static/")


def _wants_html(request: Request) -> bool:
    """A page address answers a page (the sign-in form, an error page) unless the client asks for JSON only; the
    API, FHIR and health addresses always answer JSON. ``curl /`` (``Accept: */*``) is sent to sign in."""
    if request.url.path.startswith(MACHINE_PREFIXES):
        return False
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept or "application/json" not in accept


def _error(request: Request, status: int, code: str, message: str, *, field: str | None = None,
           details: list | None = None, headers: dict | None = None) -> Response:
    if _wants_html(request):
        return render_error_page(request, status, message, headers=headers)
    body = {"code": code, "message": message, "request_id": getattr(request.state, "request_id", None)}
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        await record_refusal(request, exc, 401)
        if _wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            suffix = "&expired=1" if exc.expired else ""
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(target, safe='')}{suffix}", status_code=303)
        return _error(request, 401, exc.code, exc.translated(i18n.gettext), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if exc.status_code in REFUSAL_STATUSES and not isinstance(exc, AuthError):
            await record_refusal(request, exc, exc.status_code)
        headers = None
        retry = getattr(exc, "retry_after_seconds", None)
        if retry:
            headers = {"Retry-After": str(retry)}
        return _error(request, exc.status_code, exc.code, exc.translated(i18n.gettext),
                      field=getattr(exc, "field", None), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(request, 400, "malformed_json", i18n.gettext("The request body is not valid JSON."),
                          details=[{"location": list(map(str, e.get("loc", ()))), "reason": e.get("msg")}
                                   for e in errors])
        details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                    "location": list(map(str, e.get("loc", ()))), "reason": e.get("msg"), "type": e.get("type")}
                   for e in errors]
        return _error(request, 422, "validation_failed", i18n.gettext("Some values are missing or not acceptable."),
                      details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if exc.status_code == 413 else _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        return _error(request, exc.status_code, code, i18n.gettext(message), headers=getattr(exc, "headers", None))

    async def database_refused(request: Request, exc: Exception) -> Response:
        """A database error that is an answer, not a bug (contention, a race, a value it cannot store): see
        ``errors.database_error``. Anything else goes on to the 500 handler."""
        answer = database_error(exc)
        if answer is None:
            raise exc
        # the route's template and the driver's first line, never the address asked for or the statement's values
        # (they may be a citizen ID, a name, an address): logs carry no personal data (ansinh.ops.logging)
        cause = getattr(exc, "orig", None) or exc
        log.warning("database refused %s %s: %s: %s", request.method, ops_metrics.route_template(request.scope),
                    type(cause).__name__, str(cause).splitlines()[0] if str(cause) else "")
        return await domain_error(request, answer)

    # Handled here (by Starlette's exception middleware), not by the 500 handler, which re-raises what it handles.
    app.add_exception_handler(DBAPIError, database_refused)
    app.add_exception_handler(OverflowError, database_refused)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, ops_metrics.route_template(request.scope))
        return _error(request, 500, "internal_error",
                      i18n.gettext("Something went wrong on our side. The error has been logged."))


def all_routes(app: FastAPI) -> list[APIRoute]:
    """Every API and page route of the application (including those of the routers it includes)."""
    found: list[APIRoute] = []

    def walk(routes) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            elif hasattr(route, "original_router"):  # a router included lazily (FastAPI's _IncludedRouter)
                walk(route.original_router.routes)
            elif hasattr(route, "routes") and not hasattr(route, "app_mount"):  # pragma: no cover - older FastAPI
                walk(getattr(route, "routes", []))

    walk(app.router.routes)
    return found


def document_scopes(app: FastAPI) -> None:
    """Each API operation says in the OpenAPI document who may call it and on which records (``x-ansinh-scope``,
    ``x-ansinh-permissions``)."""
    for route in all_routes(app):
        route.openapi_extra = {**(route.openapi_extra or {}),
                               "x-ansinh-scope": [s.value for s in declared_scopes(route)],
                               "x-ansinh-permissions": [p.value for p in declared_permissions(route)]}


def _health_lane(app: FastAPI) -> CapacityLimiter:
    """Threads of their own for /health, apart from the pool of the other routes (made in the event loop)."""
    lane = getattr(app.state, "health_lane", None)
    if lane is None:
        lane = app.state.health_lane = CapacityLimiter(2)
    return lane


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    secret_key = resolve_secret_key(settings)  # refuses to start in production without a key
    get_parameters()  # validates every legal parameter file: a bad one stops the start, naming file and key
    use_desk_guard(DeskGuard(per_minute=settings.lookup_rate_per_minute,
                             unrelated_per_hour=settings.lookup_alert_unrelated_per_hour,
                             failed_per_hour=settings.lookup_alert_failed_per_hour))
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        gc.freeze()  # what start-up built lives as long as the process: collections need not scan it again
        writer = reader = None
        if settings.lookup_log_flush_ms > 0:
            # One writer for the rows no request should wait for: the card lookup log, and refused accesses.
            writer = LookupLogWriter(app.state.database, interval=settings.lookup_log_flush_ms / 1000).start()
            use_lookup_log_writer(writer)
            app.state.audit_writer = writer
            # and the lookup's read on connections of its own, in autocommit (cards.desk_reader)
            reader = desk_reader_for(app.state.database.engine)
            use_desk_reader(reader)
        sampler = ops_metrics.PoolSampler(app.state.database.engine).start()
        try:
            yield
        finally:
            # Stopping (SIGTERM): the server has let the requests in progress finish (``shutdown_timeout_seconds``,
            # ``ansinh serve``); the batch runs started from the web get up to that time again, then the rows
            # waiting in the writer are written.
            from ansinh import background

            background.wait_for_runs(settings.shutdown_timeout_seconds)
            sampler.close()
            if writer is not None:
                use_lookup_log_writer(None)
                app.state.audit_writer = None
                writer.close()
            if reader is not None:
                use_desk_reader(None)
                await reader.aclose()
                reader.close()
            ops_metrics.process_stopped()

    app = FastAPI(
        lifespan=lifespan,
        title="ansinh",
        version=__version__,
        description="Social security administration: social, health and unemployment insurance.",
        # FastAPI's own OpenTelemetry hooks asked three providers on every request whether anyone listens; ansinh's
        # metrics are Prometheus's (ansinh.ops.metrics), its logs its own (ansinh.ops.logging)
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # served below from vendored assets
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.secret_key = secret_key
    app.state.database = database or get_database()

    install_error_handlers(app)
    app.add_middleware(DeskLookupMiddleware)  # innermost: card lookups past the router (ansinh.cards.api)
    app.add_middleware(ControlCharacterMiddleware)  # runs after the body limit
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       upload_max_bytes=settings.max_upload_bytes,
                       # a claim file may be far larger than other uploads (multipart's own bytes on top)
                       large_uploads=((("/api/v1/claims/files", "/claims/files"),
                                       settings.claim_file_max_bytes + CLAIM_UPLOAD_OVERHEAD),))
    app.add_middleware(RequestContextMiddleware, default_locale=settings.default_locale,
                       secure=bool(settings.secure_cookies))
    app.add_middleware(ObservabilityMiddleware, access_log=settings.access_log)  # outermost: times all the rest

    @app.get("/health", tags=["system"], dependencies=[Public])
    async def health(request: Request) -> JSONResponse:
        """Liveness and database status (no sign-in needed; reveals no data). Answers within a second whatever the
        rest of the server is doing: the database check runs on threads of its own and is given up after
        ``HEALTH_TIMEOUT`` seconds (then 503, database "slow")."""
        from ansinh.migrate import head_revision

        database: Database = request.app.state.database

        def check() -> str | None:
            database.ping()
            return database.current_revision()

        try:
            with anyio.fail_after(HEALTH_TIMEOUT):
                revision = await to_thread.run_sync(check, limiter=_health_lane(request.app), abandon_on_cancel=True)
            db_status = "ok" if revision == head_revision() else "migrations pending"
        except TimeoutError:
            return JSONResponse({"status": "error", "version": __version__,
                                 "database": {"status": "slow", "dialect": database.engine.dialect.name}},
                                status_code=503)
        except Exception as exc:  # the database is down: say so, with 503
            log.warning("health check: database unavailable: %s", exc)
            return JSONResponse({"status": "error", "version": __version__,
                                 "database": {"status": "unavailable", "dialect": database.engine.dialect.name}},
                                status_code=503)
        status = "ok" if db_status == "ok" else "degraded"
        return JSONResponse({"status": status, "version": __version__,
                             "database": {"status": db_status, "dialect": database.engine.dialect.name,
                                          "revision": revision}},
                            status_code=200 if status == "ok" else 503)

    @app.get("/ready", tags=["system"], dependencies=[Public])
    async def ready(request: Request) -> JSONResponse:
        """Readiness: may this process be sent requests? The database answers, its migrations are at the code's
        head, and the message broker answers when ``ANSINH_BROKER_URL`` is set (otherwise it is reported
        ``not_configured``). 200 when every check passes, else 503; each check's result and time in milliseconds.
        No sign-in needed; names no address, user or error text. Each check runs on threads of its own and is given
        up after ``ready_timeout_seconds``. (``/health`` is liveness: the process answers.)"""
        checks = await check_readiness(request.app.state, request.app.state.database,
                                       broker_url=settings.broker_url, timeout=settings.ready_timeout_seconds)
        body, status = readiness_body(checks)
        return JSONResponse(body, status_code=status)

    @app.get("/metrics", include_in_schema=False, dependencies=[Public])
    async def metrics(request: Request) -> Response:
        """Metrics in Prometheus text format (``ansinh.ops.metrics``), for the loopback address (not through a
        proxy) or a caller presenting ``Authorization: Bearer`` with ``ANSINH_METRICS_TOKEN``; others get 403.
        They count requests by route template and carry no personal data."""
        client_host = request.client.host if request.client else None
        if not ops_metrics.metrics_allowed(client_host, request.headers, settings.metrics_token):
            raise PermissionDenied(N_("The metrics are served to this machine or with the metrics token only."))
        ops_metrics.sample_pool(request.app.state.database.engine)
        body = await to_thread.run_sync(ops_metrics.render, limiter=_health_lane(request.app))
        return Response(body, media_type=ops_metrics.CONTENT_TYPE)

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[Public])
    def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=308)

    @app.get("/docs", include_in_schema=False, dependencies=[Public])
    def api_docs() -> Response:
        """Interactive API documentation (Swagger UI, vendored)."""
        from fastapi.responses import HTMLResponse

        return HTMLResponse((STATIC_DIR.parent / "templates" / "docs.html").read_text())

    for router in API_ROUTERS:
        app.include_router(router)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    document_scopes(app)
    route_index.install(app.router)  # the routes tried by the shape of the path, not all in turn (issue 17)
    return app
