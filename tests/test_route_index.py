"""The index of the routes (``ansinh.route_index``): for every route of the application, a path it answers finds, among
the index's candidates, the route FastAPI's own search finds; and what FastAPI answers when no route matches in
full (405, the trailing-slash redirect, 404, the static files) is answered the same with the index as without."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Match

from ansinh import route_index
from ansinh.api import create_app
from ansinh.config import Settings

pytestmark = pytest.mark.one_database


def _example(template: str) -> str:
    """A path of the template: each parameter given a value its convertor takes."""
    return re.sub(r"\{[^}:]+(:[^}]+)?\}", lambda m: "a/b.txt" if m.group(1) == ":path" else "7", template)


def _scope(path: str, method: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


def _first_full(routes, scope) -> object | None:
    for route in routes:
        if route.matches(dict(scope))[0] == Match.FULL:
            return route
    return None


@pytest.fixture(scope="module")
def application(tmp_path_factory):
    return create_app(Settings(env="test", var_dir=tmp_path_factory.mktemp("var"), secret_key="t" * 48,
                               database_url="sqlite://"))


def test_every_route_is_found_among_the_candidates_of_its_path(application):
    router = application.router
    index = router.route_index()
    checked = 0
    for route in router.routes:
        for template in route_index._paths(route) or []:
            path = _example(template)
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                scope = _scope(path, method)
                searched = _first_full(router.routes, scope)  # FastAPI's order, every route tried
                indexed = _first_full(index.candidates(path), scope)
                assert indexed is searched, (template, method)
                checked += 1
    assert checked > 2000  # ~500 routes × 5 methods


def test_the_candidates_of_a_page_are_few(application):
    index = application.router.route_index()
    assert len(application.router.routes) > 50
    assert len(index.candidates("/jobs")) <= 3
    assert len(index.candidates("/api/v1/cards/lookup")) <= 3
    assert index.candidates("/nothing/here/at/all") == ()


@pytest.mark.parametrize("method, path", [
    ("GET", "/nothing/here"),  # no route: 404
    ("GET", "/api/v1/nothing"),  # the API's 404 (JSON)
    ("DELETE", "/health"),  # a route of another method: 405
    ("GET", "/jobs/"),  # a route without the slash: redirected
    ("GET", "/static/app.css"),  # the static files
    ("GET", "/static/nothing.css"),  # not a static file: 404
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/"),
])
def test_what_no_route_answers_in_full_is_answered_as_without_the_index(application, tmp_path, method, path):
    plain = create_app(Settings(env="test", var_dir=tmp_path / "var", secret_key="t" * 48, database_url="sqlite://"))
    plain.router.middleware_stack = plain.router.app  # FastAPI's own search
    with TestClient(application) as indexed_client, TestClient(plain) as plain_client:
        indexed = indexed_client.request(method, path, follow_redirects=False)
        searched = plain_client.request(method, path, follow_redirects=False)
    assert indexed.status_code == searched.status_code, (indexed.text[:300], searched.text[:300])
    assert indexed.headers.get("location") == searched.headers.get("location")
    assert indexed.headers.get("allow") == searched.headers.get("allow")
    if indexed.headers.get("content-type", "").startswith("application/json") and path != "/api/v1/openapi.json":
        strip = lambda body: {k: v for k, v in body.get("error", body).items() if k != "request_id"}  # noqa: E731
        assert strip(indexed.json()) == strip(searched.json())
