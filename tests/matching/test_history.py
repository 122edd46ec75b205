"""Referral history cannot be erased by accident: therapists and users with history are suspended or
deactivated, never deleted, and their open offers are withdrawn (docs/operations.md, "Removing a therapist")."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.db.models import ProtectedError
from django.test import RequestFactory
from django.utils import timezone

from directory import profiles
from directory.models import Therapist
from matching import services
from matching.models import Match, Offer, PHIAccess, Referral, ReferralEvent
from tests.conftest import make_therapist, make_user, signed_in, token_client
from tests.matching.test_referrals import PATIENT, REFERRALS, dana_offer, offer_to, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def offered(referrer: User, therapist_user: User, accepting_therapist: Therapist,
            django_capture_on_commit_callbacks: object) -> dict:  # fmt: skip
    """Dr. Rivera's referral, offered to Dana (who has a login) and to nobody else."""
    created = submit(token_client(referrer))
    with django_capture_on_commit_callbacks(execute=True):
        offer_to(token_client(referrer), created["id"], accepting_therapist)
    mail.outbox.clear()
    return created


def history_counts() -> tuple[int, int, int, int, int]:
    return (Referral.objects.count(), Offer.objects.count(), Match.objects.count(), ReferralEvent.objects.count(),
            PHIAccess.objects.count())  # fmt: skip


# --- Deleting is refused -------------------------------------------------------


def test_the_admin_refuses_to_delete_a_therapist_with_offers(
    offered: dict, moderator: User, accepting_therapist: Therapist
) -> None:
    before = history_counts()
    response = signed_in(moderator).post(
        f"/admin/directory/therapist/{accepting_therapist.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 200  # Django's "cannot delete" page, not an error
    assert response.context["protected"]
    assert b"Cannot delete" in response.content
    assert Therapist.objects.filter(pk=accepting_therapist.pk).exists()
    assert history_counts() == before
    assert Referral.objects.get(pk=offered["id"]).status == "offered"


@pytest.mark.parametrize(
    "changelist", ["/admin/directory/therapist/", "/admin/matching/therapistresponses/"]
)  # fmt: skip
def test_the_bulk_delete_action_refuses_therapists_with_history(
    offered: dict, moderator: User, accepting_therapist: Therapist, changelist: str
) -> None:
    before = history_counts()
    response = signed_in(moderator).post(
        changelist, {"action": "delete_selected", "_selected_action": [accepting_therapist.pk], "post": "yes"}
    )
    assert response.status_code == 200
    assert b"Cannot delete" in response.content
    assert Therapist.objects.filter(pk=accepting_therapist.pk).exists()
    assert history_counts() == before


def test_the_orm_refuses_to_delete_a_therapist_with_matches_or_offers(
    offered: dict, accepting_therapist: Therapist
) -> None:
    with pytest.raises(ProtectedError):
        accepting_therapist.delete()
    Offer.objects.filter(therapist=accepting_therapist).delete()
    with pytest.raises(ProtectedError):  # a ranked match is history too
        accepting_therapist.delete()


def test_a_therapist_without_history_can_still_be_deleted(moderator: User) -> None:
    loner = make_therapist(npi="1999999990", last_name="Loner")
    response = signed_in(moderator).post(f"/admin/directory/therapist/{loner.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Therapist.objects.filter(pk=loner.pk).exists()


def test_referrals_offers_and_the_phi_log_cannot_be_deleted_in_the_admin(offered: dict, moderator: User) -> None:
    staff = signed_in(moderator)
    before = history_counts()
    offer = Offer.objects.get(referral_id=offered["id"])
    access = PHIAccess.objects.filter(referral_id=offered["id"]).first()
    for url in (
        f"/admin/matching/referral/{offered['id']}/delete/",
        f"/admin/matching/offer/{offer.pk}/delete/",
        f"/admin/matching/phiaccess/{access.pk}/delete/",
    ):
        assert staff.post(url, {"post": "yes"}).status_code == 403
    for changelist, pk in (("referral", offered["id"]), ("offer", offer.pk), ("phiaccess", access.pk)):
        response = staff.post(
            f"/admin/matching/{changelist}/", {"action": "delete_selected", "_selected_action": [pk], "post": "yes"}
        )
        assert response.status_code in (200, 302)  # the action is not offered: "No action selected"
    assert history_counts() == before


def test_the_phi_log_outlives_any_attempt_to_delete_its_referral(offered: dict) -> None:
    with pytest.raises(ProtectedError):
        Referral.objects.get(pk=offered["id"]).delete()


def test_users_with_history_cannot_be_deleted_in_the_admin(
    offered: dict, moderator: User, referrer: User, therapist_user: User
) -> None:
    token_client(therapist_user).post(f"/api/me/offers/{dana_offer(offered['id']).pk}/accept/")
    before = history_counts()
    staff = signed_in(moderator)
    for user in (referrer, therapist_user):  # who referred; who accepted and read the patient's details
        response = staff.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})
        assert response.status_code == 200 and b"Cannot delete" in response.content
        assert User.objects.filter(pk=user.pk).exists()
    response = staff.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [referrer.pk, therapist_user.pk], "post": "yes"},
    )
    assert response.status_code == 200 and b"Cannot delete" in response.content
    assert history_counts() == before


# --- Suspending or deactivating withdraws open offers ----------------------------


def assert_withdrawn_and_reofferable(offered: dict, referrer: User, accepting_therapist: Therapist) -> None:
    offer = Offer.objects.get(referral_id=offered["id"], therapist=accepting_therapist)
    assert offer.status == Offer.Status.WITHDRAWN
    referral = Referral.objects.get(pk=offered["id"])
    assert referral.status == Referral.Status.MATCHED
    assert "no longer taking referrals" in referral.events.last().note
    # The referrer was told, without the patient's details, and can offer to someone else.
    [message] = [message for message in mail.outbox if message.to == [referrer.email]]
    assert "withdrawn" in message.subject and f"/referrals/{offered['id']}/" in message.body
    for value in PATIENT.values():
        assert value not in message.body and value not in message.subject
    other = next(
        item["therapist"]["id"] for item in offered["matches"] if item["therapist"]["id"] != offer.therapist_id
    )
    reoffered = token_client(referrer).post(f"{REFERRALS}{offered['id']}/offers/", {"therapist": other}, format="json")
    assert reoffered.status_code == 201 and reoffered.json()["status"] == "offered"


def test_suspending_a_therapist_withdraws_their_open_offers(
    offered: dict, moderator: User, referrer: User, accepting_therapist: Therapist,
    django_capture_on_commit_callbacks: object,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(moderator).post(
            "/admin/directory/therapist/",
            {"action": "suspend", "_selected_action": [accepting_therapist.pk], "message": "Licence lapsed"},
        )
    accepting_therapist.refresh_from_db()
    assert accepting_therapist.status == Therapist.Status.SUSPENDED
    assert_withdrawn_and_reofferable(offered, referrer, accepting_therapist)
    assert "Licence lapsed" not in str(Referral.objects.get(pk=offered["id"]).events.values_list("note"))


def test_choosing_suspended_in_the_admin_form_is_the_suspend_action(
    offered: dict, moderator: User, referrer: User, accepting_therapist: Therapist,
    django_capture_on_commit_callbacks: object,
) -> None:  # fmt: skip
    model_admin = admin.site._registry[Therapist]
    request = RequestFactory().post("/")
    request.user = moderator
    accepting_therapist.status = Therapist.Status.SUSPENDED
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.save_model(request, accepting_therapist, SimpleNamespace(changed_data=["status"]), change=True)
    assert_withdrawn_and_reofferable(offered, referrer, accepting_therapist)


def test_deactivating_a_therapists_account_withdraws_their_open_offers(
    offered: dict, referrer: User, therapist_user: User, accepting_therapist: Therapist,
    django_capture_on_commit_callbacks: object,
) -> None:  # fmt: skip
    therapist_user.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        therapist_user.save()  # what the user admin's "Active" box does
    assert_withdrawn_and_reofferable(offered, referrer, accepting_therapist)
    accepting_therapist.refresh_from_db()
    assert accepting_therapist.status == Therapist.Status.PUBLISHED  # the listing itself is staff's call


def test_other_offers_keep_waiting_and_the_referral_stays_offered(
    offered: dict, referrer: User, accepting_therapist: Therapist, django_capture_on_commit_callbacks: object
) -> None:
    other = next(
        item["therapist"]["id"] for item in offered["matches"] if item["therapist"]["id"] != accepting_therapist.pk
    )
    offer_to(token_client(referrer), offered["id"], Therapist.objects.get(pk=other))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        profiles.suspend_profile(therapist=accepting_therapist)
    statuses = dict(Offer.objects.filter(referral_id=offered["id"]).values_list("therapist_id", "status"))
    assert statuses == {accepting_therapist.pk: "withdrawn", other: "open"}
    assert Referral.objects.get(pk=offered["id"]).status == Referral.Status.OFFERED
    [message] = [message for message in mail.outbox if message.to == [referrer.email]]
    assert "still waiting" in message.body


def test_an_accepted_referral_stays_with_its_therapist(
    offered: dict, therapist_user: User, accepting_therapist: Therapist
) -> None:
    token_client(therapist_user).post(f"/api/me/offers/{dana_offer(offered['id']).pk}/accept/")
    profiles.suspend_profile(therapist=accepting_therapist)
    assert dana_offer(offered["id"]).status == Offer.Status.ACCEPTED
    assert Referral.objects.get(pk=offered["id"]).status == Referral.Status.ACCEPTED


def test_nobody_can_offer_to_a_suspended_therapist(referrer: User, accepting_therapist: Therapist) -> None:
    created = submit(token_client(referrer))
    profiles.suspend_profile(therapist=accepting_therapist)
    response = token_client(referrer).post(
        f"{REFERRALS}{created['id']}/offers/", {"therapist": accepting_therapist.pk}, format="json"
    )
    assert response.status_code == 409 and "therapist" in response.json()["errors"]
    assert not Offer.objects.filter(referral_id=created["id"]).exists()


def test_the_hourly_sweep_withdraws_offers_a_bulk_update_left_open(
    offered: dict, referrer: User, accepting_therapist: Therapist, django_capture_on_commit_callbacks: object
) -> None:
    Therapist.objects.filter(pk=accepting_therapist.pk).update(status=Therapist.Status.SUSPENDED)  # no signal
    assert Offer.objects.get(referral_id=offered["id"]).status == Offer.Status.OPEN
    with django_capture_on_commit_callbacks(execute=True):
        call_command("expire_offers", verbosity=0)
    assert_withdrawn_and_reofferable(offered, referrer, accepting_therapist)


def test_an_expired_offer_is_never_passed_on_to_a_deactivated_account(
    offered: dict, accepting_therapist: Therapist
) -> None:
    referral = Referral.objects.get(pk=offered["id"])
    matches = referral.matches.exclude(therapist=accepting_therapist).select_related("therapist").order_by("rank")
    gone, next_in_line = matches[0].therapist, matches[1].therapist
    gone.user = make_user("gone", "therapists", is_active=False)
    gone.save(update_fields=["user"])
    Offer.objects.update(created_at=timezone.now() - datetime.timedelta(days=10))
    services.expire_stale_offers(days=5)
    waiting = Offer.objects.filter(referral=referral, status=Offer.Status.OPEN).values_list("therapist_id", flat=True)
    assert list(waiting) == [next_in_line.pk]
