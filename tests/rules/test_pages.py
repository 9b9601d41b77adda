from ansinh.auth.models import Role
from tests.conftest import web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True


def test_the_parameters_page_lists_history_references_and_status(client, org, make_user):
    make_user("an", org.hanoi, Role.provincial_officer)
    assert client.get("/rules", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303
    web_login(client, "an")
    page = client.get("/rules").text
    assert 'data-parameter="salary.base_salary"' in page
    assert "Decree 161/2026/NĐ-CP Art 3(2)" in page
    assert "2.530.000" in page and "2,530,000" not in page  # figures the Vietnamese way
    assert "<code>hi</code>: 0,0586 (5,86%)" in page  # a ratio, by key
    assert "Mức lương cơ sở" in page  # the Vietnamese description
    assert "chưa xác nhận" in page
    only = client.get("/rules", params={"unverified": "true"}).text
    assert 'data-parameter="salary.base_salary"' in only  # it has unconfirmed entries
    client.get("/lang/en")
    english = client.get("/rules").text
    assert "Legal parameters" in english and "Base salary (lương cơ sở)" in english
    assert "2,530,000" in english and "2.530.000" not in english
