"""A client answers "Find my match" and reads a ranked, explained shortlist, in Chromium."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import assert_accessible, is_focused, skip_to_main, tab_to

pytestmark = pytest.mark.browser

GRIEF = "I lost someone important to me."


def fit_scores(page: object) -> list[int]:
    badges = page.locator("#results-heading ~ ol.results .badge", has_text="Fit ").all_inner_texts()
    return [int(re.search(r"Fit (\d+)", badge).group(1)) for badge in badges]


def test_client_takes_the_questionnaire_and_sees_ranked_results_with_reasons(
    page: object, live_server: object, directory_data: None
) -> None:
    page.goto(live_server.url)
    page.get_by_role("link", name="Find my match").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Find my match"
    assert_accessible(page)

    page.get_by_label("Your ZIP code").fill("00000")
    page.get_by_role("button", name="Show my matches").click()
    assert "could not locate" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Your ZIP code").get_attribute("aria-invalid") == "true"
    assert_accessible(page)

    page.get_by_label("Your ZIP code").fill("60601")
    page.get_by_label("Insurance").select_option(label="Medicaid (state fee-for-service)")
    page.get_by_role("checkbox", name="Individual", exact=True).check()
    page.get_by_role("checkbox", name="Online (telehealth)", exact=True).check()
    page.get_by_role("checkbox", name=GRIEF).check()
    page.get_by_role("button", name="Show my matches").click()

    heading = page.get_by_role("heading", level=2, name=re.compile(r"match(es)? near"))
    assert re.match(r"[1-9]\d* match(es)? near 60601 \(Chicago, IL\)", heading.inner_text())
    # The results are on the first screen; the answers wait, folded, under "Change your answers".
    assert heading.bounding_box()["y"] < page.viewport_size["height"] / 2
    assert page.get_by_text("Change your answers", exact=True).first.is_visible()
    assert not page.get_by_label("Your ZIP code").is_visible()
    scores = fit_scores(page)
    assert scores and scores == sorted(scores, reverse=True)
    first = page.locator("#results-heading ~ ol.results > li").first
    reasons = first.locator("ul.reasons li").all_inner_texts()
    assert "Accepts Medicaid (state fee-for-service)" in reasons
    assert any(reason.startswith("Focus: Grief and loss") for reason in reasons)
    first.get_by_text("How the score adds up").click()
    assert first.get_by_role("table").is_visible()
    assert page.get_by_role("heading", name="Not shown, and why").is_visible()
    # The answers stay in the form, to be adjusted.
    page.locator("summary", has_text="Change your answers").click()
    assert page.get_by_label("Your ZIP code").input_value() == "60601"
    assert page.get_by_role("checkbox", name=GRIEF).is_checked()
    assert_accessible(page)


def test_match_questionnaire_works_with_the_keyboard_alone(
    page: object, live_server: object, directory_data: None
) -> None:
    page.goto(f"{live_server.url}/match/")
    skip_to_main(page)
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_label("Your ZIP code"))
    page.keyboard.type("60601")
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_label("Insurance"))
    page.keyboard.type("Medicaid (")  # a select's type-ahead
    tab_to(page, page.get_by_role("checkbox", name="Individual", exact=True))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("checkbox", name=GRIEF))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Show my matches"))
    page.keyboard.press("Enter")

    page.wait_for_url("**/match/?*postal_code=60601*")
    assert "insurance=medicaid&" in page.url and "focus_areas=grief-loss" in page.url
    assert fit_scores(page)
