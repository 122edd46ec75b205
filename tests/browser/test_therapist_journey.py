"""A therapist signs up, fills in the profile, staff publish it, and clients find it: in Chromium."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from directory.models import Therapist, npi_check_digit

pytestmark = pytest.mark.browser

NPI = "199000077" + str(npi_check_digit("199000077"))


def test_therapist_signs_up_is_published_and_appears_in_search(
    page: object, live_server: object, directory_data: None
) -> None:
    User.objects.create_user("moderator", password="staff-passphrase-2026", is_staff=True, is_superuser=True)
    page.goto(live_server.url)
    page.get_by_role("link", name="List your practice").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Create a therapist account"
    page.get_by_label("Username").fill("nora")
    page.get_by_label("Email").fill("nora@example.org")
    page.get_by_label("First name").fill("Nora")
    page.get_by_label("Last name").fill("Newcomer")
    page.get_by_label("Credentials").fill("LCSW")
    page.get_by_label("NPI").fill(NPI)
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-long-unusual-passphrase-42")
    page.get_by_label("Password confirmation").fill("a-long-unusual-passphrase-42")
    page.get_by_role("button", name="Create account").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Your profile"
    assert "Status: Draft" in page.get_by_role("heading", name=re.compile("Status")).inner_text()
    page.get_by_label("Bio").fill("I offer IPT for grief and life transitions.")
    page.locator("#id_offices-0-address").fill("1 Main St")
    page.locator("#id_offices-0-city").fill("Brooklyn")
    page.locator("#id_offices-0-state").select_option("NY")
    page.locator("#id_offices-0-postal_code").fill("00000")
    page.locator("#id_licensed_states-0-state").select_option("NY")
    page.locator("#id_licensed_states-0-license_number").fill("R-1234")
    page.locator("#id_insurers-0-insurer").select_option(label="Aetna")
    page.get_by_role("button", name="Save profile").click()
    # An unknown ZIP is refused with the reason, next to the field.
    assert page.get_by_role("heading", name="Your changes are not saved yet").is_visible()
    assert "00000 is not a known US ZIP code" in page.locator("#id_offices-0-postal_code_error").inner_text()
    page.locator("#id_offices-0-postal_code").fill("11215")
    page.get_by_role("button", name="Save profile").click()
    assert "Your profile is saved." in page.get_by_role("status").inner_text()
    assert "Located: Brooklyn, NY" in page.locator(".located").inner_text()
    page.get_by_role("button", name="My availability is up to date").click()
    page.get_by_role("button", name="Submit for review").click()
    assert "Status: Pending review" in page.get_by_role("heading", name=re.compile("Status")).inner_text()
    page.get_by_role("button", name=re.compile("Sign out")).click()

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("moderator")
    page.get_by_label(re.compile(r"^Password:?$")).fill("staff-passphrase-2026")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/")  # sign-in lands staff in the back office
    page.goto(f"{live_server.url}/admin/directory/pendingprofile/")
    row = page.locator("#result_list tbody tr", has_text="Nora Newcomer")
    assert "NY: R-1234" in row.inner_text()
    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option("publish")
    page.get_by_role("button", name="Run").or_(page.get_by_role("button", name="Go")).first.click()
    # The action's answer, before going on: a navigation started meanwhile would cut the POST short.
    page.locator(".messagelist .success", has_text="Published 1").wait_for()
    assert Therapist.objects.get(npi=NPI).status == Therapist.Status.PUBLISHED

    page.goto(f"{live_server.url}/therapists/?near=11215&q=Newcomer")
    card = page.locator("article.therapist-card", has_text="Nora Newcomer")
    assert card.is_visible()
    assert "Accepting new clients" in card.inner_text()
