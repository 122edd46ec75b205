"""Result cards worth choosing from (photo, bio excerpt, contact) in the API and on the page, and the profile page."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image
from rest_framework.test import APIClient

from directory import photos, search
from directory.apps import index_unindexed_therapists
from directory.models import Therapist
from directory.search.cards import CARD_FIELDS
from directory.serializers import TherapistSerializer
from tests.conftest import make_therapist, valid_npi

pytestmark = pytest.mark.django_db

BIO = (
    "I help adults through grief, conflict and big life changes. In our sessions we look at the relationships "
    "that matter most to you and practise new ways of asking for what you need, one step at a time, together."
)


@pytest.fixture(autouse=True)
def media_root(settings: object, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def photo_upload() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), (90, 120, 160)).save(buffer, "JPEG")
    return SimpleUploadedFile("me.jpg", buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def paula() -> Therapist:
    """Paula, with an approved photo, a newer one waiting, a long bio, and every way to reach her."""
    therapist = make_therapist(
        npi=valid_npi("199000101"), first_name="Paula", last_name="Photo", bio=BIO,
        phone="(555) 010-2030", email="paula@practice.example", website="https://paula.example/",
    )  # fmt: skip
    photos.submit_photo(therapist=therapist, upload=photo_upload())
    photos.approve_photo(therapist=therapist)
    photos.submit_photo(therapist=therapist, upload=photo_upload())  # waits for staff: never public
    therapist.refresh_from_db()
    return therapist


@pytest.fixture
def quinn() -> Therapist:
    """Quinn, with no photo, no bio and no public contact at all."""
    return make_therapist(npi=valid_npi("199000102"), first_name="Quinn", last_name="Quiet", insurers=("cigna",))


def only_result(client: APIClient, **params: object) -> dict:
    [row] = client.get("/api/therapists/", params).json()["results"]
    return row


def profile_article(html: str) -> str:
    return html.split('<article class="profile">', 1)[1].split("</article>", 1)[0]


def card_html(html: str) -> str:
    [card] = re.findall(r'<article class="therapist-card".*?</article>', html, flags=re.S)
    return card


# The API


def test_a_result_carries_the_approved_thumbnail_as_an_absolute_url_never_the_waiting_photo(
    api_client: APIClient, paula: Therapist
) -> None:
    row = only_result(api_client, q="Paula Photo")
    assert row["photo_url"] == f"http://testserver/media/{paula.photo_thumbnail.name}"
    assert paula.photo_pending_thumbnail.name and Path(paula.photo_pending_thumbnail.name).name not in json.dumps(row)
    assert Path(paula.photo_pending.name).name not in json.dumps(row)


def test_a_result_without_an_approved_photo_has_a_null_photo_url(api_client: APIClient, quinn: Therapist) -> None:
    photos.submit_photo(therapist=quinn, upload=photo_upload())  # waiting only
    row = only_result(api_client, q="Quinn Quiet")
    assert row["photo_url"] is None
    assert row["bio_excerpt"] == "" and (row["phone"], row["email"], row["website"]) == ("", "", "")


def test_a_result_carries_the_bio_excerpt_and_the_public_contact(api_client: APIClient, paula: Therapist) -> None:
    row = only_result(api_client, q="Paula Photo")
    assert row["bio_excerpt"].startswith("I help adults through grief, conflict and big life changes. In our")
    assert row["bio_excerpt"].endswith("…") and len(row["bio_excerpt"]) <= 200
    assert (row["phone"], row["email"], row["website"]) == (
        "(555) 010-2030", "paula@practice.example", "https://paula.example/",
    )  # fmt: skip
    detail = api_client.get(f"/api/therapists/{paula.pk}/").json()
    assert {name: detail[name] for name in ("photo_url", "bio_excerpt", "phone")} == {
        name: row[name] for name in ("photo_url", "bio_excerpt", "phone")
    }


def test_the_stored_card_with_a_photo_equals_the_serializer_output(api_client: APIClient, paula: Therapist) -> None:
    response = api_client.get("/api/therapists/", {"q": "Paula Photo"})
    [row] = response.json()["results"]
    therapist = Therapist.objects.for_listing().get(pk=paula.pk)
    therapist.distance_miles = None
    expected = TherapistSerializer(therapist, context={"request": response.wsgi_request}).data
    assert json.dumps(row) == json.dumps(json.loads(json.dumps(expected)))


def test_matching_results_carry_the_absolute_photo_url_too(api_client: APIClient, paula: Therapist) -> None:
    need = {"postal_code": "11215", "insurance": "aetna", "formats": ["individual"]}
    results = api_client.post("/api/match/", need, format="json").json()["results"]
    [mine] = [item for item in results if item["therapist"]["id"] == paula.pk]
    assert mine["therapist"]["photo_url"] == f"http://testserver/media/{paula.photo_thumbnail.name}"


@pytest.mark.parametrize("params", [{"near": "11215", "radius": 25, "format": "individual,online"}, {"q": "grief"}])
def test_a_search_runs_as_many_queries_for_one_result_as_for_many(
    api_client: APIClient, django_assert_num_queries: object, paula: Therapist, params: dict
) -> None:
    one = {**params, "q": "Paula Photo"}
    api_client.get("/api/therapists/", one)  # reads the reference tables into the per-process cache
    with django_assert_num_queries(2 if "near" not in params else 1):
        assert len(api_client.get("/api/therapists/", one).json()["results"]) == 1
    with django_assert_num_queries(2 if "near" not in params else 1):
        assert len(api_client.get("/api/therapists/", {**params, "page_size": 50}).json()["results"]) > 10


def test_migrate_names_cards_of_an_older_shape_and_refresh_listings_rebuilds_them(paula: Therapist) -> None:
    for therapist in Therapist.objects.all():
        card = json.loads(therapist.listing_card)
        old = {name: card[name] for name in card if name not in ("photo_url", "bio_excerpt", "phone")}
        Therapist.objects.filter(pk=therapist.pk).update(listing_card=json.dumps(old))
    said = io.StringIO()
    index_unindexed_therapists(using="default", stdout=said)  # what `migrate` runs when it ends
    assert "refresh_listings" in said.getvalue()

    call_command("refresh_listings", stdout=io.StringIO())

    for card in Therapist.objects.values_list("listing_card", flat=True):
        assert tuple(json.loads(card)) == CARD_FIELDS
    said = io.StringIO()
    index_unindexed_therapists(using="default", stdout=said)
    assert said.getvalue() == "" and not search.cards_are_stale()


# The results page


def test_a_card_shows_photo_excerpt_status_fees_and_every_way_to_reach_the_therapist(
    client: Client, paula: Therapist
) -> None:
    card = card_html(client.get("/therapists/", {"q": "Paula Photo"}).content.decode())
    assert f'src="/media/{paula.photo_thumbnail.name}"' in card
    assert Path(paula.photo_pending_thumbnail.name).name not in card
    assert paula.bio_excerpt in card and "Accepting new clients" in card and "confirmed yesterday" in card
    assert 'href="tel:5550102030"' in card
    assert 'href="mailto:paula@practice.example"' in card
    assert re.search(r'href="https://paula\.example/" rel="noopener nofollow" target="_blank"', card)
    assert "<dt>Fees</dt> <dd>Not listed</dd>" in card


def test_a_card_without_contact_details_offers_no_dead_links_and_shows_initials(
    client: Client, quinn: Therapist
) -> None:
    card = card_html(client.get("/therapists/", {"q": "Quinn Quiet"}).content.decode())
    assert "tel:" not in card and "mailto:" not in card and "Website" not in card
    # The one way to reach Quinn is to ask through the directory.
    assert re.findall(r"<li>.*?</li>", card.split('class="contact-actions')[1], re.S) == [
        f'<li><a class="button request" href="/consultations/new/?therapist={quinn.pk}&amp;from=q%3DQuinn%2BQuiet">'
        'Request a consultation<span class="visually-hidden"> with Quinn Quiet</span></a></li>'
    ]
    assert '<span class="card-photo card-initials" aria-hidden="true">QQ</span>' in card
    assert "<img" not in card


def test_the_searched_insurance_is_highlighted_first(client: Client) -> None:
    make_therapist(
        npi=valid_npi("199000103"),
        first_name="Ines",
        last_name="Insured",
        insurers=("aetna", "cigna", "oscar", "humana"),
    )
    asked = card_html(client.get("/therapists/", {"q": "Ines Insured", "insurance": "oscar"}).content.decode())
    plans = asked.split("<dt>Insurance</dt>", 1)[1].split("</dd>", 1)[0]
    assert plans.lstrip().startswith('<dd><mark>Oscar Health<span class="visually-hidden"> (matches your insurance)')
    assert plans.count("<mark>") == 1 and "and 3 more plans" in plans
    plain = card_html(client.get("/therapists/", {"q": "Ines Insured"}).content.decode())
    assert "<mark>" not in plain and "matches your insurance" not in plain
    assert "Aetna, Cigna and 2 more plans" in plain


def test_fees_read_as_one_phrase_on_the_card_and_the_profile(client: Client) -> None:
    therapist = make_therapist(npi=valid_npi("199000104"), first_name="Fay", last_name="Fees",
                               fee_min=90, fee_max=140, sliding_scale=True)  # fmt: skip
    card = card_html(client.get("/therapists/", {"q": "Fay Fees"}).content.decode())
    profile = client.get(therapist.get_absolute_url()).content.decode()
    for html in (card, profile):
        assert "$90–$140 per session, sliding scale available" in html
        assert not re.search(r"per session\s+[.,]", html)


def test_the_card_links_to_the_profile_with_the_search_it_came_from(client: Client, paula: Therapist) -> None:
    html = client.get("/therapists/", {"q": "Paula Photo", "insurance": "aetna", "page": "1"}).content.decode()
    link = f'href="{paula.get_absolute_url()}?from=q%3DPaula%2BPhoto%26insurance%3Daetna%26page%3D1"'
    assert link in card_html(html)


def test_the_results_page_runs_as_many_queries_for_one_result_as_for_many(
    client: Client, django_assert_num_queries: object, paula: Therapist, quinn: Therapist
) -> None:
    one_result = {"near": "11215", "q": "Paula Photo"}
    client.get("/therapists/", one_result)  # reads the reference tables into the per-process cache
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/therapists/", one_result).context["therapists"]) == 1
    with django_assert_num_queries(len(one.captured_queries)):
        many = client.get("/therapists/", {"near": "10001", "radius": "500", "page_size": "50", "accepting": "any"})
    assert len(many.context["therapists"]) == 50


# The profile page


def test_the_profile_offers_contact_before_anything_else(client: Client, paula: Therapist) -> None:
    html = client.get(paula.get_absolute_url()).content.decode()
    article = profile_article(html)
    call = article.index('href="tel:5550102030"')
    assert call < article.index('id="availability-heading"') < article.index('id="about-heading"')
    assert article.index('href="mailto:paula@practice.example"') < article.index('id="availability-heading"')
    assert article.index('href="https://paula.example/"') < article.index('id="availability-heading"')
    assert f'src="/media/{paula.photo_thumbnail.name}"' in article and 'alt="Photo of Paula Photo"' in article


def test_the_profile_without_contact_details_offers_only_a_consultation_request(
    client: Client, quinn: Therapist
) -> None:
    article = profile_article(client.get(quinn.get_absolute_url()).content.decode())
    assert "tel:" not in article and "mailto:" not in article
    actions = article.split('class="contact-actions')[1].split("</ul>")[0]
    assert actions.count("<li>") == 1 and "Request a consultation" in actions


@pytest.mark.parametrize(
    ("sent", "back"),
    [
        (
            "near%3D11215%26insurance%3Daetna%26page%3D2",
            'href="/therapists/?near=11215&amp;insurance=aetna&amp;page=2"',
        ),
        ("", 'href="/therapists/"'),
        # Only ever a query string of the search page: nothing leads off the site.
        ("https%3A%2F%2Fevil.example%2F", 'href="/therapists/?https%3A%2F%2Fevil.example%2F="'),
        ("%2F%2Fevil.example", 'href="/therapists/?%2F%2Fevil.example="'),
        ("a%3D1" * 400, 'href="/therapists/"'),
    ],
)
def test_the_profile_links_back_to_the_search_that_led_there(
    client: Client, quinn: Therapist, sent: str, back: str
) -> None:
    html = client.get(f"{quinn.get_absolute_url()}?from={sent}").content.decode()
    link = html.split('<p class="back-link">', 1)[1].split("</p>", 1)[0]
    assert back in link
    assert ("Back to results" in link) == ("?" in back)


def test_the_ipt_course_is_described_once(client: Client) -> None:
    with_approach = Therapist.objects.published().exclude(approach="").first()
    article = profile_article(client.get(with_approach.get_absolute_url()).content.decode())
    assert "12 to 16 sessions" in article and "12–16 sessions" not in article
    plain = make_therapist(npi=valid_npi("199000105"), first_name="Abe", last_name="Plain")
    article = profile_article(client.get(plain.get_absolute_url()).content.decode())
    assert article.count("12–16 sessions") == 1


def test_the_profile_has_one_h1_and_an_offices_section_for_the_map(client: Client, paula: Therapist) -> None:
    html = client.get(paula.get_absolute_url()).content.decode()
    assert html.count("<h1") == 1
    assert re.search(r'<section id="offices" aria-labelledby="offices-heading"', html)
    headings = re.findall(r"<h([1-6])", profile_article(html))
    assert all(int(later) - int(earlier) <= 1 for earlier, later in itertools.pairwise(headings))
