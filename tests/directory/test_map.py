"""The offices map: its data on the results and profile pages, the tile settings and CSP, the vendored Leaflet."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from config.settings import map_tile_origin
from directory import search
from directory.models import Office, Therapist
from directory.selectors import office_markers
from tests.conftest import make_therapist, valid_npi

BASE = Path(settings.BASE_DIR)
VENDORED = BASE / "static" / "vendor" / "leaflet"
MARKER_FIELDS = {"name", "credentials", "url", "label", "address", "city", "state", "latitude", "longitude"}
OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_CREDIT = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


def map_data(html: str) -> dict | None:
    """The JSON block the map script reads, or None when the page has no map."""
    found = re.search(r'<script id="map-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1)) if found else None


def located_offices(therapists: list[Therapist]) -> list[tuple[str, str, float, float]]:
    return [
        (therapist.get_absolute_url(), office.city, round(office.latitude, 5), round(office.longitude, 5))
        for therapist in therapists
        for office in therapist.offices.all()
        if office.latitude is not None
    ]


def marked_offices(data: dict) -> list[tuple[str, str, float, float]]:
    return [(marker["url"], marker["city"], marker["latitude"], marker["longitude"]) for marker in data["markers"]]


@pytest.mark.django_db
def test_the_results_map_marks_each_located_office_of_the_page_with_public_facts_only(client: Client) -> None:
    response = client.get("/therapists/", {"near": "10001", "radius": "25"})
    therapists = response.context["therapists"]
    data = map_data(response.content.decode())
    assert data is not None and len(data["markers"]) >= len(therapists) > 1
    assert marked_offices(data) == located_offices(therapists)
    for marker in data["markers"]:
        assert set(marker) == MARKER_FIELDS
    shown = json.dumps(data)
    for therapist in therapists:
        assert therapist.npi not in shown and (not therapist.email or therapist.email not in shown)


@pytest.mark.django_db
def test_an_office_without_coordinates_and_an_online_only_therapist_have_no_marker(client: Client) -> None:
    online_only = make_therapist(npi=valid_npi("123450001"), first_name="Olive", last_name="Online", postal_code=None)
    unlocated = make_therapist(npi=valid_npi("123450002"), first_name="Una", last_name="Unlocated", postal_code="11215")
    Office.objects.filter(therapist=unlocated).update(latitude=None, longitude=None)
    search.refresh([unlocated.pk])

    assert map_data(client.get(online_only.get_absolute_url()).content.decode()) is None
    assert map_data(client.get(unlocated.get_absolute_url()).content.decode()) is None
    html = client.get(online_only.get_absolute_url()).content.decode()
    assert "data-map-panel" not in html and "leaflet" not in html


@pytest.mark.django_db
def test_a_profile_maps_its_own_offices_in_a_region_hidden_until_the_script_shows_it(client: Client) -> None:
    therapist = Therapist.objects.published().filter(offices__isnull=False).for_listing().first()
    html = client.get(therapist.get_absolute_url()).content.decode()
    data = map_data(html)
    assert marked_offices(data) == located_offices([therapist])
    assert {marker["name"] for marker in data["markers"]} == {therapist.full_name}
    # Without JavaScript nothing of the map shows: the panel is hidden and holds no map yet.
    assert re.search(r'<div class="map-panel" data-map-panel hidden>', html)
    assert re.search(rf'<div class="map" role="region" aria-label="Map of {therapist.full_name}’s offices">', html)
    assert '<script src="/static/js/map.js" defer></script>' in html
    assert '<script src="/static/vendor/leaflet/leaflet.js" defer></script>' in html


@pytest.mark.django_db
def test_the_map_reads_the_prefetched_offices_without_a_query(django_assert_num_queries: object) -> None:
    therapists = list(Therapist.objects.published().for_listing()[:20])
    with django_assert_num_queries(0):
        markers = office_markers(therapists)
    assert len(markers) == len(located_offices(therapists)) > 10


@pytest.mark.django_db
def test_without_a_tile_url_no_tile_server_is_named_or_allowed(client: Client) -> None:
    response = client.get("/therapists/", {"near": "10001"})
    html = response.content.decode()
    data = map_data(html)
    assert settings.MAP_TILE_URL == "" and data["tiles"] is None
    assert "{z}" not in html and "://" not in json.dumps(data)
    assert "img-src 'self' data:;" in response["Content-Security-Policy"] + ";"


@pytest.mark.django_db
def test_with_a_tile_url_the_map_gets_the_tiles_and_their_credit(client: Client, settings: object) -> None:
    settings.MAP_TILE_URL, settings.MAP_TILE_ATTRIBUTION = OSM, OSM_CREDIT
    data = map_data(client.get("/therapists/", {"near": "10001"}).content.decode())
    assert data["tiles"] == {"url": OSM, "attribution": OSM_CREDIT}


def start(**variables: str) -> subprocess.CompletedProcess:
    """Django set up in a fresh process with these variables; prints the policy's img-src and the tile URL."""
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'], settings.MAP_TILE_URL]))"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    for name in ("MAP_TILE_URL", "MAP_TILE_ATTRIBUTION"):
        environment.pop(name, None)
    environment.update(variables)
    return subprocess.run([sys.executable, "-c", code], env=environment, cwd=BASE, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_a_server_with_a_tile_url_lets_the_browser_load_images_from_its_origin() -> None:
    started = start(MAP_TILE_URL=OSM, MAP_TILE_ATTRIBUTION=OSM_CREDIT)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout) == [["'self'", "data:", "https://tile.openstreetmap.org"], OSM]


def test_a_server_refuses_tiles_without_their_credit_or_with_a_malformed_url() -> None:
    for variables in ({"MAP_TILE_URL": OSM}, {"MAP_TILE_URL": "tile.openstreetmap.org", "MAP_TILE_ATTRIBUTION": "x"}):
        started = start(**variables)
        assert started.returncode != 0 and "ImproperlyConfigured" in started.stderr and "MAP_TILE_" in started.stderr


@pytest.mark.parametrize(
    ("url", "origin"),
    [(OSM, "https://tile.openstreetmap.org"),
     ("https://{s}.tile.example.org/{z}/{x}/{y}{r}.png", "https://*.tile.example.org"),
     ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
     ("https://Tiles.Example.org/styles/{z}/{x}/{y}.png?key=abc", "https://tiles.example.org"),
     ("https://tiles.example.org/wmts?z={z}&x={x}&y={y}", "https://tiles.example.org"),
     ("https://tms.example.org/{z}/{x}/{-y}.png", "https://tms.example.org")],
)  # fmt: skip
def test_the_tile_origin_is_the_urls_scheme_host_and_port(url: str, origin: str) -> None:
    assert map_tile_origin(url) == origin


@pytest.mark.parametrize(
    "url",
    ["tile.openstreetmap.org/{z}/{x}/{y}.png", "ftp://tiles.example.org/{z}/{x}/{y}.png",
     "https://tiles.example.org/{z}/{x}.png", "https://a.{s}.example.org/{z}/{x}/{y}.png",
     "https://user:secret@tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org;script-src */{z}/{x}/{y}"],
)  # fmt: skip
def test_a_tile_url_that_no_csp_source_can_express_is_refused(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="MAP_TILE_URL must be"):
        map_tile_origin(url)


def pinned_leaflet() -> str:
    return json.loads((BASE / "package.json").read_text())["dependencies"]["leaflet"]


def test_the_vendored_leaflet_is_the_version_package_json_pins() -> None:
    pinned = pinned_leaflet()
    locked = json.loads((BASE / "package-lock.json").read_text())["packages"]["node_modules/leaflet"]["version"]
    header = (VENDORED / "leaflet.js").read_text()[:200]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), "pin an exact version"
    assert locked == pinned
    assert f" * Leaflet {pinned}, a JS library for interactive maps." in header
    assert (VENDORED / "LICENSE").read_text().startswith("BSD 2-Clause License")


def test_every_image_the_vendored_stylesheet_names_is_vendored() -> None:
    named = re.findall(r"url\((images/[^)]+)\)", (VENDORED / "leaflet.css").read_text())
    assert named and all((VENDORED / name).is_file() for name in named)
    for image in ("marker-icon.png", "marker-icon-2x.png", "marker-shadow.png"):
        assert (VENDORED / "images" / image).is_file()


def test_the_vendored_files_are_those_of_the_installed_package() -> None:
    installed = BASE / "node_modules" / "leaflet"
    if not (installed / "package.json").exists():
        pytest.skip("node_modules/leaflet is not installed (make test installs it)")
    version = json.loads((installed / "package.json").read_text())["version"]
    if version != pinned_leaflet():
        pytest.skip(f"node_modules holds leaflet {version}, not the pinned {pinned_leaflet()}: run npm ci")
    for vendored in VENDORED.rglob("*"):
        if vendored.is_file():
            relative = vendored.relative_to(VENDORED)
            origin = installed / ("LICENSE" if relative.name == "LICENSE" else Path("dist") / relative)
            assert vendored.read_bytes() == origin.read_bytes(), f"{relative} differs: run make vendor"


def test_collectstatic_for_production_hashes_leaflet_and_the_images_its_stylesheet_names(tmp_path: Path) -> None:
    environment = {**os.environ, "PRODUCTION": "true", "SECRET_KEY": "s" * 60, "ALLOWED_HOSTS": "ipt.example",
                   "DATABASE_URL": "sqlite:///:memory:", "STATIC_ROOT": str(tmp_path)}  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=environment, cwd=BASE,
                   check=True, timeout=300)  # fmt: skip
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    stylesheet = (tmp_path / paths["vendor/leaflet/leaflet.css"]).read_text()
    assert Path(paths["vendor/leaflet/images/layers.png"]).name in stylesheet
    assert "vendor/leaflet/leaflet.js" in paths and "js/map.js" in paths
