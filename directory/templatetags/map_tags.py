"""The map's data for a page (templates/directory/_map.html): markers, tiles if configured, marker images."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.conf import settings
from django.templatetags.static import static

from directory.models import Therapist
from directory.selectors import office_markers

register = template.Library()


@register.simple_tag
def map_data(shown: Therapist | Iterable[Therapist] | None) -> dict:
    """What static/js/map.js draws, for one therapist (a profile) or a page of results.

    The marker images are named here, through `static`, because Leaflet's own guess
    from its stylesheet's address fails once collectstatic hashes the file names.
    """
    therapists = [shown] if isinstance(shown, Therapist) else list(shown or [])
    tiles = {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION}
    return {
        "markers": office_markers(therapists),
        "tiles": tiles if settings.MAP_TILE_URL else None,
        "icon": {
            "url": static("vendor/leaflet/images/marker-icon.png"),
            "retina_url": static("vendor/leaflet/images/marker-icon-2x.png"),
            "shadow_url": static("vendor/leaflet/images/marker-shadow.png"),
        },
    }
