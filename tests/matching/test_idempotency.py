"""Idempotency-Key on the two creating calls: a retried POST creates nothing new (docs/api.md, "Idempotency")."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from directory.models import Therapist
from matching.models import IdempotencyKey, Offer, PHIAccess, Referral
from tests.conftest import token_client
from tests.matching.test_referrals import NEED, PATIENT, REFERRALS

pytestmark = pytest.mark.django_db

KEY = "3f1c2a9e-0b7d-4e55-9a61-2f0d8c4b7e10"
BODY = {**NEED, **PATIENT, "consent": True, "urgency": "routine"}


def post(client: APIClient, path: str, body: dict, key: str | None = KEY) -> object:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(path, body, format="json", headers=headers)


def test_a_retried_referral_returns_the_first_answer_and_creates_nothing(referrer: User) -> None:
    client = token_client(referrer)
    first = post(client, REFERRALS, BODY)
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first.headers
    replay = post(client, REFERRALS, BODY)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Cache-Control"] == "no-store"
    assert replay.json() == first.json()
    assert Referral.objects.filter(referrer=referrer).count() == 1
    # The replay showed the patient's details again, so it is a logged read like any other.
    assert PHIAccess.objects.filter(referral_id=first.json()["id"], user=referrer).count() == 2


def test_the_same_key_with_another_body_is_422_and_creates_nothing(referrer: User) -> None:
    client = token_client(referrer)
    assert post(client, REFERRALS, BODY).status_code == 201
    other = post(client, REFERRALS, {**BODY, "patient_name": "Someone Else"})
    assert other.status_code == 422
    assert list(other.json()["errors"]) == ["Idempotency-Key"]
    assert Referral.objects.filter(referrer=referrer).count() == 1


def test_keys_belong_to_their_caller(referrer: User, other_referrer: User) -> None:
    mine = post(token_client(referrer), REFERRALS, BODY)
    theirs = post(token_client(other_referrer), REFERRALS, BODY)
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert Referral.objects.get(pk=theirs.json()["id"]).referrer == other_referrer


def test_without_a_key_every_post_creates(referrer: User) -> None:
    client = token_client(referrer)
    post(client, REFERRALS, BODY, key=None)
    post(client, REFERRALS, BODY, key=None)
    assert Referral.objects.filter(referrer=referrer).count() == 2


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_a_400_naming_the_header(referrer: User, key: str) -> None:
    response = post(token_client(referrer), REFERRALS, BODY, key=key)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert not Referral.objects.filter(referrer=referrer).exists()


def test_a_refused_request_is_not_remembered_so_the_fixed_one_goes_through(referrer: User) -> None:
    client = token_client(referrer)
    refused = post(client, REFERRALS, {**BODY, "consent": False})
    assert refused.status_code == 400 and "consent" in refused.json()["errors"]
    assert not IdempotencyKey.objects.exists()
    fixed = post(client, REFERRALS, BODY)
    assert fixed.status_code == 201
    assert Referral.objects.filter(referrer=referrer).count() == 1


def test_the_key_row_keeps_no_patient_data_nor_the_key_itself(referrer: User) -> None:
    post(token_client(referrer), REFERRALS, BODY)
    stored = str(list(IdempotencyKey.objects.values()))
    for secret in [KEY, *PATIENT.values()]:
        assert secret not in stored


def test_a_retried_offer_makes_one_offer(referrer: User, accepting_therapist: Therapist) -> None:
    client = token_client(referrer)
    referral_id = post(client, REFERRALS, BODY, key=None).json()["id"]
    path = f"{REFERRALS}{referral_id}/offers/"
    first = post(client, path, {"therapist": accepting_therapist.pk})
    replay = post(client, path, {"therapist": accepting_therapist.pk})
    assert first.status_code == replay.status_code == 201
    assert replay.json()["status"] == "offered" and replay.headers["Idempotent-Replayed"] == "true"
    assert Offer.objects.filter(referral_id=referral_id).count() == 1
    # Without the key, the same retry is refused as a second offer to the same therapist.
    assert post(client, path, {"therapist": accepting_therapist.pk}, key=None).status_code == 409


def test_a_key_used_on_one_call_cannot_be_reused_on_another(referrer: User, accepting_therapist: Therapist) -> None:
    client = token_client(referrer)
    referral_id = post(client, REFERRALS, BODY).json()["id"]
    reused = post(client, f"{REFERRALS}{referral_id}/offers/", {"therapist": accepting_therapist.pk})
    assert reused.status_code == 422
    assert not Offer.objects.filter(referral_id=referral_id).exists()


def test_keys_past_the_retention_are_purged_and_may_be_used_again(referrer: User, settings: object) -> None:
    settings.IDEMPOTENCY_KEY_HOURS = 24
    client = token_client(referrer)
    first_id = post(client, REFERRALS, BODY).json()["id"]
    IdempotencyKey.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    again = post(client, REFERRALS, BODY)
    assert again.status_code == 201 and again.json()["id"] != first_id
    assert IdempotencyKey.objects.count() == 1  # the expired row went, the new one stays


def test_the_purge_command_deletes_only_expired_keys(referrer: User, other_referrer: User) -> None:
    post(token_client(referrer), REFERRALS, BODY)
    post(token_client(other_referrer), REFERRALS, BODY)
    IdempotencyKey.objects.filter(user=referrer).update(created_at=timezone.now() - datetime.timedelta(hours=25))
    call_command("purge_idempotency_keys", verbosity=0)
    assert list(IdempotencyKey.objects.values_list("user__username", flat=True)) == [other_referrer.username]
    assert Referral.objects.count() == 2  # the referrals themselves stay
