"""A synthetic national directory: N fictional therapists placed where people live.

The `zipcodes` package has no population, so placement is approximated with
the table below: the 50 largest US metropolitan statistical areas with their
2020 Census populations (rounded to thousands) and a centre point. Each metro
gets therapists in proportion to its population, at ZIP codes within
`METRO_RADIUS_MILES` of its centre (picked uniformly among those ZIPs, so
denser areas with more ZIPs get more). The rest of the country (about 44% of
the 2020 population of 331.4 million) is the rural and small-town remainder:
spread over every other ZIP code, state by state in proportion to the state's
number of such ZIPs. Each record comes from `directory.demo.generate_therapist`,
so formats, insurers, focus areas, languages and licences follow the demo mix.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from directory import geo
from directory.demo import METROS as DEMO_METROS
from directory.demo import Metro, generate_therapist

US_POPULATION_2020 = 331_449_000
METRO_RADIUS_MILES = 30
NEIGHBOUR_RADIUS_MILES = 60
DEFAULT_LANGUAGES = ("es", "zh", "vi", "ar", "fr", "de")

# (metro, state of its centre, 2020 Census MSA population in thousands, centre latitude, longitude)
LARGEST_METROS = [
    ("New York", "NY", 20140, 40.7128, -74.0060),
    ("Los Angeles", "CA", 13201, 34.0522, -118.2437),
    ("Chicago", "IL", 9619, 41.8781, -87.6298),
    ("Dallas-Fort Worth", "TX", 7637, 32.8500, -97.0500),
    ("Houston", "TX", 7122, 29.7604, -95.3698),
    ("Washington", "DC", 6385, 38.9072, -77.0369),
    ("Philadelphia", "PA", 6245, 39.9526, -75.1652),
    ("Miami", "FL", 6138, 25.9500, -80.2500),
    ("Atlanta", "GA", 6090, 33.7490, -84.3880),
    ("Boston", "MA", 4942, 42.3601, -71.0589),
    ("Phoenix", "AZ", 4846, 33.4484, -112.0740),
    ("San Francisco", "CA", 4749, 37.8000, -122.2700),
    ("Riverside", "CA", 4600, 33.9800, -117.3700),
    ("Detroit", "MI", 4392, 42.3314, -83.0458),
    ("Seattle", "WA", 4019, 47.6062, -122.3321),
    ("Minneapolis", "MN", 3690, 44.9778, -93.2650),
    ("San Diego", "CA", 3299, 32.7157, -117.1611),
    ("Tampa", "FL", 3175, 27.9506, -82.4572),
    ("Denver", "CO", 2964, 39.7392, -104.9903),
    ("Baltimore", "MD", 2845, 39.2904, -76.6122),
    ("St. Louis", "MO", 2820, 38.6270, -90.1994),
    ("Orlando", "FL", 2673, 28.5383, -81.3792),
    ("Charlotte", "NC", 2660, 35.2271, -80.8431),
    ("San Antonio", "TX", 2558, 29.4241, -98.4936),
    ("Portland", "OR", 2513, 45.5152, -122.6784),
    ("Sacramento", "CA", 2397, 38.5816, -121.4944),
    ("Pittsburgh", "PA", 2371, 40.4406, -79.9959),
    ("Austin", "TX", 2283, 30.2672, -97.7431),
    ("Las Vegas", "NV", 2265, 36.1699, -115.1398),
    ("Cincinnati", "OH", 2257, 39.1031, -84.5120),
    ("Kansas City", "MO", 2192, 39.0997, -94.5786),
    ("Columbus", "OH", 2139, 39.9612, -82.9988),
    ("Indianapolis", "IN", 2111, 39.7684, -86.1581),
    ("Cleveland", "OH", 2088, 41.4993, -81.6944),
    ("San Jose", "CA", 2000, 37.3382, -121.8863),
    ("Nashville", "TN", 1990, 36.1627, -86.7816),
    ("Virginia Beach", "VA", 1800, 36.8508, -76.2859),
    ("Providence", "RI", 1677, 41.8240, -71.4128),
    ("Jacksonville", "FL", 1606, 30.3322, -81.6557),
    ("Milwaukee", "WI", 1575, 43.0389, -87.9065),
    ("Oklahoma City", "OK", 1426, 35.4676, -97.5164),
    ("Raleigh", "NC", 1414, 35.7796, -78.6382),
    ("Memphis", "TN", 1338, 35.1495, -90.0490),
    ("Richmond", "VA", 1314, 37.5407, -77.4360),
    ("Louisville", "KY", 1285, 38.2527, -85.7585),
    ("New Orleans", "LA", 1272, 29.9511, -90.0715),
    ("Salt Lake City", "UT", 1258, 40.7608, -111.8910),
    ("Hartford", "CT", 1214, 41.7658, -72.6734),
    ("Buffalo", "NY", 1167, 42.8864, -78.8784),
    ("Birmingham", "AL", 1115, 33.5186, -86.8104),
]  # fmt: skip


@dataclass(frozen=True)
class Region:
    """Where a share of the therapists practise, and how many people live there."""

    metro: Metro
    population: float


def _miles(first: tuple[float, float], second: tuple[float, float]) -> float:
    scale = math.cos(math.radians((first[0] + second[0]) / 2))
    return math.hypot(first[0] - second[0], (first[1] - second[1]) * scale) * geo.MILES_PER_DEGREE_LATITUDE


def _demo_metro_for_state(state: str) -> Metro | None:
    return next((metro for metro in DEMO_METROS if metro.state == state), None)


def _metro(name: str, state: str, postal_codes: list[str], neighbour_states: set[str]) -> Metro:
    demo = _demo_metro_for_state(state)
    return Metro(
        name,
        state,
        tuple(sorted(postal_codes)),
        # Licences only in states and territories (APO/FPO codes share grid cells with real ones).
        tuple(sorted(neighbour_states.intersection(geo.US_STATES) - {state})),
        demo.local_insurers if demo else ("medicaid",),
        demo.languages if demo else DEFAULT_LANGUAGES,
    )


def _zips_near(latitude: float, longitude: float, miles: float) -> list[tuple[float, geo._ZipRecord]]:
    """(miles, ZIP) for every ZIP within `miles`, searched over the geocoder's one-degree grid."""
    index = geo.zip_index()
    reach_rows = math.ceil(miles / geo.MILES_PER_DEGREE_LATITUDE) + 1
    reach_columns = math.ceil(miles / (geo.MILES_PER_DEGREE_LATITUDE * math.cos(math.radians(latitude)))) + 1
    row, column = index._cell(latitude, longitude)
    found = []
    for cell_row in range(row - reach_rows, row + reach_rows + 1):
        for cell_column in range(column - reach_columns, column + reach_columns + 1):
            for record in index.grid.get((cell_row, cell_column), []):
                distance = _miles((latitude, longitude), (record.latitude, record.longitude))
                if distance <= miles:
                    found.append((distance, record))
    return found


def _neighbour_states() -> dict[str, set[str]]:
    """For each state, the states sharing a one-degree grid cell (or an adjacent one) with its ZIPs."""
    index = geo.zip_index()
    states_by_cell = {cell: {record.state for record in rows} for cell, rows in index.grid.items()}
    neighbours: dict[str, set[str]] = {}
    for (row, column), states in states_by_cell.items():
        around = set()
        for cell in [(row + dr, column + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]:
            around |= states_by_cell.get(cell, set())
        for state in states:
            neighbours.setdefault(state, set()).update(around)
    return neighbours


def national_regions() -> list[Region]:
    """The 50 metros and one rural remainder per state, weighted by population."""
    in_metro: set[str] = set()
    regions = []
    for name, state, thousands, latitude, longitude in LARGEST_METROS:
        around = _zips_near(latitude, longitude, NEIGHBOUR_RADIUS_MILES)
        nearby = [record.postal_code for miles, record in around if miles <= METRO_RADIUS_MILES]
        in_metro.update(nearby)
        regions.append(Region(_metro(name, state, nearby, {record.state for _, record in around}), thousands * 1000))
    rural_population = US_POPULATION_2020 - sum(region.population for region in regions)
    rural_zips: dict[str, list[str]] = {}
    for record in geo.zip_index().by_zip.values():
        if record.postal_code not in in_metro and record.state in geo.US_STATES:
            rural_zips.setdefault(record.state, []).append(record.postal_code)
    total_rural = sum(len(codes) for codes in rural_zips.values())
    neighbours = _neighbour_states()
    for state, codes in sorted(rural_zips.items()):
        metro = _metro(f"rural {geo.US_STATES[state]}", state, codes, neighbours.get(state, set()))
        regions.append(Region(metro, rural_population * len(codes) / total_rural))
    return regions


def national_records(count: int, *, seed: int = 2026) -> Iterator[dict]:
    """`count` fictional therapist records, deterministic for a seed; numbered from 1."""
    rng = random.Random(seed)
    regions = national_regions()
    weights = [region.population for region in regions]
    chosen = rng.choices(regions, weights=weights, k=count)
    for number, region in enumerate(chosen, start=1):
        yield generate_therapist(rng, number, region.metro)
