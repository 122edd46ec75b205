"""Availability is a dated fact: it expires, reminders go out once, reports ask for re-confirmation."""

from __future__ import annotations

import datetime
import io
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from directory import profiles
from directory.models import ListingReport, Therapist
from tests.conftest import signed_in, token_client

pytestmark = pytest.mark.django_db


def days_later(days: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days)


def accepting_ids(query: dict) -> list[int]:
    results = Client().get("/api/therapists/", {"accepting": "true", "page_size": 100, **query}).json()["results"]
    return [result["id"] for result in results]


def test_unconfirmed_profile_leaves_accepting_search_after_the_window(
    listed_therapist: Therapist, settings: object
) -> None:
    settings.AVAILABILITY_FRESHNESS_DAYS = 60
    query = {"q": "Lena Listed"}
    assert accepting_ids(query) == [listed_therapist.pk]
    # Confirmed a day ago: still fresh 58 days on, stale 60 days on.
    with mock.patch("django.utils.timezone.now", return_value=days_later(58)):
        assert accepting_ids(query) == [listed_therapist.pk]
    with mock.patch("django.utils.timezone.now", return_value=days_later(60)):
        assert accepting_ids(query) == []
        html = Client().get(listed_therapist.get_absolute_url()).content.decode()
        assert "Availability not confirmed" in html
        api = Client().get(f"/api/therapists/{listed_therapist.pk}/").json()
        assert api["accepting_new_clients"] is False


def test_window_is_a_setting(listed_therapist: Therapist, settings: object) -> None:
    settings.AVAILABILITY_FRESHNESS_DAYS = 10
    with mock.patch("django.utils.timezone.now", return_value=days_later(10)):
        assert accepting_ids({"q": "Lena Listed"}) == []


def test_confirming_brings_it_back(listed_therapist: Therapist) -> None:
    later = days_later(90)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert accepting_ids({"q": "Lena Listed"}) == []
        token_client(listed_therapist.user).post("/api/me/availability/confirm/")
        assert accepting_ids({"q": "Lena Listed"}) == [listed_therapist.pk]
    listed_therapist.refresh_from_db()
    assert listed_therapist.availability_confirmed_at == later


def test_reminder_command_emails_once_before_expiry(listed_therapist: Therapist, settings: object) -> None:
    settings.AVAILABILITY_FRESHNESS_DAYS = 60
    Therapist.objects.exclude(pk=listed_therapist.pk).update(availability_reminder_sent_at=timezone.now())
    with mock.patch("django.utils.timezone.now", return_value=days_later(40)):
        call_command("send_availability_reminders", "--days-before", "7", stdout=(out := io.StringIO()))
    assert "Queued 0" in out.getvalue() and mail.outbox == []

    with mock.patch("django.utils.timezone.now", return_value=days_later(55)):
        call_command("send_availability_reminders", stdout=(out := io.StringIO()))
        assert "Queued 1" in out.getvalue()
        assert mail.outbox[0].to == ["lena@example.org"]
        assert "/me/profile/" in mail.outbox[0].body
        # The next day's run does not repeat it.
        call_command("send_availability_reminders", stdout=(out := io.StringIO()))
        assert "Queued 0" in out.getvalue() and len(mail.outbox) == 1
    listed_therapist.refresh_from_db()
    assert listed_therapist.availability_reminder_sent_at is not None

    # After the therapist confirms, the next cycle gets its own reminder.
    with mock.patch("django.utils.timezone.now", return_value=days_later(56)):
        token_client(listed_therapist.user).post("/api/me/availability/confirm/")
    with mock.patch("django.utils.timezone.now", return_value=days_later(56 + 55)):
        call_command("send_availability_reminders", stdout=(out := io.StringIO()))
    assert "Queued 1" in out.getvalue() and len(mail.outbox) == 2


def test_no_reminders_for_drafts_or_therapists_not_accepting(
    new_therapist: Therapist, full_therapist: Therapist
) -> None:
    Therapist.objects.exclude(pk__in=[new_therapist.pk, full_therapist.pk]).update(
        availability_reminder_sent_at=timezone.now()
    )
    with mock.patch("django.utils.timezone.now", return_value=days_later(59)):
        call_command("send_availability_reminders", stdout=io.StringIO())
    assert mail.outbox == []


def test_one_click_confirm_button_on_the_profile_page(listed_therapist: Therapist) -> None:
    client = signed_in(listed_therapist.user)
    html = client.get("/me/profile/").content.decode()
    assert 'action="/me/availability/confirm/"' in html and "Availability last confirmed" in html
    response = client.post("/me/availability/confirm/", follow=True)
    assert "availability is confirmed" in response.content.decode()


REPORT_URL = "/therapists/{slug}/report/"


def test_anyone_can_report_a_listing_and_the_therapist_is_asked_to_reconfirm(listed_therapist: Therapist) -> None:
    client = Client()
    profile_html = client.get(listed_therapist.get_absolute_url()).content.decode()
    url = REPORT_URL.format(slug=listed_therapist.slug)
    assert url in profile_html
    form_html = client.get(url).content.decode()
    assert (
        "<h1>Report a problem with this listing</h1>" in form_html and "I could not reach this therapist" in form_html
    )
    response = client.post(
        url, {"reason": "not-accepting", "details": "Said they are full."}, REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 302
    report = ListingReport.objects.get(therapist=listed_therapist)
    assert report.reason == "not-accepting" and report.client_ip == "203.0.113.9" and report.resolved_at is None
    assert mail.outbox[-1].to == ["lena@example.org"] and "reported" in mail.outbox[-1].subject
    notice = signed_in(listed_therapist.user).get("/me/profile/").content.decode()
    assert "Someone reported a problem with your listing" in notice
    token_client(listed_therapist.user).post("/api/me/availability/confirm/")
    assert "Someone reported" not in signed_in(listed_therapist.user).get("/me/profile/").content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [({"reason": "other", "details": " "}, "details"), ({"reason": "bogus"}, "reason"), ({}, "reason")],
)
def test_bad_reports_are_form_errors(listed_therapist: Therapist, data: dict, field: str) -> None:
    response = Client().post(REPORT_URL.format(slug=listed_therapist.slug), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ListingReport.objects.exists()


def test_reports_are_throttled_per_client_address(listed_therapist: Therapist, settings: object) -> None:
    settings.LISTING_REPORTS_PER_HOUR = 5
    url = REPORT_URL.format(slug=listed_therapist.slug)
    client = Client()
    statuses = [
        client.post(
            url, {"reason": "unreachable"}, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(6)
    ]
    # A forged X-Forwarded-For changes nothing: no proxy is trusted by default.
    assert statuses == [302] * 5 + [429]
    response = client.post(url, {"reason": "unreachable"}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429 and "try again in an hour" in response.content.decode()
    assert ListingReport.objects.count() == 5
    assert client.post(url, {"reason": "unreachable"}, REMOTE_ADDR="198.51.100.8").status_code == 302


def test_the_report_service_limits_reports_per_address(listed_therapist: Therapist, settings: object) -> None:
    settings.LISTING_REPORTS_PER_HOUR = 2

    def report(address: str) -> ListingReport:
        return profiles.report_listing(
            therapist=listed_therapist, reason="unreachable", details="", client_ip=address, now=timezone.now()
        )

    report("203.0.113.5")
    report("203.0.113.5")
    with pytest.raises(profiles.ReportsThrottled, match="2 reports in the last hour"):
        report("203.0.113.5")
    assert ListingReport.objects.count() == 2
    report("203.0.113.6")
    assert ListingReport.objects.count() == 3


def test_reports_of_unlisted_profiles_are_404(new_therapist: Therapist) -> None:
    assert Client().get(REPORT_URL.format(slug=new_therapist.slug)).status_code == 404
