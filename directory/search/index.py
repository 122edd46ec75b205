"""Keeping the index true: a therapist's search entries and listing card, built from the tables.

`refresh` is the one way the index follows a change: the services that write
what a search shows (profiles, moderation, availability, capacity, reference
names) call it after their writes, in their transaction.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable

from django.db import connections, transaction

from directory import geo
from directory.models import Office, Therapist
from directory.search.cards import CARD_FIELDS, card_of
from directory.search.models import (
    AGE_GROUP_BITS,
    FORMAT_BITS,
    NEVER_CONFIRMED,
    REPLY_FIGURES,
    STATE_BITS,
    WORD_TABLE,
    SearchEntry,
    mask,
)

REFRESH_BATCH_SIZE = 1000


def refresh(therapist_ids: Iterable[int]) -> dict[int, str]:
    """Rebuild the listing cards and search entries of these therapists from the tables; the new cards by id.

    Unpublished therapists keep a card but have no entries. Runs in the
    caller's transaction when there is one, so the index never shows half a change.
    """
    ids = list(dict.fromkeys(therapist_ids))
    cards = {}
    for start in range(0, len(ids), REFRESH_BATCH_SIZE):
        batch = ids[start : start + REFRESH_BATCH_SIZE]
        with transaction.atomic():
            therapists = list(Therapist.objects.filter(pk__in=batch).for_listing())
            for therapist in therapists:
                therapist.listing_card = cards[therapist.pk] = card_of(therapist)
            Therapist.objects.bulk_update(therapists, ["listing_card"], batch_size=500)
            entries = [entry for therapist in therapists for entry in entries_of(therapist)]
            SearchEntry.objects.filter(therapist_id__in=batch).delete()
            SearchEntry.objects.bulk_create(entries, batch_size=1000)
    return cards


def build_entries(
    therapist: Therapist,
    *,
    offices: Iterable[Office],
    licensed_states: Iterable[str],
    insurers: Iterable[tuple[int, bool]],
    focus_area_ids: Iterable[int],
    concern_ids: Iterable[int],
    language_ids: Iterable[int],
) -> list[SearchEntry]:
    """The entries of one therapist (none unless published); `insurers` as (insurer id, panel open) pairs."""
    rows = build_entry_rows(
        therapist,
        offices=offices,
        licensed_states=licensed_states,
        insurers=insurers,
        focus_area_ids=focus_area_ids,
        concern_ids=concern_ids,
        language_ids=language_ids,
    )
    return [SearchEntry(**row) for row in rows]


def build_entry_rows(
    therapist: Therapist,
    *,
    offices: Iterable[Office],
    licensed_states: Iterable[str],
    insurers: Iterable[tuple[int, bool]],
    focus_area_ids: Iterable[int],
    concern_ids: Iterable[int],
    language_ids: Iterable[int],
) -> list[dict]:
    """`build_entries` as the entries' field values (attribute names; fields left out take their defaults).

    For the bulk loader, which writes millions of entries as plain rows: a
    `SearchEntry` instance costs more to build than the row itself.
    """
    if therapist.status != Therapist.Status.PUBLISHED:
        return []
    insurers = list(insurers)
    states = sorted(set(licensed_states))
    common = {
        "therapist_id": therapist.pk,
        "last_name": therapist.last_name,
        "first_name": therapist.first_name,
        "updated_at": therapist.updated_at,
        "accepting_since": accepting_since(therapist.is_open_to_new_clients, therapist.availability_confirmed_at),
        "formats": mask(FORMAT_BITS[slug] for slug in therapist.formats),
        "age_groups": mask(AGE_GROUP_BITS[slug] for slug in therapist.age_groups),
        "insurers": mask(insurer_id for insurer_id, _ in insurers),
        "open_insurers": mask(insurer_id for insurer_id, is_open in insurers if is_open),
        "focus_areas": mask(focus_area_ids),
        "concerns": mask(concern_ids),
        "languages": mask(language_ids),
        "states": mask(STATE_BITS[state] for state in states),
        "capacity": therapist.capacity,
        "fee_min": therapist.fee_min,
        "sliding_scale": therapist.sliding_scale,
        "training_level": therapist.training_level,
        **{figure: getattr(therapist, figure) for figure in REPLY_FIGURES},
    }
    text = " ".join([therapist.first_name, therapist.last_name, therapist.credentials, therapist.bio]).lower()
    entries = [{"kind": SearchEntry.Kind.PROFILE, "text": text, **common}]
    for office in offices:
        if office.latitude is None or office.longitude is None:
            continue
        unit_x, unit_y, unit_z = geo.unit_vector(office.latitude, office.longitude)
        entries.append(
            {
                "kind": SearchEntry.Kind.OFFICE,
                "latitude": office.latitude,
                "longitude": office.longitude,
                "longitude_band": geo.longitude_band(office.longitude),
                "unit_x": unit_x,
                "unit_y": unit_y,
                "unit_z": unit_z,
                **common,
            }
        )
    entries += [{"kind": SearchEntry.Kind.LICENCE, "state": state, **common} for state in states]
    return entries


def index_unindexed(using: str = "default") -> None:
    """Build the entries of published therapists that have none (a database migrated from before the index)."""
    if SearchEntry._meta.db_table not in connections[using].introspection.table_names():
        return  # migrated backwards, to before the index
    unindexed = Therapist.objects.using(using).published().exclude(search_entries__kind=SearchEntry.Kind.PROFILE)
    refresh(unindexed.values_list("pk", flat=True))


def cards_are_stale(using: str = "default") -> bool:
    """Whether the stored cards have other fields than `CARD_FIELDS`: code that changed the card's shape
    was deployed, and `manage.py refresh_listings` must rebuild them.

    One card is read to decide (every card is built by the same code), so that
    `migrate` can tell at once; rebuilding 100,000 cards takes minutes, which
    `migrate` leaves to the command rather than do unasked.
    """
    if SearchEntry._meta.db_table not in connections[using].introspection.table_names():
        return False  # migrated backwards, to before the index and its cards
    sample = Therapist.objects.using(using).exclude(listing_card="").values_list("listing_card", flat=True).first()
    return sample is not None and tuple(json.loads(sample)) != CARD_FIELDS


def accepting_since(is_open_to_new_clients: bool, confirmed_at: datetime.datetime | None) -> datetime.datetime | None:
    """What an entry stores of availability: null when not open to new clients (`Therapist.is_open_to_new_clients`:
    not accepting, or silenced), NEVER_CONFIRMED when never confirmed."""
    if not is_open_to_new_clients:
        return None
    return confirmed_at or NEVER_CONFIRMED


def entries_of(therapist: Therapist) -> list[SearchEntry]:
    """The entries of a therapist loaded with `Therapist.objects.for_listing()`."""
    return build_entries(
        therapist,
        offices=therapist.offices.all(),
        licensed_states=[licence.state for licence in therapist.licensed_states.all()],
        insurers=[(link.insurer_id, link.accepting_new_clients) for link in therapist.insurer_links.all()],
        focus_area_ids=[area.pk for area in therapist.focus_areas.all()],
        concern_ids=[concern.pk for concern in therapist.concerns.all()],
        language_ids=[language.pk for language in therapist.languages.all()],
    )


# PostgreSQL: what separates the words of a PROFILE entry's text for its word index (migration 0009's trigger).
WORD_SEPARATORS = re.compile(r"[ \t\n\r\f\v]+")


class ProfileWordIds:
    """PostgreSQL: a PROFILE entry's `words` as migration 0009's trigger fills them, for a loader that writes
    entries with the trigger off: the ids of the text's distinct words of three letters or more (split on ASCII
    whitespace), sorted, each new word added to the vocabulary. A test holds the two to the same result.

    The vocabulary's ids are kept in memory: as many as there are distinct words, not entries.
    """

    def __init__(self, using: str = "default") -> None:
        self.connection = connections[using]
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT word, id FROM {WORD_TABLE}")
            self.ids: dict[str, int] = dict(cursor.fetchall())

    def of(self, text: str) -> list[int]:
        words = {word for word in WORD_SEPARATORS.split(text) if len(word) >= 3}
        if not words <= self.ids.keys():
            self.add(words - self.ids.keys())
        return sorted(self.ids[word] for word in words)

    def add(self, words: set[str]) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {WORD_TABLE} (word) SELECT unnest(%s::text[]) ON CONFLICT (word) DO NOTHING",
                [sorted(words)],
            )
            cursor.execute(f"SELECT word, id FROM {WORD_TABLE} WHERE word = ANY(%s)", [sorted(words)])
            self.ids.update(cursor.fetchall())
