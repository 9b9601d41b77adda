"""Inspection cases: open for an employer in arrears, findings, decisions, linked payments, close; scope; API."""

from __future__ import annotations

from datetime import date

import pytest

from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.collection import inspections
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import use_locale
from tests.collection.arrears_fixtures import make_bill, make_employer, pay
from tests.conftest import api_token


@pytest.fixture(autouse=True)
def english():
    with use_locale("en"):
        yield


@pytest.fixture
def debtor(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    employer = make_employer(session, hanoi, "Công ty TNHH Nợ Đọng")
    key = f"E:{employer.id}"
    bills = [make_bill(session, payer_key=key, period=date(2025, m, 1), due=date(2025, m + 1, 1) - date.resolution,
                       total=20_000_000, unit=hanoi, province="01", employer_id=employer.id) for m in (1, 2, 3)]
    return employer, bills


def test_case_lifecycle(session, debtor):
    employer, bills = debtor
    case = inspections.open_case(session, None, employer_id=employer.id, on=date(2025, 5, 10))
    assert case.status == "open" and case.arrears_at_opening == 60_000_000
    with pytest.raises(Conflict):
        inspections.open_case(session, None, employer_id=employer.id, on=date(2025, 5, 11))
    with pytest.raises(ValidationFailed):
        inspections.close_case(session, None, case.id, on=date(2025, 6, 1))  # no findings yet
    inspections.record_findings(session, None, case.id, "Đơn vị chậm đóng 3 tháng cho 12 lao động.")
    inspections.add_decision(session, None, case.id, kind="payment_plan", amount=60_000_000, due=date(2025, 7, 31))
    inspections.add_decision(session, None, case.id, kind="fine", amount=15_000_000)
    inspections.add_decision(session, None, case.id, kind="referral", note="Chuyển cơ quan công an")
    with pytest.raises(ValidationFailed):
        inspections.add_decision(session, None, case.id, kind="fine")
    with pytest.raises(ValidationFailed):
        inspections.add_decision(session, None, case.id, kind="payment_plan", amount=1)  # no due date
    with pytest.raises(ValidationFailed):
        inspections.add_decision(session, None, case.id, kind="pardon")
    payment = pay(session, payer_key=f"E:{employer.id}", amount=40_000_000, paid_on=date(2025, 6, 5), province="01",
                  allocate=[(bills[0], 20_000_000, "principal"), (bills[1], 20_000_000, "principal")])
    inspections.link_payment(session, None, case.id, payment.id)
    inspections.link_payment(session, None, case.id, payment.id)  # linking twice changes nothing
    other = make_employer(session, session.get(OrgUnit, employer.org_unit_id), "Công ty Khác")
    stranger = pay(session, payer_key=f"E:{other.id}", amount=1_000, paid_on=date(2025, 6, 5), province="01")
    with pytest.raises(ValidationFailed):
        inspections.link_payment(session, None, case.id, stranger.id)
    with pytest.raises(NotFound):
        inspections.link_payment(session, None, case.id, 999_999_999)
    summary = inspections.case_summary(session, case, on=date(2025, 6, 10))
    assert summary["paid"] == 40_000_000 and summary["arrears_now"] == 20_000_000
    assert [d["kind"] for d in summary["decisions"]] == ["payment_plan", "fine", "referral"]
    assert summary["decisions"][0]["due"] == "2025-07-31"
    with pytest.raises(ValidationFailed):
        inspections.close_case(session, None, case.id, on=date(2025, 5, 1))  # before it opened
    inspections.close_case(session, None, case.id, on=date(2025, 8, 1))
    assert case.status == "closed" and case.closed_on == date(2025, 8, 1)
    with pytest.raises(Conflict):
        inspections.record_findings(session, None, case.id, "late")
    assert [c.id for c in inspections.list_cases(session, None, status="closed")] == [case.id]
    reopened = inspections.open_case(session, None, employer_id=employer.id, on=date(2025, 9, 1))
    assert reopened.arrears_at_opening == 20_000_000


def test_scope(session, debtor, make_user, org):
    employer, _ = debtor
    case = inspections.open_case(session, None, employer_id=employer.id, on=date(2025, 5, 10))
    make_user("sonla_officer", org.sonla, Role.provincial_officer)
    outsider = auth_service.principal_for(session.query(User).filter_by(username="sonla_officer").one())
    with pytest.raises(PermissionDenied):
        inspections.get_case(session, outsider, case.id)
    with pytest.raises(PermissionDenied):
        inspections.open_case(session, outsider, employer_id=employer.id, on=date(2025, 5, 10))
    assert inspections.list_cases(session, outsider) == []
    with pytest.raises(NotFound):
        inspections.get_case(session, None, 999_999)


def test_api(db, org, make_user, app):
    from fastapi.testclient import TestClient

    from ansinh.collection.arrears_api import router

    if not any(getattr(route, "path", "") == "/api/v1/inspections" for route in app.routes):
        app.include_router(router)
    with db.unit_of_work() as session:
        hanoi = session.get(OrgUnit, org.hanoi.id)
        employer = make_employer(session, hanoi, "Công ty TNHH Nợ Đọng")
        make_bill(session, payer_key=f"E:{employer.id}", period=date(2025, 1, 1), due=date(2025, 1, 31),
                  total=5_000_000, unit=hanoi, province="01", employer_id=employer.id)
        payment = pay(session, payer_key=f"E:{employer.id}", amount=5_000_000, paid_on=date(2025, 6, 1),
                      province="01")
        employer_id, payment_id = employer.id, payment.id
    make_user("officer", org.hanoi, Role.provincial_officer)
    make_user("watcher", org.national, Role.supervisor)
    with TestClient(app, base_url="http://testserver") as client:
        officer, watcher = api_token(client, "officer"), api_token(client, "watcher")
        opened = client.post("/api/v1/inspections", json={"employer_id": employer_id, "opened_on": "2025-05-01"},
                             headers=officer)
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]
        assert opened.json()["arrears_at_opening"] == 5_000_000
        assert client.post("/api/v1/inspections", json={"employer_id": employer_id},
                           headers=watcher).status_code == 403
        assert client.post(f"/api/v1/inspections/{case_id}/findings", json={"findings": "Chậm đóng"},
                           headers=officer).status_code == 200
        bad = client.post(f"/api/v1/inspections/{case_id}/decisions", json={"kind": "fine"}, headers=officer)
        assert bad.status_code == 422
        assert client.post(f"/api/v1/inspections/{case_id}/decisions",
                           json={"kind": "fine", "amount": 2_000_000}, headers=officer).status_code == 200
        linked = client.post(f"/api/v1/inspections/{case_id}/payments", json={"payment_id": payment_id},
                             headers=officer)
        assert linked.status_code == 200 and linked.json()["paid"] == 5_000_000
        closed = client.post(f"/api/v1/inspections/{case_id}/close", json={"closed_on": "2025-06-30"},
                             headers=officer)
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        assert client.post(f"/api/v1/inspections/{case_id}/close", json={}, headers=officer).status_code == 409
        listed = client.get("/api/v1/inspections", params={"status": "closed"}, headers=watcher)
        assert [c["id"] for c in listed.json()] == [case_id]
        assert client.get(f"/api/v1/inspections/{case_id}", headers=watcher).json()["decisions"][0]["amount"] == 2_000_000
