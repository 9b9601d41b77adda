"""/metrics: Prometheus text format, requests counted by route template, who may read it."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ansinh import background
from ansinh.audit.service import audit_context
from ansinh.cards import service as cards
from ansinh.errors import Conflict

LOOPBACK = ("127.0.0.1", 40000)


@pytest.fixture
def local(app):
    """A client on the loopback address, as a Prometheus on the same machine."""
    with TestClient(app, client=LOOPBACK) as client:
        yield client


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """Every sample, by (name, sorted labels)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_and_timed_by_route_template(local):
    before = scrape(local)
    for person in (101, 102, 103):
        assert local.get(f"/api/v1/people/{person}?citizen_id=001090000001").status_code == 401
    after = scrape(local)
    labels = {"method": "GET", "route": "/api/v1/people/{person_id}", "status": "401"}
    assert value(after, "ansinh_http_requests_total", **labels) - value(before, "ansinh_http_requests_total",
                                                                        **labels) == 3
    assert value(after, "ansinh_http_request_duration_seconds_count", **labels) - value(
        before, "ansinh_http_request_duration_seconds_count", **labels) == 3
    assert value(after, "ansinh_http_request_duration_seconds_bucket", **labels, le="+Inf") >= 3
    # the scrape itself is counted, and no label carries an address asked for or a citizen ID
    assert value(after, "ansinh_http_requests_total", method="GET", route="/metrics", status="200") >= 1
    assert not any("001090000001" in str(key) or "/api/v1/people/101" in str(key) for key in after)
    local.get("/no/such/address")
    assert value(scrape(local), "ansinh_http_requests_total", method="GET", route="<unmatched>", status="404") >= 1


def test_in_progress_and_the_database_pool_are_reported(local):
    samples = scrape(local)
    assert value(samples, "ansinh_http_requests_in_progress") >= 1  # the scrape itself
    for name in ("ansinh_db_pool_size", "ansinh_db_pool_checked_out", "ansinh_db_pool_overflow"):
        assert (name, ()) in samples and samples[(name, ())] >= 0


def test_card_lookups_are_counted_by_result(db, local):
    before = value(scrape(local), "ansinh_card_lookups_total", result="unknown_person")
    with audit_context(channel="api", actor_username="test"), db.unit_of_work() as s:
        for serial in (1, 2):
            answer = cards.lookup(s, None, on=date(2026, 11, 22), citizen_id=f"00109009999{serial}", full_name="Ai")
            assert answer["reason"] == "unknown_person"
    assert value(scrape(local), "ansinh_card_lookups_total", result="unknown_person") - before == 2


def test_batch_runs_are_timed_and_their_failures_counted(db, local):
    before = scrape(local)

    def fail():
        raise Conflict("The run failed.")

    assert background.start(db, key=("ops-test", 1), name="ops-test-1", work=lambda: None, find=lambda: 7,
                            busy=lambda: Conflict("busy")) == 7
    with pytest.raises(Conflict):
        background.start(db, key=("ops-test", 2), name="ops-test-2", work=fail, find=lambda: None,
                         busy=lambda: Conflict("busy"))
    after = scrape(local)
    for outcome in ("succeeded", "failed"):
        name, labels = "ansinh_job_duration_seconds_count", {"job": "ops-test", "outcome": outcome}
        assert value(after, name, **labels) - value(before, name, **labels) == 1
    assert value(after, "ansinh_job_failures_total", job="ops-test") - value(
        before, "ansinh_job_failures_total", job="ops-test") == 1


def test_other_machines_are_refused_without_the_token(app, client, settings):
    # the test client's address is "testclient": not loopback
    refused = client.get("/metrics")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.get("/metrics", headers={"Authorization": "Bearer guessed"}).status_code == 403
    with TestClient(app, client=LOOPBACK) as local:
        # a request through a reverse proxy on this machine comes from loopback, but carries a forwarding header
        assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
        assert local.get("/metrics").status_code == 200


def test_the_metrics_token_lets_another_machine_read_them(db, settings):
    from ansinh.api import create_app

    settings.metrics_token = "m" * 40
    with TestClient(create_app(settings, database=db)) as remote:
        assert remote.get("/metrics").status_code == 403
        assert remote.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40}).status_code == 403
        scrape(remote, Authorization="Bearer " + "m" * 40)


def test_the_system_routes_declare_their_scope(app):
    """/ready and /metrics answer no record data: public (the scope matrix needs no case for a route without a
    record id); /metrics guards itself with the loopback rule and its token."""
    from ansinh.api import all_routes
    from ansinh.auth.deps import declared_scopes
    from ansinh.auth.permissions import Scope

    routes = {route.path: route for route in all_routes(app)}
    for path in ("/ready", "/metrics", "/health"):
        assert declared_scopes(routes[path]) == (Scope.public,)
