"""A therapist signs up, fills in the profile section by section, staff publish it, and clients find it: in Chromium."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from directory.models import Therapist, npi_check_digit
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import assert_accessible, is_focused

pytestmark = pytest.mark.browser

NPI = "199000077" + str(npi_check_digit("199000077"))


def shoot(page: object, name: str) -> None:
    """A full-page picture of the step for docs/screenshots (copied from test-artifacts/ by hand)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.viewport_size['width']}.png"), full_page=True)


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
    page.get_by_label("Password again").fill("a-long-unusual-passphrase-42")
    assert_accessible(page)
    page.get_by_role("button", name="Create account").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Your profile"
    assert "Status: Draft" in page.get_by_role("heading", name=re.compile("Status")).inner_text()
    assert page.get_by_role("button", name="Submit for review").count() == 0  # not before the checklist is done
    assert_accessible(page)
    shoot(page, "profile-editor")

    # Offices: a wrong ZIP, an extra row added and removed again, all without losing what was typed.
    page.get_by_role("link", name="Add an office, or offer online sessions.").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Offices"
    page.get_by_label("Street address").fill("1 Main St")
    page.get_by_label("City").fill("Brooklyn")
    page.get_by_label("State").select_option("NY")
    page.get_by_label("ZIP code").fill("00000")
    page.get_by_role("button", name="Add another office").click()
    assert page.locator("#id_offices-1-address").is_visible()
    assert page.locator("#id_offices-0-address").input_value() == "1 Main St"
    page.get_by_role("button", name="Remove office 2").click()
    assert page.locator("#offices-1-row").count() == 0
    page.get_by_role("button", name="Save offices").click()
    summary = page.locator(".error-summary")
    assert "Office 1, ZIP code: 00000 is not a known US ZIP code." in summary.inner_text()
    assert_accessible(page)
    shoot(page, "profile-editor-section")
    summary.get_by_role("link", name=re.compile("Office 1, ZIP code")).click()
    assert is_focused(page.locator("#id_offices-0-postal_code"))
    page.locator("#id_offices-0-postal_code").fill("11215")
    page.get_by_role("button", name="Save offices").click()
    assert "Your profile is saved." in page.get_by_role("status").inner_text()

    page.get_by_role("link", name="Add at least one state where you are licensed.").click()
    page.get_by_label("State").select_option("NY")
    page.get_by_label("Licence number").fill("R-1234")
    assert_accessible(page)
    page.get_by_role("button", name="Save licences").click()

    page.get_by_role("link", name="Add the insurance plans you take, or your self-pay fees.").click()
    page.get_by_label("Insurance plan").select_option(label="Aetna")
    assert_accessible(page)
    page.get_by_role("button", name="Save insurance").click()

    page.get_by_role("link", name=re.compile("Add your IPT training")).click()
    page.get_by_label("Awarded by").select_option(label="International Society of IPT (ISIPT)")
    # Once the issuer is chosen, the levels of the other issuer are no longer offered.
    institute = page.locator("#id_ipt_credentials-0-level optgroup[label='IPT Institute']")
    assert institute.evaluate("group => group.disabled")
    page.get_by_label("Level").select_option(label="ISIPT certified therapist")
    page.get_by_label("Date awarded").fill("2021-04-01")
    assert_accessible(page)
    page.get_by_role("button", name="Save IPT training").click()

    page.get_by_role("link", name="Write a few words about yourself for clients.").click()
    page.get_by_label("Bio").fill("I offer IPT for grief and life transitions.")
    assert_accessible(page)
    page.get_by_role("button", name="Save about you").click()

    page.get_by_role("link", name="Availability", exact=True).click()
    assert page.get_by_label("I am accepting new clients").is_checked()
    assert_accessible(page)
    page.get_by_role("button", name="Save availability").click()

    assert page.get_by_role("heading", name="Nothing missing").is_visible()
    assert_accessible(page)
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
    # The ISIPT credential she added is unverified: staff confirm they checked it.
    page.get_by_role("button", name="Publish and mark verified").click()
    # The action's answer, before going on: a navigation started meanwhile would cut the POST short.
    page.locator(".messagelist .success", has_text="Published 1").wait_for()
    assert Therapist.objects.get(npi=NPI).status == Therapist.Status.PUBLISHED

    page.goto(f"{live_server.url}/therapists/?near=11215&q=Newcomer")
    card = page.locator("article.therapist-card", has_text="Nora Newcomer")
    assert card.is_visible()
    # Never confirmed by a button: ticking "accepting" and publishing confirmed it.
    assert "Accepting new clients" in card.inner_text()
