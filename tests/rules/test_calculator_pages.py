"""The calculators on the web: a form per calculator generated from its input model, the answer in the reader's
format and equal to the API's, the field named on a bad input, and no 500 whatever is typed."""

from __future__ import annotations

import html
import re

import pytest
from markupsafe import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansinh import i18n
from ansinh.auth.models import Role
from ansinh.formatting import money, number
from ansinh.rules import pages
from ansinh.rules.calculator import calculators
from tests.conftest import web_login
from tests.rules.conftest import load_cases

HTML = {"Accept": "text/html"}


def _first_inputs() -> dict[str, dict]:
    """One good input per calculator: the first worked example of its cases."""
    found: dict[str, dict] = {}
    for _, case in load_cases():
        if "expected" in case and case["calculator"] not in found:
            found[case["calculator"]] = {k: str(v) for k, v in case["input"].items()}
    return found


GOOD = _first_inputs()
#: The calculators read no database (only the sign-in does): SQLite is enough (see tests/conftest.py).
ONE_DATABASE = True


@pytest.fixture
def signed_in(client, org, make_user):
    make_user("citizen.an", org.hanoi, Role.citizen)  # the least-privileged signed-in role sees the calculators
    assert web_login(client, "citizen.an").status_code == 303
    return client


def _output(page: str, path: str) -> str:
    match = re.search(rf'<tr data-output="{re.escape(path)}"><th[^>]*>[^<]*</th><td class="num">([^<]*)</td>', page)
    assert match, f"no output {path}"
    return html.unescape(match.group(1))


def _label(page: str, name: str) -> str:
    match = re.search(rf'<label for="field-{name}">(.*?)</label>', page, re.S) or \
        re.search(rf'<input type="checkbox" name="{name}"[^>]*>(.*?)</label>', page, re.S)
    assert match, f"no label for {name}"
    return html.unescape(match.group(1)).replace(" (₫)", "").strip()


def test_every_calculator_has_labels_summary_and_an_example():
    for name, calculator in calculators().items():
        assert name in pages.SUMMARIES and name in GOOD, name
        for field in calculator.inputs.model_fields:
            assert field in pages.INPUT_LABELS or field in pages.INPUT_LABELS_BY_CALCULATOR.get(name, {}), field
        rows = pages.result_rows(calculator, calculator.compute(calculator.inputs.model_validate(GOOD[name]),
                                                                pages.get_parameters()))
        for row in rows:
            assert row.label != row.name.rsplit(".", 1)[-1], f"{name}: no label for output {row.name}"


def test_the_list_names_every_calculator_in_both_languages(signed_in):
    page = signed_in.get("/rules/calculators", headers=HTML)
    assert page.status_code == 200
    assert "<h1>Công cụ tính</h1>" in page.text
    assert "Lãi chậm đóng" in page.text or "lãi" in page.text.lower()
    for name in calculators():
        assert f'href="/rules/calculators/{name}"' in page.text
    assert 'href="/rules/calculators"' in page.text  # in the navigation, for a citizen too
    signed_in.get("/lang/en")
    english = signed_in.get("/rules/calculators", headers=HTML).text
    assert "<h1>Calculators</h1>" in english
    assert "Compulsory contributions for one worker and month" in english


@pytest.mark.parametrize("name", sorted(calculators()))
def test_each_calculator_page_renders_in_vietnamese_and_english(signed_in, name):
    calculator = calculators()[name]
    page = signed_in.get(f"/rules/calculators/{name}", headers=HTML)
    assert page.status_code == 200, page.text[:300]
    with i18n.use_locale("vi"):
        summary = i18n.gettext(pages.SUMMARIES[name])
    assert summary != pages.SUMMARIES[name]
    assert f"<h1>{escape(summary)}</h1>" in page.text
    assert 'data-testid="calculator-result"' not in page.text  # nothing computed before the form is sent
    for field, info in calculator.inputs.model_fields.items():
        shown = _label(page.text, field)
        english = pages.INPUT_LABELS_BY_CALCULATOR.get(name, {}).get(field) or pages.INPUT_LABELS[field]
        assert shown != english, f"{field}: {shown!r} left in English"
        if field == "on":
            from ansinh.clock import today
            assert f'name="on" value="{today().isoformat()}"' in page.text
    signed_in.get("/lang/en")
    english_page = signed_in.get(f"/rules/calculators/{name}", headers=HTML)
    assert english_page.status_code == 200
    assert f"<h1>{escape(pages.SUMMARIES[name])}</h1>" in english_page.text


def test_the_form_has_typed_inputs_defaults_and_translated_choices(signed_in):
    page = signed_in.get("/rules/calculators/hi-share", headers=HTML).text
    assert 'type="date" name="on"' in page
    assert 'type="number" inputmode="numeric" step="1" name="cost" value="" min="0" max="1000000000000"' in page
    assert 'type="checkbox" name="five_years_over_cap"' in page and "checked" not in page
    # the model's default, translated
    assert '<option value="in" selected>Đúng quy định chuyển người bệnh hoặc tại nơi đăng ký ban đầu</option>' in page
    assert '<option value="specialised" >Cấp chuyên sâu</option>' in page
    assert '<option value="central" >Tuyến trung ương (trước năm 2025)</option>' in page


@pytest.mark.parametrize("name, outputs", [
    ("contributions", ["total", "employer.total", "employee.health", "insured_salary.si"]),
    ("late-interest", ["days_late", "interest", "new_regime_interest"]),
    ("hi-share", ["rate", "fund_pays", "patient_pays", "rule"]),
])
def test_the_page_answers_as_the_api_the_vietnamese_way(signed_in, name, outputs):
    inputs = GOOD[name]
    answer = signed_in.get(f"/api/v1/calc/{name}", params=inputs)
    assert answer.status_code == 200
    data = answer.json()
    page = signed_in.get(f"/rules/calculators/{name}", params=inputs, headers=HTML)
    assert page.status_code == 200, page.text[:500]
    for path in outputs:
        value = data
        for key in path.split("."):
            value = value[key]
        shown = _output(page.text, path)
        if path == "rule":
            with i18n.use_locale("vi"):
                assert shown == i18n.gettext(pages.OPTION_LABELS["rule"][value])
        elif isinstance(value, float):
            assert shown.endswith("%") and number(value * 100, "vi", decimals=0) in shown
        elif path.endswith("days_late"):
            assert shown == number(value, "vi")
        else:
            assert shown == money(value, "vi")
            assert "₫" in shown and ("," not in shown)
    assert f'href="/api/v1/calc/{name}?' in page.text
    # the inputs stay in the form, so the page can be linked and corrected
    first = next(iter(inputs))
    assert f'name="{first}" value="{html.escape(inputs[first])}"' in page.text or "selected" in page.text


def test_household_members_are_a_table_in_dong(signed_in):
    data = signed_in.get("/api/v1/calc/household-hi", params={"members": 3, "on": "2025-03-01"}).json()
    page = signed_in.get("/rules/calculators/household-hi", params={"members": 3, "on": "2025-03-01"}, headers=HTML)
    assert page.status_code == 200
    for member in data["members"]:
        assert html.escape(money(member["annual"], "vi")) in page.text or money(member["annual"], "vi") in page.text
    assert _output(page.text, "total_annual") == money(data["total_annual"], "vi")


def test_a_bad_input_is_named_beside_its_field_and_kept(signed_in):
    page = signed_in.get("/rules/calculators/contributions",
                         params={"salary": "mười triệu", "on": "2025-01-15", "region": "I"}, headers=HTML)
    assert page.status_code == 422
    assert re.search(r'data-testid="error-salary">Nhập một số nguyên\.<', page.text)
    assert 'value="mười triệu"' in page.text
    assert 'data-testid="calculator-result"' not in page.text
    over = signed_in.get("/rules/calculators/pension-rate",
                         params={"sex": "male", "years": "61", "on": "2025-01-15"}, headers=HTML)
    assert over.status_code == 422 and 'data-testid="error-years">Nhập 60 trở xuống.<' in over.text
    missing = signed_in.get("/rules/calculators/contributions", params={"salary": "1000000", "on": "2025-01-15"},
                            headers=HTML)
    assert missing.status_code == 422 and 'data-testid="error-region">Nhập giá trị.<' in missing.text
    # a rule of the calculation itself (the payment before the due date) names its field, in Vietnamese
    late = signed_in.get("/rules/calculators/late-interest",
                         params={"amount": "1000000", "due": "2025-03-01", "paid": "2025-02-01"}, headers=HTML)
    assert late.status_code == 422
    error = re.search(r'data-testid="error-paid">([^<]+)<', late.text)
    assert error and html.unescape(error.group(1)).startswith("Ngày nộp")
    early = signed_in.get("/rules/calculators/contributions",
                          params={"salary": "1000000", "on": "1900-01-01", "region": "I"}, headers=HTML)
    assert early.status_code == 422 and re.search(r'data-testid="error-on">[^<]+<', early.text)
    signed_in.get("/lang/en")
    english = signed_in.get("/rules/calculators/contributions", params={"salary": "-5", "on": "2025-01-15",
                                                                         "region": "I"}, headers=HTML)
    assert english.status_code == 422 and 'data-testid="error-salary">Enter 0 or more.<' in english.text


def test_an_unknown_calculator_is_404(signed_in):
    assert signed_in.get("/rules/calculators/horoscope", headers=HTML).status_code == 404


def test_the_calculators_need_a_signed_in_user(client):
    assert client.get("/rules/calculators", headers=HTML, follow_redirects=False).status_code == 303
    assert client.get("/rules/calculators/contributions", headers=HTML, follow_redirects=False).status_code == 303


NASTY = ["", " ", "-1", "0", "1e400", "99999999999999999999999999999", "１２３", "0x10", "NaN", "inf", "1.5", "\x00",
         "<script>alert(1)</script>", "' OR 1=1 --", "2025-02-30", "0000-00-00", "0001-01-01", "9999-12-31",
         "2025-01-01T10:00", "true", "on", "I", "ü" * 300]


@pytest.mark.parametrize("name", sorted(calculators()))
def test_no_typed_value_makes_a_500(signed_in, name):
    calculator = calculators()[name]
    for field in calculator.inputs.model_fields:
        for value in NASTY:
            page = signed_in.get(f"/rules/calculators/{name}", params={**GOOD[name], field: value}, headers=HTML)
            assert page.status_code in (200, 422), (field, value, page.text[:300])
            if page.status_code == 422 and "\x00" not in value:  # a NUL is refused by the app, before the page
                assert 'class="field-error"' in page.text, (field, value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries({
    "amount": st.one_of(st.integers(-10, 10**13).map(str), st.text(max_size=12)),
    "due": st.one_of(st.dates().map(str), st.text(max_size=12)),
    "paid": st.one_of(st.dates().map(str), st.text(max_size=12)),
    "fund": st.sampled_from(["si", "ui", "hi", "", "xx"]),
}))
def test_late_interest_never_fails_whatever_the_input(signed_in, values):
    page = signed_in.get("/rules/calculators/late-interest", params=values, headers=HTML)
    assert page.status_code in (200, 422), (values, page.text[:300])
