"""The consultation loop end to end: ask, confirm, answer or expire, and what each side sees and is told."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.utils import timezone

from consultations import services
from consultations.models import Consultation, ConsultationRequest
from directory.models import Therapist
from matching.models import PHIAccess
from tests.conftest import signed_in
from tests.consultations.conftest import SAM, SAM_MESSAGE, ask, token_in

pytestmark = pytest.mark.django_db

CLIENT_DETAILS = (SAM["email"], SAM["phone"], SAM_MESSAGE, "cannot sleep")


def status_page(token: str) -> str:
    return f"/consultations/{token}/"


def test_the_client_gets_one_email_with_the_link_and_no_therapist_is_told_before_confirming(
    pair: list[Therapist],
) -> None:
    _request, token = services.submit_request(ask=ask(*pair), client_address="203.0.113.9")

    assert [message.to for message in mail.outbox] == [[SAM["email"]]]
    assert token_in(mail.outbox[0]) == token
    assert "Ada Listener" in mail.outbox[0].body and "Ben Listener" in mail.outbox[0].body
    assert not Consultation.objects.exists()
    inbox = signed_in(pair[0].user).get("/me/inbox/")
    assert "Sam" not in inbox.content.decode()
    assert ConsultationRequest.objects.get().link_digest != token  # stored hashed


def test_confirming_sends_it_to_each_therapist_with_a_link_only(sent: tuple, pair: list[Therapist]) -> None:
    _request, token = sent
    mail.outbox.clear()

    response = Client().post(status_page(token), {"action": "confirm"}, follow=True)

    assert "Confirmed" in response.content.decode()
    assert sorted(message.to[0] for message in mail.outbox) == ["ada@therapy.example", "ben@therapy.example"]
    for message in mail.outbox:
        assert "/me/consultations/" in message.body
        assert not any(detail in message.body for detail in (*CLIENT_DETAILS, "Sam"))
    assert Consultation.objects.filter(status="open").count() == 2
    # Confirming again changes nothing and tells nobody twice.
    mail.outbox.clear()
    Client().post(status_page(token), {"action": "confirm"})
    assert Consultation.objects.count() == 2 and mail.outbox == []


def test_the_therapist_sees_the_wishes_but_not_the_contact_until_accepting(sent: tuple, pair: list[Therapist]) -> None:
    request, _token = sent
    services.confirm_request(request=request)
    consultation = Consultation.objects.get(therapist=pair[0])
    ada = signed_in(pair[0].user)

    page = ada.get(f"/me/consultations/{consultation.pk}/")
    text = page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0") and "no-store" in page["Cache-Control"]
    assert "Sam" in text and SAM_MESSAGE in text and "Aetna" in text and "Weekday evenings" in text
    assert SAM["email"] not in text and SAM["phone"] not in text
    assert PHIAccess.objects.filter(user=pair[0].user, consultation_request=request.pk).count() == 1

    mail.outbox.clear()
    accepted = ada.post(f"/me/consultations/{consultation.pk}/accept/", follow=True).content.decode()

    assert SAM["email"] in accepted and SAM["phone"] in accepted
    assert f'href="tel:{SAM["phone"]}"' in accepted
    assert "email,phone" in PHIAccess.objects.filter(consultation_request=request.pk).latest("id").fields
    (told,) = mail.outbox
    assert told.to == [SAM["email"]] and "Ada Listener" in told.subject and "accepted" in told.subject
    assert not any(detail in told.body for detail in CLIENT_DETAILS)
    # The other therapist's request stays open: the client may want to talk to both.
    assert Consultation.objects.get(therapist=pair[1]).status == "open"


def test_another_therapist_cannot_open_a_request_that_is_not_theirs(sent: tuple, pair: list[Therapist]) -> None:
    request, _ = sent
    services.confirm_request(request=request)
    adas = Consultation.objects.get(therapist=pair[0])
    ben = signed_in(pair[1].user)

    assert ben.get(f"/me/consultations/{adas.pk}/").status_code == 404
    assert ben.post(f"/me/consultations/{adas.pk}/accept/").status_code == 404
    assert Consultation.objects.get(pk=adas.pk).status == "open"


def test_declining_emails_the_client_alternatives_that_were_not_asked(sent: tuple, pair: list[Therapist]) -> None:
    request, _ = sent
    services.confirm_request(request=request)
    consultation = Consultation.objects.get(therapist=pair[0])
    mail.outbox.clear()

    signed_in(pair[0].user).post(f"/me/consultations/{consultation.pk}/decline/", {"reason": "no_capacity"})

    consultation.refresh_from_db()
    assert (consultation.status, consultation.decline_reason) == ("declined", "no_capacity")
    (told,) = mail.outbox
    assert told.to == [SAM["email"]] and "cannot take" in told.subject
    profile_links = [line for line in told.body.splitlines() if line.startswith("- ")]
    assert 1 <= len(profile_links) <= 3
    assert not any("Listener" in line for line in profile_links)  # neither of the two already asked
    assert all("/therapists/" in line for line in profile_links)
    assert not any(detail in told.body for detail in CLIENT_DETAILS)


def test_a_decline_needs_a_reason_from_the_list(sent: tuple, pair: list[Therapist]) -> None:
    request, _ = sent
    services.confirm_request(request=request)
    consultation = Consultation.objects.get(therapist=pair[0])
    with pytest.raises(ValidationError) as refused:
        services.decline(consultation=consultation, reason="bored")
    assert "reason" in refused.value.message_dict
    assert Consultation.objects.get(pk=consultation.pk).status == "open"


def test_an_unanswered_request_expires_after_two_business_days_and_the_client_gets_alternatives(
    sent: tuple, pair: list[Therapist]
) -> None:
    request, _ = sent
    services.confirm_request(request=request)
    due = Consultation.objects.get(therapist=pair[0]).reply_by
    mail.outbox.clear()

    quiet = {"warned": 0, "silenced": 0}
    assert services.expire_unanswered(now=due - datetime.timedelta(minutes=1)) == {"expired": 0, **quiet}
    assert services.expire_unanswered(now=due + datetime.timedelta(minutes=1)) == {"expired": 2, **quiet}

    assert set(Consultation.objects.values_list("status", flat=True)) == {"expired"}
    assert len(mail.outbox) == 2 and all("did not answer in time" in message.subject for message in mail.outbox)
    assert ConsultationRequest.objects.get().ended_at is not None
    # Too late to answer now.
    with pytest.raises(services.ConsultationConflict):
        services.accept(consultation=Consultation.objects.get(therapist=pair[0]))


def test_the_status_page_follows_each_request_and_lets_the_client_close_or_report(
    sent: tuple, pair: list[Therapist], settings: object
) -> None:
    settings.MANAGERS = [("Staff", "staff@ipt-directory.example")]
    _request, token = sent
    client = Client()
    client.post(status_page(token), {"action": "confirm"})
    ada, ben = (Consultation.objects.get(therapist=therapist) for therapist in pair)
    services.accept(consultation=ada)

    page = client.get(status_page(token))
    text = page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert "Accepted" in text and "Waiting for an answer" in text

    client.post(status_page(token), {"action": "withdraw", "consultation": ben.pk})
    assert Consultation.objects.get(pk=ben.pk).status == "withdrawn"
    assert ConsultationRequest.objects.get().ended_at is not None

    mail.outbox.clear()
    client.post(status_page(token), {"action": "never_heard", "consultation": ada.pk})
    assert Consultation.objects.get(pk=ada.pk).outcome == "never_heard"
    (alert,) = mail.outbox
    assert alert.to == ["staff@ipt-directory.example"] and "Ada Listener" in alert.subject
    assert not any(detail in alert.body for detail in (*CLIENT_DETAILS, "Sam"))


def test_the_status_link_works_only_with_its_token_and_not_after_retention(
    sent: tuple, pair: list[Therapist], settings: object
) -> None:
    request, token = sent
    client = Client()
    assert client.get(status_page(token)).status_code == 200
    assert client.get(status_page(token[:-1] + ("A" if token[-1] != "A" else "B"))).status_code == 404
    assert client.get(status_page(str(request.pk))).status_code == 404

    client.post(status_page(token), {"action": "confirm"})
    for consultation in Consultation.objects.all():
        services.decline(consultation=consultation, reason="location")
    ended = ConsultationRequest.objects.get().ended_at
    services.purge(now=ended + datetime.timedelta(days=settings.CONSULTATION_RETENTION_DAYS - 1))
    assert client.get(status_page(token)).status_code == 200

    assert services.purge(now=ended + datetime.timedelta(days=settings.CONSULTATION_RETENTION_DAYS + 1)) == {
        "deleted_requests": 1
    }
    assert client.get(status_page(token)).status_code == 404
    # The anonymous counts stay: two declines, with their times, by nobody anyone can name.
    kept = list(Consultation.objects.values("request", "status", "responded_at"))
    assert [row["status"] for row in kept] == ["declined", "declined"] and all(row["request"] is None for row in kept)


def test_an_unconfirmed_request_lapses_after_a_day_and_is_deleted(sent: tuple, pair: list[Therapist]) -> None:
    request, token = sent
    later = request.created_at + datetime.timedelta(hours=25)

    assert services.request_for_link(token, now=later) is None
    with pytest.raises(services.ConsultationConflict):
        services.confirm_request(request=request, now=later)
    assert services.purge(now=later) == {"deleted_requests": 1}
    assert not Consultation.objects.exists()


@override_settings(CONSULTATION_LIMIT_PER_EMAIL=2, CONSULTATION_LIMIT_PER_ADDRESS=3)
def test_requests_are_limited_per_email_and_per_address(pair: list[Therapist]) -> None:
    def submit(email: str, address: str) -> None:
        services.submit_request(ask=ask(pair[0], email=email), client_address=address)

    submit("one@mail.example", "198.51.100.1")
    submit("one@mail.example", "198.51.100.2")
    with pytest.raises(services.ConsultationLimited):
        submit("ONE@mail.example", "198.51.100.3")  # the same address, however it is written

    for email in ("two@mail.example", "three@mail.example", "four@mail.example"):
        submit(email, "198.51.100.7")
    with pytest.raises(services.ConsultationLimited):
        submit("five@mail.example", "198.51.100.7")  # the address had its three
    assert ConsultationRequest.objects.count() == 5


def test_a_request_names_one_to_three_listed_therapists_and_needs_consent(pair: list[Therapist]) -> None:
    others = list(Therapist.objects.published().exclude(pk__in=[t.pk for t in pair])[:2])
    cases = {
        "therapists": [ask(), ask(*pair, *others)],
        "consent": [ask(pair[0], consent=False)],
        "first_name": [ask(pair[0], first_name="  ")],
        "preferred_times": [ask(pair[0], preferred_times=("midnight",))],
        "insurance": [ask(pair[0], insurance="no-such-plan")],
    }
    for field, asks in cases.items():
        for bad in asks:
            with pytest.raises(ValidationError) as refused:
                services.submit_request(ask=bad, client_address="192.0.2.1")
            assert field in refused.value.message_dict
    pair[1].status = Therapist.Status.SUSPENDED
    pair[1].save()
    with pytest.raises(ValidationError):
        services.submit_request(ask=ask(*pair), client_address="192.0.2.1")
    assert not ConsultationRequest.objects.exists() and mail.outbox == []


def test_no_client_detail_reaches_a_log_line_or_a_url(
    sent: tuple, pair: list[Therapist], caplog: pytest.LogCaptureFixture
) -> None:
    _request, token = sent
    caplog.set_level(logging.DEBUG)
    client = Client()
    client.post(status_page(token), {"action": "confirm"}, follow=True)
    consultation = Consultation.objects.get(therapist=pair[0])
    ada = signed_in(pair[0].user)
    pages = [
        ada.get(f"/me/consultations/{consultation.pk}/"),
        ada.post(f"/me/consultations/{consultation.pk}/accept/", follow=True),
        client.get(status_page(token)),
    ]
    services.expire_unanswered(now=timezone.now() + datetime.timedelta(days=10))

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not any(detail in logged for detail in CLIENT_DETAILS)
    urls = [hop[0] for page in pages for hop in getattr(page, "redirect_chain", [])] + [
        line for message in mail.outbox for line in message.body.split() if "://" in line
    ]
    assert urls and not any(detail in url for url in urls for detail in (*CLIENT_DETAILS, "Sam", "sam.client"))
