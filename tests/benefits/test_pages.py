"""The benefits pages: the work queue by deadline, the intake (the person's record, the form, its refusals), a
claim's page with its timeline and its steps as forms, the employers' lists; each for the users who may and may not,
in both languages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ansinh.benefits import eligibility, pages, service
from ansinh.benefits.models import BenefitClaim, ClaimStatus
from tests.conftest import web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

FILED = date(2026, 2, 12)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def fake_assess(eligible=True, amount=3_750_000):
    def assess(session, claim, *, on):
        reasons = [] if eligible else [eligibility.Reason("no_months", "Điều 42 Luật BHXH 2024",
                                                          "Not enough months", "Không đủ số tháng đóng")]
        return eligibility.Assessment(eligible=eligible, amount=amount if eligible else 0, reasons=reasons,
                                      record={"months": 72, "salary": 10_000_000},
                                      figures={"daily_rate": 312_500, "days": 5, "rate_percent": 75})
    return assess


@pytest.fixture
def worker(session, bworld):
    """A Hà Nội worker with six years of compulsory insurance (January 2020 to December 2025) at An Bình."""
    who = bworld.person("Trần Văn An")
    bworld.work(who, bworld.employer_hn, date(2020, 1, 1), date(2026, 1, 1), salary=10_000_000,
                raises=[(date(2024, 1, 1), 12_000_000)])
    session.flush()
    return who


def file_sickness(session, who, principal, *, on=FILED, missing=()):
    claim, _ = service.file_claim(session, principal, claim_type="sickness", citizen_id=who.citizen_id, filed_on=on,
                                  channel="counter", details={"leave_from": "2026-02-02", "days": 5},
                                  missing=missing)
    session.flush()
    return claim


def fresh(session, claim_id: int) -> BenefitClaim:
    """The claim as the database holds it now (the pages wrote it through their own sessions)."""
    session.expire_all()
    return session.get(BenefitClaim, claim_id)


def _claims(session) -> int:
    return session.scalar(select(func.count()).select_from(BenefitClaim))


# --- the contribution record (pure) -----------------------------------------------------------------------------

def test_months_are_counted_from_the_periods_once_each():
    # January 2020 up to (not including) January 2026: 72 months; an open period counts the months begun before "on"
    assert len(pages.months_covered(date(2020, 1, 1), date(2026, 1, 1), date(2026, 2, 12))) == 72
    assert len(pages.months_covered(date(2025, 11, 1), None, date(2026, 2, 12))) == 4  # Nov, Dec, Jan, Feb
    assert pages.months_covered(date(2026, 3, 1), None, date(2026, 2, 12)) == set()

    class P:
        def __init__(self, scheme, start, end, employer=None, salary=None):
            self.scheme, self.valid_from, self.valid_to = scheme, start, end
            self.employer_id, self.insured_salary = employer, salary

    summary = pages.contribution_summary([
        P("si_compulsory", date(2020, 1, 1), date(2023, 1, 1), 1, 8_000_000),
        P("si_compulsory", date(2022, 7, 1), date(2024, 1, 1), 2, 9_000_000),  # two employers in 2022: counted once
        P("si_voluntary", date(2024, 1, 1), date(2024, 7, 1)),
        P("hi", date(2020, 1, 1), None)], date(2026, 1, 15), {1: "A", 2: "B"})
    # compulsory: 2020-01..2023-12 = 48 months; voluntary 6; SI 54 = 4 years 6 months; HI 2020-01..2026-01 = 73
    assert summary["months"] == {"si_compulsory": 48, "si_voluntary": 6, "hi": 73}
    assert (summary["si_months"], summary["si_years"], summary["si_rest"]) == (54, 4, 6)
    assert [r.employer for r in summary["periods"] if r.scheme == "si_compulsory"] == ["A", "B"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["si_compulsory", "si_voluntary"]),
                          st.dates(date(2000, 1, 1), date(2030, 1, 1)), st.integers(0, 400)), max_size=6),
       st.dates(date(2000, 1, 1), date(2031, 1, 1)))
def test_social_insurance_months_are_the_union_of_both_schemes(spans, on):
    from datetime import timedelta
    from types import SimpleNamespace

    periods = [SimpleNamespace(scheme=s, valid_from=start, valid_to=start + timedelta(days=days) if days else None,
                               employer_id=None, insured_salary=None) for s, start, days in spans]
    summary = pages.contribution_summary(periods, on, {})
    months = summary["months"]
    total = summary["si_months"]
    assert max(months.values(), default=0) <= total <= sum(months.values())
    assert summary["si_years"] * 12 + summary["si_rest"] == total
    assert all(r.months >= 0 for r in summary["periods"])


# --- intake ---------------------------------------------------------------------------------------------------

def test_intake_shows_the_record_and_files_the_claim(client, session, bworld, worker):
    web_login(client, "b-hanoi")
    page = client.get(f"/benefits/new?citizen_id={worker.citizen_id}&on=2026-02-12")
    assert page.status_code == 200, page.text
    # 2020-01 .. 2025-12 compulsory: 72 months = 6 years 0 months (two periods: the raise of 2024 splits them)
    assert 'data-figure="si-total" data-months="72"' in page.text
    assert "6 năm 0 tháng" in page.text and "12.000.000" in page.text and "Công ty An Bình" in page.text
    # the grounds of the law in force on the filing date (Law 41/2024 from 2025-07-01)
    assert 'value="transitional_12_months"' in page.text and 'value="out_of_work_12_months"' not in page.text
    before = _claims(session)
    answer = client.post("/benefits/new", data={
        "csrf_token": csrf_of(page.text), "citizen_id": worker.citizen_id, "type": "sickness", "channel": "counter",
        "filed_on": "2026-02-12", "sickness.leave_from": "2026-02-02", "sickness.days": "5", "missing": ""},
        follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert _claims(session) == before + 1
    claim_id = int(re.search(r"/benefits/claims/(\d+)\?notice=filed", answer.headers["location"]).group(1))
    shown = client.get(answer.headers["location"])
    assert shown.status_code == 200
    # accepted at once; 7 working days from Thursday 12 February 2026 across the Tết holidays: Monday 2 March
    assert 'data-status="accepted"' in shown.text and "02/03/2026" in shown.text
    assert 'data-testid="notice"' in shown.text and 'data-step="received"' in shown.text
    claim = fresh(session, claim_id)
    assert claim.details == {"leave_from": "2026-02-02", "days": 5, "hazardous": False}


def test_the_old_law_grounds_before_july_2025(client, bworld, worker):
    web_login(client, "b-hanoi")
    page = client.get(f"/benefits/new?citizen_id={worker.citizen_id}&on=2025-06-30")
    assert 'value="out_of_work_12_months"' in page.text and 'value="transitional_12_months"' not in page.text


def test_refusals_of_the_form_name_their_field_and_write_nothing(client, session, bworld, worker):
    web_login(client, "b-hanoi")
    page = client.get(f"/benefits/new?citizen_id={worker.citizen_id}&on=2026-02-12")
    csrf = csrf_of(page.text)
    before = _claims(session)
    base = {"csrf_token": csrf, "citizen_id": worker.citizen_id, "channel": "counter", "filed_on": "2026-02-12"}
    no_type = client.post("/benefits/new", data=base)
    assert no_type.status_code == 422 and 'data-error="type"' in no_type.text
    no_leave = client.post("/benefits/new", data={**base, "type": "sickness", "sickness.days": "5"})
    assert no_leave.status_code == 422 and 'data-error="sickness.leave_from"' in no_leave.text
    assert 'value="5"' in no_leave.text  # what was typed stays
    bad_ground = client.post("/benefits/new", data={**base, "type": "lump_sum", "filed_on": "2025-07-01",
                                                    "ground": "out_of_work_12_months"})
    assert bad_ground.status_code == 422 and 'data-error="ground"' in bad_ground.text
    assert "01/07/2025" in bad_ground.text  # the date in the message written the Vietnamese way
    bad_day = client.post("/benefits/new", data={**base, "type": "sickness", "filed_on": "12/02/2026"})
    assert bad_day.status_code == 422 and 'data-error="filed_on"' in bad_day.text
    no_csrf = client.post("/benefits/new", data={**base, "csrf_token": "x", "type": "pension"})
    assert no_csrf.status_code == 403
    assert _claims(session) == before


def test_intake_is_for_staff_of_the_persons_scope(client, bworld, worker, make_user, org):
    web_login(client, "b-sonla")
    other = client.get(f"/benefits/new?citizen_id={worker.citizen_id}")
    assert other.status_code == 200 and 'data-testid="intake-person"' not in other.text
    assert 'data-error="citizen_id"' in other.text and worker.full_name not in other.text
    client.cookies.clear()
    web_login(client, "b-citizen")
    assert client.get("/benefits/new").status_code == 403


# --- the queue and the list --------------------------------------------------------------------------------------

def test_the_queue_sorts_claims_by_deadline(client, session, bworld, worker):
    claim = file_sickness(session, worker, bworld.officer)  # deadline 2026-03-02
    web_login(client, "b-hanoi")
    due = client.get("/benefits?on=2026-03-02")
    assert due.status_code == 200
    section = due.text.split('data-testid="queue-due-today"')[1].split("</article>")[0]
    assert f'data-claim="{claim.id}"' in section
    late = client.get("/benefits?on=2026-03-04").text.split('data-testid="queue-late"')[1].split("</article>")[0]
    # 2 March deadline, 4 March: late by 2 working days (3 and 4 March)
    assert f'data-claim="{claim.id}"' in late and 'data-left="-2"' in late
    upcoming = client.get("/benefits?on=2026-02-26").text.split('data-testid="queue-upcoming"')[1]
    upcoming = upcoming.split("</article>")[0]
    # 26 February → 2 March: 27 February and 2 March, 2 working days left
    assert f'data-claim="{claim.id}"' in upcoming and 'data-left="2"' in upcoming
    filtered = client.get("/benefits?on=2026-03-02&type=pension")
    assert f'data-claim="{claim.id}"' not in filtered.text
    english = client.get("/lang/en?next=/benefits?on=2026-02-26", follow_redirects=True)
    assert "2 working days left" in english.text and "26 Feb 2026" in english.text


def test_each_sees_only_the_claims_of_their_scope(client, session, bworld, worker):
    claim = file_sickness(session, worker, bworld.officer)
    own = service.file_claim(session, bworld.officer, claim_type="maternity",
                             citizen_id=bworld.citizen_person.citizen_id, filed_on=FILED, channel="counter",
                             details={"birth_on": "2026-02-01"})[0]
    session.flush()
    web_login(client, "b-sonla")
    assert f'data-claim="{claim.id}"' not in client.get("/benefits").text
    assert client.get(f"/benefits/claims/{claim.id}").status_code == 404
    client.cookies.clear()
    web_login(client, "b-citizen")
    mine = client.get("/benefits")
    assert mine.status_code == 200 and f'data-claim="{own.id}"' in mine.text
    assert f'data-claim="{claim.id}"' not in mine.text and 'data-testid="queue"' not in mine.text
    page = client.get(f"/benefits/claims/{own.id}")
    assert page.status_code == 200 and 'data-testid="claim-actions"' not in page.text
    assert "b-hanoi" not in page.text  # the officers' names are not shown to the citizen
    assert client.get(f"/benefits/claims/{claim.id}").status_code == 404
    refused = client.post(f"/benefits/claims/{own.id}/withdraw", data={"on": "2026-02-13", "csrf_token": "x"})
    assert refused.status_code == 403
    assert fresh(session, own.id).status is ClaimStatus.accepted


# --- a claim's steps ----------------------------------------------------------------------------------------------

def _step(client, claim_id, action, **data):
    page = client.get(f"/benefits/claims/{claim_id}")
    return client.post(f"/benefits/claims/{claim_id}/{action}", data={"csrf_token": csrf_of(page.text), **data},
                       follow_redirects=False)


def test_a_claim_goes_from_incomplete_to_granted_on_its_page(client, session, bworld, worker, monkeypatch):
    monkeypatch.setattr(eligibility, "assess", fake_assess())
    claim = file_sickness(session, worker, bworld.officer, missing=["Giấy ra viện"])
    web_login(client, "b-hanoi")
    page = client.get(f"/benefits/claims/{claim.id}")
    assert "Giấy ra viện" in page.text and 'data-testid="action-complete"' in page.text
    assert 'data-testid="action-grant"' not in page.text
    assert _step(client, claim.id, "complete", on="2026-03-09").status_code == 303
    assert fresh(session, claim.id).deadline == date(2026, 3, 18)  # 7 working days from 9 March
    assert _step(client, claim.id, "assess", on="2026-03-10").status_code == 303
    assessed = client.get(f"/benefits/claims/{claim.id}").text
    assert "3.750.000" in assessed and "312.500" in assessed and 'data-testid="action-grant"' in assessed
    granted = _step(client, claim.id, "grant", on="2026-03-11")
    assert granted.status_code == 303 and granted.headers["location"].endswith("?notice=grant")
    done = client.get(granted.headers["location"]).text
    number = re.search(r'data-testid="decision-number">([^<]+)<', done).group(1)
    assert number == "00001/2026/QĐ-BHXH-01" and 'data-testid="claim-actions"' in done  # the appeal remains
    assert [e.to_status for e in service.claim_events(session, claim.id)] == [
        "received", "incomplete", "accepted", "assessed", "granted"]


def test_refusals_of_a_step_show_the_page_again_and_change_nothing(client, session, bworld, worker, monkeypatch):
    monkeypatch.setattr(eligibility, "assess", fake_assess(eligible=False))
    claim = file_sickness(session, worker, bworld.officer)
    web_login(client, "b-hanoi")
    early = _step(client, claim.id, "withdraw", on="2026-02-01")  # before the filing date
    assert early.status_code == 422 and 'data-error="withdraw-on"' in early.text
    assert _step(client, claim.id, "grant", on="2026-02-13").status_code == 422  # not assessed: illegal
    assert _step(client, claim.id, "assess", on="2026-02-13").status_code == 303
    page = client.get(f"/benefits/claims/{claim.id}").text
    assert "Không đủ số tháng đóng" in page and 'data-testid="action-grant"' not in page
    blank = _step(client, claim.id, "refuse", on="2026-02-14", reason=" ")
    assert blank.status_code == 422 and 'data-error="refuse-reason"' in blank.text
    assert fresh(session, claim.id).status is ClaimStatus.assessed
    refused = _step(client, claim.id, "refuse", on="2026-02-14", reason="Chưa đủ 6 tháng đóng")
    assert refused.status_code == 303
    shown = client.get(f"/benefits/claims/{claim.id}").text
    assert "Chưa đủ 6 tháng đóng" in shown and 'data-status="refused"' in shown
    assert _step(client, claim.id, "nonsense", on="2026-02-14").status_code == 404


def test_an_appeal_goes_to_another_officer(client, session, bworld, worker, monkeypatch):
    monkeypatch.setattr(eligibility, "assess", fake_assess())
    claim = file_sickness(session, worker, bworld.officer)
    service.assess(session, bworld.officer, claim.id, on=date(2026, 2, 13))
    service.decide(session, bworld.officer, claim.id, on=date(2026, 2, 16))
    session.flush()
    web_login(client, "b-hanoi")
    assert _step(client, claim.id, "appeal", on="2026-02-17", reason="Người lao động khiếu nại").status_code == 303
    page = client.get(f"/benefits/claims/{claim.id}").text
    assert 'data-testid="action-assess"' not in page and 'data-testid="action-withdraw"' in page
    assert _step(client, claim.id, "assess", on="2026-02-18").status_code == 422  # the officer who decided
    client.cookies.clear()
    web_login(client, "b-hanoi-2")
    assert 'data-testid="action-assess"' in client.get(f"/benefits/claims/{claim.id}").text
    assert _step(client, claim.id, "assess", on="2026-02-18").status_code == 303


def test_a_district_officer_assesses_but_does_not_decide(client, session, bworld, org, monkeypatch):
    from ansinh.auth.models import OrgUnit

    monkeypatch.setattr(eligibility, "assess", fake_assess())
    local = bworld.person("Đỗ Văn Giang", unit=session.get(OrgUnit, org.hanoi_office.id))  # of the Ba Đình office
    claim = file_sickness(session, local, bworld.officer)
    service.assess(session, bworld.officer, claim.id, on=date(2026, 2, 13))
    session.flush()
    web_login(client, "b-district")
    page = client.get(f"/benefits/claims/{claim.id}")
    assert page.status_code == 200 and 'data-testid="action-grant"' not in page.text
    assert 'data-testid="action-withdraw"' in page.text
    assert client.post(f"/benefits/claims/{claim.id}/grant", data={"csrf_token": csrf_of(page.text),
                                                                    "on": "2026-02-14"}).status_code == 403
    assert fresh(session, claim.id).status is ClaimStatus.assessed


def test_the_claim_page_in_english(client, session, bworld, worker):
    claim = file_sickness(session, worker, bworld.officer)
    web_login(client, "b-hanoi")
    page = client.get(f"/lang/en?next=/benefits/claims/{claim.id}", follow_redirects=True)
    assert page.status_code == 200
    assert "Sickness benefit" in page.text and "2 Mar 2026" in page.text and "Accepted, being resolved" in page.text


# --- the employers' lists -----------------------------------------------------------------------------------------

def test_the_lists_page_answers_each_role(client, session, bworld, make_user, org):
    from ansinh.auth.models import Role
    from ansinh.benefits.models import EmployerBenefitBatch

    batch = EmployerBenefitBatch(employer_id=bworld.employer_hn.id, file_name="01b-hsb.csv", file_sha256="0" * 64,
                                 submitted_on=FILED, lines=2, filed=1, rejected=1, org_unit_id=bworld.hanoi.id,
                                 submitted_by="test", outcomes=[
                                     {"line": 1, "citizen_id": "001085000001", "claim_id": None,
                                      "error": "Không tìm thấy người lao động"},
                                     {"line": 2, "citizen_id": "001085000002", "claim_id": 77, "error": None}])
    session.add(batch)
    session.flush()
    make_user("b-employer", org.hanoi, Role.employer, subject_ref=bworld.employer_hn.tax_code)
    make_user("b-employer-2", org.sonla, Role.employer, subject_ref=bworld.employer_sl.tax_code)
    web_login(client, "b-employer")
    listed = client.get("/benefits/employer-batches")
    assert listed.status_code == 200 and f'data-batch="{batch.id}"' in listed.text
    shown = client.get(f"/benefits/employer-batches/{batch.id}")
    assert shown.status_code == 200 and "Không tìm thấy người lao động" in shown.text
    assert 'data-outcome="filed"' in shown.text and "/benefits/claims/77" in shown.text
    client.cookies.clear()
    web_login(client, "b-employer-2")
    assert f'data-batch="{batch.id}"' not in client.get("/benefits/employer-batches").text
    assert client.get(f"/benefits/employer-batches/{batch.id}").status_code == 404
    client.cookies.clear()
    web_login(client, "b-sonla")
    assert client.get(f"/benefits/employer-batches/{batch.id}").status_code == 404
    client.cookies.clear()
    web_login(client, "b-hanoi")
    assert f'data-batch="{batch.id}"' in client.get("/benefits/employer-batches").text


def test_the_pages_read_cleanly_in_both_languages(client, session, bworld, worker, monkeypatch):
    """The crawl's checks (tests/web/test_crawl.py) on the pages it cannot reach from the demo: the intake with a
    person, a decided claim with its assessment, a refused one, the queue with claims in it."""
    from tests.web.test_crawl import Page, _untranslated_needles, page_problems

    monkeypatch.setattr(eligibility, "assess", fake_assess())
    granted = file_sickness(session, worker, bworld.officer)
    service.assess(session, bworld.officer, granted.id, on=date(2026, 2, 13))
    service.decide(session, bworld.officer, granted.id, on=date(2026, 2, 16))
    refused = file_sickness(session, worker, bworld.officer)
    service.assess(session, bworld.officer, refused.id, on=date(2026, 2, 13))
    service.decide(session, bworld.officer, refused.id, on=date(2026, 2, 16), refuse="Trùng thời gian nghỉ")
    incomplete = file_sickness(session, worker, bworld.officer, missing=["Giấy ra viện"])
    session.flush()
    needles = _untranslated_needles()
    web_login(client, "b-hanoi")
    problems = []
    for locale in ("vi", "en"):
        client.get(f"/lang/{locale}", follow_redirects=False)
        for address in (f"/benefits/new?citizen_id={worker.citizen_id}&on=2026-02-12", "/benefits?on=2026-02-26",
                        f"/benefits/claims/{granted.id}", f"/benefits/claims/{refused.id}",
                        f"/benefits/claims/{incomplete.id}"):
            answer = client.get(address)
            assert answer.status_code == 200, (address, answer.text[:300])
            page = Page(locale)
            page.feed(answer.text)
            problems += [(locale, address, p) for p in page_problems(page, locale, needles)]
    assert problems == []


def test_a_claim_by_post_is_checked_before_its_clock_runs(client, session, bworld, worker):
    claim, _ = service.file_claim(session, bworld.officer, claim_type="sickness", citizen_id=worker.citizen_id,
                                  filed_on=FILED, channel="post", details={"leave_from": "2026-02-02", "days": 5})
    session.flush()
    web_login(client, "b-hanoi")
    page = client.get(f"/benefits/claims/{claim.id}").text
    assert 'data-status="received"' in page and 'data-testid="action-complete"' in page
    assert 'data-testid="action-incomplete"' in page and 'data-testid="action-assess"' not in page
    assert _step(client, claim.id, "complete", on="2026-02-16").status_code == 303
    # the clock from Monday 16 February: 7 working days, Tết (16–20 February 2026) not counted → 3 March
    assert fresh(session, claim.id).deadline == date(2026, 3, 3)
