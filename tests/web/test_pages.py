import io
import re
from datetime import timedelta

import polars as pl

from sqlalchemy import func, select, update

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role, User, UserSession
from ansinh.db import utcnow
from tests.conftest import PASSWORD, web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True


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
    bad = client.get("/admin/audit", params={"since": "31/13/2025"})
    assert bad.status_code == 422 and "31/13/2025" in bad.text.split('data-testid="error-since"', 1)[1][:200]


# --- administration ----------------------------------------------------------------------------

def _csrf(text: str) -> str:
    return text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _xlsx(response) -> pl.DataFrame:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    return pl.read_excel(io.BytesIO(response.content))


def _visible(html: str) -> str:
    """The text a reader sees: no tags, no attributes."""
    return re.sub(r"<[^>]+>", " ", html)


def test_users_list_filters_sorts_totals_and_exports_the_filtered_rows(client, org, make_user, db):
    make_user("hn.admin", org.hanoi, Role.administrator, full_name="Quản Trị Hà Nội")
    make_user("an.officer", org.hanoi, Role.provincial_officer, full_name="Nguyễn Văn An")
    make_user("binh.clerk", org.hanoi_office, Role.district_officer, full_name="Trần Thị Bình")
    gone = make_user("cuong.clerk", org.hanoi_office, Role.district_officer, full_name="Lê Văn Cường")
    make_user("sl.officer", org.sonla, Role.provincial_officer)
    with db.unit_of_work() as s:
        s.get(User, gone.id).is_active = False
    web_login(client, "hn.admin")
    page = client.get("/admin/users")
    assert page.status_code == 200 and "sl.officer" not in page.text
    assert 'data-testid="list-total"' in page.text and "4" in page.text.split('data-testid="list-total"', 1)[1][:80]
    office = client.get("/admin/users", params={"org_unit": org.hanoi_office.id}).text
    assert 'data-user="binh.clerk"' in office and 'data-user="an.officer"' not in office
    clerks = client.get("/admin/users", params={"role": "district_officer", "status": "active"}).text
    assert 'data-user="binh.clerk"' in clerks and 'data-user="cuong.clerk"' not in clerks
    assert 'data-user="binh.clerk"' in client.get("/admin/users", params={"q": "bình"}).text \
        or 'data-user="binh.clerk"' in client.get("/admin/users", params={"q": "binh"}).text
    by_name = client.get("/admin/users", params={"sort": "name", "dir": "desc"}).text
    order = re.findall(r'data-user="([^"]+)"', by_name)
    assert order == ["binh.clerk", "hn.admin", "an.officer", "cuong.clerk"]
    # the unit filter shows names, never an outside unit
    assert "Bảo hiểm xã hội cơ sở Ba Đình" in page.text and "Sơn La" not in page.text
    sheet = _xlsx(client.get("/admin/users/export.xlsx", params={"role": "district_officer", "sort": "name"}))
    assert sheet.height == 2 and sheet.to_dicts()[0]["Tên đăng nhập"] == "cuong.clerk"
    assert set(sheet.get_column("Tên đăng nhập")) == {"binh.clerk", "cuong.clerk"}


def test_an_administrator_creates_a_user_and_the_form_names_what_is_wrong(client, org, make_user, db):
    make_user("hn.admin", org.hanoi, Role.administrator)
    web_login(client, "hn.admin")
    form = client.get("/admin/users/new")
    assert form.status_code == 200 and "Bảo hiểm xã hội tỉnh Sơn La" not in form.text
    assert 'value="national_officer"' not in form.text  # a provincial administrator gives no national role
    data = {"csrf_token": _csrf(form.text), "username": "moi.canbo", "full_name": "Phạm Văn Mới",
            "email": "moi@example.vn", "org_unit": str(org.hanoi_office.id), "roles": ["district_officer"],
            "password": "password1234"}
    weak = client.post("/admin/users", data=data)
    assert weak.status_code == 422
    assert weak.text.split('data-testid="error-password"', 1)[1].split("</small>", 1)[0].strip(" >") != ""
    assert 'value="Phạm Văn Mới"' in weak.text and 'value="district_officer" checked' in weak.text
    wrong_level = client.post("/admin/users", data={**data, "password": "violet harbour lantern seventeen",
                                                     "roles": ["provincial_officer"]})
    assert wrong_level.status_code == 422
    assert wrong_level.text.split('data-testid="error-roles"', 1)[1].split("</small>", 1)[0].strip(" >") != ""
    outside = client.post("/admin/users", data={**data, "password": "violet harbour lantern seventeen",
                                                "org_unit": str(org.sonla.id)})
    assert outside.status_code == 422 and 'data-testid="error-org-unit">' in outside.text
    created = client.post("/admin/users", data={**data, "password": "violet harbour lantern seventeen"},
                          follow_redirects=False)
    assert created.status_code == 303
    with db.unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == "moi.canbo"))
        assert user.org_unit_id == org.hanoi_office.id and user.role_enums == [Role.district_officer]
    assert created.headers["location"] == f"/admin/users/{user.id}?done=created"
    shown = client.get(created.headers["location"])
    assert 'data-testid="user-notice"' in shown.text and "Phạm Văn Mới" in shown.text


def test_the_user_page_changes_roles_deactivates_and_resets_the_password(client, org, make_user, db):
    admin = make_user("hn.admin", org.hanoi, Role.administrator)
    clerk = make_user("clerk", org.hanoi_office, Role.district_officer)
    web_login(client, "hn.admin")
    page = client.get(f"/admin/users/{clerk.id}")
    assert page.status_code == 200
    assert 'data-testid="deactivate-form"' in page.text and "data-confirm=" in page.text
    csrf = _csrf(page.text)
    roles = client.post(f"/admin/users/{clerk.id}/roles", data={"csrf_token": csrf,
                                                                 "roles": ["district_officer", "supervisor"]},
                        follow_redirects=False)
    assert roles.status_code == 303 and roles.headers["location"].endswith("?done=roles")
    bad = client.post(f"/admin/users/{clerk.id}/roles", data={"csrf_token": csrf, "roles": ["employer"]})
    assert bad.status_code == 422 and 'data-testid="error-subject-ref">' in bad.text
    assert client.post(f"/admin/users/{clerk.id}/roles", data={"csrf_token": "forged", "roles": ["supervisor"]}
                       ).status_code == 403
    with db.unit_of_work() as s:
        assert s.get(User, clerk.id).role_enums == [Role.district_officer, Role.supervisor]
    assert client.post(f"/admin/users/{clerk.id}/deactivation", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    with db.unit_of_work() as s:
        assert s.get(User, clerk.id).is_active is False
    assert 'data-testid="reactivate-form"' in client.get(f"/admin/users/{clerk.id}").text
    assert client.post(f"/admin/users/{clerk.id}/reactivation", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    generated = client.post(f"/admin/users/{clerk.id}/password", data={"csrf_token": csrf, "generate": "1"})
    assert generated.status_code == 200 and generated.headers["cache-control"] == "no-store"
    password = generated.text.split('data-testid="temporary-password"', 1)[1].split("<code>", 1)[1].split("<", 1)[0]
    assert len(password) >= 12
    assert client.get(f"/admin/users/{clerk.id}").text.count(password) == 0  # shown once
    empty = client.post(f"/admin/users/{clerk.id}/password", data={"csrf_token": csrf})
    assert empty.status_code == 422 and 'data-testid="error-password">' in empty.text
    other = client.__class__(client.app, base_url="http://testserver")
    assert web_login(other, "clerk", password=password).status_code == 303
    # one's own page has no forms that change it
    mine = client.get(f"/admin/users/{admin.id}").text
    assert 'data-testid="roles-form"' not in mine and 'data-testid="deactivate-form"' not in mine
    assert client.post(f"/admin/users/{admin.id}/deactivation", data={"csrf_token": csrf}).status_code == 403


def test_administrators_of_another_province_cannot_see_or_change_a_user(client, org, make_user, db):
    make_user("sl.admin", org.sonla, Role.administrator)
    clerk = make_user("clerk", org.hanoi_office, Role.district_officer)
    web_login(client, "sl.admin")
    csrf = _csrf(client.get("/admin/users").text)
    assert client.get(f"/admin/users/{clerk.id}").status_code == 403
    for action, data in (("roles", {"roles": ["supervisor"]}), ("deactivation", {}), ("password", {"generate": "1"})):
        assert client.post(f"/admin/users/{clerk.id}/{action}", data={"csrf_token": csrf, **data}).status_code == 403
    with db.unit_of_work() as s:
        user = s.get(User, clerk.id)
        assert user.is_active and user.role_enums == [Role.district_officer]
        assert user.password_changed_at == clerk.password_changed_at or user.password_hash == clerk.password_hash


def test_org_units_show_place_names_and_open_a_local_office(client, org, make_user, db):
    from ansinh.registry.places import load_places

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        load_places(s)
    make_user("hn.admin", org.hanoi, Role.administrator)
    web_login(client, "hn.admin")
    page = client.get("/admin/org-units")
    assert "Thành phố Hà Nội" in page.text and "Phường Ba Đình" in page.text
    assert ">00004<" not in page.text and 'data-testid="new-org-unit"' in page.text
    csrf = _csrf(page.text)
    form = {"csrf_token": csrf, "parent": str(org.hanoi.id), "code": "BHXH-01-09", "name": "Bảo hiểm xã hội cơ sở Hoàn Kiếm",
            "place": "Không Có Phường Này"}
    missing = client.post("/admin/org-units", data=form)
    assert missing.status_code == 422 and 'value="Bảo hiểm xã hội cơ sở Hoàn Kiếm"' in missing.text
    assert missing.text.split('data-testid="error-place">', 1)[1].split("</small>", 1)[0].strip() != ""
    outside = client.post("/admin/org-units", data={**form, "parent": str(org.sonla.id), "place": "Hoàn Kiếm"})
    assert outside.status_code == 403
    created = client.post("/admin/org-units", data={**form, "place": "Phường Hoàn Kiếm"}, follow_redirects=False)
    assert created.status_code == 303, created.text
    with db.unit_of_work() as s:
        unit = s.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01-09"))
        assert unit.parent_id == org.hanoi.id and unit.path.startswith(org.hanoi.path)
        assert unit.level.value == "district"
    shown = client.get(created.headers["location"]).text
    assert 'data-testid="org-unit-notice"' in shown and "Phường Hoàn Kiếm" in shown
    make_user("officer", org.hanoi, Role.provincial_officer)
    client.cookies.clear()
    web_login(client, "officer")
    assert 'data-testid="new-org-unit"' not in client.get("/admin/org-units").text
    assert client.post("/admin/org-units", data={**form, "csrf_token": _csrf(client.get("/").text),
                                                 "code": "BHXH-01-10"}).status_code == 403


def test_the_audit_log_names_records_sorts_filters_by_unit_and_exports(client, org, make_user, db):
    from ansinh.registry import service as registry
    from ansinh.registry.models import Sex

    make_user("vn.admin", org.national, Role.administrator)
    clerk = make_user("clerk", org.hanoi_office, Role.district_officer, full_name="Trần Thị Bình")
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        from datetime import date

        person = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 17), sex=Sex.male, citizen_id="001090000001"),
            s.get(OrgUnit, org.hanoi.id))
        person_id = person.id
        registry.create_person(s, registry.PersonData(
            full_name="Lò Văn Sơn", date_of_birth=date(1980, 1, 2), sex=Sex.male, citizen_id="014080000002"),
            s.get(OrgUnit, org.sonla.id))
    web_login(client, "vn.admin")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    visible = _visible(page.text)
    assert not re.search(r"\b(person|app_user|org_unit|user_role)#", visible)
    assert "Nguyễn Văn An · 001090000001" in visible and f'href="/registry/people/{person_id}"' in page.text
    assert "clerk (Trần Thị Bình)" in visible and f'href="/admin/users/{clerk.id}"' in page.text
    newest = re.findall(r'data-action="([^"]+)"', page.text)
    oldest = re.findall(r'data-action="([^"]+)"', client.get("/admin/audit", params={"sort": "time",
                                                                                     "dir": "asc"}).text)
    assert newest and oldest and newest[0] != oldest[0] or len(newest) == 1
    hanoi = client.get("/admin/audit", params={"org_unit": org.hanoi.id, "entity_type": "person"}).text
    assert "Nguyễn Văn An" in hanoi and "Lò Văn Sơn" not in hanoi
    about = client.get("/admin/audit", params={"entity_type": "app_user", "entity_id": clerk.id}).text
    assert 'data-testid="audit-about"' in about and "clerk (Trần Thị Bình)" in about
    sheet = _xlsx(client.get("/admin/audit/export.xlsx", params={"org_unit": org.hanoi.id, "entity_type": "person"}))
    assert sheet.height >= 1 and set(sheet.get_column("Bản ghi")) == {"Nguyễn Văn An · 001090000001"}
    with db.unit_of_work() as s:
        total = s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.entity_type == "person",
                                                                 AuditEvent.org_unit_id == org.hanoi.id))
    assert sheet.height == total
    client.get("/lang/en")
    english = client.get("/admin/audit").text
    assert "Time (UTC)" not in english and "Nguyễn Văn An · 001090000001" in english


def test_refusals_say_what_the_user_cannot_do_in_their_language(client, org, make_user):
    make_user("citizen", org.hanoi, Role.citizen, subject_ref="001099012345")
    web_login(client, "citizen")
    page = client.get("/admin/audit", headers={"Accept": "text/html"})
    assert page.status_code == 403
    assert "audit.read" not in page.text and "nhật ký" in page.text.lower()
    assert 'data-testid="error-home"' in page.text
    api = client.get("/api/v1/audit").json()["error"]["message"]
    assert "audit.read" not in api and "nhật ký" in api.lower()
    client.get("/lang/en")
    english = client.get("/registry/people", headers={"Accept": "text/html"})
    assert english.status_code == 403 and "registry.read" not in english.text
    assert "read the registry of people" in english.text and "Access refused" in english.text


def test_dashboard_tiles_have_distinct_labels_in_both_languages(client, org, make_user):
    from ansinh.i18n import gettext, use_locale
    from ansinh.web.navigation import _TILES

    for locale in ("vi", "en"):
        with use_locale(locale):
            labels = [gettext(t.label) for t in _TILES.values()]
        assert len(labels) == len(set(labels)), (locale, labels)
    make_user("vn.admin", org.national, Role.administrator)
    web_login(client, "vn.admin")
    home = client.get("/").text
    chart = home.split('id="activity-data">', 1)[1].split("</script>", 1)[0]
    assert re.search(r'"labels": \["\d\d/\d\d"', chart)
    client.get("/lang/en")
    english = client.get("/").text.split('id="activity-data">', 1)[1].split("</script>", 1)[0]
    assert re.search(r'"labels": \["\d{1,2} [A-Z][a-z]{2}"', english)
