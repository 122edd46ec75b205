"""The therapist's sign-up form: it checks and converts input; accounts.services creates the account."""

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model

from directory.forms import PlainHelpTexts, PlainLabels, WithoutAutofocus
from directory.models import validate_npi


class TherapistSignUpForm(PlainLabels, PlainHelpTexts, WithoutAutofocus, auth_forms.UserCreationForm):
    email = forms.EmailField(help_text="We send review results and availability reminders here.")
    first_name = forms.CharField(max_length=80)
    last_name = forms.CharField(max_length=80)
    credentials = forms.CharField(
        max_length=120, help_text="As clients should read them, for example: LCSW, PhD, LMFT."
    )
    npi = forms.CharField(
        label="NPI",
        min_length=10,
        max_length=10,
        validators=[validate_npi],
        help_text="Your 10-digit National Provider Identifier, as in the NPPES registry.",
    )

    class Meta(auth_forms.UserCreationForm.Meta):
        model = get_user_model()
        fields = ["username", "email"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password2"].label = "Password again"
