"""The HTML pages: search form, results, profile, errors."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from directory.models import Therapist

pytestmark = pytest.mark.django_db


def test_home_shows_the_search_form_and_crisis_notice(client: Client) -> None:
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_near">' in html and 'id="id_near"' in html
    assert "call or text" in html and "988" in html
    assert "GeoNames" in html and "CC BY 4.0" in html


def test_results_keep_the_filters_in_the_form(client: Client) -> None:
    html = client.get("/therapists/", {"near": "11215", "radius": "10", "format": "online,individual"}).content.decode()
    assert 'value="11215"' in html
    assert re.search(r'<option value="10" selected>', html)
    assert re.search(r'value="online"[^>]*checked', html)
    assert re.search(r'value="individual"[^>]*checked', html)


def test_one_search_leaves_nothing_in_the_form_of_the_next(client: Client) -> None:
    """Search forms share their fields (filters.SharedFields): values, errors and marks stay with each request."""
    first = client.get("/therapists/", {"near": "Atlantis, ZZ", "radius": "10", "format": "online"})
    assert first.status_code == 400 and 'aria-invalid="true"' in first.content.decode()
    second = client.get("/therapists/", {"near": "11215"})
    html = second.content.decode()
    assert second.status_code == 200
    assert 'aria-invalid="true"' not in html and "Atlantis" not in html
    assert not re.search(r'<option value="10" selected>', html)
    assert not re.search(r'value="online"[^>]*checked', html)


def test_results_show_count_distance_and_essentials(client: Client) -> None:
    response = client.get("/therapists/", {"near": "11215", "radius": "10"})
    html = response.content.decode()
    count = response.context["count"]
    assert count > 0
    assert f"{count} therapist" in html
    assert "mi away" in html
    first = response.context["therapists"][0]
    assert first.full_name in html and first.get_absolute_url() in html


def test_public_page_defaults_to_accepting(client: Client, full_therapist: Therapist) -> None:
    response = client.get("/therapists/", {"q": "Fran Full"})
    assert response.context["count"] == 0
    response = client.get("/therapists/", {"q": "Fran Full", "accepting": "any"})
    assert [therapist.pk for therapist in response.context["therapists"]] == [full_therapist.pk]


def test_empty_results_suggest_what_to_relax(client: Client) -> None:
    response = client.get("/therapists/", {"near": "59001", "radius": "5", "format": "individual"})
    html = response.content.decode()
    assert response.context["count"] == 0
    assert re.search(r"Search within \d+ miles</a>: \d+ therapist", html)
    assert "Online sessions with a therapist licensed in MT would find none either." in html
    assert "The nearest match is" in html


def test_bad_parameters_render_errors_with_status_400(client: Client) -> None:
    response = client.get("/therapists/", {"near": "Atlantis, ZZ", "insurance": "acme"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "could not locate" in html
    assert 'aria-invalid="true"' in html
    assert "insurance" in response.context["errors"]


def test_the_error_summary_names_fields_by_their_labels(client: Client) -> None:
    response = client.get("/therapists/", {"near": "Atlantis, ZZ", "insurance": "acme"})
    summary = error_summary_of(response.content.decode())
    assert "<strong>Near: ZIP code, “City, ST” or “lat,lng”</strong>: could not locate" in summary
    assert "<strong>Insurance</strong>: Unknown value" in summary
    assert "<strong>near</strong>" not in summary and "<strong>insurance</strong>" not in summary
    paging = error_summary_of(client.get("/therapists/", {"page": "x"}).content.decode())
    assert "<li>page must be a whole number from 1.</li>" in paging


def error_summary_of(html: str) -> str:
    return html.split('class="error-summary"', 1)[1].split("</div>", 1)[0]


def test_page_past_the_end_is_404(client: Client) -> None:
    assert client.get("/therapists/", {"page": 999}).status_code == 404


def test_page_runs_a_constant_number_of_queries(client: Client, django_assert_max_num_queries: object) -> None:
    with django_assert_max_num_queries(16):
        response = client.get("/therapists/", {"near": "10001", "radius": "500", "page_size": "50", "accepting": "any"})
    assert response.context["count"] > 50
    assert len(response.context["therapists"]) == 50


def test_profile_shows_what_a_client_needs(client: Client) -> None:
    therapist = Therapist.objects.published().filter(offices__isnull=False, insurer_links__isnull=False).first()
    html = client.get(therapist.get_absolute_url()).content.decode()
    assert therapist.full_name in html
    for section in ("Availability", "Formats", "Insurance and fees", "Where", "IPT focus areas", "Languages"):
        assert section in html
    assert "Availability last confirmed" in html
    assert therapist.offices.first().postal_code in html
    assert therapist.insurer_links.first().insurer.name in html
    assert "12–16 sessions" in html


def test_unpublished_profile_is_a_clean_404(client: Client) -> None:
    draft = Therapist.objects.exclude(status=Therapist.Status.PUBLISHED).first()
    response = client.get(draft.get_absolute_url())
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_server_error_page_is_plain_and_safe(client: Client) -> None:
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong" in html and "988" in html
