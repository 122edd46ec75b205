"""A therapist who just signed up fills the draft profile from the NPI registry, by keyboard: in Chromium."""

from __future__ import annotations

import os

import pytest
from django.utils import timezone

from accounts.services import sign_up_therapist
from directory.models import Therapist
from registry.models import RegistryProvider
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import assert_accessible, sign_in, skip_to_main, tab_to
from tests.conftest import valid_npi

pytestmark = pytest.mark.browser
PASSWORD = "a-long-unusual-passphrase-42"


def test_new_therapist_fills_the_draft_from_the_npi_registry(
    page: object, live_server: object, directory_data: None, request: pytest.FixtureRequest
) -> None:
    therapist = sign_up_therapist(
        username="newcomer", email="newcomer@example.org", password=PASSWORD, first_name="Nora",
        last_name="Newcomer", credentials="LCSW", npi=valid_npi("193000001"),
    )  # fmt: skip
    RegistryProvider.objects.create(
        npi=therapist.npi, first_name="NORA", last_name="NEWCOMER-HALL", credential="LCSW-R",
        address="300 7TH AVE", city="BROOKLYN", state="NY", postal_code="11215", phone="7185550100",
        taxonomies="1041C0700X,101YM0800X", licences=[["NY", "R-012345"]], updated_at=timezone.now(),
    )  # fmt: skip

    sign_in(page, f"{live_server.url}/accounts/login/?next=/me/profile/from-npi-registry/", "newcomer", PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "Fill my profile from the NPI registry"
    assert "NY R-012345" in page.inner_text("main")
    assert_accessible(page)
    if os.environ.get("SAVE_SCREENSHOTS"):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"registry-prefill-{request.node.callspec.id}.png"), full_page=True)

    skip_to_main(page)
    button = page.get_by_role("button", name="Fill my profile")
    tab_to(page, button)
    page.keyboard.press("Enter")

    page.wait_for_url(lambda address: address.split("#")[0] == f"{live_server.url}/me/profile/")
    assert "filled from the NPI registry" in page.inner_text("main")
    therapist = Therapist.objects.get(pk=therapist.pk)
    assert (therapist.last_name, therapist.phone) == ("Newcomer-Hall", "718-555-0100")
    assert therapist.offices.get().postal_code == "11215"
