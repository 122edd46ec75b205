"""Input and output shapes of the consultation API, and the public accuracy figures.

The input serializers check shape, JSON types and lengths, and build a
`services.Ask` or a decline reason; which therapists may be asked, the
vocabularies' rows, consent and the limits are the services' rules
(`services.ask_errors`, `services.is_limited`).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consultations import services
from consultations.models import PREFERRED_TIMES, Consultation, ConsultationRequest
from directory.models import FORMATS, Insurer
from directory.serializers import BoundedListField, StrictJsonTypes, column_length
from matching.serializers import MAX_ID, SELF_PAY

# The fields that hold a client's details, kept out of error reports (sensitive_post_parameters).
PHI_FIELDS = ("first_name", "email", "phone", "message", "insurance", "formats", "preferred_times")


@extend_schema_field({"type": "string", "nullable": True})
class InsuranceSlugField(serializers.CharField):
    """An insurer's slug; null, "" or "self-pay" for self-pay. Whether the plan exists is the service's check."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(allow_null=True, allow_blank=True, max_length=column_length(Insurer, "slug"), **kwargs)

    def run_validation(self, data: object = serializers.empty) -> str | None:
        return super().run_validation(None if data == SELF_PAY else data) or None


class ConsultationAskSerializer(StrictJsonTypes, serializers.Serializer):
    """The body of POST /api/consultations/: what a client asks of 1 to 3 therapists."""

    therapists = BoundedListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        help_text="The ids of 1 to 3 published profiles (CONSULTATION_MAX_THERAPISTS)",
    )
    first_name = serializers.CharField(max_length=column_length(ConsultationRequest, "first_name"))
    email = serializers.EmailField(
        max_length=column_length(ConsultationRequest, "email"),
        help_text="Where the link that confirms the request, and the client's private status link, are sent",
    )
    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=column_length(ConsultationRequest, "phone")
    )
    message = serializers.CharField(
        required=False, allow_blank=True, max_length=column_length(ConsultationRequest, "message")
    )
    insurance = InsuranceSlugField(required=False, help_text='Insurer slug; null, absent or "self-pay" for self-pay')
    formats = BoundedListField(child=serializers.ChoiceField(choices=list(FORMATS)), required=False)
    preferred_times = BoundedListField(child=serializers.ChoiceField(choices=list(PREFERRED_TIMES)), required=False)
    consent = serializers.BooleanField(
        help_text="Must be true: the client agrees to share these details with the therapists chosen"
    )

    def ask(self) -> services.Ask:
        data = self.validated_data
        return services.Ask(
            therapist_ids=tuple(data["therapists"]),
            first_name=data["first_name"],
            email=data["email"],
            consent=data["consent"],
            phone=data.get("phone", ""),
            preferred_times=tuple(data.get("preferred_times", ())),
            insurance=data.get("insurance"),
            formats=tuple(data.get("formats", ())),
            message=data.get("message", ""),
        )


class ConsultationAskedSerializer(serializers.Serializer):
    """What POST /api/consultations/ answers: no token, no detail of the request."""

    status = serializers.ChoiceField(
        choices=["unverified"], help_text="Nothing reaches a therapist until the client opens the emailed link"
    )


class ConsultationDeclineSerializer(StrictJsonTypes, serializers.Serializer):
    reason = serializers.ChoiceField(choices=Consultation.DeclineReason.choices)


class ClientContactSerializer(serializers.Serializer):
    email = serializers.EmailField()
    phone = serializers.CharField(help_text='"" when the client gave none')


class ConsultationSerializer(serializers.Serializer):
    """One request to the caller, from `selectors.therapist_views`: the contact only once accepted."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Consultation.Status.choices)
    first_name = serializers.CharField()
    message = serializers.CharField()
    insurance = serializers.CharField(
        source="insurance_slug", allow_null=True, help_text="Insurer slug; null: self-pay"
    )
    insurance_name = serializers.CharField(source="insurance", help_text='"Self-pay" when `insurance` is null')
    formats = serializers.ListField(child=serializers.CharField(), source="format_slugs")
    preferred_times = serializers.ListField(
        child=serializers.CharField(), source="preferred_time_slugs", help_text=", ".join(PREFERRED_TIMES)
    )
    sent_at = serializers.DateTimeField()
    reply_by = serializers.DateTimeField(help_text="Unanswered by then, the request expires for the caller")
    contact = ClientContactSerializer(allow_null=True, help_text="Null until the caller accepts")


class AccuracySerializer(serializers.Serializer):
    """`consultations.accuracy.Figures` as `GET /api/accuracy/` gives it; shares from 0 to 1, rounded to 3 places."""

    computed_at = serializers.DateTimeField(help_text="When these figures were counted (kept up to 5 minutes)")
    window_days = serializers.IntegerField(help_text="The window of the reply and report figures, in days (90)")
    published = serializers.IntegerField(help_text="Published listings")
    confirmed_30_days = serializers.IntegerField(help_text="Published listings with availability confirmed in 30 days")
    confirmed_60_days = serializers.IntegerField(help_text="Published listings with availability confirmed in 60 days")
    share_confirmed_30_days = serializers.FloatField(allow_null=True)
    share_confirmed_60_days = serializers.FloatField(allow_null=True)
    requests = serializers.IntegerField(
        help_text="Consultation requests and physicians' offers received in the window, answered or past due"
    )
    answered = serializers.IntegerField()
    answered_in_time = serializers.IntegerField(help_text="Answered by the reply-by time (2 business days)")
    share_answered_in_time = serializers.FloatField(allow_null=True)
    median_reply_hours = serializers.FloatField(allow_null=True, help_text="Median time to answer, in hours")
    reports_received = serializers.IntegerField(help_text="Reports of a wrong listing received in the window")
    reports_resolved = serializers.IntegerField(help_text="Of those, resolved by staff")
    silenced_now = serializers.IntegerField(help_text="Listings hidden from accepting searches for unanswered requests")
    silenced_in_window = serializers.IntegerField(help_text="Listings hidden so at some time in the window")
