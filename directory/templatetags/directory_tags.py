"""Template helpers for directory pages."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable

from django import template
from django.utils import timezone

from directory.models import Insurer, Office, Therapist

register = template.Library()


@register.filter
def accepting(therapist: Therapist, now: datetime.datetime) -> bool:
    return therapist.is_accepting(now)


@register.filter
def split(text: str) -> list[str]:
    return text.split()


@register.filter
def field(form: object, name: str) -> object:
    """One field of a form rendered with its label, help text and errors."""
    return form[name].as_field_group()


@register.filter
def fees(therapist: Therapist) -> str:
    """Self-pay fees in one phrase: a range per session (joined by an en dash), then any sliding scale."""
    low, high = therapist.fee_min, therapist.fee_max
    if low is None and high is None:
        return "Sliding scale available" if therapist.sliding_scale else "Not listed"
    if low is None:
        text = f"Up to ${high} per session"
    elif high is None or high == low:
        text = f"${low} per session"
    else:
        text = f"${low}–${high} per session"
    return f"{text}, sliding scale available" if therapist.sliding_scale else text


@register.filter
def days_ago(moment: datetime.datetime | None, now: datetime.datetime) -> str:
    """How long ago, in whole calendar days where the site is: "today", "yesterday", "3 days ago"."""
    if moment is None:
        return "never"
    days = (timezone.localdate(now) - timezone.localdate(moment)).days
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{days} days ago"


@register.filter
def reply_time(hours: float) -> str:
    """A median time to answer as a client reads it: "under an hour", "5 hours", "3 days"."""
    if hours < 1:
        return "under an hour"
    if hours < 48:
        return f"{round(hours)} hour{'s' if round(hours) != 1 else ''}"
    return f"{round(hours / 24)} days"


@register.filter
def tel_href(phone: str) -> str:
    """A `tel:` link to a phone number as written on a profile ("(555) 123-4567"): its digits, and a leading +."""
    digits = "".join(character for character in phone if character.isascii() and character.isdigit())
    return f"tel:{'+' if phone.strip().startswith('+') else ''}{digits}"


CARD_INSURERS = 2  # plans a card names when the search asked for none; the rest are counted


@register.filter
def insurance_summary(insurers: list[Insurer], asked_ids: Collection[int] | None) -> dict:
    """What a card says of a therapist's plans: `shown` as (insurer, asked) pairs and `more`, the number unnamed.

    A search for plans names those of them the therapist takes, and counts the
    others; without one, the card names the first CARD_INSURERS plans.
    """
    asked_ids = asked_ids or ()
    asked = [(insurer, True) for insurer in insurers if insurer.pk in asked_ids]
    room = 0 if asked else CARD_INSURERS
    others = [(insurer, False) for insurer in insurers if insurer.pk not in asked_ids]
    return {"shown": asked + others[:room], "more": max(len(others) - room, 0)}


@register.filter
def cities(offices: Iterable[Office]) -> list[str]:
    """The distinct "City, ST" of a therapist's offices, in their order."""
    return list(dict.fromkeys(f"{office.city}, {office.state}" for office in offices))


# The training levels in the few words a card has room for; the profile spells them out.
TRAINING_SHORT = {"trained": "IPT trained", "certified": "Certified in IPT", "supervisor": "IPT supervisor"}


@register.filter
def training_short(level: str) -> str:
    return TRAINING_SHORT.get(level, level)
