"""A demo referral: a fictional patient referred to a demo therapist through the same services as the pages.

`make fuzz` and the fuzz tests use it so that a therapist has an offer to answer.
"""

from __future__ import annotations

import datetime

from django.contrib.auth.models import User
from django.db import transaction

from directory import geo
from directory.models import Therapist
from matching import services
from matching.models import Offer, Referral
from matching.requests import Clinician, Patient, ReferralRequest

DEMO_PATIENT = Patient(
    name="Pat Demo-Patient",
    birth_date=datetime.date(1980, 4, 2),
    phone="555 010 0100",
    notes="A fictional patient of the demo data.",
    reason="Low mood and isolation since a move (fictional).",
    diagnosis_code="F43.21",
)
DEMO_CLINICIAN = Clinician(
    name="Dr. Demo Clinician", npi="1234567893", phone="555 010 0199", practice="Demo Family Practice"
)


@transaction.atomic
def offer_demo_referral(*, referrer: User, therapist: Therapist) -> Offer:
    """A routine referral near the therapist's first office, offered to that therapist.

    The need asks for the therapist's own formats, focus areas and concerns, so that
    it ranks among the matches of an accepting therapist. Raises `services.ReferralInvalid`,
    and stores nothing, when it does not (a therapist who is full, say) or has no office.
    The request meets the rules of `services.create_referral` like any referrer's.
    """
    office = therapist.offices.order_by("pk").first()
    if office is None:
        raise services.ReferralInvalid("A demo referral needs a therapist with an office.", "therapist")
    place = geo.locate(office.postal_code)
    need = services.build_need(
        place=place,
        formats=therapist.formats,
        focus_areas=therapist.focus_areas.values_list("slug", flat=True),
        concerns=therapist.concerns.values_list("slug", flat=True),
    )
    request = ReferralRequest(
        place=place, need=need, patient=DEMO_PATIENT, urgency=Referral.Urgency.ROUTINE, consent=True,
        clinician=DEMO_CLINICIAN,
    )  # fmt: skip
    referral = services.create_referral(referrer=referrer, request=request)
    return services.offer_referral(referral=referral, therapist_id=therapist.pk, actor=referrer)
