"""Input and output shapes of matching and referrals, shared by the API and the pages.

Input serializers check shape and vocabulary and locate the place, and build the
typed requests of `matching.requests`; the rules (a referral's consent, contact,
birth date and crisis refusal, ranking, the status machine, who may see PHI) live
in `matching.services`.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from directory import geo
from directory.models import AGE_GROUPS, FORMATS, Concern, FocusArea, Insurer, Language
from directory.serializers import (
    BoundedListField,
    SlugField,
    SlugListField,
    StrictJsonTypes,
    TherapistSerializer,
    column_length,
)
from matching import ranking, services
from matching.models import Offer, Referral, validate_icd10cm
from matching.requests import Clinician, Patient, ReferralRequest


@extend_schema_field({"type": "string", "nullable": True})
class OptionalSlugField(SlugField):
    """A reference by slug where null and "" both mean none (DRF reads "" as null, as a form's empty choice)."""


SELF_PAY = "self-pay"


class InsuranceField(OptionalSlugField):
    """An insurer by slug; "self-pay" (what the page's form sends), "" and null all mean no insurance."""

    def run_validation(self, data: object = serializers.empty) -> object:
        return super().run_validation(None if data == SELF_PAY else data)


# The longest place either field takes; the pages' location input allows as many characters (`maxlength`).
PLACE_MAX_LENGTH = 80


class NeedSerializer(StrictJsonTypes, serializers.Serializer):
    """What a client needs: the body of POST /api/match/ and the first part of a referral."""

    # Both take any place `geo.locate` reads; the pages send what a person types ("St. Louis, MO") as postal_code.
    postal_code = serializers.CharField(
        required=False, allow_blank=True, max_length=PLACE_MAX_LENGTH, help_text="A US ZIP code (or `City, ST`)"
    )
    near = serializers.CharField(
        required=False, allow_blank=True, max_length=PLACE_MAX_LENGTH, help_text="Or `City, ST`, `lat,lng`"
    )
    insurance = InsuranceField(
        slug_field="slug", queryset=Insurer.objects.all(), required=False, allow_null=True,
        help_text='Insurer slug; null, absent or "self-pay" for self-pay',
    )  # fmt: skip
    max_fee = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2000)
    formats = BoundedListField(
        child=serializers.ChoiceField(choices=list(FORMATS)), required=False, allow_empty=False,
        help_text="Acceptable formats; default: all",
    )  # fmt: skip
    focus_areas = SlugListField(model=FocusArea, required=False)
    concerns = SlugListField(model=Concern, required=False)
    language = OptionalSlugField(slug_field="code", queryset=Language.objects.all(), required=False, allow_null=True)
    language_required = serializers.BooleanField(required=False, default=False)
    age_group = serializers.ChoiceField(choices=list(AGE_GROUPS), required=False, allow_blank=True)
    max_distance_miles = serializers.IntegerField(required=False, min_value=1, max_value=100)

    def validate(self, data: dict) -> dict:
        where = (data.get("postal_code") or data.get("near") or "").strip()
        field = "postal_code" if data.get("postal_code") else "near"
        if not where:
            raise serializers.ValidationError({"postal_code": ["Enter a ZIP code or a city (`near` in the API)."]})
        try:
            data["place"] = geo.locate(where)
        except geo.PlaceNotFound as error:
            raise serializers.ValidationError({field: [str(error)]}) from error
        data.setdefault("formats", list(FORMATS))
        return data

    def need(self) -> ranking.Need:
        """The need as the engine ranks it (`services.build_need` fills in the default distance)."""
        data = self.validated_data
        return services.build_need(
            place=data["place"],
            formats=data["formats"],
            insurance=data["insurance"].slug if data.get("insurance") else None,
            max_fee=data.get("max_fee"),
            focus_areas=sorted(row.slug for row in data.get("focus_areas", [])),
            concerns=sorted(row.slug for row in data.get("concerns", [])),
            language=data["language"].code if data.get("language") else None,
            language_required=data.get("language_required", False),
            age_group=data.get("age_group") or None,
            max_distance_miles=data.get("max_distance_miles"),
        )


class ReferralCreateSerializer(NeedSerializer):
    patient_name = serializers.CharField(max_length=column_length(Referral, "patient_name"))
    patient_birth_date = serializers.DateField()
    patient_phone = serializers.RegexField(r"^[0-9 ()+.\-]{7,30}$", required=False, allow_blank=True)
    patient_email = serializers.EmailField(
        required=False, allow_blank=True, max_length=column_length(Referral, "patient_email")
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=4000, help_text="Clinical notes")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, help_text="Reason for referral")
    diagnosis_code = serializers.CharField(
        required=False, allow_blank=True, max_length=column_length(Referral, "diagnosis_code"),
        help_text="ICD-10-CM code, such as F32.1 (optional)",
    )  # fmt: skip
    insurance_member_id = serializers.CharField(
        required=False, allow_blank=True, max_length=column_length(Referral, "insurance_member_id"),
        validators=Referral._meta.get_field("insurance_member_id").validators,
    )  # fmt: skip
    urgency = serializers.CharField(required=False, default="routine", max_length=column_length(Referral, "urgency"))
    consent = serializers.BooleanField(help_text="The patient agreed to be referred; must be true")
    patient_contact_consent = serializers.BooleanField(
        required=False, default=False,
        help_text="The patient agreed to be emailed or texted (no clinical content) when a therapist accepts",
    )  # fmt: skip
    clinician_name = serializers.CharField(
        required=False, allow_blank=True, max_length=column_length(Referral, "clinician_name")
    )
    clinician_npi = serializers.CharField(
        required=False, allow_blank=True, max_length=column_length(Referral, "clinician_npi"),
        validators=Referral._meta.get_field("clinician_npi").validators, help_text="10 digits, Luhn-checked",
    )  # fmt: skip
    clinician_phone = serializers.CharField(
        required=False, allow_blank=True, max_length=column_length(Referral, "clinician_phone"),
        validators=Referral._meta.get_field("clinician_phone").validators, help_text="Callback phone",
    )  # fmt: skip
    practice_name = serializers.CharField(
        required=False, allow_blank=True, max_length=column_length(Referral, "practice_name")
    )

    def validate_diagnosis_code(self, value: str) -> str:
        code = value.strip().upper()
        if code:
            validate_icd10cm(code)
        return code

    def validate_urgency(self, value: str) -> str:
        # The service's rule, asked first: a crisis gets the crisis guidance whatever else the form lacks.
        if (error := services.urgency_error(value)) is not None:
            raise error
        return value

    def referral_request(self) -> ReferralRequest:
        """The request `services.create_referral` checks; the rules (consent, contact, birth date) are its."""
        data = self.validated_data
        patient = Patient(
            name=data["patient_name"],
            birth_date=data["patient_birth_date"],
            phone=data.get("patient_phone", ""),
            email=data.get("patient_email", ""),
            notes=data.get("notes", ""),
            reason=data.get("reason", ""),
            diagnosis_code=data.get("diagnosis_code", ""),
            insurance_member_id=data.get("insurance_member_id", ""),
        )
        clinician = Clinician(
            name=data.get("clinician_name", ""),
            npi=data.get("clinician_npi", ""),
            phone=data.get("clinician_phone", ""),
            practice=data.get("practice_name", ""),
        )
        return ReferralRequest(
            place=data["place"], need=self.need(), patient=patient, urgency=data["urgency"], consent=data["consent"],
            clinician=clinician, patient_contact_consent=data["patient_contact_consent"],
        )  # fmt: skip


class ReferralFormSerializer(ReferralCreateSerializer):
    """The page's form: a referral made there names who refers and how to call them back.

    The API keeps these optional, so that clients written before they existed keep working.
    """

    clinician_name = serializers.CharField(max_length=column_length(Referral, "clinician_name"))
    clinician_npi = serializers.CharField(
        max_length=column_length(Referral, "clinician_npi"),
        validators=Referral._meta.get_field("clinician_npi").validators,
    )
    clinician_phone = serializers.CharField(
        max_length=column_length(Referral, "clinician_phone"),
        validators=Referral._meta.get_field("clinician_phone").validators,
    )


# The largest id (a BigAutoField); a larger number is a 400, not an OverflowError on SQLite.
MAX_ID = 2**63 - 1


class OfferCreateSerializer(StrictJsonTypes, serializers.Serializer):
    therapist = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The id of a ranked candidate")


class DeclineSerializer(StrictJsonTypes, serializers.Serializer):
    reason = serializers.ChoiceField(choices=Offer.DeclineReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ScheduleSerializer(StrictJsonTypes, serializers.Serializer):
    first_session_date = serializers.DateField()
    first_session_time = serializers.TimeField(
        required=False, allow_null=True, help_text="Local time (settings.TIME_ZONE), HH:MM; optional"
    )


# --- Output ------------------------------------------------------------------


class MatchResultSerializer(serializers.Serializer):
    therapist = TherapistSerializer()
    score = serializers.FloatField(help_text="0-100")
    reasons = serializers.ListField(child=serializers.CharField())
    components = serializers.DictField(child=serializers.FloatField())
    delivery = serializers.CharField()
    distance_miles = serializers.FloatField(allow_null=True)


class MatchResponseSerializer(serializers.Serializer):
    results = MatchResultSerializer(many=True)
    excluded = serializers.DictField(child=serializers.IntegerField())


class EventSerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    status_label = serializers.CharField(help_text="`to_status` in words")
    note = serializers.CharField(help_text="What happened, and who did it")
    at = serializers.DateTimeField(source="created_at")


class ReferralOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    therapist = serializers.IntegerField(source="therapist_id")
    therapist_name = serializers.CharField(source="therapist.full_name")
    status = serializers.CharField()
    score = serializers.FloatField()
    created_at = serializers.DateTimeField()
    responded_at = serializers.DateTimeField(allow_null=True)
    decline_reason = serializers.CharField()
    withdrawn_because = serializers.ChoiceField(
        choices=Offer.WithdrawnBecause.choices, allow_blank=True,
        help_text="Why a withdrawn offer stopped waiting: `other_accepted`, `referrer` or `unavailable`",
    )  # fmt: skip
    answer = serializers.CharField(help_text='The outcome in words: "Closed: another therapist accepted first"')
    first_session_date = serializers.DateField(allow_null=True)
    first_session_at = serializers.DateTimeField(allow_null=True, help_text="With its time, when one was given")


class PatientSerializer(serializers.Serializer):
    patient_name = serializers.CharField()
    patient_birth_date = serializers.DateField()
    patient_phone = serializers.CharField()
    patient_email = serializers.CharField()
    notes = serializers.CharField(help_text="Clinical notes")
    reason = serializers.CharField(help_text="Reason for referral")
    diagnosis_code = serializers.CharField(help_text="ICD-10-CM; empty when none was given")
    insurance_member_id = serializers.CharField()


class ClinicianSerializer(serializers.Serializer):
    """Who referred (empty strings on referrals made without them)."""

    name = serializers.CharField()
    npi = serializers.CharField()
    phone = serializers.CharField(help_text="Callback phone")
    practice = serializers.CharField()


class AcceptedTherapistSerializer(serializers.Serializer):
    """The therapist who accepted, and how to reach them: shown to the referrer only after acceptance."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    credentials = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    url = serializers.CharField(help_text="The therapist's public profile page (a path)")
    first_session_date = serializers.DateField(allow_null=True)
    first_session_at = serializers.DateTimeField(allow_null=True)


class ReferralSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    urgency = serializers.CharField()
    place_label = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    patient_name = serializers.CharField()


class ReferralSerializer(ReferralSummarySerializer):
    postal_code = serializers.CharField()
    insurance = serializers.CharField(
        source="insurance.slug", allow_null=True, help_text="Insurer slug; null for self-pay"
    )
    max_fee = serializers.IntegerField(allow_null=True)
    formats = serializers.ListField(child=serializers.CharField())
    focus_areas = serializers.ListField(child=serializers.CharField())
    concerns = serializers.ListField(child=serializers.CharField())
    language = serializers.CharField()
    age_group = serializers.CharField()
    history = EventSerializer(source="events.all", many=True)
    matches = MatchResultSerializer(many=True)
    offers = ReferralOfferSerializer(source="offers.all", many=True)
    patient = PatientSerializer()
    clinician = ClinicianSerializer()
    patient_contact_consent = serializers.BooleanField()
    accepted_therapist = AcceptedTherapistSerializer(allow_null=True, help_text="null until a therapist accepts")


class OfferSummarySerializer(serializers.Serializer):
    """What a therapist sees before accepting: nothing that identifies the patient."""

    age_band = serializers.CharField()
    area = serializers.CharField()
    concerns = serializers.ListField(child=serializers.CharField())
    focus_areas = serializers.ListField(child=serializers.CharField())
    insurance = serializers.CharField()
    formats = serializers.ListField(child=serializers.CharField())
    language = serializers.CharField()
    age_group = serializers.CharField()
    urgency = serializers.CharField()
    waiting_days = serializers.IntegerField()


class InboxOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    referral = serializers.UUIDField(source="referral_id")
    status = serializers.CharField()
    score = serializers.FloatField()
    created_at = serializers.DateTimeField()
    first_session_date = serializers.DateField(allow_null=True)
    first_session_at = serializers.DateTimeField(allow_null=True, help_text="With its time, when one was given")
    summary = OfferSummarySerializer()
    patient = PatientSerializer(required=False, allow_null=True)
    clinician = ClinicianSerializer(required=False, allow_null=True, help_text="Who referred; once accepted")
