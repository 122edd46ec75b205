"""Distances on the Earth as a sphere, in miles: pure Python, shared by search (through `directory.geo`) and ranking.

The radius is geopy's mean Earth radius, so a distance here is geopy's
`great_circle` (tests hold the two together).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from geopy import units
from geopy.distance import EARTH_RADIUS

EARTH_RADIUS_MILES = units.miles(kilometers=EARTH_RADIUS)  # geopy's mean radius: 3958.76 miles
MILES_PER_DEGREE_LATITUDE = EARTH_RADIUS_MILES * math.pi / 180


def miles_between(first: tuple[float, float], second: tuple[float, float]) -> float:
    """Great-circle miles (within 0.3% of geodesic), as geopy's `great_circle` measures them.

    The same formula and Earth radius, without the two geopy Points it builds
    per call, which cost more than the arithmetic on a match's hundreds of distances.
    """
    latitude_1, longitude_1 = math.radians(first[0]), math.radians(first[1])
    latitude_2, longitude_2 = math.radians(second[0]), math.radians(second[1])
    sin_1, cos_1 = math.sin(latitude_1), math.cos(latitude_1)
    sin_2, cos_2 = math.sin(latitude_2), math.cos(latitude_2)
    cos_delta, sin_delta = math.cos(longitude_2 - longitude_1), math.sin(longitude_2 - longitude_1)
    angle = math.atan2(
        math.hypot(cos_2 * sin_delta, cos_1 * sin_2 - sin_1 * cos_2 * cos_delta),
        sin_1 * sin_2 + cos_1 * cos_2 * cos_delta,
    )
    return EARTH_RADIUS_MILES * angle


@dataclass(frozen=True)
class BoundingBox:
    min_latitude: float
    max_latitude: float
    min_longitude: float
    max_longitude: float

    @property
    def longitude_bands(self) -> list[int]:
        """The strips of longitude the box crosses (see `longitude_band`; at most the 361 that span the globe)."""
        west, east = max(self.min_longitude, -180.0), min(self.max_longitude, 180.0)
        return list(range(longitude_band(west), longitude_band(east) + 1))


def longitude_band(longitude: float) -> int:
    """The strip of longitude a point lies in: its whole degrees, rounded down (SearchEntry.longitude_band)."""
    return math.floor(longitude)


def nearest_bands_first(bands: list[int], longitude: float) -> list[int]:
    """These strips of longitude, the one holding `longitude` first, then by how far their nearer edge is from it."""
    own = longitude_band(longitude)
    return sorted(bands, key=lambda band: (max(band - longitude, longitude - (band + 1), 0.0), band != own))


def bounding_box(latitude: float, longitude: float, miles: float) -> BoundingBox:
    """The latitude/longitude box that holds every point within `miles`."""
    latitude_delta = miles / MILES_PER_DEGREE_LATITUDE
    min_latitude = max(-90.0, latitude - latitude_delta)
    max_latitude = min(90.0, latitude + latitude_delta)
    widest = max(abs(min_latitude), abs(max_latitude))
    cosine_widest = max(math.cos(math.radians(widest)), 0.01)
    longitude_delta = min(180.0, miles / (MILES_PER_DEGREE_LATITUDE * cosine_widest))
    return BoundingBox(min_latitude, max_latitude, longitude - longitude_delta, longitude + longitude_delta)


def unit_vector(latitude: float, longitude: float) -> tuple[float, float, float]:
    """The point on the unit sphere (x towards 0° E on the equator, y towards 90° E, z towards the north pole).

    The squared chord between two such points, plain arithmetic, grows with
    their great-circle distance: compared with `squared_chord(miles)`, it says
    exactly whether a point is within `miles`, and it sorts points by distance.
    """
    phi, lam = math.radians(latitude), math.radians(longitude)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def squared_chord(miles: float) -> float:
    """The squared chord, on the unit sphere, of a great-circle distance of `miles` (see `unit_vector`)."""
    angle = min(miles / EARTH_RADIUS_MILES, math.pi)
    return (2 * math.sin(angle / 2)) ** 2


def chord_miles(squared: float) -> float:
    """The great-circle miles of a squared chord on the unit sphere: the inverse of `squared_chord`."""
    return EARTH_RADIUS_MILES * 2 * math.asin(min(1.0, math.sqrt(squared) / 2))
