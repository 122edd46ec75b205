"""Template helpers for directory pages."""

from __future__ import annotations

import datetime

from django import template
from django.http import QueryDict

from directory.models import Therapist, is_ascii_digits

register = template.Library()


@register.filter
def accepting(therapist: Therapist, now: datetime.datetime) -> bool:
    return therapist.is_accepting(now)


@register.filter
def relax(query: QueryDict, suggestion: str) -> str:
    """The query string of the same search with one constraint relaxed."""
    relaxed = query.copy()
    relaxed.pop("page", None)
    if suggestion == "radius":
        current = relaxed.get("radius", "25")
        relaxed["radius"] = "100" if not is_ascii_digits(current) or int(current) < 100 else "500"
    elif suggestion == "online":
        relaxed.setlist("format", [*relaxed.getlist("format"), "online"])
    elif suggestion == "accepting":
        relaxed["accepting"] = "any"
    else:
        relaxed.pop(suggestion, None)
    return relaxed.urlencode()


@register.filter
def split(text: str) -> list[str]:
    return text.split()


@register.filter
def field(form: object, name: str) -> object:
    """One field of a form rendered with its label, help text and errors."""
    return form[name].as_field_group()
