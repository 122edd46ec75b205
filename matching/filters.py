"""The referrer's list of referrals, filtered: one FilterSet for the page and the API."""

from __future__ import annotations

import django_filters

from matching.models import Referral


class ReferralFilter(django_filters.FilterSet):
    """By status, and by the patient's name (part of it, any case).

    The name is PHI: the page sends it in a POST body and the API does not take it, so
    it never travels in a URL.
    """

    status = django_filters.ChoiceFilter(field_name="status", lookup_expr="exact", choices=Referral.Status.choices)
    patient = django_filters.CharFilter(field_name="patient_name", lookup_expr="icontains", max_length=160)

    class Meta:
        model = Referral
        fields = ["status", "patient"]
