"""The public accuracy figures against a hand-made directory whose answers are worked out below."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.core.cache.backends import db as database_cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from consultations import accuracy
from consultations.models import Consultation
from directory.models import ListingReport, Therapist
from matching.models import Offer, Referral
from tests.conftest import make_therapist, make_user, valid_npi

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
Status = Consultation.Status


def days_ago(now: datetime.datetime, days: float | None) -> datetime.datetime | None:
    return None if days is None else now - days * DAY


def listing(number: int, now: datetime.datetime, *, confirmed: float | None, **fields: object) -> Therapist:
    therapist = make_therapist(npi=valid_npi(f"19950{number:04d}"), last_name=f"Figure{number}", **fields)
    Therapist.objects.filter(pk=therapist.pk).update(availability_confirmed_at=days_ago(now, confirmed))
    return therapist


def consultation(therapist: Therapist, now: datetime.datetime, sent: float, answer_hours: float | None,
                 status: str) -> None:  # fmt: skip
    sent_at = now - sent * DAY
    Consultation.objects.create(
        therapist=therapist, status=status, sent_at=sent_at, reply_by=sent_at + 48 * HOUR,
        responded_at=None if answer_hours is None else sent_at + answer_hours * HOUR,
    )  # fmt: skip


def offer(therapist: Therapist, now: datetime.datetime, created: float, answer_hours: float | None,
          status: str) -> None:  # fmt: skip
    referrer = make_user(f"referrer{Offer.objects.count()}", "referrers")
    referral = Referral.objects.create(
        referrer=referrer, status=Referral.Status.OFFERED, postal_code="11215", latitude=40.66, longitude=-73.98,
        state="NY", place_label="11215", formats=["individual"], patient_name="Test Patient",
        patient_birth_date=datetime.date(1990, 1, 1), consent_confirmed_at=now,
    )  # fmt: skip
    made = Offer.objects.create(referral=referral, therapist=therapist, score=50, status=status)
    created_at = now - created * DAY
    responded = None if answer_hours is None else created_at + answer_hours * HOUR
    Offer.objects.filter(pk=made.pk).update(created_at=created_at, responded_at=responded)


@pytest.fixture
def known(db: None) -> datetime.datetime:
    """A small directory, alone (the demo listings unpublished, their history removed); returns `now`.

    Published: 6 listings, confirmed 10, 45, 70 days ago, never, 5 and 20 days ago.
      → 3 confirmed within 30 days, 4 within 60.
    Silenced now: the never-confirmed one; lifted 20 days ago: one; lifted 100 days ago: one.
      → 1 now, 2 within 90 days.
    A draft confirmed yesterday and silenced counts nowhere.
    Replies within 90 days, withdrawn ones left out and one not due yet:
      consultations answered after 2 h (in time) and 60 h (late, due at 48 h), one expired;
      offers answered after 4 h (in time: 2 business days are 48 h at least) and 240 h (late), one expired.
      → 6 counted, 4 answered, 2 in time, median of 2, 4, 60, 240 hours = 32.0.
    Reports: received 10 days ago (resolved), 20 days ago (open), 100 days ago (resolved, outside).
      → 2 received, 1 resolved.
    """
    now = timezone.now()
    Consultation.objects.all().delete()
    Offer.objects.all().delete()
    ListingReport.objects.all().delete()
    Therapist.objects.update(status=Therapist.Status.DRAFT)
    first = listing(1, now, confirmed=10)
    listing(2, now, confirmed=45)
    listing(3, now, confirmed=70)
    listing(4, now, confirmed=None, silenced_at=now - 3 * DAY)
    listing(5, now, confirmed=5, silence_lifted_at=now - 20 * DAY)
    listing(6, now, confirmed=20, silence_lifted_at=now - 100 * DAY)
    listing(7, now, confirmed=1, status=Therapist.Status.DRAFT, silenced_at=now - DAY)

    consultation(first, now, sent=10, answer_hours=2, status=Status.ACCEPTED)
    consultation(first, now, sent=20, answer_hours=60, status=Status.DECLINED)
    consultation(first, now, sent=30, answer_hours=None, status=Status.EXPIRED)
    consultation(first, now, sent=1 / 24, answer_hours=None, status=Status.OPEN)  # not due yet
    consultation(first, now, sent=40, answer_hours=None, status=Status.WITHDRAWN)
    consultation(first, now, sent=100, answer_hours=1, status=Status.ACCEPTED)  # before the window
    offer(first, now, created=5, answer_hours=4, status=Offer.Status.ACCEPTED)
    offer(first, now, created=15, answer_hours=240, status=Offer.Status.DECLINED)
    offer(first, now, created=25, answer_hours=None, status=Offer.Status.EXPIRED)
    offer(first, now, created=50, answer_hours=None, status=Offer.Status.WITHDRAWN)

    for created, resolved in ((10, True), (20, False), (100, True)):
        ListingReport.objects.create(
            therapist=first, reason=ListingReport.Reason.UNREACHABLE, created_at=now - created * DAY,
            resolved_at=now - DAY if resolved else None,
        )  # fmt: skip
    return now


EXPECTED = {
    "window_days": 90,
    "published": 6,
    "confirmed_30_days": 3,
    "confirmed_60_days": 4,
    "share_confirmed_30_days": 0.5,
    "share_confirmed_60_days": 0.667,
    "requests": 6,
    "answered": 4,
    "answered_in_time": 2,
    "share_answered_in_time": 0.333,
    "median_reply_hours": 32.0,
    "reports_received": 2,
    "reports_resolved": 1,
    "silenced_now": 1,
    "silenced_in_window": 2,
}


def test_the_figures_match_the_hand_counted_directory(known: datetime.datetime) -> None:
    figures = accuracy.compute(now=known).as_dict()

    assert {name: figures[name] for name in EXPECTED} == EXPECTED


def test_the_api_gives_the_same_figures_to_anyone(known: datetime.datetime, api_client: APIClient) -> None:
    response = api_client.get("/api/accuracy/")

    assert response.status_code == 200
    body = response.json()
    assert {name: body[name] for name in EXPECTED} == EXPECTED
    assert set(body) == {*EXPECTED, "computed_at"}
    assert api_client.post("/api/accuracy/", {}, format="json").status_code == 405


def test_the_page_shows_each_figure_with_how_it_is_measured(known: datetime.datetime) -> None:
    response = Client().get("/about/accuracy/")

    assert response.status_code == 200
    text = response.content.decode()
    for shown in ("50% (3 of 6 listings)", "67% (4 of 6 listings)", "33% (2 of 6)", "32.0 hours",
                  "<dd>2</dd>", "1 of 2", "1 listing", "2 listings", "within 2 business days"):  # fmt: skip
        assert shown in text, shown
    assert text.count("How it is measured") == 4
    assert 'href="/about/accuracy/"' in Client().get("/").content.decode()  # the footer links to it


def test_the_figures_take_the_same_number_of_queries_however_many_rows(known: datetime.datetime) -> None:
    with CaptureQueriesContext(connection) as small:
        accuracy.compute(now=known)
    first = Therapist.objects.get(last_name="Figure1")
    for number in range(10, 30):
        listing(number, known, confirmed=number)
        consultation(first, known, sent=number, answer_hours=number, status=Status.ACCEPTED)
        offer(first, known, created=number, answer_hours=None, status=Offer.Status.EXPIRED)

    with CaptureQueriesContext(connection) as large:
        figures = accuracy.compute(now=known)

    assert len(small) == len(large) == 4
    assert figures.published == 26 and figures.requests == 46


def test_the_figures_are_kept_five_minutes_at_most(known: datetime.datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.delete(accuracy.CACHE_KEY)
    api_client = APIClient()
    assert api_client.get("/api/accuracy/").json()["reports_received"] == 2
    ListingReport.objects.create(therapist=Therapist.objects.get(last_name="Figure2"), reason="other")
    real_now = timezone.now()

    monkeypatch.setattr(database_cache, "tz_now", lambda: real_now + datetime.timedelta(minutes=4, seconds=50))
    assert api_client.get("/api/accuracy/").json()["reports_received"] == 2  # from the cache
    with CaptureQueriesContext(connection) as cached:
        Client().get("/about/accuracy/")
    assert not any("directory_therapist" in query["sql"] for query in cached)

    monkeypatch.setattr(database_cache, "tz_now", lambda: real_now + datetime.timedelta(minutes=5, seconds=10))
    assert api_client.get("/api/accuracy/").json()["reports_received"] == 3  # counted again
