"""Fuzzing the API against its own OpenAPI document (schemathesis): whatever a caller sends that the document
allows — and much that it does not: huge numbers, odd dates, long and strange text — the answer is never a server
error (5xx), for an administrator on SQLite and PostgreSQL, and for a provincial officer (the same routes, answered
mostly with refusals and empty lists) on SQLite.

Each operation gets ``ANSINH_FUZZ_EXAMPLES`` examples on PostgreSQL (default 25, derandomised so that CI is
repeatable; set ``ANSINH_FUZZ_SEED`` to explore other examples) and a third of them on SQLite, whose columns take
what PostgreSQL's refuse (a longer text, a larger number): the server errors of a type's limits show on PostgreSQL. Every operation is tried and every failure is listed at the end, with
the request that caused it.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from ansinh.auth.models import Role
from tests.conftest import api_token

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = int(os.environ.get("ANSINH_FUZZ_EXAMPLES", "25"))
SEED = os.environ.get("ANSINH_FUZZ_SEED")
#: Operations that cannot be fuzzed meaningfully here: signing out the fuzzer's own token.
SKIPPED = {("DELETE", "/api/v1/auth/token")}


def _fuzz(app, headers: dict[str, str], examples: int) -> tuple[list[str], Counter]:
    """Fuzz every operation; (the failures, the answers counted by operation and status class)."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    answers: Counter = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        seen: list[str] = []

        @settings(max_examples=examples, deadline=None, database=None, derandomize=SEED is None,
                  suppress_health_check=list(HealthCheck), phases=(Phase.explicit, Phase.generate))
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = case.call(headers={**(case.headers or {}), **headers})
            answers[(operation.method.upper(), operation.path, response.status_code // 100)] += 1
            if response.status_code >= 500:
                seen.append(f"{case.method} {case.formatted_path} query={case.query} body={case.body!r:.300} "
                            f"→ {response.status_code} {response.text[:200]}")

        try:
            run()
        except Exception as error:  # noqa: BLE001 - a failure of the harness for this operation is reported too
            seen.append(f"{operation.method.upper()} {operation.path}: {type(error).__name__}: {error}"[:500])
        if seen:
            failures.append(f"{operation.method.upper()} {operation.path}: {len(seen)} server error(s), e.g. "
                            f"{seen[0]}")
    return failures, answers


@pytest.mark.parametrize("role", ["administrator", pytest.param("provincial_officer", marks=pytest.mark.one_database)])
def test_no_request_the_api_document_allows_gets_a_server_error(client, app, db, org, make_user, role):
    unit = org.national if role == "administrator" else org.hanoi
    make_user("fuzzer", unit, Role(role))
    examples = EXAMPLES if db.engine.dialect.name == "postgresql" else max(1, EXAMPLES // 3)
    failures, answers = _fuzz(app, api_token(client, "fuzzer"), examples)
    if os.environ.get("ANSINH_FUZZ_STATS"):
        print(sorted(answers.items()))
    assert failures == [], "\n".join(failures)
    operations = {(method, path) for method, path, _ in answers}
    assert len(operations) > 80  # every operation was called
    # and not only refused: many operations answered a success for some example (random ids rarely exist), among
    # those open to agency staff (an employer's, citizen's or facility's own records refuse the fuzzer by design)
    staff = operations - _outside_party_only(app)
    succeeded = {(method, path) for method, path, kind in answers if kind == 2}
    assert len(succeeded) > len(staff) // 3, sorted(staff - succeeded)


def _outside_party_only(app) -> set[tuple[str, str]]:
    """The operations only an outside party (employer, citizen, facility) may use on its own records."""
    from ansinh.api import all_routes
    from ansinh.auth.deps import declared_scopes
    from ansinh.auth.permissions import Scope

    own = {Scope.own_employer, Scope.own_person, Scope.own_facility}
    return {(method, route.path) for route in all_routes(app) for method in route.methods
            if (scopes := set(declared_scopes(route))) and scopes <= own}
