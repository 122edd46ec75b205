"""Therapist photos: what an upload must be, how it is stored, and staff's approval before anyone sees it.

Every rule lives here; the API, the profile page and the admin only parse and display.
An upload is decoded with Pillow and re-encoded as a fresh JPEG, so nothing of the
original file survives but its pixels: no EXIF (GPS position, camera, date), no XMP,
no comments, no embedded scripts. The new photo waits as the therapist's pending
photo; the public sees only the approved one (`Therapist.photo_url`).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from directory.models import Therapist
from directory.profiles import _notify, _profile_link, changes_listing

logger = logging.getLogger(__name__)

FIELD = "photo"
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
# 50 megapixels takes a 48 MP phone photo; decoded, that is at most 150 MB for a moment. Pillow refuses
# more on its own too (DirectoryConfig.ready sets Image.MAX_IMAGE_PIXELS and makes its warning an error).
MAX_PIXELS = 50_000_000
MIN_EDGE = 160  # smaller than a card's thumbnail is no photo of a person
PHOTO_EDGE = 800  # the stored photo's longest side
THUMBNAIL_EDGE = 320  # the square thumbnail: 160 CSS pixels, sharp on high-density screens
JPEG_QUALITY = 85
# The approved pair, the pending pair, then when the pending one came and why the last one was refused.
PHOTO_FIELDS = (
    "photo", "photo_thumbnail", "photo_pending", "photo_pending_thumbnail", "photo_submitted_at",
    "photo_rejection_reason",
)  # fmt: skip
FILE_FIELDS = PHOTO_FIELDS[:4]
PENDING_FIELDS = PHOTO_FIELDS[2:]
REJECTION_REASON_LENGTH = Therapist._meta.get_field("photo_rejection_reason").max_length
# First bytes of formats people try, to say what a refused file is rather than only that it is refused.
SIGNATURES = {
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"%PDF": "PDF",
    b"<svg": "SVG",
    b"<?xml": "SVG",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


@dataclass(frozen=True)
class ProcessedPhoto:
    """An upload made safe: the photo and its thumbnail as JPEG bytes, with the photo's size."""

    photo: bytes
    thumbnail: bytes
    width: int
    height: int


def _refuse(message: str) -> ValidationError:
    return ValidationError({FIELD: [message]})


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _named_format(head: bytes) -> str | None:
    """What a file that Pillow may not open seems to be, from its first bytes."""
    stripped = head.lstrip()
    for signature, name in SIGNATURES.items():
        if stripped.startswith(signature):
            return name
    if head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"avif"}:
        return "AVIF" if head[8:12] == b"avif" else "HEIC"
    return None


def _open(upload: UploadedFile) -> Image.Image:
    """The upload's image, header read and checked; the pixels are not decoded yet."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    try:
        image = Image.open(upload, formats=list(ACCEPTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _refuse(f"The image has too many pixels: at most {MAX_PIXELS // 1_000_000} megapixels.") from error
    except UnidentifiedImageError as error:
        named = _named_format(head)
        if named:
            raise _refuse(f"{named} files are not accepted. Upload a JPEG, PNG or WebP photo.") from error
        raise _refuse("This file is not an image. Upload a JPEG, PNG or WebP photo.") from error
    except (OSError, SyntaxError, ValueError) as error:  # a header Pillow recognised, then could not read
        raise _refuse("The image is damaged and cannot be read. Upload it again, or export it anew.") from error
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _refuse(
            f"The image has too many pixels ({width} × {height}): at most {MAX_PIXELS // 1_000_000} megapixels."
        )
    if min(width, height) < MIN_EDGE:
        raise _refuse(f"The image is {width} × {height} pixels; a photo needs at least {MIN_EDGE} on each side.")
    return image


def _decoded(image: Image.Image) -> Image.Image:
    """The pixels, upright, in sRGB, on white where transparent: everything else of the file is left behind."""
    image.draft("RGB", (PHOTO_EDGE, PHOTO_EDGE))  # JPEG only: decode at a reduced scale, fast and small
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:  # truncated, corrupt
        raise _refuse("The image is incomplete or damaged (truncated?). Upload it again.") from error
    upright = ImageOps.exif_transpose(image)  # a phone's "rotate on display" tag, applied before it is dropped
    profile = image.info.get("icc_profile")
    if profile and upright.mode in ("RGB", "RGBA"):
        with contextlib.suppress(ImageCms.PyCMSError, OSError):  # an unreadable profile: the pixels as they are
            upright = ImageCms.profileToProfile(
                upright, ImageCms.ImageCmsProfile(io.BytesIO(profile)), ImageCms.createProfile("sRGB"),
                outputMode=upright.mode,
            )  # fmt: skip
    if upright.mode.startswith("I;16") or upright.mode == "I":  # 16-bit grey: scaled, not clipped, to 8 bits
        upright = upright.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        flattened = Image.new("RGB", rgba.size, "white")
        flattened.paste(rgba, mask=rgba.getchannel("A"))
        return flattened
    return upright.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    """JPEG bytes with nothing but the pixels.

    Pillow carries some of a source's metadata over to what it saves (a JPEG comment, an
    ICC profile now wrong for sRGB pixels): the image's info is emptied first.
    """
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return buffer.getvalue()


def process_photo(upload: UploadedFile) -> ProcessedPhoto:
    """Check an uploaded photo and re-encode it, or raise ValidationError naming `photo` and the problem.

    Accepted: JPEG, PNG and WebP files up to PHOTO_MAX_BYTES, at most MAX_PIXELS and at least
    MIN_EDGE pixels a side. Refused without decoding: other formats whatever the file's name, too
    many bytes or pixels (a decompression bomb declares many pixels in a few bytes). The result is
    at most PHOTO_EDGE pixels a side, plus a THUMBNAIL_EDGE square cropped around the upper middle,
    where a portrait's face is.
    """
    if upload is None:
        raise _refuse("Choose a photo to upload.")
    if upload.size == 0:
        raise _refuse("The file is empty.")
    limit = settings.PHOTO_MAX_BYTES
    if upload.size > limit:
        raise _refuse(f"The file is {_megabytes(upload.size)} MB; a photo may be at most {_megabytes(limit)} MB.")
    image = _decoded(_open(upload))
    photo = image.copy()
    photo.thumbnail((PHOTO_EDGE, PHOTO_EDGE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    # From the smaller copy when it is big enough: the same result, many fewer pixels to resample.
    source = photo if min(photo.size) >= THUMBNAIL_EDGE else image
    thumbnail = ImageOps.fit(source, (THUMBNAIL_EDGE, THUMBNAIL_EDGE), Image.Resampling.LANCZOS, centering=(0.5, 0.35))
    return ProcessedPhoto(photo=_jpeg(photo), thumbnail=_jpeg(thumbnail), width=photo.width, height=photo.height)


def _store(field_name: str, therapist: Therapist, content: bytes) -> str:
    """Save bytes under the field's random name, through the field's storage (STORAGES["default"])."""
    field = Therapist._meta.get_field(field_name)
    name = field.generate_filename(therapist, "photo.jpg")
    return field.storage.save(name, ContentFile(content), max_length=field.max_length)


def _delete_files(names: Iterable[str]) -> None:
    """Delete stored files; a storage failure leaves an orphan file behind, logged, and fails no one."""
    storage = Therapist._meta.get_field("photo").storage
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
        except Exception:  # any backend's error (filesystem, S3): the database is already right
            logger.exception("Could not delete the stored photo %s", name)


def _delete_after_commit(names: Iterable[str]) -> None:
    kept = [name for name in names if name]
    if kept:
        transaction.on_commit(lambda: _delete_files(kept))


def _locked(therapist: Therapist) -> Therapist:
    # Only the therapist row is locked (PostgreSQL refuses to lock the nullable side of the join to the user).
    return Therapist.objects.select_for_update(of=("self",)).select_related("user").get(pk=therapist.pk)


def _copy_photo_fields(source: Therapist, target: Therapist) -> None:
    for name in PHOTO_FIELDS:
        setattr(target, name, getattr(source, name))


def submit_photo(*, therapist: Therapist, upload: UploadedFile) -> Therapist:
    """A therapist's new photo, checked and re-encoded, waits for staff; the public keeps seeing the approved one.

    A photo still waiting is replaced, and its files deleted once the new one is recorded.
    Raises ValidationError naming `photo` for a file that is refused.
    """
    processed = process_photo(upload)
    names = [
        _store("photo_pending", therapist, processed.photo),
        _store("photo_pending_thumbnail", therapist, processed.thumbnail),
    ]
    try:
        with transaction.atomic():
            current = _locked(therapist)
            _delete_after_commit([current.photo_pending.name, current.photo_pending_thumbnail.name])
            current.photo_pending, current.photo_pending_thumbnail = names
            current.photo_submitted_at = timezone.now()
            current.photo_rejection_reason = ""
            # Not `updated_at`: nothing the public sees has changed yet.
            current.save(update_fields=PENDING_FIELDS)
    except BaseException:
        _delete_files(names)  # the database never pointed at them
        raise
    _copy_photo_fields(current, therapist)
    return therapist


@transaction.atomic
@changes_listing
def remove_photo(*, therapist: Therapist) -> Therapist:
    """The therapist takes their photo down: the approved one and any waiting, files included."""
    current = _locked(therapist)
    _delete_after_commit(getattr(current, name).name for name in FILE_FIELDS)
    for name in FILE_FIELDS:
        setattr(current, name, "")
    current.photo_submitted_at, current.photo_rejection_reason = None, ""
    current.save(update_fields=[*PHOTO_FIELDS, "updated_at"])
    _copy_photo_fields(current, therapist)
    return therapist


@transaction.atomic
@changes_listing
def approve_photo(*, therapist: Therapist) -> bool:
    """Staff approve the waiting photo: it replaces the public one, search shows it, the therapist is told.

    False when no photo was waiting (already reviewed, or removed meanwhile).
    """
    current = _locked(therapist)
    if not current.photo_pending:
        return False
    _delete_after_commit([current.photo.name, current.photo_thumbnail.name])
    current.photo, current.photo_thumbnail = current.photo_pending.name, current.photo_pending_thumbnail.name
    current.photo_pending, current.photo_pending_thumbnail = "", ""
    current.photo_submitted_at, current.photo_rejection_reason = None, ""
    current.save(update_fields=[*PHOTO_FIELDS, "updated_at"])
    _copy_photo_fields(current, therapist)
    shown = (
        f"It now shows on your listing: {settings.SITE_URL}{current.get_absolute_url()}"
        if current.status == Therapist.Status.PUBLISHED
        else "It will show on your listing once your profile is published."
    )
    _notify(current, "Your photo is approved", f"Staff approved your new photo. {shown}")
    return True


@transaction.atomic
def reject_photo(*, therapist: Therapist, reason: str = "") -> bool:
    """Staff turn the waiting photo down: its files are deleted, the reason is kept for the therapist and emailed.

    The public photo, if any, stays as it was. False when no photo was waiting.
    """
    reason = reason.strip() or "Staff did not approve this photo."
    if len(reason) > REJECTION_REASON_LENGTH:
        raise ValidationError({"reason": [f"Keep the reason under {REJECTION_REASON_LENGTH} characters."]})
    current = _locked(therapist)
    if not current.photo_pending:
        return False
    _delete_after_commit([current.photo_pending.name, current.photo_pending_thumbnail.name])
    current.photo_pending, current.photo_pending_thumbnail = "", ""
    current.photo_submitted_at, current.photo_rejection_reason = None, reason
    current.save(update_fields=PENDING_FIELDS)
    _copy_photo_fields(current, therapist)
    _notify(
        current,
        "Your photo was not approved",
        f"Staff did not approve the photo you uploaded: {reason}\n\nYou may upload another: {_profile_link()}",
    )
    return True
