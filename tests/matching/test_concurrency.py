"""Simultaneous acceptances and retried creations, in threads with their own connections (proved on PostgreSQL)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from directory.models import Therapist
from matching import services
from matching.models import Offer, Referral
from tests.conftest import at_once, make_therapist, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def reference_data(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent compare-and-set are proven on PostgreSQL (DATABASE_URL)")
    call_command("loaddata", "reference", verbosity=0)
    for name in ("therapists", "referrers"):
        Group.objects.get_or_create(name=name)


def offered_referral(referrer: object, therapists: list[Therapist]) -> Referral:
    referral = Referral.objects.create(
        referrer=referrer, status=Referral.Status.OFFERED, postal_code="11215", latitude=40.66, longitude=-73.98,
        state="NY", place_label="11215", formats=["individual"], patient_name="Test Patient",
        patient_birth_date=datetime.date(1990, 1, 1), patient_phone="555-000-0000", consent_confirmed_at=timezone.now(),
    )  # fmt: skip
    for therapist in therapists:
        Offer.objects.create(referral=referral, therapist=therapist, score=50)
    return referral


def race(offers: list[Offer]) -> list[str]:
    """Accept every offer at the same moment, one thread each; return each thread's outcome."""

    def accept(offer: Offer) -> str:
        try:
            services.accept_offer(offer=offer, actor=None)
        except services.ReferralConflict:
            return "conflict"
        return "accepted"

    return at_once([lambda offer=offer: accept(offer) for offer in offers], timeout=60)


def test_two_therapists_accepting_at_once_only_one_wins() -> None:
    referrer = make_user("dr_race", "referrers")
    therapists = [make_therapist(npi=npi, last_name=f"Racer{index}")
                  for index, npi in enumerate(["1000000004", "1000000012", "1000000020"])]  # fmt: skip
    referral = offered_referral(referrer, therapists)
    outcomes = race(list(Offer.objects.filter(referral=referral).select_related("referral", "therapist")))
    assert sorted(outcomes) == ["accepted", "conflict", "conflict"]
    statuses = sorted(Offer.objects.filter(referral=referral).values_list("status", flat=True))
    assert statuses == ["accepted", "withdrawn", "withdrawn"]
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ACCEPTED
    assert referral.events.filter(to_status=Referral.Status.ACCEPTED).count() == 1
    assert sum(3 - therapist.capacity for therapist in Therapist.objects.filter(pk__in=[t.pk for t in therapists])) == 1


def test_a_therapist_never_accepts_more_referrals_than_open_slots() -> None:
    referrer = make_user("dr_many", "referrers")
    therapist = make_therapist(npi="1000000038", last_name="Busy")
    assert therapist.capacity == 3
    offers = [
        Offer.objects.select_related("referral", "therapist").get(referral=offered_referral(referrer, [therapist]))
        for _ in range(8)
    ]
    outcomes = race(offers)
    assert outcomes.count("accepted") == 3
    assert outcomes.count("conflict") == 5
    therapist.refresh_from_db()
    assert therapist.capacity == 0
    assert Referral.objects.filter(status=Referral.Status.ACCEPTED).count() == 3
    assert Offer.objects.filter(status=Offer.Status.ACCEPTED).count() == 3


def test_ten_identical_posts_with_one_key_make_one_referral() -> None:
    """Simultaneous retries of one POST: the key's unique row makes nine of them wait, then replay the first."""
    referrer = make_user("dr_retry", "referrers")
    make_therapist(npi="1000000046", last_name="Nearby")
    body = {"postal_code": "11215", "insurance": "aetna", "formats": ["individual"], "patient_name": "Test Patient",
            "patient_birth_date": "1990-01-01", "patient_phone": "555-000-0000", "consent": True}  # fmt: skip

    def submit() -> tuple[int, str, bool]:
        client = APIClient()
        client.force_authenticate(referrer)
        response = client.post("/api/referrals/", body, format="json", headers={"Idempotency-Key": "retry-1"})
        return response.status_code, response.json().get("id"), "Idempotent-Replayed" in response

    answers = at_once([submit] * 10)
    assert Referral.objects.filter(referrer=referrer).count() == 1
    referral_id = str(Referral.objects.get(referrer=referrer).pk)
    assert sorted(answers) == sorted([(201, referral_id, False)] + [(201, referral_id, True)] * 9)
