"""The jobs pages in a real browser at a phone's size (390×844), in Vietnamese: a provincial officer starts a job from
the form (the province's report files of a month), lands on the job's page, watches its progress bar fill (polled
while it runs) and finds its files; nothing is wider than the screen, no script error."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _too_wide(page) -> bool:
    width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return width > inner


def test_an_officer_starts_a_job_on_a_phone_and_watches_it_end(demo_server, browser):
    base, passwords, _ = demo_server
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())  # the form asks to confirm
    try:
        sign_in(page, base, "hanoi.canbo", passwords["hanoi.canbo"], "vi")
        assert page.goto(f"{base}/jobs").status == 200
        assert not _too_wide(page)
        form = page.get_by_test_id("job-start-form")
        form.get_by_test_id("job-kind").select_option("report_export")
        form.get_by_test_id("job-period").fill("2026-10")
        province = form.get_by_test_id("job-province")
        if province.locator("option[value='01']").count():
            province.select_option("01")
        form.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(rf"{re.escape(base)}/jobs/\d+$"))
        progress = page.get_by_test_id("job-progress")
        page.wait_for_function(
            "() => ['completed', 'completed_with_errors', 'failed'].includes("
            "document.querySelector('[data-testid=job-progress]').dataset.status)", timeout=60_000)
        assert progress.get_attribute("data-status") == "completed", page.content()[:2000]
        bar = progress.locator("progress")
        assert bar.get_attribute("value") == bar.get_attribute("max")
        assert "Hoàn thành" in progress.inner_text() or "hoàn thành" in progress.inner_text()
        page.reload()  # the file list is on the page of the finished job
        links = page.locator("a[href*='/files/']")
        assert links.count() == 2, page.content()[:3000]
        assert not _too_wide(page)
        assert not problems, problems
    finally:
        context.close()
