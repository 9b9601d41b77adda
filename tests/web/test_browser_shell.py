"""The application shell in a real browser at a phone's size (390×844) and a desk's (1366×768): nothing wider than
the screen, the side navigation (a menu button on the phone, always there on the desk), a one-line top bar on the
desk, the global search, breadcrumbs. Screenshots of the dashboard at both sizes go to test-artifacts/."""

from __future__ import annotations

import pytest

from tests.web.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 768}
MAIN_PAGES = ["/", "/registry/people", "{person}", "/registry/employers", "/participation/summary",
              "/collection/arrears", "/collection/suspense", "/cards/lookup", "/admin/users", "/admin/org-units",
              "/rules", "/claims/files", "/claims", "/claims/review", "/claims/settlements", "/claims/prices",
              "/claims/costs", "/claims/budget-use", "/targets", "/targets/ranking", "/targets/plans"]


@pytest.fixture
def officer(demo_server, browser):
    """A function opening a signed-in page of the Hà Nội provincial officer at a size, in a language."""
    base, passwords, person = demo_server
    contexts = []

    def open_page(viewport: dict, locale: str = "vi"):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        sign_in(page, base, "hanoi.canbo", passwords["hanoi.canbo"], locale)
        page.problems = problems
        return page

    yield base, person, open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["390", "1366"])
def test_no_page_is_wider_than_the_screen(officer, viewport):
    base, person, open_page = officer
    page = open_page(viewport)
    too_wide = []
    for address in MAIN_PAGES:
        address = address.format(person=f"/registry/people/{person['person_id']}")
        response = page.goto(f"{base}{address}")
        assert response.status == 200, (address, response.status)
        width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""")
            too_wide.append(f"{address}: {width} px wide in {inner} px ({', '.join(wide)})")
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{base}/")
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{viewport['width']}.png"), full_page=True)
    assert not too_wide, "\n".join(too_wide)
    assert not page.problems, page.problems


def test_on_a_phone_the_menu_button_opens_the_navigation(officer):
    base, _, open_page = officer
    page = open_page(PHONE)
    navigation = page.get_by_test_id("sidenav")
    toggle = page.get_by_test_id("nav-toggle")
    assert toggle.is_visible() and not navigation.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert navigation.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    page.click('#sidenav a[data-nav="employers"]')
    page.wait_for_url(f"{base}/registry/employers")
    assert page.locator("h1").first.is_visible()
    assert not navigation.is_visible()  # the new page starts with the menu closed
    top = page.locator(".topbar").bounding_box()
    assert top["height"] < 130, top  # two rows at most: the bar, then the search
    toggle.click()
    page.keyboard.press("Escape")  # Escape closes it and gives the focus back to the button
    assert not navigation.is_visible()
    assert page.evaluate("() => document.activeElement.dataset.testid") == "nav-toggle"


def test_at_a_desk_the_navigation_is_there_and_the_top_bar_is_one_line(officer):
    base, _, open_page = officer
    for locale in ("vi", "en"):
        page = open_page(DESK, locale)
        assert page.get_by_test_id("sidenav").is_visible()
        assert not page.get_by_test_id("nav-toggle").is_visible()
        top = page.locator(".topbar").bounding_box()
        assert top["height"] < 70, (locale, top)
        # A section folds, and stays folded on the next page.
        section = page.locator('#sidenav details[data-section="collection"]')
        section.locator("summary").click()
        assert not section.locator('a[data-nav="collection_arrears"]').is_visible()
        page.goto(f"{base}/registry/people")
        assert not page.locator('#sidenav a[data-nav="collection_arrears"]').is_visible()
        page.locator('#sidenav details[data-section="collection"] summary').click()
        page.click('#sidenav a[data-nav="collection_arrears"]')
        page.wait_for_url(f"{base}/collection/arrears")
        assert page.locator('#sidenav a[data-nav="collection_arrears"]').get_attribute("aria-current") == "page"
        assert not page.problems, page.problems


def test_the_global_search_finds_a_person_by_name_and_by_citizen_id(officer):
    base, person, open_page = officer
    page = open_page(DESK)
    search = page.locator('[data-testid="global-search"] input[name="q"]')
    search.fill(person["full_name"])
    search.press("Enter")
    page.wait_for_url(f"{base}/search?*")
    assert page.locator(f'main a[href="/registry/people/{person["person_id"]}"]').count() >= 1
    page.locator('[data-testid="global-search"] input[name="q"]').fill(person["citizen_id"])
    page.locator('[data-testid="global-search"] input[name="q"]').press("Enter")
    page.wait_for_url(f"{base}/registry/people/{person['person_id']}")  # one match of an identifier: the record
    assert person["full_name"] in page.locator("h1").inner_text()


def test_breadcrumbs_show_home_section_and_page(officer):
    base, person, open_page = officer
    page = open_page(DESK, "en")
    page.goto(f"{base}/registry/people/{person['person_id']}")
    crumbs = page.get_by_test_id("breadcrumbs").locator("li")
    texts = [t.strip() for t in crumbs.all_inner_texts()]
    assert texts[:3] == ["Home", "Registry", "People"], texts
    assert person["full_name"] in texts[-1] and crumbs.last.get_attribute("aria-current") == "page"
    page.get_by_test_id("breadcrumbs").get_by_role("link", name="People").click()
    page.wait_for_url(f"{base}/registry/people")
    texts = [t.strip() for t in page.get_by_test_id("breadcrumbs").locator("li").all_inner_texts()]
    assert texts == ["Home", "Registry", "People"], texts
