"""Mail is never lost: every email is queued with the change it reports and the worker delivers it, once."""

from __future__ import annotations

import datetime
import io
import logging
import time

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from directory.models import ListingReport, Therapist
from matching import services as matching
from matching.models import Match, Offer, Referral
from outbox import services
from outbox.models import Email
from outbox.selectors import queue_is_reachable
from tests.conftest import at_once, make_therapist, signed_in, token_client
from tests.matching.test_referrals import submit
from tests.outbox.conftest import Clock, MailServer, run_worker

pytestmark = pytest.mark.django_db


def delivered_to(server: MailServer) -> list[str]:
    return sorted(message["To"] for message in server.messages)


def run_due_deliveries() -> None:
    """What the worker does with the tasks that are due, in the test's transaction (see run_worker for the real one)."""
    for result in list(DBTaskResult.objects.ready()):
        result.task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])
        DBTaskResult.objects.filter(pk=result.pk).update(status=TaskResultStatus.SUCCESSFUL)


@pytest.fixture
def reference_data(transactional_db: None) -> None:
    """The vocabularies and role groups, for tests whose commits a flush undoes (the demo directory is not needed)."""
    call_command("loaddata", "reference", verbosity=0)
    for name in ("therapists", "referrers"):
        Group.objects.get_or_create(name=name)


@pytest.mark.django_db(transaction=True)
def test_offer_and_accept_succeed_with_the_mail_server_down_and_every_email_arrives_once_it_is_back(
    reference_data: None, mail_server: MailServer, clock: Clock, referrer: User, therapist_user: User,
    accepting_therapist: Therapist,
) -> None:  # fmt: skip
    referral = submit(token_client(referrer))
    offered = token_client(referrer).post(
        f"/api/referrals/{referral['id']}/offers/", {"therapist": accepting_therapist.pk}, format="json"
    )
    assert offered.status_code == 201, offered.content
    offer = Offer.objects.get(referral_id=referral["id"])
    accepted = token_client(therapist_user).post(f"/api/me/offers/{offer.pk}/accept/")
    assert accepted.status_code == 200, accepted.content
    assert Referral.objects.get(pk=referral["id"]).status == "accepted"

    run_worker()  # the mail server is still down: every attempt fails, nothing is lost
    assert mail_server.messages == []
    assert set(Email.objects.values_list("status", "attempts")) == {("queued", 1)}
    assert set(Email.objects.values_list("last_error", flat=True)) == {"ConnectionRefusedError: Connection refused"}

    mail_server.start()
    clock.advance(minutes=1)  # the first retry comes 30 s after the first attempt
    run_worker()
    assert delivered_to(mail_server) == ["dana@therapy.example", "rivera@clinic.example", "rivera@clinic.example"]
    short_id = referral["id"][:8]
    assert sorted(message["Subject"] for message in mail_server.messages) == [
        "A new IPT referral is waiting for your answer",
        f"Referral {short_id}: accepted",
        f"Referral {short_id}: offered",
    ]
    assert set(Email.objects.values_list("status", flat=True)) == {"sent"}

    clock.advance(hours=2)  # the attempts scheduled in case these failed come due, and find them sent
    run_worker()
    assert len(mail_server.messages) == 3
    assert not DBTaskResult.objects.failed().exists() and not DBTaskResult.objects.ready().exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_survives_bad_emails_and_delivers_the_good_ones(
    reference_data: None, mail_server: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    mail_server.recorder.refused.add("nobody@clinic.example")
    mail.send_mail("Refused", "body", None, ["nobody@clinic.example"])
    mail.send_mail("Deleted before it was sent", "body", None, ["someone@clinic.example"])
    mail.send_mail("Good", "body", None, ["dana@therapy.example"])
    Email.objects.filter(subject="Deleted before it was sent").delete()
    mail_server.start()
    with caplog.at_level(logging.INFO, logger="outbox"):
        run_worker()
    assert [message["Subject"] for message in mail_server.messages] == ["Good"]
    refused = Email.objects.get(subject="Refused")
    assert refused.status == "failed" and refused.attempts == 1  # a 5xx refusal is not retried
    assert refused.last_error == "SMTPRecipientsRefused: 1 recipient(s) refused, SMTP 550"
    assert not DBTaskResult.objects.failed().exists()
    logged = " ".join(record.getMessage() for record in caplog.records if record.name.startswith("outbox"))
    assert "given up after 1 attempt(s)" in logged and "nobody@clinic.example" not in logged


def stale_offer(referrer: User, therapist: Therapist, keep: list[Therapist]) -> Referral:
    """A referral offered to `therapist` ten days ago, whose only other candidates are `keep`."""
    referral = Referral.objects.get(pk=submit(token_client(referrer))["id"])
    matching.offer_referral(referral=referral, therapist_id=therapist.pk, actor=referrer)
    Match.objects.filter(referral=referral).exclude(therapist__in=[therapist, *keep]).delete()
    for rank, candidate in enumerate(keep, start=90):
        Match.objects.get_or_create(referral=referral, therapist=candidate,
                                    defaults={"rank": rank, "score": 50, "delivery": "in-person"})  # fmt: skip
    Offer.objects.filter(referral=referral).update(created_at=timezone.now() - datetime.timedelta(days=10))
    return referral


def test_expire_offers_completes_with_the_mail_server_down_and_queues_every_email(
    mail_server: MailServer, referrer: User, accepting_therapist: Therapist
) -> None:
    sam = make_therapist(npi="1000000129", first_name="Sam", last_name="Second", email="sam@therapy.example")
    reoffered = stale_offer(referrer, accepting_therapist, keep=[sam])
    expired = stale_offer(referrer, sam, keep=[])
    Email.objects.all().delete()
    DBTaskResult.objects.all().delete()

    call_command("expire_offers", stdout=io.StringIO())

    assert Referral.objects.get(pk=reoffered.pk).offers.get(status="open").therapist == sam
    assert Referral.objects.get(pk=expired.pk).status == "expired"
    queued = sorted(Email.objects.filter(status="queued").values_list("to", "subject"))
    assert queued == [
        (["rivera@clinic.example"], f"Referral {str(expired.pk)[:8]}: expired"),
        (["sam@therapy.example"], "A new IPT referral is waiting for your answer"),
    ]
    assert DBTaskResult.objects.ready().count() == 2  # one delivery task each

    mail_server.start()
    run_due_deliveries()
    assert delivered_to(mail_server) == ["rivera@clinic.example", "sam@therapy.example"]


def test_a_hanging_mail_server_holds_the_worker_at_most_email_timeout_and_never_the_request(
    hanging_mail_server: MailServer, listed_therapist: Therapist, settings: object
) -> None:
    settings.EMAIL_TIMEOUT = 2
    started = time.monotonic()
    response = Client().post(f"/therapists/{listed_therapist.slug}/report/", {"reason": "unreachable"})
    answered_in = time.monotonic() - started
    assert response.status_code == 302 and answered_in < settings.EMAIL_TIMEOUT
    assert ListingReport.objects.filter(therapist=listed_therapist).count() == 1
    queued = Email.objects.get()
    assert queued.to == ["lena@example.org"] and "reported" in queued.subject

    started = time.monotonic()
    run_due_deliveries()
    attempt_took = time.monotonic() - started
    assert settings.EMAIL_TIMEOUT <= attempt_took < settings.EMAIL_TIMEOUT + 3
    queued.refresh_from_db()
    assert queued.status == "queued" and queued.attempts == 1
    assert queued.last_error == "SMTPServerDisconnected: Connection unexpectedly closed: timed out"


def test_failed_attempts_back_off_and_a_day_old_email_is_given_up_and_shown_to_staff(
    mail_server: MailServer, clock: Clock, moderator: User, caplog: pytest.LogCaptureFixture
) -> None:
    mail.send_mail("Your profile is published", "Listed at ...", None, ["nora@example.org"])
    email = Email.objects.get()
    waits = []
    for _ in range(7):
        clock.travel_to(email.next_attempt_at)
        run_due_deliveries()
        email.refresh_from_db()
        waits.append(email.next_attempt_at - clock.now)
        # The queue holds the next attempt, due when the row says.
        assert DBTaskResult.objects.filter(status="READY", run_after=email.next_attempt_at).exists()
    assert [wait.total_seconds() for wait in waits] == [30, 120, 480, 1920, 3600, 3600, 3600]
    assert email.status == "queued" and email.attempts == len(waits)

    clock.travel_to(email.created_at + datetime.timedelta(hours=24, minutes=1))
    with caplog.at_level(logging.WARNING, logger="outbox"):
        run_due_deliveries()
    email.refresh_from_db()
    assert email.status == "failed" and email.last_error == "ConnectionRefusedError: Connection refused"
    assert f"Email {email.pk} given up after {email.attempts} attempt(s)" in caplog.text
    logged = " ".join(record.getMessage() for record in caplog.records if record.name.startswith("outbox"))
    assert "nora@example.org" not in logged and "published" not in logged

    page = signed_in(moderator).get("/admin/outbox/email/", {"status__exact": "failed"}).content.decode()
    assert "nora@example.org" in page and "Failed (given up)" in page and "Connection refused" in page
    sent_page = signed_in(moderator).get("/admin/outbox/email/", {"status__exact": "sent"}).content.decode()
    assert "nora@example.org" not in sent_page
    assert "nora@example.org" in signed_in(moderator).get("/admin/outbox/email/", {"q": "nora@"}).content.decode()


def test_staff_retry_a_failed_email_and_it_is_sent_once(mail_server: MailServer, moderator: User) -> None:
    mail.send_mail("Your profile is published", "Listed at ...", None, ["nora@example.org"])
    email = Email.objects.get()
    Email.objects.filter(pk=email.pk).update(status="failed", last_error="TimeoutError")
    DBTaskResult.objects.all().delete()
    mail_server.start()

    response = signed_in(moderator).post(
        "/admin/outbox/email/", {"action": "retry_now", "_selected_action": [email.pk]}, follow=True
    )
    assert "1 failed email(s) queued for another attempt." in response.content.decode()
    run_due_deliveries()
    email.refresh_from_db()
    assert email.status == "sent" and email.sent_at is not None and email.last_error == ""
    # A sent email is done: neither a second retry nor a stray task sends it again.
    assert services.retry_now(email_ids=[email.pk], now=timezone.now()) == 0
    services.deliver(email_id=email.pk)
    assert delivered_to(mail_server) == ["nora@example.org"]


def test_a_rolled_back_change_queues_nothing(mail_server: MailServer, referrer: User,
                                             accepting_therapist: Therapist) -> None:  # fmt: skip
    referral = Referral.objects.get(pk=submit(token_client(referrer))["id"])
    Email.objects.all().delete()
    DBTaskResult.objects.all().delete()
    with pytest.raises(matching.ReferralInvalid):
        # The first offer is fine, the second is not a candidate: neither is made, nobody is emailed.
        matching.offer_to_therapists(referral=referral, therapist_ids=[accepting_therapist.pk, 1], actor=referrer)
    assert not Offer.objects.filter(referral=referral).exists()
    assert not Email.objects.exists() and not DBTaskResult.objects.exists()

    with transaction.atomic():
        mail.send_mail("Kept", "body", None, ["dana@therapy.example"])
    with pytest.raises(RuntimeError), transaction.atomic():
        mail.send_mail("Rolled back", "body", None, ["dana@therapy.example"])
        raise RuntimeError("the change failed after its email")
    assert list(Email.objects.values_list("subject", flat=True)) == ["Kept"]
    assert DBTaskResult.objects.count() == 1


def test_a_password_reset_is_queued_delivered_and_never_shown_to_staff(
    mail_server: MailServer, listed_therapist: Therapist, moderator: User
) -> None:
    assert Client().post("/accounts/password_reset/", {"email": "lena@example.org"}).status_code == 302
    email = Email.objects.get(to=["lena@example.org"])
    link = next(line for line in email.body.splitlines() if "/accounts/reset/" in line)
    assert link not in signed_in(moderator).get(f"/admin/outbox/email/{email.pk}/change/").content.decode()

    mail_server.start()
    run_due_deliveries()
    assert link in mail_server.messages[0].get_payload(decode=True).decode()
    email.refresh_from_db()
    assert email.status == "sent" and email.body == ""  # the link is not kept once delivered


def test_an_email_the_outbox_cannot_keep_is_refused_not_trimmed(mail_server: MailServer) -> None:
    message = mail.EmailMessage("With a file", "body", None, ["dana@therapy.example"])
    message.attach("notes.txt", "text", "text/plain")
    with pytest.raises(ValueError, match="attachments"):
        message.send()
    html = mail.EmailMultiAlternatives("Rich", "plain", None, ["dana@therapy.example"], cc=["cc@clinic.example"])
    html.attach_alternative("<p>rich</p>", "text/html")
    html.send()
    assert Email.objects.values_list("subject", "cc", "html_body").get() == ("Rich", ["cc@clinic.example"],
                                                                             "<p>rich</p>")  # fmt: skip


def test_readiness_can_ask_whether_the_task_queue_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert queue_is_reachable() is True

    def unreachable() -> bool:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(DBTaskResult.objects, "exists", unreachable)
    assert queue_is_reachable() is False


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_an_email_once(mail_server: MailServer) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks between workers are proven on PostgreSQL (DATABASE_URL)")
    mail.send_mail("Once", "body", None, ["dana@therapy.example"])
    email = Email.objects.get()
    mail_server.start()
    at_once([lambda: services.deliver(email_id=email.pk)] * 4, timeout=60)
    email.refresh_from_db()
    assert email.status == "sent" and email.attempts == 1
    assert delivered_to(mail_server) == ["dana@therapy.example"]
