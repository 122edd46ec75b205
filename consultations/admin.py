"""Staff's view of consultations: who answers, who lets requests expire, who a client never heard from.

No client details: the admin lists therapists' copies only, never the request's contact fields.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from consultations.models import Consultation


@admin.register(Consultation)
class ConsultationAdmin(admin.ModelAdmin):
    list_display = ["id", "therapist", "status", "sent_at", "reply_by", "responded_at", "decline_reason", "outcome"]
    list_filter = ["status", "outcome", "decline_reason", "sent_at"]
    search_fields = ["therapist__last_name", "therapist__npi"]
    list_select_related = ["therapist"]
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Consultation | None = None) -> bool:
        return False
