"""Staff tools that tell the truth, and the trap they closed: a published, accepting therapist is found."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from directory import search
from directory.models import Therapist
from tests.conftest import signed_in, token_client
from tests.directory.test_profile_pages import profile_post

pytestmark = pytest.mark.django_db

PENDING_URL = "/admin/directory/pendingprofile/"


def unchanged_review_fields(therapist: Therapist) -> dict:
    """The profile page's form with the licence and credentials as listed, so the profile stays published."""
    return profile_post(therapist, **{"licensed_states-0-license_number": "", "ipt_credentials-TOTAL_FORMS": "0"})


def accepting_ids(name: str) -> list[int]:
    """The default search of the API (`accepting=true`), narrowed to a name."""
    results = Client().get("/api/therapists/", {"accepting": "true", "q": name, "page_size": 100}).json()["results"]
    return [result["id"] for result in results]


def silenced_and_closed(therapist: Therapist) -> Therapist:
    """Not accepting, never confirmed, and silenced for unanswered requests."""
    Therapist.objects.filter(pk=therapist.pk).update(
        accepts_new_clients=False, availability_confirmed_at=None, silenced_at=timezone.now()
    )
    search.refresh([therapist.pk])
    therapist.refresh_from_db()
    return therapist


def test_ticking_accepting_on_the_profile_page_confirms_availability_and_lifts_a_silence(
    listed_therapist: Therapist,
) -> None:
    therapist = silenced_and_closed(listed_therapist)
    assert accepting_ids("Lena Listed") == []
    before = timezone.now()
    response = signed_in(therapist.user).post("/me/profile/", unchanged_review_fields(therapist))
    assert response.status_code == 302
    therapist.refresh_from_db()
    assert therapist.status == Therapist.Status.PUBLISHED
    assert therapist.accepts_new_clients and therapist.availability_confirmed_at >= before
    assert therapist.silenced_at is None and therapist.silence_lifted_at >= before
    assert accepting_ids("Lena Listed") == [therapist.pk]


def test_ticking_accepting_through_the_api_confirms_availability(listed_therapist: Therapist) -> None:
    therapist = silenced_and_closed(listed_therapist)
    response = token_client(therapist.user).patch("/api/me/profile/", {"accepting_new_clients": True}, format="json")
    assert response.status_code == 200
    therapist.refresh_from_db()
    assert therapist.availability_confirmed_at is not None and therapist.silenced_at is None
    assert accepting_ids("Lena Listed") == [therapist.pk]


def test_saving_with_the_tick_left_on_does_not_reconfirm(listed_therapist: Therapist) -> None:
    old = timezone.now() - datetime.timedelta(days=90)
    Therapist.objects.filter(pk=listed_therapist.pk).update(availability_confirmed_at=old)
    listed_therapist.refresh_from_db()
    signed_in(listed_therapist.user).post("/me/profile/", unchanged_review_fields(listed_therapist))
    listed_therapist.refresh_from_db()
    # Only turning the tick on vouches for today; a save of other fields does not.
    assert listed_therapist.availability_confirmed_at == old


def test_publishing_a_never_confirmed_profile_confirms_it_and_it_appears_in_the_default_search(
    new_therapist: Therapist, moderator: User
) -> None:
    therapist_client = signed_in(new_therapist.user)
    therapist_client.post("/me/profile/", profile_post(new_therapist, **{"ipt_credentials-TOTAL_FORMS": "0"}))
    therapist_client.post("/me/profile/submit/")
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PENDING and new_therapist.availability_confirmed_at is None

    before = timezone.now()
    signed_in(moderator).post(PENDING_URL, {"action": "publish", "_selected_action": [new_therapist.pk]})
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PUBLISHED
    assert new_therapist.availability_confirmed_at >= before
    assert accepting_ids("Nora Newcomer") == [new_therapist.pk]


def test_publishing_keeps_an_earlier_confirmation(new_therapist: Therapist, moderator: User) -> None:
    confirmed = timezone.now() - datetime.timedelta(days=3)
    Therapist.objects.filter(pk=new_therapist.pk).update(
        status=Therapist.Status.PENDING, availability_confirmed_at=confirmed
    )
    signed_in(moderator).post(PENDING_URL, {"action": "publish", "_selected_action": [new_therapist.pk]})
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PUBLISHED
    assert new_therapist.availability_confirmed_at == confirmed
