"""Rendering pages: one Jinja2 environment with gettext, the navigation and the CSRF token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ansinh import __version__, formatting, i18n
from ansinh.auth.permissions import Permission
from ansinh.web.labels import label
from ansinh.web.navigation import breadcrumbs, current_item, grouped_nav, nav_for

TEMPLATE_DIR = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
environment.globals.update(
    version=__version__,
    LOCALES=i18n.LOCALES,
    LOCALE_NAMES=i18n.LOCALE_NAMES,
)


environment.filters.update(
    number=formatting.number,
    money=formatting.money,
    percent=formatting.percent,
    day=formatting.day,
    month=formatting.month,
    datetime=formatting.moment,
)
environment.filters["label"] = label


def request_locale(request: Request) -> str:
    return getattr(request.state, "locale", i18n.DEFAULT_LOCALE)


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    locale = request_locale(request)
    nav = nav_for(principal)
    path = request.url.path
    values = {
        "request": request,
        "principal": principal,
        "nav": nav,
        "nav_sections": grouped_nav(nav),
        "nav_current": current_item(nav, path),
        "breadcrumbs": breadcrumbs(nav, path),
        "can_search": principal is not None and principal.is_agency_staff
        and principal.has(Permission.registry_read),
        "locale": locale,
        "csrf_token": getattr(request.state, "csrf_token", None) or "",
        "current_path": request.url.path,
        **(context or {}),
    }
    with i18n.use_locale(locale):
        html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def render_error_page(request: Request, status: int, message: str, headers: dict | None = None) -> HTMLResponse:
    return render(request, "error.html", {"status": status, "message": message}, status_code=status, headers=headers)


def script_json(value: Any) -> str:
    """JSON for a ``<script type="application/json">`` block (never closes the element early): chart data."""
    return json.dumps(value, ensure_ascii=False, default=str).replace("</", "<\\/")


def is_htmx(request: Request) -> bool:
    """The request was made by htmx (which swaps only successful answers into the page)."""
    return request.headers.get("hx-request") == "true"
