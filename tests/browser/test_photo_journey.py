"""A therapist uploads a photo on their profile page, staff approve it, and clients see it: in Chromium."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from PIL import Image

from directory.models import Therapist
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def portrait(tmp_path: Path) -> Path:
    """A 1200 by 1500 PNG: a light background and a darker block where a face would be."""
    image = Image.new("RGB", (1200, 1500), (214, 226, 236))
    image.paste((140, 96, 72), (420, 300, 780, 760))
    path = tmp_path / "portrait.png"
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_therapist_uploads_a_photo_staff_approve_it_and_clients_see_it(
    page: object,
    live_server: object,
    directory_data: None,
    settings: object,
    tmp_path: Path,
    portrait: Path,
) -> None:
    settings.MEDIA_ROOT, settings.SERVE_MEDIA = tmp_path / "media", True
    therapist = Therapist.objects.published().order_by("pk").first()
    user = User.objects.create_user("photographed", password="a-long-unusual-passphrase-42")
    user.groups.add(Group.objects.get(name="therapists"))
    therapist.user = user
    therapist.save(update_fields=["user"])
    User.objects.create_user("moderator", password="staff-passphrase-2026", is_staff=True, is_superuser=True)

    password = "a-long-unusual-passphrase-42"
    sign_in(page, f"{live_server.url}/accounts/login/?next=/me/profile/", "photographed", password)
    section = page.locator("section", has=page.get_by_role("heading", name="Photo", exact=True))
    assert "No photo yet." in section.inner_text()
    page.get_by_role("button", name="Upload photo").click()
    # Without a file: the reason, in a summary and next to the field.
    assert page.get_by_role("heading", name="Your photo was not uploaded").is_visible()
    assert page.get_by_label("Choose a photo").get_attribute("aria-invalid") == "true"
    assert_accessible(page)

    page.get_by_label("Choose a photo").set_input_files(str(portrait))
    page.get_by_role("button", name="Upload photo").click()
    assert "waiting for review" in section.inner_text()
    new_photo = page.get_by_role("img", name="Your new photo, waiting for review")
    assert new_photo.evaluate("image => image.decode().then(() => image.naturalWidth)") == 320
    assert_accessible(page)
    width = page.viewport_size["width"]
    artifacts = Path(django_settings.BASE_DIR) / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    section.screenshot(path=str(artifacts / f"photo-section-pending-{width}.png"))

    page.goto(f"{live_server.url}{therapist.get_absolute_url()}")
    assert page.locator("img.profile-photo").count() == 0  # not public before review

    page.get_by_role("button", name=re.compile("Sign out")).click()
    sign_in(page, f"{live_server.url}/accounts/login/", "moderator", "staff-passphrase-2026")
    page.goto(f"{live_server.url}/admin/directory/pendingphoto/")
    row = page.locator("#result_list tbody tr", has_text=therapist.full_name)
    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option("approve")
    page.get_by_role("button", name="Run").or_(page.get_by_role("button", name="Go")).first.click()
    assert "Approved 1 of 1 selected photo(s)" in page.locator(".messagelist").inner_text()

    page.goto(f"{live_server.url}{therapist.get_absolute_url()}")
    photo = page.get_by_role("img", name=f"Photo of {therapist.full_name}")
    assert photo.evaluate("image => image.decode().then(() => image.naturalWidth)") == 320
    # 160 CSS pixels beside the name; a phone's narrower header shows it at 88 (5.5rem), the name beside it.
    assert photo.bounding_box()["width"] == (88 if width < 640 else 160)
    assert_accessible(page)
    page.locator("header.profile-header").screenshot(path=str(artifacts / f"profile-header-photo-{width}.png"))
