"""A client, Sam, who asks two Park Slope therapists for a consultation."""

from __future__ import annotations

import itertools
import re

import pytest
from django.contrib.auth.models import User
from django.core import mail

from consultations import services
from consultations.models import Consultation, ConsultationRequest
from directory.models import Therapist
from tests.conftest import make_therapist, make_user, valid_npi

SAM = {"first_name": "Sam", "email": "sam.client@mail.example", "phone": "718-555-0199"}
SAM_MESSAGE = "Since my mother died I cannot sleep and I keep fighting with my partner."
LINK = re.compile(r"/consultations/([A-Za-z0-9_-]{20,})/")


def ask(*therapists: Therapist, **overrides: object) -> services.Ask:
    fields = {
        "therapist_ids": tuple(therapist.pk for therapist in therapists),
        "first_name": SAM["first_name"],
        "email": SAM["email"],
        "phone": SAM["phone"],
        "consent": True,
        "preferred_times": ("weekday-evenings",),
        "insurance": "aetna",
        "formats": ("individual",),
        "message": SAM_MESSAGE,
        **overrides,
    }
    return services.Ask(**fields)


def token_in(message: mail.EmailMessage) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(1)


@pytest.fixture
def pair(db: None) -> list[Therapist]:
    """Two accepting therapists in Park Slope, each signed in through an account of their own."""
    therapists = []
    for number, name in enumerate(["Ada", "Ben"]):
        therapist = make_therapist(npi=valid_npi(f"19900010{number}"), first_name=name, last_name="Listener")
        therapist.user = make_user(name.lower(), "therapists", email=f"{name.lower()}@therapy.example")
        therapist.save(update_fields=["user"])
        therapists.append(therapist)
    return therapists


@pytest.fixture
def sent(pair: list[Therapist]) -> tuple[ConsultationRequest, str]:
    """Sam's request to both, submitted and not yet confirmed; the outbox emptied."""
    request, token = services.submit_request(ask=ask(*pair), client_address="203.0.113.9")
    return request, token


def user_of(therapist: Therapist) -> User:
    return therapist.user


# A client address and email of its own for each request `confirmed` makes, clear of the daily limits.
NUMBERS = itertools.count(1)


def confirmed(*therapists: Therapist, **overrides: object) -> Consultation:
    """A client's request confirmed by its link; the first therapist's copy. Each from a client of its own."""
    number = next(NUMBERS)
    overrides.setdefault("email", f"client-{number}@mail.example")
    address = f"198.51.{number // 250 % 250}.{number % 250 + 1}"
    request, _token = services.submit_request(ask=ask(*therapists, **overrides), client_address=address)
    services.confirm_request(request=request)
    return Consultation.objects.get(request=request, therapist=therapists[0])
