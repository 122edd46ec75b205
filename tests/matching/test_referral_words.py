"""The physician's side of the loop: a referral in a clinician's words, the loop seen closing, the patient told."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.models import Therapist
from matching.models import Offer, Referral
from outbox import sms
from tests.conftest import signed_in, token_client
from tests.matching.test_referrals import NEED, PATIENT, REFERRALS, dana_offer, offer_to, submit
from tests.outbox.test_mail_queue import run_due_deliveries

pytestmark = pytest.mark.django_db

CLINICAL = {
    "clinician_name": "Dr. Lena Rivera",
    "clinician_npi": "1234567893",
    "clinician_phone": "312 555 0199",
    "practice_name": "Lakeside Family Medicine",
    "insurance_member_id": "AET-88812345",
    "diagnosis_code": "f43.21",
    "reason": "Low mood and withdrawal since a bereavement; PHQ-9 of 14.",
}
SECRETS = ("Sleep trouble", "PHQ-9", "F43.21", "AET-88812345", "Maria", "Lakeside")


@pytest.fixture
def dana(therapist_user: User, accepting_therapist: Therapist) -> Therapist:
    """Dana, with the public phone and email a referrer and a patient reach her by."""
    Therapist.objects.filter(pk=accepting_therapist.pk).update(phone="718 555 0142", email="dana@practice.example")
    accepting_therapist.refresh_from_db()
    return accepting_therapist


@pytest.fixture
def referral(referrer: User, dana: Therapist) -> dict:
    created = submit(token_client(referrer), **CLINICAL, patient_contact_consent=True)
    assert dana.pk in [item["therapist"]["id"] for item in created["matches"]]
    return created


def accept(therapist_user: User, referral_id: str) -> None:
    response = token_client(therapist_user).post(f"/api/me/offers/{dana_offer(referral_id).pk}/accept/")
    assert response.status_code == 200, response.content


def schedule(therapist_user: User, referral_id: str, when: datetime.date, time: str = "10:00") -> None:
    response = token_client(therapist_user).post(
        f"/api/me/offers/{dana_offer(referral_id).pk}/schedule/",
        {"first_session_date": when.isoformat(), "first_session_time": time}, format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("clinician_npi", "1234567890"),  # fails the Luhn check digit
        ("clinician_npi", "12345"),
        ("diagnosis_code", "F4"),
        ("diagnosis_code", "321.1"),
        ("insurance_member_id", "AET/888;--"),
        ("clinician_phone", "call me"),
    ],
)
def test_the_new_referral_fields_are_validated_and_named_in_the_400(referrer: User, field: str, value: str) -> None:
    body = {**NEED, **PATIENT, **CLINICAL, "consent": True, field: value}
    response = token_client(referrer).post(REFERRALS, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Referral.objects.exists()


def test_a_referral_keeps_the_clinician_the_code_and_the_member_id(referral: dict) -> None:
    stored = Referral.objects.get(pk=referral["id"])
    assert (stored.clinician_npi, stored.diagnosis_code, stored.insurance_member_id) == (
        "1234567893", "F43.21", "AET-88812345",
    )  # fmt: skip
    assert referral["clinician"] == {
        "name": "Dr. Lena Rivera", "npi": "1234567893", "phone": "312 555 0199",
        "practice": "Lakeside Family Medicine",
    }  # fmt: skip
    assert referral["patient"]["reason"] == CLINICAL["reason"] and referral["patient"]["diagnosis_code"] == "F43.21"
    assert referral["accepted_therapist"] is None


def test_the_page_form_requires_the_clinician_and_the_api_does_not(referrer: User, dana: Therapist) -> None:
    form = {**NEED, **PATIENT, "consent": "true", "urgency": "routine"}
    response = signed_in(referrer).post("/referrals/new/", form)
    assert response.status_code == 400
    assert set(response.context["errors"]) == {"clinician_name", "clinician_npi", "clinician_phone"}
    submit(token_client(referrer))  # an API client written before these fields still creates referrals


def test_the_form_speaks_of_the_patient_in_a_clinicians_words(referrer: User) -> None:
    html = signed_in(referrer).get("/referrals/new/").content.decode()
    assert "Patient is self-pay" in html and "I will pay myself" not in html
    assert "I lost someone important to me" not in html and "Grief and loss" in html
    assert '<option value="F32.1">' in html  # the common ICD-10-CM codes are offered
    assert "No insurance: I will pay myself" in Client().get("/match/").content.decode()  # the client's own form


def test_therapists_see_only_the_summary_until_they_accept_then_the_clinical_details(
    referral: dict, referrer: User, therapist_user: User, dana: Therapist
) -> None:
    offer_to(token_client(referrer), referral["id"], dana)
    before = token_client(therapist_user).get("/api/me/offers/")
    assert before.json()[0]["patient"] is None and before.json()[0]["clinician"] is None
    page = signed_in(therapist_user).get(f"/me/offers/{dana_offer(referral['id']).pk}/").content.decode()
    for secret in (*SECRETS, "Rivera", "1234567893"):
        assert secret not in before.content.decode() and secret not in page
    accept(therapist_user, referral["id"])
    after = token_client(therapist_user).get("/api/me/offers/").json()[0]
    assert after["patient"]["reason"] == CLINICAL["reason"]
    assert after["patient"]["insurance_member_id"] == "AET-88812345" and after["patient"]["diagnosis_code"] == "F43.21"
    assert after["clinician"]["phone"] == "312 555 0199"


def test_the_referrer_sees_the_therapists_contact_only_after_acceptance(
    referral: dict, referrer: User, therapist_user: User, dana: Therapist
) -> None:
    physician = token_client(referrer)
    offer_to(physician, referral["id"], dana)
    page = signed_in(referrer)
    assert "718 555 0142" not in page.get(f"/referrals/{referral['id']}/").content.decode()
    assert physician.get(f"{REFERRALS}{referral['id']}/").json()["accepted_therapist"] is None
    accept(therapist_user, referral["id"])
    schedule(therapist_user, referral["id"], timezone.localdate() + datetime.timedelta(days=6))
    contact = physician.get(f"{REFERRALS}{referral['id']}/").json()["accepted_therapist"]
    assert (contact["name"], contact["phone"], contact["email"]) == (
        "Dana Accepting", "718 555 0142", "dana@practice.example",
    )  # fmt: skip
    assert contact["first_session_at"] is not None
    html = page.get(f"/referrals/{referral['id']}/").content.decode()
    assert "Accepted by Dana Accepting" in html and "718 555 0142" in html and "10:00 AM" in html
    assert CLINICAL["reason"] in html and "Adjustment disorder with depressed mood" in html  # what was sent


def test_offers_closed_by_another_acceptance_say_so(
    referral: dict, referrer: User, therapist_user: User, dana: Therapist
) -> None:
    physician = token_client(referrer)
    other = next(item["therapist"]["id"] for item in referral["matches"] if item["therapist"]["id"] != dana.pk)
    offer_to(physician, referral["id"], dana)
    offer_to(physician, referral["id"], Therapist.objects.get(pk=other))
    accept(therapist_user, referral["id"])
    body = physician.get(f"{REFERRALS}{referral['id']}/").json()
    closed = next(offer for offer in body["offers"] if offer["therapist"] == other)
    assert closed["withdrawn_because"] == "other_accepted"
    assert closed["answer"] == "Closed: another therapist accepted first"
    assert "another therapist accepted first" in body["history"][-1]["note"]
    assert (
        "Closed: another therapist accepted first"
        in signed_in(referrer).get(f"/referrals/{referral['id']}/").content.decode()
    )


def test_closing_before_the_first_session_is_refused_in_the_api_and_on_the_page(
    referral: dict, referrer: User, therapist_user: User, dana: Therapist
) -> None:
    physician, page = token_client(referrer), signed_in(referrer)
    offer_to(physician, referral["id"], dana)
    accept(therapist_user, referral["id"])
    refused = physician.post(f"{REFERRALS}{referral['id']}/close/")
    assert (
        refused.status_code == 400
        and "No first session is recorded" in refused.json()["errors"]["first_session_date"][0]
    )
    schedule(therapist_user, referral["id"], timezone.localdate() + datetime.timedelta(days=7))
    refused = physician.post(f"{REFERRALS}{referral['id']}/close/")
    assert refused.status_code == 400 and "still to come" in refused.json()["errors"]["first_session_date"][0]
    shown = page.post(f"/referrals/{referral['id']}/close/", {"confirm": "true"}, follow=True).content.decode()
    assert "still to come" in shown and "Close the loop</button>" not in shown
    assert Referral.objects.get(pk=referral["id"]).status == "scheduled"

    Offer.objects.filter(referral_id=referral["id"], status="accepted").update(
        first_session_date=timezone.localdate() - datetime.timedelta(days=1), first_session_at=None
    )
    unconfirmed = page.post(f"/referrals/{referral['id']}/close/", follow=True).content.decode()
    assert "Tick the box to confirm" in unconfirmed
    assert Referral.objects.get(pk=referral["id"]).status == "scheduled"
    page.post(f"/referrals/{referral['id']}/close/", {"confirm": "true"})
    assert Referral.objects.get(pk=referral["id"]).status == "closed"
    assert "Closed by the referring office" in Referral.objects.get(pk=referral["id"]).events.last().note


def test_a_fourth_choice_is_refused_and_the_ticks_stay(referral: dict, referrer: User) -> None:
    chosen = [item["therapist"]["id"] for item in referral["matches"][:4]]
    response = signed_in(referrer).post(f"/referrals/{referral['id']}/offer/", {"therapist": chosen})
    html = response.content.decode()
    assert response.status_code == 400
    assert "at most 3 offers can wait" in html and "untick 1" in html
    for therapist_id in chosen:
        assert f'value="{therapist_id}" id="offer-{therapist_id}" checked' in html
    assert not Offer.objects.exists()


def test_the_patient_is_told_with_consent_and_never_the_clinical_content(
    referral: dict, referrer: User, therapist_user: User, dana: Therapist, settings: object
) -> None:
    settings.SMS_BACKEND = "outbox.sms.LocmemSmsBackend"
    sms.sent.clear()
    offer_to(token_client(referrer), referral["id"], dana)
    mail.outbox.clear()
    accept(therapist_user, referral["id"])
    schedule(therapist_user, referral["id"], timezone.localdate() + datetime.timedelta(days=6))
    run_due_deliveries()
    to_patient = [message for message in mail.outbox if message.to == [PATIENT["patient_email"]]]
    assert [message.subject for message in to_patient] == [
        "A therapist accepted your referral", "Your first session is booked",
    ]  # fmt: skip
    assert [message["to"] for message in sms.sent] == [PATIENT["patient_phone"]] * 2
    bodies = [message.body for message in to_patient] + [message["body"] for message in sms.sent]
    for body in bodies:
        assert "Dana Accepting" in body and "718 555 0142" in body
        for secret in (*SECRETS, PATIENT["notes"], CLINICAL["reason"]):
            assert secret not in body
    assert "10:00 AM" in to_patient[1].body and "10:00 AM" in sms.sent[1]["body"]


def test_the_patient_is_not_told_without_consent(
    referrer: User, therapist_user: User, dana: Therapist, settings: object
) -> None:
    settings.SMS_BACKEND = "outbox.sms.LocmemSmsBackend"
    sms.sent.clear()
    created = submit(token_client(referrer), **CLINICAL)
    offer_to(token_client(referrer), created["id"], dana)
    mail.outbox.clear()
    accept(therapist_user, created["id"])
    run_due_deliveries()
    assert not [message for message in mail.outbox if PATIENT["patient_email"] in message.to]
    assert sms.sent == []


class BrokenSmsBackend:
    def send(self, *, to: str, body: str) -> None:
        raise ConnectionError("provider down")


def test_a_failing_sms_backend_never_loses_the_acceptance(
    referral: dict, referrer: User, therapist_user: User, dana: Therapist, settings: object
) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.SMS_BACKEND = f"{__name__}.BrokenSmsBackend"
    offer_to(token_client(referrer), referral["id"], dana)
    accept(therapist_user, referral["id"])
    run_due_deliveries()
    assert Referral.objects.get(pk=referral["id"]).status == "accepted"
    retries = [result for result in DBTaskResult.objects.all() if result.args_kwargs["kwargs"].get("attempts") == 1]
    assert len(retries) == 1 and retries[0].run_after > timezone.now()


def test_email_links_follow_the_host_the_request_came_to(referral: dict, referrer: User, dana: Therapist) -> None:
    mail.outbox.clear()
    page = signed_in(referrer)
    page.post(f"/referrals/{referral['id']}/offer/", {"therapist": [dana.pk]}, HTTP_HOST="127.0.0.1:8123")
    to_dana = next(message for message in mail.outbox if "waiting for your answer" in message.subject)
    assert f"http://127.0.0.1:8123/me/offers/{dana_offer(referral['id']).pk}/" in to_dana.body


def list_queries(client: Client, data: dict) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/referrals/", data)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_list_filters_by_status_and_name_in_a_constant_number_of_queries(
    referrer: User, other_referrer: User, dana: Therapist
) -> None:
    physician = token_client(referrer)
    submit(physician, patient_name="Ana Lopez")
    submit(token_client(other_referrer), patient_name="Ana Other-Office")
    page = signed_in(referrer)
    few, html = list_queries(page, {"patient": "ana"})
    assert "Ana Lopez" in html and "Ana Other-Office" not in html
    for name in ("Ana Two", "Ben Three", "Ana Four"):
        submit(physician, patient_name=name)
    many, html = list_queries(page, {"patient": "ANA"})
    assert many == few
    assert "Ana Four" in html and "Ben Three" not in html
    offered = Referral.objects.get(patient_name="Ben Three")
    offer_to(physician, str(offered.pk), dana)
    by_status, html = list_queries(page, {"status": "offered"})
    assert by_status == few and "Ben Three" in html and "Ana Four" not in html
    assert "Ben Three" in page.get("/referrals/?status=offered").content.decode()
    assert page.get("/referrals/?status=nonsense").status_code == 400
    api = physician.get(f"{REFERRALS}?status=offered")
    assert [row["patient_name"] for row in api.json()] == ["Ben Three"]
    assert physician.get(f"{REFERRALS}?status=nonsense").json()["errors"]["status"]
    assert physician.get(f"{REFERRALS}?status=").status_code == 400
