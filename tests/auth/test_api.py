from ansinh.auth.models import Role
from tests.conftest import PASSWORD, api_token, web_login


def test_me_requires_credentials(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthenticated"


def test_me_with_a_bearer_token(client, org, make_user):
    make_user("an", org.hanoi, Role.provincial_officer, full_name="Nguyễn Văn An")
    response = client.get("/api/v1/me", headers=api_token(client, "an"))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "an"
    assert body["user"]["full_name"] == "Nguyễn Văn An"
    assert body["user"]["roles"] == ["provincial_officer"]
    assert body["org_unit"] == {"id": org.hanoi.id, "code": "BHXH-01", "name": "Bảo hiểm xã hội Thành phố Hà Nội",
                                "level": "province", "place_code": "01", "parent_id": org.national.id}
    assert "users.read" in body["permissions"] and "audit.read" not in body["permissions"]
    assert "password_hash" not in response.text


def test_me_with_the_session_cookie(client, org, make_user):
    make_user("binh", org.sonla, Role.provincial_officer)
    assert web_login(client, "binh").status_code == 303
    assert client.get("/api/v1/me").json()["org_unit"]["code"] == "BHXH-14"


def test_bad_token_and_bad_password(client, org, make_user):
    make_user("chi", org.hanoi, Role.provincial_officer)
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    wrong = client.post("/api/v1/auth/token", json={"username": "chi", "password": "wrong password"})
    unknown = client.post("/api/v1/auth/token", json={"username": "ghost", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_repeated_failures_get_429_with_retry_after(client, org, make_user):
    make_user("dung", org.hanoi, Role.provincial_officer)
    for _ in range(3):  # the test settings allow 3 failures
        assert client.post("/api/v1/auth/token", json={"username": "dung", "password": "bad"}).status_code == 401
    response = client.post("/api/v1/auth/token", json={"username": "dung", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["error"]["code"] == "too_many_attempts"


def test_revoked_token_stops_working(client, org, make_user):
    make_user("em", org.hanoi, Role.provincial_officer)
    headers = api_token(client, "em")
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_provincial_officer_gets_403_for_another_province(client, org, make_user):
    make_user("giang", org.hanoi, Role.provincial_officer)
    headers = api_token(client, "giang")
    assert client.get(f"/api/v1/org-units/{org.hanoi.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/org-units/{org.hanoi_office.id}", headers=headers).status_code == 200
    other = client.get(f"/api/v1/org-units/{org.sonla.id}", headers=headers)
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "forbidden"
    assert client.get(f"/api/v1/org-units/{org.sonla.id}/users", headers=headers).status_code == 403
    assert client.get(f"/api/v1/org-units/{org.national.id}", headers=headers).status_code == 403
    assert client.get("/api/v1/org-units/999999", headers=headers).status_code == 404


def test_lists_are_scoped_to_the_callers_subtree(client, org, make_user):
    make_user("hoa", org.hanoi, Role.provincial_officer)
    make_user("hai", org.hanoi_office, Role.district_officer)
    sonla_user = make_user("son", org.sonla, Role.provincial_officer)
    headers = api_token(client, "hoa")
    codes = [u["code"] for u in client.get("/api/v1/org-units", headers=headers).json()]
    assert codes == ["BHXH-01", "BHXH-01-01"]
    users = client.get("/api/v1/users", headers=headers).json()
    assert {u["username"] for u in users["items"]} == {"hoa", "hai"} and users["total"] == 2
    assert client.get(f"/api/v1/users/{sonla_user.id}", headers=headers).status_code == 403
    # The district officer sees only their office.
    district = api_token(client, "hai")
    assert [u["code"] for u in client.get("/api/v1/org-units", headers=district).json()] == ["BHXH-01-01"]
    assert client.get(f"/api/v1/org-units/{org.hanoi.id}", headers=district).status_code == 403


def test_only_administrators_create_users_and_only_in_their_scope(client, org, make_user):
    make_user("officer", org.hanoi, Role.provincial_officer)
    make_user("hn.admin", org.hanoi, Role.administrator)
    new = {"username": "new.user", "password": PASSWORD, "full_name": "Lê Thị Mới", "org_unit_code": "BHXH-01-01",
           "roles": ["district_officer"]}
    assert client.post("/api/v1/users", json=new, headers=api_token(client, "officer")).status_code == 403
    admin = api_token(client, "hn.admin")
    created = client.post("/api/v1/users", json=new, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["org_unit_id"] == org.hanoi_office.id
    elsewhere = client.post("/api/v1/users", json={**new, "username": "x.y", "org_unit_code": "BHXH-14",
                                                   "roles": ["provincial_officer"]}, headers=admin)
    assert elsewhere.status_code == 403
    duplicate = client.post("/api/v1/users", json=new, headers=admin)
    assert duplicate.status_code == 422 and duplicate.json()["error"]["field"] == "username"
    short = client.post("/api/v1/users", json={**new, "username": "z", "password": "short"}, headers=admin)
    assert short.status_code == 422 and short.json()["error"]["field"] == "password"


def test_cookie_authenticated_api_writes_need_the_csrf_header(client, org, make_user):
    make_user("kim", org.hanoi, Role.administrator)
    web_login(client, "kim")
    body = {"username": "via.cookie", "password": PASSWORD, "full_name": "X", "org_unit_code": "BHXH-01",
            "roles": ["provincial_officer"]}
    refused = client.post("/api/v1/users", json=body)
    assert refused.status_code == 403
    page = client.get("/").text
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_error_messages_follow_the_language(client, org):
    vi = client.get("/api/v1/me", headers={"Accept-Language": "vi"}).json()["error"]["message"]
    en = client.get("/api/v1/me", headers={"Accept-Language": "en-US,en;q=0.9"}).json()["error"]["message"]
    assert vi == "Vui lòng đăng nhập." and en == "Please sign in."


def test_a_token_seen_recently_is_not_read_again_and_its_calls_keep_their_actor(client, db, org, make_user):
    """The token cache (auth.service.TOKEN_CACHE_SECONDS): the second call is served from it, and what it
    audits is still done by the token's user; a revoked token stops at once in this process."""
    from sqlalchemy import select

    from ansinh.audit.models import AuditEvent

    make_user("an", org.hanoi, Role.provincial_officer)
    headers = api_token(client, "an")
    for _ in range(3):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    with db.unit_of_work() as s:
        actors = s.scalars(select(AuditEvent.actor_username).where(AuditEvent.action == "read")).all()
    assert len(actors) == 3 and set(actors) == {"an"}
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
