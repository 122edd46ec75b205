"""Template helpers for matching pages."""

from __future__ import annotations

from django import template
from django.http import QueryDict

from matching.ranking import EXCLUSION_REASONS

register = template.Library()


@register.filter
def getlist(query: QueryDict | dict, name: str) -> list[str]:
    return query.getlist(name) if hasattr(query, "getlist") else []


@register.filter
def exclusion_label(reason: str) -> str:
    return EXCLUSION_REASONS.get(reason, reason)
