"""The offices map in Chromium: markers for every located office, with the tile server unreachable or answering,
usable with the keyboard, accessible, and absent without JavaScript."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator

import pytest

from config.settings import map_tile_origin
from directory.models import Office, Therapist
from tests.browser.helpers import assert_accessible, is_focused, tab_to

pytestmark = pytest.mark.browser

TILE_URL = "https://tiles.example.test/{z}/{x}/{y}.png"
TILE_ORIGIN = "https://tiles.example.test"
# A 1x1 PNG, what a reachable tile server answers in these tests.
TILE_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)
SEARCH = "/therapists/?near=60601&radius=25"


@pytest.fixture
def tiles(settings: object) -> None:
    """Tiles configured as an operator would: the URL, its credit, and its origin in the CSP's img-src."""
    settings.MAP_TILE_URL = TILE_URL
    settings.MAP_TILE_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["img-src"].append(map_tile_origin(TILE_URL))
    settings.CONTENT_SECURITY_POLICY = policy


@pytest.fixture
def console_errors(page: object) -> Iterator[list[str]]:
    """Errors the page logs or throws. The browser's own notice of a tile it could not fetch is left out:
    it reports the unreachable server, and no script can silence it; so is the site's missing favicon."""
    errors: list[str] = []

    def on_console(message: object) -> None:
        url = message.location["url"]
        not_ours = url.startswith(TILE_ORIGIN) or url.endswith("/favicon.ico")
        if message.type == "error" and not (message.text.startswith("Failed to load resource") and not_ours):
            errors.append(f"{message.text} at {message.location['url']}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield errors


def open_map(page: object) -> None:
    """Phones see the map collapsed above the results; wide screens see it open beside them."""
    summary = page.locator(".map-panel summary")
    if summary.is_visible():
        assert not page.locator(".map").is_visible()
        summary.click()
    page.locator(".map.leaflet-container").wait_for()


def offices_of_listed(page: object) -> int:
    """Offices with coordinates of the therapists the page lists, counted in the database."""
    links = page.locator("article.therapist-card h3 a")
    slugs = [href.strip("/").split("/")[-1] for href in links.evaluate_all("links => links.map(a => a.pathname)")]
    assert len(slugs) > 1
    return Office.objects.filter(therapist__slug__in=slugs, latitude__isnull=False, longitude__isnull=False).count()


def test_the_results_map_marks_every_office_while_the_tile_server_is_unreachable(
    page: object, live_server: object, directory_data: None, tiles: None, console_errors: list[str]
) -> None:
    asked: list[str] = []

    def refuse(route: object) -> None:
        asked.append(route.request.url)
        route.abort()

    page.route(f"{TILE_ORIGIN}/**", refuse)
    page.goto(live_server.url + SEARCH)
    open_map(page)
    markers = page.locator(".leaflet-marker-icon")
    markers.first.wait_for()
    assert markers.count() == offices_of_listed(page) > 1
    page.wait_for_function("() => document.querySelectorAll('.leaflet-tile').length === 0")
    assert asked, "the map never asked for a tile"
    assert page.locator(".map").get_attribute("role") == "region"
    assert page.locator(".map").get_attribute("aria-label") == "Map of the offices of the therapists on this page"
    assert_accessible(page)
    assert console_errors == []


def test_tiles_from_the_configured_server_pass_the_content_security_policy(
    page: object, live_server: object, directory_data: None, tiles: None, console_errors: list[str]
) -> None:
    page.route(f"{TILE_ORIGIN}/**", lambda route: route.fulfill(status=200, content_type="image/png", body=TILE_PNG))
    page.goto(live_server.url + SEARCH)
    open_map(page)
    page.locator(".leaflet-tile-loaded").first.wait_for()
    assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
    assert_accessible(page)
    assert console_errors == []  # a tile refused by the policy would be logged here


def test_without_tiles_the_markers_stand_on_a_plain_background(
    page: object, live_server: object, directory_data: None, console_errors: list[str]
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(live_server.url + SEARCH)
    open_map(page)
    assert page.locator(".leaflet-marker-icon").count() == offices_of_listed(page)
    assert page.locator(".leaflet-tile").count() == 0
    assert all(url.startswith(live_server.url) for url in requests), "the page asked another server"
    assert_accessible(page)
    assert console_errors == []


def test_a_marker_is_reached_by_keyboard_names_its_therapist_and_opens_a_link_to_the_profile(
    page: object, live_server: object, directory_data: None, console_errors: list[str]
) -> None:
    page.goto(live_server.url + SEARCH)
    open_map(page)
    marker = page.locator(".leaflet-marker-icon").first
    title = marker.get_attribute("title")
    name, city = title.split(", ")[:2]
    assert marker.get_attribute("alt") == title and city
    page.locator(".map").focus()
    tab_to(page, marker)
    page.keyboard.press("Enter")
    link = page.locator(".leaflet-popup .map-popup a", has_text=name).first
    link.wait_for()
    assert page.evaluate("document.activeElement.closest('.leaflet-popup') !== null")
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.querySelector('.leaflet-popup') === null")
    assert is_focused(marker)
    page.keyboard.press("Enter")
    page.locator(".leaflet-popup .map-popup a").first.wait_for()
    page.keyboard.press("Enter")  # the focused link: the first therapist at that spot
    page.wait_for_url("**/therapists/*/")
    assert page.get_by_role("heading", level=1).is_visible()
    assert console_errors == []


def test_the_map_stays_out_of_the_way_of_the_list(page: object, live_server: object, directory_data: None) -> None:
    page.goto(live_server.url + SEARCH)
    first_result = page.locator("article.therapist-card").first.bounding_box()
    panel = page.locator(".map-panel").bounding_box()
    if page.viewport_size["width"] < 960:
        # Above the results, one line high until asked for.
        assert panel["y"] + panel["height"] <= first_result["y"] and panel["height"] < 60
    else:
        # Beside the results, and still beside them further down the page.
        assert panel["x"] >= first_result["x"] + first_result["width"]
        # A keyboard user need not tab through every marker to reach the list.
        page.locator(".map-skip").focus()
        assert page.locator(".map-skip").is_visible()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert is_focused(page.locator("article.therapist-card h3 a").first)
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(200)
        box = page.locator(".map").bounding_box()
        assert 0 <= box["y"] < page.viewport_size["height"]


def test_a_profile_maps_its_offices(
    page: object, live_server: object, directory_data: None, tiles: None, console_errors: list[str]
) -> None:
    page.route(f"{TILE_ORIGIN}/**", lambda route: route.abort())
    therapist = Therapist.objects.filter(offices__isnull=False).order_by("pk").first()
    page.goto(live_server.url + therapist.get_absolute_url())
    open_map(page)
    markers = page.locator(".leaflet-marker-icon")
    markers.first.wait_for()
    assert markers.count() == therapist.offices.filter(latitude__isnull=False).count()
    assert markers.first.get_attribute("title").startswith(therapist.full_name + ", ")
    assert_accessible(page)
    assert console_errors == []


def test_without_javascript_there_is_no_map(browser: object, live_server: object, directory_data: None) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + SEARCH)
    assert page.locator("article.therapist-card").count() > 1
    assert not page.locator(".map-panel").is_visible()
    assert not page.get_by_text("Show map").is_visible()
    context.close()
