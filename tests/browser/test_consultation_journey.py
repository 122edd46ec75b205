"""A client on a phone asks two therapists found by one search; one of them accepts in a browser of their own."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.core import mail
from playwright.sync_api import expect

from consultations.models import Consultation, ConsultationRequest
from directory.models import Therapist
from tests.browser.conftest import ARTIFACTS, VIEWPORTS
from tests.browser.helpers import assert_accessible, sign_in
from tests.conftest import make_user

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # make_user's
CLIENT_EMAIL = "robin.client@mail.example"
CLIENT_MESSAGE = "Since I moved here I feel alone and I argue with everyone at work."
LINK = re.compile(r"https?://[^/\s]+(/consultations/[A-Za-z0-9_-]{20,}/)")
THERAPIST_LINK = re.compile(r"https?://[^/\s]+(/me/consultations/\d+/)")


@pytest.fixture
def phones(request: pytest.FixtureRequest, browser: object) -> Iterator[tuple[object, object]]:
    """The client's phone and the therapist's, each a browser context of its own."""
    contexts = [browser.new_context(viewport=VIEWPORTS["phone"]) for _ in range(2)]
    pages = []
    for context in contexts:
        context.set_default_timeout(10_000)
        pages.append(context.new_page())
    yield pages[0], pages[1]
    if getattr(request.node, "browser_failed", False):
        ARTIFACTS.mkdir(exist_ok=True)
        for name, page in zip(("client", "therapist"), pages, strict=True):
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{name}.png"), full_page=True)
    for context in contexts:
        context.close()


def give_account(slug: str, username: str) -> Therapist:
    """The therapist behind a card gets a login of their own, in group `therapists`."""
    therapist = Therapist.objects.get(slug=slug)
    therapist.user = make_user(username, "therapists", email=f"{username}@therapy.example")
    therapist.save(update_fields=["user"])
    return therapist


def test_client_asks_two_therapists_from_one_search_confirms_and_sees_one_accept(
    phones: tuple[object, object], live_server: object, directory_data: None
) -> None:
    client, therapist_page = phones
    client.goto(live_server.url)
    assert_accessible(client)
    client.get_by_label("Near: ZIP code").fill("60601")
    client.get_by_role("button", name="Search").click()
    assert "60601" in client.get_by_role("heading", level=2, name="found").inner_text()
    assert_accessible(client)

    cards = client.locator("ol.results > li")
    slugs = [
        cards.nth(index).get_by_role("heading", level=3).get_by_role("link").get_attribute("href") for index in (0, 1)
    ]
    first, second = (
        give_account(slug.split("/")[2], name) for slug, name in zip(slugs, ("first", "second"), strict=True)
    )

    cards.first.get_by_role("link", name=f"Request a consultation with {first.full_name}").click()
    assert client.get_by_role("heading", level=1).inner_text() == "Request a consultation"
    expect(client.get_by_role("checkbox", name=re.compile(first.full_name))).to_be_checked()
    assert_accessible(client)
    client.get_by_text("Also ask others from your search").click()
    client.get_by_role("checkbox", name=re.compile(second.full_name)).check()
    client.get_by_label("First name").fill("Robin")
    client.get_by_label("Email").fill(CLIENT_EMAIL)
    client.get_by_role("checkbox", name="Weekday evenings").check()
    client.get_by_label("Message (optional)").fill(CLIENT_MESSAGE)
    client.get_by_role("button", name="Request a consultation").click()
    # Consent was left out: the page says so, beside the box and in the summary, and keeps the answers.
    assert "Share these details" in client.get_by_role("alert").inner_text()
    assert (
        client.get_by_role("checkbox", name=re.compile("Share these details")).get_attribute("aria-invalid") == "true"
    )
    assert client.get_by_label("First name").input_value() == "Robin"
    expect(client.get_by_role("checkbox", name=re.compile(second.full_name))).to_be_checked()
    assert_accessible(client)
    client.get_by_role("checkbox", name=re.compile("Share these details")).check()
    client.get_by_role("button", name="Request a consultation").click()

    assert client.get_by_role("heading", level=1).inner_text() == "Check your email"
    assert client.url == f"{live_server.url}/consultations/sent/"
    assert_accessible(client)
    assert [message.to for message in mail.outbox] == [[CLIENT_EMAIL]]
    assert ConsultationRequest.objects.get().therapist_ids == [first.pk, second.pk]
    assert not Consultation.objects.exists()  # nothing reaches a therapist yet

    client.goto(live_server.url + LINK.search(mail.outbox[0].body).group(1))
    confirm = client.get_by_role("region", name="Confirm to send it")
    assert first.full_name in confirm.inner_text() and second.full_name in confirm.inner_text()
    assert_accessible(client)
    client.get_by_role("button", name="Send my request").click()
    assert "Confirmed" in client.get_by_role("status").inner_text()
    assert client.get_by_text("Waiting for an answer").count() == 2
    assert_accessible(client)
    status_url = client.url

    told = next(message for message in mail.outbox if message.to == ["first@therapy.example"])
    sign_in(therapist_page, f"{live_server.url}/accounts/login/", "first", PASSWORD)
    therapist_page.goto(live_server.url + THERAPIST_LINK.search(told.body).group(1))
    assert therapist_page.get_by_role("heading", level=1).inner_text() == "Consultation request from Robin"
    assert CLIENT_MESSAGE in therapist_page.content() and CLIENT_EMAIL not in therapist_page.content()
    assert_accessible(therapist_page)
    therapist_page.get_by_role("button", name="Accept and see contact details").click()
    assert "Accepted." in therapist_page.get_by_role("status").inner_text()
    assert CLIENT_EMAIL in therapist_page.content()
    assert_accessible(therapist_page)

    client.goto(status_url)
    accepted = client.locator(".request-card", has_text=first.full_name)
    assert "Accepted" in accepted.inner_text() and "will contact you" in accepted.inner_text()
    assert "Waiting for an answer" in client.locator(".request-card", has_text=second.full_name).inner_text()
    assert_accessible(client)
