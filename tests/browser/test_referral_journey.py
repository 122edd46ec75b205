"""A physician refers a patient, the top match accepts, and the loop closes: two people, two browsers."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from directory import search
from directory.models import Concern, FocusArea, Language, LicensedState, Office, Therapist, npi_check_digit
from matching.models import Offer, Referral
from tests.browser.helpers import PASSWORD_LABEL, assert_accessible, is_focused, sign_in, skip_to_main, tab_to
from tests.conftest import make_therapist, make_user

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # make_user's
PATIENT = "Ana Example-Patient"
PHONE = "555-222-3333"
TOP_MATCH = "Tess Topmatch"
GRIEF = "Grief and loss"  # the focus area, as the referral form words it (a clinician's words)


@pytest.fixture
def physician(directory_data: None) -> User:
    return make_user("dr_rivera", "referrers", email="rivera@clinic.example")


@pytest.fixture
def top_match(directory_data: None) -> Therapist:
    """At the patient's ZIP, every focus area and concern, supervisor, 5 openings, confirmed now: first, surely."""
    therapist = make_therapist(
        npi="199000088" + str(npi_check_digit("199000088")),
        first_name="Tess",
        last_name="Topmatch",
        postal_code=None,
        insurers=("medicaid",),
        licensed=(),
        capacity_override=5,
        confirmed_days_ago=0,
        training_level=Therapist.TrainingLevel.SUPERVISOR,
        offers_online=True,
    )
    Office.objects.create(therapist=therapist, address="1 Lake St", city="Chicago", state="IL", postal_code="60601")
    LicensedState.objects.create(therapist=therapist, state="IL")
    therapist.focus_areas.set(FocusArea.objects.all())
    therapist.concerns.set(Concern.objects.all())
    therapist.languages.set(Language.objects.filter(code="en"))
    therapist.user = make_user("tess", "therapists", email="tess@therapy.example")
    therapist.save(update_fields=["user"])
    search.refresh([therapist.pk])  # as every service that writes a profile does
    return therapist


def test_physician_refers_the_top_match_accepts_and_the_physician_sees_it(
    page: object, other_page: object, live_server: object, physician: User, top_match: Therapist
) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    assert_accessible(page)
    page.get_by_role("button", name="Sign in").click()  # empty: refused by the form, before any password check
    assert page.get_by_role("alert").is_visible()
    assert_accessible(page)
    sign_in(page, f"{live_server.url}/accounts/login/", "dr_rivera", PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "Your referrals"
    assert_accessible(page)

    page.get_by_role("link", name="New referral").click()
    assert_accessible(page)
    fill_clinician(page)
    page.get_by_label("Full name").fill(PATIENT)
    page.get_by_label("Date of birth").fill("1979-11-02")
    page.get_by_label("Patient's phone").fill("call after 5")
    page.get_by_label("Patient's ZIP code").fill("60601")
    page.get_by_label("Patient's insurance").select_option(label="Medicaid (state fee-for-service)")
    page.get_by_role("checkbox", name="Individual", exact=True).check()
    page.get_by_role("checkbox", name=GRIEF).check()
    page.get_by_role("checkbox", name="The patient agreed to be referred").check()
    page.get_by_role("button", name="Submit and see matches").click()
    # A phone number the form refuses: the error is announced and the answers stay.
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Patient's phone").get_attribute("aria-invalid") == "true"
    expect(page.get_by_label("Patient's phone")).to_have_accessible_description(re.compile("pattern"))
    assert page.get_by_label("Full name").input_value() == PATIENT
    assert_accessible(page)
    page.get_by_label("Patient's phone").fill(PHONE)
    page.get_by_role("button", name="Submit and see matches").click()

    assert page.get_by_role("heading", level=1).inner_text() == f"Referral for {PATIENT}"
    assert "Status: Matched" in page.locator(".meta").first.inner_text()
    matches = page.locator("section[aria-labelledby=matches-heading] ol.results > li")
    assert TOP_MATCH in matches.first.get_by_role("heading", level=3).inner_text()
    assert_accessible(page)
    page.get_by_role("checkbox", name=f"Offer to {TOP_MATCH}").check()
    page.get_by_role("button", name="Offer the referral").click()
    assert "Offered to 1 therapist." in page.get_by_role("status").inner_text()
    assert "Status: Offered" in page.locator(".meta").first.inner_text()
    assert_accessible(page)

    sign_in(other_page, f"{live_server.url}/accounts/login/", "tess", PASSWORD)
    assert_accessible(other_page)  # the therapist lands on their profile
    other_page.get_by_role("link", name="Inbox").click()
    assert other_page.get_by_role("heading", level=1).inner_text() == "Your inbox"
    assert "ZIP 606xx" in other_page.locator("ol.results").inner_text()
    assert PATIENT not in other_page.content() and PHONE not in other_page.content()
    assert_accessible(other_page)
    other_page.locator("ol.results").get_by_role("link").first.click()
    assert other_page.get_by_role("heading", name="Summary").is_visible()
    assert PATIENT not in other_page.content() and PHONE not in other_page.content()
    assert_accessible(other_page)
    other_page.get_by_role("button", name="Accept this referral").click()
    assert "Accepted." in other_page.get_by_role("status").inner_text()
    details = other_page.locator("section[aria-labelledby=patient-heading]")
    assert PATIENT in details.inner_text() and PHONE in details.inner_text()
    assert_accessible(other_page)

    page.reload()
    assert "Status: Accepted" in page.locator(".meta").first.inner_text()
    assert "Accepted by the therapist" in page.locator("section[aria-labelledby=offers-heading]").inner_text()
    assert_accessible(page)
    assert Referral.objects.get().status == Referral.Status.ACCEPTED


def fill_clinician(page: object) -> None:
    page.get_by_label("Referring clinician").fill("Dr. Lena Rivera")
    page.get_by_label("Clinician's NPI").fill("1234567893")
    page.get_by_label("Callback phone").fill("312 555 0199")


def press_tab_and_type(page: object, text: str) -> None:
    page.keyboard.press("Tab")
    page.keyboard.type(text)


def test_sign_in_referral_offer_and_accept_work_with_the_keyboard_alone(
    page: object, other_page: object, live_server: object, physician: User, top_match: Therapist
) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/referrals/new/")
    page.keyboard.press("Tab")  # nothing is autofocused: the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type("dr_rivera")
    press_tab_and_type(page, PASSWORD)
    assert is_focused(page.get_by_label(PASSWORD_LABEL))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/referrals/new/")

    skip_to_main(page)
    press_tab_and_type(page, "Dr. Lena Rivera")
    assert is_focused(page.get_by_label("Referring clinician"))
    press_tab_and_type(page, "1234567893")
    tab_to(page, page.get_by_label("Callback phone"))
    page.keyboard.type("312 555 0199")
    tab_to(page, page.get_by_label("Full name"))
    page.keyboard.type(PATIENT)
    assert is_focused(page.get_by_label("Full name"))
    press_tab_and_type(page, "11021979")  # month, day, year segments of the date field
    assert is_focused(page.get_by_label("Date of birth"))
    tab_to(page, page.get_by_label("Patient's phone"))
    page.keyboard.type(PHONE)
    tab_to(page, page.get_by_label("Patient's ZIP code"))
    page.keyboard.type("60601")
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_label("Patient's insurance"))
    page.keyboard.type("Medicaid (")
    tab_to(page, page.get_by_role("checkbox", name=GRIEF))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("checkbox", name="The patient agreed to be referred"))
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_role("checkbox", name="The patient agreed to be told"))
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_role("button", name="Submit and see matches"))
    page.keyboard.press("Enter")

    page.wait_for_url("**/referrals/*-*/")
    referral = Referral.objects.get()
    assert (referral.patient_name, str(referral.patient_birth_date)) == (PATIENT, "1979-11-02")
    skip_to_main(page)
    tab_to(page, page.get_by_role("checkbox", name=f"Offer to {TOP_MATCH}"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Offer the referral"))
    page.keyboard.press("Enter")
    page.get_by_role("status").wait_for()
    assert Offer.objects.get().therapist == top_match

    other_page.goto(f"{live_server.url}/accounts/login/")
    tab_to(other_page, other_page.get_by_label("Username"))
    other_page.keyboard.type("tess")
    press_tab_and_type(other_page, PASSWORD)
    other_page.keyboard.press("Enter")
    # An offer waits for her, so signing in leads to the inbox, its count in the header.
    other_page.wait_for_url("**/me/inbox/")
    assert "1" in other_page.get_by_role("link", name="Inbox").inner_text()
    skip_to_main(other_page)
    other_page.keyboard.press("Tab")
    assert is_focused(other_page.locator("ol.results").get_by_role("link").first)
    other_page.keyboard.press("Enter")
    other_page.wait_for_url("**/me/offers/*/")
    skip_to_main(other_page)
    tab_to(other_page, other_page.get_by_role("button", name="Accept this referral"))
    other_page.keyboard.press("Enter")
    other_page.get_by_role("heading", name="Patient details").wait_for()
    assert Offer.objects.get().status == Offer.Status.ACCEPTED
    assert Referral.objects.get().status == Referral.Status.ACCEPTED
