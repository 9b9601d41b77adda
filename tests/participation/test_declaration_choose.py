"""An officer opening "Declare workers" chooses the employer first (by tax code or name, in their scope)."""

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership
from tests.conftest import web_login

HTML = {"Accept": "text/html"}


def test_an_officer_chooses_the_employer_then_gets_the_form(client, db, org, make_user):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        mine = registry.create_employer(s, registry.EmployerData(tax_code="0100109106", name="Công ty An Bình",
                                                                 ownership=Ownership.private, region="I"),
                                        s.get(OrgUnit, org.hanoi.id)).id
        registry.create_employer(s, registry.EmployerData(tax_code="5500001000", name="Hợp tác xã An Châu",
                                                          ownership=Ownership.cooperative, region="III"),
                                 s.get(OrgUnit, org.sonla.id))
    make_user("hn", org.hanoi, Role.provincial_officer)
    web_login(client, "hn")
    first = client.get("/participation/declarations/new", headers=HTML)
    assert first.status_code == 200 and 'data-testid="declaration-employer-search"' in first.text
    # One match (in scope: Sơn La's cooperative is not offered) goes straight to the form.
    chosen = client.get("/participation/declarations/new", params={"employer": "an"}, headers=HTML,
                        follow_redirects=False)
    assert chosen.status_code == 303
    assert chosen.headers["location"] == f"/participation/declarations/new?employer_id={mine}"
    form = client.get(chosen.headers["location"], headers=HTML)
    assert form.status_code == 200 and "Công ty An Bình" in form.text and "Hợp tác xã An Châu" not in form.text
    none = client.get("/participation/declarations/new", params={"employer": "5500001000"}, headers=HTML)
    assert none.status_code == 200 and "Hợp tác xã An Châu" not in none.text
