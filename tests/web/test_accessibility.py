"""Accessibility of the main pages: axe-core (vendored from npm, tests/web/vendor/) run by Playwright in Debian's
chromium, as an officer, in both languages. Any serious or critical violation fails, all of them listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.conftest import sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
#: The main pages of an officer's day; ``{person}`` and ``{employer}`` are the first of their lists.
PAGES = ["/", "/registry/people", "{person}", "/registry/employers", "{employer}", "/participation/summary",
         "/collection/arrears", "/cards/lookup", "/admin/users", "/claims/files", "/claims", "/claims/review",
         "/claims/settlements", "/claims/costs", "/claims/budget-use", "/targets", "/targets/ranking",
         "/targets/plans", "/benefits", "/benefits/new", "/benefits/employer-batches"]
#: The audit log is an administrator's page.
ADMIN_PAGES = ["/admin/audit"]

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + " — " + (n.failureSummary || "").split("\\n").slice(1, 2).join(""))}));
}"""


def _first_record(page, base: str, listing: str, prefix: str) -> str:
    page.goto(f"{base}{listing}")
    href = page.locator(f"main a[href^='{prefix}']").evaluate_all(
        "(links, prefix) => links.map(a => a.getAttribute('href'))"
        ".filter(h => h.startsWith(prefix) && /^\\d+$/.test(h.slice(prefix.length)))", prefix)
    assert href, f"no record linked from {listing}"
    return href[0]


def _violations(browser, base: str, username: str, password: str, locale: str, pages: list[str]) -> list[str]:
    # The page's Content-Security-Policy (script-src 'self') would refuse the injected axe script.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        sign_in(page, base, username, password, locale)
        records = {}
        if any("{" in p for p in pages):
            records = {"person": _first_record(page, base, "/registry/people", "/registry/people/"),
                       "employer": _first_record(page, base, "/registry/employers", "/registry/employers/")}
        found = []
        for address in pages:
            address = address.format(**records)
            response = page.goto(f"{base}{address}")
            assert response.status < 400, (address, response.status)
            page.add_script_tag(path=str(AXE))
            for violation in page.evaluate(RUN_AXE):
                nodes = "; ".join(violation["nodes"])
                found.append(f"{address} [{locale}] {violation['impact']} {violation['id']}: {violation['help']} — {nodes}")
        return found
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_main_pages_have_no_serious_accessibility_violation(demo_server, browser, locale):
    base, passwords, _ = demo_server
    found = _violations(browser, base, "hanoi.canbo", passwords["hanoi.canbo"], locale, PAGES)
    found += _violations(browser, base, "hanoi.quantri", passwords["hanoi.quantri"], locale, ADMIN_PAGES)
    assert not found, f"{len(found)} serious or critical violations:\n" + "\n".join(found)
