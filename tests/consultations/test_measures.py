"""How each therapist answers requests, measured from the database, stored, published and ranked on.

Ada and Ben (the `pair` of Park Slope therapists) get histories of clients'
consultation requests and physicians' offers with hand-computed figures.
"""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from consultations import measures, services
from consultations.models import Consultation, reply_by
from directory import geo
from directory.models import Therapist
from matching import ranking
from matching import services as matching
from matching.models import Offer, Referral
from tests.conftest import make_therapist, make_user, valid_npi
from tests.consultations.conftest import ask

pytestmark = pytest.mark.django_db

NOW = timezone.now()
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
# Every reply window is at least 48 hours (2 business days) and at most about 5 days (a weekend and a holiday).
LATE_HOURS = 200


def consultation(
    therapist: Therapist,
    *,
    days_ago: float,
    after_hours: float | None,
    status: str = Consultation.Status.ACCEPTED,
    outcome: str = "",
) -> Consultation:
    """An anonymous consultation (its request deleted, as after retention), answered `after_hours` after it came."""
    sent_at = NOW - days_ago * DAY
    responded_at = None if after_hours is None else sent_at + after_hours * HOUR
    if after_hours is None and status == Consultation.Status.ACCEPTED:
        status = Consultation.Status.EXPIRED
    return Consultation.objects.create(
        therapist=therapist, sent_at=sent_at, reply_by=reply_by(sent_at), responded_at=responded_at,
        status=status, outcome=outcome,
    )  # fmt: skip


def offer(therapist: Therapist, *, days_ago: float, after_hours: float | None, status: str) -> Offer:
    """A physician's offer to the therapist, made `days_ago`, answered `after_hours` after (or not)."""
    referrer = User.objects.filter(username="dr_measure").first() or make_user("dr_measure", "referrers")
    referral = Referral.objects.create(
        referrer=referrer, status=Referral.Status.OFFERED, postal_code="11215", latitude=40.67, longitude=-73.98,
        state="NY", place_label="Brooklyn, NY", patient_name="Pat Fictional",
        patient_birth_date=datetime.date(1980, 1, 1), consent_confirmed_at=NOW,
    )  # fmt: skip
    made = Offer.objects.create(referral=referral, therapist=therapist, score=50, status=status)
    created_at = NOW - days_ago * DAY
    responded_at = None if after_hours is None else created_at + after_hours * HOUR
    Offer.objects.filter(pk=made.pk).update(created_at=created_at, responded_at=responded_at)
    made.refresh_from_db()
    return made


@pytest.fixture
def ada_history(pair: list[Therapist]) -> Therapist:
    """Ada: 7 requests that count, answered after 1, 2, 3, 5 and 200 hours, and twice never; 3 that do not."""
    ada = pair[0]
    consultation(ada, days_ago=10, after_hours=3)
    consultation(ada, days_ago=20, after_hours=None)  # expired: never answered
    consultation(ada, days_ago=30, after_hours=5, outcome=Consultation.Outcome.NEVER_HEARD)
    consultation(ada, days_ago=60, after_hours=2, status=Consultation.Status.DECLINED)
    consultation(ada, days_ago=15, after_hours=None, status=Consultation.Status.WITHDRAWN)  # left out
    consultation(ada, days_ago=200, after_hours=1)  # before the 180 days: left out
    offer(ada, days_ago=12, after_hours=1, status=Offer.Status.ACCEPTED)
    offer(ada, days_ago=40, after_hours=LATE_HOURS, status=Offer.Status.DECLINED)  # late
    offer(ada, days_ago=45, after_hours=None, status=Offer.Status.WITHDRAWN)  # another therapist took it: left out
    offer(ada, days_ago=50, after_hours=None, status=Offer.Status.EXPIRED)  # never answered
    measures.refresh_measures([ada.pk], now=NOW)
    ada.refresh_from_db()
    return ada


# The acceptance the client never heard back from counts against her: 3 in time, not 4, so "often slow".
ADA_SENTENCE = "Often slow to reply: 3 of 7 requests answered in time in the last 6 months"


def test_requests_and_offers_answered_late_never_and_withdrawn_make_the_hand_computed_measure(
    ada_history: Therapist,
) -> None:
    ada = ada_history
    assert (ada.reply_requests, ada.reply_answered, ada.reply_answered_in_time) == (7, 5, 3)
    assert ada.reply_median_hours == 3.0  # of 1, 2, 3, 5 and 200 hours
    assert ada.reply_never_heard_back == 1
    assert ada.reply_summary == ADA_SENTENCE


def test_the_measure_is_published_on_the_profile_the_cards_and_the_api(
    ada_history: Therapist, api_client: APIClient, django_assert_max_num_queries: object
) -> None:
    published = {"requests": 7, "answered_in_time": 3, "median_reply_hours": 3.0}
    assert api_client.get(f"/api/therapists/{ada_history.pk}/").json()["responsiveness"] == published
    params = {"near": "11215", "radius": 5, "q": "Listener"}
    api_client.get("/api/therapists/", params)  # reads the reference tables into the per-process cache
    with django_assert_max_num_queries(1):  # the stored card carries it: still one query near a place
        results = api_client.get("/api/therapists/", params).json()["results"]
    by_name = {row["name"]: row["responsiveness"] for row in results}
    assert by_name == {"Ada Listener": published, "Ben Listener": None}

    profile = Client().get(ada_history.get_absolute_url()).content.decode()
    assert f"{ADA_SENTENCE}." in profile
    assert "Median time to answer: 3 hours." in profile
    assert "1 client whose request was accepted said they never heard back." in profile
    cards = Client().get("/therapists/", {"q": "Listener"}).content.decode()
    assert cards.count(ADA_SENTENCE) == 1


def test_below_five_requests_the_figures_are_kept_but_nothing_is_shown(
    pair: list[Therapist], api_client: APIClient
) -> None:
    ben = pair[1]
    for days_ago in (5, 10, 20, 30):
        consultation(ben, days_ago=days_ago, after_hours=1)
    measures.refresh_measures([ben.pk], now=NOW)
    ben.refresh_from_db()
    assert (ben.reply_requests, ben.reply_answered_in_time, ben.reply_summary) == (4, 4, "")
    assert api_client.get(f"/api/therapists/{ben.pk}/").json()["responsiveness"] is None
    profile = Client().get(ben.get_absolute_url()).content.decode()
    assert "answered in time" not in profile and "Median time to answer" not in profile


def test_the_engine_ranks_on_the_same_measure_the_profile_shows(ada_history: Therapist, pair: list[Therapist]) -> None:
    need = matching.build_need(place=geo.locate("11215"), formats=["individual"], max_distance_miles=2)
    results = {item.candidate.id: item for item in matching.rank_therapists(need, limit=1000).results}
    ada, ben = results[ada_history.pk], results[pair[1].pk]
    assert ada.components["responsiveness"] == round(3 / 7, 3)
    assert ada.components["responsiveness"] == round(ada_history.reply_answered_in_time / ada_history.reply_requests, 3)
    # Often slow: the page says so, and the engine gives no "usually replies" reason for her.
    assert ada_history.reply_summary.startswith("Often slow to reply")
    assert not any(text.startswith(("Usually", "Often")) for text in ada.reasons)
    assert ben.components["responsiveness"] == ranking.NEUTRAL  # no requests yet
    assert not any(text.startswith(("Usually", "Often")) for text in ben.reasons)


def test_answering_an_offer_measures_again_and_updates_the_card(pair: list[Therapist], api_client: APIClient) -> None:
    ada = pair[0]
    for days_ago in (5, 10, 20, 30):
        consultation(ada, days_ago=days_ago, after_hours=1)
    measures.refresh_measures([ada.pk])
    waiting = offer(ada, days_ago=0.1, after_hours=None, status=Offer.Status.OPEN)  # not due yet: not counted
    assert api_client.get("/api/therapists/", {"q": "Ada Listener"}).json()["results"][0]["responsiveness"] is None

    matching.decline_offer(offer=waiting, reason="no_capacity", note="", actor=ada.user)

    [row] = api_client.get("/api/therapists/", {"q": "Ada Listener"}).json()["results"]
    assert row["responsiveness"]["requests"] == 5 and row["responsiveness"]["answered_in_time"] == 5
    page = Client().get("/therapists/", {"q": "Ada Listener"}).content.decode()
    assert "Usually replies within a day: 5 of 5 requests" in page


def test_each_answer_expiry_and_outcome_of_a_consultation_measures_again(pair: list[Therapist]) -> None:
    ada, ben = pair
    request, _token = services.submit_request(ask=ask(ada, ben), client_address="203.0.113.9")
    services.confirm_request(request=request)
    to_ada = Consultation.objects.get(therapist=ada)
    services.accept(consultation=to_ada)
    ada.refresh_from_db()
    assert (ada.reply_requests, ada.reply_answered_in_time) == (1, 1)

    services.expire_unanswered(now=timezone.now() + 8 * DAY)
    ben.refresh_from_db()
    assert (ben.reply_requests, ben.reply_answered) == (1, 0)

    services.report_outcome(request=request, consultation_id=to_ada.pk, outcome=Consultation.Outcome.NEVER_HEARD)
    ada.refresh_from_db()
    assert ada.reply_never_heard_back == 1


def test_expire_consultations_follows_the_window_as_it_slides(ada_history: Therapist, api_client: APIClient) -> None:
    """Requests older than 180 days leave the measure even when nobody answered anything since."""
    Consultation.objects.filter(therapist=ada_history).update(sent_at=NOW - 190 * DAY)
    Offer.objects.filter(therapist=ada_history).update(created_at=NOW - 190 * DAY)

    call_command("expire_consultations", verbosity=0)

    ada_history.refresh_from_db()
    assert (ada_history.reply_requests, ada_history.reply_summary) == (0, "")
    assert api_client.get("/api/therapists/", {"q": "Ada Listener"}).json()["results"][0]["responsiveness"] is None


def test_measuring_many_therapists_runs_as_many_queries_as_measuring_few(pair: list[Therapist]) -> None:
    def with_history(number: int) -> Therapist:
        therapist = make_therapist(npi=valid_npi(f"19900020{number}"), last_name=f"Measured{number}")
        for days_ago in (3, 6, 9, 12, 15):
            consultation(therapist, days_ago=days_ago, after_hours=number)
        offer(therapist, days_ago=20, after_hours=None, status=Offer.Status.EXPIRED)
        return therapist

    few = [with_history(number) for number in range(2)]
    with CaptureQueriesContext(connection) as measuring_few:
        assert len(measures.refresh_all_measures()) == 2
    many = [with_history(number) for number in range(2, 7)]
    with CaptureQueriesContext(connection) as measuring_many:
        assert len(measures.refresh_all_measures()) == 5  # the first two did not change
    assert len(measuring_many) == len(measuring_few)
    with CaptureQueriesContext(connection) as by_ids:
        assert measures.refresh_measures([therapist.pk for therapist in few + many]) == []
    reads = [query["sql"] for query in by_ids.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert len(reads) == 3  # the replies (consultations, offers) and the therapists; nothing changed to write


def test_entries_built_before_the_index_held_the_measure_rank_as_neutral_until_refresh_listings(
    ada_history: Therapist,
) -> None:
    from directory.search.models import SearchEntry

    SearchEntry.objects.filter(therapist=ada_history).update(reply_requests=None, reply_answered_in_time=None)
    need = matching.build_need(place=geo.locate("11215"), formats=["individual"], max_distance_miles=2)

    def ada_component() -> float:
        [ada] = [
            item for item in matching.rank_therapists(need, limit=1000).results if item.candidate.id == ada_history.pk
        ]
        return ada.components["responsiveness"]

    assert ada_component() == ranking.NEUTRAL
    call_command("refresh_listings", stdout=io.StringIO())
    assert ada_component() == round(3 / 7, 3)
