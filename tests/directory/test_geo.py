"""The offline geocoder and distance helpers: no database, no network."""

from __future__ import annotations

import importlib

import pytest
from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

import config.wsgi
from directory import geo


def test_zip_code_resolves_to_its_coordinates_and_state() -> None:
    place = geo.locate("11215")
    assert place.state == "NY"
    assert place.latitude == pytest.approx(40.66, abs=0.05)
    assert place.longitude == pytest.approx(-73.98, abs=0.05)
    assert "Brooklyn" in place.label


def test_zip_plus_four_and_address_ending_in_zip() -> None:
    assert geo.locate("60614-1234").state == "IL"
    assert geo.locate_offline("233 S Wacker Dr, Chicago, IL 60606").state == "IL"


@pytest.mark.parametrize("spelling", ["St. Louis, MO", "Saint Louis, MO", "st louis, mo", "ST. LOUIS,MO"])
def test_city_names_are_normalised(spelling: str) -> None:
    place = geo.locate(spelling)
    assert place.state == "MO"
    assert place.latitude == pytest.approx(38.63, abs=0.15)


def test_city_centroid_lies_among_its_zip_codes() -> None:
    chicago = geo.locate("Chicago, IL")
    assert geo.miles_between(chicago.point, geo.locate("60601").point) < 15


def test_coordinates_are_taken_as_given_with_their_state() -> None:
    place = geo.locate("47.6062, -122.3321")
    assert place.point == (47.6062, -122.3321)
    assert place.state == "WA"


@pytest.mark.parametrize("query", ["99999", "00000", "Atlantis, ZZ", "Springfield", "", "91.0,10.0", "hello world"])
def test_unknown_places_raise_a_clear_error(query: str) -> None:
    with pytest.raises(geo.PlaceNotFound, match="could not locate"):
        geo.locate(query)


def test_placeholder_zero_coordinates_are_unknown() -> None:
    import zipcodes

    placeholders = [
        row["zip_code"] for row in zipcodes.list_all() if float(row["lat"]) == 0 and float(row["long"]) == 0
    ]
    assert placeholders
    assert geo.locate_offline(placeholders[0]) is None


def test_geocoder_speaks_geopys_interface() -> None:
    geocoder = geo.ZipcodeGeocoder()
    location = geocoder.geocode("02139")
    assert location.raw["state"] == "MA"
    assert (location.latitude, location.longitude) == pytest.approx((42.36, -71.10), abs=0.05)
    assert geocoder.geocode("nowhere at all") is None
    reverse = geocoder.reverse((40.7506, -73.9972))
    assert reverse.raw["state"] == "NY" and reverse.raw["postal_code"].startswith("100")


def test_miles_between_agrees_with_geodesic() -> None:
    brooklyn, manhattan = geo.locate("11215").point, geo.locate("10025").point
    assert geo.miles_between(brooklyn, manhattan) == pytest.approx(geodesic(brooklyn, manhattan).miles, rel=0.003)


@given(
    first=st.tuples(st.floats(min_value=-90, max_value=90), st.floats(min_value=-180, max_value=180)),
    second=st.tuples(st.floats(min_value=-90, max_value=90), st.floats(min_value=-180, max_value=180)),
)
def test_miles_between_measures_as_geopys_great_circle(first: tuple[float, float], second: tuple[float, float]) -> None:
    from geopy.distance import great_circle

    assert geo.miles_between(first, second) == pytest.approx(great_circle(first, second).miles, rel=1e-9, abs=1e-9)


@given(
    first=st.tuples(st.floats(min_value=-90, max_value=90), st.floats(min_value=-180, max_value=180)),
    second=st.tuples(st.floats(min_value=-90, max_value=90), st.floats(min_value=-180, max_value=180)),
)
def test_the_squared_chord_of_two_points_is_that_of_their_great_circle_distance(
    first: tuple[float, float], second: tuple[float, float]
) -> None:
    """So comparing squared chords in SQL decides "within the radius" exactly, and sorts by distance."""
    chord = sum((a - b) ** 2 for a, b in zip(geo.unit_vector(*first), geo.unit_vector(*second), strict=True))
    assert chord == pytest.approx(geo.squared_chord(geo.miles_between(first, second)), rel=1e-9, abs=1e-12)


@given(miles=st.floats(min_value=0, max_value=12_000))
def test_chord_miles_undoes_squared_chord(miles: float) -> None:
    """A result's distance in miles is read back from the squared chord the search sorted by."""
    assert geo.chord_miles(geo.squared_chord(miles)) == pytest.approx(miles, rel=1e-9, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    latitude=st.floats(min_value=18, max_value=65),
    longitude=st.floats(min_value=-160, max_value=-66),
    miles=st.floats(min_value=1, max_value=500),
    bearing=st.floats(min_value=0, max_value=360),
    fraction=st.floats(min_value=0, max_value=0.999),
)
def test_bounding_box_holds_every_point_within_the_radius(
    latitude: float, longitude: float, miles: float, bearing: float, fraction: float
) -> None:
    from geopy.distance import great_circle

    target = great_circle(miles=miles * fraction).destination((latitude, longitude), bearing)
    box = geo.bounding_box(latitude, longitude, miles)
    assert box.min_latitude <= target.latitude <= box.max_latitude
    assert box.min_longitude <= target.longitude <= box.max_longitude


@given(
    latitude=st.floats(min_value=18, max_value=89),
    longitude=st.floats(min_value=-180, max_value=180),
    miles=st.floats(min_value=1, max_value=500),
    fraction=st.floats(min_value=0, max_value=1),
)
def test_every_longitude_of_a_box_is_in_one_of_its_strips(
    latitude: float, longitude: float, miles: float, fraction: float
) -> None:
    box = geo.bounding_box(latitude, longitude, miles)
    west, east = max(box.min_longitude, -180.0), min(box.max_longitude, 180.0)
    inside = west + (east - west) * fraction
    bands = box.longitude_bands
    assert geo.longitude_band(inside) in bands
    assert len(bands) <= 361


def test_strips_of_longitude_are_read_from_the_one_holding_the_place() -> None:
    assert geo.nearest_bands_first([-75, -74, -73], -73.99) == [-74, -75, -73]
    assert geo.nearest_bands_first([-75, -74, -73], -73.2) == [-74, -73, -75]
    assert geo.nearest_bands_first([-75, -74, -73], -74.0) == [-74, -75, -73]


def test_the_zip_index_is_built_as_the_server_process_starts() -> None:
    geo.zip_index.cache_clear()
    importlib.reload(config.wsgi)
    assert geo.zip_index.cache_info().currsize == 1
