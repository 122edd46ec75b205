"""An inbox that leads: the landing after sign-in, time left, unmet needs, tap-to-call, a first session's time."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone

from consultations import services
from directory.models import Insurer, Therapist
from matching import services as referrals
from matching.demo import offer_demo_referral
from matching.models import Offer, Referral
from matching.selectors import time_left
from tests.conftest import token_client
from tests.consultations.conftest import confirmed

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)


def sign_in(client: Client, user: User, **extra: str) -> str:
    """Where the sign-in form sends `user`, followed through /me/."""
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": "correct-horse-battery", **extra}
    )
    assert response.status_code == 302
    landing = response.url
    while landing == "/me/":
        landing = client.get(landing).url
    return landing


def test_a_therapist_with_an_offer_waiting_lands_on_the_inbox(pair: list[Therapist], referrer: User) -> None:
    ada = pair[0]
    offer_demo_referral(referrer=referrer, therapist=ada)
    assert sign_in(Client(), ada.user) == "/me/inbox/"


def test_a_therapist_with_a_request_waiting_lands_on_the_inbox(pair: list[Therapist]) -> None:
    confirmed(pair[0])
    assert sign_in(Client(), pair[0].user) == "/me/inbox/"


def test_a_therapist_with_nothing_waiting_lands_on_the_profile(pair: list[Therapist]) -> None:
    answered = confirmed(pair[0])
    services.accept(consultation=answered)
    assert sign_in(Client(), pair[0].user) == "/me/profile/"


def test_next_wins_over_the_inbox(pair: list[Therapist]) -> None:
    confirmed(pair[0])
    client = Client()
    response = client.post(
        "/accounts/login/?next=/me/profile/",
        {"username": pair[0].user.username, "password": "correct-horse-battery", "next": "/me/profile/"},
    )
    assert response.status_code == 302 and response.url == "/me/profile/"


@pytest.mark.parametrize(
    ("left", "words"),
    [
        (datetime.timedelta(days=1, hours=4, minutes=59), "1 day 4 hours left"),
        (datetime.timedelta(days=2), "2 days left"),
        (datetime.timedelta(days=3, hours=1), "3 days 1 hour left"),
        (datetime.timedelta(hours=3, minutes=10), "3 hours left"),
        (datetime.timedelta(minutes=59), "59 minutes left"),
        (datetime.timedelta(seconds=20), "1 minute left"),
        (datetime.timedelta(0), "Overdue"),
        (-datetime.timedelta(hours=2), "Overdue"),
    ],
)
def test_time_left_reads_in_plain_words(left: datetime.timedelta, words: str) -> None:
    assert time_left(NOW + left, now=NOW) == words


def test_each_waiting_item_shows_its_time_left_in_an_amber_badge_on_the_inbox_and_its_page(
    pair: list[Therapist], referrer: User
) -> None:
    ada = pair[0]
    offer = offer_demo_referral(referrer=referrer, therapist=ada)
    # Made 3 days 20 hours ago (and some minutes): 5 days to answer leave 1 day 3 hours and some minutes.
    Offer.objects.filter(pk=offer.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3, hours=20, minutes=30)
    )
    consultation = confirmed(ada)
    page = signed_in_page(ada.user)

    inbox = page.get("/me/inbox/").content.decode()
    offer_page = page.get(f"/me/offers/{offer.pk}/").content.decode()
    consultation_page = page.get(f"/me/consultations/{consultation.pk}/").content.decode()

    assert '<strong class="due">1 day 3 hours left</strong>' in inbox
    assert '<strong class="due">1 day 3 hours left</strong>' in offer_page
    assert re.search(r'<strong class="due">\d+ (day|hour)s? ', inbox.split(f"/me/consultations/{consultation.pk}/")[1])
    assert 'class="due"' in consultation_page
    for html in (inbox, offer_page):
        assert '<span class="badge warn">Waiting for an answer</span>' in html
        assert 'badge ok">Waiting' not in html


def test_an_overdue_offer_says_so(pair: list[Therapist], referrer: User) -> None:
    offer = offer_demo_referral(referrer=referrer, therapist=pair[0])
    Offer.objects.filter(pk=offer.pk).update(created_at=timezone.now() - datetime.timedelta(days=6))
    html = signed_in_page(pair[0].user).get(f"/me/offers/{offer.pk}/").content.decode()
    assert '<span class="badge bad">Waiting for an answer</span> <strong class="due">Overdue</strong>' in html


def test_an_offer_flags_the_language_format_and_insurance_the_therapist_does_not_give(
    pair: list[Therapist], referrer: User
) -> None:
    ada = pair[0]  # offers individual sessions only, speaks nothing listed, takes Aetna
    offer = offer_demo_referral(referrer=referrer, therapist=ada)
    page = signed_in_page(ada.user)
    assert "Check before accepting" not in page.get(f"/me/offers/{offer.pk}/").content.decode()

    Referral.objects.filter(pk=offer.referral_id).update(
        language="es", formats=["individual", "online"], insurance_id=insurer_id("cigna")
    )

    for html in (page.get("/me/inbox/").content.decode(), page.get(f"/me/offers/{offer.pk}/").content.decode()):
        assert "Check before accepting" in html
        assert "Asks for sessions in Spanish, which your profile does not list" in html
        assert "Asks for online (telehealth), which you do not offer" in html
        assert "which you do not take new clients with" in html


def test_the_patients_phone_and_email_are_links_only_after_acceptance(pair: list[Therapist], referrer: User) -> None:
    ada = pair[0]
    offer = offer_demo_referral(referrer=referrer, therapist=ada)
    Referral.objects.filter(pk=offer.referral_id).update(patient_email="pat@mail.example")
    page = signed_in_page(ada.user)

    before = page.get(f"/me/offers/{offer.pk}/").content.decode()
    assert 'href="tel:555' not in before and "mailto:" not in before and "555 010 0100" not in before

    referrals.accept_offer(offer=offer, actor=ada.user)
    after = page.get(f"/me/offers/{offer.pk}/").content.decode()
    assert '<a href="tel:5550100100">555 010 0100</a>' in after
    assert '<a href="mailto:pat@mail.example">pat@mail.example</a>' in after


def test_scheduling_on_the_page_records_date_and_time_and_reads_scheduled(
    pair: list[Therapist], referrer: User
) -> None:
    ada = pair[0]
    offer = offer_demo_referral(referrer=referrer, therapist=ada)
    referrals.accept_offer(offer=offer, actor=ada.user)
    page = signed_in_page(ada.user)
    day = timezone.localdate() + datetime.timedelta(days=7)
    mail.outbox.clear()

    missing_time = page.post(f"/me/offers/{offer.pk}/schedule/", {"first_session_date": day.isoformat()}, follow=True)
    assert "Time: This field is required." in missing_time.content.decode()
    assert Offer.objects.get(pk=offer.pk).first_session_date is None

    page.post(
        f"/me/offers/{offer.pk}/schedule/", {"first_session_date": day.isoformat(), "first_session_time": "10:00"}
    )

    stored = Offer.objects.get(pk=offer.pk)
    assert timezone.localtime(stored.first_session_at).replace(tzinfo=None) == datetime.datetime.combine(
        day, datetime.time(10, 0)
    )
    assert stored.referral.status == Referral.Status.SCHEDULED
    words = f"{day:%a, %b} {day.day}, {day.year}, 10:00 AM"
    for html in (page.get("/me/inbox/").content.decode(), page.get(f"/me/offers/{offer.pk}/").content.decode()):
        assert f"First session scheduled: {words}" in html
        assert '<span class="badge ok">Scheduled</span>' in html
        assert ">Accepted<" not in html
    referrer_page = signed_in_page(referrer).get(f"/referrals/{offer.referral_id}/").content.decode()
    assert f"first session {day:%a, %b} {day.day}, {day.year}, 10:00 AM" in referrer_page
    (email,) = [message for message in mail.outbox if referrer.email in message.to]
    assert f"The first session is on {words}." in email.body
    assert "Pat" not in email.body


def test_the_api_schedules_with_or_without_a_time(pair: list[Therapist], referrer: User) -> None:
    ada = pair[0]
    api = token_client(ada.user)
    day = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    timed = offer_demo_referral(referrer=referrer, therapist=ada)
    dated = offer_demo_referral(referrer=referrer, therapist=ada)
    for offer in (timed, dated):
        referrals.accept_offer(offer=offer, actor=ada.user)

    with_time = api.post(
        f"/api/me/offers/{timed.pk}/schedule/",
        {"first_session_date": day, "first_session_time": "14:30"},
        format="json",
    )
    without = api.post(f"/api/me/offers/{dated.pk}/schedule/", {"first_session_date": day}, format="json")
    bad_time = api.post(
        f"/api/me/offers/{dated.pk}/schedule/",
        {"first_session_date": day, "first_session_time": "25:99"},
        format="json",
    )

    assert with_time.status_code == 200 and with_time.json()["first_session_date"] == day
    at = datetime.datetime.fromisoformat(with_time.json()["first_session_at"])
    assert timezone.localtime(at).strftime("%Y-%m-%d %H:%M") == f"{day} 14:30"
    assert without.status_code == 200 and without.json()["first_session_at"] is None
    assert Offer.objects.get(pk=dated.pk).first_session_date.isoformat() == day
    assert bad_time.status_code == 400 and "first_session_time" in bad_time.json()["errors"]


def signed_in_page(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def insurer_id(slug: str) -> int:
    return Insurer.objects.get(slug=slug).pk
