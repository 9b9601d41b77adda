"""ASGI middleware: request ids, body-size limit, security headers, the request's language."""

from __future__ import annotations

import json
import re
import uuid

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ansinh import i18n

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
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        cookies = _parse_cookies(headers.get("cookie", ""))
        is_api = scope["path"].startswith("/api/")
        locale = i18n.negotiate_locale(
            chosen=cookies.get("ansinh_locale"), saved=None,
            # The API follows Accept-Language; pages default to Vietnamese until the user picks.
            accept_language=headers.get("accept-language") if is_api else None,
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
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
                 upload_prefixes: tuple[str, ...] = ("/api/v1/imports", "/registry/imports")) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes
        self.upload_prefixes = upload_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announces_body = any(name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])
        if not announces_body and scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)  # no body to limit (most requests): no wrapping
            return
        limit = self.upload_max_bytes if scope["path"].startswith(self.upload_prefixes) else self.max_bytes
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
