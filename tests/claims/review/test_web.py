"""The API and the pages: appraise, read a claim (same JSON as the command), list, queue, override, in both
languages, and who sees what."""

from __future__ import annotations

import re

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.claims.intake.service import receive_claim_file
from ansinh.synth.claims import claim_file
from tests.claims.intake.conftest import HANOI, ON
from tests.conftest import api_token, web_login

HTML = {"Accept": "text/html"}


@pytest.fixture
def received(db, intake_world):
    """Three episodes of 01001, the third's patient unknown to the registry (the whole claim refused)."""
    episodes = intake_world.episodes(2)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        report = receive_claim_file(s, content=claim_file(HANOI, episodes + [episodes[0].__class__()], seed=3, on=ON),
                                    file_name="a.xml", principal=None, facility_code=HANOI, today=ON)
        assert report.accepted, report.to_json()
    return report


def test_appraise_read_override_through_the_api(client, org, make_user, received):
    make_user("gd.hn", org.hanoi, Role.provincial_officer)
    make_user("gd.sl", org.sonla, Role.provincial_officer)
    make_user("bv.hd", org.hanoi, Role.facility, subject_ref=HANOI)
    officer, outsider, facility = (api_token(client, name) for name in ("gd.hn", "gd.sl", "bv.hd"))
    refused = client.post("/api/v1/claims/appraisals", json={"facility_code": HANOI}, headers=outsider)
    assert refused.status_code == 403
    assert client.post("/api/v1/claims/appraisals", json={"facility_code": HANOI}, headers=facility).status_code == 403
    assert client.post("/api/v1/claims/appraisals", json={"month": "2026-13"}, headers=officer).status_code == 422
    run = client.post("/api/v1/claims/appraisals", json={"facility_code": HANOI}, headers=officer)
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["claims"] == 3 and body["findings"] > 0
    assert sum(item["claims"] for item in body["outcomes"].values()) == 3
    assert body["outcomes"]["rejected"]["claims"] >= 1

    listed = client.get("/api/v1/claims?outcome=rejected&sort=disallowed", headers=officer).json()
    assert listed and all(row["outcome"] == "rejected" for row in listed)
    assert client.get("/api/v1/claims", headers=outsider).json() == []
    assert len(client.get("/api/v1/claims", headers=facility).json()) == 3
    key = listed[0]["ma_lk"]
    claim = client.get(f"/api/v1/claims/{HANOI}/{key}", headers=officer).json()
    assert {"status", "claimed", "disallowed", "accepted_amount", "findings"} <= set(claim)
    assert claim["accepted_amount"] == claim["claimed"] - claim["disallowed"] and claim["disallowed"] > 0
    assert {"rule", "line", "amount", "message"} <= set(claim["findings"][0])
    assert client.get(f"/api/v1/claims/{HANOI}/{key}", headers=outsider).status_code == 403
    assert client.get(f"/api/v1/claims/{HANOI}/{key}", headers=facility).status_code == 200

    queue = client.get("/api/v1/claims/review/queue", headers=officer).json()
    assert key in [row["ma_lk"] for row in queue]
    assert client.get("/api/v1/claims/review/queue", headers=facility).status_code == 403
    assert client.get("/api/v1/claims/review/queue", headers=outsider).json() == []
    sample = client.get("/api/v1/claims/review/sample?seed=3&on=2026-12-01", headers=officer).json()
    assert all(row["outcome"] == "accepted" for row in sample)

    refusing = [f for f in claim["findings"] if f["amount"] > 0 and not f["overridden"]]
    for finding in refusing:
        assert client.post(f"/api/v1/claims/findings/{finding['id']}/override", json={"reason": "Checked"},
                           headers=outsider).status_code == 403
        assert client.post(f"/api/v1/claims/findings/{finding['id']}/override", json={"reason": ""},
                           headers=officer).status_code == 422
        answer = client.post(f"/api/v1/claims/findings/{finding['id']}/override", json={"reason": "Checked"},
                             headers=officer)
        assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "accepted" and answer.json()["disallowed"] == 0
    again = client.post(f"/api/v1/claims/findings/{refusing[0]['id']}/override", json={"reason": "x"}, headers=officer)
    assert again.status_code == 409
    assert key not in [row["ma_lk"] for row in client.get("/api/v1/claims/review/queue", headers=officer).json()]
    # a new run keeps the appraiser's decisions
    client.post("/api/v1/claims/appraisals", json={"facility_code": HANOI}, headers=officer)
    after = client.get(f"/api/v1/claims/{HANOI}/{key}", headers=officer).json()
    assert after["disallowed"] == 0 and all(f["overridden"] for f in after["findings"] if f["amount"] > 0)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_pages_in_both_languages(client, org, make_user, received, lang):
    make_user("gd.hn", org.hanoi, Role.provincial_officer)
    assert client.post("/api/v1/claims/appraisals", json={"facility_code": HANOI},
                       headers=api_token(client, "gd.hn")).status_code == 200
    assert web_login(client, "gd.hn").status_code == 303
    client.get(f"/lang/{lang}")
    listing = client.get("/claims?outcome=rejected&sort=disallowed&dir=desc", headers=HTML)
    assert listing.status_code == 200
    assert ("Hồ sơ đề nghị thanh toán" if lang == "vi" else "Claims") in listing.text
    link = re.search(r'href="(/claims/01001/[^"]+)"', listing.text).group(1)
    page = client.get(link, headers=HTML)
    assert page.status_code == 200 and 'data-testid="override-form"' in page.text
    assert ("Bị từ chối" if lang == "vi" else "Rejected") in page.text
    finding = re.search(r'action="/claims/findings/(\d+)/override"', page.text).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    empty = client.post(f"/claims/findings/{finding}/override", data={"csrf_token": token, "reason": " "},
                        headers=HTML, follow_redirects=False)
    assert empty.status_code == 422 and 'data-testid="override-error"' in empty.text
    done = client.post(f"/claims/findings/{finding}/override", data={"csrf_token": token, "reason": "Đã kiểm tra"},
                       headers=HTML, follow_redirects=False)
    assert done.status_code == 303
    shown = client.get(done.headers["location"], headers=HTML)
    assert "Đã kiểm tra" in shown.text and 'data-testid="overridden"' in shown.text
    review = client.get("/claims/review", headers=HTML)
    assert review.status_code == 200 and 'data-testid="review-queue"' in review.text
