"""The claim page: an invited therapist chooses a username and password and takes over their profile."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from roster import invitations
from roster.forms import ClaimForm


def unusable(request: HttpRequest, error: invitations.InvitationError) -> HttpResponse:
    therapist = error.therapist
    is_owner = therapist is not None and request.user.is_authenticated and therapist.user_id == request.user.pk
    context = {"reason": error.reason, "days": settings.INVITATION_DAYS, "is_owner": is_owner}
    # Gone for a link that worked once; a link that never did is a bad request.
    return render(request, "roster/claim_unusable.html", context, status=400 if error.reason == "invalid" else 410)


@never_cache
def claim(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    try:
        therapist = invitations.read_token(token, now=now)
    except invitations.InvitationError as error:
        return unusable(request, error)
    form = ClaimForm(request.POST if request.method == "POST" else None, therapist=therapist)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.claim_profile(
                token=token, username=form.cleaned_data["username"], password=form.cleaned_data["password1"], now=now
            )
        except invitations.InvitationError as error:  # claimed in another tab meanwhile
            return unusable(request, error)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Your profile is yours now. Check it, then keep it true.")
        return redirect("directory:my-profile")
    context = {"form": form, "therapist": therapist}
    return render(request, "roster/claim.html", context, status=400 if form.errors else 200)
