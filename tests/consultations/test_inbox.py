"""The therapist's one inbox: physicians' offers beside clients' requests, and the count in the header."""

from __future__ import annotations

import copy
import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consultations import services
from directory.models import Therapist
from matching import services as referrals
from matching.demo import offer_demo_referral
from matching.models import PHIAccess
from tests.conftest import signed_in
from tests.consultations.conftest import SAM, SAM_MESSAGE, confirmed

pytestmark = pytest.mark.django_db


def count_in_nav(html: str) -> str | None:
    found = re.search(r'href="/me/inbox/"[^>]*>Inbox(?: <span class="count">(\d+)<)?', html)
    assert found, "no Inbox link in the navigation"
    return found.group(1)


def test_the_inbox_lists_requests_beside_offers_waiting_first_each_with_its_status_due_date_and_link(
    pair: list[Therapist], referrer: User
) -> None:
    ada = pair[0]
    answered = confirmed(ada, first_name="Alex")
    services.accept(consultation=answered)
    offer = offer_demo_referral(referrer=referrer, therapist=ada)
    waiting = confirmed(ada)

    page = signed_in(ada.user).get("/me/inbox/")
    html = page.content.decode()

    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    links = re.findall(r'href="(/me/(?:offers|consultations)/\d+/)"', html)
    # Waiting first, the answer due soonest first (the consultation's two business days come before the
    # offer's five days); then the answered one.
    assert links == [
        f"/me/consultations/{waiting.pk}/",
        f"/me/offers/{offer.pk}/",
        f"/me/consultations/{answered.pk}/",
    ]
    assert html.count("Answer by") == 2
    local_due = timezone.localtime(waiting.reply_by)
    assert f"Answer by {local_due:%a, %b} {local_due.day}," in html
    assert "Consultation request from Sam" in html and "Consultation request from Alex" in html
    assert "Waiting for an answer" in html and "Accepted" in html
    assert "Weekday evenings" in html and "Aetna" in html and SAM_MESSAGE[:40] in html
    # The list shows nobody's contact, not even the accepted client's.
    assert SAM["email"] not in html and SAM["phone"] not in html
    assert not re.search(r"client-\d+@mail\.example", html)


def test_the_inbox_logs_the_client_details_it_shows_and_no_contact(pair: list[Therapist]) -> None:
    ada = pair[0]
    accepted = confirmed(ada)
    services.accept(consultation=accepted)
    waiting = confirmed(ada)

    signed_in(ada.user).get("/me/inbox/")

    reads = PHIAccess.objects.filter(user=ada.user, channel="page:inbox")
    assert sorted(reads.values_list("consultation_request", flat=True)) == sorted(
        [accepted.request_id, waiting.request_id]
    )
    assert {read.fields for read in reads} == {"first_name,message,insurance,formats,preferred_times"}


def test_the_inbox_shows_only_the_therapists_own(pair: list[Therapist]) -> None:
    ada, ben = pair
    confirmed(ada, first_name="Robin")

    html = signed_in(ben.user).get("/me/inbox/").content.decode()

    assert "Robin" not in html and "Nothing yet" in html
    assert not PHIAccess.objects.filter(user=ben.user).exists()


def test_the_inbox_runs_as_many_queries_for_one_item_as_for_many(
    pair: list[Therapist], referrer: User, django_assert_num_queries: object
) -> None:
    ada = pair[0]
    confirmed(ada)
    offer_demo_referral(referrer=referrer, therapist=ada)
    page = signed_in(ada.user)
    page.get("/me/inbox/")  # the reference labels, read once per process, are cached from here on
    with CaptureQueriesContext(connection) as few:
        assert page.get("/me/inbox/").status_code == 200

    for number in range(4):
        services.accept(consultation=confirmed(ada, first_name=f"Client{number}"))
        confirmed(ada, insurance=None)
    referrals.accept_offer(offer=offer_demo_referral(referrer=referrer, therapist=ada), actor=ada.user)

    with django_assert_num_queries(len(few)):
        html = page.get("/me/inbox/").content.decode()
    assert html.count('href="/me/consultations/') == 9 and html.count('href="/me/offers/') == 2


def test_the_offers_old_address_leads_to_the_inbox(therapist_user: User) -> None:
    response = signed_in(therapist_user).get("/me/offers/")
    assert response.status_code == 302 and response["Location"] == "/me/inbox/"
    assert Client().get("/me/inbox/")["Location"] == "/accounts/login/?next=/me/inbox/"


def test_the_header_counts_offers_and_requests_waiting_for_the_therapist(pair: list[Therapist], referrer: User) -> None:
    ada, ben = pair
    page = signed_in(ada.user)
    assert count_in_nav(page.get("/").content.decode()) is None

    first = confirmed(ada)
    confirmed(ada)
    offer_demo_referral(referrer=referrer, therapist=ada)
    html = page.get("/").content.decode()
    assert count_in_nav(html) == "3"
    assert '3<span class="visually-hidden"> waiting for your answer</span>' in html

    services.decline(consultation=first, reason="no_capacity")
    assert count_in_nav(page.get("/therapists/").content.decode()) == "2"
    # Ben was asked too (`confirmed` asks only the therapists given): nothing waits for him.
    assert count_in_nav(signed_in(ben.user).get("/").content.decode()) is None


def without_inbox_count() -> list[dict]:
    templates = copy.deepcopy(django_settings.TEMPLATES)
    processors = templates[0]["OPTIONS"]["context_processors"]
    processors.remove("consultations.context_processors.inbox")
    return templates


def queries_of(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["anonymous", "referrer", "moderator"])
def test_the_header_count_costs_no_query_but_a_therapists(
    request: pytest.FixtureRequest, persona: str, settings: object, pair: list[Therapist]
) -> None:
    visitor = Client() if persona == "anonymous" else signed_in(request.getfixturevalue(persona))
    ada = signed_in(pair[0].user)
    confirmed(pair[0])
    for client in (visitor, ada):
        client.get("/")  # warm: the reference lists the home page caches

    with_count = {"visitor": queries_of(visitor, "/"), "therapist": queries_of(ada, "/")}
    settings.TEMPLATES = without_inbox_count()
    without_count = {"visitor": queries_of(visitor, "/"), "therapist": queries_of(ada, "/")}

    assert with_count["visitor"] == without_count["visitor"]
    assert with_count["therapist"] == without_count["therapist"] + 2
