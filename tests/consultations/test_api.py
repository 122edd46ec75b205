"""The consultation API: a client asks without an account; a therapist lists, accepts and declines."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from consultations import services
from consultations.models import Consultation, ConsultationRequest
from directory.models import Therapist
from matching.models import PHIAccess
from tests.conftest import token_client
from tests.consultations.conftest import SAM, SAM_MESSAGE, confirmed, token_in

pytestmark = pytest.mark.django_db

SHOWN = "first_name,message,insurance,formats,preferred_times"


def body(chosen: list[Therapist], **overrides: object) -> dict:
    return {
        "therapists": [therapist.pk for therapist in chosen],
        "first_name": SAM["first_name"],
        "email": SAM["email"],
        "phone": SAM["phone"],
        "message": SAM_MESSAGE,
        "insurance": "aetna",
        "formats": ["individual", "online"],
        "preferred_times": ["weekday-evenings"],
        "consent": True,
        **overrides,
    }


def ask(payload: dict, address: str = "203.0.113.9") -> object:
    return APIClient().post("/api/consultations/", payload, format="json", REMOTE_ADDR=address)


# --- Asking -------------------------------------------------------------------


def test_a_client_asks_and_gets_only_unverified_back_while_the_link_goes_to_their_email(pair: list[Therapist]) -> None:
    response = ask(body(pair))

    assert response.status_code == 201 and response.json() == {"status": "unverified"}
    assert "no-store" in response["Cache-Control"]
    stored = ConsultationRequest.objects.get()
    assert (stored.first_name, stored.email, stored.phone) == (SAM["first_name"], SAM["email"], SAM["phone"])
    assert (stored.insurance.slug, stored.formats, stored.preferred_times) == (
        "aetna", ["individual", "online"], ["weekday-evenings"],
    )  # fmt: skip
    assert stored.therapist_ids == [pair[0].pk, pair[1].pk] and stored.verified_at is None
    (confirm,) = mail.outbox
    assert confirm.to == [SAM["email"]] and token_in(confirm) not in response.content.decode()
    # Nothing reaches a therapist before the client opens the link.
    assert not Consultation.objects.exists()


def test_self_pay_is_null_or_self_pay_and_the_optional_fields_may_be_left_out(pair: list[Therapist]) -> None:
    minimal = {key: body(pair)[key] for key in ("therapists", "first_name", "email", "consent")}
    assert ask({**minimal, "insurance": None}).status_code == 201
    assert ask({**minimal, "insurance": "self-pay", "email": "other@mail.example"}, "203.0.113.10").status_code == 201
    assert list(ConsultationRequest.objects.values_list("insurance", "phone", "formats")) == [(None, "", [])] * 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"first_name": "S" * 61}, "first_name"),
        ({"first_name": 5}, "first_name"),
        ({"first_name": "  "}, "first_name"),
        ({"email": "not an address"}, "email"),
        ({"email": "sam@" + "m" * 250 + ".example"}, "email"),
        ({"phone": "5" * 31}, "phone"),
        ({"message": "m" * 1001}, "message"),
        ({"message": ["a list"]}, "message"),
        ({"insurance": "acme-gold"}, "insurance"),
        ({"insurance": 7}, "insurance"),
        ({"formats": ["individual"] * 51}, "formats"),
        ({"formats": ["telepathy"]}, "formats"),
        ({"formats": "individual"}, "formats"),
        ({"preferred_times": ["midnight"]}, "preferred_times"),
        ({"therapists": []}, "therapists"),
        ({"therapists": "1"}, "therapists"),
        ({"therapists": [1.5]}, "therapists"),
        ({"therapists": [2**63]}, "therapists"),
        ({"therapists": [999_999_999]}, "therapists"),
        ({"consent": False}, "consent"),
        ({"consent": "yes"}, "consent"),
        ({"consent": None}, "consent"),
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_stores_nothing(pair: list[Therapist], overrides: dict, field: str) -> None:
    response = ask(body(pair, **overrides))

    assert response.status_code == 400, response.content
    # A list's item is named by its place: `formats[0]`.
    assert [name for name in response.json()["errors"] if name.split("[")[0] == field], response.json()
    assert not ConsultationRequest.objects.exists() and mail.outbox == []


def test_more_therapists_than_three_is_a_400_naming_therapists(pair: list[Therapist]) -> None:
    listed = list(Therapist.objects.taking_referrals().order_by("pk")[:4])
    response = ask(body(listed))
    assert response.status_code == 400
    assert response.json()["errors"]["therapists"] == ["Choose at most 3 therapists at once."]


def test_the_same_email_is_limited_per_day_from_any_address(pair: list[Therapist], settings: object) -> None:
    settings.CONSULTATION_LIMIT_PER_EMAIL = 2
    for number in range(2):
        assert ask(body(pair), f"203.0.113.{number + 1}").status_code == 201

    refused = ask(body(pair, email=SAM["email"].upper()), "203.0.113.50")

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "errors" in refused.json()
    assert ConsultationRequest.objects.count() == 2
    # Another client at that address is not held back by Sam's limit.
    assert ask(body(pair, email="kim@mail.example"), "203.0.113.50").status_code == 201


def test_one_address_is_limited_per_day_whatever_the_emails(pair: list[Therapist], settings: object) -> None:
    settings.CONSULTATION_LIMIT_PER_ADDRESS = 2
    for number in range(2):
        assert ask(body(pair, email=f"client{number}@mail.example")).status_code == 201

    refused = ask(body(pair, email="client9@mail.example"))

    assert refused.status_code == 429 and refused.has_header("Retry-After")
    assert ConsultationRequest.objects.count() == 2 and len(mail.outbox) == 2
    assert ask(body(pair, email="client9@mail.example"), "198.51.100.7").status_code == 201


def test_the_api_throttle_counts_asks_per_address(pair: list[Therapist], settings: object) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "consultation": "2/hour"}
    ask(body(pair, email="a@mail.example"))
    ask(body(pair, first_name=""))  # refused, and counted all the same

    throttled = ask(body(pair, email="c@mail.example"))

    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert ConsultationRequest.objects.count() == 1


# --- The therapist's list -------------------------------------------------------


def test_the_list_shows_the_wishes_but_the_contact_only_once_accepted(pair: list[Therapist]) -> None:
    ada = pair[0]
    waiting = confirmed(ada, email="waiting@mail.example")
    accepted = confirmed(ada, insurance=None, formats=(), email="accepted@mail.example")
    services.accept(consultation=accepted)

    response = token_client(ada.user).get("/api/me/consultations/")

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    first, second = response.json()
    assert first == {
        "id": waiting.pk,
        "status": "open",
        "first_name": SAM["first_name"],
        "message": SAM_MESSAGE,
        "insurance": "aetna",
        "insurance_name": "Aetna",
        "formats": ["individual"],
        "preferred_times": ["weekday-evenings"],
        "sent_at": first["sent_at"],
        "reply_by": first["reply_by"],
        "contact": None,
    }
    assert first["reply_by"] > first["sent_at"]
    assert (second["id"], second["status"], second["insurance"], second["insurance_name"]) == (
        accepted.pk, "accepted", None, "Self-pay",
    )  # fmt: skip
    assert second["contact"] == {"email": "accepted@mail.example", "phone": SAM["phone"]}
    assert "waiting@mail.example" not in response.content.decode()


def test_each_read_of_the_list_is_logged_with_the_fields_it_showed(pair: list[Therapist]) -> None:
    ada = pair[0]
    waiting = confirmed(ada)
    accepted = confirmed(ada)
    services.accept(consultation=accepted)

    token_client(ada.user).get("/api/me/consultations/")

    reads = dict(
        PHIAccess.objects.filter(user=ada.user, channel="api:consultations").values_list(
            "consultation_request", "fields"
        )
    )
    assert reads == {waiting.request_id: SHOWN, accepted.request_id: f"{SHOWN},email,phone"}


def test_the_list_holds_only_the_callers_own(pair: list[Therapist]) -> None:
    ada, ben = pair
    confirmed(ada)
    assert token_client(ben.user).get("/api/me/consultations/").json() == []
    assert not PHIAccess.objects.filter(user=ben.user).exists()


def test_the_list_runs_as_many_queries_for_one_request_as_for_many(pair: list[Therapist]) -> None:
    ada = pair[0]
    confirmed(ada)
    api = token_client(ada.user)
    with CaptureQueriesContext(connection) as few:
        api.get("/api/me/consultations/")
    for number in range(6):
        consultation = confirmed(ada, insurance=None if number % 2 else "aetna")
        if number % 3 == 0:
            services.accept(consultation=consultation)

    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/me/consultations/").json()) == 7

    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("persona", "expected"), [("anonymous", 401), ("referrer", 403), ("moderator", 403), ("therapist_without", 403)]
)
def test_only_therapists_may_list_or_answer(
    request: pytest.FixtureRequest, pair: list[Therapist], persona: str, expected: int
) -> None:
    consultation = confirmed(pair[0])
    if persona == "anonymous":
        api = APIClient()
    elif persona == "therapist_without":
        pair[0].user = None
        pair[0].save(update_fields=["user"])
        api = token_client(User.objects.get(username="ada"))
    else:
        api = token_client(request.getfixturevalue(persona))

    assert api.get("/api/me/consultations/").status_code == expected
    assert api.post(f"/api/me/consultations/{consultation.pk}/accept/").status_code == expected
    declined = api.post(f"/api/me/consultations/{consultation.pk}/decline/", {"reason": "insurance"}, format="json")
    assert declined.status_code == expected
    assert Consultation.objects.get(pk=consultation.pk).status == "open"


# --- Answering ------------------------------------------------------------------


def test_accepting_returns_the_request_with_the_contact_and_tells_the_client(pair: list[Therapist]) -> None:
    consultation = confirmed(pair[0], email="robin@mail.example")
    mail.outbox.clear()

    response = token_client(pair[0].user).post(f"/api/me/consultations/{consultation.pk}/accept/")

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert response.json()["status"] == "accepted"
    assert response.json()["contact"] == {"email": "robin@mail.example", "phone": SAM["phone"]}
    assert Consultation.objects.get(pk=consultation.pk).responded_at is not None
    (told,) = mail.outbox
    assert told.to == ["robin@mail.example"] and "accepted" in told.subject
    assert PHIAccess.objects.filter(
        user=pair[0].user, channel="api:consultation", fields=f"{SHOWN},email,phone"
    ).exists()


def test_an_answered_request_is_a_409(pair: list[Therapist]) -> None:
    consultation = confirmed(pair[0])
    api = token_client(pair[0].user)
    declined = api.post(f"/api/me/consultations/{consultation.pk}/decline/", {"reason": "no_capacity"}, format="json")
    assert declined.status_code == 200

    again = api.post(f"/api/me/consultations/{consultation.pk}/accept/")

    assert again.status_code == 409 and "no longer waiting" in again.json()["errors"]["non_field_errors"][0]
    assert Consultation.objects.get(pk=consultation.pk).status == "declined"


def test_declining_needs_a_reason_from_the_list_and_never_shows_the_contact(pair: list[Therapist]) -> None:
    consultation = confirmed(pair[0], email="robin@mail.example")
    api = token_client(pair[0].user)
    url = f"/api/me/consultations/{consultation.pk}/decline/"

    for refused in ({}, {"reason": "bored"}, {"reason": 3}, {"reason": "x" * 10_000}):
        response = api.post(url, refused, format="json")
        assert response.status_code == 400 and "reason" in response.json()["errors"], refused
    assert Consultation.objects.get(pk=consultation.pk).status == "open"
    mail.outbox.clear()

    declined = api.post(url, {"reason": "outside_focus"}, format="json")

    assert declined.status_code == 200
    assert (declined.json()["status"], declined.json()["contact"]) == ("declined", None)
    stored = Consultation.objects.get(pk=consultation.pk)
    assert (stored.status, stored.decline_reason) == ("declined", "outside_focus")
    assert [message.to for message in mail.outbox] == [["robin@mail.example"]]  # alternatives for the client


def test_another_therapists_request_is_a_404_and_stays_open(pair: list[Therapist]) -> None:
    adas = confirmed(pair[0])
    ben = token_client(pair[1].user)

    assert ben.post(f"/api/me/consultations/{adas.pk}/accept/").status_code == 404
    assert (
        ben.post(f"/api/me/consultations/{adas.pk}/decline/", {"reason": "insurance"}, format="json").status_code == 404
    )
    assert ben.post("/api/me/consultations/99999999/accept/").status_code == 404
    assert Consultation.objects.get(pk=adas.pk).status == "open"
    assert not PHIAccess.objects.filter(user=pair[1].user).exists()


def test_the_schema_documents_the_consultation_api(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {"201", "400", "429"} <= set(paths["/api/consultations/"]["post"]["responses"])
    assert "/api/me/consultations/" in paths
    accept = paths["/api/me/consultations/{consultation_id}/accept/"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409"} <= set(accept)
    decline = paths["/api/me/consultations/{consultation_id}/decline/"]["post"]
    assert "400" in decline["responses"] and decline["requestBody"]
