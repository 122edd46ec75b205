"""Template helpers for matching pages: the engine's terms in words a client understands."""

from __future__ import annotations

from django import template
from django.http import QueryDict

from matching.ranking import EXCLUSION_REASONS

register = template.Library()

# The score components as a client reads them; one entry per `ranking.COMPONENTS`.
COMPONENT_LABELS = {
    "focus": "Fits what you are dealing with",
    "concern": "Treats your concerns",
    "distance": "Close to you, or online",
    "availability": "Has openings, confirmed recently",
    "language": "Speaks your language",
    "training": "Depth of IPT training",
    "responsiveness": "Answers requests in time",
    "load": "Has room for new clients",
}
# Why therapists in reach were left out, as "N therapist(s) nearby ..." (singular, plural); one per hard constraint.
EXCLUSION_SENTENCES = {
    "not_accepting": ("is not taking new clients", "are not taking new clients"),
    "availability_stale": ("has not confirmed openings recently", "have not confirmed openings recently"),
    "no_capacity": ("has no openings right now", "have no openings right now"),
    "insurance": (
        "does not take your insurance, or costs more than your limit",
        "do not take your insurance, or cost more than your limit",
    ),
    "format": ("does not offer the ways you want to meet", "do not offer the ways you want to meet"),
    "distance": (
        "sees clients in person only, and no office is close enough",
        "see clients in person only, and no office is close enough",
    ),
    "license": (
        "works online only, and is not licensed in your state",
        "work online only, and are not licensed in your state",
    ),
    "age_group": ("does not see your age group", "do not see your age group"),
    "language": ("does not speak your language", "do not speak your language"),
}


@register.filter
def getlist(query: QueryDict | dict, name: str) -> list[str]:
    return query.getlist(name) if hasattr(query, "getlist") else []


@register.filter
def exclusion_label(reason: str) -> str:
    return EXCLUSION_REASONS.get(reason, reason)


@register.filter
def component_label(name: str) -> str:
    """A score component in a client's words (the engine's short name if a new one has no label yet)."""
    return COMPONENT_LABELS.get(name, name.capitalize())


@register.simple_tag
def exclusion_sentence(reason: str, count: int) -> str:
    """ "12 therapists nearby are not taking new clients": why some were left out, without internal terms."""
    one, many = EXCLUSION_SENTENCES.get(reason, ("was left out", "were left out"))
    return f"{count} therapist{'' if count == 1 else 's'} nearby {one if count == 1 else many}"
