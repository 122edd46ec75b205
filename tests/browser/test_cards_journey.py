"""A client compares result cards, opens a profile, contacts the therapist or goes back to the results: in Chromium."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from directory import photos
from directory.models import Therapist
from tests.browser.helpers import assert_accessible
from tests.conftest import make_therapist, valid_npi

pytestmark = pytest.mark.browser

SEARCH = "/therapists/?near=11215&radius=25&insurance=aetna&format=individual"
# The cards of 2026 were 550 px tall on a phone; a card now keeps to well under that.
PHONE_CARD_MOST_PX = 480


@pytest.fixture
def paula(directory_data: None, settings: object, tmp_path: Path) -> Therapist:
    """Paula, in Park Slope, takes Aetna: an approved photo, a bio, a phone, an email and a website."""
    settings.MEDIA_ROOT, settings.SERVE_MEDIA = tmp_path / "media", True
    therapist = make_therapist(
        npi=valid_npi("199000201"), first_name="Paula", last_name="Photo", fee_min=120, fee_max=160,
        bio="I help adults through grief and big life changes. We work on the relationships that matter most.",
        phone="555-010-2030", email="paula@practice.example", website="https://paula.example/",
    )  # fmt: skip
    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), (90, 120, 160)).save(buffer, "JPEG")
    photos.submit_photo(therapist=therapist, upload=SimpleUploadedFile("me.jpg", buffer.getvalue(), "image/jpeg"))
    photos.approve_photo(therapist=therapist)
    return therapist


def is_on_first_screen(page: object, locator: object) -> bool:
    """Visible without scrolling: inside the window as the page first shows."""
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


def test_a_card_leads_to_a_profile_whose_contact_is_on_the_first_screen_and_back(
    page: object, live_server: object, paula: Therapist
) -> None:
    page.goto(f"{live_server.url}{SEARCH}")
    assert_accessible(page)
    card = page.locator("article.therapist-card", has=page.get_by_role("heading", name=re.compile("^Paula Photo")))
    text = card.inner_text()
    assert "I help adults through grief" in text and "Accepting new clients · confirmed yesterday" in text
    assert "$120–$160 per session" in text
    assert card.locator("mark").inner_text().startswith("Aetna")
    card.scroll_into_view_if_needed()  # the thumbnails load as they come near the screen
    assert card.locator("img.card-photo").evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
    for name in ("Call", "Email", "Website"):
        assert card.get_by_role("link", name=re.compile(f"^{name}")).is_visible(), name
    if page.viewport_size["width"] < 500:
        assert card.bounding_box()["height"] <= PHONE_CARD_MOST_PX

    card.get_by_role("link", name="Paula Photo", exact=True).click()
    page.wait_for_url(f"**{paula.get_absolute_url()}?from=*")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Paula Photo")
    assert_accessible(page)
    call = page.get_by_role("link", name=re.compile("^Call"))
    assert call.get_attribute("href") == "tel:5550102030"
    for name in ("Call", "Email", "Website"):
        assert is_on_first_screen(page, page.get_by_role("link", name=re.compile(f"^{name}"))), name

    # On a phone the actions stay in reach at the bottom of the screen, and cover nothing at the end of the page.
    assert page.evaluate("() => { window.scrollTo(0, document.documentElement.scrollHeight); return window.scrollY; }")
    report = page.get_by_role("link", name="Report a problem with this listing")
    if page.viewport_size["width"] < 500:
        assert is_on_first_screen(page, call)
        assert report.bounding_box()["y"] + report.bounding_box()["height"] <= call.bounding_box()["y"]

    page.get_by_role("link", name="Back to results").click()
    page.wait_for_url(f"**{SEARCH}")
    assert page.get_by_label("Near: ZIP code").input_value() == "11215"
