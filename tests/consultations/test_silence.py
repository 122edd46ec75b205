"""Silence has a consequence: Ada lets requests expire unanswered, leaves accepting searches and matches,
is warned and told once each, and comes back by confirming her availability."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from consultations import services, silence
from consultations.models import Consultation
from directory import geo
from directory.models import Therapist
from matching import services as matching
from tests.conftest import signed_in, token_client
from tests.consultations.conftest import SAM, SAM_MESSAGE, ask

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)
WARNING = "Consultation requests are expiring without an answer"
SILENCED = "Your listing no longer shows you as accepting new clients"
REMINDER = "Your listing is still hidden from clients looking for an accepting therapist"
CLIENT_DETAILS = (SAM["first_name"], SAM["email"], SAM["phone"], SAM_MESSAGE)
PARK_SLOPE = geo.Place(40.6710, -73.9814, "NY", "Brooklyn, NY")
clients = itertools.count()


@pytest.fixture(autouse=True)
def generous_limits(settings: object) -> None:
    settings.CONSULTATION_LIMIT_PER_EMAIL = settings.CONSULTATION_LIMIT_PER_ADDRESS = 100


class Clock:
    """The test's time: each request is sent after the last one ended, so the runs have an order.

    It starts a month ago, so that what the therapist does through the pages and the API, now, comes after.
    """

    def __init__(self) -> None:
        self.now = timezone.now() - datetime.timedelta(days=30)

    def request(self, therapist: Therapist) -> Consultation:
        """A client's request to `therapist`, confirmed now."""
        request, _ = services.submit_request(
            ask=ask(therapist), client_address=f"203.0.113.{next(clients) % 250}", now=self.now
        )
        (consultation,) = services.confirm_request(request=request, now=self.now)
        return consultation

    def expire(self, therapist: Therapist) -> dict[str, int]:
        """A request to `therapist` left unanswered until the expiry job runs past its reply-by time."""
        consultation = self.request(therapist)
        self.now = consultation.reply_by + MINUTE
        return services.expire_unanswered(now=self.now)

    def answer(self, therapist: Therapist) -> None:
        consultation = self.request(therapist)
        self.now += MINUTE
        services.decline(consultation=consultation, reason="no_capacity", now=self.now)


def searched(api_client: APIClient, accepting: str) -> set[int]:
    response = api_client.get("/api/therapists/", {"q": "Listener", "accepting": accepting})
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def matched(now: datetime.datetime) -> tuple[set[int], int]:
    """The therapists the match engine ranks for a Park Slope client with Aetna, and how many it left out
    as not accepting."""
    need = matching.build_need(place=PARK_SLOPE, formats=["individual"], insurance="aetna")
    ranked = matching.rank_therapists(need, now=now, limit=1000)
    return {item.candidate.id for item in ranked.results}, ranked.excluded.get("not_accepting", 0)


def subjects_to(address: str) -> list[str]:
    return [message.subject for message in mail.outbox if message.to == [address]]


def test_three_expiries_in_a_row_remove_accepting_from_search_and_match_and_confirming_restores_it(
    pair: list[Therapist], api_client: APIClient
) -> None:
    ada, ben = pair
    clock = Clock()
    matched_before, left_out_before = matched(clock.now)
    assert {ada.pk, ben.pk} <= matched_before and {ada.pk, ben.pk} <= searched(api_client, "true")

    assert clock.expire(ada) == {"expired": 1, "warned": 0, "silenced": 0}
    assert clock.expire(ada) == {"expired": 1, "warned": 1, "silenced": 0}
    assert ada.pk in searched(api_client, "true")  # two are not yet three
    assert clock.expire(ada) == {"expired": 1, "warned": 0, "silenced": 1}

    ada.refresh_from_db()
    assert ada.silenced_at == clock.now
    assert not ada.is_accepting() and ada.accepts_new_clients  # her own setting is kept
    assert ada.pk not in searched(api_client, "true") and ben.pk in searched(api_client, "true")
    assert ada.pk in searched(api_client, "false")
    card = next(row for row in api_client.get("/api/therapists/", {"q": "Ada"}).json()["results"])
    assert card["id"] == ada.pk and card["accepting_new_clients"] is False
    matched_now, left_out_now = matched(clock.now)
    assert ada.pk not in matched_now and ben.pk in matched_now and left_out_now == left_out_before + 1
    assert not Therapist.objects.accepting().filter(pk=ada.pk).exists()
    assert Therapist.objects.not_accepting().filter(pk=ada.pk).exists()

    response = token_client(ada.user).post("/api/me/availability/confirm/")

    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.silenced_at is None and ada.silence_lifted_at is not None and ada.is_accepting()
    assert ada.pk in searched(api_client, "true") and ada.pk in matched(timezone.now())[0]
    # Counting starts again: the next expiries alone do not hide her.
    clock.now = timezone.now()
    assert clock.expire(ada) == {"expired": 1, "warned": 0, "silenced": 0}


def test_an_answer_between_expiries_resets_the_run(pair: list[Therapist]) -> None:
    ada = pair[0]
    clock = Clock()
    clock.expire(ada)
    clock.expire(ada)
    clock.answer(ada)
    assert clock.expire(ada)["silenced"] == 0
    assert clock.expire(ada) == {"expired": 1, "warned": 1, "silenced": 0}  # two in a row again
    ada.refresh_from_db()
    assert ada.silenced_at is None and ada.is_accepting()

    assert clock.expire(ada)["silenced"] == 1


def test_a_withdrawn_request_neither_counts_nor_breaks_the_run(pair: list[Therapist]) -> None:
    ada = pair[0]
    clock = Clock()
    clock.expire(ada)
    clock.expire(ada)
    withdrawn = clock.request(ada)
    services.withdraw(request=withdrawn.request, consultation_id=withdrawn.pk, now=clock.now)

    assert clock.expire(ada)["silenced"] == 1


def test_each_silence_email_goes_once_and_carries_no_client_details(pair: list[Therapist]) -> None:
    ada = pair[0]
    clock = Clock()
    clock.expire(ada)
    clock.expire(ada)
    clock.expire(ada)
    # The expiry job runs again and again: nobody is told twice.
    for minutes in (5, 60, 600):
        services.expire_unanswered(now=clock.now + minutes * MINUTE)
    assert subjects_to("ada@therapy.example").count(WARNING) == 1
    assert subjects_to("ada@therapy.example").count(SILENCED) == 1

    silenced_at = Therapist.objects.get(pk=ada.pk).silenced_at
    assert silence.send_reminders(now=silenced_at + datetime.timedelta(days=6, hours=23)) == 0
    assert silence.send_reminders(now=silenced_at + datetime.timedelta(days=7)) == 1
    assert silence.send_reminders(now=silenced_at + datetime.timedelta(days=8)) == 0
    assert subjects_to("ada@therapy.example").count(REMINDER) == 1

    for message in mail.outbox:
        if message.to == ["ada@therapy.example"] and message.subject in (WARNING, SILENCED, REMINDER):
            assert "/me/profile/" in message.body
            assert not any(detail in message.body for detail in CLIENT_DETAILS)
            assert "3 consultation requests" in message.body or message.subject != SILENCED


def test_the_expiry_command_reminds_a_therapist_silenced_a_week_ago_once(pair: list[Therapist]) -> None:
    ada = pair[0]
    Therapist.objects.filter(pk=ada.pk).update(silenced_at=timezone.now() - datetime.timedelta(days=8))

    call_command("expire_consultations", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("expire_consultations", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert subjects_to("ada@therapy.example") == [REMINDER]


def test_the_profile_page_says_why_she_is_hidden_and_its_button_brings_her_back(pair: list[Therapist]) -> None:
    ada = pair[0]
    clock = Clock()
    for _ in range(3):
        clock.expire(ada)
    page = signed_in(ada.user)

    text = page.get("/me/profile/").content.decode()
    assert "Hidden from searches for accepting therapists" in text
    assert "3 consultation requests in a row expired without an answer" in text
    assert 'action="/me/availability/confirm/"' in text
    public = Client().get(ada.get_absolute_url()).content.decode()
    assert "recent consultation requests to this therapist expired without an answer" in public

    response = page.post("/me/availability/confirm/", follow=True)

    text = response.content.decode()
    assert "You are back in searches for therapists accepting new clients" in text
    assert "Hidden from searches" not in text
    assert Therapist.objects.accepting().filter(pk=ada.pk).exists()


def test_staff_see_who_is_silenced_and_how_many(pair: list[Therapist], moderator: object) -> None:
    ada = pair[0]
    Therapist.objects.filter(pk=ada.pk).update(silenced_at=timezone.now())
    page = signed_in(moderator)

    listing = page.get("/admin/directory/therapist/", {"silenced": "yes"}).content.decode()

    assert "Silenced since" in listing and "Silenced now (1)" in listing
    assert "Ada" in listing and "Ben Listener" not in listing
