"""The referral rules, checked by `services.create_referral` itself, whoever calls it."""

from __future__ import annotations

import dataclasses
import datetime
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from directory import geo
from directory.models import Therapist
from matching import services
from matching.demo import DEMO_PATIENT, offer_demo_referral
from matching.models import Match, Referral, ReferralEvent
from matching.requests import Patient, ReferralRequest
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)
NOW = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=datetime.UTC)
PATIENT = Patient(name="Maria Example-Patient", birth_date=datetime.date(1984, 3, 9), phone="555-010-2030")
BROOKLYN = geo.locate("11215")
REQUEST = ReferralRequest(
    place=BROOKLYN,
    need=services.build_need(place=BROOKLYN, formats={"individual", "online"}, insurance="aetna"),
    patient=PATIENT,
    urgency="routine",
    consent=True,
)


def with_patient(**changes: object) -> ReferralRequest:
    return dataclasses.replace(REQUEST, patient=dataclasses.replace(PATIENT, **changes))


def assert_nothing_stored() -> None:
    assert not Referral.objects.exists() and not Match.objects.exists() and not ReferralEvent.objects.exists()


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (dataclasses.replace(REQUEST, urgency="whenever"), "urgency"),
        (dataclasses.replace(REQUEST, urgency=""), "urgency"),
        (dataclasses.replace(REQUEST, consent=False), "consent"),
        (with_patient(phone="", email=""), "patient_phone"),
        (with_patient(phone="  ", email=""), "patient_phone"),
        (with_patient(name=" "), "patient_name"),
        (with_patient(birth_date=TODAY + datetime.timedelta(days=1)), "patient_birth_date"),
        (with_patient(birth_date=datetime.date(1906, 3, 1)), "patient_birth_date"),
        (dataclasses.replace(REQUEST, place=geo.Place(0.0, 0.0, "", "At sea")), "postal_code"),
    ],
)  # fmt: skip
def test_create_referral_refuses_a_request_that_breaks_a_rule_and_stores_nothing(
    referrer: User, request_: ReferralRequest, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.create_referral(referrer=referrer, request=request_, now=NOW)
    assert list(refused.value.message_dict) == [field]
    assert_nothing_stored()


def test_a_crisis_is_refused_with_the_crisis_guidance_and_its_own_code(referrer: User) -> None:
    with pytest.raises(ValidationError) as refused:
        services.create_referral(referrer=referrer, request=dataclasses.replace(REQUEST, urgency="crisis"), now=NOW)
    [error] = refused.value.error_dict["urgency"]
    assert error.code == services.CRISIS
    assert "988" in error.message and "911" in error.message
    assert_nothing_stored()


def test_every_broken_rule_is_reported_at_once(referrer: User) -> None:
    request = dataclasses.replace(with_patient(phone="", birth_date=datetime.date(2999, 1, 1)), consent=False)
    with pytest.raises(ValidationError) as refused:
        services.create_referral(referrer=referrer, request=request, now=NOW)
    assert set(refused.value.message_dict) == {"consent", "patient_phone", "patient_birth_date"}
    assert_nothing_stored()


def test_a_valid_request_is_stored_with_the_nearest_zip_of_its_place(referrer: User) -> None:
    place = geo.locate("40.67123,-73.97765")
    assert place.postal_code == ""
    request = dataclasses.replace(REQUEST, place=place)
    referral = services.create_referral(referrer=referrer, request=request, now=NOW)
    referral.refresh_from_db()
    assert referral.postal_code == "11215" and referral.place_label == place.label
    assert (referral.patient_name, referral.patient_phone, referral.patient_email) == (PATIENT.name, PATIENT.phone, "")
    assert referral.consent_confirmed_at == NOW and referral.urgency == "routine"
    assert referral.status == "matched" and referral.matches.exists()


def test_an_email_alone_is_contact_enough(referrer: User) -> None:
    request = with_patient(phone="", email="maria.patient@mail.example")
    assert services.create_referral(referrer=referrer, request=request, now=NOW).patient_email == request.patient.email


@pytest.mark.parametrize(
    ("birth_date", "today", "plausible"),
    [
        (datetime.date(1906, 3, 2), TODAY, True),  # 120 today
        (datetime.date(1906, 3, 1), TODAY, False),
        (TODAY, TODAY, True),
        (datetime.date(1900, 2, 28), datetime.date(2020, 2, 29), True),  # 1900 had no February 29th
        (datetime.date(1900, 2, 27), datetime.date(2020, 2, 29), False),
    ],
)
def test_a_birth_date_is_plausible_up_to_120_years_back(
    birth_date: datetime.date, today: datetime.date, plausible: bool
) -> None:
    assert services.is_plausible_birth_date(birth_date, today=today) is plausible


def test_the_demo_referral_meets_the_same_rules(referrer: User, accepting_therapist: Therapist) -> None:
    no_contact = dataclasses.replace(DEMO_PATIENT, phone="")
    with mock.patch("matching.demo.DEMO_PATIENT", no_contact), pytest.raises(ValidationError) as refused:
        offer_demo_referral(referrer=referrer, therapist=accepting_therapist)
    assert "patient_phone" in refused.value.message_dict
    assert_nothing_stored()
    offer = offer_demo_referral(referrer=referrer, therapist=accepting_therapist)
    assert offer.referral.postal_code == "11215"


def test_the_api_answers_a_service_refusal_with_400_by_field(referrer: User) -> None:
    body = {"postal_code": "11215", "patient_name": "Maria Example-Patient", "patient_birth_date": "2999-01-01",
            "consent": False, "urgency": "soon"}  # fmt: skip
    response = token_client(referrer).post("/api/referrals/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "consent": ["Confirm that the patient consented to this referral."],
            "patient_phone": ["Give a phone number or an email for the patient."],
            "patient_birth_date": ["Enter the patient's real date of birth."],
        }
    }
    assert_nothing_stored()


def test_a_crisis_gets_the_crisis_answer_whatever_else_is_wrong(referrer: User) -> None:
    body = {"postal_code": "11215", "patient_name": "Ana", "patient_birth_date": "not a date", "urgency": "crisis"}
    api = token_client(referrer).post("/api/referrals/", body, format="json")
    assert api.status_code == 400 and "988" in api.json()["errors"]["urgency"][0]
    page = Client()
    page.force_login(referrer)
    response = page.post("/referrals/new/", body)
    assert response.status_code == 400
    assert response.templates[0].name == "matching/crisis.html"
    assert_nothing_stored()


def test_the_page_shows_the_services_errors_under_their_fields(referrer: User) -> None:
    page = Client()
    page.force_login(referrer)
    form = {"postal_code": "11215", "patient_name": "Ana Example-Patient", "patient_phone": "555-222-3333",
            "patient_birth_date": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
            "urgency": "routine", "consent": "on", "clinician_name": "Dr. Lena Rivera",
            "clinician_npi": "1234567893", "clinician_phone": "312 555 0199"}  # fmt: skip
    response = page.post("/referrals/new/", form)
    assert response.status_code == 400
    assert response.context["errors"] == {"patient_birth_date": ["Enter the patient's real date of birth."]}
    assert "<strong>Date of birth</strong>: Enter the patient" in response.content.decode()
    assert_nothing_stored()
