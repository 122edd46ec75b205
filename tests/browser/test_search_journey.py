"""A client searches from the home page, narrows, and opens a profile, in Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from directory.search import query as search_query
from tests.browser.axe import serious_violations
from tests.browser.helpers import assert_accessible, found_count, is_focused, skip_to_main, tab_to

pytestmark = pytest.mark.browser
# Set to a folder (docs/screenshots) to keep the pages as a person sees them at both sizes.
SCREENSHOTS = Path(os.environ["SEARCH_SCREENSHOTS"]) if os.environ.get("SEARCH_SCREENSHOTS") else None


def test_client_searches_by_zip_insurance_and_format_narrows_and_opens_a_profile(
    page: object, live_server: object, directory_data: None
) -> None:
    page.goto(live_server.url)
    assert page.title().startswith("Find a therapist")
    assert_accessible(page)
    page.get_by_label("Near: ZIP code").fill("60601")
    page.get_by_label("Within", exact=True).select_option("25")
    page.get_by_label("Insurance", exact=True).select_option(label="Medicaid (state fee-for-service)")
    page.get_by_role("checkbox", name="Individual", exact=True).check()
    page.get_by_role("button", name="Search").click()

    assert "within 25 miles of 60601" in page.get_by_role("heading", level=2, name="found").inner_text()
    assert page.get_by_role("link", name="Remove filter: Medicaid (state fee-for-service)").is_visible()
    assert_accessible(page)
    broad = found_count(page)
    assert broad > 1
    assert not page.get_by_label("Within", exact=True).is_visible()  # the form is folded: results first
    page.get_by_text("Edit filters").click()
    page.get_by_label("Within", exact=True).select_option("10")
    page.get_by_role("checkbox", name="Grief and loss", exact=True).check()
    page.get_by_role("button", name="Search").click()

    narrow = found_count(page)
    assert 0 < narrow < broad
    assert "within 10 miles of 60601" in page.get_by_role("heading", level=2, name="found").inner_text()
    page.get_by_text("Edit filters").click()
    assert page.get_by_label("Near: ZIP code").input_value() == "60601"
    assert page.get_by_label("Within", exact=True).input_value() == "10"
    assert page.get_by_label("Insurance", exact=True).input_value() == "medicaid"
    for name in ("Individual", "Grief and loss"):
        assert page.get_by_role("checkbox", name=name, exact=True).is_checked(), name
    first_card = page.locator("article.therapist-card").first
    assert "mi away" in first_card.inner_text()
    assert "Grief and loss" in first_card.inner_text()

    name = first_card.get_by_role("link").first.inner_text()
    first_card.get_by_role("link").first.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(name)
    assert page.get_by_role("heading", name="Availability").is_visible()
    assert page.get_by_role("heading", name="Insurance and fees").is_visible()
    assert_accessible(page)


def test_after_a_search_from_the_home_page_the_first_result_is_on_the_first_screen(
    page: object, live_server: object, directory_data: None
) -> None:
    page.goto(live_server.url)
    page.get_by_label("Near: ZIP code").fill("60601")
    page.get_by_label("Insurance", exact=True).select_option(label="Medicaid (state fee-for-service)")
    page.get_by_role("checkbox", name="Individual", exact=True).check()
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/therapists/?*")
    assert found_count(page) > 0

    height = page.viewport_size["height"]
    count = page.get_by_role("heading", level=2, name="found").bounding_box()
    first_card = page.locator("article.therapist-card").first.bounding_box()
    assert count["y"] + count["height"] <= height
    assert first_card["y"] < height, f"the first result starts at {first_card['y']}px in a {height}px window"
    assert page.evaluate("window.scrollY") == 0
    assert_accessible(page)


def test_a_chips_cross_removes_that_filter_and_only_it(page: object, live_server: object, directory_data: None) -> None:
    page.goto(f"{live_server.url}/therapists/?near=60601&radius=10&insurance=medicaid&format=individual")
    narrow = found_count(page)
    assert narrow > 0
    page.get_by_role("link", name="Remove filter: Medicaid (state fee-for-service)").click()
    page.wait_for_url(lambda address: "insurance=" not in address)

    assert "near=60601" in page.url and "radius=10" in page.url and "format=individual" in page.url
    assert found_count(page) > narrow
    assert page.get_by_role("link", name="Remove filter: Medicaid (state fee-for-service)").count() == 0
    assert page.get_by_role("link", name="Remove filter: Individual").is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Remove filter: Within 10 miles of 60601").click()
    page.wait_for_url(lambda address: "near=" not in address and "radius=" not in address)
    assert "within" not in page.get_by_role("heading", level=2, name="found").inner_text()


def test_an_unknown_place_is_named_in_an_accessible_error(
    page: object, live_server: object, directory_data: None
) -> None:
    page.goto(f"{live_server.url}/therapists/?near=00000")
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Near: ZIP code").get_attribute("aria-invalid") == "true"
    assert_accessible(page)


def test_search_form_works_with_the_keyboard_alone(page: object, live_server: object, directory_data: None) -> None:
    page.goto(live_server.url)
    skip_to_main(page)
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_label("Near: ZIP code"))
    page.keyboard.type("60614")
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_label("Within", exact=True))
    page.keyboard.press("ArrowDown")  # 25 -> 50 miles
    tab_to(page, page.get_by_role("checkbox", name="Online (telehealth)", exact=True))
    page.keyboard.press("Space")
    tab_to(page, page.locator("summary", has_text="More filters"))
    page.keyboard.press("Enter")  # opens the insurance, focus and other filters
    tab_to(page, page.get_by_role("checkbox", name="Grief and loss", exact=True))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Search"))
    page.keyboard.press("Enter")

    page.wait_for_url("**/therapists/?*near=60614*")
    assert "within 50 miles of 60614" in page.get_by_role("heading", level=2, name="found").inner_text()
    page.get_by_text("Edit filters").click()
    assert page.get_by_role("checkbox", name="Online (telehealth)", exact=True).is_checked()
    assert page.get_by_role("checkbox", name="Grief and loss", exact=True).is_checked()
    assert found_count(page) > 0


def test_the_accessibility_check_catches_a_missing_label(page: object) -> None:
    page.set_content("<!doctype html><html lang='en'><title>t</title><main><input type='text'></main></html>")
    assert any(finding.startswith("label") for finding in serious_violations(page))


def test_a_search_that_finds_nobody_names_the_blocker_and_its_link_finds_therapists(
    page: object, live_server: object, directory_data: None
) -> None:
    page.goto(f"{live_server.url}/therapists/?near=60601&radius=25")
    broad = found_count(page)
    assert broad > 0
    page.get_by_text("Edit filters").click()
    page.get_by_label("Language", exact=True).select_option(label="Yiddish")
    page.get_by_role("button", name="Search").click()

    assert found_count(page) == 0
    explanation = page.get_by_role("region", name="No therapists match all of your filters")
    assert "The blocker is Yiddish: without it, " in explanation.inner_text()
    assert "The nearest match is" in explanation.inner_text()
    assert_accessible(page)
    suggestion = explanation.get_by_role("listitem").filter(has=page.get_by_role("link", name="Search without Yiddish"))
    offered = int(suggestion.inner_text().split(": ")[1].split()[0])
    suggestion.get_by_role("link").click()

    assert found_count(page) == offered == broad
    assert "language=" not in page.url
    assert page.get_by_role("link", name="Remove filter: Yiddish").count() == 0
    assert page.get_by_label("Near: ZIP code").input_value() == "60601"
    assert_accessible(page)


def test_past_the_count_threshold_the_page_says_or_more_and_pages_on(
    page: object, live_server: object, directory_data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a dense metro the count stops at the threshold: the page says so, and its pages still lead on."""
    monkeypatch.setattr(search_query, "COUNT_THRESHOLD", 3)  # the live server runs in this process
    page.goto(f"{live_server.url}/therapists/?near=60601&radius=50&page_size=2")

    heading = page.get_by_role("heading", level=2, name="found").inner_text()
    assert heading.startswith("3 or more therapists found within 50 miles of 60601"), heading
    assert page.get_by_text("Page 1 of 2 or more").is_visible()
    assert_accessible(page)
    first = page.locator("article.therapist-card").first.inner_text()
    tab_to(page, page.get_by_role("link", name="Next page"))
    page.keyboard.press("Enter")
    page.wait_for_url("**page=2*")
    assert page.locator("article.therapist-card").count() == 2
    assert page.locator("article.therapist-card").first.inner_text() != first
    assert page.get_by_role("link", name="Previous page").is_visible()
    if SCREENSHOTS:
        width = page.viewport_size["width"]
        page.screenshot(path=str(SCREENSHOTS / f"results-bounded-{width}.png"), full_page=True)
