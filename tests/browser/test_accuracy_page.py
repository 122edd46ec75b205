"""A client follows the footer to the accuracy page, on a phone and a desktop, and a silenced therapist
reads why on their profile page; both pages pass axe and reflow."""

from __future__ import annotations

import pytest
from django.utils import timezone

from directory.models import Therapist
from tests.browser.helpers import assert_accessible, sign_in
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_the_footer_leads_to_the_accuracy_figures(page: object, live_server: object, directory_data: None) -> None:
    page.goto(live_server.url)
    page.get_by_role("link", name="How true is this directory?").click()

    assert page.get_by_role("heading", level=1).inner_text() == "How true is this directory?"
    published = Therapist.objects.published().count()
    assert f"of {published} listings" in page.get_by_role("region", name="Availability confirmed recently").inner_text()
    assert page.get_by_role("heading", level=2).count() == 4
    assert_accessible(page)


def test_a_silenced_therapist_reads_why_and_comes_back(page: object, live_server: object, directory_data: None) -> None:
    therapist = Therapist.objects.published().accepting().first()
    therapist.user = make_user("quiet", "therapists", email="quiet@therapy.example")
    therapist.save(update_fields=["user"])
    Therapist.objects.filter(pk=therapist.pk).update(silenced_at=timezone.now())

    sign_in(page, f"{live_server.url}/me/profile/", "quiet", "correct-horse-battery")

    assert "Hidden from searches for accepting therapists" in page.get_by_role("alert").first.inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="My availability is up to date").click()
    assert "You are back in searches" in page.get_by_role("status").inner_text()
    assert Therapist.objects.get(pk=therapist.pk).silenced_at is None
