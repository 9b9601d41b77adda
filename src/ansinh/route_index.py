"""An index of the application's routes by the segments of their paths, in front of FastAPI's router.

FastAPI finds the route of a request by trying every route in order until one matches the path. ansinh has close to
500 routes in 50-odd routers, so a request for a page registered late, a 404 or a static file tried several hundred
routes first: 0.5 to 2 ms of CPU per request before any work (measured in-process, BENCHMARKS.md, issue 17). The
index keeps, for the shape of a path (its number of segments and its first three segments when routes name them),
the routes that could match a path of that shape, in their order; the router tries only those. When none matches
in full, the request goes to FastAPI's router as it is (which answers a method not allowed, a trailing-slash
redirect, the static files and the 404 its own way).

What a route "could match": each of its paths (a router's: every route it includes) split in segments; a literal
segment must equal the request's, a parameter matches any segment, a ``{...:path}`` parameter the rest of the path; a
path of another number of segments cannot match. A route whose paths cannot be told (an unknown kind) is a candidate
for every request. So the candidates of a shape always include every route that matches a path of that shape, and
the first of them that matches is the route FastAPI's own search would choose (``tests/test_route_index.py``).

FastAPI's internal steps around a match (the form limits, the scope's update, the route's telemetry) are called as
its router calls them; :func:`install` leaves the router as it is when they are not there (another FastAPI version).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Receive, Scope, Send

logger = logging.getLogger(__name__)

def _segments(path: str) -> list[str]:
    return path[1:].split("/") if path.startswith("/") else path.split("/")


def _paths(route: BaseRoute) -> list[str] | None:
    """The path templates a route answers (a router's: those of every route it includes); None when unknown.

    An included router's paths are its prefix and its routes' paths, read without building FastAPI's effective
    routes: building them all (their dependencies, their pydantic models) costs about a second for ansinh's routes,
    which FastAPI's own search builds only as far as the first match."""
    from fastapi import routing as fastapi_routing

    included = getattr(fastapi_routing, "_IncludedRouter", None)
    if included is not None and isinstance(route, included):
        return _included_paths(route, included, route.include_context.prefix)
    if isinstance(route, Mount):
        return [route.path.rstrip("/") + "/{rest:path}", route.path or "/"]
    path = getattr(route, "path", None)
    return [path] if isinstance(path, str) else None


def _included_paths(router, included: type, prefix: str) -> list[str] | None:
    """An included router's paths under ``prefix``: each route's path after it (FastAPI's ``path_for``), the routers
    it includes in turn under their own prefixes; None when a route's path cannot be told."""
    paths: list[str] = []
    for child in router.original_router.routes:
        if isinstance(child, included):
            found = _included_paths(child, included, prefix + child.include_context.prefix)
        elif isinstance(child, Mount):
            return None
        else:
            path = getattr(child, "path", None)
            found = [prefix + path] if isinstance(path, str) and path else None
        if found is None:
            return None
        paths.extend(found)
    return paths


def _is_parameter(segment: str) -> bool:
    return "{" in segment


def _rest(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith(":path}")


#: How many leading segments a shape names (``/api/v1/cards/...``: three tell the API's routers apart).
LEADING = 3


class RouteIndex:
    """The candidate routes of each path shape, computed once per shape (the shapes are few: the literals of the
    routes' first segments)."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.routes = list(routes)
        self.templates = [_paths(route) for route in self.routes]
        self.literals: list[set[str]] = [set() for _ in range(LEADING)]
        for paths in self.templates:
            for path in paths or ():
                for position, segment in enumerate(_segments(path)[:LEADING]):
                    if not _is_parameter(segment):
                        self.literals[position].add(segment)
        self._shapes: dict[tuple, tuple[BaseRoute, ...]] = {}

    def shape(self, path: str) -> tuple:
        """(number of segments, then each leading segment, or None when no route names it there)."""
        segments = _segments(path)
        return (len(segments), *(segments[i] if i < len(segments) and segments[i] in self.literals[i] else None
                                 for i in range(LEADING)))

    def candidates(self, path: str) -> tuple[BaseRoute, ...]:
        shape = self.shape(path)
        found = self._shapes.get(shape)
        if found is None:
            found = self._shapes[shape] = tuple(
                route for route, paths in zip(self.routes, self.templates)
                if paths is None or any(_could_match(_segments(p), shape) for p in paths))
        return found


def _could_match(template: list[str], shape: tuple) -> bool:
    """Could a path of this template match a path of this shape (its leading segments, its count)?"""
    count = shape[0]
    for index, segment in enumerate(template):
        if _rest(segment):
            return count >= index + 1  # the rest of the path, one segment at least
        if index >= count:
            return False
        if index < LEADING and not _is_parameter(segment) and segment != shape[1 + index]:
            return False
    return len(template) == count


def install(router) -> bool:
    """Put the index in front of ``router`` (the application's ``APIRouter``); False when FastAPI's internal steps
    it needs are missing (then nothing changes)."""
    try:
        from fastapi.routing import _apply_router_form_limits, _update_scope
        from fastapi.telemetry._api import _route_selected
        from starlette._utils import get_route_path
    except ImportError:  # pragma: no cover - another FastAPI: its own search
        logger.warning("route index not installed: this FastAPI version lacks the steps it needs")
        return False
    original: Callable = router.middleware_stack
    if original != router.app:  # the router's own middleware around its search: left as it is
        logger.warning("route index not installed: the router has middleware of its own")
        return False
    state: dict = {"index": None, "count": -1}

    def index() -> RouteIndex:
        if state["count"] != len(router.routes):  # routes added after start-up (tests): built again
            state["index"], state["count"] = RouteIndex(router.routes), len(router.routes)
        return state["index"]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await original(scope, receive, send)
            return
        _apply_router_form_limits(scope, router.form_limits)
        if "router" not in scope:
            scope["router"] = router
        routes = index()
        path = get_route_path(scope)
        partial = False
        for route in routes.candidates(path):
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                _update_scope(scope, child_scope)
                _route_selected(scope=scope, path=getattr(route, "path_format", None),
                                mount=isinstance(route, Mount))
                await route.handle(scope, receive, send)
                return
            partial = partial or match == Match.PARTIAL
        if partial or low_priority or _redirects(routes, scope, path):
            await original(scope, receive, send)  # FastAPI's own search answers (405, the redirect, ...)
            return
        await router.default(scope, receive, send)  # no route has this path: the 404, without trying them all

    # routes tried after all others (FastAPI's frontend routes; ansinh has none): then every miss takes FastAPI's search
    low_priority = bool(getattr(router, "_low_priority_routes", None)) or any(
        getattr(route, "effective_low_priority_routes", lambda: [])() for route in router.routes)
    router.middleware_stack = app
    router.route_index = index
    return True


def _redirects(routes: RouteIndex, scope: Scope, path: str) -> bool:
    """Would FastAPI redirect this request to the same path with (or without) a trailing slash: some route has it?"""
    if not scope["router"].redirect_slashes or path == "/":
        return False
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    redirect_scope = {**scope, "path": scope["path"].rstrip("/") if path.endswith("/") else scope["path"] + "/"}
    return any(route.matches(redirect_scope)[0] != Match.NONE for route in routes.candidates(other))
