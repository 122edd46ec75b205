"""The user admin: Django's, plus staff's approval of referrer accounts."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services

admin.site.unregister(User)


@admin.register(User)
class AccountUserAdmin(UserAdmin):
    list_filter = [*UserAdmin.list_filter, "groups"]
    actions = ["make_referrer"]

    @admin.action(description="Make referrer (approve as a physician's office)")
    def make_referrer(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            services.make_referrer(user=user)
        self.message_user(request, f"{queryset.count()} user(s) can now send referrals.", messages.SUCCESS)
