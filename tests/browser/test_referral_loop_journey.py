"""A physician's office refers in a clinician's words, offers to three, sees who accepted, and prints the summary."""

from __future__ import annotations

import io
import os
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from directory import search
from directory.models import FocusArea, LicensedState, Office, Therapist, npi_check_digit
from matching.models import Offer, Referral
from tests.browser.helpers import assert_accessible, sign_in
from tests.browser.test_referral_journey import PASSWORD, fill_clinician
from tests.conftest import make_therapist, make_user

pytestmark = pytest.mark.browser

PATIENT = "Ana Example-Patient"
REASON = "Low mood since a bereavement in June; PHQ-9 of 14."
# Set to a folder (docs/screenshots) to keep the pages as a person sees them at both sizes.
SCREENSHOTS = os.environ.get("REFERRAL_SCREENSHOTS", "")


def shoot(page: object, name: str) -> None:
    if SCREENSHOTS:
        width = page.viewport_size["width"]
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}-{width}.png"), full_page=True)


def chicago_therapist(prefix: str, first: str, last: str, username: str | None = None) -> Therapist:
    therapist = make_therapist(
        npi=prefix + str(npi_check_digit(prefix)), first_name=first, last_name=last, postal_code=None,
        insurers=("medicaid",), licensed=(), capacity_override=5, confirmed_days_ago=0,
        training_level=Therapist.TrainingLevel.SUPERVISOR, offers_online=True,
        phone="312 555 0142", email=f"{first.lower()}@therapy.example",
    )  # fmt: skip
    Office.objects.create(therapist=therapist, address="1 Lake St", city="Chicago", state="IL", postal_code="60601")
    LicensedState.objects.create(therapist=therapist, state="IL")
    therapist.focus_areas.set(FocusArea.objects.all())
    if username:
        therapist.user = make_user(username, "therapists", email=f"{username}@therapy.example")
        therapist.save(update_fields=["user"])
    search.refresh([therapist.pk])
    return therapist


@pytest.fixture
def three_therapists(directory_data: None) -> list[Therapist]:
    return [
        chicago_therapist("199000088", "Tess", "Topmatch", "tess"),
        chicago_therapist("199000096", "Omar", "Second"),
        chicago_therapist("199000104", "Iris", "Third"),
    ]


def test_physician_refers_offers_to_three_sees_the_therapist_and_prints_the_summary(
    page: object, other_page: object, live_server: object, three_therapists: list[Therapist]
) -> None:
    make_user("dr_rivera", "referrers", email="rivera@clinic.example")
    sign_in(page, f"{live_server.url}/accounts/login/", "dr_rivera", PASSWORD)
    page.get_by_role("link", name="New referral").click()
    assert_accessible(page)
    shoot(page, "referral-form")
    fill_clinician(page)
    page.get_by_label("Practice").fill("Lakeside Family Medicine")
    page.get_by_label("Full name").fill(PATIENT)
    page.get_by_label("Date of birth").fill("1979-11-02")
    page.get_by_label("Patient's phone").fill("555-222-3333")
    page.get_by_label("Patient's email").fill("ana@mail.example")
    page.get_by_label("Insurance member ID").fill("MCD-4471200")
    page.get_by_label("Reason for referral").fill(REASON)
    page.get_by_label("ICD-10-CM code").fill("F32.1")
    page.get_by_label("Patient's ZIP code").fill("60601")
    page.get_by_label("Patient's insurance").select_option(label="Medicaid (state fee-for-service)")
    page.get_by_role("checkbox", name="Grief and loss").check()
    page.get_by_role("checkbox", name="The patient agreed to be referred").check()
    page.get_by_role("checkbox", name="The patient agreed to be told").check()
    page.get_by_role("button", name="Submit and see matches").click()

    assert page.get_by_role("heading", level=1).inner_text() == f"Referral for {PATIENT}"
    sent = page.locator("section[aria-labelledby=sent-heading]").inner_text()
    assert REASON in sent and "F32.1" in sent
    assert "Lakeside Family Medicine" in page.locator("section[aria-labelledby=clinician-heading]").inner_text()
    assert_accessible(page)
    for therapist in three_therapists:  # each tick sits inside its therapist's card
        card = page.locator("article", has=page.get_by_role("heading", name=therapist.full_name))
        card.get_by_role("checkbox", name=f"Offer to {therapist.full_name}").check()
    page.get_by_role("button", name="Offer the referral").click()
    assert "Offered to 3 therapists." in page.get_by_role("status").inner_text()
    assert_accessible(page)

    sign_in(other_page, f"{live_server.url}/accounts/login/", "tess", PASSWORD)
    other_page.goto(f"{live_server.url}/me/offers/{Offer.objects.get(therapist=three_therapists[0]).pk}/")
    assert REASON not in other_page.content() and PATIENT not in other_page.content()
    other_page.get_by_role("button", name="Accept this referral").click()
    assert REASON in other_page.locator("section[aria-labelledby=patient-heading]").inner_text()
    other_page.get_by_label("Date of the first session").fill("2031-03-04")
    other_page.get_by_label("Time").fill("10:30")
    other_page.get_by_role("button", name="Record the first session").click()
    assert "First session recorded" in other_page.get_by_role("status").inner_text()

    page.reload()
    accepted = page.locator("section[aria-labelledby=therapist-heading]").inner_text()
    assert "Tess Topmatch" in accepted and "312 555 0142" in accepted and "tess@therapy.example" in accepted
    assert "Tue, Mar 4, 2031, 10:30 AM" in accepted
    offers = page.locator("section[aria-labelledby=offers-heading]").inner_text()
    assert offers.count("Closed: another therapist accepted first") == 2
    assert "You can close the loop once the first session has taken place" in page.content()
    assert_accessible(page)
    shoot(page, "referral-detail")

    printed = "".join(sheet.extract_text() for sheet in PdfReader(io.BytesIO(page.pdf())).pages)
    text = " ".join(unicodedata.normalize("NFKC", printed).split())  # ligatures ("ﬁ") and line breaks undone
    assert PATIENT in text and "Tess Topmatch" in text and REASON in text
    assert "Offer the referral" not in text and "Ranked matches" not in text

    page.goto(f"{live_server.url}/referrals/")
    assert_accessible(page)
    page.get_by_label("Patient's name").fill("example")
    page.get_by_label("Status").select_option(label="First session scheduled")
    page.get_by_role("button", name="Show referrals").click()
    assert PATIENT in page.locator("ul.referral-list").inner_text()
    assert "example" not in page.url.lower()  # the name searched for stays out of the URL
    assert_accessible(page)
    shoot(page, "referral-list")
    assert Referral.objects.get().status == Referral.Status.SCHEDULED
