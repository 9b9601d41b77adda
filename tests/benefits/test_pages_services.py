"""The benefits pages on the services of the other parts: the employer's 01B-HSB upload (lines filed or rejected,
the same file again, a file that cannot be read, staff sending for an employer of their scope) and the decision
PDF linked from a decided claim's page."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

pytest.importorskip("ansinh.benefits.employer_batch", reason="the 01B-HSB service has not landed on this branch")

from ansinh.auth.models import Role  # noqa: E402
from ansinh.benefits import eligibility, service  # noqa: E402
from ansinh.benefits.models import BenefitClaim, EmployerBenefitBatch  # noqa: E402
from tests.benefits.test_pages import csrf_of, fake_assess, file_sickness  # noqa: E402
from tests.conftest import web_login  # noqa: E402

HEADER = "line,citizen_id,type,leave_from,days\n"


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_an_employer_uploads_its_list_and_sees_each_line(client, session, bworld, make_user, org):
    worker = bworld.work(bworld.person("Trần Văn An"), bworld.employer_hn, date(2025, 1, 1))
    stranger = bworld.person("Đỗ Văn Lạ")
    session.flush()
    make_user("b-employer", org.hanoi, Role.employer, subject_ref=bworld.employer_hn.tax_code)
    web_login(client, "b-employer")
    page = client.get("/benefits/employer-batches")
    assert page.status_code == 200 and 'data-testid="batch-upload-form"' in page.text
    assert 'data-testid="batch-tax-code"' not in page.text  # an employer sends its own list only
    content = (HEADER + f"1,{worker.citizen_id},sickness,2026-02-23,5\n"
               + f"2,{stranger.citizen_id},sickness,2026-02-23,2\n").encode()
    sent = client.post("/benefits/employer-batches", data={"csrf_token": csrf_of(page.text)},
                       files={"file": ("01b.csv", content, "text/csv")}, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    shown = client.get(sent.headers["location"])
    assert 'data-line="1" data-outcome="filed"' in shown.text and 'data-line="2" data-outcome="rejected"' in shown.text
    assert _count(session, BenefitClaim) == 1 and _count(session, EmployerBenefitBatch) == 1
    again = client.post("/benefits/employer-batches", data={"csrf_token": csrf_of(page.text)},
                        files={"file": ("01b.csv", content, "text/csv")}, follow_redirects=False)
    assert again.headers["location"].endswith("?notice=replayed") and _count(session, BenefitClaim) == 1
    unread = client.post("/benefits/employer-batches", data={"csrf_token": csrf_of(page.text)},
                         files={"file": ("01b.csv", b"name,when\nx,y\n", "text/csv")})
    assert unread.status_code == 422 and 'data-testid="batch-problems"' in unread.text
    assert _count(session, EmployerBenefitBatch) == 1
    client.cookies.clear()
    web_login(client, "b-hanoi")  # the province's staff send for an employer of their scope
    staff = client.get("/benefits/employer-batches")
    assert 'data-testid="batch-tax-code"' in staff.text
    other = (HEADER + f"1,{worker.citizen_id},sickness,2026-03-02,1\n").encode()
    by_staff = client.post("/benefits/employer-batches", data={"csrf_token": csrf_of(staff.text),
                                                              "tax_code": bworld.employer_hn.tax_code},
                           files={"file": ("01b-2.csv", other, "text/csv")}, follow_redirects=False)
    assert by_staff.status_code == 303 and _count(session, BenefitClaim) == 2
    client.cookies.clear()
    web_login(client, "b-sonla")
    foreign = client.get("/benefits/employer-batches")
    assert foreign.text.count("data-batch=") == 0
    refused = client.post("/benefits/employer-batches", data={"csrf_token": csrf_of(foreign.text),
                                                             "tax_code": bworld.employer_hn.tax_code},
                          files={"file": ("01b-3.csv", other.replace(b"03-02", b"03-03"), "text/csv")})
    assert refused.status_code in (404, 422) and _count(session, BenefitClaim) == 2


def test_a_decided_claim_links_its_decision(client, session, bworld, monkeypatch):
    monkeypatch.setattr(eligibility, "assess", fake_assess())
    worker = bworld.work(bworld.person("Trần Văn Bình"), bworld.employer_hn, date(2020, 1, 1), date(2026, 1, 1))
    claim = file_sickness(session, worker, bworld.officer)
    web_login(client, "b-hanoi")
    assert 'data-testid="decision-pdf"' not in client.get(f"/benefits/claims/{claim.id}").text
    assert client.get(f"/benefits/claims/{claim.id}/decision.pdf").status_code == 404
    service.assess(session, bworld.officer, claim.id, on=date(2026, 2, 13))
    service.decide(session, bworld.officer, claim.id, on=date(2026, 2, 16))
    session.flush()
    page = client.get(f"/benefits/claims/{claim.id}").text
    link = re.search(r'href="([^"]+)"[^>]*data-testid="decision-pdf"', page).group(1)
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    client.cookies.clear()
    web_login(client, "b-sonla")
    assert client.get(link).status_code == 404


def test_the_intake_previews_and_the_page_assesses_on_the_real_rules(client, session, bworld):
    if not hasattr(eligibility, "preview"):
        pytest.skip("the eligibility rules have not landed on this branch")
    from tests.web.test_crawl import Page, _untranslated_needles, page_problems

    worker = bworld.work(bworld.person("Phan Văn Cường"), bworld.employer_hn, date(2019, 1, 1), date(2026, 1, 1),
                         salary=8_000_000)
    session.flush()
    web_login(client, "b-hanoi")
    intake = client.get(f"/benefits/new?citizen_id={worker.citizen_id}&on=2026-02-12")
    assert intake.status_code == 200 and 'data-testid="eligibility-preview"' in intake.text
    assert 'data-preview="lump_sum"' in intake.text and 'data-preview="sickness"' in intake.text
    claim = file_sickness(session, worker, bworld.officer)
    page = client.get(f"/benefits/claims/{claim.id}")
    done = client.post(f"/benefits/claims/{claim.id}/assess", data={"csrf_token": csrf_of(page.text),
                                                                    "on": "2026-02-13"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    needles = _untranslated_needles()
    problems = []
    for locale in ("vi", "en"):
        client.get(f"/lang/{locale}", follow_redirects=False)
        for address in (f"/benefits/new?citizen_id={worker.citizen_id}&on=2026-02-12", f"/benefits/claims/{claim.id}"):
            answer = client.get(address)
            assert answer.status_code == 200
            parsed = Page(locale)
            parsed.feed(answer.text)
            problems += [(locale, address, p) for p in page_problems(parsed, locale, needles)]
    assert problems == []
