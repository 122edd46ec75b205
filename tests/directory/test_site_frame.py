"""What every page shares: the icons browsers ask for, one header and one footer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image

from directory.models import Therapist
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

STATIC = Path(settings.BASE_DIR) / "static"


def test_favicon_ico_answers_at_the_root_so_browsers_stop_logging_404s(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age" in response["Cache-Control"]
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # the ICO signature
    assert client.post("/favicon.ico").status_code == 405


def test_pages_link_an_svg_icon_a_touch_icon_and_an_ico(client: Client) -> None:
    html = client.get("/").content.decode()
    for link in (
        '<link rel="icon" href="/static/favicon.ico" sizes="32x32">',
        '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">',
        '<link rel="apple-touch-icon" href="/static/apple-touch-icon.png">',
        '<link rel="manifest" href="/static/site.webmanifest">',
    ):
        assert link in html
        assert client.get(re.search(r'href="([^"]+)"', link).group(1)).status_code == 200, link
    with Image.open(STATIC / "apple-touch-icon.png") as touch_icon:
        assert touch_icon.size == (180, 180) and touch_icon.format == "PNG"
    with Image.open(STATIC / "favicon.ico") as icon:
        assert {(16, 16), (32, 32)} <= icon.info["sizes"]
    assert (STATIC / "icon.svg").read_text().startswith("<svg")


PUBLIC_PAGES = ["/", "/therapists/", "/therapists/?near=11215", "/match/", "/accounts/login/",
                "/accounts/signup/", "/accounts/password_reset/"]  # fmt: skip


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_every_page_has_the_same_header_and_footer(client: Client, url: str) -> None:
    html = client.get(url).content.decode()
    header = html.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]
    assert re.search(r'<a class="brand" href="/">.*IPT Directory</a>', header)
    for name in ("Find a therapist", "Find my match", "List your practice", "Sign in"):
        assert f">{name}</a>" in header, name
    footer = html.split('<footer class="site-footer">', 1)[1].split("</footer>", 1)[0]
    assert "not a crisis service" in footer and 'href="tel:911"' in footer and 'href="tel:988"' in footer


def test_the_header_marks_the_page_you_are_on(client: Client) -> None:
    html = client.get("/therapists/").content.decode()
    assert '<a href="/therapists/" aria-current="page">Find a therapist</a>' in html
    assert 'aria-current="page">Find my match' not in html


def test_signed_in_pages_keep_the_frame(listed_therapist: Therapist, referrer: User) -> None:
    html = signed_in(listed_therapist.user).get("/me/profile/").content.decode()
    assert '<a class="brand" href="/">' in html and "not a crisis service" in html
    assert ">My profile</a>" in html and "Sign out" in html
    html = signed_in(referrer).get("/referrals/new/").content.decode()
    assert '<a class="brand" href="/">' in html and "not a crisis service" in html and ">Referrals</a>" in html
