"""Staff lists show no place finer than the area therapists see; staff sessions end like everyone's."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from matching.models import PHIAccess, Referral
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

PATIENT = {"patient_name": "Pat Example", "patient_birth_date": "1980-04-02", "patient_phone": "718 555 0100"}


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("office-staff", password="pw-staff-2026", is_staff=True, is_superuser=True)


def test_the_referral_list_shows_the_area_not_the_coordinates_and_reads_no_phi(referrer: User, staff: User) -> None:
    body = {"near": "40.67123,-73.97765", "consent": True, **PATIENT}
    assert token_client(referrer).post("/api/referrals/", body, format="json").status_code == 201
    referral = Referral.objects.get()
    reads_before = PHIAccess.objects.count()
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/matching/referral/")
    html = response.content.decode()
    assert response.status_code == 200
    assert referral.area in html
    assert "40.6712" not in html and "-73.9776" not in html
    assert PHIAccess.objects.count() == reads_before


def test_admin_sessions_end_12_hours_after_sign_in(staff: User) -> None:
    client = Client()
    assert client.post("/admin/login/", {"username": "office-staff", "password": "pw-staff-2026"}).status_code == 302
    assert client.get("/admin/").status_code == 200
    session = client.session
    session["signed_in_at"] = (timezone.now() - datetime.timedelta(hours=12.1)).timestamp()
    session.save()
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login/" in response.url
