from datetime import timedelta

from sqlalchemy import select, update

from ansinh.auth.models import Role, User, UserSession
from ansinh.db import utcnow
from tests.conftest import PASSWORD, web_login


def test_pages_need_sign_in_and_remember_where_you_were_going(client):
    response = client.get("/admin/users", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fadmin%2Fusers"


def test_login_page_is_vietnamese_by_default(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text and "Đăng nhập" in page.text and "Mật khẩu" in page.text


def test_sign_in_shows_the_dashboard(client, org, make_user):
    make_user("an", org.hanoi, Role.administrator, full_name="Nguyễn Văn An")
    response = web_login(client, "an", next_url="/admin/users")
    assert response.status_code == 303 and response.headers["location"] == "/admin/users"
    cookie = response.headers["set-cookie"]
    assert "ansinh_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = client.get("/")
    assert "Bảng điều khiển" in home.text and "Nguyễn Văn An" in home.text
    assert 'data-tile="users"' in home.text and 'id="activity-data"' in home.text
    assert "Nhật ký hệ thống" in home.text  # administrators see the audit log in the menu


def test_wrong_password_shows_one_message(client, org, make_user):
    make_user("binh", org.hanoi, Role.provincial_officer)
    wrong = web_login(client, "binh", password="not the password")
    unknown = web_login(client, "nobody", password="not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in wrong.text and "Sai tên đăng nhập hoặc mật khẩu." in unknown.text
    assert "ansinh_session" not in client.cookies


def test_repeated_failures_on_the_form_are_slowed_down(client, org, make_user):
    make_user("chi", org.hanoi, Role.provincial_officer)
    for _ in range(3):
        assert web_login(client, "chi", password="bad").status_code == 401
    throttled = web_login(client, "chi")
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert "Đăng nhập sai quá nhiều lần" in throttled.text


def test_login_form_without_its_csrf_cookie_is_refused(client, org, make_user):
    make_user("dung", org.hanoi, Role.provincial_officer)
    response = client.post("/login", data={"username": "dung", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400 and "ansinh_session" not in client.cookies


def test_redirects_after_sign_in_stay_on_this_site(client, org, make_user):
    make_user("em", org.hanoi, Role.provincial_officer)
    assert web_login(client, "em", next_url="https://evil.example/").headers["location"] == "/"
    client.cookies.clear()
    assert web_login(client, "em", next_url="//evil.example/").headers["location"] == "/"


def test_switching_language_is_remembered(client, db, org, make_user):
    user = make_user("giang", org.hanoi, Role.provincial_officer)
    web_login(client, "giang")
    response = client.get("/lang/en?next=/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = client.get("/")
    assert '<html lang="en">' in home.text and "Dashboard" in home.text and "Sign out" in home.text
    with db.unit_of_work() as s:
        assert s.get(User, user.id).locale == "en"


def test_expired_session_sends_you_to_sign_in_with_a_message(client, db, org, make_user):
    make_user("ha", org.hanoi, Role.provincial_officer)
    web_login(client, "ha")
    assert client.get("/").status_code == 200
    with db.unit_of_work() as s:
        s.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=2)))
    response = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2F&expired=1"
    page = client.get(response.headers["location"])
    assert "Phiên làm việc đã hết hạn" in page.text
    assert client.get("/api/v1/me").json()["error"]["message"] == "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."


def test_sign_out_ends_the_session(client, db, org, make_user):
    make_user("hung", org.hanoi, Role.provincial_officer)
    web_login(client, "hung")
    page = client.get("/").text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me").status_code == 401
    with db.unit_of_work() as s:
        assert s.scalar(select(UserSession.revoked_at)) is not None


def test_menu_follows_permissions(client, org, make_user):
    make_user("citizen", org.hanoi, Role.citizen, subject_ref="001099012345")
    web_login(client, "citizen")
    home = client.get("/")
    assert home.status_code == 200
    assert 'data-nav="audit"' not in home.text and 'data-nav="users"' not in home.text
    assert client.get("/admin/audit", headers={"Accept": "text/html"}).status_code == 403


def test_admin_pages_list_what_is_in_scope(client, org, make_user):
    make_user("hn.admin", org.hanoi, Role.administrator)
    make_user("sl.officer", org.sonla, Role.provincial_officer)
    web_login(client, "hn.admin")
    users = client.get("/admin/users").text
    assert "hn.admin" in users and "sl.officer" not in users
    units = client.get("/admin/org-units").text
    assert "BHXH-01-01" in units and "BHXH-14" not in units
    audit = client.get("/admin/audit", params={"action": "login"}).text
    assert 'data-action="login"' in audit and 'data-action="create"' not in audit
    bad = client.get("/admin/audit", params={"since": "31/12/2025"}).text
    assert "không phải ngày hợp lệ" in bad
