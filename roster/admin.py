"""The roster's back office: invitations to claim imported profiles, and roster uploads with their preview."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from directory.admin import TherapistAdmin
from roster import invitations
from roster.models import Invitation


@admin.action(description="Send an invitation to claim the profile", permissions=["change"])
def send_invitations(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    counts = invitations.send_invitations(therapists=queryset, now=timezone.now(), sent_by=request.user)
    skipped = [
        f"{counts.without_email} without an email address" if counts.without_email else "",
        f"{counts.claimed} already claimed" if counts.claimed else "",
    ]
    skipped_text = " and ".join(part for part in skipped if part)
    text = f"Sent {counts.sent} invitation(s)." + (f" Skipped {skipped_text}." if skipped_text else "")
    model_admin.message_user(request, text, messages.SUCCESS if counts.sent else messages.WARNING)


# directory knows nothing of the roster (the import contract); the roster adds its action to the therapists' list.
TherapistAdmin.actions = [*TherapistAdmin.actions, send_invitations]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["therapist", "email", "sent_at", "expires_at", "sent_by"]
    list_filter = ["sent_at"]
    search_fields = ["email", "therapist__last_name", "therapist__npi"]
    list_select_related = ["therapist", "sent_by"]
    raw_id_fields = ["therapist"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
