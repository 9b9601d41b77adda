"""ASGI middleware: request ids, body-size limit, security headers, the request's language, and what each request
leaves for the operators (metrics, the access log)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from urllib.parse import parse_qsl, unquote_to_bytes

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ansinh import i18n
from ansinh.bounds import has_control_characters
from ansinh.ops import metrics
from ansinh.ops.logging import access_log, request_id_var

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


async def send_json_error(send: Send, status: int, code: str, message: str, request_id: str | None,
                          extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "request_id": request_id}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": body})


_CSP = (b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
# Swagger UI styles some elements inline.
_DOCS_CSP = _CSP.replace(b"style-src 'self'", b"style-src 'self' 'unsafe-inline'")


_CONTEXT_HEADERS = frozenset({b"x-request-id", b"cookie", b"accept-language"})


class RequestContextMiddleware:
    """Gives each request an id (kept from X-Request-ID when well-formed), echoes it in the
    response, sets the language for the request, and adds security headers."""

    def __init__(self, app: ASGIApp, default_locale: str, secure: bool) -> None:
        self.app = app
        self.default_locale = default_locale
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = cookie = accept_language = ""
        for name, value in scope["headers"]:  # only the three read here decoded (header names come lower-cased)
            if name in _CONTEXT_HEADERS:
                if name == b"x-request-id":
                    incoming = value.decode("latin-1")
                elif name == b"cookie":
                    cookie = value.decode("latin-1")
                else:
                    accept_language = value.decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        request_id_var.set(request_id)  # the log lines written while serving it carry it (ansinh.ops.logging)
        cookies = _parse_cookies(cookie) if cookie else {}
        is_api = scope["path"].startswith(("/api/", "/fhir/"))
        locale = i18n.negotiate_locale(
            chosen=cookies.get("ansinh_locale"), saved=None,
            # The API and FHIR follow Accept-Language; pages default to Vietnamese until the user picks.
            accept_language=accept_language if is_api else None,
            default=self.default_locale,
        )
        scope["state"]["locale"] = locale
        i18n.set_locale(locale)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"x-request-id", request_id.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", _DOCS_CSP if scope["path"] == "/docs" else _CSP),
                ]
                if self.secure:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                # Answers carry personal data or are downloads of it: no cache keeps them (only the static assets,
                # which carry none, may be cached).
                if not scope["path"].startswith("/static/") and not any(
                        name.lower() == b"cache-control" for name, _ in message.get("headers", [])):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ObservabilityMiddleware:
    """The outermost middleware: counts and times each request by its route's template for the metrics
    (``ansinh.ops.metrics``) and writes its access line (``ansinh.ops.logging``): method, route template, status,
    duration and request id, never the address asked for or its query string (they may hold a citizen ID)."""

    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.IN_PROGRESS.inc()
        try:
            await self.app(scope, receive, observed_send)
        finally:
            metrics.IN_PROGRESS.dec()
            seconds = time.perf_counter() - started
            route = metrics.route_template(scope)
            method = scope["method"]
            metrics.observe_request(method, route, status, seconds)
            if self.access_log and access_log.isEnabledFor(logging.INFO):
                request_id = scope.get("state", {}).get("request_id")
                duration_ms = round(seconds * 1000, 2)
                # the record made here: logging's search for the calling frame was a fifth of the line's cost
                access_log.handle(access_log.makeRecord(
                    access_log.name, logging.INFO, __file__, 0, "%s %s %s %sms",
                    (method, route, status, duration_ms), None,
                    extra={"request_id": request_id, "method": method, "route": route, "status": status,
                           "duration_ms": duration_ms}))


def _parse_cookies(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            cookies[name] = value
    return cookies


class _BodyTooLarge(HTTPException):
    """Raised while reading; an HTTPException so that FastAPI's body parsing passes it through."""

    def __init__(self, message: str) -> None:
        super().__init__(status_code=413, detail=message)


class BodySizeLimitMiddleware:
    """Refuses request bodies above a limit with 413 and a JSON error, whether the size is
    announced (Content-Length) or only discovered while reading (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int,
                 upload_prefixes: tuple[str, ...] = ("/api/v1/imports", "/registry/imports",
                                                      "/api/v1/payments/statements",
                                                      "/collection/payments/import"),
                 large_uploads: tuple[tuple[tuple[str, ...], int], ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes
        self.upload_prefixes = upload_prefixes
        #: (path prefixes, limit) of uploads with a limit of their own (claim files)
        self.large_uploads = large_uploads

    def limit_for(self, path: str) -> int:
        for prefixes, limit in self.large_uploads:
            if path.startswith(prefixes):
                return limit
        return self.upload_max_bytes if path.startswith(self.upload_prefixes) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announces_body = any(name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])
        if not announces_body and scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)  # no body to limit (most requests): no wrapping
            return
        limit = self.limit_for(scope["path"])
        request_id = scope.get("state", {}).get("request_id")
        message = i18n.gettext("The request body is larger than {limit} bytes.").format(limit=limit)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    await send_json_error(send, 400, "bad_request", i18n.gettext("Malformed Content-Length header."),
                                          request_id)
                    return
                if announced > limit:
                    await send_json_error(send, 413, "payload_too_large", message, request_id)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(message)
            return incoming

        async def tracking_send(outgoing: Message) -> None:
            nonlocal started
            if outgoing["type"] == "http.response.start":
                started = True
            await send(outgoing)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await send_json_error(send, 413, "payload_too_large", message, request_id)


#: A query string of printable ASCII without a percent escape: it decodes to itself (``+`` to a space), which is text
#: without control characters, so it need not be parsed to be checked.
_PLAIN_QUERY = re.compile(rb"[\x20-\x24\x26-\x7e]*")
#: Bodies read and checked for control characters: JSON (the API, FHIR) and HTML forms.
_CHECKED_BODIES = (b"application/json", b"application/fhir+json", b"application/x-www-form-urlencoded")


def _control_character_field(value, path: str = "") -> str | None:
    """The path of the first string (or key) of a JSON value that holds a control character, or None."""
    if isinstance(value, str):
        return path or "body" if has_control_characters(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if has_control_characters(str(key)):
                return where
            found = _control_character_field(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _control_character_field(item, f"{path}[{index}]")
            if found:
                return found
    return None


class ControlCharacterMiddleware:
    """Refuses NUL and the other control characters (``ansinh.bounds``) in the path, the query string, JSON bodies
    and HTML forms with a 422 naming the field, before any route runs: no such character reaches a service or the
    database. (Files are checked by the importers, which name the row and column.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def _refuse(self, scope: Scope, send: Send, field: str) -> None:
        message = i18n.gettext("Control characters (such as NUL) are not accepted in {field}.").format(field=field)
        body = json.dumps({"error": {"code": "validation_failed", "message": message, "field": field,
                                     "request_id": scope.get("state", {}).get("request_id")}}).encode()
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        try:
            path = unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            path = "\0"  # not UTF-8 text: refused like a control character
        if has_control_characters(path):
            await self._refuse(scope, send, "path")
            return
        query = scope.get("query_string", b"")
        if query and not _PLAIN_QUERY.fullmatch(query):  # a query of printable ASCII without escapes holds none
            try:
                pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
            except (UnicodeDecodeError, ValueError):
                await self._refuse(scope, send, "query")
                return
            for name, value in pairs:
                if has_control_characters(name) or has_control_characters(value):
                    await self._refuse(scope, send, name if not has_control_characters(name) else "query")
                    return
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.split(b";")[0].strip().lower()
        if scope["method"] in ("GET", "HEAD", "OPTIONS") or content_type not in _CHECKED_BODIES:
            await self.app(scope, receive, send)
            return
        # Read the body (already limited in size by BodySizeLimitMiddleware, which runs first), check it, then
        # hand it on unchanged.
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # disconnected: nothing to check
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        field = None
        if content_type == b"application/x-www-form-urlencoded":
            try:
                for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                                             errors="strict"):
                    if has_control_characters(name) or has_control_characters(value):
                        field = name if not has_control_characters(name) else "form"
                        break
            except (UnicodeDecodeError, ValueError):
                field = "form"
        else:
            try:
                field = _control_character_field(json.loads(body)) if body else None
            except (ValueError, RecursionError):
                field = None  # not JSON: the route answers that
        if field:
            await self._refuse(scope, send, field)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
