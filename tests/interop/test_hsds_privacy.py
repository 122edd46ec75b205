"""Only published, public data leaves through /api/hsds/: walk every resource and look for what must not be there."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from consultations.models import ConsultationRequest
from directory.models import Credential, LicensedState, Therapist
from matching.models import Referral
from tests.conftest import make_therapist, make_user, valid_npi

pytestmark = pytest.mark.django_db
MARKER = "ZQX"  # in every private value below; found in no demo record
LISTS = ["services", "organizations", "service_at_locations", "taxonomies", "taxonomy_terms"]


@pytest.fixture
def private_facts() -> dict[str, object]:
    """A published therapist with private facts, unpublished ones, a referral and a consultation request."""
    now = timezone.now()
    published = make_therapist(
        npi=valid_npi("199000201"), first_name="Pia", last_name="Public", moderation_note=f"{MARKER} staff note",
        photo_rejection_reason=f"{MARKER} rejected", capacity_override=17, reply_requests=9, reply_answered=4,
        reply_median_hours=123.25,
    )  # fmt: skip
    published.user = make_user("pia", "therapists", email=f"{MARKER.lower()}-login@example.org")
    published.save()
    LicensedState.objects.filter(therapist=published).update(license_number=f"{MARKER}-LIC-1")
    Credential.objects.create(
        therapist=published, issuer="ipt-institute", level="B", awarded_on=datetime.date(2020, 1, 1),
        certificate_number=f"{MARKER}-CERT",
    )  # fmt: skip
    hidden = [
        make_therapist(npi=valid_npi(f"19900021{index}"), first_name=f"{MARKER}{status}", last_name="Hidden",
                       status=status, bio=f"{MARKER} unpublished bio")
        for index, status in enumerate(["draft", "pending", "returned", "suspended"])
    ]  # fmt: skip
    referrer = make_user("dr_marker", "referrers")
    Referral.objects.create(
        referrer=referrer, status="offered", postal_code="11215", latitude=40.66, longitude=-73.98, state="NY",
        place_label="Brooklyn", patient_name=f"{MARKER} Patient", patient_birth_date=datetime.date(1980, 1, 1),
        patient_email="zqx-patient@example.org", notes=f"{MARKER} clinical notes", consent_confirmed_at=now,
    )  # fmt: skip
    ConsultationRequest.objects.create(
        first_name=f"{MARKER}Client", email="zqx-client@example.org", message=f"{MARKER} my situation",
        therapist_ids=[published.pk], link_digest="0" * 64, consent_at=now, created_at=now,
    )  # fmt: skip
    return {"published": published, "hidden": hidden}


def walk() -> list[str]:
    """Every body every HSDS resource serves: each list, full and not, page by page, and each object by id."""
    client, bodies = Client(), []
    for path in LISTS:
        for full in ("false", "true"):
            page = 1
            while True:
                response = client.get(f"/api/hsds/{path}", {"page": page, "per_page": 500, "full": full})
                assert response.status_code == 200
                bodies.append(response.content.decode())
                body = response.json()
                for item in body["contents"] if full == "true" else []:
                    detail = client.get(f"/api/hsds/{path}/{item['id']}")
                    assert detail.status_code == 200
                    bodies.append(detail.content.decode())
                if body["last_page"]:
                    break
                page += 1
    return bodies


def test_no_private_field_unpublished_profile_or_patient_detail_leaves_through_hsds(private_facts: dict) -> None:
    published: Therapist = private_facts["published"]
    text = "\n".join(walk())
    assert str(published.public_id) in text  # the walk reached the published therapist
    assert MARKER not in text and MARKER.lower() not in text
    for hidden in private_facts["hidden"]:
        assert str(hidden.public_id) not in text
        assert hidden.npi not in text
        for office in hidden.offices.all():
            assert str(office.public_id) not in text
    for private_value in ("123.25", '"capacity"', '"moderation_note"', '"license_number"', '"reply_', '"user'):
        assert private_value not in text
    assert '"published"' not in text and '"suspended"' not in text  # no moderation status
