"""What callers ask of matching, as typed values: a client's need, and a referral of a patient with that need.

The serializers build these from input they parsed (types, vocabulary, the place
located); `matching.services` checks the rules and acts on them, so the pages, the
API and the demo data meet the same rules.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from directory import geo


@dataclass(frozen=True)
class ClientNeed:
    """What a client needs. `insurance` None means self-pay, with `max_fee` if any."""

    place: geo.Place
    formats: frozenset[str]
    insurance: str | None = None
    max_fee: int | None = None
    focus_areas: frozenset[str] = frozenset()
    concerns: frozenset[str] = frozenset()
    language: str | None = None
    language_required: bool = False
    age_group: str | None = None
    max_distance_miles: int | None = None  # None: settings.MATCH_MAX_DISTANCE_MILES


@dataclass(frozen=True)
class Patient:
    """The patient's details: protected health information."""

    name: str
    birth_date: datetime.date
    phone: str = ""
    email: str = ""
    notes: str = ""


@dataclass(frozen=True)
class ReferralRequest:
    """A referrer's request to refer a patient; `services.create_referral` checks it."""

    need: ClientNeed
    patient: Patient
    urgency: str
    consent: bool
