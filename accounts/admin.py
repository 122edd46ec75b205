"""The user admin: Django's, plus staff's approval of referrer accounts; who holds API tokens, and their revocation."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import localize
from knox.models import AuthToken

from accounts import services

admin.site.unregister(User)
# knox's own admin lists and searches tokens by digest and lets staff mint one for anybody.
admin.site.unregister(AuthToken)


@admin.register(User)
class AccountUserAdmin(UserAdmin):
    list_filter = [*UserAdmin.list_filter, "groups"]
    actions = ["make_referrer"]

    @admin.action(description="Make referrer (approve as a physician's office)")
    def make_referrer(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            services.make_referrer(user=user)
        self.message_user(request, f"{queryset.count()} user(s) can now send referrals.", messages.SUCCESS)


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("live", "Live"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        live = Q(expiry__isnull=True) | Q(expiry__gt=timezone.now())
        if self.value() == "live":
            return queryset.filter(live)
        if self.value() == "expired":
            return queryset.exclude(live)
        return queryset


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Who holds an API token and until when. A token's text is never stored, and its digest is not shown.

    The digest (a SHA-512 of the token, which cannot be turned back) is the primary key,
    so it is still each row's checkbox value; presented as a token, it is refused.
    No add and no change: a token is handed only to whoever signs in with the password.
    The revoke action replaces "delete selected", whose confirmation page names each token by its digest.
    """

    list_display = ["user", "created", "expiry", "is_live"]
    list_display_links = None
    list_filter = [TokenStateFilter, "created"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    ordering = ["-created"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False

    # No page per token, whose title and delete confirmation would name it by knox's str(), the digest.
    def has_view_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return obj is None and super().has_view_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return obj is None and super().has_delete_permission(request)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def action_checkbox(self, token: AuthToken) -> str:
        """Labelled by holder and date; Django's label would read out knox's str(), the digest."""
        label = f"Select the token of {token.user}, created {localize(timezone.localtime(token.created))}"
        checkbox = forms.CheckboxInput({"class": "action-select", "aria-label": label}, lambda value: False)
        return checkbox.render(ACTION_CHECKBOX_NAME, str(token.pk))

    @admin.display(boolean=True, description="live")
    def is_live(self, token: AuthToken) -> bool:
        return token.expiry is None or token.expiry > timezone.now()

    @admin.action(description="Revoke selected tokens", permissions=["delete"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.revoke_tokens(tokens=queryset)
        self.message_user(request, f"{count} token(s) revoked; their holders must sign in again.", messages.SUCCESS)
