"""The demo directory: size, spread, realism and idempotent loading."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from directory.demo import METROS
from directory.models import LicensedState, Office, Therapist, TherapistInsurer
from tests.conftest import DEMO_RECORDS

pytestmark = pytest.mark.django_db


def test_demo_directory_is_large_varied_and_marked() -> None:
    demo = Therapist.objects.filter(is_demo=True)
    assert demo.count() >= 300
    assert not demo.filter(is_demo=False).exists()
    assert len({record["offices"][0]["state"] for record in DEMO_RECORDS if record["offices"]}) >= 10
    assert len(METROS) >= 10
    assert demo.filter(accepts_new_clients=False).exists()
    assert demo.filter(offers_online=True, offices__isnull=True).exists()
    assert all(record["bio"].startswith("Demo profile") for record in DEMO_RECORDS)


def test_loading_twice_duplicates_nothing() -> None:
    counts = (Therapist.objects.count(), Office.objects.count(), LicensedState.objects.count(),
              TherapistInsurer.objects.count())  # fmt: skip
    call_command("load_demo", "--no-accounts", verbosity=0)
    call_command("load_demo", verbosity=0)
    assert counts == (Therapist.objects.count(), Office.objects.count(), LicensedState.objects.count(),
                      TherapistInsurer.objects.count())  # fmt: skip


def test_demo_dates_are_relative_to_the_day_loaded() -> None:
    call_command("load_demo", "--no-accounts", verbosity=0)
    newest = Therapist.objects.filter(is_demo=True).latest("availability_confirmed_at").availability_confirmed_at
    assert timezone.now() - newest < datetime.timedelta(days=2)


def test_demo_accounts_exist_with_their_roles() -> None:
    from django.contrib.auth.models import User

    call_command("load_demo", verbosity=0)
    assert User.objects.get(username="admin").is_staff
    for username in ("referrer1", "referrer2"):
        assert User.objects.get(username=username).groups.filter(name="referrers").exists()
    for username in ("therapist1", "therapist2"):
        user = User.objects.get(username=username)
        assert user.groups.filter(name="therapists").exists()
        assert user.therapist_profile.status == Therapist.Status.PUBLISHED
        assert user.therapist_profile.is_accepting()
        assert user.check_password("ipt-demo-2026")


def test_demo_therapists_have_a_history_of_requests_and_the_measure_shows() -> None:
    """Some demo therapists answer promptly, some slowly, some have too few requests to show; loading again
    gives the same history, not a second one."""
    from consultations.models import Consultation

    call_command("load_demo", verbosity=0)
    measured = Therapist.objects.filter(is_demo=True, reply_requests__gt=0)
    first = dict(measured.values_list("npi", "reply_summary"))
    therapist1 = Therapist.objects.get(user__username="therapist1")
    assert therapist1.reply_summary.startswith("Usually replies within")
    assert "Usually replies within" in Client().get(therapist1.get_absolute_url()).content.decode()
    summaries = list(first.values())
    assert len(summaries) >= 50
    assert any(summary.startswith("Often slow") for summary in summaries)
    assert any(summary == "" for summary in summaries)  # fewer than 5 requests: not shown
    assert Consultation.objects.filter(status="expired").exists() and Consultation.objects.filter(status="declined")
    count = Consultation.objects.count()

    call_command("load_demo", "--no-accounts", verbosity=0)
    assert Consultation.objects.count() == count
    assert dict(measured.values_list("npi", "reply_summary")) == first
