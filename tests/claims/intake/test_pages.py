"""The claim files pages, in both languages: the list with its upload form, sending a file (then its report), the
report of a refused file with its problems, and who sees what."""

from __future__ import annotations

import re

import pytest

from ansinh.auth.models import Role
from ansinh.synth.claims import Faults, claim_file
from tests.claims.intake.conftest import HANOI, ON, SONLA
from tests.conftest import web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

HTML = {"Accept": "text/html"}


def signed_in(client, make_user, org, username: str, role: Role, unit=None, subject_ref=None, lang="vi"):
    make_user(username, unit or org.hanoi, role, subject_ref=subject_ref)
    assert web_login(client, username).status_code == 303
    client.get(f"/lang/{lang}")
    return client


def send(client, data: bytes, name: str = "hoso-thang-11.xml", **form):
    page = client.get("/claims/files", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/claims/files", headers=HTML, data={"csrf_token": token, **form},
                       files={"file": (name, data, "application/xml")}, follow_redirects=False)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_facility_sends_a_file_and_reads_its_report(client, db, org, make_user, intake_world, lang):
    signed_in(client, make_user, org, "bv.hadong", Role.facility, subject_ref=HANOI, lang=lang)
    empty = client.get("/claims/files", headers=HTML)
    assert empty.status_code == 200
    assert ("Chưa nhận tệp hồ sơ XML nào." if lang == "vi" else "No claim file has been received.") in empty.text
    assert 'data-testid="own-facility">01001<' in empty.text and 'name="facility_code"' not in empty.text
    sent = send(client, claim_file(HANOI, intake_world.episodes(3), seed=1, on=ON))
    assert sent.status_code == 303 and "notice=accepted" in sent.headers["location"]
    report = client.get(sent.headers["location"], headers=HTML)
    assert report.status_code == 200
    assert 'data-status="accepted"' in report.text and 'data-figure="claims">3<' in report.text
    assert ("Đã tiếp nhận" if lang == "vi" else "Accepted") in report.text
    listed = client.get("/claims/files", headers=HTML)
    assert "hoso-thang-11.xml" in listed.text and 'data-status="accepted"' in listed.text
    again = send(client, claim_file(HANOI, intake_world.episodes(3), seed=1, on=ON))
    assert "notice=again" in again.headers["location"]


def test_the_report_of_a_refused_file_lists_its_problems_in_vietnamese(client, db, org, make_user, intake_world):
    signed_in(client, make_user, org, "bv.hadong", Role.facility, subject_ref=HANOI)
    bad = claim_file(HANOI, 4, seed=2, on=ON, faults=Faults(wrong_total={1}, values={(2, "NGAY_VAO"): "hôm qua"}))
    sent = send(client, bad)
    assert "notice=refused" in sent.headers["location"]
    report = client.get(sent.headers["location"], headers=HTML)
    assert report.status_code == 200 and 'data-status="refused"' in report.text
    assert "Không phải ngày giờ dạng yyyyMMddHHmm." in report.text
    assert "nhưng tổng THANH_TIEN_BV của các dòng là" in report.text
    assert re.search(r"T_TONGCHI_BV là \d{1,3}(\.\d{3})+", report.text)  # a Vietnamese amount: 1.234.567
    assert "<code>hôm qua</code>" in report.text


def test_staff_send_for_their_facilities_and_see_their_provinces_files(client, db, org, make_user, intake_world):
    signed_in(client, make_user, org, "hn.canbo", Role.provincial_officer, lang="en")
    page = client.get("/claims/files", headers=HTML)
    assert 'name="facility_code"' in page.text
    wrong = send(client, claim_file(HANOI, 1, seed=3, on=ON), facility_code="12")
    assert wrong.status_code == 422 and "A facility code is 5 digits." in wrong.text
    sent = send(client, claim_file(HANOI, 1, seed=3, on=ON), facility_code=HANOI)
    assert sent.status_code == 303
    file_id = sent.headers["location"].split("/")[-1].split("?")[0]
    filtered = client.get("/claims/files?status=refused", headers=HTML)
    assert "No claim file matches these filters." in filtered.text
    client.cookies.clear()
    signed_in(client, make_user, org, "bv.sonla", Role.facility, unit=org.sonla, subject_ref=SONLA)
    assert client.get(f"/claims/files/{file_id}", headers=HTML).status_code == 404
    assert f'data-file="{file_id}"' not in client.get("/claims/files", headers=HTML).text
    missing = send(client, b"", name="")
    assert missing.status_code in (400, 422)


def test_the_navigation_offers_the_claim_files_to_facilities_and_staff(client, db, org, make_user, intake_world):
    signed_in(client, make_user, org, "bv.hadong", Role.facility, subject_ref=HANOI, lang="en")
    assert 'href="/claims/files"' in client.get("/", headers=HTML).text
    client.cookies.clear()
    signed_in(client, make_user, org, "nguoidan", Role.citizen, subject_ref="001090000001")
    assert 'href="/claims/files"' not in client.get("/", headers=HTML).text
    assert client.get("/claims/files", headers=HTML).status_code == 403
