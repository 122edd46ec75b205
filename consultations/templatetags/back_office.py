"""The admin index's dashboard of what waits for staff."""

from __future__ import annotations

from django import template
from django.utils import timezone

from consultations.dashboard import waiting_for_staff

register = template.Library()


@register.inclusion_tag("admin/dashboard.html")
def staff_dashboard() -> dict:
    return {"waiting": waiting_for_staff(timezone.now())}
