"""Staff views of referrals, offers, decline reasons and the PHI access log."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse

from directory.models import Therapist
from matching.models import IdempotencyKey, Match, Offer, PHIAccess, Referral, ReferralEvent, TherapistResponses
from matching.services import PHI_FIELDS, log_phi_reads


class ReferralEventInline(admin.TabularInline):
    model = ReferralEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields


class OfferInline(admin.TabularInline):
    model = Offer
    extra = 0
    can_delete = False
    fields = ["therapist", "status", "score", "created_at", "responded_at", "decline_reason", "first_session_date"]
    readonly_fields = fields


class MatchInline(admin.TabularInline):
    model = Match
    extra = 0
    can_delete = False
    fields = ["rank", "therapist", "score", "delivery", "distance_miles", "reasons"]
    readonly_fields = fields


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    """Lists carry no PHI; opening a referral shows it to staff, and that read is logged."""

    # The area (ZIP3 and state), not the place: a coordinate referral's label locates the patient to metres.
    list_display = ["short_id", "status", "urgency", "referrer", "area", "created_at"]
    list_filter = ["status", "urgency", "created_at"]
    search_fields = ["id", "referrer__username", "postal_code"]
    list_select_related = ["referrer"]
    readonly_fields = ["id", "referrer", "status", "created_at", "updated_at", "consent_confirmed_at"]
    inlines = [ReferralEventInline, OfferInline, MatchInline]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """No filtering the list by a patient's details (`?notes__icontains=…`): that reads PHI unlogged.

        Django allows any lookup on a local field; this one is refused (400).
        """
        if lookup.split("__", 1)[0] in PHI_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="Referral")
    def short_id(self, referral: Referral) -> str:
        return str(referral.pk)[:8]

    def has_delete_permission(self, request: HttpRequest, obj: Referral | None = None) -> bool:
        # A referral is a health record: it is withdrawn or closed, never deleted from the back office.
        return False

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        referral = self.get_object(request, object_id)
        if referral is not None:
            log_phi_reads(user=request.user, referrals=[referral], fields=PHI_FIELDS, channel="admin:referral")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["id", "therapist", "status", "score", "decline_reason", "created_at", "responded_at"]
    list_filter = ["status", "decline_reason", "withdrawn_because", "created_at"]
    search_fields = ["therapist__last_name", "therapist__npi", "referral__id"]
    list_select_related = ["therapist"]
    readonly_fields = ["referral", "therapist", "score", "created_at", "responded_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Offer | None = None) -> bool:
        # Deleting an accepted offer would leave its referral accepted by nobody.
        return False


@admin.register(PHIAccess)
class PHIAccessAdmin(admin.ModelAdmin):
    """Who read which patient's details, and when. Read-only: the log cannot be edited."""

    list_display = ["created_at", "user", "referral_id", "consultation_request", "fields", "channel"]
    list_filter = ["channel", "created_at"]
    search_fields = ["user__username", "referral__id", "consultation_request"]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PHIAccess | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PHIAccess | None = None) -> bool:
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Keys of retried creations, kept IDEMPOTENCY_KEY_HOURS; read-only (digests, no patient data)."""

    list_display = ["created_at", "user", "status_code", "referral_id"]
    list_filter = ["created_at"]
    search_fields = ["user__username", "referral__id", "consultation_request"]
    list_select_related = ["user"]
    readonly_fields = ["user", "key_digest", "fingerprint", "referral", "status_code", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: IdempotencyKey | None = None) -> bool:
        return False


@admin.register(TherapistResponses)
class TherapistResponsesAdmin(admin.ModelAdmin):
    list_display = [
        "full_name",
        "offers_total",
        "offers_accepted",
        *[f"declined_{reason}" for reason in Offer.DeclineReason.values],
    ]
    search_fields = ["first_name", "last_name", "npi"]
    list_filter = ["status"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        counts = {
            "offers_total_count": Count("offers"),
            "offers_accepted_count": Count("offers", filter=Q(offers__status=Offer.Status.ACCEPTED)),
        }
        for reason in Offer.DeclineReason.values:
            counts[f"declined_{reason}_count"] = Count("offers", filter=Q(offers__decline_reason=reason))
        return super().get_queryset(request).filter(offers__isnull=False).distinct().annotate(**counts)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Offers", ordering="offers_total_count")
    def offers_total(self, therapist: Therapist) -> int:
        return therapist.offers_total_count

    @admin.display(description="Accepted", ordering="offers_accepted_count")
    def offers_accepted(self, therapist: Therapist) -> int:
        return therapist.offers_accepted_count


def _decline_column(reason: str, label: str) -> object:
    def column(self: TherapistResponsesAdmin, therapist: Therapist) -> int:
        return getattr(therapist, f"declined_{reason}_count")

    column.short_description = f"Declined: {label.lower()}"
    column.admin_order_field = f"declined_{reason}_count"
    return column


for _reason, _label in Offer.DeclineReason.choices:
    setattr(TherapistResponsesAdmin, f"declined_{_reason}", _decline_column(_reason, _label))
