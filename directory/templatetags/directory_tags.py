"""Template helpers for directory pages."""

from __future__ import annotations

import datetime

from django import template

from directory.models import Therapist

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
