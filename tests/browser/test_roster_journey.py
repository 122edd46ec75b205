"""Staff upload a roster, read the preview and confirm it; an imported therapist claims the profile: in Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from directory.models import Therapist
from roster import invitations
from roster.models import ImportRun
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import assert_accessible, sign_in
from tests.conftest import make_user
from tests.roster.test_admin_upload import run_tasks, with_bad_row

pytestmark = pytest.mark.browser
TEMPLATE = Path(settings.BASE_DIR) / "fixtures" / "roster-template.csv"


def screenshot(page: object, name: str, request: pytest.FixtureRequest) -> None:
    if os.environ.get("SAVE_SCREENSHOTS"):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{request.node.callspec.id}.png"), full_page=True)


def test_staff_preview_then_confirm_a_roster_and_download_the_refused_rows(
    page: object, live_server: object, directory_data: None, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    make_user("moderator", is_staff=True, is_superuser=True)
    roster = tmp_path / "network.csv"
    roster.write_text(with_bad_row(TEMPLATE.read_text()))
    sign_in(page, f"{live_server.url}/accounts/login/?next=/admin/roster/importrun/add/", "moderator",
            "correct-horse-battery")  # fmt: skip

    page.get_by_role("button", name="Upload and preview").click()  # no file chosen
    assert "Roster file (CSV): This field is required." in page.locator(".errornote").inner_text()
    assert_accessible(page)
    screenshot(page, "roster-upload-error", request)
    page.get_by_label("Roster file (CSV)").set_input_files(str(roster))
    page.get_by_role("button", name="Upload and preview").click()
    assert "Waiting for the worker" in page.inner_text("#content")
    assert page.locator("progress#roster-progress").is_visible()
    screenshot(page, "roster-run-waiting", request)

    run_tasks()  # the worker's preview
    page.reload()
    assert page.get_by_role("heading", name="What the import would do").is_visible()
    assert not Therapist.objects.filter(npi="1904376211").exists()
    refused = page.locator("table.roster-rows tr", has_text="acme-health")
    assert "insurers" in refused.inner_text()
    assert_accessible(page)
    screenshot(page, "roster-run-preview", request)

    page.get_by_role("button", name="Confirm import").click()
    assert "Import queued" in page.locator(".messagelist").inner_text()
    run_tasks()  # the worker's import
    page.reload()
    assert page.get_by_role("heading", name="What the import did").is_visible()
    assert Therapist.objects.filter(npi__in=["1904376211", "1904376229", "1904376237"]).count() == 3
    with page.expect_download() as download:
        page.get_by_role("link", name="Download refused rows (CSV)").click()
    assert "acme-health" in Path(download.value.path()).read_text()
    assert_accessible(page)
    screenshot(page, "roster-run-done", request)
    assert ImportRun.objects.get().status == "done"


def test_an_imported_therapist_claims_the_profile_from_the_invitation(
    page: object, live_server: object, directory_data: None, request: pytest.FixtureRequest
) -> None:
    therapist = Therapist.objects.filter(user=None).exclude(email="").first()
    invitations.send_invitation(therapist=therapist, now=timezone.now())
    link = re.search(r"https?://\S+/roster/claim/\S+/", mail.outbox[-1].body).group(0)
    path = "/roster/" + link.split("/roster/", 1)[1]

    page.goto(f"{live_server.url}{path}")
    assert page.get_by_role("heading", level=1).inner_text() == "Claim your profile"
    assert therapist.full_name in page.inner_text("main")
    page.get_by_label("Username").fill("claimant")
    page.get_by_label(re.compile(r"^Password$")).fill("short")
    page.get_by_label("Password again").fill("short")
    page.get_by_role("button", name="Claim my profile").click()
    assert "too short" in page.locator(".error-summary").inner_text()
    assert_accessible(page)
    screenshot(page, "roster-claim-errors", request)

    page.get_by_label(re.compile(r"^Password$")).fill("quiet-lantern-harbor")
    page.get_by_label("Password again").fill("quiet-lantern-harbor")
    page.get_by_role("button", name="Claim my profile").click()
    page.wait_for_url(f"{live_server.url}/me/profile/")
    assert Therapist.objects.get(pk=therapist.pk).user.username == "claimant"

    page.goto(f"{live_server.url}{path}")
    assert "You have claimed this profile already" in page.inner_text("main")
    assert_accessible(page)
    screenshot(page, "roster-claim-used", request)
