"""Staff's view of outgoing mail: what waits, what was sent, what was given up, and "retry now"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from outbox import services
from outbox.models import Email

# The body is never shown: it may hold a password-reset link.
DETAIL_FIELDS = ["from_email", "to", "cc", "bcc", "reply_to", "subject", "status", "attempts", "last_error",
                 "created_at", "next_attempt_at", "sent_at"]  # fmt: skip


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipients", "subject", "status", "attempts", "last_error", "next_attempt_at",
                    "sent_at"]  # fmt: skip
    list_filter = ["status"]
    search_fields = ["subject", "to"]
    fields = DETAIL_FIELDS
    readonly_fields = DETAIL_FIELDS
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="To")
    def recipients(self, email: Email) -> str:
        return ", ".join(email.to)

    @admin.action(description="Retry now (failed emails)", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Email]) -> None:
        retried = services.retry_now(email_ids=queryset.values_list("pk", flat=True), now=timezone.now())
        self.message_user(request, f"{retried} failed email(s) queued for another attempt.", messages.SUCCESS)
