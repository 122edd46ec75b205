"""Pages of accounts: a therapist's sign-up, and where sign-in lands."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts import services
from accounts.forms import TherapistSignUpForm
from accounts.roles import is_referrer, is_therapist
from consultations.selectors import waiting_for
from directory.forms import add_service_errors


def sign_up(request: HttpRequest) -> HttpResponse:
    form = TherapistSignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            therapist = services.sign_up_therapist(
                username=data["username"], email=data["email"], password=data["password1"],
                first_name=data["first_name"], last_name=data["last_name"],
                credentials=data["credentials"], npi=data["npi"],
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(error, form, {})
        else:
            login(request, therapist.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Fill in your profile, then submit it for review.")
            return redirect("directory:my-profile")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def my_home(request: HttpRequest) -> HttpResponse:
    """Where sign-in lands: each role's own starting page; for a therapist with answers owed, the inbox.

    A `next` on the sign-in form goes there instead, and never through here.
    """
    if is_therapist(request.user):
        return redirect("consultations:inbox" if waiting_for(request.user) else "directory:my-profile")
    if request.user.is_staff:
        return redirect("admin:index")
    if is_referrer(request.user):
        return redirect("matching:referral-list")
    return redirect("directory:home")
