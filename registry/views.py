"""The therapist's "Fill my profile from the NPI registry" page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.decorators import therapist_required
from directory.models import Therapist
from registry import selectors, services


@require_http_methods(["GET", "POST"])
@therapist_required
def prefill(request: HttpRequest, therapist: Therapist) -> HttpResponse:
    """GET shows what the registry holds for the profile's NPI; POST fills the draft with it."""
    errors: list[str] = []
    if request.method == "POST":
        try:
            services.prefill_profile(therapist=therapist)
        except ValidationError as error:
            errors = [message for messages_ in error.message_dict.values() for message in messages_]
        else:
            messages.success(request, "Your profile is filled from the NPI registry. Check it, then add the rest.")
            return redirect("directory:my-profile")
    provider = selectors.registry_provider(therapist.npi)
    context = {
        "therapist": therapist,
        "is_draft": therapist.status == Therapist.Status.DRAFT,
        "provider": provider,
        "proposal": services.proposal(provider) if provider else None,
        "errors": errors,
    }
    return render(request, "registry/prefill.html", context, status=400 if errors else 200)
