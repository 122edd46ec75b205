"""A client searches from the home page, narrows, and opens a profile, in Chromium."""

from __future__ import annotations

import pytest

from tests.browser.axe import serious_violations

pytestmark = pytest.mark.browser


def test_client_searches_by_zip_and_opens_a_profile(page: object, live_server: object, directory_data: None) -> None:
    page.goto(live_server.url)
    assert page.title().startswith("Find a therapist")
    assert serious_violations(page) == []
    page.get_by_label("Near: ZIP code").fill("11215")
    page.get_by_label("Within").select_option("25")
    page.get_by_role("checkbox", name="Individual").check()
    page.get_by_role("button", name="Search").click()

    heading = page.get_by_role("heading", level=2, name="therapists found")
    assert serious_violations(page) == []
    assert heading.is_visible()
    assert "within 25 miles of 11215" in heading.inner_text()
    assert page.get_by_label("Near: ZIP code").input_value() == "11215"
    assert page.get_by_role("checkbox", name="Individual").is_checked()
    first_card = page.locator("article.therapist-card").first
    assert "mi away" in first_card.inner_text()

    name = first_card.get_by_role("link").first.inner_text()
    first_card.get_by_role("link").first.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(name)
    assert page.get_by_role("heading", name="Availability").is_visible()
    assert page.get_by_role("heading", name="Insurance and fees").is_visible()
    assert serious_violations(page) == []


def test_search_form_works_with_the_keyboard_alone(page: object, live_server: object, directory_data: None) -> None:
    page.goto(live_server.url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.get_by_label("Near: ZIP code").focus()
    page.keyboard.type("60614")
    page.keyboard.press("Enter")
    page.wait_for_url("**/therapists/?*near=60614*")
    assert "60614" in page.get_by_role("heading", level=2, name="found").inner_text()


def test_the_accessibility_check_catches_a_missing_label(page: object) -> None:
    page.set_content("<!doctype html><html lang='en'><title>t</title><main><input type='text'></main></html>")
    assert any(finding.startswith("label") for finding in serious_violations(page))
