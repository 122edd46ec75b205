"""Only published, public data leaves through /fhir/: a walk of every endpoint and every resource finds no
patient, no client, no unpublished profile and no private field (issue 19, item 5)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from consultations import services as consultation_services
from directory.models import Credential, LicensedState, ListingReport, Therapist
from tests.conftest import make_therapist, make_user, token_client, valid_npi
from tests.consultations.conftest import ask

pytestmark = pytest.mark.django_db

MARKER = "Qzx"  # every private or unpublished value below carries it; no public text of the demo does
PRIVATE_KEYS = {
    "capacity", "moderation_note", "silenced_at", "photo_pending", "photo_rejection_reason", "staff_note",
    "certificate_number", "license_number", "reply_requests", "patient_name", "patient_birth_date", "notes",
    "availability_reminder_sent_at", "reconfirmation_requested_at", "listing_card", "user", "is_demo",
}  # fmt: skip


@pytest.fixture
def secrets(db: None) -> dict[str, list[str]]:
    """A published therapist with private facts, unpublished ones, a referral and a consultation request,
    all marked; returns the ids that must never appear."""
    published = make_therapist(npi=valid_npi("196000001"), first_name="Pia", last_name="Public")
    Therapist.objects.filter(pk=published.pk).update(
        moderation_note=f"{MARKER} staff note", photo_rejection_reason=f"{MARKER} blurry", capacity=7
    )
    LicensedState.objects.filter(therapist=published).update(license_number=f"{MARKER}-LIC-1")
    Credential.objects.create(
        therapist=published, issuer="ipt-institute", level="B", awarded_on=datetime.date(2020, 1, 1),
        certificate_number=f"{MARKER}-CERT",
    )  # fmt: skip
    ListingReport.objects.create(therapist=published, reason="other", details=f"{MARKER} report", staff_note=MARKER)
    hidden = []
    for number, status in enumerate(("draft", "pending", "returned", "suspended")):
        therapist = make_therapist(
            npi=valid_npi(f"19600001{number}"), first_name=f"{MARKER}{status}", last_name=f"{MARKER}Hidden",
            status=status, email=f"{MARKER.lower()}{status}@therapy.example",
        )  # fmt: skip
        hidden += [str(therapist.public_id), *(str(office.public_id) for office in therapist.offices.all())]
    referrer = make_user("dr_marker", "referrers", email="marker@clinic.example")
    response = token_client(referrer).post(
        "/api/referrals/",
        {
            "postal_code": "11215", "insurance": "aetna", "formats": ["individual"], "consent": True,
            "urgency": "routine", "patient_name": f"{MARKER} Patient", "patient_birth_date": "1984-03-09",
            "patient_phone": "555-010-2030", "patient_email": f"{MARKER.lower()}.patient@mail.example",
            "notes": f"{MARKER} notes about the patient",
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    consultation_services.submit_request(
        ask=ask(published, first_name=f"{MARKER}Client", message=f"{MARKER} client message",
                email=f"{MARKER.lower()}.client@mail.example"),
        client_address="203.0.113.77",
    )  # fmt: skip
    Therapist.objects.filter(pk=published.pk).update(updated_at=timezone.now())
    return {"hidden": hidden, "published": [str(published.public_id)]}


def documents(client: Client) -> Iterator[tuple[str, dict]]:
    """Every response /fhir/ gives: the metadata, every page of every search (with includes), every read."""
    yield "/fhir/metadata", json.loads(client.get("/fhir/metadata").content)
    read_already: set[str] = set()
    includes = "_include=PractitionerRole:practitioner&_include=PractitionerRole:location"
    searches = [
        "Practitioner", f"PractitionerRole?{includes}", "Location", "Location?near=40.6721|-73.9777|500|mi",
        "Organization", "HealthcareService", "InsurancePlan",
    ]  # fmt: skip
    for search in searches:
        url = f"/fhir/{search}{'&' if '?' in search else '?'}_count=100"
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]
            bundle = json.loads(response.content)
            yield url, bundle
            for entry in bundle.get("entry", []):
                resource = entry["resource"]
                path = f"/fhir/{resource['resourceType']}/{resource['id']}"
                if path in read_already:
                    continue
                read_already.add(path)
                read = client.get(path)
                assert read.status_code == 200
                yield read.request["PATH_INFO"], json.loads(read.content)
            url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
            if url:
                url = f"{urlsplit(url).path}?{urlsplit(url).query}"


def keys_of(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield key
            yield from keys_of(child)
    elif isinstance(value, list):
        for child in value:
            yield from keys_of(child)


def test_no_phi_no_unpublished_profile_and_no_private_field_leaves_through_fhir(
    client: Client, secrets: dict[str, list[str]]
) -> None:
    seen_published = False
    walked = 0
    for url, document in documents(client):
        text = json.dumps(document)
        walked += 1
        assert MARKER.lower() not in text.lower(), url
        for hidden_id in secrets["hidden"]:
            assert hidden_id not in text, url
        assert not PRIVATE_KEYS & set(keys_of(document)), url
        seen_published = seen_published or secrets["published"][0] in text
    assert seen_published and walked > 300  # the walk reached the published profile and the whole directory
    for hidden_id in secrets["hidden"]:
        for resource_type in ("Practitioner", "PractitionerRole", "Location"):
            assert client.get(f"/fhir/{resource_type}/{hidden_id}").status_code == 404
