"""Listing cards: what a search result shows of a therapist, stored as JSON text and completed per request.

A card holds a result's static fields (`CARD_FIELDS`), written once per
change of the profile; `DYNAMIC_FIELDS` depend on the request, the clock or
the search and are added when a page is shown. Together they are the result
objects of the search API, in `RESULT_FIELDS` order (`TherapistSerializer`'s,
which a test holds to the same output).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Protocol

from rest_framework import serializers

from directory.models import Concern, FocusArea, Insurer, Language, Office, Therapist

DYNAMIC_FIELDS = ("id", "url", "accepting_new_clients", "availability_confirmed_at", "distance_miles")
CARD_FIELDS = (
    "slug", "name", "credentials", "pronouns", "photo_url", "bio_excerpt", "training_level", "formats",
    "age_groups", "insurance", "focus_areas", "concerns", "languages", "session_cadence", "offices",
    "licensed_states", "fee_min", "fee_max", "sliding_scale", "phone", "email", "website", "is_demo",
    "responsiveness",
)  # fmt: skip
RESULT_FIELDS = (*DYNAMIC_FIELDS, *CARD_FIELDS)


class Shown(Protocol):
    """What the live fields read of a therapist: a `Therapist` or a `ResultCard`."""

    pk: int
    availability_confirmed_at: datetime.datetime | None
    distance_miles: float | None

    def is_accepting(self, now: datetime.datetime | None = None) -> bool: ...


def card_of(therapist: Therapist) -> str:
    """The card of a therapist loaded with `Therapist.objects.for_listing()`."""
    return build_card(
        therapist,
        offices=therapist.offices.all(),
        licensed_states=[licence.state for licence in therapist.licensed_states.all()],
        insurers=therapist.insurer_list,
        focus_areas=therapist.focus_areas.all(),
        concerns=therapist.concerns.all(),
        languages=therapist.languages.all(),
    )


def _by_name(rows: Iterable[object], key: str = "slug") -> list[dict]:
    return [{key: getattr(row, key), "name": row.name} for row in sorted(rows, key=lambda row: row.name)]


def build_card(
    therapist: Therapist,
    *,
    offices: Iterable[Office],
    licensed_states: Iterable[str],
    insurers: Iterable[Insurer],
    focus_areas: Iterable[FocusArea],
    concerns: Iterable[Concern],
    languages: Iterable[Language],
) -> str:
    """The card (CARD_FIELDS as JSON text) from given relations, the licensed states as their codes (as
    `build_entries` takes them); the bulk loader builds cards this way too.

    Written out rather than run through the serializer, which is some forty
    times slower; a test holds the two to the same output.
    """
    card = {
        "slug": therapist.slug,
        "name": therapist.full_name,
        "credentials": therapist.credentials,
        "pronouns": therapist.pronouns,
        # As the storage gives it: "/media/…" on the filesystem, made absolute per request (`absolute_photo_url`).
        "photo_url": therapist.photo_thumbnail_url,
        "bio_excerpt": therapist.bio_excerpt,
        "training_level": therapist.training_level,
        "formats": therapist.formats,
        "age_groups": therapist.age_groups,
        "insurance": _by_name(insurers),
        "focus_areas": _by_name(focus_areas),
        "concerns": _by_name(concerns),
        "languages": _by_name(languages, key="code"),
        "session_cadence": therapist.session_cadence,
        "offices": [
            {
                "label": office.label,
                "address": office.address,
                "city": office.city,
                "state": office.state,
                "postal_code": office.postal_code,
                "latitude": office.latitude,
                "longitude": office.longitude,
                "wheelchair_accessible": office.wheelchair_accessible,
            }
            for office in offices
        ],
        "licensed_states": sorted(set(licensed_states)),
        "fee_min": therapist.fee_min,
        "fee_max": therapist.fee_max,
        "sliding_scale": therapist.sliding_scale,
        "phone": therapist.phone,
        "email": therapist.email,
        "website": therapist.website,
        "is_demo": therapist.is_demo,
        "responsiveness": therapist.published_responsiveness,
    }
    return json.dumps(card)


# How a stored photo path starts in a card's text (json.dumps' separators); see `result_json`.
PHOTO_PATH = '"photo_url": "/'


def result(shown: Shown, card: str, *, url: str, origin: str, now: datetime.datetime) -> dict:
    """A search result as a dict, exactly as `TherapistSerializer` shapes it, from a stored card.

    `origin` ("https://example.org") makes the photo's address absolute when the storage gave a path.
    """
    live, stored = _live_fields(shown, url=url, now=now), json.loads(card)
    stored["photo_url"] = absolute_photo_url(stored["photo_url"], origin)
    return {name: live[name] if name in live else stored[name] for name in RESULT_FIELDS}


def result_json(shown: Shown, card: str, *, url: str, origin: str, now: datetime.datetime) -> str:
    """`result` as JSON text: the live fields, then the stored card's own text, not parsed nor re-encoded.

    Only a photo path ("/media/…") gains the origin, by a text replacement: JSON
    escapes every quote inside a string, so the key with its quotes can only be the card's own.
    """
    live = json.dumps(_live_fields(shown, url=url, now=now))
    stored = card.lstrip()[1:].replace(PHOTO_PATH, f"{PHOTO_PATH[:-1]}{origin}/", 1)
    return f"{live[:-1]}, {stored}"


def absolute_photo_url(url: str | None, origin: str) -> str | None:
    """A stored photo's address for the API: a path on this site gains the origin; a store's full URL stays."""
    return f"{origin}{url}" if url and url.startswith("/") else url


def _live_fields(shown: Shown, *, url: str, now: datetime.datetime) -> dict:
    """DYNAMIC_FIELDS of one result, in their order."""
    return {
        "id": shown.pk,
        "url": url,
        "accepting_new_clients": shown.is_accepting(now),
        "availability_confirmed_at": _datetime_field.to_representation(shown.availability_confirmed_at),
        "distance_miles": shown.distance_miles,
    }


# DRF's own formatting of a datetime (the current time zone, "Z" for UTC), as the serializer writes it.
_datetime_field = serializers.DateTimeField()
