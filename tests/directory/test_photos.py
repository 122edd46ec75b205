"""Therapist photos: upload (API and page), the rules an upload must pass, staff approval, removal, storage."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import ExifTags, Image, ImageCms

from directory import photos, search
from directory.models import Therapist
from tests.conftest import make_therapist, make_user, signed_in, token_client, valid_npi

pytestmark = pytest.mark.django_db

MARKER = "secret-place-description"


@pytest.fixture(autouse=True)
def media_root(settings: object, tmp_path: Path) -> Path:
    """Each test stores its files in a folder of its own, which starts empty."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def image_bytes(kind: str = "JPEG", size: tuple[int, int] = (600, 400), **save: object) -> bytes:
    image = Image.new("RGBA" if kind in ("PNG", "WEBP") else "RGB", size, (200, 120, 40, 255))
    image.paste((20, 60, 160, 255), (0, 0, size[0] // 2, size[1] // 2))  # a dark top-left quarter, to see rotation
    buffer = io.BytesIO()
    image.save(buffer, kind, **save)
    return buffer.getvalue()


def jpeg_with_gps_exif() -> bytes:
    """A phone-like JPEG: GPS position, a description, a comment, a colour profile, and "rotate 90° on display"."""
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = MARKER
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (40.0, 40.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (73.0, 59.0, 2.0),
    }
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = image_bytes("JPEG", (600, 400), exif=exif, comment=MARKER.encode(), icc_profile=srgb)
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the test photo must carry a GPS position"
    return data


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header declaring width by height pixels, in under a hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "me.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def put_photo(client: object, data: bytes, name: str = "me.jpg", content_type: str = "image/jpeg") -> object:
    return client.put("/api/me/profile/photo/", {"photo": upload(data, name, content_type)}, format="multipart")


def stored_files(media_root: Path) -> list[Path]:
    return sorted(path for path in media_root.rglob("*") if path.is_file()) if media_root.exists() else []


@pytest.fixture
def dana(therapist_user: User) -> Therapist:
    """Dana, published, signed in as `dana`."""
    return Therapist.objects.get(user=therapist_user)


def approve_in_admin(moderator: User, *therapists: Therapist) -> object:
    return signed_in(moderator).post(
        "/admin/directory/pendingphoto/",
        {"action": "approve", "_selected_action": [therapist.pk for therapist in therapists], "message": ""},
    )


# Upload through the API


@pytest.mark.parametrize(
    ("kind", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_an_uploaded_photo_waits_for_review_and_nobody_else_sees_it(
    dana: Therapist, client: Client, kind: str, content_type: str
) -> None:
    response = put_photo(token_client(dana.user), image_bytes(kind, (1600, 1200)), f"me.{kind.lower()}", content_type)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["url"] is None and body["thumbnail_url"] is None
    assert body["pending_url"].startswith("http://testserver/media/therapists/")
    dana.refresh_from_db()
    assert dana.photo_pending and dana.photo_pending_thumbnail and not dana.photo
    assert dana.photo_url is None and dana.photo_thumbnail_url is None
    with default_storage.open(dana.photo_pending.name) as stored:
        photo = Image.open(stored)
        assert (photo.format, photo.size) == ("JPEG", (800, 600))
    with default_storage.open(dana.photo_pending_thumbnail.name) as stored:
        assert Image.open(stored).size == (photos.THUMBNAIL_EDGE, photos.THUMBNAIL_EDGE)
    pending_names = (Path(dana.photo_pending.name).name, Path(dana.photo_pending_thumbnail.name).name)
    public_api = client.get(f"/api/therapists/{dana.pk}/")
    public_page = client.get(dana.get_absolute_url())
    assert public_api.status_code == public_page.status_code == 200
    assert public_api.json().get("photo_url") is None
    for text in (public_api.content.decode(), public_page.content.decode()):
        assert not any(name in text for name in pending_names)
    assert 'class="profile-photo"' not in public_page.content.decode()


def test_the_stored_name_is_random_never_the_uploaders(dana: Therapist) -> None:
    put_photo(token_client(dana.user), image_bytes(), "dana-accepting-home-address.jpg")
    dana.refresh_from_db()
    assert "dana" not in dana.photo_pending.name and "home" not in dana.photo_pending.name
    assert len(Path(dana.photo_pending.name).stem) == 32


def test_the_stored_photo_keeps_no_exif_gps_or_comment_and_is_turned_upright(dana: Therapist) -> None:
    response = put_photo(token_client(dana.user), jpeg_with_gps_exif())
    assert response.status_code == 200
    dana.refresh_from_db()
    for name in (dana.photo_pending.name, dana.photo_pending_thumbnail.name):
        with default_storage.open(name) as stored:
            raw = stored.read()
        photo = Image.open(io.BytesIO(raw))
        assert dict(photo.getexif()) == {}
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(photo.info)
        assert MARKER.encode() not in raw and b"Exif" not in raw
    with default_storage.open(dana.photo_pending.name) as stored:
        upright = Image.open(stored)
        assert upright.size == (400, 600)  # the phone's "rotate 90°" is applied to the pixels
        # The dark quarter was top-left; turned 90° clockwise it is top-right.
        assert upright.convert("RGB").getpixel((390, 10))[2] > 120 > upright.convert("RGB").getpixel((10, 10))[2]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("CMYK", (400, 400), (0, 255, 255, 0)), (254, 0, 0)),
        (Image.new("L", (400, 400), 128), (128, 128, 128)),
        (Image.new("I;16", (400, 400), 30000), (116, 116, 116)),  # 16-bit grey, scaled rather than clipped
        (Image.new("LA", (400, 400), (10, 0)), (255, 255, 255)),  # transparent: white
    ],
    ids=["cmyk-jpeg", "grey-png", "16-bit-grey-png", "transparent-grey-png"],
)
def test_every_colour_mode_becomes_an_rgb_jpeg_of_the_same_colours(image: Image.Image, expected: tuple) -> None:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG" if image.mode == "CMYK" else "PNG")
    processed = photos.process_photo(upload(buffer.getvalue()))
    stored = Image.open(io.BytesIO(processed.photo))
    assert stored.mode == "RGB"
    assert all(abs(a - b) <= 2 for a, b in zip(stored.getpixel((200, 200)), expected, strict=True))


def test_transparent_png_is_flattened_on_white(dana: Therapist) -> None:
    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    put_photo(token_client(dana.user), buffer.getvalue(), "me.png", "image/png")
    dana.refresh_from_db()
    with default_storage.open(dana.photo_pending.name) as stored:
        assert Image.open(stored).convert("RGB").getpixel((200, 200)) == (255, 255, 255)


# What is refused


def six_megabytes() -> bytes:
    return image_bytes() + os.urandom(6 * 1024 * 1024)


def svg() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def truncated_jpeg() -> bytes:
    data = image_bytes("JPEG", (1200, 900), quality=95)
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("make", "name", "message"),
    [
        (lambda: b"Dear staff, here is my photo.", "me.jpg", "not an image"),
        (lambda: image_bytes("GIF"), "me.gif", "GIF files are not accepted"),
        (lambda: b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF", "me.jpg", "PDF files are not accepted"),
        (svg, "me.svg", "SVG files are not accepted"),
        (six_megabytes, "me.jpg", "The file is 6 MB; a photo may be at most 5 MB."),
        (png_bomb, "me.png", "too many pixels"),
        (truncated_jpeg, "me.jpg", "truncated"),
        (lambda: image_bytes("JPEG", (120, 90)), "me.jpg", "at least 160"),
        (lambda: b"", "me.jpg", "empty"),
    ],
    ids=["text", "gif", "pdf-renamed-jpg", "svg", "6-mb", "decompression-bomb", "truncated", "too-small", "empty"],
)
def test_a_file_that_is_not_an_acceptable_photo_is_a_400_naming_the_field(
    dana: Therapist, media_root: Path, make: object, name: str, message: str
) -> None:
    started = time.monotonic()
    response = put_photo(token_client(dana.user), make(), name)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["photo"]
    assert message in response.json()["errors"]["photo"][0]
    assert time.monotonic() - started < 2  # the bomb is refused from its header, never decoded
    dana.refresh_from_db()
    assert dana.photo_status == "none"
    assert stored_files(media_root) == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_bomb_below_pillows_own_error_threshold_is_refused_too() -> None:
    # 81 MP: over the photo limit, under twice it, where Pillow would only have warned.
    with pytest.raises(ValidationError) as refused:
        photos.process_photo(upload(png_bomb(9_000, 9_000), "me.png"))
    assert "too many pixels" in refused.value.message_dict["photo"][0]


def test_the_pixel_rule_holds_without_pillows_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ValidationError) as refused:
        photos.process_photo(upload(png_bomb(), "me.png"))
    assert refused.value.message_dict["photo"] == [
        "The image has too many pixels (50000 × 50000): at most 50 megapixels."
    ]


def test_a_request_without_a_file_names_the_field(dana: Therapist) -> None:
    response = token_client(dana.user).put("/api/me/profile/photo/", {}, format="multipart")
    assert response.status_code == 400 and "photo" in response.json()["errors"]


def test_a_body_far_over_the_limit_is_a_413_before_it_is_read(dana: Therapist) -> None:
    response = put_photo(token_client(dana.user), b"\xff\xd8" + bytes(11 * 1024 * 1024))
    assert response.status_code == 413
    assert "at most 5 MB" in response.json()["errors"]["non_field_errors"][0]


def test_json_is_not_a_way_to_upload(dana: Therapist) -> None:
    client = token_client(dana.user)
    response = client.put("/api/me/profile/photo/", {"photo": "aGVsbG8="}, format="json")
    assert response.status_code == 415
    # As the schema says (the fuzz test once sent a body the multipart parser could not place).
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "415" in schema["paths"]["/api/me/profile/photo/"]["put"]["responses"]


# Only the caller's own photo


def test_only_a_therapist_may_upload_and_only_their_own_photo_changes(
    dana: Therapist, listed_therapist: Therapist, referrer: User
) -> None:
    put_photo(token_client(dana.user), image_bytes())
    dana.refresh_from_db()
    danas_pending = dana.photo_pending.name

    assert put_photo(token_client(referrer), image_bytes()).status_code == 403
    from rest_framework.test import APIClient

    assert put_photo(APIClient(), image_bytes()).status_code == 401
    assert APIClient().delete("/api/me/profile/photo/").status_code == 401
    lena = token_client(listed_therapist.user)
    assert lena.delete("/api/me/profile/photo/").status_code == 204
    assert lena.get("/api/me/profile/").json()["photo"]["status"] == "none"
    assert put_photo(lena, image_bytes("PNG"), "me.png", "image/png").status_code == 200

    dana.refresh_from_db()
    assert dana.photo_pending.name == danas_pending
    assert default_storage.exists(danas_pending)
    listed_therapist.refresh_from_db()
    assert listed_therapist.photo_pending.name != danas_pending


def test_the_own_profile_shows_the_photo_status_and_both_photos(dana: Therapist, moderator: User) -> None:
    client = token_client(dana.user)
    assert client.get("/api/me/profile/").json()["photo"] == {
        "status": "none", "url": None, "thumbnail_url": None, "pending_url": None,
        "pending_thumbnail_url": None, "submitted_at": None, "rejection_reason": "",
    }  # fmt: skip
    put_photo(client, image_bytes())
    approve_in_admin(moderator, dana)
    put_photo(client, image_bytes("PNG"), "new.png", "image/png")
    photo = client.get("/api/me/profile/").json()["photo"]
    assert photo["status"] == "pending"
    assert photo["url"].startswith("http://testserver/media/therapists/")
    assert photo["thumbnail_url"] and photo["pending_url"] and photo["pending_thumbnail_url"]
    assert photo["submitted_at"] is not None


# Staff review


def test_staff_approve_in_the_admin_and_the_photo_becomes_public(
    dana: Therapist,
    moderator: User,
    client: Client,
    mailoutbox: list,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: object,
) -> None:
    put_photo(token_client(dana.user), image_bytes())
    dana.refresh_from_db()
    pending = (dana.photo_pending.name, dana.photo_pending_thumbnail.name)
    queue = signed_in(moderator).get("/admin/directory/pendingphoto/")
    assert "Dana Accepting" in queue.content.decode() and Path(pending[1]).name in queue.content.decode()
    refreshed: list[list[int]] = []
    monkeypatch.setattr(search, "refresh", lambda ids: refreshed.append(list(ids)))

    response = approve_in_admin(moderator, dana)

    assert response.status_code == 302
    assert refreshed == [[dana.pk]]  # the search index follows (its card can carry the photo)
    dana.refresh_from_db()
    assert (dana.photo.name, dana.photo_thumbnail.name) == pending
    assert dana.photo_status == "approved" and not dana.photo_pending
    assert dana.photo_url == f"/media/{pending[0]}"
    page = client.get(dana.get_absolute_url()).content.decode()
    assert f'src="/media/{pending[1]}"' in page and 'alt="Photo of Dana Accepting"' in page
    assert "Dana Accepting" not in signed_in(moderator).get("/admin/directory/pendingphoto/").content.decode()
    assert [message.subject for message in mailoutbox] == ["[IPT Directory] Your photo is approved"]
    assert dana.get_absolute_url() in mailoutbox[0].body

    # A later photo replaces this one once approved; the replaced files are deleted.
    put_photo(token_client(dana.user), image_bytes("WEBP"), "new.webp", "image/webp")
    with django_capture_on_commit_callbacks(execute=True):
        approve_in_admin(moderator, dana)
    dana.refresh_from_db()
    assert dana.photo.name not in pending
    assert not any(default_storage.exists(name) for name in pending)


def test_staff_reject_with_a_reason_the_therapist_reads(
    dana: Therapist, moderator: User, mailoutbox: list, django_capture_on_commit_callbacks: object
) -> None:
    put_photo(token_client(dana.user), image_bytes())
    dana.refresh_from_db()
    pending = (dana.photo_pending.name, dana.photo_pending_thumbnail.name)

    with django_capture_on_commit_callbacks(execute=True):
        signed_in(moderator).post(
            "/admin/directory/pendingphoto/",
            {"action": "reject", "_selected_action": [dana.pk], "message": "Please use a photo of your face alone."},
        )

    dana.refresh_from_db()
    assert dana.photo_status == "rejected" and not dana.photo and not dana.photo_pending
    assert not any(default_storage.exists(name) for name in pending)
    assert mailoutbox[0].subject == "[IPT Directory] Your photo was not approved"
    assert "Please use a photo of your face alone." in mailoutbox[0].body
    photo = token_client(dana.user).get("/api/me/profile/").json()["photo"]
    assert photo["status"] == "rejected" and photo["rejection_reason"] == "Please use a photo of your face alone."
    page = signed_in(dana.user).get("/me/profile/").content.decode()
    assert "Your last photo was not approved:</strong> Please use a photo of your face alone." in page


def test_a_rejection_reason_longer_than_its_column_rejects_nothing(dana: Therapist, moderator: User) -> None:
    put_photo(token_client(dana.user), image_bytes())
    response = signed_in(moderator).post(
        "/admin/directory/pendingphoto/",
        {"action": "reject", "_selected_action": [dana.pk], "message": "x" * 301},
        follow=True,
    )
    assert "Keep the reason under 300 characters." in response.content.decode()
    dana.refresh_from_db()
    assert dana.photo_status == "pending"


def test_the_photo_queue_runs_a_constant_number_of_queries(dana: Therapist, moderator: User) -> None:
    put_photo(token_client(dana.user), image_bytes())
    staff = signed_in(moderator)
    staff.get("/admin/directory/pendingphoto/")  # warm the session and content types

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff.get("/admin/directory/pendingphoto/").status_code == 200
        return len(captured)

    one = queries()
    for number in range(4):
        therapist = make_therapist(npi=valid_npi(f"19900010{number}"), last_name=f"Waiting{number}")
        therapist.user = make_user(f"waiting{number}", "therapists")
        therapist.save(update_fields=["user"])
        put_photo(token_client(therapist.user), image_bytes())
    page = staff.get("/admin/directory/pendingphoto/").content.decode()
    assert page.count('alt="new photo of') == 5
    assert queries() == one


# Removal


def test_delete_removes_the_approved_and_the_waiting_photo(
    dana: Therapist,
    moderator: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: object,
    media_root: Path,
) -> None:
    client = token_client(dana.user)
    put_photo(client, image_bytes())
    approve_in_admin(moderator, dana)
    put_photo(client, image_bytes("PNG"), "new.png", "image/png")
    assert len(stored_files(media_root)) == 4
    refreshed: list[list[int]] = []
    monkeypatch.setattr(search, "refresh", lambda ids: refreshed.append(list(ids)))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/me/profile/photo/")

    assert response.status_code == 204
    assert refreshed == [[dana.pk]]
    dana.refresh_from_db()
    assert dana.photo_status == "none" and dana.photo_url is None
    assert stored_files(media_root) == []


# The profile page, without JavaScript


def test_the_profile_page_uploads_shows_the_status_and_removes(
    dana: Therapist, django_capture_on_commit_callbacks: object, media_root: Path
) -> None:
    page = signed_in(dana.user)
    form = page.get("/me/profile/").content.decode()
    assert 'enctype="multipart/form-data"' in form and 'accept="image/jpeg,image/png,image/webp"' in form
    assert "No photo yet." in form

    response = page.post("/me/profile/photo/", {"photo": upload(image_bytes("PNG"), "me.png", "image/png")})

    assert response.status_code == 302 and response["Location"] == "/me/profile/#photo-heading"
    shown = page.get("/me/profile/").content.decode()
    assert "waiting for review" in shown and "your photo is uploaded" in shown
    dana.refresh_from_db()
    assert f'src="/media/{dana.photo_pending_thumbnail.name}"' in shown

    with django_capture_on_commit_callbacks(execute=True):
        assert page.post("/me/profile/photo/remove/").status_code == 302
    assert "No photo yet." in page.get("/me/profile/").content.decode()
    assert stored_files(media_root) == []


def test_the_profile_page_names_a_refused_file_next_to_the_field(dana: Therapist) -> None:
    response = signed_in(dana.user).post("/me/profile/photo/", {"photo": upload(image_bytes("GIF"), "me.gif")})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Your photo was not uploaded" in html
    assert html.count("GIF files are not accepted. Upload a JPEG, PNG or WebP photo.") == 2  # summary and field
    assert 'aria-invalid="true"' in html


def test_the_profile_page_refuses_a_post_without_a_file(dana: Therapist) -> None:
    response = signed_in(dana.user).post("/me/profile/photo/", {})
    assert response.status_code == 400 and "Choose a photo to upload." in response.content.decode()


def test_a_page_body_far_over_the_limit_is_a_413_page(dana: Therapist) -> None:
    response = signed_in(dana.user).post("/me/profile/photo/", {"photo": upload(bytes(11 * 1024 * 1024))})
    assert response.status_code == 413 and "That file is too large" in response.content.decode()


def test_someone_without_a_profile_cannot_upload_on_the_page(referrer: User, client: Client) -> None:
    assert signed_in(referrer).post("/me/profile/photo/", {"photo": upload(image_bytes())}).status_code == 403
    assert client.post("/me/profile/photo/", {"photo": upload(image_bytes())}).status_code == 302  # to sign-in


# Storage and serving


def test_media_are_served_by_django_only_when_asked(dana: Therapist, settings: object, client: Client) -> None:
    put_photo(token_client(dana.user), image_bytes())
    dana.refresh_from_db()
    url = dana.photo_pending.url
    settings.SERVE_MEDIA = True
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    settings.SERVE_MEDIA = False
    assert client.get(url).status_code == 404


def settings_in_a_subprocess(code: str, **environment: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MEDIA_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **environment)
    script = f"import django; django.setup(); from django.conf import settings; {code}"
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR
    )


def test_an_s3_store_is_chosen_by_configuration_with_public_unsigned_urls() -> None:
    code = (
        "import json; from django.core.files.storage import storages; storage = storages['default']; "
        "print(json.dumps([type(storage).__module__, storage.url('therapists/abc.jpg'), "
        "settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']]))"
    )
    result = settings_in_a_subprocess(
        code,
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="ipt-photos",
        AWS_S3_ENDPOINT_URL="https://objects.example.net",
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="test-key",
        AWS_SECRET_ACCESS_KEY="test-secret",
    )
    assert result.returncode == 0, result.stderr
    module, url, image_sources = json.loads(result.stdout.strip().splitlines()[-1])
    assert module == "storages.backends.s3"
    assert url.startswith("https://objects.example.net/") and url.endswith("therapists/abc.jpg")
    assert "?" not in url  # unsigned: listing cards keep the URL, and a signature would expire
    assert "https://objects.example.net" in image_sources

    with_cdn = settings_in_a_subprocess(
        code, MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="ipt-photos", AWS_S3_CUSTOM_DOMAIN="media.ipt.example"
    )
    _, url, image_sources = json.loads(with_cdn.stdout.strip().splitlines()[-1])
    assert url == "https://media.ipt.example/therapists/abc.jpg" and "https://media.ipt.example" in image_sources


@pytest.mark.parametrize(
    ("environment", "message"),
    [({"MEDIA_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME"), ({"MEDIA_STORAGE": "ftp"}, "filesystem or s3")],
)
def test_a_wrong_media_storage_setting_stops_start_up(environment: dict[str, str], message: str) -> None:
    result = settings_in_a_subprocess("print('started')", **environment)
    assert result.returncode != 0 and message in result.stderr
