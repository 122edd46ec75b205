"""What the consultation app's API shows: the public accuracy figures."""

from __future__ import annotations

from rest_framework import serializers


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
