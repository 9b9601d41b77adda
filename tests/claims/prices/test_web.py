"""The price lists through the API and the web pages: who may import and read, the report of an upload, the list of a
facility's prices on a day with its filters and export, an item's history and the template."""

from __future__ import annotations

import io
import re
from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select

from ansinh.auth.models import Role
from ansinh.claims.prices.models import PriceItem, PriceList
from tests.claims.prices.conftest import csv
from tests.conftest import api_token, web_login

HTML = {"Accept": "text/html"}
LIST = csv("service,02.1896,Khám Nội,lần,42100,2026-01-01,,",
           "drug,40.17,Paracetamol 500mg,viên,1200,2026-01-01,2026-12-31,QĐ 12/QĐ-SYT;G1;N4;2025",
           "bed,K03.1917,Ngày giường bệnh Nội khoa loại 1,ngày,245000,2026-01-01,,")
LATER = csv("service,02.1896,Khám Nội,lần,45000,2026-07-01,,")


@pytest.fixture
def people(org, make_user, facility):
    """Hà Nội's facility 01001 and Sơn La's 14001; an officer of each province, a district officer of Ba Đình, the
    users of both facilities, a supervisor."""
    facility("01001")
    facility("14001", unit=org.sonla, name="Bệnh viện Đa khoa tỉnh Sơn La")
    make_user("hn.gia", org.hanoi, Role.provincial_officer)
    make_user("sl.gia", org.sonla, Role.provincial_officer)
    make_user("bd.gia", org.hanoi_office, Role.district_officer)
    make_user("bv.hadong", org.hanoi, Role.facility, subject_ref="01001")
    make_user("bv.sonla", org.sonla, Role.facility, subject_ref="14001")
    make_user("giamsat", org.national, Role.supervisor)


def _upload(client, token, content: bytes, facility: str = "01001", name: str = "bang-gia.csv"):
    return client.post("/api/v1/claims/prices", headers=token, data={"facility": facility},
                       files={"file": (name, content, "text/csv")})


def _counts(db) -> tuple[int, int]:
    with db.unit_of_work() as s:
        return (s.scalar(select(func.count()).select_from(PriceList)),
                s.scalar(select(func.count()).select_from(PriceItem)))


def test_the_api_imports_a_list_once_and_answers_the_prices_of_a_day(db, client, people):
    officer = api_token(client, "hn.gia")
    first = _upload(client, officer, LIST)
    assert first.status_code == 201, first.text
    assert first.json()["created"] == 3
    assert _upload(client, officer, LIST, name="again.csv").status_code == 200
    later = _upload(client, officer, LATER, name="bang-gia-7.csv")
    assert later.status_code == 201 and later.json()["superseded"] == 1
    bad = _upload(client, officer, csv("service,02.1896,Khám,lần,-5,2026-01-01,,"), name="sai.csv")
    assert bad.status_code == 422
    assert [(e["row"], e["column"]) for e in bad.json()["errors"]] == [(2, "price")]
    assert _counts(db) == (2, 4)

    june = client.get("/api/v1/claims/prices?facility=01001&on=2026-06-30", headers=officer).json()
    assert {(i["code"], i["price"]) for i in june["items"]} == {("02.1896", 42_100), ("40.17", 1_200),
                                                               ("K03.1917", 245_000)}
    july = client.get("/api/v1/claims/prices?facility=01001&on=2026-07-01&kind=service", headers=officer).json()
    assert [(i["code"], i["price"], i["in_force_until"]) for i in july["items"]] == [("02.1896", 45_000, None)]
    history = client.get("/api/v1/claims/prices?facility=01001&code=02.1896&history=true", headers=officer).json()
    assert [(i["price"], i["superseded_from"]) for i in history["items"]] == [(42_100, "2026-07-01"),
                                                                            (45_000, None)]
    assert client.get("/api/v1/claims/prices?facility=01001&kind=thing", headers=officer).status_code == 422
    assert client.get("/api/v1/claims/prices?facility=01999", headers=officer).status_code == 404


def test_only_the_facilitys_province_imports_and_only_its_own_users_read(db, client, people):
    assert _upload(client, api_token(client, "hn.gia"), LIST).status_code == 201
    before = _counts(db)
    for outsider in ("sl.gia", "bd.gia", "bv.hadong", "bv.sonla", "giamsat"):
        token = api_token(client, outsider)
        assert _upload(client, token, LATER).status_code == 403, outsider
    assert _counts(db) == before
    for reader, status in (("hn.gia", 200), ("bv.hadong", 200), ("sl.gia", 403), ("bv.sonla", 403),
                           ("bd.gia", 403), ("giamsat", 403)):
        answer = client.get("/api/v1/claims/prices?facility=01001", headers=api_token(client, reader))
        assert answer.status_code == status, (reader, answer.text)
    with db.unit_of_work() as s:
        from ansinh.audit.models import AuditEvent

        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "refused")) >= 9


def _csrf(client) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/", headers=HTML).text).group(1)


def test_an_officer_uploads_a_list_on_the_facilitys_page_and_sees_the_report(db, client, people):
    assert web_login(client, "hn.gia").status_code == 303
    client.get("/lang/en")
    listing = client.get("/claims/prices", headers=HTML)
    assert listing.status_code == 200 and 'data-facility="01001"' in listing.text
    assert 'data-facility="14001"' not in listing.text  # another province's facility is not listed
    page = client.get("/claims/prices/01001", headers=HTML)
    assert page.status_code == 200 and 'data-testid="price-form"' in page.text
    refused = client.post("/claims/prices/01001/import", headers=HTML, data={"csrf_token": _csrf(client)},
                          files={"file": ("sai.csv", csv("drug,40.17,Paracetamol,viên,1200,2026-02-30,,"),
                                          "text/csv")})
    assert refused.status_code == 422 and 'data-status="rejected"' in refused.text
    assert 'data-row="2" data-column="valid_from"' in refused.text
    applied = client.post("/claims/prices/01001/import", headers=HTML, data={"csrf_token": _csrf(client)},
                          files={"file": ("bang-gia.csv", LIST, "text/csv")})
    assert applied.status_code == 200 and 'data-status="applied"' in applied.text
    again = client.post("/claims/prices/01001/import", headers=HTML, data={"csrf_token": _csrf(client)},
                        files={"file": ("bang-gia.csv", LIST, "text/csv")})
    assert 'data-testid="price-unchanged"' in again.text
    assert client.post("/claims/prices/01001/import", headers=HTML, data={"csrf_token": "wrong"},
                       files={"file": ("x.csv", LATER, "text/csv")}).status_code == 403
    assert _counts(db) == (1, 3)


def test_the_prices_page_filters_sorts_exports_and_shows_an_items_history(db, client, people):
    officer = api_token(client, "hn.gia")
    _upload(client, officer, LIST)
    _upload(client, officer, LATER, name="bang-gia-7.csv")
    assert web_login(client, "bv.hadong").status_code == 303
    client.get("/lang/vi")
    assert client.get("/claims/prices", headers=HTML, follow_redirects=False).headers["location"] == \
        "/claims/prices/01001"
    page = client.get("/claims/prices/01001?on=2026-07-15&sort=price&dir=desc", headers=HTML)
    assert page.status_code == 200
    assert re.findall(r'data-code="([^"]+)"', page.text) == ["K03.1917", "02.1896", "40.17"]
    assert 'data-price="45000"' in page.text and "45.000" in page.text
    assert 'data-testid="price-form"' not in page.text  # a facility reads, it does not import
    drugs = client.get("/claims/prices/01001?on=2026-07-15&kind=drug&q=para", headers=HTML)
    assert re.findall(r'data-code="([^"]+)"', drugs.text) == ["40.17"]
    wrong = client.get("/claims/prices/01001?on=15-07&kind=x", headers=HTML)
    assert wrong.status_code == 422 and 'data-error="on"' in wrong.text and 'data-error="kind"' in wrong.text
    export = client.get("/claims/prices/01001/export.xlsx?on=2026-07-15&kind=service", headers=HTML)
    assert export.status_code == 200 and export.headers["x-row-count"] == "1"
    sheet = pl.read_excel(io.BytesIO(export.content), read_options={"header_row": 2})
    assert sheet.row(0)[1:5] == ("02.1896", "Khám Nội", "lần", 45000)
    history = client.get("/claims/prices/01001/history?kind=service&item=02.1896", headers=HTML)
    assert history.status_code == 200 and history.text.count("data-item=") == 2
    assert client.get("/claims/prices/14001", headers=HTML).status_code == 403
    assert client.get("/claims/prices/14001/export.xlsx", headers=HTML).status_code == 403
    template = client.get("/claims/prices/template.xlsx", headers=HTML)
    assert template.status_code == 200 and template.content[:2] == b"PK"
    assert client.get("/claims/catalogues", headers=HTML).status_code == 403  # agency staff only
    assert date(2026, 7, 15)  # (the day the page was asked for)
