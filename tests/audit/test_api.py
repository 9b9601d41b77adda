from ansinh.auth.models import Role
from tests.conftest import api_token


def test_only_administrators_browse_the_log(client, org, make_user):
    make_user("officer", org.hanoi, Role.provincial_officer)
    assert client.get("/api/v1/audit", headers=api_token(client, "officer")).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_browse_and_filter(client, org, make_user):
    make_user("admin", org.national, Role.administrator)
    target = make_user("son", org.sonla, Role.provincial_officer)
    headers = api_token(client, "admin")
    client.get(f"/api/v1/users/{target.id}", headers=headers)  # an audited read
    reads = client.get("/api/v1/audit", params={"action": "read", "entity_type": "app_user",
                                                "entity_id": str(target.id)}, headers=headers).json()
    assert reads["total"] == 1
    [event] = reads["items"]
    assert (event["actor_username"], event["channel"], event["org_unit_id"]) == ("admin", "api", org.sonla.id)
    assert event["request_id"] and event["ip"] == "testclient"
    logins = client.get("/api/v1/audit", params={"action": "token_issued", "actor": "admin"}, headers=headers).json()
    assert logins["total"] == 1
    paged = client.get("/api/v1/audit", params={"limit": 2}, headers=headers).json()
    assert len(paged["items"]) == 2 and paged["total"] > 2
    assert paged["items"][0]["id"] > paged["items"][1]["id"]  # newest first
    assert client.get("/api/v1/audit", params={"since": "not a date"}, headers=headers).status_code == 422


def test_a_provincial_administrator_sees_only_their_provinces_events(client, org, make_user):
    make_user("hn.admin", org.hanoi, Role.administrator)
    make_user("sl.admin", org.sonla, Role.administrator)
    hanoi = api_token(client, "hn.admin")
    api_token(client, "sl.admin")  # an event in Sơn La
    seen = client.get("/api/v1/audit", params={"limit": 500}, headers=hanoi).json()["items"]
    assert seen, "the Hà Nội administrator sees their own events"
    assert all(e["org_unit_id"] in (org.hanoi.id, org.hanoi_office.id, None) for e in seen)
    assert not any(e["actor_username"] == "sl.admin" for e in seen)
