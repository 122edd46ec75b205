"""The closed referral loop through the API: create, offer, accept or decline, schedule, close."""

from __future__ import annotations

import datetime
import json
import logging

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from directory.models import Therapist
from matching import services
from matching.models import Offer, PHIAccess, Referral
from tests.conftest import make_therapist, make_user, token_client

pytestmark = pytest.mark.django_db

REFERRALS = "/api/referrals/"
PATIENT = {
    "patient_name": "Maria Example-Patient",
    "patient_birth_date": "1984-03-09",
    "patient_phone": "555-010-2030",
    "patient_email": "maria.patient@mail.example",
    "notes": "Sleep trouble since her mother's death in June.",
}
NEED = {
    "postal_code": "11215",
    "insurance": "aetna",
    "formats": ["individual", "online"],
    "focus_areas": ["grief-loss"],
}


def submit(client: APIClient, **overrides: object) -> dict:
    response = client.post(REFERRALS, {**NEED, **PATIENT, "consent": True, "urgency": "routine", **overrides},
                           format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def referral(referrer: User, therapist_user: User, accepting_therapist: Therapist) -> dict:
    """A referral whose matches include Dana (Aetna, Park Slope, accepting)."""
    created = submit(token_client(referrer))
    assert accepting_therapist.pk in [item["therapist"]["id"] for item in created["matches"]]
    return created


def offer_to(client: APIClient, referral_id: str, therapist: Therapist) -> dict:
    response = client.post(f"{REFERRALS}{referral_id}/offers/", {"therapist": therapist.pk}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def dana_offer(referral_id: str) -> Offer:
    return Offer.objects.get(referral_id=referral_id, therapist__user__username="dana")


def test_create_returns_ranked_matches_history_and_stores_the_referral(referrer: User) -> None:
    created = submit(token_client(referrer))
    assert created["status"] == "matched"
    assert [event["to_status"] for event in created["history"]] == ["matched"]
    scores = [item["score"] for item in created["matches"]]
    assert scores and scores == sorted(scores, reverse=True)
    assert all(item["reasons"] for item in created["matches"])
    stored = Referral.objects.get(pk=created["id"])
    assert stored.referrer == referrer and stored.patient_name == PATIENT["patient_name"]
    assert stored.matches.count() == len(created["matches"])


def test_the_whole_loop_closes(referral: dict, referrer: User, therapist_user: User,
                               accepting_therapist: Therapist) -> None:  # fmt: skip
    physician, therapist = token_client(referrer), token_client(therapist_user)
    after_offer = offer_to(physician, referral["id"], accepting_therapist)
    assert after_offer["status"] == "offered"

    inbox = therapist.get("/api/me/offers/").json()
    assert [offer["referral"] for offer in inbox] == [referral["id"]]
    assert inbox[0]["patient"] is None
    assert PATIENT["patient_name"] not in str(inbox)

    capacity = accepting_therapist.capacity
    accepted = therapist.post(f"/api/me/offers/{inbox[0]['id']}/accept/")
    assert accepted.status_code == 200
    assert accepted.json()["patient"]["patient_phone"] == PATIENT["patient_phone"]
    accepting_therapist.refresh_from_db()
    assert accepting_therapist.capacity == capacity - 1
    # Matching reads capacity from the search index, which follows in the same transaction.
    assert set(accepting_therapist.search_entries.values_list("capacity", flat=True)) == {capacity - 1}

    # Recorded after the session was held, so that the loop can close now.
    date = (timezone.localdate() - datetime.timedelta(days=2)).isoformat()
    scheduled = therapist.post(
        f"/api/me/offers/{inbox[0]['id']}/schedule/", {"first_session_date": date}, format="json"
    )
    assert scheduled.status_code == 200 and scheduled.json()["first_session_date"] == date

    closed = physician.post(f"{REFERRALS}{referral['id']}/close/")
    assert closed.status_code == 200
    history = [event["to_status"] for event in closed.json()["history"]]
    assert history == ["matched", "offered", "accepted", "scheduled", "closed"]
    assert Referral.objects.get(pk=referral["id"]).status == "closed"


def test_first_acceptance_wins_and_withdraws_the_other_offers(
    referral: dict, referrer: User, therapist_user: User, accepting_therapist: Therapist
) -> None:
    physician = token_client(referrer)
    others = [Therapist.objects.get(pk=item["therapist"]["id"]) for item in referral["matches"]
              if item["therapist"]["id"] != accepting_therapist.pk][:2]  # fmt: skip
    for therapist in [accepting_therapist, *others]:
        offer_to(physician, referral["id"], therapist)
    assert (
        token_client(therapist_user).post(f"/api/me/offers/{dana_offer(referral['id']).pk}/accept/").status_code == 200
    )
    statuses = dict(Offer.objects.filter(referral_id=referral["id"]).values_list("therapist_id", "status"))
    assert statuses[accepting_therapist.pk] == "accepted"
    assert {statuses[therapist.pk] for therapist in others} == {"withdrawn"}


def test_at_most_three_offers_wait_at_once(referral: dict, referrer: User) -> None:
    physician = token_client(referrer)
    candidates = [Therapist.objects.get(pk=item["therapist"]["id"]) for item in referral["matches"][:4]]
    for therapist in candidates[:3]:
        offer_to(physician, referral["id"], therapist)
    response = physician.post(f"{REFERRALS}{referral['id']}/offers/", {"therapist": candidates[3].pk}, format="json")
    assert response.status_code == 409
    assert "therapist" in response.json()["errors"]


def test_offer_only_to_a_ranked_candidate(referral: dict, referrer: User) -> None:
    stranger = make_therapist(npi="1000000053", postal_code="98101", licensed=("WA",))
    response = token_client(referrer).post(
        f"{REFERRALS}{referral['id']}/offers/", {"therapist": stranger.pk}, format="json"
    )
    assert response.status_code == 400
    assert "therapist" in response.json()["errors"]


def test_an_id_past_the_largest_is_a_400_not_a_server_error(referral: dict, referrer: User) -> None:
    # Found by `make fuzz`: SQLite raised OverflowError for 10**19 (PostgreSQL answered 400).
    response = token_client(referrer).post(f"{REFERRALS}{referral['id']}/offers/", {"therapist": 10**19}, format="json")
    assert response.status_code == 400
    assert "less than or equal to" in response.json()["errors"]["therapist"][0]
    assert Referral.objects.get(pk=referral["id"]).status == "matched"


def test_decline_with_reason_moves_the_referral_to_declined(
    referral: dict, referrer: User, therapist_user: User, accepting_therapist: Therapist
) -> None:
    offer_to(token_client(referrer), referral["id"], accepting_therapist)
    therapist = token_client(therapist_user)
    offer = dana_offer(referral["id"])
    missing_note = therapist.post(f"/api/me/offers/{offer.pk}/decline/", {"reason": "other"}, format="json")
    assert missing_note.status_code == 400 and "note" in missing_note.json()["errors"]
    bad_reason = therapist.post(f"/api/me/offers/{offer.pk}/decline/", {"reason": "bored"}, format="json")
    assert bad_reason.status_code == 400 and "reason" in bad_reason.json()["errors"]
    declined = therapist.post(f"/api/me/offers/{offer.pk}/decline/", {"reason": "no_capacity"}, format="json")
    assert declined.status_code == 200
    assert Referral.objects.get(pk=referral["id"]).status == "declined"
    assert Offer.objects.get(pk=offer.pk).decline_reason == "no_capacity"
    # Changing one's mind afterwards is refused, and the message says why (nobody else took the referral).
    late = therapist.post(f"/api/me/offers/{offer.pk}/accept/")
    assert late.status_code == 409 and "You declined this offer" in json.dumps(late.json())


def test_illegal_transitions_are_409_and_change_nothing(referral: dict, referrer: User, therapist_user: User,
                                                       accepting_therapist: Therapist) -> None:  # fmt: skip
    physician = token_client(referrer)
    assert physician.post(f"{REFERRALS}{referral['id']}/close/").status_code == 409
    offer_to(physician, referral["id"], accepting_therapist)
    therapist = token_client(therapist_user)
    offer = dana_offer(referral["id"])
    date = {"first_session_date": timezone.localdate().isoformat()}
    assert therapist.post(f"/api/me/offers/{offer.pk}/schedule/", date, format="json").status_code == 409
    assert physician.post(f"{REFERRALS}{referral['id']}/withdraw/").status_code == 200
    assert therapist.post(f"/api/me/offers/{offer.pk}/accept/").status_code == 409
    assert Referral.objects.get(pk=referral["id"]).status == "withdrawn"
    assert Offer.objects.get(pk=offer.pk).status == "withdrawn"


def test_crisis_is_refused_with_988_guidance_and_nothing_is_stored(referrer: User) -> None:
    response = token_client(referrer).post(
        REFERRALS, {**NEED, **PATIENT, "consent": True, "urgency": "crisis"}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["errors"]["urgency"][0]
    assert "988" in message and "911" in message
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"consent": False}, "consent"),
        ({"patient_phone": "", "patient_email": ""}, "patient_phone"),
        ({"patient_birth_date": "2999-01-01"}, "patient_birth_date"),
        ({"patient_name": ""}, "patient_name"),
        ({"urgency": "whenever"}, "urgency"),
        ({"postal_code": "00000"}, "postal_code"),
    ],
)
def test_invalid_referrals_are_400_naming_the_field(referrer: User, overrides: dict, field: str) -> None:
    body = {**NEED, **PATIENT, "consent": True, **overrides}
    response = token_client(referrer).post(REFERRALS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Referral.objects.exists()


def test_access_matrix(referral: dict, referrer: User, other_referrer: User, therapist_user: User) -> None:
    anonymous = APIClient()
    detail = f"{REFERRALS}{referral['id']}/"
    assert anonymous.get(REFERRALS).status_code == 401
    assert anonymous.get("/api/me/offers/").status_code == 401
    assert token_client(therapist_user).get(REFERRALS).status_code == 403
    assert token_client(referrer).get("/api/me/offers/").status_code == 403
    other = token_client(other_referrer)
    assert other.get(detail).status_code == 404
    assert other.post(f"{detail}withdraw/").status_code == 404
    assert other.get(REFERRALS).json() == []
    assert Referral.objects.get(pk=referral["id"]).status == "matched"


def test_a_therapist_cannot_answer_another_therapists_offer(referral: dict, referrer: User,
                                                           accepting_therapist: Therapist) -> None:  # fmt: skip
    offer_to(token_client(referrer), referral["id"], accepting_therapist)
    intruder = make_user("mallory", "therapists")
    make_therapist(npi="1000000061", user=intruder)
    offer = Offer.objects.get(referral_id=referral["id"])
    assert token_client(intruder).post(f"/api/me/offers/{offer.pk}/accept/").status_code == 404
    assert token_client(intruder).get("/api/me/offers/").json() == []


def test_phi_reads_are_logged_and_sent_no_store(referral: dict, referrer: User) -> None:
    before = PHIAccess.objects.filter(user=referrer).count()
    response = token_client(referrer).get(f"{REFERRALS}{referral['id']}/")
    assert response["Cache-Control"] == "no-store"
    assert response.json()["patient"]["patient_name"] == PATIENT["patient_name"]
    assert PHIAccess.objects.filter(user=referrer, referral_id=referral["id"]).count() == before + 1


def test_emails_carry_a_link_and_no_phi(
    referral: dict,
    referrer: User,
    therapist_user: User,
    accepting_therapist: Therapist,
    django_capture_on_commit_callbacks: object,
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        offer_to(token_client(referrer), referral["id"], accepting_therapist)
    with django_capture_on_commit_callbacks(execute=True):
        token_client(therapist_user).post(f"/api/me/offers/{dana_offer(referral['id']).pk}/accept/")
    recipients = [message.to[0] for message in mail.outbox]
    assert "dana@therapy.example" in recipients and "rivera@clinic.example" in recipients
    for message in mail.outbox:
        assert "/me/offers/" in message.body or "/referrals/" in message.body
        for value in PATIENT.values():
            assert value not in message.body and value not in message.subject


def test_phi_never_reaches_the_logs(referrer: User, caplog: pytest.LogCaptureFixture) -> None:
    client = token_client(referrer)
    with caplog.at_level(logging.DEBUG):
        submit(client)
        client.post(REFERRALS, {**NEED, **PATIENT, "consent": True, "postal_code": "00000"}, format="json")
    for value in PATIENT.values():
        assert value not in caplog.text


def test_expiry_reoffers_to_the_next_candidate_then_expires(referral: dict, referrer: User,
                                                           accepting_therapist: Therapist) -> None:  # fmt: skip
    offer_to(token_client(referrer), referral["id"], accepting_therapist)
    Offer.objects.update(created_at=timezone.now() - datetime.timedelta(days=10))
    call_command("expire_offers", "--days", "5", verbosity=0)
    offers = Offer.objects.filter(referral_id=referral["id"]).order_by("created_at")
    assert [offer.status for offer in offers] == ["expired", "open"]
    assert Referral.objects.get(pk=referral["id"]).status == "offered"

    Referral.objects.get(pk=referral["id"]).matches.exclude(therapist_id__in=offers.values("therapist_id")).delete()
    Offer.objects.update(created_at=timezone.now() - datetime.timedelta(days=10))
    call_command("expire_offers", "--days", "5", verbosity=0)
    assert Referral.objects.get(pk=referral["id"]).status == "expired"


def test_referral_list_and_inbox_run_a_constant_number_of_queries(
    referrer: User, therapist_user: User, accepting_therapist: Therapist, django_assert_max_num_queries: object
) -> None:
    physician = token_client(referrer)
    for _ in range(4):
        created = submit(physician)
        offer_to(physician, created["id"], accepting_therapist)
    with django_assert_max_num_queries(6):
        assert len(physician.get(REFERRALS).json()) == 4
    with django_assert_max_num_queries(8):
        assert len(token_client(therapist_user).get("/api/me/offers/").json()) == 4
    with django_assert_max_num_queries(30):
        assert physician.get(f"{REFERRALS}{created['id']}/").status_code == 200


def test_recent_offers_count_the_last_30_days_per_therapist(
    referral: dict, referrer: User, accepting_therapist: Therapist
) -> None:
    """What the engine's load reads, per therapist, from the offers table."""
    offer_to(token_client(referrer), referral["id"], accepting_therapist)
    now = timezone.now()
    other = make_therapist(npi="1000000061", last_name="Nooffers")
    assert services.recent_offers([accepting_therapist.pk, other.pk], now=now) == {accepting_therapist.pk: 1}
    Offer.objects.filter(referral_id=referral["id"]).update(created_at=now - datetime.timedelta(days=40))
    assert services.recent_offers([accepting_therapist.pk, other.pk], now=now) == {}
    assert services.recent_offers([], now=now) == {}


@pytest.mark.parametrize(("near", "postal_code"), [("40.67123,-73.97765", "11215"), ("Brooklyn, NY", "112")])
def test_a_referral_placed_by_coordinates_or_city_keeps_a_zip_code(referrer: User, near: str, postal_code: str) -> None:
    """What therapists see of where the patient is ("ZIP 112xx, NY") needs a real ZIP, not the text typed."""
    body = {**{key: value for key, value in NEED.items() if key != "postal_code"}, **PATIENT}
    response = token_client(referrer).post(REFERRALS, {**body, "near": near, "consent": True}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    stored = Referral.objects.get(pk=created["id"])
    assert len(stored.postal_code) == 5 and stored.postal_code.isdigit()
    assert stored.postal_code.startswith(postal_code)
    assert stored.area == f"ZIP {stored.postal_code[:3]}xx, NY"


def test_scheduling_refuses_a_first_session_more_than_30_days_ago(
    referral: dict, referrer: User, therapist_user: User, accepting_therapist: Therapist
) -> None:
    offer_to(token_client(referrer), referral["id"], accepting_therapist)
    offer = services.accept_offer(offer=dana_offer(referral["id"]), actor=therapist_user)
    now = timezone.now()
    too_early = timezone.localdate(now) - datetime.timedelta(days=31)
    with pytest.raises(services.ReferralInvalid) as refused:
        services.schedule_first_session(offer=offer, first_session_date=too_early, actor=therapist_user, now=now)
    assert refused.value.field == "first_session_date"
    assert Referral.objects.get(pk=referral["id"]).status == "accepted"
    assert Offer.objects.get(pk=offer.pk).first_session_date is None

    therapist = token_client(therapist_user)
    response = therapist.post(
        f"/api/me/offers/{offer.pk}/schedule/", {"first_session_date": too_early.isoformat()}, format="json"
    )
    message = "The first session date cannot be more than 30 days ago."
    assert response.status_code == 400 and response.json()["errors"]["first_session_date"] == [message]
    page = Client()
    page.force_login(therapist_user)
    shown = page.post(
        f"/me/offers/{offer.pk}/schedule/",
        {"first_session_date": too_early.isoformat(), "first_session_time": "10:00"},
        follow=True,
    )
    assert message in shown.content.decode()
    assert Referral.objects.get(pk=referral["id"]).status == "accepted"
    held_late = (timezone.localdate(now) - datetime.timedelta(days=30)).isoformat()
    response = therapist.post(f"/api/me/offers/{offer.pk}/schedule/", {"first_session_date": held_late}, format="json")
    assert response.status_code == 200 and response.json()["first_session_date"] == held_late
