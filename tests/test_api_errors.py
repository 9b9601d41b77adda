"""Bad input never gives a 500: unknown routes, malformed JSON, oversized bodies, wrong methods."""

import json

from ansinh.auth.models import Role
from tests.conftest import api_token


def _error(response):
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]


def test_health_reports_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    from ansinh.migrate import head_revision

    assert body["database"]["status"] == "ok" and body["database"]["revision"] == head_revision()
    assert body["database"]["dialect"] in ("sqlite", "postgresql")


def test_unknown_route_is_a_json_404(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404 and _error(response)["code"] == "not_found"
    assert client.get("/no/such/page").status_code == 404


def test_browsers_get_an_html_error_page(client):
    response = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]
    assert "Không tìm thấy" in response.text


def test_wrong_method_is_405(client):
    response = client.put("/health")
    assert response.status_code == 405 and _error(response)["code"] == "method_not_allowed"


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/token", content=b'{"username": "a", ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and _error(response)["code"] == "malformed_json"


def test_missing_fields_are_422_naming_the_field(client):
    response = client.post("/api/v1/auth/token", json={"username": "a"})
    error = _error(response)
    assert response.status_code == 422 and error["code"] == "validation_failed"
    assert error["details"][0]["field"] == "password"


def test_oversized_body_is_413(client, settings):
    big = json.dumps({"username": "a", "password": "x" * (settings.max_body_bytes + 10)})
    response = client.post("/api/v1/auth/token", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and _error(response)["code"] == "payload_too_large"


def test_a_statement_larger_than_an_ordinary_body_is_an_upload_not_a_413(client, settings, org, make_user):
    """A bank statement of a busy day (20,000 lines, over a megabyte) is read under the upload limit."""
    make_user("thu", org.hanoi, Role.provincial_officer)
    line = "2026-11-02,100000,,chuyen tien,TXN-{:07d},113000006100\n"
    content = ("date,amount,payer_account,reference,bank_transaction_id,receiving_account\n"
               + "".join(line.format(i) for i in range(20_000))).encode()
    assert len(content) > settings.max_body_bytes
    response = client.post("/api/v1/payments/statements", headers=api_token(client, "thu"),
                           files={"file": ("busy-day.csv", content, "text/csv")})
    assert response.status_code != 413, response.text
    assert response.status_code in (200, 201, 422), response.text  # read and answered on its merits


def test_oversized_chunked_body_is_413(client, settings):
    def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    response = client.post("/api/v1/auth/token", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and _error(response)["code"] == "payload_too_large"


def test_bad_query_values_are_422(client, org, make_user):
    make_user("admin", org.national, Role.administrator)
    response = client.get("/api/v1/users", params={"limit": "lots"}, headers=api_token(client, "admin"))
    assert response.status_code == 422 and _error(response)["details"][0]["field"] == "query.limit"


def test_security_headers_and_request_id(client):
    response = client.get("/login", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    bad = client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert bad.headers["x-request-id"] != "bad id with spaces"


def test_docs_are_served_without_outside_assets(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "http://" not in response.text and "https://" not in response.text
    assert client.get("/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in spec["paths"] and "/api/v1/audit" in spec["paths"]
