"""Offline geocoding of US places and distances in miles.

`ZipcodeGeocoder` speaks geopy's geocoder interface (`geocode`, `reverse`,
returning `geopy.Location`) over the `zipcodes` package, so a network geocoder
such as geopy's Nominatim can be configured in its place for office addresses.
Search input (a ZIP, "City, ST" or "lat,lng") is always resolved offline: no
request waits on the network.

The index is built once per process (a second or more; `config/wsgi.py` builds
it as a server process starts) because `zipcodes.matching()` scans its whole
list on every call. Coordinates come from
GeoNames (CC BY 4.0); the site's footer carries the attribution.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import import_module

import zipcodes
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point

# Distances are plain spherical geometry, shared with the (Django-free) ranking engine.
from geometry import (  # noqa: F401
    EARTH_RADIUS_MILES,
    MILES_PER_DEGREE_LATITUDE,
    BoundingBox,
    bounding_box,
    chord_miles,
    longitude_band,
    miles_between,
    nearest_bands_first,
    squared_chord,
    unit_vector,
)

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}  # fmt: skip

ZIP_PATTERN = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")
COORDINATES_PATTERN = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
CITY_STATE_PATTERN = re.compile(r"^\s*([A-Za-z][A-Za-z .'\-]*?)\s*,\s*([A-Za-z]{2})\s*$")


class PlaceNotFound(ValueError):
    """Raised when a place cannot be located; the message is safe to show."""


@dataclass(frozen=True)
class Place:
    """A located place: coordinates plus what search needs to know of it."""

    latitude: float
    longitude: float
    state: str
    label: str
    postal_code: str = ""

    @property
    def point(self) -> tuple[float, float]:
        return (self.latitude, self.longitude)


def normalize_city(city: str) -> str:
    """Fold a city name so that "St. Louis", "Saint Louis" and "st louis" meet."""
    folded = re.sub(r"[.'\-]", " ", city.lower())
    words = ["saint" if word in {"st", "ste"} else word for word in folded.split()]
    if words and words[0] == "ft":
        words[0] = "fort"
    if words and words[0] == "mt":
        words[0] = "mount"
    return " ".join(words)


@dataclass(frozen=True)
class _ZipRecord:
    postal_code: str
    city: str
    state: str
    latitude: float
    longitude: float


class ZipIndex:
    """In-memory lookups over every US ZIP with usable coordinates."""

    GRID_DEGREES = 1.0

    def __init__(self, records: Iterable[dict]) -> None:
        self.by_zip: dict[str, _ZipRecord] = {}
        city_points: dict[tuple[str, str], list[_ZipRecord]] = {}
        self.grid: dict[tuple[int, int], list[_ZipRecord]] = {}
        for raw in records:
            latitude, longitude = float(raw["lat"]), float(raw["long"])
            # About 2% of records carry 0,0 placeholders: they are unknown places.
            if latitude == 0.0 and longitude == 0.0:
                continue
            record = _ZipRecord(raw["zip_code"], raw["city"], raw["state"], latitude, longitude)
            self.by_zip[record.postal_code] = record
            for city in [raw["city"], *raw.get("acceptable_cities", [])]:
                key = (normalize_city(city), record.state)
                city_points.setdefault(key, []).append(record)
            self.grid.setdefault(self._cell(latitude, longitude), []).append(record)
        self.by_city = {key: self._centroid(key, rows) for key, rows in city_points.items()}

    @staticmethod
    def _centroid(key: tuple[str, str], rows: list[_ZipRecord]) -> Place:
        latitude = sum(row.latitude for row in rows) / len(rows)
        longitude = sum(row.longitude for row in rows) / len(rows)
        # The display name is the spelling most of the city's ZIPs use.
        names = [row.city for row in rows if normalize_city(row.city) == key[0]] or [key[0].title()]
        name = max(sorted(set(names)), key=names.count)
        return Place(latitude, longitude, key[1], f"{name}, {key[1]}")

    def _cell(self, latitude: float, longitude: float) -> tuple[int, int]:
        return (math.floor(latitude / self.GRID_DEGREES), math.floor(longitude / self.GRID_DEGREES))

    def zip_place(self, postal_code: str) -> Place | None:
        record = self.by_zip.get(postal_code)
        if record is None:
            return None
        label = f"{record.postal_code} ({record.city}, {record.state})"
        return Place(record.latitude, record.longitude, record.state, label, record.postal_code)

    def city_place(self, city: str, state: str) -> Place | None:
        return self.by_city.get((normalize_city(city), state.upper()))

    def nearest_zip(self, latitude: float, longitude: float) -> _ZipRecord | None:
        """The ZIP closest to a point, searched over the surrounding grid cells."""
        row, column = self._cell(latitude, longitude)
        best: tuple[float, _ZipRecord] | None = None
        for ring in range(0, 4):
            for cell_row in range(row - ring, row + ring + 1):
                for cell_column in range(column - ring, column + ring + 1):
                    for record in self.grid.get((cell_row, cell_column), []):
                        squared = (record.latitude - latitude) ** 2 + (
                            (record.longitude - longitude) * math.cos(math.radians(latitude))
                        ) ** 2
                        if best is None or squared < best[0]:
                            best = (squared, record)
            if best is not None:
                return best[1]
        return None


@cache
def zip_index() -> ZipIndex:
    # A ZIP prefix at a time: `zipcodes.list_all()` holds all 42,000 records as dicts at once (and keeps
    # them), which doubled a process's peak memory (about 250 MB against 150 MB) for the same index.
    return ZipIndex(record for prefix in range(100) for record in zipcodes.similar_to(f"{prefix:02d}"))


def _location(place: Place) -> Location:
    raw = {"state": place.state, "postal_code": place.postal_code, "label": place.label}
    return Location(place.label, Point(place.latitude, place.longitude), raw)


class ZipcodeGeocoder(Geocoder):
    """A geopy geocoder answering from the bundled US ZIP database, offline.

    `geocode` takes a ZIP ("10001" or "10001-1234"), "City, ST", a street
    address ending in a ZIP, or "lat,lng"; `reverse` gives the nearest ZIP.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)

    def geocode(self, query: str, *, exactly_one: bool = True, **_: object) -> Location | None:
        place = locate_offline(str(query))
        if place is None:
            return None
        location = _location(place)
        return location if exactly_one else [location]

    def reverse(self, query: object, *, exactly_one: bool = True, **_: object) -> Location | None:
        point = Point(query)
        record = zip_index().nearest_zip(point.latitude, point.longitude)
        if record is None:
            return None
        place = zip_index().zip_place(record.postal_code)
        location = _location(place)
        return location if exactly_one else [location]


def locate_offline(query: str) -> Place | None:
    """Resolve a ZIP, "City, ST", an address ending in a ZIP, or "lat,lng"."""
    index = zip_index()
    text = query.strip()
    if match := ZIP_PATTERN.match(text):
        return index.zip_place(match.group(1))
    if match := COORDINATES_PATTERN.match(text):
        latitude, longitude = float(match.group(1)), float(match.group(2))
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return None
        record = index.nearest_zip(latitude, longitude)
        if record is None:
            return None
        return Place(latitude, longitude, record.state, f"{latitude:.4f}, {longitude:.4f}")
    if match := CITY_STATE_PATTERN.match(text):
        return index.city_place(match.group(1), match.group(2))
    if match := re.search(r"\b(\d{5})(?:-\d{4})?\s*$", text):
        return index.zip_place(match.group(1))
    return None


def nearest_postal_code(place: Place) -> str:
    """The place's ZIP code, else the ZIP nearest to it (a place given as coordinates or a city has none)."""
    if place.postal_code:
        return place.postal_code
    record = zip_index().nearest_zip(place.latitude, place.longitude)
    return record.postal_code if record else ""


def locate(query: str) -> Place:
    """Resolve search input to a place, offline, or raise PlaceNotFound."""
    if not query or not query.strip():
        raise PlaceNotFound(
            "could not locate an empty place: enter a 5-digit US ZIP code, or a city and state such as “St. Louis, MO”."
        )
    place = locate_offline(query)
    if place is None:
        raise PlaceNotFound(
            f"could not locate “{query.strip()[:60]}”: "
            "enter a 5-digit US ZIP code, or a city and state such as “St. Louis, MO”."
        )
    return place


@cache
def configured_geocoder() -> Geocoder:
    """The geocoder named by settings.GEOCODER, built once per process."""
    from django.conf import settings

    module_name, _, class_name = settings.GEOCODER.rpartition(".")
    geocoder_class = getattr(import_module(module_name), class_name)
    if geocoder_class is ZipcodeGeocoder:
        return geocoder_class()
    return geocoder_class(user_agent=settings.GEOCODER_USER_AGENT)


def geocode_address(address: str, postal_code: str) -> Place:
    """Coordinates for an office: the configured geocoder, then the ZIP centroid."""
    geocoder = configured_geocoder()
    location = None
    if not isinstance(geocoder, ZipcodeGeocoder):
        location = geocoder.geocode(f"{address}, {postal_code}, USA")
    if location is not None:
        state = zip_state(postal_code)
        return Place(location.latitude, location.longitude, state, location.address, postal_code)
    place = zip_index().zip_place(postal_code.strip()[:5])
    if place is None:
        raise PlaceNotFound(f"ZIP code {postal_code!r} is not a known US ZIP code.")
    return place


def zip_state(postal_code: str) -> str:
    record = zip_index().by_zip.get(postal_code.strip()[:5])
    return record.state if record else ""
