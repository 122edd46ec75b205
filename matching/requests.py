"""What callers ask of matching, as typed values: a referral of a patient with a need.

The serializers build these from input they parsed (types, vocabulary, the place
located); `matching.services` checks the rules and acts on them, so the pages, the
API and the demo data meet the same rules.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from directory import geo
from matching import ranking


@dataclass(frozen=True)
class Patient:
    """The patient's details: protected health information."""

    name: str
    birth_date: datetime.date
    phone: str = ""
    email: str = ""
    notes: str = ""
    reason: str = ""
    diagnosis_code: str = ""
    insurance_member_id: str = ""


@dataclass(frozen=True)
class Clinician:
    """Who refers, to be called back: the clinician, their NPI, a callback phone and the practice."""

    name: str = ""
    npi: str = ""
    phone: str = ""
    practice: str = ""


@dataclass(frozen=True)
class ReferralRequest:
    """A referrer's request to refer a patient; `services.create_referral` checks it."""

    place: geo.Place  # where the patient is, as located (its label and nearest ZIP are stored)
    need: ranking.Need  # what the patient needs, as the engine ranks it (`services.build_need`)
    patient: Patient
    urgency: str
    consent: bool
    clinician: Clinician = Clinician()
    # The patient agreed to be told (email, SMS) when a therapist accepts and schedules.
    patient_contact_consent: bool = False
